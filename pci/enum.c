/*
 * Enumeration: a depth-first walk from each root bus through every bridge, trusting the bus
 * numbers firmware assigned (P2P 1.2 §3.2.5.2-4) but checking that they add up. Buses wait
 * on an explicit stack, each bus number at most once per segment, so the walk needs no
 * recursion and ends on any input.
 */
#include "kernel/lib/log.h"
#include "pci/pci.h"

#define PCI_BUSES 256

/* Per segment: buses already reached (or queued), and for every bus number the table index
 * of the innermost walked bridge whose bus window holds it (PCI_NONE: under no bridge). */
struct seg_buses {
	uint16_t seg;
	uint64_t taken[PCI_BUSES / 64];
	int16_t owner[PCI_BUSES];
};

/* A bus waiting to be scanned: its number, the last bus number its bridges may use, and the
 * bridge above it (PCI_NONE for a root bus). */
struct bus_walk {
	uint8_t bus;
	uint8_t hi;
	int16_t upstream;
};

static struct seg_buses segs[PCI_ECAM_MAX];
static size_t nsegs;
static struct bus_walk pending[PCI_BUSES];
static size_t npending;

static bool taken(const struct seg_buses *s, unsigned bus)
{
	return s->taken[bus / 64] & BIT(bus % 64);
}

static void take(struct seg_buses *s, unsigned bus)
{
	s->taken[bus / 64] |= BIT(bus % 64);
}

static struct seg_buses *seg_state(uint16_t seg)
{
	struct seg_buses *s;

	for (size_t i = 0; i < nsegs; i++)
		if (segs[i].seg == seg)
			return &segs[i];
	if (nsegs == PCI_ECAM_MAX)
		return NULL;
	s = &segs[nsegs++];
	s->seg = seg;
	for (unsigned i = 0; i < PCI_BUSES / 64; i++)
		s->taken[i] = 0;
	for (unsigned i = 0; i < PCI_BUSES; i++)
		s->owner[i] = PCI_NONE;
	return s;
}

static bool present(struct pci_bdf b)
{
	uint16_t vendor = pci_cfg_read16(b, PCI_VENDOR_ID);

	return vendor != PCI_VENDOR_NONE && vendor != 0;
}

static bool is_downstream_port(const struct pci_dev *d)
{
	return d->exp.cap &&
	       (d->exp.type == PCI_EXP_TYPE_ROOT_PORT || d->exp.type == PCI_EXP_TYPE_DOWNSTREAM);
}

/* Is the bus below bridge br PCI Express (true) or conventional PCI? */
static bool secondary_is_express(const struct pci_dev *br)
{
	return is_downstream_port(br) || (br->exp.cap && (br->exp.type == PCI_EXP_TYPE_UPSTREAM ||
							  br->exp.type == PCI_EXP_TYPE_PCIE_BRIDGE));
}

/*
 * The requester id the IOMMU sees. A bridge onto a conventional bus takes over its
 * requests: a PCIe-to-PCI bridge with its secondary bus and devfn 0 (PCIe-to-PCI/PCI-X Bridge
 * 1.0 §2.3), any other bridge with its own id. The topmost such bridge wins.
 */
static void set_alias(struct pci_dev *d)
{
	struct pci_dev *u = pci_dev_upstream(d);

	if (!u)
		return;
	if (u->alias_bridge != PCI_NONE) {
		d->dma_alias = u->dma_alias;
		d->alias_bridge = u->alias_bridge;
	} else if (!secondary_is_express(u)) {
		d->alias_bridge = d->upstream;
		d->dma_alias = u->exp.cap && u->exp.type == PCI_EXP_TYPE_PCI_BRIDGE
			     ? (uint16_t)(u->sec_bus << 8) : u->sid;
	}
}

