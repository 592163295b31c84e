#include "iommu/irte_alloc.h"
#include "kernel/lib/error.h"

static bool pow2(unsigned n)
{
	return n && !(n & (n - 1));
}

unsigned irte_block_size(unsigned n)
{
	unsigned s = 1;

	while (s < n && s < IRTE_ALLOC_MAX)
		s <<= 1;
	return s;
}

unsigned irte_block_order(unsigned n)
{
	unsigned s = irte_block_size(n), k = 0;

	while ((1u << k) < s)
		k++;
	return k;
}

int irte_alloc_init(struct irte_alloc *a, uint64_t *bits, unsigned size)
{
	if (!pow2(size) || size > IRTE_ALLOC_MAX)
		return E_INVAL;
	a->bits = bits;
	a->size = size;
	a->used = 0;
	for (unsigned w = 0; w < IRTE_ALLOC_WORDS(size); w++)
		bits[w] = 0;
	return 0;
}

bool irte_alloc_in_use(const struct irte_alloc *a, unsigned index)
{
	return index < a->size &&
	       (a->bits[index / IRTE_ALLOC_WORD_BITS] >> (index % IRTE_ALLOC_WORD_BITS) & 1);
}

/* The bits of block [index, index + n) inside its word, for n below a word. */
static uint64_t small_mask(unsigned index, unsigned n)
{
	uint64_t m = n == IRTE_ALLOC_WORD_BITS ? ~0ull : (1ull << n) - 1;
	return m << (index % IRTE_ALLOC_WORD_BITS);
}

/* Are all entries of the aligned block free (want_free) or all in use? */
static bool block_is(const struct irte_alloc *a, unsigned index, unsigned n, bool want_free)
{
	if (n <= IRTE_ALLOC_WORD_BITS) {
		uint64_t m = small_mask(index, n), w = a->bits[index / IRTE_ALLOC_WORD_BITS];
		return want_free ? !(w & m) : (w & m) == m;
	}
	for (unsigned w = index / IRTE_ALLOC_WORD_BITS; w < (index + n) / IRTE_ALLOC_WORD_BITS;
	     w++)
		if (a->bits[w] != (want_free ? 0 : ~0ull))
			return false;
	return true;
}

static void block_set(struct irte_alloc *a, unsigned index, unsigned n, bool in_use)
{
	if (n <= IRTE_ALLOC_WORD_BITS) {
		uint64_t m = small_mask(index, n);
		uint64_t *w = &a->bits[index / IRTE_ALLOC_WORD_BITS];
		*w = in_use ? *w | m : *w & ~m;
		return;
	}
	for (unsigned w = index / IRTE_ALLOC_WORD_BITS; w < (index + n) / IRTE_ALLOC_WORD_BITS;
	     w++)
		a->bits[w] = in_use ? ~0ull : 0;
}

int irte_alloc_block(struct irte_alloc *a, unsigned n)
{
	if (!pow2(n) || n > a->size)
		return E_INVAL;
	if (a->size - a->used < n)
		return E_NOMEM;
	for (unsigned i = 0; i < a->size; i += n) {
		/* Skip whole used words quickly when blocks are small. */
		if (n < IRTE_ALLOC_WORD_BITS && i % IRTE_ALLOC_WORD_BITS == 0 &&
		    a->bits[i / IRTE_ALLOC_WORD_BITS] == ~0ull) {
			i += IRTE_ALLOC_WORD_BITS - n;
			continue;
		}
		if (block_is(a, i, n, true)) {
			block_set(a, i, n, true);
			a->used += n;
			return (int)i;
		}
	}
	return E_NOMEM;
}

int irte_alloc_free(struct irte_alloc *a, unsigned index, unsigned n)
{
	if (!pow2(n) || index % n || index >= a->size || n > a->size - index ||
	    !block_is(a, index, n, false))
		return E_INVAL;
	block_set(a, index, n, false);
	a->used -= n;
	return 0;
}
