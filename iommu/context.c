#include "iommu/context.h"
#include "iommu/regs.h"
#include "kernel/lib/error.h"

#define VTD_CTX_AVAIL_MAX       0xf
#define MIN_LEVELS              3
#define MAX_LEVELS              5
/* AW encodes the level count: 1 = 3 levels (39 bits) ... 3 = 5 levels (57 bits). */
#define AW_LEVELS_BIAS          2

static bool table_pa_ok(uint64_t pa)
{
	return IS_ALIGNED(pa, VTD_PAGE_SIZE) && pa < BIT(VTD_MAX_PA_BITS);
}

struct vtd_root_ret vtd_root_encode(uint64_t ctp)
{
	if (!table_pa_ok(ctp))
		return (struct vtd_root_ret){ .err = E_INVAL };
	return (struct vtd_root_ret){ .e = { .lo = ctp | VTD_ROOT_P, .hi = 0 } };
}

bool vtd_root_reserved(struct vtd_root_entry e)
{
	return (e.lo & VTD_ROOT_LO_RSVD) || (e.lo & ~GENMASK(VTD_MAX_PA_BITS - 1, 0)) || e.hi;
}

struct vtd_ctx_ret vtd_ctx_encode(const struct vtd_ctx *c, unsigned did_bits)
{
	if (c->tt != VTD_TT_UNTRANSLATED && c->tt != VTD_TT_ALL && c->tt != VTD_TT_PASSTHROUGH)
		return (struct vtd_ctx_ret){ .err = E_INVAL };
	if (c->levels < MIN_LEVELS || c->levels > MAX_LEVELS || c->avail > VTD_CTX_AVAIL_MAX)
		return (struct vtd_ctx_ret){ .err = E_INVAL };
	if (!table_pa_ok(c->slptptr))
		return (struct vtd_ctx_ret){ .err = E_INVAL };
	if (did_bits < 16 && c->did >> did_bits)
		return (struct vtd_ctx_ret){ .err = E_RANGE };

	uint64_t lo = c->slptptr | (uint64_t)c->tt << VTD_CTX_TT_SHIFT;
	uint64_t hi = (uint64_t)(c->levels - AW_LEVELS_BIAS) |
		      (uint64_t)c->avail << VTD_CTX_AVAIL_SHIFT |
		      (uint64_t)c->did << VTD_CTX_DID_SHIFT;
	if (c->present)
		lo |= VTD_CTX_P;
	if (c->fpd)
		lo |= VTD_CTX_FPD;
	return (struct vtd_ctx_ret){ .e = { .lo = lo, .hi = hi } };
}

struct vtd_ctx vtd_ctx_decode(struct vtd_ctx_entry e)
{
	unsigned aw = e.hi & VTD_CTX_AW;
	unsigned levels = aw + AW_LEVELS_BIAS;

	return (struct vtd_ctx){
		.present = e.lo & VTD_CTX_P,
		.fpd = e.lo & VTD_CTX_FPD,
		.tt = (enum vtd_tt)((e.lo & VTD_CTX_TT) >> VTD_CTX_TT_SHIFT),
		.slptptr = e.lo & VTD_CTX_SLPTPTR,
		.levels = levels >= MIN_LEVELS && levels <= MAX_LEVELS ? levels : 0,
		.did = (e.hi & VTD_CTX_DID) >> VTD_CTX_DID_SHIFT,
		.avail = (e.hi & VTD_CTX_AVAIL) >> VTD_CTX_AVAIL_SHIFT,
	};
}

bool vtd_ctx_reserved(struct vtd_ctx_entry e)
{
	return (e.lo & VTD_CTX_LO_RSVD) || (e.lo & ~GENMASK(VTD_MAX_PA_BITS - 1, 0)) ||
	       (e.hi & VTD_CTX_HI_RSVD);
}
