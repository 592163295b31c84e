/*
 * The IRTE block allocator (iommu/irte_alloc.c): naturally aligned power-of-two blocks,
 * singles packed around them, exhaustion, free and its refusals, and a random run checked
 * against a shadow table.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "iommu/irte_alloc.h"
#include "kernel/lib/error.h"

static uint64_t bits[IRTE_ALLOC_WORDS(IRTE_ALLOC_MAX)];

static void init_sizes(void **state)
{
	struct irte_alloc a;

	assert_int_equal(irte_alloc_init(&a, bits, 256), 0);
	assert_int_equal(irte_alloc_init(&a, bits, 1), 0);
	assert_int_equal(irte_alloc_init(&a, bits, IRTE_ALLOC_MAX), 0);
	assert_int_equal(irte_alloc_init(&a, bits, 0), E_INVAL);
	assert_int_equal(irte_alloc_init(&a, bits, 384), E_INVAL);
	assert_int_equal(irte_alloc_init(&a, bits, 2 * IRTE_ALLOC_MAX), E_INVAL);
}

static void aligned_blocks(void **state)
{
	struct irte_alloc a;

	assert_int_equal(irte_alloc_init(&a, bits, 256), 0);
	assert_int_equal(irte_alloc_block(&a, 1), 0);
	/* A block of 16 skips past the single at 0 to the next multiple of 16. */
	assert_int_equal(irte_alloc_block(&a, 16), 16);
	assert_int_equal(irte_alloc_block(&a, 1), 1);
	assert_int_equal(irte_alloc_block(&a, 2), 2);
	assert_int_equal(irte_alloc_block(&a, 4), 4);
	assert_int_equal(irte_alloc_block(&a, 32), 32);
	assert_int_equal(irte_alloc_block(&a, 128), 128);
	assert_int_equal(irte_alloc_block(&a, 64), 64);
	/* Only 8..15 is left: the lowest aligned holes for 1, 2 and 4 (9 stays free), then no
	 * aligned 8 or more. */
	assert_int_equal(irte_alloc_block(&a, 1), 8);
	assert_int_equal(irte_alloc_block(&a, 2), 10);
	assert_int_equal(irte_alloc_block(&a, 4), 12);
	for (int n = 8; n <= 128; n <<= 1)
		assert_int_equal(irte_alloc_block(&a, (unsigned)n), E_NOMEM);
	assert_true(irte_alloc_in_use(&a, 8) && irte_alloc_in_use(&a, 13));
	assert_false(irte_alloc_in_use(&a, 9));
	assert_true(irte_alloc_in_use(&a, 16) && irte_alloc_in_use(&a, 31));
	assert_false(irte_alloc_in_use(&a, 256));
	/* Not powers of two, or larger than the table. */
	assert_int_equal(irte_alloc_block(&a, 3), E_INVAL);
	assert_int_equal(irte_alloc_block(&a, 0), E_INVAL);
	assert_int_equal(irte_alloc_block(&a, 512), E_INVAL);
}

static void large_blocks(void **state)
{
	struct irte_alloc a;

	assert_int_equal(irte_alloc_init(&a, bits, 1024), 0);
	assert_int_equal(irte_alloc_block(&a, 1), 0);
	assert_int_equal(irte_alloc_block(&a, 256), 256);
	assert_int_equal(irte_alloc_block(&a, 512), 512);
	assert_int_equal(irte_alloc_block(&a, 256), E_NOMEM);
	assert_int_equal(irte_alloc_block(&a, 128), 128);
	assert_int_equal(irte_alloc_free(&a, 256, 256), 0);
	assert_int_equal(irte_alloc_block(&a, 256), 256);
	assert_int_equal(a.used, 1 + 256 + 512 + 128);
}

