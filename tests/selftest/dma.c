/*
 * selftest=dma: DMA through the IOMMU with every edu device, each in a domain of its own.
 *
 * Each device gets four frames: a buffer between canary pages, mapped at an IOVA of its own
 * (never its physical address, so a DMA that bypassed translation would miss the buffer).
 * The checks: a round trip lands in the right frame and nowhere else; a DMA to an unmapped
 * IOVA (the canary's own physical address) faults with the device's requester id and that
 * address and changes nothing; a device cannot reach another domain's IOVA; unmap blocks and
 * a new map restores (the IOTLB was invalidated both times); after detach the device faults,
 * after attaching again it works; a 2 MiB mapping uses a superpage where the units have them;
 * hypervisor memory cannot be mapped; a second fault while one is pending is recorded or
 * reported as an overflow; and fault events arrive as interrupts on the chosen CPU.
 *
 * One `@dmatest` record per check (docs/report.md); a failed check is also a log_err. The
 * faults are expected: they are `@dmafault` records and warnings, not errors.
 */
#include "iommu/domain.h"
#include "tests/selftest/selftest.h"
#include "tests/selftest/dev/edu.h"
#include "iommu/fault.h"
#include "iommu/iommu.h"
#include "iommu/unit.h"
#include "kernel/lib/error.h"
#include "kernel/lib/fmt.h"
#include "kernel/lib/log.h"
#include "kernel/mm/mm.h"
#include "kernel/cpu/time.h"
#include "kernel/mm/vm.h"
#include "pci/pci.h"

#define MAX_EDU         4
#define PAGE            0x1000ull
#define FRAMES_ORDER    2               /* canary, buffer, canary, canary */
#define BUF_PAGE        1
#define IOVA_BASE       0xc000000ull    /* below 2^28: edu masks DMA addresses to 28 bits */
#define IOVA_STRIDE     0x100000ull
#define EDU_DMA_LIMIT   (1ull << 28)
#define SP_SIZE         0x200000ull
#define SP_ORDER        9
#define SP_IOVA         0xe000000ull
#define CANARY          0xc5
/* QEMU 7.2's edu refuses (aborts on) a copy that ends exactly at the end of its buffer. */
#define DMA_LEN         (PAGE - 64)
#define IRQ_WAIT_US     500000          /* how long a fault may take to arrive by interrupt */

struct dev_test {
	struct edu e;
	struct pci_dev *dev;
	struct domain *dom;
	uint64_t iova, pa, unmapped;
	uint8_t *va;
	unsigned pattern;               /* the buffer holds pattern(n) in its first plen bytes, */
	unsigned plen;                  /* zeros after them */
	char bdf[PCI_BDF_STRLEN];
	char alias[PCI_BDF_STRLEN];     /* the requester id the IOMMU sees */
};

static struct dev_test devs[MAX_EDU];
static unsigned ndev, failures;

static uint8_t pattern_byte(unsigned p, unsigned k)
{
	return p ? (uint8_t)(p * 37 + k * 7 + (k >> 8)) : 0;
}

static uint8_t expected(const struct dev_test *t, unsigned k)
{
	return k < t->plen ? pattern_byte(t->pattern, k) : 0;
}

static void fill(struct dev_test *t, unsigned p)
{
	uint8_t *b = t->va + BUF_PAGE * PAGE;
	for (unsigned k = 0; k < PAGE; k++)
		b[k] = pattern_byte(p, k);
	t->pattern = p;
	t->plen = PAGE;
}

/* Every device's buffer holds what it should and every canary page is intact. */
static bool memory_intact(void)
{
	for (unsigned i = 0; i < ndev; i++)
		for (unsigned k = 0; k < (PAGE << FRAMES_ORDER); k++) {
			bool buf = k / PAGE == BUF_PAGE;
			uint8_t want = buf ? expected(&devs[i], k % PAGE) : CANARY;
			if (devs[i].va[k] != want) {
				log_warn("dma selftest: %s %s byte 0x%x is 0x%x, expected 0x%x",
					 devs[i].bdf, buf ? "buffer" : "canary", k, devs[i].va[k],
					 want);
				return false;
			}
		}
	return true;
}

/* ---- records ------------------------------------------------------------------------------ */

struct outcome {
	bool ok;
	uint64_t iova;
	bool want_fault;
	bool have_fault;
	struct iommu_fault_event ev;
};

