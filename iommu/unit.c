#include "iommu/unit.h"
#include "iommu/mem.h"
#include "kernel/lib/error.h"
#include "kernel/lib/fmt.h"
#include "kernel/lib/log.h"
#include "kernel/arch/mmio.h"
#include "kernel/cpu/time.h"
#include "kernel/mm/vm.h"

#define GCMD_TIMEOUT_US         1000000
#define DRHD_SIZE_PAGES_MASK    0xf     /* 8.3: Size bits 3:0, 2^N pages of registers */

int __boot vtd_unit_init(struct vtd_unit *u, unsigned index, const struct dmar_drhd *d)
{
	char name[24];
	uint32_t size = (uint32_t)VTD_PAGE_SIZE << (d->size & DRHD_SIZE_PAGES_MASK);

	fmt_snprintf(name, sizeof(name), "unit %u", index);
	*u = (struct vtd_unit){ .index = index, .base = d->base, .segment = d->segment,
				.include_all = d->include_all, .f.cpu = -1 };
	if (!d->base || (d->base & (VTD_PAGE_SIZE - 1))) {
		log_err("vt-d %s: register base 0x%llx is not a page address", name,
			(unsigned long long)d->base);
		return E_INVAL;
	}
	u->regs.base = mmio_map(d->base, size);
	if (!u->regs.base)
		return E_NOMEM;
	u->mapped = size;
	u->caps = vtd_caps_decode(vtd_read64(&u->regs, VTD_CAP), vtd_read64(&u->regs, VTD_ECAP));
	int err = vtd_caps_check(&u->caps, name);
	if (err)
		return err;
	/* The IOTLB and fault recording registers may lie past what the DRHD announced. */
	uint32_t span = vtd_regs_span(&u->caps);
	if (span > u->mapped) {
		volatile void *base = mmio_map(d->base, span);
		if (!base)
			return E_NOMEM;
		u->mapped = span;
		u->regs.base = base;
	}
	u->regs = vtd_regs_make(u->regs.base, &u->caps);
	uint32_t ver = vtd_read32(&u->regs, VTD_VER);
	log_info("vt-d %s: version %llu.%llu at 0x%llx, %u bytes of registers", name,
		 (unsigned long long)((ver & VTD_VER_MAX) >> 4),
		 (unsigned long long)(ver & VTD_VER_MIN), (unsigned long long)d->base, u->mapped);
	return 0;
}

/* ---- global command and status (11.4.4, 11.4.5) ------------------------------------------ */

static const char *gcmd_name(uint32_t cmd)
{
	switch (cmd) {
	case VTD_GCMD_TE: return "TE";
	case VTD_GCMD_SRTP: return "SRTP";
	case VTD_GCMD_SFL: return "SFL";
	case VTD_GCMD_EAFL: return "EAFL";
	case VTD_GCMD_WBF: return "WBF";
	case VTD_GCMD_QIE: return "QIE";
	case VTD_GCMD_IRE: return "IRE";
	case VTD_GCMD_SIRTP: return "SIRTP";
	case VTD_GCMD_CFI: return "CFI";
	}
	return "?";
}

/* Is the command done, by its status bit (at the command bit's position)? One-shot commands
 * set theirs when done, except WBF whose status is set while the flush is in progress. */
static bool gcmd_done(uint32_t gsts, uint32_t cmd, bool on)
{
	if (cmd == VTD_GCMD_WBF)
		return !(gsts & VTD_GSTS_WBFS);
	if (cmd & VTD_GSTS_PERSISTENT)
		return !!(gsts & cmd) == on;
	return gsts & cmd;
}

int vtd_unit_gcmd(struct vtd_unit *u, uint32_t cmd, bool on)
{
	uint64_t f = spin_lock_irqsave(&u->cmd_lock);
	uint32_t gsts = vtd_read32(&u->regs, VTD_GSTS);
	uint64_t deadline = time_since_boot_us() + GCMD_TIMEOUT_US;
	bool done;

	vtd_write32(&u->regs, VTD_GCMD, vtd_gcmd_value(gsts, cmd, on));
	for (;;) {
		gsts = vtd_read32(&u->regs, VTD_GSTS);
		done = gcmd_done(gsts, cmd, on);
		if (done || time_since_boot_us() > deadline)
			break;
		cpu_relax();
	}
	spin_unlock_irqrestore(&u->cmd_lock, f);
	if (done)
		return 0;
	log_err("vt-d unit %u: GCMD.%s=%d not acknowledged in GSTS (0x%x) within %u ms", u->index,
		gcmd_name(cmd), on, gsts, GCMD_TIMEOUT_US / 1000);
	return E_TIMEOUT;
}