static void read_header(struct pci_dev *d)
{
	uint32_t cr = pci_cfg_read32(d->bdf, PCI_CLASS_REVISION);
	uint8_t ht = pci_cfg_read8(d->bdf, PCI_HEADER_TYPE);

	d->vendor = pci_cfg_read16(d->bdf, PCI_VENDOR_ID);
	d->device = pci_cfg_read16(d->bdf, PCI_DEVICE_ID);
	d->class = cr >> PCI_CLASS_SHIFT;
	d->revision = (uint8_t)cr;
	d->hdr_type = ht & PCI_HEADER_TYPE_MASK;
	d->multifn = ht & PCI_HEADER_MULTIFN;
	switch (d->hdr_type) {
	case PCI_HEADER_NORMAL:
		d->nbars = PCI_NORMAL_BARS;
		d->subsys_vendor = pci_cfg_read16(d->bdf, PCI_SUBSYS_VENDOR_ID);
		d->subsys_device = pci_cfg_read16(d->bdf, PCI_SUBSYS_ID);
		break;
	case PCI_HEADER_BRIDGE:
		d->nbars = PCI_BRIDGE_BARS;
		d->pri_bus = pci_cfg_read8(d->bdf, PCI_PRIMARY_BUS);
		d->sec_bus = pci_cfg_read8(d->bdf, PCI_SECONDARY_BUS);
		d->sub_bus = pci_cfg_read8(d->bdf, PCI_SUBORDINATE_BUS);
		break;
	case PCI_HEADER_CARDBUS:
		d->nbars = PCI_CARDBUS_BARS;
		d->subsys_vendor = pci_cfg_read16(d->bdf, PCI_CARDBUS_SUBSYS_VENDOR_ID);
		d->subsys_device = pci_cfg_read16(d->bdf, PCI_CARDBUS_SUBSYS_ID);
		break;
	default:
		pci_dev_warn(d, PCI_PROB_HEADER, "unknown header type %u, ids only", d->hdr_type);
	}
}

/* Adds the function at devfn of the bus to the table, or returns NULL if there is none. */
static struct pci_dev *probe(const struct seg_buses *s, const struct bus_walk *w, uint8_t devfn)
{
	struct pci_bdf b = { .seg = s->seg, .bus = w->bus, .devfn = devfn };
	struct pci_dev *d, *u;

	if (!present(b) || !(d = pci_dev_new(b)))
		return NULL;
	d->upstream = w->upstream;
	u = pci_dev_upstream(d);
	d->depth = u ? u->depth + 1 : 0;
	read_header(d);
	if (!(d->problems & PCI_PROB_HEADER)) {
		pci_caps_read(d);
		pci_bars_read(d);
		pci_msix_check(d);
	}
	set_alias(d);
	return d;
}

/*
 * Device dev: function 0, and functions 1-7 when function 0 says it has more. Without a
 * function 0 the device is not there by the PCI rules, but emulators (QEMU's addr=D.F) and
 * partitioning hypervisors do place lone functions: probing 1-7 then is harmless, whereas a
 * single-function device's phantom functions (a device that ignores the function number) can
 * only appear when function 0 exists, and then the multi-function bit rules.
 */
static void scan_slot(const struct seg_buses *s, const struct bus_walk *w, uint8_t dev)
{
	struct pci_dev *d = probe(s, w, PCI_DEVFN(dev, 0));

	if (d && !d->multifn)
		return;
	for (uint8_t fn = 1; fn < PCI_FNS_PER_DEV; fn++)
		probe(s, w, PCI_DEVFN(dev, fn));
}

/*
 * Below a port with ARI forwarding on, functions 0-255 of the one device follow the Next
 * Function Numbers of their ARI capabilities (PCIe Base 3.0 §7.23). Numbers must increase,
 * so the chain ends within 256 steps.
 */