static void exhaustion_and_free(void **state)
{
	struct irte_alloc a;

	assert_int_equal(irte_alloc_init(&a, bits, 64), 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(irte_alloc_block(&a, 1), i);
	assert_int_equal(irte_alloc_block(&a, 1), E_NOMEM);
	/* Freeing 8..15 one by one makes room for one block of 8, at 8. */
	for (unsigned i = 8; i < 16; i++)
		assert_int_equal(irte_alloc_free(&a, i, 1), 0);
	assert_int_equal(irte_alloc_block(&a, 16), E_NOMEM);
	assert_int_equal(irte_alloc_block(&a, 8), 8);
	assert_int_equal(a.used, 64);
}

static void free_refusals(void **state)
{
	struct irte_alloc a;

	assert_int_equal(irte_alloc_init(&a, bits, 256), 0);
	assert_int_equal(irte_alloc_block(&a, 8), 0);
	assert_int_equal(irte_alloc_free(&a, 4, 8), E_INVAL);     /* misaligned */
	assert_int_equal(irte_alloc_free(&a, 0, 16), E_INVAL);    /* partly free */
	assert_int_equal(irte_alloc_free(&a, 8, 1), E_INVAL);     /* not in use */
	assert_int_equal(irte_alloc_free(&a, 256, 1), E_INVAL);   /* past the end */
	assert_int_equal(irte_alloc_free(&a, 0, 3), E_INVAL);
	assert_true(irte_alloc_in_use(&a, 7));
	assert_int_equal(irte_alloc_free(&a, 0, 8), 0);
	assert_int_equal(irte_alloc_free(&a, 0, 8), E_INVAL);     /* twice */
	assert_int_equal(a.used, 0);
}

static void block_sizes(void **state)
{
	assert_int_equal(irte_block_size(0), 1);
	assert_int_equal(irte_block_size(1), 1);
	assert_int_equal(irte_block_size(5), 8);
	assert_int_equal(irte_block_size(16), 16);
	assert_int_equal(irte_block_size(17), 32);
	assert_int_equal(irte_block_order(1), 0);
	assert_int_equal(irte_block_order(5), 3);
	assert_int_equal(irte_block_order(32), 5);
}

/* Random allocations and frees against a shadow: blocks aligned, never overlapping, and an
 * allocation fails only when no aligned free block exists. */
static void random_run(void **state)
{
	enum { SIZE = 512, OPS = 20000, MAXB = 64 };
	static int owner[SIZE];
	struct { int index; unsigned n; } live[SIZE];
	unsigned nlive = 0;
	struct irte_alloc a;

	srand(7);
	assert_int_equal(irte_alloc_init(&a, bits, SIZE), 0);
	for (unsigned i = 0; i < SIZE; i++)
		owner[i] = -1;
	for (int op = 0; op < OPS; op++) {
		if (nlive && rand() % 2) {
			unsigned k = (unsigned)rand() % nlive;
			for (unsigned i = 0; i < live[k].n; i++)
				owner[live[k].index + i] = -1;
			unsigned at = (unsigned)live[k].index;
			assert_int_equal(irte_alloc_free(&a, at, live[k].n), 0);
			live[k] = live[--nlive];
			continue;
		}
		unsigned n = 1u << (rand() % 7);
		int i = irte_alloc_block(&a, n);
		if (i < 0) {
			assert_int_equal(i, E_NOMEM);
			for (unsigned b = 0; b < SIZE; b += n) {
				bool free = true;
				for (unsigned j = 0; j < n; j++)
					free &= owner[b + j] < 0;
				assert_false(free);
			}
			continue;
		}
		assert_int_equal(i % (int)n, 0);
		for (unsigned j = 0; j < n; j++) {
			assert_int_equal(owner[i + j], -1);
			owner[i + j] = op;
			assert_true(irte_alloc_in_use(&a, (unsigned)i + j));
		}
		live[nlive].index = i;
		live[nlive++].n = n;
		assert_true(n <= MAXB);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_sizes),
		cmocka_unit_test(aligned_blocks),
		cmocka_unit_test(large_blocks),
		cmocka_unit_test(exhaustion_and_free),
		cmocka_unit_test(free_refusals),
		cmocka_unit_test(block_sizes),
		cmocka_unit_test(random_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
