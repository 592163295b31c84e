/*
 * Allocating interrupt-remapping table entries of one unit. Pure: a bitmap over the table,
 * which the caller provides, so host tests run it as it is.
 *
 * Allocations are naturally aligned blocks of a power of two entries: one entry for an MSI-X
 * message or an I/O APIC pin, 2^k for a multi-message MSI function, whose device writes the
 * message number into the low k bits of the data, so message m selects handle + m (VT-d spec
 * 5.1.5.2, SHV) and the block must hold every number the device may send. Natural alignment
 * also lets one index-selective interrupt-entry-cache invalidation with index mask k cover the
 * whole block (6.5.2.7: 2^IM entries from an index aligned to 2^IM).
 */
#ifndef COURIER_IOMMU_IRTE_ALLOC_H
#define COURIER_IOMMU_IRTE_ALLOC_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

#define IRTE_ALLOC_MAX          65536u  /* IRTA.S = 15: 2^16 entries (11.4 IRTA_REG) */
#define IRTE_ALLOC_WORD_BITS    64u
#define IRTE_ALLOC_WORDS(n)     (((n) + IRTE_ALLOC_WORD_BITS - 1) / IRTE_ALLOC_WORD_BITS)

struct irte_alloc {
	uint64_t *bits;         /* IRTE_ALLOC_WORDS(size) words; bit set: entry in use */
	unsigned size;          /* entries: a power of two, 1..IRTE_ALLOC_MAX */
	unsigned used;
};

/* Every entry free. E_INVAL unless size is a power of two up to IRTE_ALLOC_MAX. */
int irte_alloc_init(struct irte_alloc *a, uint64_t *bits, unsigned size) __must_check;

/* The first index of a free block of n entries aligned to n (n a power of two); E_INVAL for
 * any other n, E_NOMEM when no such block is free. */
int irte_alloc_block(struct irte_alloc *a, unsigned n) __must_check;

/* Free a block irte_alloc_block gave: E_INVAL (nothing changes) when index is not aligned
 * to n, runs past the table, or some entry of it is not in use. */
int irte_alloc_free(struct irte_alloc *a, unsigned index, unsigned n) __must_check;

bool irte_alloc_in_use(const struct irte_alloc *a, unsigned index);

/* The power of two that holds n (1 for 0), and its log2: the block size and IEC index mask
 * for n messages. */
unsigned irte_block_size(unsigned n);
unsigned irte_block_order(unsigned n);

#endif
