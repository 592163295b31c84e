/* What a CPU's drain IPI finishes (kernel/cpu/drain_set.c): vectors released are freed, vectors
 * settled are reported with their count and stay, both wait for their IRR bit, and a vector
 * both settling and released is taken in one go. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "kernel/cpu/drain_set.h"

static uint64_t bit(unsigned v) { return 1ull << (v % 64); }

static void settle_reports_count_and_keeps(void **state)
{
	struct drain_set d;
	struct drain_taken t[8];
	uint64_t freed = ~0ull;
	bool left = false, more = false;
	unsigned v = VEC_DYNAMIC_FIRST + 3;

	memset(&d, 0, sizeof(d));
	drain_set_settle(&d, v);
	assert_int_equal(drain_set_take_word(&d, v / 64, 0, t, 8, &freed, &left, &more), 1);
	assert_int_equal(t[0].vector, v);
	assert_false(t[0].freed);
	assert_int_equal(t[0].settles, 1);
	assert_int_equal(freed, 0);
	assert_false(left);
	assert_false(more);
	/* Taken once: nothing left. */
	assert_int_equal(drain_set_take_word(&d, v / 64, 0, t, 8, &freed, &left, &more), 0);
	assert_int_equal(d.settles[v - VEC_DYNAMIC_FIRST], 0);
}

static void settled_twice_before_drain(void **state)
{
	struct drain_set d;
	struct drain_taken t[8];
	uint64_t freed;
	bool left = false, more = false;
	unsigned v = 0x45;

	memset(&d, 0, sizeof(d));
	drain_set_settle(&d, v);
	drain_set_settle(&d, v);
	assert_int_equal(drain_set_take_word(&d, 1, 0, t, 8, &freed, &left, &more), 1);
	assert_int_equal(t[0].settles, 2);
}

static void pending_waits(void **state)
{
	struct drain_set d;
	struct drain_taken t[8];
	uint64_t freed;
	bool left = false, more = false;
	unsigned a = 0x31, b = 0x32;

	memset(&d, 0, sizeof(d));
	drain_set_settle(&d, a);
	drain_set_release(&d, b);
	/* a's IRR bit set: only b goes, a stays settling with its count. */
	assert_int_equal(drain_set_take_word(&d, 0, bit(a), t, 8, &freed, &left, &more), 1);
	assert_true(left);
	assert_int_equal(t[0].vector, b);
	assert_true(t[0].freed);
	assert_int_equal(t[0].settles, 0);
	assert_int_equal(freed, bit(b));
	assert_int_equal(d.settles[a - VEC_DYNAMIC_FIRST], 1);
	left = false;
	assert_int_equal(drain_set_take_word(&d, 0, 0, t, 8, &freed, &left, &more), 1);
	assert_false(left);
	assert_int_equal(t[0].vector, a);
	assert_int_equal(t[0].settles, 1);
	assert_int_equal(freed, 0);
}

static void settling_and_released_together(void **state)
{
	struct drain_set d;
	struct drain_taken t[8];
	uint64_t freed;
	bool left = false, more = false;
	unsigned v = 0x80;

	memset(&d, 0, sizeof(d));
	drain_set_settle(&d, v);
	drain_set_release(&d, v);
	assert_true(drain_set_is_draining(&d, v));
	/* Pending: neither goes (the settle never comes after the free). */
	assert_int_equal(drain_set_take_word(&d, 2, bit(v), t, 8, &freed, &left, &more), 0);
	assert_int_equal(freed, 0);
	assert_int_equal(drain_set_take_word(&d, 2, 0, t, 8, &freed, &left, &more), 1);
	assert_true(t[0].freed);
	assert_int_equal(t[0].settles, 1);
	assert_int_equal(freed, bit(v));
	assert_false(drain_set_is_draining(&d, v));
	assert_int_equal(d.settling[2], 0);
}