static void scan_ari(const struct seg_buses *s, const struct bus_walk *w)
{
	struct pci_dev *d = probe(s, w, 0), *next;
	unsigned nfn;

	if (!d)
		return;
	if (!d->ext.ari) {
		/* Not an ARI device after all: its functions are the usual 0-7. */
		if (d->multifn)
			for (uint8_t fn = 1; fn < PCI_FNS_PER_DEV; fn++)
				probe(s, w, PCI_DEVFN(0, fn));
		return;
	}
	while ((nfn = d->ext.ari_next_fn) != 0) {
		if (nfn <= d->bdf.devfn) {
			pci_dev_warn(d, PCI_PROB_ARI, "ARI next function %u does not follow %u, "
				     "chain cut", nfn, d->bdf.devfn);
			return;
		}
		next = probe(s, w, (uint8_t)nfn);
		if (!next) {
			/* QEMU's SR-IOV devices point their PF at the first, still disabled VF. */
			char b[PCI_BDF_STRLEN];
			log_info("pci %s: ARI next function %u is absent, chain ends",
				 pci_bdf_fmt(b, d->bdf), nfn);
			return;
		}
		if (!next->ext.ari) {
			pci_dev_warn(next, PCI_PROB_ARI, "no ARI capability in an ARI chain, "
				     "chain cut");
			return;
		}
		d = next;
	}
}

/* Checks bridge d's bus numbers against the bus it sits on; true if its bus can be walked. */
static bool bridge_ok(struct pci_dev *d, const struct seg_buses *s, const struct bus_walk *w,
		      uint8_t *sub)
{
	uint8_t sec = d->sec_bus;

	*sub = d->sub_bus;
	if (d->pri_bus != w->bus)
		pci_dev_warn(d, PCI_PROB_BUS, "primary bus %02x, but it sits on bus %02x",
			     d->pri_bus, w->bus);
	if (sec == 0 && d->sub_bus == 0) {
		pci_dev_warn(d, PCI_PROB_BUS, "bridge has no bus numbers, not walked");
		return false;
	}
	if (sec <= w->bus) {
		pci_dev_warn(d, PCI_PROB_BUS, "secondary bus %02x is not above its own bus %02x, "
			     "not walked", sec, w->bus);
		return false;
	}
	if (sec > w->hi) {
		pci_dev_warn(d, PCI_PROB_BUS, "secondary bus %02x is beyond %02x, the end of the "
			     "range it sits in; not walked", sec, w->hi);
		return false;
	}
	if (d->sub_bus < sec) {
		pci_dev_warn(d, PCI_PROB_BUS, "subordinate bus %02x is below secondary bus %02x, "
			     "not walked", d->sub_bus, sec);
		return false;
	}
	if (d->sub_bus > w->hi) {
		pci_dev_warn(d, PCI_PROB_BUS, "subordinate bus %02x is beyond %02x, cut to it",
			     d->sub_bus, w->hi);
		*sub = w->hi;
	}
	if (taken(s, sec)) {
		pci_dev_warn(d, PCI_PROB_BUS, "secondary bus %02x was reached before, not walked "
			     "again", sec);
		return false;
	}
	for (unsigned b = sec; b <= *sub; b++) {
		if (s->owner[b] != w->upstream) {
			pci_dev_warn(d, PCI_PROB_BUS, "buses %02x-%02x overlap the range of another "
				     "bridge at bus %02x, not walked", sec, *sub, b);
			return false;
		}
	}
	return true;
}

/* Queues the bus below bridge d, claiming its bus range. */
static void queue_bridge(struct seg_buses *s, const struct bus_walk *w, struct pci_dev *d)
{
	uint8_t sub;
	int idx = pci_dev_index(d);

	if (!bridge_ok(d, s, w, &sub))
		return;
	take(s, d->sec_bus);
	for (unsigned b = d->sec_bus; b <= sub; b++)
		s->owner[b] = (int16_t)idx;
	pending[npending++] = (struct bus_walk){ .bus = d->sec_bus, .hi = sub,
						 .upstream = (int16_t)idx };
}

/*
 * Below a PCIe downstream or root port the link holds device 0 only (§7.3.1), and some devices
 * there ignore the device number and answer at all 32. But emulators do place devices at other
 * numbers (QEMU forwards them), so every number is probed, and one whose configuration header
 * is the same as device 0's, byte for byte, is taken for device 0 answering again: two real
 * devices differ at least in the addresses firmware gave their BARs.
 */
