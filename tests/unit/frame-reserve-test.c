/*
 * frame_reserve: memory taken from the allocator after boot (an RMRR's region) is never handed
 * out, frames already in use make it refuse with nothing changed, and what lies outside usable
 * RAM costs nothing.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "kernel/lib/error.h"
#include "kernel/mm/frame.h"
#include "tests/unit/fake-log.h"

#define MiB 0x100000ull

/* RAM [1 MiB, 16 MiB): the bitmaps are the only memory the allocator touches. */
static uint64_t bitmaps[2 * 64];

static void *p2v(uint64_t pa) { return bitmaps; }

static struct frame_alloc fa;

static int setup(void **state)
{
	static const struct mem_range usable[] = { { 1 * MiB, 16 * MiB } };
	fake_log_reset();
	assert_int_equal(frame_init(&fa, usable, 1, NULL, 0, p2v), 0);
	return 0;
}

/* Allocate every free frame; none may lie in [start, end). */
static void assert_never_handed_out(uint64_t start, uint64_t end)
{
	uint64_t pa, n = 0;
	while ((pa = frame_alloc(&fa, 0, 0))) {
		assert_false(pa >= start && pa < end);
		n++;
	}
	assert_int_equal(frame_free_bytes(&fa), 0);
	assert_true(n > 0);
}

static void reserved_ram_is_never_handed_out(void **state)
{
	uint64_t before = frame_free_bytes(&fa);
	struct frame_reserve_ret r = frame_reserve(&fa, 8 * MiB + 0x123, 9 * MiB - 1);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.taken, 1 * MiB);     /* rounded outward to whole frames */
	assert_int_equal(frame_free_bytes(&fa), before - 1 * MiB);
	assert_never_handed_out(8 * MiB, 9 * MiB);
}

static void frames_in_use_refuse_with_nothing_changed(void **state)
{
	uint64_t pa = frame_alloc(&fa, 4, 0);   /* 64 KiB somewhere */
	assert_true(pa);
	uint64_t before = frame_free_bytes(&fa);
	struct frame_reserve_ret r = frame_reserve(&fa, pa - 0x2000, pa + 0x2000);
	assert_int_equal(r.err, E_BUSY);
	assert_int_equal(r.taken, pa);          /* the first busy frame */
	assert_int_equal(frame_free_bytes(&fa), before);
	/* The free frames before the busy one are still the allocator's. */
	frame_free(&fa, pa, 4);
	bool below = false, at = false;
	uint64_t got;
	while ((got = frame_alloc(&fa, 0, 0))) {
		below |= got == pa - 0x2000;
		at |= got == pa;
	}
	assert_true(below);
	assert_true(at);
}

static void outside_usable_ram_costs_nothing(void **state)
{
	uint64_t before = frame_free_bytes(&fa);
	struct frame_reserve_ret r = frame_reserve(&fa, 0xfed00000, 0xfee00000);   /* MMIO */
	assert_int_equal(r.err, 0);
	assert_int_equal(r.taken, 0);
	r = frame_reserve(&fa, 0x80000, 0x90000);                           /* low memory */
	assert_int_equal(r.err, 0);
	assert_int_equal(r.taken, 0);
	r = frame_reserve(&fa, 15 * MiB, 17 * MiB);                         /* across the top */
	assert_int_equal(r.err, 0);
	assert_int_equal(r.taken, 1 * MiB);
	assert_int_equal(frame_free_bytes(&fa), before - 1 * MiB);
	r = frame_reserve(&fa, 15 * MiB, 16 * MiB);                         /* again: nothing left */
	assert_int_equal(r.err, 0);
	assert_int_equal(r.taken, 0);
	assert_never_handed_out(15 * MiB, 16 * MiB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(reserved_ram_is_never_handed_out, setup),
		cmocka_unit_test_setup(frames_in_use_refuse_with_nothing_changed, setup),
		cmocka_unit_test_setup(outside_usable_ram_costs_nothing, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
