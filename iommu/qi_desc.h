/*
 * Queued-invalidation descriptors (VT-d spec 6.5.2), 128-bit format (IQA.DW = 0), as two
 * 64-bit words in memory order. Pure: the runtime copies them into the queue.
 *
 * Courier uses four: context-cache (6.5.2.1), IOTLB (6.5.2.3), interrupt entry cache (6.5.2.7)
 * and invalidation wait (6.5.2.8). Builders that cannot fail return the descriptor; the others
 * return { err, desc } with E_INVAL for an argument the hardware would reject or misread.
 */
#ifndef COURIER_IOMMU_QI_DESC_H
#define COURIER_IOMMU_QI_DESC_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"
#include "iommu/caps.h"
#include "iommu/regs.h"

/* Every descriptor: type in bits 3:0 (bits 11:9 hold type[6:4], zero for these). */
#define VTD_QI_TYPE             GENMASK(3, 0)
#define  VTD_QI_TYPE_CC         0x1     /* context-cache invalidate */
#define  VTD_QI_TYPE_IOTLB      0x2
#define  VTD_QI_TYPE_DEV_IOTLB  0x3
#define  VTD_QI_TYPE_IEC        0x4     /* interrupt entry cache invalidate */
#define  VTD_QI_TYPE_WAIT       0x5     /* invalidation wait */
#define VTD_QI_TYPE_HI          GENMASK(11, 9)

/* 6.5.2.1 Context-cache invalidate; granularity values as CCMD.CIRG (VTD_CC_*). */
#define VTD_QI_CC_G             GENMASK(5, 4)
#define VTD_QI_CC_G_SHIFT       4
#define VTD_QI_CC_DID           GENMASK(31, 16)
#define VTD_QI_CC_DID_SHIFT     16
#define VTD_QI_CC_SID           GENMASK(47, 32)
#define VTD_QI_CC_SID_SHIFT     32
#define VTD_QI_CC_FM            GENMASK(49, 48) /* function mask: ignore SID bits 2:0 ... */
#define VTD_QI_CC_FM_SHIFT      48
#define VTD_QI_CC_FM_MAX        3

/* 6.5.2.3 IOTLB invalidate; granularity values as IOTLB_REG.IIRG (VTD_IOTLB_*). */
#define VTD_QI_IOTLB_G          GENMASK(5, 4)
#define VTD_QI_IOTLB_G_SHIFT    4
#define VTD_QI_IOTLB_DW         BIT(6)  /* drain writes (CAP.DWD) */
#define VTD_QI_IOTLB_DR         BIT(7)  /* drain reads (CAP.DRD) */
#define VTD_QI_IOTLB_DID        GENMASK(31, 16)
#define VTD_QI_IOTLB_DID_SHIFT  16
/* high 64 bits */
#define VTD_QI_IOTLB_AM         GENMASK(5, 0)   /* 2^AM pages, address aligned to that */
#define VTD_QI_IOTLB_AM_MAX     63
#define VTD_QI_IOTLB_IH         BIT(6)          /* only leaf entries changed */
#define VTD_QI_IOTLB_ADDR       GENMASK(63, 12)

/* 6.5.2.7 Interrupt entry cache invalidate. */
#define VTD_QI_IEC_G            BIT(4)  /* 0: global, 1: index-selective */
#define VTD_QI_IEC_IM           GENMASK(31, 27) /* index mask: 2^IM entries from IIDX */
#define VTD_QI_IEC_IM_SHIFT     27
#define VTD_QI_IEC_IM_MAX       31
#define VTD_QI_IEC_IIDX         GENMASK(47, 32)
#define VTD_QI_IEC_IIDX_SHIFT   32

/* 6.5.2.8 Invalidation wait. */
#define VTD_QI_WAIT_IF          BIT(4)  /* interrupt (ICS.IWC, IECTL) on completion */
#define VTD_QI_WAIT_SW          BIT(5)  /* write status data to status address */
#define VTD_QI_WAIT_FN          BIT(6)  /* fence: later descriptors wait for this one */
#define VTD_QI_WAIT_PD          BIT(7)  /* page-request drain */
#define VTD_QI_WAIT_SDATA       GENMASK(63, 32)
#define VTD_QI_WAIT_SDATA_SHIFT 32
/* high 64 bits */
#define VTD_QI_WAIT_SADDR       GENMASK(63, 2)  /* dword-aligned status address */

