/* The per-CPU vector allocator (kernel/cpu/vector_alloc.c): only the dynamic range, spread over
 * the priority classes, exhaustion, free and its refusals. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "kernel/lib/error.h"
#include "kernel/cpu/vector_alloc.h"
#include "kernel/cpu/vectors.h"

#define DYNAMIC (VEC_DYNAMIC_LAST - VEC_DYNAMIC_FIRST + 1)

static void spread_over_classes(void **state)
{
	struct vector_map m;

	vector_map_init(&m);
	assert_int_equal(m.free, DYNAMIC);
	/* The first vector of each class, lowest class first, then the second of each. */
	for (unsigned c = VEC_DYNAMIC_FIRST; c <= VEC_DYNAMIC_LAST; c += 16)
		assert_int_equal(vector_map_alloc(&m), (int)c);
	assert_int_equal(vector_map_alloc(&m), VEC_DYNAMIC_FIRST + 1);
}

static void only_dynamic_range(void **state)
{
	struct vector_map m;
	bool seen[256] = { false };

	vector_map_init(&m);
	for (unsigned i = 0; i < DYNAMIC; i++) {
		int v = vector_map_alloc(&m);
		assert_true(v >= VEC_DYNAMIC_FIRST && v <= VEC_DYNAMIC_LAST);
		assert_false(seen[v]);
		seen[v] = true;
	}
	assert_int_equal(vector_map_alloc(&m), E_NOMEM);
	assert_int_equal(m.free, 0);
	assert_int_equal(vector_map_free(&m, 0x45), 0);
	assert_int_equal(vector_map_alloc(&m), 0x45);
}

static void free_refusals(void **state)
{
	struct vector_map m;

	vector_map_init(&m);
	int v = vector_map_alloc(&m);
	assert_int_equal(vector_map_free(&m, (unsigned)v + 1), E_INVAL);   /* not in use */
	assert_int_equal(vector_map_free(&m, VEC_TIMER), E_INVAL);         /* reserved */
	assert_int_equal(vector_map_free(&m, 14), E_INVAL);
	assert_int_equal(vector_map_free(&m, 300), E_INVAL);
	assert_true(vector_map_in_use(&m, VEC_IOMMU_FAULT));
	/* Past the map: not in use, and nothing read outside it. */
	assert_false(vector_map_in_use(&m, 256));
	assert_false(vector_map_in_use(&m, 300));
	assert_int_equal(vector_map_free(&m, (unsigned)v), 0);
	assert_int_equal(vector_map_free(&m, (unsigned)v), E_INVAL);
	assert_int_equal(m.free, DYNAMIC);
}

/* What the allocator must hand out: the first free vector in (slot, class) order. */
static int reference(const struct vector_map *m)
{
	for (unsigned slot = 0; slot < 16; slot++)
		for (unsigned v = VEC_DYNAMIC_FIRST + slot; v <= VEC_DYNAMIC_LAST; v += 16)
			if (!vector_map_in_use(m, v))
				return (int)v;
	return E_NOMEM;
}

/* Random frees and allocations: always the vector the (slot, class) scan would find. */
static void same_order_as_a_scan(void **state)
{
	struct vector_map m;
	uint32_t x = 12345;

	vector_map_init(&m);
	for (unsigned i = 0; i < 20000; i++) {
		x = x * 1103515245 + 12345;
		unsigned v = VEC_DYNAMIC_FIRST + (x >> 8) % DYNAMIC;
		if ((x >> 4) & 1 && vector_map_in_use(&m, v)) {
			assert_int_equal(vector_map_free(&m, v), 0);
			continue;
		}
		int want = reference(&m);
		assert_int_equal(vector_map_alloc(&m), want);
	}
	unsigned used = 0;
	for (unsigned v = VEC_DYNAMIC_FIRST; v <= VEC_DYNAMIC_LAST; v++)
		used += vector_map_in_use(&m, v);
	assert_int_equal(m.free, DYNAMIC - used);
}

static void assert_same(const struct vector_map *a, const struct vector_map *b)
{
	assert_memory_equal(a->bits, b->bits, sizeof(a->bits));
	assert_memory_equal(a->free_classes, b->free_classes, sizeof(a->free_classes));
	assert_int_equal(a->slots, b->slots);
	assert_int_equal(a->free, b->free);
}

/* Random bulk allocations and word frees against a map driven one vector at a time: the same
 * vectors in the same order, the same state after every step. */