#define PHANTOM_CMP_DWORDS (PCI_CAP_FIRST / 4)     /* the standard header */

static bool phantom_of_device0(uint16_t seg, uint8_t bus, uint8_t dev)
{
	struct pci_bdf d0 = pci_bdf(seg, bus, 0, 0), dn = pci_bdf(seg, bus, dev, 0);

	if (!present(dn) || !present(d0))
		return false;
	for (uint16_t i = 0; i < PHANTOM_CMP_DWORDS; i++)
		if (pci_cfg_read32(d0, i * 4) != pci_cfg_read32(dn, i * 4))
			return false;
	return true;
}

static void scan_bus(struct seg_buses *s, const struct bus_walk *w)
{
	struct pci_dev *u = w->upstream == PCI_NONE ? NULL : pci_dev_at((size_t)w->upstream);
	size_t first = pci_dev_count(), top = npending;

	if (u && u->exp.ari_fwd) {
		scan_ari(s, w);
	} else {
		bool port = u && is_downstream_port(u);
		for (uint8_t dev = 0; dev < PCI_DEVS_PER_BUS; dev++)
			if (!port || dev == 0 || !phantom_of_device0(s->seg, w->bus, dev))
				scan_slot(s, w, dev);
	}
	for (size_t i = first; i < pci_dev_count(); i++)
		if (pci_dev_is_bridge(pci_dev_at(i)))
			queue_bridge(s, w, pci_dev_at(i));
	/* Reverse the buses just queued so that the first bridge's is walked first. */
	for (size_t a = top, b = npending; a + 1 < b; a++, b--) {
		struct bus_walk t = pending[a];
		pending[a] = pending[b - 1];
		pending[b - 1] = t;
	}
}

static void walk_root(struct seg_buses *s, uint8_t bus, uint8_t hi)
{
	take(s, bus);
	pending[0] = (struct bus_walk){ .bus = bus, .hi = hi, .upstream = PCI_NONE };
	npending = 1;
	while (npending) {
		struct bus_walk w = pending[--npending];
		scan_bus(s, &w);
	}
}

static bool bus_has_device(uint16_t seg, unsigned bus)
{
	for (uint8_t dev = 0; dev < PCI_DEVS_PER_BUS; dev++)
		if (present(pci_bdf(seg, (uint8_t)bus, dev, 0)))
			return true;
	return false;
}

/*
 * The region's first bus is a root bus. Other host bridges may start more root buses in the
 * same range (MCFG does not say where; ACPI _BBN does): a bus under no bridge's range that
 * has devices is walked as one.
 */
static void walk_region(const struct pci_ecam *r)
{
	struct seg_buses *s = seg_state(r->segment);

	if (!s) {
		log_warn("pci: more than %d segments, segment %04x not walked", PCI_ECAM_MAX,
			 r->segment);
		return;
	}
	if (r->bus_end < r->bus_start || taken(s, r->bus_start))
		return;
	walk_root(s, r->bus_start, r->bus_end);
	for (unsigned b = r->bus_start + 1u; b <= r->bus_end; b++) {
		if (taken(s, b) || s->owner[b] != PCI_NONE || !bus_has_device(s->seg, b))
			continue;
		log_info("pci: bus %04x:%02x is under no bridge: walked as another root bus",
			 s->seg, b);
		walk_root(s, (uint8_t)b, r->bus_end);
	}
}

int pci_enumerate(const struct pci_ecam *regions, size_t n)
{
	static const struct pci_ecam ports = { .segment = 0, .bus_start = 0, .bus_end = 0xff };

	pci_table_reset();
	nsegs = 0;
	if (n == 0) {
		regions = &ports;
		n = 1;
	}
	for (size_t i = 0; i < n; i++)
		walk_region(&regions[i]);
	return (int)pci_dev_count();
}