struct vtd_qi_desc {
	uint64_t lo, hi;
};
_Static_assert(sizeof(struct vtd_qi_desc) == 16, "6.5.2: a 128-bit descriptor");

struct vtd_qi_ret {
	int err;
	struct vtd_qi_desc d;
};

struct vtd_qi_desc vtd_qi_cc_global(void);
struct vtd_qi_desc vtd_qi_cc_domain(uint16_t did);
/* One device (or 2^fm functions of it: fm 1..3 ignores SID bits 2, 2:1, 2:0); fm <= 3. */
struct vtd_qi_ret vtd_qi_cc_device(uint16_t did, uint16_t sid, unsigned fm);

/* dr/dw: drain reads/writes, only where CAP.DRD/DWD say the unit has them. */
struct vtd_qi_desc vtd_qi_iotlb_global(bool dr, bool dw);
struct vtd_qi_desc vtd_qi_iotlb_domain(uint16_t did, bool dr, bool dw);
/* 2^am pages from addr, which must be aligned to 2^am pages; am <= 63. ih: only leaf entries
 * changed, paging-structure caches may stay. */
struct vtd_qi_ret vtd_qi_iotlb_page(uint16_t did, uint64_t addr, unsigned am, bool ih,
				    bool dr, bool dw);

struct vtd_qi_desc vtd_qi_iec_global(void);
/* 2^im entries from index, which must be aligned to 2^im; im <= 31 (and ECAP.MHMV). */
struct vtd_qi_ret vtd_qi_iec_index(uint16_t index, unsigned im);
/*
 * One descriptor for entries first..last (first <= last): index-selective over the smallest
 * naturally aligned block that holds them, or global when that block's mask would exceed mhmv
 * (ECAP.MHMV) or the range is empty. Invalidating more entries than changed costs only cache
 * misses; one descriptor instead of one per entry is what a batch saves.
 */
struct vtd_qi_desc vtd_qi_iec_cover(uint16_t first, uint16_t last, unsigned mhmv);

/*
 * Invalidation wait. flags: VTD_QI_WAIT_SW, _IF, _FN, _PD. With SW, hardware writes
 * status_data to status_addr (4-byte aligned) once every earlier descriptor is done. SW with
 * IF is refused: QEMU 7.2 aborts on it. IF/FN/PD-only waits take status_addr = 0.
 */
struct vtd_qi_ret vtd_qi_wait(unsigned flags, uint32_t status_data, uint64_t status_addr);

/* A descriptor in fields (for tests, traces and the invalidation-error path). */
struct vtd_qi_info {
	unsigned type;
	unsigned g;             /* granularity: VTD_CC_* / VTD_IOTLB_*; IEC: 0 global 1 index */
	uint16_t did, sid;
	unsigned fm;
	uint64_t addr;          /* IOTLB page address, or wait status address */
	unsigned am;
	bool ih, dr, dw;
	uint16_t index;
	unsigned im;
	unsigned flags;         /* wait: VTD_QI_WAIT_* */
	uint32_t status_data;
};
struct vtd_qi_info vtd_qi_decode(struct vtd_qi_desc d);

/*
 * Covering an IOVA range with page-selective IOTLB invalidations (6.5.2.3): the fewest
 * naturally aligned power-of-two blocks of pages that cover [iova, iova+size) exactly, each
 * at most 2^mamv pages (CAP.MAMV). When the unit has no PSI, or more than max blocks would be
 * needed, the plan says domain-selective instead.
 */
struct vtd_inv_block {
	uint64_t addr;
	unsigned am;
};

struct vtd_inv_plan {
	int err;                /* E_INVAL: misaligned or wrapping range */
	bool domain;            /* use one domain-selective invalidation instead */
	unsigned n;             /* blocks written to out */
};

struct vtd_inv_plan vtd_iotlb_split(uint64_t iova, uint64_t size, bool psi, unsigned mamv,
				    struct vtd_inv_block *out, unsigned max);

/*
 * The IOTLB descriptors for a changed range of domain did on unit c: the split above (with
 * c->psi and c->mamv) as descriptors in out[0..max), or one domain-selective descriptor; they
 * drain reads and writes where the unit can (CAP.DRD/DWD). Returns how many (0 for an empty
 * range), or E_INVAL for a bad range or max = 0.
 */
int vtd_qi_iotlb_range(const struct vtd_caps *c, uint16_t did, uint64_t iova, uint64_t size,
		       bool ih, struct vtd_qi_desc *out, unsigned max);

#endif