static void many_same_as_one_by_one(void **state)
{
	struct vector_map bulk, one;
	uint32_t x = 777;
	uint8_t got[DYNAMIC + 8];

	vector_map_init(&bulk);
	vector_map_init(&one);
	for (unsigned i = 0; i < 4000; i++) {
		x = x * 1103515245 + 12345;
		if ((x >> 4) & 1) {
			unsigned w = (x >> 8) % 4;
			uint64_t mask = (uint64_t)x << 32 | (x * 2654435761u);
			/* Only the word's vectors in use, and of those a random part. */
			uint64_t in_use = 0;
			for (unsigned b = 0; b < 64; b++) {
				unsigned v = w * 64 + b;
				if (v >= VEC_DYNAMIC_FIRST && v <= VEC_DYNAMIC_LAST &&
				    vector_map_in_use(&one, v))
					in_use |= 1ull << b;
			}
			mask &= in_use;
			assert_int_equal(vector_map_free_word(&bulk, w, mask), 0);
			for (uint64_t m = mask; m; m &= m - 1)
				assert_int_equal(vector_map_free(&one, w * 64 + (unsigned)__builtin_ctzll(m)), 0);
		} else {
			unsigned n = (x >> 8) % (DYNAMIC + 8);
			unsigned k = vector_map_alloc_many(&bulk, n, got);
			assert_int_equal(k, n < one.free ? n : one.free);
			for (unsigned j = 0; j < k; j++)
				assert_int_equal(got[j], vector_map_alloc(&one));
		}
		assert_same(&bulk, &one);
	}
}

static void free_word_refusals(void **state)
{
	struct vector_map m;
	uint8_t v[2];

	vector_map_init(&m);
	assert_int_equal(vector_map_alloc_many(&m, 2, v), 2);
	struct vector_map before = m;
	/* Not in use, reserved (below and above the range), past the map: nothing freed. */
	assert_int_equal(vector_map_free_word(&m, v[0] / 64, 1ull << (v[0] % 64) |
					      1ull << ((v[0] + 1) % 64)), E_INVAL);
	assert_int_equal(vector_map_free_word(&m, 0, 1ull << 14), E_INVAL);
	assert_int_equal(vector_map_free_word(&m, VEC_TIMER / 64, 1ull << (VEC_TIMER % 64)), E_INVAL);
	assert_int_equal(vector_map_free_word(&m, 4, 1), E_INVAL);
	assert_same(&m, &before);
	assert_int_equal(vector_map_free_word(&m, 0, 0), 0);
	assert_int_equal(vector_map_free_word(&m, v[0] / 64, 1ull << (v[0] % 64)), 0);
	assert_int_equal(vector_map_free_word(&m, v[1] / 64, 1ull << (v[1] % 64)), 0);
	assert_int_equal(m.free, DYNAMIC);
	/* Empty: nothing to give. */
	uint8_t all[DYNAMIC];
	assert_int_equal(vector_map_alloc_many(&m, DYNAMIC, all), DYNAMIC);
	assert_int_equal(vector_map_alloc_many(&m, 1, v), 0);
	assert_int_equal(m.free, 0);
}

/* Taking given vectors: refusals, and the allocator then goes on as if it had handed them out. */
static void take_given(void **state)
{
	struct vector_map m, ref;
	uint32_t x = 99;

	vector_map_init(&m);
	assert_int_equal(vector_map_take(&m, VEC_DYNAMIC_FIRST - 1), E_INVAL);
	assert_int_equal(vector_map_take(&m, VEC_DYNAMIC_LAST + 1), E_INVAL);
	assert_int_equal(vector_map_take(&m, 300), E_INVAL);
	assert_int_equal(vector_map_take(&m, 0x45), 0);
	assert_int_equal(vector_map_take(&m, 0x45), E_BUSY);
	assert_int_equal(m.free, DYNAMIC - 1);
	assert_int_equal(vector_map_free(&m, 0x45), 0);
	/* Random takes and frees: the allocation order stays the scan's. */
	for (unsigned i = 0; i < 5000; i++) {
		x = x * 1103515245 + 12345;
		unsigned v = VEC_DYNAMIC_FIRST + (x >> 8) % DYNAMIC;
		if (vector_map_in_use(&m, v))
			assert_int_equal(vector_map_free(&m, v), 0);
		else
			assert_int_equal(vector_map_take(&m, v), 0);
		ref = m;
		int want = reference(&m);
		int got = vector_map_alloc(&m);
		assert_int_equal(got, want);
		if (got >= 0)
			assert_int_equal(vector_map_free(&m, (unsigned)got), 0);
		assert_same(&m, &ref);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spread_over_classes),
		cmocka_unit_test(only_dynamic_range),
		cmocka_unit_test(free_refusals),
		cmocka_unit_test(same_order_as_a_scan),
		cmocka_unit_test(many_same_as_one_by_one),
		cmocka_unit_test(free_word_refusals),
		cmocka_unit_test(take_given),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
