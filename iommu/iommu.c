#include "iommu/iommu.h"
#include "kernel/mm/mm.h"
#include "iommu/domain.h"
#include "iommu/fault.h"
#include "iommu/mem.h"
#include "iommu/qi.h"
#include "iommu/topology.h"
#include "iommu/unit.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "pci/pci.h"

extern char __image_start_phys[], __image_end_phys[];

static struct iommu_topology topo;
static struct vtd_unit units[IOMMU_MAX_UNITS];
static bool ready[IOMMU_MAX_UNITS];     /* set up (queue, root table): domains may use it */
static unsigned n_units;
static bool enabled;

bool iommu_enabled(void) { return enabled; }
unsigned iommu_unit_count(void) { return n_units; }
struct vtd_unit *iommu_unit_at(unsigned i) { return i < n_units ? &units[i] : NULL; }

struct vtd_unit *iommu_unit_for(const struct pci_dev *d)
{
	int i = iommu_topology_unit_for(&topo, d->bdf);
	return i >= 0 && (unsigned)i < n_units && ready[i] ? &units[i] : NULL;
}

const char *iommu_no_unit_reason(const struct pci_dev *d)
{
	int i = iommu_topology_unit_for(&topo, d->bdf);

	if (!topo.n_units)
		return "there is no DMA remapping (no usable DMAR table)";
	if (i < 0)
		return "no DRHD names it and its segment has no INCLUDE_PCI_ALL unit";
	return "its remapping unit is not working";
}

bool iommu_intr_remap_allowed(void)
{
	return topo.n_units && (topo.flags & DMAR_F_INTR_REMAP);
}

int iommu_ioapic_unit(uint8_t id, uint16_t *sid)
{
	for (unsigned i = 0; i < topo.n_units && i < n_units; i++)
		for (unsigned k = 0; k < topo.unit[i].n_ioapic; k++)
			if (topo.unit[i].ioapic[k].id == id) {
				*sid = topo.unit[i].ioapic[k].sid;
				return (int)i;
			}
	return E_NOENT;
}

void iommu_protect_early(uint64_t start, uint64_t end)
{
	if (iommu_protect(start, end))
		return;         /* logged */
}

void iommu_fault_poll(void)
{
	for (unsigned i = 0; i < n_units; i++)
		if (ready[i])
			vtd_fault_process(&units[i], false);
}

/* ---- one table depth for every unit ------------------------------------------------------- */

static bool __boot all_have_levels(unsigned levels)
{
	for (unsigned i = 0; i < n_units; i++)
		if (ready[i] && !(units[i].caps.sagaw & BIT(levels - 2)))
			return false;
	return true;
}

/*
 * The smallest depth every unit supports that covers the IOVA width in use (the DMAR's host
 * address width, cut to the narrowest MGAW), else the deepest they share. Units that share no
 * depth with the first are left off. Sets up the domain layer; returns the depth or 0.
 */
static unsigned __boot choose_levels(unsigned haw)
{
	unsigned width = haw, levels = 0, first = n_units;
	uint8_t sllps = VTD_SLLPS_2M | VTD_SLLPS_1G;
	uint32_t dids = UINT32_MAX;

	for (unsigned i = 0; i < n_units; i++)
		if (ready[i]) {
			width = MIN(width, units[i].caps.mgaw);
			first = MIN(first, i);
		}
	if (first == n_units)
		return 0;
	for (unsigned l = SLPT_MIN_LEVELS; l <= SLPT_MAX_LEVELS; l++) {
		if (!all_have_levels(l))
			continue;
		levels = l;
		if (vtd_levels_to_agaw(l) >= width)
			break;
	}
	if (!levels) {
		int l = vtd_agaw_levels(&units[first].caps, width);
		levels = l > 0 ? (unsigned)l : 0;
	}
	for (unsigned i = 0; i < n_units; i++) {
		if (!ready[i])
			continue;
		if (!levels || !(units[i].caps.sagaw & BIT(levels - 2))) {
			log_err("vt-d unit %u: no %u-level tables like the other units; left off",
				i, levels);
			ready[i] = false;
			continue;
		}
		units[i].levels = levels;
		sllps &= units[i].caps.sllps;
		dids = MIN(dids, units[i].caps.num_domains);
		if (!units[i].caps.c)
			iommu_set_noncoherent();
	}
	width = MIN(width, vtd_levels_to_agaw(levels));
	domain_setup(levels, sllps, dids, width);
	log_info("iommu: %u-level tables for %u-bit IOVAs, superpages 0x%x, %u domain ids",
		 levels, width, sllps, dids);
	return levels;
}