static void verdict(struct dev_test *t, const char *check, const struct outcome *o)
{
	char fault[PCI_BDF_STRLEN] = "-", addr[24] = "-", reason[8] = "-";

	if (o->have_fault && !o->ev.overflow) {
		pci_bdf_fmt(fault, pci_bdf(o->ev.segment, o->ev.f.sid >> 8, PCI_DEVFN_DEV(o->ev.f.sid),
					   PCI_DEVFN_FN(o->ev.f.sid)));
		fmt_snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)o->ev.f.addr);
		fmt_snprintf(reason, sizeof(reason), "0x%x", o->ev.f.reason);
	} else if (o->have_fault) {
		fmt_snprintf(fault, sizeof(fault), "overflow");
	}
	report("dmatest dev=%s check=%s ok=%d iova=0x%llx expect=%s fault=%s addr=%s reason=%s "
	       "via=%s", t ? t->bdf : "-", check, o->ok, (unsigned long long)o->iova,
	       o->want_fault && t ? t->alias : "-", fault, addr, reason,
	       o->have_fault ? (o->ev.irq ? "irq" : "poll") : "-");
	if (!o->ok) {
		failures++;
		log_err("dma selftest: %s: check %s failed", t ? t->bdf : "-", check);
	}
}

/* ---- faults ------------------------------------------------------------------------------- */

static bool matches(const struct iommu_fault_event *ev, const struct dev_test *t, uint64_t iova,
		    bool write)
{
	return !ev->overflow && ev->segment == t->dev->bdf.seg && ev->f.sid == t->dev->dma_alias &&
	       ev->f.addr == (iova & ~(PAGE - 1)) && ev->f.read == !write;
}

static bool find_fault(uint64_t from, const struct dev_test *t, uint64_t iova, bool write,
		       struct iommu_fault_event *out)
{
	for (uint64_t s = from; s < iommu_fault_count(); s++)
		if (iommu_fault_get(s, out) && matches(out, t, iova, write))
			return true;
	return false;
}

/* The fault the DMA just done should have raised: by interrupt within IRQ_WAIT_US, else found
 * by polling the fault registers. */
static bool expect_fault(uint64_t from, const struct dev_test *t, uint64_t iova, bool write,
			 struct iommu_fault_event *out)
{
	uint64_t deadline = time_since_boot_us() + IRQ_WAIT_US;

	while (time_since_boot_us() < deadline) {
		if (find_fault(from, t, iova, write, out))
			return true;
		time_delay_us(1000);
	}
	iommu_fault_poll();
	return find_fault(from, t, iova, write, out);
}

/* No fault at all since `from` (polled, so none is in flight in the registers either). */
static bool no_fault(uint64_t from, struct iommu_fault_event *out)
{
	iommu_fault_poll();
	if (iommu_fault_count() == from)
		return true;
	return !iommu_fault_get(from, out);
}

/* ---- the checks --------------------------------------------------------------------------- */

/* DMA that must work: fill the buffer with pattern p, RAM -> device from iova, clear the
 * buffer, device -> RAM to iova; the pattern must come back into the buffer (its first DMA_LEN
 * bytes) and nowhere else. */
static void check_roundtrip(struct dev_test *t, const char *check, unsigned p)
{
	struct outcome o = { .iova = t->iova };
	uint64_t from = iommu_fault_count();

	fill(t, p);
	bool dma = edu_dma(&t->e, t->iova, DMA_LEN, false) == 0;
	fill(t, 0);
	dma = dma && edu_dma(&t->e, t->iova, DMA_LEN, true) == 0;
	t->pattern = p;
	t->plen = DMA_LEN;
	o.have_fault = !no_fault(from, &o.ev);
	o.ok = dma && !o.have_fault && memory_intact();
	verdict(t, check, &o);
}

/* DMA that must fault with t's requester id at iova and change nothing. */
static void check_blocked(struct dev_test *t, const char *check, uint64_t iova, bool to_ram)
{
	struct outcome o = { .iova = iova, .want_fault = true };
	uint64_t from = iommu_fault_count();

	bool dma = edu_dma(&t->e, iova, DMA_LEN, to_ram) == 0;
	o.have_fault = expect_fault(from, t, iova, to_ram, &o.ev);
	o.ok = dma && o.have_fault && memory_intact();
	verdict(t, check, &o);
}

