#include "iommu/qi_desc.h"
#include "kernel/lib/error.h"

static struct vtd_qi_ret ok(uint64_t lo, uint64_t hi)
{
	return (struct vtd_qi_ret){ .d = { .lo = lo, .hi = hi } };
}

static const struct vtd_qi_ret invalid = { .err = E_INVAL };

/* ---- context cache --------------------------------------------------------------------- */

static uint64_t cc(unsigned g)
{
	return VTD_QI_TYPE_CC | (uint64_t)g << VTD_QI_CC_G_SHIFT;
}

struct vtd_qi_desc vtd_qi_cc_global(void)
{
	return (struct vtd_qi_desc){ .lo = cc(VTD_CC_GLOBAL) };
}

struct vtd_qi_desc vtd_qi_cc_domain(uint16_t did)
{
	return (struct vtd_qi_desc){ .lo = cc(VTD_CC_DOMAIN) |
					   (uint64_t)did << VTD_QI_CC_DID_SHIFT };
}

struct vtd_qi_ret vtd_qi_cc_device(uint16_t did, uint16_t sid, unsigned fm)
{
	if (fm > VTD_QI_CC_FM_MAX)
		return invalid;
	return ok(cc(VTD_CC_DEVICE) | (uint64_t)did << VTD_QI_CC_DID_SHIFT |
		  (uint64_t)sid << VTD_QI_CC_SID_SHIFT | (uint64_t)fm << VTD_QI_CC_FM_SHIFT, 0);
}

/* ---- IOTLB ----------------------------------------------------------------------------- */

static uint64_t iotlb(unsigned g, uint16_t did, bool dr, bool dw)
{
	return VTD_QI_TYPE_IOTLB | (uint64_t)g << VTD_QI_IOTLB_G_SHIFT |
	       (uint64_t)did << VTD_QI_IOTLB_DID_SHIFT | (dr ? VTD_QI_IOTLB_DR : 0) |
	       (dw ? VTD_QI_IOTLB_DW : 0);
}

struct vtd_qi_desc vtd_qi_iotlb_global(bool dr, bool dw)
{
	return (struct vtd_qi_desc){ .lo = iotlb(VTD_IOTLB_GLOBAL, 0, dr, dw) };
}

struct vtd_qi_desc vtd_qi_iotlb_domain(uint16_t did, bool dr, bool dw)
{
	return (struct vtd_qi_desc){ .lo = iotlb(VTD_IOTLB_DOMAIN, did, dr, dw) };
}

struct vtd_qi_ret vtd_qi_iotlb_page(uint16_t did, uint64_t addr, unsigned am, bool ih,
				    bool dr, bool dw)
{
	unsigned span = am + VTD_PAGE_SHIFT;

	if (am > VTD_QI_IOTLB_AM_MAX || !IS_ALIGNED(addr, VTD_PAGE_SIZE))
		return invalid;
	/* The low AM bits of the page number must be clear (6.5.2.3). */
	if (span < 64 ? !IS_ALIGNED(addr, 1ull << span) : addr != 0)
		return invalid;
	return ok(iotlb(VTD_IOTLB_PAGE, did, dr, dw),
		  addr | am | (ih ? VTD_QI_IOTLB_IH : 0));
}

/* ---- interrupt entry cache ------------------------------------------------------------- */

struct vtd_qi_desc vtd_qi_iec_global(void)
{
	return (struct vtd_qi_desc){ .lo = VTD_QI_TYPE_IEC };
}

struct vtd_qi_ret vtd_qi_iec_index(uint16_t index, unsigned im)
{
	if (im > VTD_QI_IEC_IM_MAX || !IS_ALIGNED((uint64_t)index, 1ull << im))
		return invalid;
	return ok(VTD_QI_TYPE_IEC | VTD_QI_IEC_G | (uint64_t)im << VTD_QI_IEC_IM_SHIFT |
		  (uint64_t)index << VTD_QI_IEC_IIDX_SHIFT, 0);
}

struct vtd_qi_desc vtd_qi_iec_cover(uint16_t first, uint16_t last, unsigned mhmv)
{
	unsigned diff = (unsigned)(first ^ last);
	/* The smallest aligned block holding both: first and last agree above bit im - 1. */
	unsigned im = diff ? 32 - (unsigned)__builtin_clz(diff) : 0;

	if (first > last || im > mhmv)
		return vtd_qi_iec_global();
	return vtd_qi_iec_index((uint16_t)(first & ~((1u << im) - 1)), im).d;
}

/* ---- wait ------------------------------------------------------------------------------ */

#define WAIT_FLAGS (VTD_QI_WAIT_IF | VTD_QI_WAIT_SW | VTD_QI_WAIT_FN | VTD_QI_WAIT_PD)

struct vtd_qi_ret vtd_qi_wait(unsigned flags, uint32_t status_data, uint64_t status_addr)
{
	bool sw = flags & VTD_QI_WAIT_SW;

	if (flags & ~WAIT_FLAGS)
		return invalid;
	/* QEMU 7.2 aborts on a wait descriptor with both SW and IF set. */
	if (sw && (flags & VTD_QI_WAIT_IF))
		return invalid;
	if (sw ? !IS_ALIGNED(status_addr, 4) : status_addr || status_data)
		return invalid;
	return ok(VTD_QI_TYPE_WAIT | flags | (uint64_t)status_data << VTD_QI_WAIT_SDATA_SHIFT,
		  status_addr);
}

/* ---- decode ---------------------------------------------------------------------------- */