/* ---- bringing units up -------------------------------------------------------------------- */

/* Queue, root table, caches clean, fault event: everything but translation (6.5.3). */
static int __boot prepare(struct vtd_unit *u, unsigned fault_cpu, bool use_qi)
{
	int err = 0;

	if (u->caps.qi && use_qi)
		err = vtd_qi_enable(u);
	else
		log_info("vt-d unit %u: %s; invalidating through the registers", u->index,
			 u->caps.qi ? "queued invalidation turned off (iommu_qi=off)" :
			 "no queued invalidation");
	if (!err)
		err = vtd_unit_set_root(u);
	if (!err)
		err = vtd_inv_global(u);
	if (err)
		return err;
	if (vtd_fault_setup(u, fault_cpu) && (fault_cpu == 0 || vtd_fault_setup(u, 0)))
		log_err("vt-d unit %u: no fault event interrupt; faults are seen only when polled",
			u->index);
	return 0;
}

/*
 * An RMRR is the firmware's word that a device DMAs to [base, end). It is believed only as far
 * as it cannot hurt: never over the hypervisor's own memory (the image, its page tables, the
 * IOMMU's tables and registers) nor over frames already in use, and what it covers of usable
 * RAM is taken from the frame allocator for good, so no guest or hypervisor frame ever lands
 * where the device writes.
 */
static bool __boot rmrr_acceptable(const struct iommu_rmrr_info *r)
{
	unsigned long long base = r->base, end = r->end;
	const struct iommu_range *p = iommu_protected(r->base, r->end - r->base);

	if (p) {
		log_err("iommu: RMRR 0x%llx-0x%llx overlaps the hypervisor's own memory "
			"0x%llx-0x%llx: refused", base, end, (unsigned long long)p->start,
			(unsigned long long)p->end);
		return false;
	}
	struct frame_reserve_ret res = mm_reserve(r->base, r->end);
	if (res.err) {
		log_err("iommu: RMRR 0x%llx-0x%llx overlaps memory the hypervisor has in use "
			"(frame 0x%llx): refused", base, end, (unsigned long long)res.taken);
		return false;
	}
	if (res.taken)
		log_warn("iommu: RMRR 0x%llx-0x%llx covers %llu KiB of usable RAM: reserved for the "
			 "device", base, end, (unsigned long long)res.taken >> 10);
	return true;
}

/* Identity-map each RMRR into the domain of each function it names (8.4), creating that
 * function's domain if it has none yet; the region stays until the function is detached. */
static void __boot map_rmrrs(void)
{
	for (unsigned i = 0; i < topo.n_rmrr; i++) {
		const struct iommu_rmrr_info *r = &topo.rmrr[i];
		if (r->n && !rmrr_acceptable(r))
			continue;
		for (unsigned k = 0; k < r->n; k++) {
			char s[PCI_BDF_STRLEN];
			struct pci_dev *dev = pci_find(r->dev[k]);
			pci_bdf_fmt(s, r->dev[k]);
			if (!dev || !iommu_unit_for(dev)) {
				log_info("iommu: RMRR 0x%llx-0x%llx: %s is absent or not translated",
					 (unsigned long long)r->base, (unsigned long long)r->end, s);
				continue;
			}
			struct domain *d = domain_of(dev);
			bool fresh = !d;
			if (fresh && !(d = domain_create()))
				continue;
			int err = domain_map(d, r->base, r->base, r->end - r->base,
					     DMA_READ | DMA_WRITE);
			if (!err && fresh)
				err = domain_attach(d, dev);
			if (err)
				log_warn("iommu: RMRR 0x%llx-0x%llx for %s: %s",
					 (unsigned long long)r->base, (unsigned long long)r->end, s,
					 error_name(err));
			else
				log_info("iommu: RMRR 0x%llx-0x%llx identity-mapped for %s in "
					 "domain %u", (unsigned long long)r->base,
					 (unsigned long long)r->end, s, domain_id(d));
		}
	}
}

