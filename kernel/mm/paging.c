#include <stdbool.h>
#include "kernel/mm/paging.h"
#include "kernel/lib/error.h"
#include "kernel/arch/pte.h"

#define PAGE_4K  0x1000ull

static uint64_t *table(const struct pt *pt, uint64_t pa)
{
	return pt->ops->phys_to_virt(pt->ops->ctx, pa);
}

/* The table the entry points to, allocating it if absent; NULL on failure. */
static uint64_t *next_table(struct pt *pt, uint64_t *entry, uint64_t leaf_flags, int *err)
{
	if (pte_present(*entry)) {
		if (*entry & PTE_PS) {
			*err = E_EXIST;
			return 0;
		}
		/* A user leaf below needs U on every level above it. */
		*entry |= leaf_flags & PTE_U;
		return table(pt, pte_addr(*entry));
	}
	uint64_t pa = pt->ops->alloc_table(pt->ops->ctx);
	if (!pa) {
		*err = E_NOMEM;
		return 0;
	}
	*entry = pte_make(pa, PTE_P | PTE_W | (leaf_flags & PTE_U));
	return table(pt, pa);
}

static unsigned leaf_level(uint64_t va, uint64_t pa, uint64_t left, unsigned large)
{
	for (unsigned level = large; level > 0; level--) {
		uint64_t sz = 1ull << PT_SHIFT(level);
		if (IS_ALIGNED(va, sz) && IS_ALIGNED(pa, sz) && left >= sz)
			return level;
	}
	return 0;
}

/* Is any page of [va, end) mapped? Skips whole absent subtrees, so large ranges are cheap. */
static bool any_mapped(const struct pt *pt, uint64_t va, uint64_t end)
{
	while (va < end) {
		const uint64_t *t = table(pt, pt->root_pa);
		uint64_t step = PAGE_4K;
		for (int l = PT_LEVELS - 1; l >= 0; l--) {
			uint64_t e = t[PT_INDEX(va, l)];
			if (!pte_present(e)) {
				step = 1ull << PT_SHIFT(l);
				break;
			}
			if (l == 0 || (e & PTE_PS))
				return true;
			t = table(pt, pte_addr(e));
		}
		uint64_t next = ALIGN_DOWN(va, step) + step;
		if (next <= va)         /* wrapped past the top of the address space */
			break;
		va = next;
	}
	return false;
}

int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, uint64_t flags,
	   unsigned large)
{
	if (!IS_ALIGNED(va | pa | size, PAGE_4K) || large > 2)
		return E_INVAL;
	if (!size)
		return 0;
	if (!va_canonical(va) || !va_canonical(va + size - 1) || va + size - 1 < va)
		return E_INVAL;
	/* Check first, so a failed map changes nothing that was mapped before. */
	if (any_mapped(pt, va, va + size))
		return E_EXIST;

	while (size) {
		unsigned level = leaf_level(va, pa, size, large);
		uint64_t *t = table(pt, pt->root_pa);
		int err = 0;

		for (unsigned l = PT_LEVELS - 1; l > level; l--) {
			t = next_table(pt, &t[PT_INDEX(va, l)], flags, &err);
			if (!t)
				return err;
		}
		t[PT_INDEX(va, level)] = pte_make(pa, flags | PTE_P | (level ? PTE_PS : 0));
		uint64_t sz = 1ull << PT_SHIFT(level);
		va += sz;
		pa += sz;
		size -= sz;
	}
	return 0;
}

int pt_unmap(struct pt *pt, uint64_t va, uint64_t size)
{
	if (!IS_ALIGNED(va | size, PAGE_4K))
		return E_INVAL;
	for (; size; va += PAGE_4K, size -= PAGE_4K) {
		uint64_t *t = table(pt, pt->root_pa);
		for (unsigned l = PT_LEVELS - 1; l > 0; l--) {
			uint64_t e = t[PT_INDEX(va, l)];
			if (!pte_present(e))
				goto next;
			if (e & PTE_PS)
				return E_INVAL;
			t = table(pt, pte_addr(e));
		}
		t[PT_INDEX(va, 0)] = 0;
next:;
	}
	return 0;
}

struct pt_walk pt_lookup(const struct pt *pt, uint64_t va)
{
	const uint64_t *t = table(pt, pt->root_pa);

	if (!va_canonical(va))
		return (struct pt_walk){ .err = E_NOENT };
	for (int l = PT_LEVELS - 1; l >= 0; l--) {
		uint64_t e = t[PT_INDEX(va, l)];
		if (!pte_present(e))
			return (struct pt_walk){ .err = E_NOENT };
		if (l == 0 || (e & PTE_PS)) {
			uint64_t sz = 1ull << PT_SHIFT(l);
			return (struct pt_walk){
				.pa = pte_addr(e) + (va & (sz - 1)),
				.flags = pte_flags(e) & ~PTE_PS,
				.page_size = sz,
			};
		}
		t = table(pt, pte_addr(e));
	}
	return (struct pt_walk){ .err = E_NOENT };
}

/* The tables below entry e of a level-`level` table (level 0: a page table), deepest first. */
static unsigned free_below(struct pt *pt, uint64_t e, int level, void (*free_table)(void *, uint64_t))
{
	if (!pte_present(e) || (e & PTE_PS) || level == 0)
		return 0;
	uint64_t pa = pte_addr(e);
	const uint64_t *t = table(pt, pa);
	unsigned n = 1;
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		n += free_below(pt, t[i], level - 1, free_table);
	free_table(pt->ops->ctx, pa);
	return n;
}

unsigned pt_free_tables(struct pt *pt, unsigned first, unsigned last,
			void (*free_table)(void *ctx, uint64_t pa))
{
	uint64_t *root = table(pt, pt->root_pa);
	unsigned n = 0;

	for (unsigned i = first; i < last && i < PT_ENTRIES; i++) {
		n += free_below(pt, root[i], PT_LEVELS - 1, free_table);
		root[i] = 0;
	}
	return n;
}