int vtd_unit_flush_wb(struct vtd_unit *u)
{
	return u->caps.rwbf ? vtd_unit_gcmd(u, VTD_GCMD_WBF, true) : 0;
}

/* ---- root and context tables (9.1, 9.3) -------------------------------------------------- */

int __boot vtd_unit_set_root(struct vtd_unit *u)
{
	u->root_pa = iommu_frame_alloc();
	if (!u->root_pa)
		return E_NOMEM;
	u->root = phys_to_virt(u->root_pa);
	iommu_flush(u->root, VTD_PAGE_SIZE);
	vtd_write64(&u->regs, VTD_RTADDR, u->root_pa | (uint64_t)VTD_TTM_LEGACY <<
		    VTD_RTADDR_TTM_SHIFT);
	return vtd_unit_gcmd(u, VTD_GCMD_SRTP, true);
}

static struct vtd_ctx_entry *ctx_table(const struct vtd_unit *u, uint8_t bus)
{
	struct vtd_root_entry r = u->root[bus];
	return vtd_root_present(r) ? phys_to_virt(vtd_root_ctp(r)) : NULL;
}

struct vtd_ctx_entry vtd_unit_ctx_get(const struct vtd_unit *u, uint16_t sid)
{
	struct vtd_ctx_loc at = vtd_ctx_locate(sid);
	struct vtd_ctx_entry *t = ctx_table(u, at.bus);

	return t ? t[at.devfn] : (struct vtd_ctx_entry){ 0, 0 };
}

int vtd_unit_ctx_set(struct vtd_unit *u, uint16_t sid, struct vtd_ctx_entry e)
{
	struct vtd_ctx_loc at = vtd_ctx_locate(sid);
	struct vtd_ctx_entry *t = ctx_table(u, at.bus);

	if (!t) {
		uint64_t pa = iommu_frame_alloc();
		if (!pa)
			return E_NOMEM;
		struct vtd_root_ret r = vtd_root_encode(pa);
		if (r.err)
			return r.err;
		t = phys_to_virt(pa);
		iommu_flush(t, VTD_PAGE_SIZE);
		u->root[at.bus].hi = r.e.hi;
		__atomic_store_n(&u->root[at.bus].lo, r.e.lo, __ATOMIC_RELEASE);
		iommu_flush(&u->root[at.bus], sizeof(u->root[at.bus]));
	}
	/* The high half first: the entry becomes present, whole, with the low half's P bit. */
	t[at.devfn].hi = e.hi;
	__atomic_store_n(&t[at.devfn].lo, e.lo, __ATOMIC_RELEASE);
	iommu_flush(&t[at.devfn], sizeof(t[at.devfn]));
	return 0;
}

void vtd_unit_ctx_clear(struct vtd_unit *u, uint16_t sid)
{
	struct vtd_ctx_loc at = vtd_ctx_locate(sid);
	struct vtd_ctx_entry *t = ctx_table(u, at.bus);

	if (!t)
		return;
	__atomic_store_n(&t[at.devfn].lo, 0, __ATOMIC_RELEASE);
	t[at.devfn].hi = 0;
	iommu_flush(&t[at.devfn], sizeof(t[at.devfn]));
}

/* ---- the @iommu record ------------------------------------------------------------------- */

static const char *sllps_list(uint8_t sllps)
{
	switch (sllps & (VTD_SLLPS_2M | VTD_SLLPS_1G)) {
	case VTD_SLLPS_2M: return "2M";
	case VTD_SLLPS_1G: return "1G";
	case VTD_SLLPS_2M | VTD_SLLPS_1G: return "2M,1G";
	}
	return "-";
}

void vtd_unit_report(const struct vtd_unit *u)
{
	const struct vtd_caps *c = &u->caps;

	report("iommu unit=%u base=0x%llx cap=0x%llx ecap=0x%llx segment=%u levels=%u qi=%d cm=%d "
	       "ir=%d eim=%d pt=%d c=%d sagaw=0x%x mgaw=%u did_bits=%u sllps=%s nfr=%u "
	       "fro=0x%x iro=0x%x psi=%d mamv=%u include_all=%d te=%d fault_cpu=%d", u->index,
	       (unsigned long long)u->base, (unsigned long long)c->cap,
	       (unsigned long long)c->ecap, u->segment, u->levels, u->qi, c->cm, c->ir, c->eim,
	       c->pt, c->c, c->sagaw, c->mgaw, c->did_bits, sllps_list(c->sllps), c->nfr, c->fro,
	       c->iro, c->psi, c->mamv, u->include_all, u->te, u->f.cpu);
}
