/*
 * Interrupt-remapping table entries, remapped format (VT-d spec 9.10). Pure.
 *
 * An IRTE is 128 bits, kept as two 64-bit words in memory order. The low word holds what the
 * interrupt becomes (present, vector, destination, modes); the high word holds who may send it
 * (source-id validation: SVT, SQ, SID). The table has 2^(IRTA.S + 1) entries; a remappable MSI
 * selects entry handle (+ subhandle with SHV), see kernel/arch/msi_msg.h.
 *
 * ---- The update rule --------------------------------------------------------------------
 *
 * Hardware may read an IRTE at any moment, 64 bits at a time as far as software can tell, so a
 * present entry must never be seen half old, half new. vtd_irte_update_plan() gives the 64-bit
 * stores that take an entry from old to new, in order:
 *
 *  - old not present: write the high half, then the low half (which carries P) last;
 *  - both present, only the low half differs (the retarget case: vector, destination): one
 *    64-bit store of the low half, atomic by itself;
 *  - both present, the high half differs (new requester): clear P with one store of the low
 *    half, write the high half, then the new low half. Interrupts arriving in between fault
 *    (reason 22h) and are lost: quiesce or mask the source first if that matters;
 *  - new not present: the low half (P clear) first, then the high half.
 *
 * Each step is one aligned 64-bit volatile store (x86 keeps stores in order; a compiler barrier
 * between steps is enough). When ECAP.C = 0, flush the entry's cache line after each step. A
 * 16-byte cmpxchg16b of the whole entry is an alternative that needs no plan. After the last
 * step, invalidate the interrupt entry cache for the index (iommu/qi_desc.h) and wait for it
 * before relying on the new entry or reusing anything the old one named (its vector): until
 * then hardware may still use a cached copy of the old entry.
 */
#ifndef COURIER_IOMMU_IRTE_H
#define COURIER_IOMMU_IRTE_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

/* 9.10 IRTE low 64 bits, remapped format (IM = 0). */
#define VTD_IRTE_P              BIT(0)          /* present */
#define VTD_IRTE_FPD            BIT(1)          /* fault processing disable */
#define VTD_IRTE_DM             BIT(2)          /* destination mode: 1 logical */
#define VTD_IRTE_RH             BIT(3)          /* redirection hint */
#define VTD_IRTE_TM             BIT(4)          /* trigger mode: 1 level */
#define VTD_IRTE_DLM            GENMASK(7, 5)   /* delivery mode */
#define VTD_IRTE_DLM_SHIFT      5
#define VTD_IRTE_AVAIL          GENMASK(11, 8)  /* software's own */
#define VTD_IRTE_AVAIL_SHIFT    8
#define VTD_IRTE_IM             BIT(15)         /* 0 remapped, 1 posted format */
#define VTD_IRTE_V              GENMASK(23, 16) /* vector */
#define VTD_IRTE_V_SHIFT        16
#define VTD_IRTE_DST            GENMASK(63, 32) /* destination id */
#define VTD_IRTE_DST_SHIFT      32
#define VTD_IRTE_LO_RSVD        (GENMASK(14, 12) | GENMASK(31, 24))
/* xAPIC mode (IRTA.EIME = 0): the 8-bit APIC id sits in DST bits 15:8, the rest reserved. */
#define VTD_IRTE_DST_XAPIC_SHIFT 8
#define VTD_IRTE_DST_XAPIC_RSVD (GENMASK(31, 16) | GENMASK(7, 0))
/* 9.10 IRTE high 64 bits (bits 127:64). */
#define VTD_IRTE_SID            GENMASK(15, 0)  /* source id to verify against */
#define VTD_IRTE_SQ             GENMASK(17, 16) /* source-id qualifier (SVT = 1) */
#define VTD_IRTE_SQ_SHIFT       16
#define VTD_IRTE_SVT            GENMASK(19, 18) /* source validation type */
#define VTD_IRTE_SVT_SHIFT      18
#define VTD_IRTE_HI_RSVD        GENMASK(63, 20)

/* Delivery modes (DLM), as in the APIC's interrupt command. */
#define VTD_DLM_FIXED           0
#define VTD_DLM_LOWEST          1
#define VTD_DLM_SMI             2
#define VTD_DLM_NMI             4
#define VTD_DLM_INIT            5
#define VTD_DLM_EXTINT          7