static unsigned bits(uint64_t v, uint64_t mask, unsigned shift)
{
	return (v & mask) >> shift;
}

struct vtd_qi_info vtd_qi_decode(struct vtd_qi_desc d)
{
	struct vtd_qi_info i = { .type = d.lo & VTD_QI_TYPE };

	switch (i.type) {
	case VTD_QI_TYPE_CC:
		i.g = bits(d.lo, VTD_QI_CC_G, VTD_QI_CC_G_SHIFT);
		i.did = bits(d.lo, VTD_QI_CC_DID, VTD_QI_CC_DID_SHIFT);
		i.sid = bits(d.lo, VTD_QI_CC_SID, VTD_QI_CC_SID_SHIFT);
		i.fm = bits(d.lo, VTD_QI_CC_FM, VTD_QI_CC_FM_SHIFT);
		break;
	case VTD_QI_TYPE_IOTLB:
		i.g = bits(d.lo, VTD_QI_IOTLB_G, VTD_QI_IOTLB_G_SHIFT);
		i.did = bits(d.lo, VTD_QI_IOTLB_DID, VTD_QI_IOTLB_DID_SHIFT);
		i.dr = d.lo & VTD_QI_IOTLB_DR;
		i.dw = d.lo & VTD_QI_IOTLB_DW;
		i.addr = d.hi & VTD_QI_IOTLB_ADDR;
		i.am = d.hi & VTD_QI_IOTLB_AM;
		i.ih = d.hi & VTD_QI_IOTLB_IH;
		break;
	case VTD_QI_TYPE_IEC:
		i.g = !!(d.lo & VTD_QI_IEC_G);
		i.im = bits(d.lo, VTD_QI_IEC_IM, VTD_QI_IEC_IM_SHIFT);
		i.index = bits(d.lo, VTD_QI_IEC_IIDX, VTD_QI_IEC_IIDX_SHIFT);
		break;
	case VTD_QI_TYPE_WAIT:
		i.flags = d.lo & WAIT_FLAGS;
		i.status_data = d.lo >> VTD_QI_WAIT_SDATA_SHIFT;
		i.addr = d.hi & VTD_QI_WAIT_SADDR;
		break;
	}
	return i;
}

/* ---- range splitting ------------------------------------------------------------------- */

/*
 * The next block of a range of n pages from pfn: the largest that starts at pfn, fits in n
 * and is at most 2^mamv pages. Taking it and going on from its end (greedy from the left)
 * gives the fewest naturally aligned power-of-two blocks. Returns its log2 size, and moves
 * pfn and n past it.
 */
static unsigned next_block(uint64_t *pfn, uint64_t *n, unsigned mamv)
{
	unsigned align = *pfn ? (unsigned)__builtin_ctzll(*pfn) : 63;
	unsigned fit = 63 - (unsigned)__builtin_clzll(*n);
	unsigned k = MIN(MIN(align, fit), mamv);

	*pfn += 1ull << k;
	*n -= 1ull << k;
	return k;
}

/* Blocks needed for n pages from pfn, counting no further than limit + 1. */
static unsigned count_blocks(uint64_t pfn, uint64_t n, unsigned mamv, unsigned limit)
{
	unsigned count = 0;

	for (; n && count <= limit; count++)
		next_block(&pfn, &n, mamv);
	return count;
}

static bool range_ok(uint64_t iova, uint64_t size)
{
	return IS_ALIGNED(iova | size, VTD_PAGE_SIZE) && !(size && iova + size - 1 < iova);
}

struct vtd_inv_plan vtd_iotlb_split(uint64_t iova, uint64_t size, bool psi, unsigned mamv,
				    struct vtd_inv_block *out, unsigned max)
{
	uint64_t pfn = iova >> VTD_PAGE_SHIFT, n = size >> VTD_PAGE_SHIFT;

	if (!range_ok(iova, size))
		return (struct vtd_inv_plan){ .err = E_INVAL };
	mamv = MIN(mamv, (unsigned)VTD_QI_IOTLB_AM_MAX);
	unsigned count = count_blocks(pfn, n, mamv, max);
	if (count && (!psi || count > max))
		return (struct vtd_inv_plan){ .domain = true };
	for (unsigned i = 0; i < count; i++) {
		uint64_t addr = pfn << VTD_PAGE_SHIFT;
		out[i] = (struct vtd_inv_block){ addr, next_block(&pfn, &n, mamv) };
	}
	return (struct vtd_inv_plan){ .n = count };
}

int vtd_qi_iotlb_range(const struct vtd_caps *c, uint16_t did, uint64_t iova, uint64_t size,
		       bool ih, struct vtd_qi_desc *out, unsigned max)
{
	uint64_t pfn = iova >> VTD_PAGE_SHIFT, n = size >> VTD_PAGE_SHIFT;
	unsigned mamv = MIN(c->mamv, (unsigned)VTD_QI_IOTLB_AM_MAX);

	if (!range_ok(iova, size) || !max)
		return E_INVAL;
	unsigned count = count_blocks(pfn, n, mamv, max);
	if (count && (!c->psi || count > max)) {
		out[0] = vtd_qi_iotlb_domain(did, c->drd, c->dwd);
		return 1;
	}
	for (unsigned i = 0; i < count; i++) {
		uint64_t addr = pfn << VTD_PAGE_SHIFT;
		unsigned am = next_block(&pfn, &n, mamv);
		out[i] = vtd_qi_iotlb_page(did, addr, am, ih, c->drd, c->dwd).d;
	}
	return count;
}