static void max_then_more(void **state)
{
	struct drain_set d;
	struct drain_taken t[64];
	uint64_t freed;
	bool left = false, more = false;

	memset(&d, 0, sizeof(d));
	for (unsigned v = 0x40; v < 0x40 + 40; v++)
		if (v & 1)
			drain_set_settle(&d, v);
		else
			drain_set_release(&d, v);
	assert_int_equal(drain_set_take_word(&d, 1, 0, t, 32, &freed, &left, &more), 32);
	assert_true(more);
	for (unsigned i = 0; i < 32; i++) {
		assert_int_equal(t[i].vector, 0x40 + i);   /* lowest first */
		assert_int_equal(t[i].freed, !(t[i].vector & 1));
		assert_int_equal(t[i].settles, t[i].vector & 1);
	}
	assert_int_equal(freed, 0x5555555555555555ull & 0xffffffffull);
	more = false;
	assert_int_equal(drain_set_take_word(&d, 1, 0, t, 32, &freed, &left, &more), 8);
	assert_false(more);
	assert_int_equal(t[0].vector, 0x40 + 32);
	assert_int_equal(d.draining[1] | d.settling[1], 0);
}

static void words_apart(void **state)
{
	struct drain_set d;
	struct drain_taken t[8];
	uint64_t freed;
	bool left = false, more = false;

	memset(&d, 0, sizeof(d));
	drain_set_settle(&d, VEC_DYNAMIC_LAST);
	drain_set_settle(&d, VEC_DYNAMIC_FIRST);
	/* Another word's bits are not touched. */
	assert_int_equal(drain_set_take_word(&d, VEC_DYNAMIC_LAST / 64, 0, t, 8, &freed, &left,
					     &more), 1);
	assert_int_equal(t[0].vector, VEC_DYNAMIC_LAST);
	assert_int_equal(d.settling[VEC_DYNAMIC_FIRST / 64], bit(VEC_DYNAMIC_FIRST));
	assert_int_equal(d.settles[0], 1);
}

static void batches_over_in_order(void **state)
{
	struct drain_set d;
	uint64_t m1[4] = { bit(0x30), bit(0x45), 0, 0 }, m2[4] = { 0, 0, 0, bit(0xc1) };

	memset(&d, 0, sizeof(d));
	uint64_t s1 = drain_set_batch(&d, m1);
	assert_int_equal(s1, 1);
	assert_false(drain_set_batch_done(&d, s1));
	/* 0x45 pending: the batch stays, even with the other words clear. */
	assert_false(drain_set_batch_word(&d, 0, 0));
	assert_true(drain_set_batch_word(&d, 1, bit(0x45)));
	assert_false(drain_set_batch_over(&d));
	assert_false(drain_set_batch_done(&d, s1));
	/* A second batch joins before the first is over; both end together. */
	uint64_t s2 = drain_set_batch(&d, m2);
	assert_int_equal(s2, 2);
	assert_false(drain_set_batch_word(&d, 1, 0));
	assert_false(drain_set_batch_over(&d));         /* 0xc1 not seen yet */
	assert_false(drain_set_batch_word(&d, 3, bit(0xc2)));  /* another vector's bit */
	assert_true(drain_set_batch_over(&d));
	assert_true(drain_set_batch_done(&d, s1));
	assert_true(drain_set_batch_done(&d, s2));
	assert_false(drain_set_batch_done(&d, s2 + 1));
	assert_false(drain_set_batch_over(&d));         /* nothing new: done stays */
}

static void batch_apart_from_settles(void **state)
{
	struct drain_set d;
	struct drain_taken t[8];
	uint64_t m[4] = { bit(0x33), 0, 0, 0 }, freed;
	bool left = false, more = false;

	memset(&d, 0, sizeof(d));
	drain_set_batch(&d, m);
	/* A batch is not a counted settle: take_word has nothing to report. */
	assert_int_equal(drain_set_take_word(&d, 0, 0, t, 8, &freed, &left, &more), 0);
	assert_int_equal(d.batch[0], bit(0x33));
	assert_false(drain_set_batch_word(&d, 0, 0));
	assert_true(drain_set_batch_over(&d));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(settle_reports_count_and_keeps),
		cmocka_unit_test(settled_twice_before_drain),
		cmocka_unit_test(pending_waits),
		cmocka_unit_test(settling_and_released_together),
		cmocka_unit_test(max_then_more),
		cmocka_unit_test(words_apart),
		cmocka_unit_test(batches_over_in_order),
		cmocka_unit_test(batch_apart_from_settles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
