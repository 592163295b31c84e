/*
 * Legacy-mode root and context entries (VT-d spec 9.1 and 9.3), RTADDR.TTM = legacy.
 *
 * The root table is one 4 KiB page of 256 root entries, one per bus; a present root entry
 * points to that bus's context table, one 4 KiB page of 256 context entries, one per devfn. A
 * context entry gives the device's domain id, translation type and second-level table.
 * Both entries are 128 bits, kept as two 64-bit words in memory order (lo at the lower
 * address). Pure.
 */
#ifndef COURIER_IOMMU_CONTEXT_H
#define COURIER_IOMMU_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

/* 9.1 Root entry. The high 64 bits are reserved in legacy mode. */
#define VTD_ROOT_P              BIT(0)
#define VTD_ROOT_CTP            GENMASK(63, 12) /* context-table pointer */
#define VTD_ROOT_LO_RSVD        GENMASK(11, 1)

/* 9.3 Context entry, low 64 bits. */
#define VTD_CTX_P               BIT(0)
#define VTD_CTX_FPD             BIT(1)          /* fault processing disable */
#define VTD_CTX_TT              GENMASK(3, 2)   /* translation type */
#define VTD_CTX_TT_SHIFT        2
#define VTD_CTX_LO_RSVD         GENMASK(11, 4)
#define VTD_CTX_SLPTPTR         GENMASK(63, 12) /* second-level page-table pointer */
/* 9.3 Context entry, high 64 bits (bits 127:64 of the entry). */
#define VTD_CTX_AW              GENMASK(2, 0)   /* address width: levels - 2 */
#define VTD_CTX_AVAIL           GENMASK(6, 3)   /* ignored by hardware, software's own */
#define VTD_CTX_AVAIL_SHIFT     3
#define VTD_CTX_HI_RSVD         (BIT(7) | GENMASK(63, 24))
#define VTD_CTX_DID             GENMASK(23, 8)  /* domain id */
#define VTD_CTX_DID_SHIFT       8

/* Physical addresses above bit 51 are reserved in every VT-d pointer. */
#define VTD_MAX_PA_BITS         52

enum vtd_tt {
	VTD_TT_UNTRANSLATED = 0,        /* untranslated requests only, through SLPTPTR */
	VTD_TT_ALL = 1,                 /* also ATS translation requests (needs ECAP.DT) */
	VTD_TT_PASSTHROUGH = 2,         /* untranslated requests pass untranslated (ECAP.PT) */
};

#define VTD_AW_39               1       /* 3-level table */
#define VTD_AW_48               2       /* 4-level table */
#define VTD_AW_57               3       /* 5-level table */

struct vtd_root_entry {
	uint64_t lo, hi;
};
_Static_assert(sizeof(struct vtd_root_entry) == 16, "9.1: a root entry is 128 bits");

struct vtd_ctx_entry {
	uint64_t lo, hi;
};
_Static_assert(sizeof(struct vtd_ctx_entry) == 16, "9.3: a context entry is 128 bits");

#define VTD_ROOT_ENTRIES        256     /* one per bus */
#define VTD_CTX_ENTRIES         256     /* one per devfn */

/* A context entry in fields. */
struct vtd_ctx {
	bool present;
	bool fpd;
	enum vtd_tt tt;
	uint64_t slptptr;               /* 4 KiB-aligned physical address of the table */
	unsigned levels;                /* 3, 4 or 5; AW = levels - 2 */
	uint16_t did;
	uint8_t avail;                  /* 4 software bits */
};

struct vtd_root_ret {
	int err;
	struct vtd_root_entry e;
};

struct vtd_ctx_ret {
	int err;
	struct vtd_ctx_entry e;
};

/* A present root entry pointing to the context table at ctp; E_INVAL if ctp is misaligned or
 * past 52 bits. */
struct vtd_root_ret vtd_root_encode(uint64_t ctp);
static inline bool vtd_root_present(struct vtd_root_entry e) { return e.lo & VTD_ROOT_P; }
static inline uint64_t vtd_root_ctp(struct vtd_root_entry e) { return e.lo & VTD_ROOT_CTP; }
/* Does a present entry have reserved bits set (fault reason 0xA)? */
bool vtd_root_reserved(struct vtd_root_entry e);

/*
 * Encode a context entry. E_INVAL for a reserved TT, levels outside 3..5, a misaligned or too
 * high SLPTPTR, avail past 4 bits; E_RANGE for a domain id of did_bits or more bits (the width
 * CAP.ND reports). Pass-through entries still carry AW (hardware checks it) and ignore SLPTPTR.
 */
struct vtd_ctx_ret vtd_ctx_encode(const struct vtd_ctx *c, unsigned did_bits);

/* Fields of an entry; levels is 0 when AW is not a 3/4/5-level encoding. */
struct vtd_ctx vtd_ctx_decode(struct vtd_ctx_entry e);
/* Does the entry have reserved bits set (fault reason 0xB when present)? */
bool vtd_ctx_reserved(struct vtd_ctx_entry e);

/* Where a requester's entries live: root entry `bus` (byte offset bus * 16 in the root
 * table), context entry `devfn` of that bus's context table. */
struct vtd_ctx_loc {
	uint8_t bus;
	uint8_t devfn;
};

static inline struct vtd_ctx_loc vtd_ctx_locate(uint16_t sid)
{
	return (struct vtd_ctx_loc){ .bus = sid >> 8, .devfn = sid & 0xff };
}

#endif