static void check_unmap_remap(struct dev_test *t, unsigned p)
{
	struct outcome o = { .iova = t->iova };

	o.ok = domain_unmap(t->dom, t->iova, PAGE) == 0 &&
	       domain_lookup(t->dom, t->iova).err == E_NOENT;
	if (!o.ok)
		verdict(t, "unmap", &o);
	else
		check_blocked(t, "unmap", t->iova, true);
	if (domain_map(t->dom, t->iova, t->pa + BUF_PAGE * PAGE, PAGE, DMA_READ | DMA_WRITE)) {
		verdict(t, "remap", &o);
		return;
	}
	check_roundtrip(t, "remap", p);
}

static void check_detach(struct dev_test *t, unsigned p)
{
	struct outcome o = { .iova = t->iova };

	if (domain_detach(t->dom, t->dev) || domain_of(t->dev)) {
		verdict(t, "detach", &o);
		return;
	}
	check_blocked(t, "detach", t->iova, true);
	if (domain_attach(t->dom, t->dev)) {
		verdict(t, "reattach", &o);
		return;
	}
	check_roundtrip(t, "reattach", p);
}

/* A 2 MiB-aligned 2 MiB mapping: a superpage when every unit has them; DMA lands inside. */
static void check_superpage(struct dev_test *t)
{
	struct outcome o = { .iova = SP_IOVA + 3 * PAGE };
	uint64_t pa = mm_alloc(SP_ORDER, 0);
	uint64_t from = iommu_fault_count();

	if (!pa || domain_map(t->dom, SP_IOVA, pa, SP_SIZE, DMA_WRITE)) {
		verdict(t, "superpage", &o);
		return;
	}
	struct slpt_walk w = domain_lookup(t->dom, o.iova);
	bool sp = w.page_size == SP_SIZE || !(iommu_unit_for(t->dev)->caps.sllps & VTD_SLLPS_2M);
	uint8_t *va = phys_to_virt(pa);
	bool dma = edu_dma(&t->e, o.iova, DMA_LEN, true) == 0;
	bool landed = true;
	for (unsigned k = 0; k < PAGE; k++)
		landed &= va[3 * PAGE + k] == expected(t, k) && va[2 * PAGE + k] == 0;
	o.have_fault = !no_fault(from, &o.ev);
	o.ok = !w.err && w.pa == pa + 3 * PAGE && sp && dma && landed && !o.have_fault;
	verdict(t, "superpage", &o);
	if (domain_unmap(t->dom, SP_IOVA, SP_SIZE) == 0)
		mm_free(pa, SP_ORDER);
}

extern char __image_start_phys[];

/* The image and the IOMMU's own tables cannot be mapped for a device. */
static void check_protected(struct dev_test *t)
{
	uint64_t image = ALIGN_DOWN((uint64_t)__image_start_phys, PAGE);
	uint64_t root = iommu_unit_for(t->dev)->root_pa;
	struct outcome o = { .iova = t->iova + PAGE };

	o.ok = domain_map(t->dom, o.iova, image, PAGE, DMA_READ) == E_PERM &&
	       domain_map(t->dom, o.iova, root, PAGE, DMA_READ) == E_PERM &&
	       domain_lookup(t->dom, o.iova).err == E_NOENT;
	verdict(t, "protected", &o);
}

/* Two faults while the event is masked: the second is recorded, or an overflow is reported. */
static void check_overflow(struct dev_test *a, struct dev_test *b)
{
	struct vtd_unit *ua = iommu_unit_for(a->dev), *ub = iommu_unit_for(b->dev);
	struct outcome o = { .iova = b->unmapped, .want_fault = true };
	struct iommu_fault_event ev;
	uint64_t from = iommu_fault_count();

	vtd_fault_mask(ua, true);
	vtd_fault_mask(ub, true);
	bool dma = edu_dma(&a->e, a->unmapped, DMA_LEN, true) == 0 &&
		   edu_dma(&b->e, b->unmapped, DMA_LEN, true) == 0;
	vtd_fault_mask(ua, false);
	vtd_fault_mask(ub, false);
	iommu_fault_poll();
	bool first = find_fault(from, a, a->unmapped, true, &ev);
	o.have_fault = find_fault(from, b, b->unmapped, true, &o.ev);
	for (uint64_t s = from; !o.have_fault && s < iommu_fault_count(); s++)
		o.have_fault = iommu_fault_get(s, &o.ev) && o.ev.overflow;
	o.ok = dma && first && o.have_fault && memory_intact();
	verdict(b, "overflow", &o);
}