/* Source validation types. */
#define VTD_SVT_NONE            0       /* no check */
#define VTD_SVT_SID             1       /* requester id = SID, low SQ-selected bits ignored */
#define VTD_SVT_BUS             2       /* requester bus in [SID 15:8, SID 7:0] */

/* SVT = 1 qualifiers: which function-number bits of the requester id to ignore. */
#define VTD_SQ_ALL              0       /* compare all 16 bits */
#define VTD_SQ_IGNORE_2         1       /* ignore bit 2 */
#define VTD_SQ_IGNORE_2_1       2       /* ignore bits 2:1 */
#define VTD_SQ_IGNORE_2_0       3       /* ignore bits 2:0 */

struct vtd_irte {
	uint64_t lo, hi;
};
_Static_assert(sizeof(struct vtd_irte) == 16, "9.10: an IRTE is 128 bits");

/* An IRTE in fields. dst is the APIC id: 8 bits in xAPIC mode, 32 in x2APIC mode (EIME). */
struct vtd_irte_fields {
	bool present, fpd;
	bool dm_logical, rh, level;
	uint8_t dlm;
	uint8_t avail;
	uint8_t vector;
	uint32_t dst;
	uint8_t svt, sq;
	uint16_t sid;
};

struct vtd_irte_ret {
	int err;
	struct vtd_irte e;
};

/*
 * Encode a remapped-format entry; eim says whether IRTA.EIME (x2APIC mode) is set. E_RANGE for
 * an xAPIC destination above 255; E_INVAL for a reserved DLM (3, 6), SVT 3, SQ or avail too
 * wide, or SQ with an SVT other than 1.
 */
struct vtd_irte_ret vtd_irte_encode(const struct vtd_irte_fields *f, bool eim);

/*
 * A retarget (a route's move): only the vector and destination of an entry change, every other
 * field, P and the high half included, stays as encoded — what vtd_irte_encode would give for
 * its fields with that vector and dst. Only the low half changes, so it is one 64-bit store
 * (the update rule above). In two steps, for many entries moving to one CPU: the DST field of
 * dst, checked once (E_RANGE for an xAPIC destination above 255), then each low half with that
 * field and its own vector.
 */
struct vtd_irte_dst_ret {
	int err;
	uint64_t dst;           /* the low half's DST bits */
};
struct vtd_irte_dst_ret vtd_irte_dst(uint32_t dst, bool eim);
static inline uint64_t vtd_irte_lo_retarget(uint64_t lo, uint8_t vector, uint64_t dst_field)
{
	return (lo & ~(VTD_IRTE_V | VTD_IRTE_DST)) | (uint64_t)vector << VTD_IRTE_V_SHIFT | dst_field;
}
/* The same with the vector kept: only the destination changes (a shared vector's move). */
static inline uint64_t vtd_irte_lo_redirect(uint64_t lo, uint64_t dst_field)
{
	return (lo & ~VTD_IRTE_DST) | dst_field;
}

/* Fields of an entry, dst read as eim says. Posted-format entries (IM = 1) are not decoded:
 * check vtd_irte_posted() first. */
struct vtd_irte_fields vtd_irte_decode(struct vtd_irte e, bool eim);
static inline bool vtd_irte_posted(struct vtd_irte e) { return e.lo & VTD_IRTE_IM; }
/* Would a present entry fault for reserved bits (reason 24h) in this mode? */
bool vtd_irte_reserved(struct vtd_irte e, bool eim);

/* The SID of an SVT = 2 entry: requester buses first..last. */
static inline uint16_t vtd_irte_bus_range(uint8_t first, uint8_t last)
{
	return (uint16_t)(first << 8 | last);
}

/* ---- update order (see the rule above) ---- */

enum vtd_irte_half { VTD_IRTE_LO = 0, VTD_IRTE_HI = 1 };

struct vtd_irte_step {
	enum vtd_irte_half half;        /* which 64-bit word to store */
	uint64_t value;
};

struct vtd_irte_plan {
	unsigned n;                     /* 0: nothing changes */
	struct vtd_irte_step step[3];
};

struct vtd_irte_plan vtd_irte_update_plan(struct vtd_irte from, struct vtd_irte to);

#endif
