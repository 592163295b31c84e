/*
 * Building and walking 4-level page tables. Pure: page-table memory is reached through the
 * callbacks, so the same code builds the hypervisor's tables, guests' tables and host tests'.
 */
#ifndef COURIER_KERNEL_MM_PAGING_H
#define COURIER_KERNEL_MM_PAGING_H

#include <stddef.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

struct pt_ops {
	/* A zeroed 4 KiB frame for a table, or 0 when out of memory. */
	uint64_t (*alloc_table)(void *ctx);
	void *(*phys_to_virt)(void *ctx, uint64_t pa);
	void *ctx;
};

struct pt {
	uint64_t root_pa;       /* the PML4 */
	const struct pt_ops *ops;
};

/*
 * Map [va, va+size) to [pa, pa+size) with the leaf flags (PTE_*), using 1 GiB or 2 MiB pages
 * where `large` allows it and alignment permits (large: 0 = 4 KiB only, 1 = up to 2 MiB,
 * 2 = up to 1 GiB). Intermediate entries get P|W (and U when the leaf has U): the leaf decides.
 * Fails with E_EXIST if any page in the range is mapped already, E_INVAL for misalignment or
 * non-canonical addresses, E_NOMEM when a table cannot be allocated.
 */
int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, uint64_t flags,
	   unsigned large) __must_check;
/* Remove 4 KiB mappings of [va, va+size); large pages in the range are an error (E_INVAL). */
int pt_unmap(struct pt *pt, uint64_t va, uint64_t size) __must_check;

struct pt_walk {
	int err;                /* 0, or E_NOENT when va is not mapped */
	uint64_t pa;            /* physical address va translates to */
	uint64_t flags;         /* leaf flags */
	uint64_t page_size;
};
struct pt_walk pt_lookup(const struct pt *pt, uint64_t va);
/* Give back (free_table) every table below the root's entries [first, last) and clear those
 * entries; the pages they map and the root stay. Returns how many tables were given back. */
unsigned pt_free_tables(struct pt *pt, unsigned first, unsigned last,
			void (*free_table)(void *ctx, uint64_t pa));

static inline int va_canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

#endif
