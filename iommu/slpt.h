/*
 * Second-level page tables of legacy-mode DMA remapping (VT-d spec 9.8, second-level paging
 * entries): what a device's IOVA translates to. Pure, like kernel/mm/paging.c:
 * table memory is reached through callbacks, so the same code serves the hypervisor and tests.
 *
 * A table has 3, 4 or 5 levels (39-, 48- or 57-bit IOVAs, CAP.SAGAW and the context entry's
 * AW). There is no present bit: an entry is present when R or W is set. Intermediate entries
 * get R|W so the leaf alone decides the access (permissions combine across levels).
 *
 * When page walks are not coherent (ECAP.C = 0) hardware reads the tables from memory, past
 * the CPU caches: give ops->flush, and the builder calls it for every run of entries it
 * changed and for every new table, before the change matters. Tables are never freed: unmap
 * only clears leaves, so paging-structure caches never point at reused memory.
 *
 * After slpt_unmap() (and after slpt_map() too when CAP.CM = 1) the caller must invalidate the
 * IOTLB for the range reported, e.g. with vtd_qi_iotlb_range() in iommu/qi_desc.h. Unmap
 * clears leaves only, so its invalidations may set IH; a map's may not (it may add tables).
 */
#ifndef COURIER_IOMMU_SLPT_H
#define COURIER_IOMMU_SLPT_H

#include <stddef.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

/* 9.8 Second-level paging entry fields used in legacy mode. */
#define SLPT_R                  BIT(0)          /* read */
#define SLPT_W                  BIT(1)          /* write */
#define SLPT_PS                 BIT(7)          /* page size: 1 GiB (PDPE) or 2 MiB (PDE) leaf */
#define SLPT_SNP                BIT(11)         /* snoop; reserved unless ECAP.SC */
#define SLPT_ADDR               GENMASK(51, 12)
#define SLPT_TM                 BIT(62)         /* transient mapping; reserved unless ECAP.DT */
/* What a caller may ask for in a mapping. */
#define SLPT_PROT_MASK          (SLPT_R | SLPT_W | SLPT_SNP)

/* Superpage sizes, the bits of CAP.SLLPS. */
#define SLPT_SP_2M              BIT(0)
#define SLPT_SP_1G              BIT(1)

#define SLPT_ENTRIES            512
#define SLPT_MIN_LEVELS         3
#define SLPT_MAX_LEVELS         5

struct slpt_ops {
	/* A zeroed 4 KiB frame for a table, or 0 when out of memory. */
	uint64_t (*alloc_table)(void *ctx);
	void *(*phys_to_virt)(void *ctx, uint64_t pa);
	/* Optional (NULL when ECAP.C = 1): write [va, va+len) back to memory. */
	void (*flush)(void *ctx, void *va, size_t len);
	void *ctx;
};

struct slpt {
	uint64_t root_pa;       /* SLPTPTR of the context entry */
	unsigned levels;
	uint8_t sllps;          /* superpages the unit supports: SLPT_SP_* (CAP.SLLPS) */
	const struct slpt_ops *ops;
};

/* Allocate an empty table of `levels` levels. E_INVAL for levels outside 3..5, E_NOMEM. */
int slpt_init(struct slpt *pt, const struct slpt_ops *ops, unsigned levels,
	      uint8_t sllps) __must_check;

/* The first IOVA past what the table translates: 2^39, 2^48 or 2^57. */
static inline uint64_t slpt_limit(const struct slpt *pt)
{
	return 1ull << (12 + 9 * pt->levels);
}

/*
 * Map [iova, iova+size) to [pa, pa+size) with prot (SLPT_R and/or SLPT_W, SLPT_SNP only when
 * ECAP.SC). Uses 2 MiB / 1 GiB pages where allow_sp & pt->sllps permits and alignment allows.
 * E_INVAL: misaligned, empty prot or bits outside SLPT_PROT_MASK. E_RANGE: iova past the
 * table's width or pa past 52 bits. E_EXIST: a page in the range is mapped. E_NOMEM: out of
 * tables. A failed map leaves every mapping as it was.
 */
int slpt_map(struct slpt *pt, uint64_t iova, uint64_t pa, uint64_t size, uint64_t prot,
	     uint8_t allow_sp) __must_check;

/* What an unmap changed: [start, end) spans every leaf it cleared (start == end: none). */
struct slpt_change {
	int err;
	uint64_t start, end;
	uint64_t bytes;         /* bytes that were mapped and no longer are */
	unsigned leaves;        /* leaf entries cleared */
};

/*
 * Unmap whatever is mapped in [iova, iova+size); holes are skipped. A superpage must lie
 * wholly inside the range (E_INVAL, nothing changed, otherwise). E_INVAL: misaligned;
 * E_RANGE: past the table's width.
 */
struct slpt_change slpt_unmap(struct slpt *pt, uint64_t iova, uint64_t size);

struct slpt_walk {
	int err;                /* 0, E_NOENT when not mapped, E_RANGE past the width */
	uint64_t pa;
	uint64_t prot;          /* SLPT_R / SLPT_W / SLPT_SNP of the leaf */
	uint64_t page_size;
};
struct slpt_walk slpt_lookup(const struct slpt *pt, uint64_t iova);
/* Give back (free_table) every table of pt, the root too; only once no hardware can walk it
 * (every context entry naming it cleared, the domain's IOTLB and paging-structure caches
 * invalidated). Returns how many tables were given back. */
unsigned slpt_free_tables(struct slpt *pt, void (*free_table)(void *ctx, uint64_t pa));

#endif
