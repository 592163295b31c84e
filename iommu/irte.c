#include "iommu/irte.h"
#include "kernel/lib/error.h"

#define XAPIC_DST_MAX   0xff
#define AVAIL_MAX       0xf
#define SQ_MAX          3

static bool dlm_valid(uint8_t dlm)
{
	switch (dlm) {
	case VTD_DLM_FIXED:
	case VTD_DLM_LOWEST:
	case VTD_DLM_SMI:
	case VTD_DLM_NMI:
	case VTD_DLM_INIT:
	case VTD_DLM_EXTINT:
		return true;
	}
	return false;
}

static int check(const struct vtd_irte_fields *f, bool eim)
{
	if (!eim && f->dst > XAPIC_DST_MAX)
		return E_RANGE;
	if (!dlm_valid(f->dlm) || f->avail > AVAIL_MAX || f->sq > SQ_MAX)
		return E_INVAL;
	if (f->svt != VTD_SVT_NONE && f->svt != VTD_SVT_SID && f->svt != VTD_SVT_BUS)
		return E_INVAL;
	if (f->sq && f->svt != VTD_SVT_SID)
		return E_INVAL;
	return 0;
}

/* The V and DST fields of the low half: in xAPIC mode the 8-bit APIC id sits in DST 15:8. */
static uint64_t target(uint8_t vector, uint32_t dst, bool eim)
{
	uint32_t d = eim ? dst : dst << VTD_IRTE_DST_XAPIC_SHIFT;
	return (uint64_t)vector << VTD_IRTE_V_SHIFT | (uint64_t)d << VTD_IRTE_DST_SHIFT;
}

struct vtd_irte_ret vtd_irte_encode(const struct vtd_irte_fields *f, bool eim)
{
	int err = check(f, eim);

	if (err)
		return (struct vtd_irte_ret){ .err = err };

	uint64_t lo = (uint64_t)f->dlm << VTD_IRTE_DLM_SHIFT |
		      (uint64_t)f->avail << VTD_IRTE_AVAIL_SHIFT | target(f->vector, f->dst, eim);
	lo |= (f->present ? VTD_IRTE_P : 0) | (f->fpd ? VTD_IRTE_FPD : 0) |
	      (f->dm_logical ? VTD_IRTE_DM : 0) | (f->rh ? VTD_IRTE_RH : 0) |
	      (f->level ? VTD_IRTE_TM : 0);
	uint64_t hi = f->sid | (uint64_t)f->sq << VTD_IRTE_SQ_SHIFT |
		      (uint64_t)f->svt << VTD_IRTE_SVT_SHIFT;
	return (struct vtd_irte_ret){ .e = { .lo = lo, .hi = hi } };
}

struct vtd_irte_dst_ret vtd_irte_dst(uint32_t dst, bool eim)
{
	if (!eim && dst > XAPIC_DST_MAX)
		return (struct vtd_irte_dst_ret){ .err = E_RANGE };
	return (struct vtd_irte_dst_ret){ .dst = target(0, dst, eim) };
}

struct vtd_irte_fields vtd_irte_decode(struct vtd_irte e, bool eim)
{
	uint32_t dst = (e.lo & VTD_IRTE_DST) >> VTD_IRTE_DST_SHIFT;

	return (struct vtd_irte_fields){
		.present = e.lo & VTD_IRTE_P,
		.fpd = e.lo & VTD_IRTE_FPD,
		.dm_logical = e.lo & VTD_IRTE_DM,
		.rh = e.lo & VTD_IRTE_RH,
		.level = e.lo & VTD_IRTE_TM,
		.dlm = (e.lo & VTD_IRTE_DLM) >> VTD_IRTE_DLM_SHIFT,
		.avail = (e.lo & VTD_IRTE_AVAIL) >> VTD_IRTE_AVAIL_SHIFT,
		.vector = (e.lo & VTD_IRTE_V) >> VTD_IRTE_V_SHIFT,
		.dst = eim ? dst : (dst >> VTD_IRTE_DST_XAPIC_SHIFT) & XAPIC_DST_MAX,
		.sid = e.hi & VTD_IRTE_SID,
		.sq = (e.hi & VTD_IRTE_SQ) >> VTD_IRTE_SQ_SHIFT,
		.svt = (e.hi & VTD_IRTE_SVT) >> VTD_IRTE_SVT_SHIFT,
	};
}

bool vtd_irte_reserved(struct vtd_irte e, bool eim)
{
	uint32_t dst = (e.lo & VTD_IRTE_DST) >> VTD_IRTE_DST_SHIFT;
	uint8_t dlm = (e.lo & VTD_IRTE_DLM) >> VTD_IRTE_DLM_SHIFT;
	uint8_t svt = (e.hi & VTD_IRTE_SVT) >> VTD_IRTE_SVT_SHIFT;

	if ((e.lo & VTD_IRTE_LO_RSVD) || (e.hi & VTD_IRTE_HI_RSVD))
		return true;
	if (!eim && (dst & VTD_IRTE_DST_XAPIC_RSVD))
		return true;
	return !dlm_valid(dlm) || svt > VTD_SVT_BUS;
}

static struct vtd_irte_plan add(struct vtd_irte_plan p, enum vtd_irte_half half, uint64_t v)
{
	p.step[p.n++] = (struct vtd_irte_step){ half, v };
	return p;
}

struct vtd_irte_plan vtd_irte_update_plan(struct vtd_irte from, struct vtd_irte to)
{
	struct vtd_irte_plan p = { 0 };
	bool was = from.lo & VTD_IRTE_P, will = to.lo & VTD_IRTE_P;
	bool lo = from.lo != to.lo, hi = from.hi != to.hi;

	if (!was || !will) {
		/* P is in the low half: the low half goes last when it sets P, first when it
		 * clears it, so a present entry never pairs with a stale high half. */
		if (lo && !will)
			p = add(p, VTD_IRTE_LO, to.lo);
		if (hi)
			p = add(p, VTD_IRTE_HI, to.hi);
		if (lo && will)
			p = add(p, VTD_IRTE_LO, to.lo);
		return p;
	}
	if (hi) {
		p = add(p, VTD_IRTE_LO, from.lo & ~VTD_IRTE_P);
		p = add(p, VTD_IRTE_HI, to.hi);
	}
	if (lo || hi)
		p = add(p, VTD_IRTE_LO, to.lo);
	return p;
}