/* The DMAR's flags (8.1), said once at boot: what each means for Courier. */
static void __boot report_flags(void)
{
	uint8_t f = topo.flags;

	if (!(f & DMAR_F_INTR_REMAP))
		log_warn("iommu: the DMAR's INTR_REMAP flag is clear: the platform does not support "
			 "interrupt remapping; interrupts are delivered without it and device "
			 "messages (HC_DEV_MSG_ALLOC) are refused");
	if ((f & DMAR_F_X2APIC_OPT_OUT) && !(f & DMAR_F_INTR_REMAP))
		log_info("iommu: the DMAR's X2APIC_OPT_OUT flag is set without INTR_REMAP, where it "
			 "has no meaning (8.1); ignored");
	if (f & DMAR_F_DMA_CTRL_PLATFORM_OPT_IN)
		log_info("iommu: the DMAR's DMA_CTRL_PLATFORM_OPT_IN flag is set: firmware keeps its "
			 "own DMA to the RMRRs; Courier translates on every unit, RMRRs mapped");
}

/* Every function no DRHD covers: its DMA is not translated, so no guest may have it. */
static void __boot report_uncovered(void)
{
	for (size_t i = 0; i < pci_dev_count(); i++) {
		struct pci_dev *d = pci_dev_at(i);
		char s[PCI_BDF_STRLEN];
		if (iommu_topology_unit_for(&topo, d->bdf) < 0)
			log_warn("iommu: %s is under no remapping unit (no DRHD names it and segment "
				 "%u has no INCLUDE_PCI_ALL unit): it cannot be given to a guest",
				 pci_bdf_fmt(s, d->bdf), d->bdf.seg);
	}
}

static void __boot setup_units(unsigned fault_cpu, bool use_qi)
{
	for (unsigned i = 0; i < topo.n_units; i++) {
		struct vtd_unit *u = &units[i];
		n_units = i + 1;
		if (vtd_unit_init(u, i, &topo.unit[i].drhd) == 0 &&
		    iommu_protect(u->base, u->base + u->mapped) == 0)
			ready[i] = true;
	}
	if (!choose_levels(topo.haw))
		return;
	for (unsigned i = 0; i < n_units; i++)
		if (ready[i] && prepare(&units[i], fault_cpu, use_qi)) {
			log_err("vt-d unit %u: set-up failed; translation stays off", i);
			ready[i] = false;
		}
}

int __boot iommu_init(const void *dmar, size_t len, unsigned fault_cpu, bool use_qi)
{
	unsigned on = 0;

	if (!dmar) {
		log_warn("iommu: no DMAR table: DMA remapping stays off");
		return 0;
	}
	int n = iommu_topology_build(dmar, len, &topo);
	if (n < 0) {
		if (n == E_NOENT)
			log_warn("iommu: the DMAR table lists no remapping unit");
		log_warn("iommu: DMA remapping stays off");
		return 0;
	}
	report_flags();
	report_uncovered();
	if (iommu_protect((uint64_t)__image_start_phys, (uint64_t)__image_end_phys))
		return 0;
	setup_units(fault_cpu, use_qi);
	map_rmrrs();
	for (unsigned i = 0; i < n_units; i++) {
		struct vtd_unit *u = &units[i];
		if (ready[i] && vtd_unit_gcmd(u, VTD_GCMD_TE, true) == 0)
			u->te = true;
		on += u->te;
		if (u->regs.base)
			vtd_unit_report(u);
	}
	enabled = on > 0;
	log_info("iommu: DMA remapping on %u of %u units", on, n_units);
	return (int)on;
}