/* ---- set-up ------------------------------------------------------------------------------- */

static bool setup_dev(struct dev_test *t, struct pci_dev *d, unsigned i)
{
	struct outcome o = { .iova = IOVA_BASE + i * IOVA_STRIDE };

	t->dev = d;
	t->iova = o.iova;
	pci_bdf_fmt(t->bdf, d->bdf);
	pci_bdf_fmt(t->alias, pci_bdf(d->bdf.seg, d->dma_alias >> 8, PCI_DEVFN_DEV(d->dma_alias),
				      PCI_DEVFN_FN(d->dma_alias)));
	t->pa = mm_alloc(FRAMES_ORDER, 0);
	if (!t->pa || edu_open(&t->e, d) || !(t->dom = domain_create())) {
		verdict(t, "setup", &o);
		return false;
	}
	t->va = phys_to_virt(t->pa);
	for (unsigned k = 0; k < (PAGE << FRAMES_ORDER); k++)
		t->va[k] = CANARY;
	fill(t, 0);
	/* The unmapped IOVA is the canary's physical address where edu can reach it. */
	uint64_t canary = t->pa + (BUF_PAGE + 1) * PAGE;
	bool clash = canary >= IOVA_BASE && canary < IOVA_BASE + MAX_EDU * IOVA_STRIDE;
	t->unmapped = canary < EDU_DMA_LIMIT && !clash ? canary : t->iova + PAGE;
	o.ok = domain_map(t->dom, t->iova, t->pa + BUF_PAGE * PAGE, PAGE, DMA_READ | DMA_WRITE) ==
	       0 && domain_attach(t->dom, d) == 0 && domain_of(d) == t->dom;
	verdict(t, "setup", &o);
	return o.ok;
}

static void teardown(void)
{
	for (unsigned i = 0; i < ndev; i++) {
		struct dev_test *t = &devs[i];
		uint16_t cmd = pci_cfg_read16(t->dev->bdf, PCI_COMMAND);
		pci_cfg_write16(t->dev->bdf, PCI_COMMAND, cmd & ~PCI_COMMAND_MASTER);
		if (domain_of(t->dev) && domain_detach(t->dom, t->dev))
			log_err("dma selftest: %s: detach failed", t->bdf);
	}
}

static void check_fault_irq(void)
{
	struct outcome o = { 0 };
	struct iommu_fault_event ev = { 0 };

	for (uint64_t s = 0; s < iommu_fault_count() && !o.ok; s++)
		o.ok = iommu_fault_get(s, &ev) && ev.irq;
	o.have_fault = o.ok;
	o.ev = ev;
	verdict(NULL, "fault_irq", &o);
}

void selftest_dma(void)
{
	if (!iommu_enabled()) {
		log_err("dma selftest: DMA remapping is off");
		return;
	}
	for (size_t i = 0; i < pci_dev_count() && ndev < MAX_EDU; i++) {
		struct pci_dev *d = pci_dev_at(i);
		if (edu_match(d) && iommu_unit_for(d) && setup_dev(&devs[ndev], d, ndev))
			ndev++;
	}
	if (!ndev) {
		log_err("dma selftest: no usable edu device (add -device edu)");
		return;
	}
	for (unsigned i = 0; i < ndev; i++) {
		struct dev_test *t = &devs[i], *other = &devs[(i + 1) % ndev];
		unsigned p = 3 * i + 1;
		check_roundtrip(t, "roundtrip", p);
		check_blocked(t, "unmapped_write", t->unmapped, true);
		if (other != t)
			check_blocked(t, "isolation", other->iova, true);
		check_unmap_remap(t, p + 1);
		if (i == 0) {
			check_superpage(t);
			check_protected(t);
		}
		check_blocked(t, "unmapped_read", t->unmapped, false);
		check_detach(t, p + 2);
	}
	if (ndev >= 2)
		check_overflow(&devs[0], &devs[1]);
	check_fault_irq();
	teardown();
	log_info("dma selftest: %u devices, %u failed checks", ndev, failures);
}
