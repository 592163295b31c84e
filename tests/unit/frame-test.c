#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "kernel/lib/error.h"
#include "kernel/mm/frame.h"
#include "tests/unit/fake-log.h"

#define KiB 0x400ull
#define MiB 0x100000ull
#define GiB 0x40000000ull

/*
 * Fake RAM: the allocator only touches its bitmaps, so only they are backed, by a heap block
 * of exactly the size the test expects (ASan catches a write past it). phys_to_virt records
 * where the allocator put them.
 */
static uint8_t *ram;
static size_t ram_size;
static uint64_t ram_pa;
static bool ram_unmapped;

static void *fake_p2v(uint64_t pa)
{
	if (ram_unmapped)
		return NULL;
	assert_null(ram);
	ram_pa = pa;
	ram = malloc(ram_size);
	memset(ram, 0xa5, ram_size);   /* the allocator must clear its bitmaps itself */
	return ram;
}

static int teardown(void **state)
{
	free(ram);
	ram = NULL;
	ram_unmapped = false;
	return 0;
}

/* Bytes of bitmaps for memory topping out at top: two bits per frame, in 64-bit words. */
static size_t bitmap_bytes(uint64_t top)
{
	uint64_t words = (top / FRAME_SIZE + 63) / 64;
	return (2 * words * 8 + FRAME_SIZE - 1) & ~(FRAME_SIZE - 1);
}

static int init(struct frame_alloc *fa, const struct mem_range *u, size_t nu,
		const struct mem_range *r, size_t nr, uint64_t top)
{
	free(ram);
	ram = NULL;
	ram_size = bitmap_bytes(top);
	fake_log_reset();
	return frame_init(fa, u, nu, r, nr, fake_p2v);
}

/* The independent oracle: may the block at pa of n frames be handed out? */
static bool block_ok(const struct frame_alloc *fa, uint64_t pa, uint64_t n,
		     const struct mem_range *u, size_t nu, const struct mem_range *r, size_t nr)
{
	if (pa < MiB || pa % (n * FRAME_SIZE))
		return false;
	for (uint64_t f = pa; f < pa + n * FRAME_SIZE; f += FRAME_SIZE) {
		bool inside = false;
		for (size_t i = 0; i < nu; i++)
			inside |= u[i].start <= f && f + FRAME_SIZE <= u[i].end;
		if (!inside)
			return false;
		for (size_t i = 0; i < nr; i++)
			if (r[i].start < f + FRAME_SIZE && r[i].end > f && r[i].start < r[i].end)
				return false;
		if (f >= fa->bitmap_pa && f < fa->bitmap_pa + fa->bitmap_bytes)
			return false;
	}
	return true;
}

static void basic(void **state)
{
	const struct mem_range u[] = { { 0, 0x9fc00 }, { MiB, 64 * MiB } };
	const struct mem_range r[] = { { 2 * MiB, 3 * MiB }, { 16 * MiB, 16 * MiB + 0x800 } };
	struct frame_alloc fa;

	assert_int_equal(init(&fa, u, 2, r, 2, 64 * MiB), 0);
	assert_int_equal(fa.bitmap_pa, MiB);
	assert_int_equal(fa.bitmap_bytes, ram_size);
	assert_int_equal(ram_pa, MiB);
	assert_int_equal(frame_usable_bytes(&fa), 0x9fc00 + 63 * MiB);
	uint64_t expect = (63 * MiB - MiB - 0x1000 - 0x1000) / FRAME_SIZE;
	assert_int_equal(frame_free_bytes(&fa), expect * FRAME_SIZE);
	assert_int_equal(frame_alloc(&fa, 0, 0), MiB + 0x1000);
	assert_int_equal(frame_alloc(&fa, 0, 0), MiB + 0x2000);
	assert_int_equal(frame_free_bytes(&fa), (expect - 2) * FRAME_SIZE);
	assert_int_equal(fake_log_errors, 0);
}

static void bitmap_avoids_reservations(void **state)
{
	const struct mem_range u[] = { { 0, 32 * MiB } };
	const struct mem_range r1[] = { { MiB, 2 * MiB } };
	const struct mem_range r2[] = {
		{ MiB + 0x800, MiB + 0x900 }, { MiB + 0x1000, MiB + 0x1000 },
	};
	const struct mem_range r3[] = { { 0, UINT64_MAX } };
	struct frame_alloc fa;

	assert_int_equal(init(&fa, u, 1, r1, 1, 32 * MiB), 0);
	assert_int_equal(fa.bitmap_pa, 2 * MiB);
	assert_int_equal(init(&fa, u, 1, r2, 2, 32 * MiB), 0);
	assert_int_equal(fa.bitmap_pa, MiB + 0x1000);   /* the empty reservation takes nothing */
	assert_int_equal(frame_alloc(&fa, 0, 0), MiB + 0x2000);
	assert_int_equal(init(&fa, u, 1, r3, 1, 32 * MiB), E_NOMEM);
	assert_true(fake_log_contains("no room"));
}

static void orders_are_aligned(void **state)
{
	const struct mem_range u[] = { { MiB + 0x123, 40 * MiB - 7 } };
	const struct mem_range r[] = { { 5 * MiB + 0x1000, 5 * MiB + 0x2000 } };
	struct frame_alloc fa;

	assert_int_equal(init(&fa, u, 1, r, 1, 40 * MiB - 4 * KiB), 0);
	for (unsigned order = 0; order <= 10; order++) {
		uint64_t pa = frame_alloc(&fa, order, 0), n = 1ull << order;
		assert_true(pa);
		assert_true(block_ok(&fa, pa, n, u, 1, r, 1));
	}
	assert_int_equal(frame_alloc(&fa, FRAME_MAX_ORDER, 0), 0);
	assert_int_equal(fake_log_errors, 0);
	assert_int_equal(frame_alloc(&fa, FRAME_MAX_ORDER + 1, 0), 0);
	assert_true(fake_log_contains("order 19"));
}

static void max_pa_limit(void **state)
{
	const struct mem_range u[] = { { MiB, 16 * MiB } };
	struct frame_alloc fa;
	uint64_t pa, n = 0;

	assert_int_equal(init(&fa, u, 1, NULL, 0, 16 * MiB), 0);
	while ((pa = frame_alloc(&fa, 0, 4 * MiB + 0x800))) {
		assert_true(pa + FRAME_SIZE <= 4 * MiB);
		n++;
	}
	assert_int_equal(n, 3 * MiB / FRAME_SIZE - 1);    /* less the bitmap page */
	assert_int_equal(frame_alloc(&fa, 1, 5 * MiB + 0x1fff), 4 * MiB);
	assert_int_equal(frame_alloc(&fa, 1, 4 * MiB + 0x3fff), 0);
	assert_int_equal(frame_alloc(&fa, 0, 0), 4 * MiB + 0x2000);
	assert_int_equal(frame_alloc(&fa, 0, 1), 0);
}

static void free_and_reuse(void **state)
{
	const struct mem_range u[] = { { MiB, 8 * MiB } };
	struct frame_alloc fa;

	assert_int_equal(init(&fa, u, 1, NULL, 0, 8 * MiB), 0);
	uint64_t before = frame_free_bytes(&fa);
	uint64_t a = frame_alloc(&fa, 0, 0), b = frame_alloc(&fa, 0, 0);
	uint64_t c = frame_alloc(&fa, 3, 0);
	assert_int_equal(c % (8 * FRAME_SIZE), 0);
	frame_free(&fa, a, 0);
	assert_int_equal(frame_alloc(&fa, 0, 0), a);
	frame_free(&fa, c, 3);
	frame_free(&fa, a, 0);
	frame_free(&fa, b, 0);
	assert_int_equal(frame_free_bytes(&fa), before);
	/* The freed order-3 block is whole again. */
	assert_int_equal(frame_alloc(&fa, 3, 0), c);
	assert_int_equal(fake_log_errors, 0);
}

/* A busy frame at the end of a block must not make the search skip the next block: with
 * frames 256..279 (the bitmap in 256), 271 busy and 272..279 free, the only free aligned
 * order-3 block is 272. */
static void busy_frame_at_block_end(void **state)
{
	const struct mem_range u[] = { { MiB, MiB + 24 * FRAME_SIZE } };
	struct frame_alloc fa;

	assert_int_equal(init(&fa, u, 1, NULL, 0, MiB + 24 * FRAME_SIZE), 0);
	assert_int_equal(fa.bitmap_pa, MiB);
	for (uint64_t f = 257; f < 280; f++)
		assert_int_equal(frame_alloc(&fa, 0, 0), f * FRAME_SIZE);
	for (uint64_t f = 264; f < 280; f++)
		if (f != 271)
			frame_free(&fa, f * FRAME_SIZE, 0);
	assert_int_equal(frame_free_bytes(&fa), 15 * FRAME_SIZE);
	assert_int_equal(frame_alloc(&fa, 3, 0), 272 * FRAME_SIZE);
	assert_int_equal(frame_alloc(&fa, 3, 0), 0);
	assert_int_equal(frame_free_bytes(&fa), 7 * FRAME_SIZE);
	assert_int_equal(fake_log_errors, 0);
}

static void bad_frees(void **state)
{
	const struct mem_range u[] = { { MiB, 8 * MiB } };
	const struct mem_range r[] = { { 4 * MiB, 4 * MiB + 1 } };
	struct frame_alloc fa;

	assert_int_equal(init(&fa, u, 1, r, 1, 8 * MiB), 0);
	uint64_t a = frame_alloc(&fa, 0, 0), free0 = frame_free_bytes(&fa);
	frame_free(&fa, a, 0);
	frame_free(&fa, a, 0);
	assert_true(fake_log_contains("free of 0x101000 order 0 ignored: frame 0x101000 is not "
				      "allocated"));
	assert_int_equal(frame_free_bytes(&fa), free0 + FRAME_SIZE);

	fake_log_reset();
	frame_free(&fa, 4 * MiB, 0);
	assert_true(fake_log_contains("frame 0x400000 is reserved"));
	frame_free(&fa, 0, 0);
	assert_true(fake_log_contains("frame 0 is reserved"));
	frame_free(&fa, fa.bitmap_pa, 0);
	frame_free(&fa, a + 0x800, 0);
	assert_true(fake_log_contains("not a block of that order"));
	frame_free(&fa, 64 * MiB, 0);
	frame_free(&fa, 0, 12);
	assert_true(fake_log_contains("outside memory"));
	frame_free(&fa, a, 40);
	assert_int_equal(fake_log_errors, 7);
	/* None of the refused frees freed anything. */
	assert_int_equal(frame_free_bytes(&fa), free0 + FRAME_SIZE);

	/* Freeing with a larger order than allocated frees nothing. */
	a = frame_alloc(&fa, 1, 0);
	free0 = frame_free_bytes(&fa);
	frame_free(&fa, a, 2);
	assert_int_equal(frame_free_bytes(&fa), free0);
	assert_int_equal(frame_alloc(&fa, 1, 0), a + 2 * FRAME_SIZE);
	assert_int_equal(fake_log_errors, 8);
}

static void tiny_and_empty_maps(void **state)
{
	const struct mem_range low[] = { { 0, 0x9fc00 }, { 0xf0000, MiB } };
	const struct mem_range one[] = { { MiB, MiB + FRAME_SIZE } };
	const struct mem_range two[] = { { MiB, MiB + 2 * FRAME_SIZE } };
	const struct mem_range unaligned[] = { { MiB + 1, MiB + 2 * FRAME_SIZE - 1 } };
	const struct mem_range backwards[] = { { 2 * MiB, MiB } };
	const struct mem_range bogus[] = { { UINT64_MAX - FRAME_SIZE, UINT64_MAX }, two[0] };
	struct frame_alloc fa;

	assert_int_equal(init(&fa, NULL, 0, NULL, 0, 0), E_NOMEM);
	assert_int_equal(frame_alloc(&fa, 0, 0), 0);
	assert_int_equal(init(&fa, low, 2, NULL, 0, MiB), E_NOMEM);
	assert_int_equal(frame_usable_bytes(&fa), 0x9fc00 + 0x10000);
	assert_int_equal(init(&fa, unaligned, 1, NULL, 0, 0), E_NOMEM);
	assert_int_equal(init(&fa, backwards, 1, NULL, 0, 0), E_INVAL);
	assert_true(fake_log_contains("usable range 0"));
	assert_int_equal(init(&fa, two, 1, backwards, 1, 0), E_INVAL);
	assert_int_equal(frame_init(&fa, two, 1, NULL, 0, NULL), E_INVAL);

	/* One frame of RAM: the bitmaps take it and nothing is left. */
	assert_int_equal(init(&fa, one, 1, NULL, 0, MiB + FRAME_SIZE), 0);
	assert_int_equal(frame_free_bytes(&fa), 0);
	assert_int_equal(frame_alloc(&fa, 0, 0), 0);
	assert_int_equal(init(&fa, two, 1, NULL, 0, MiB + 2 * FRAME_SIZE), 0);
	assert_int_equal(frame_alloc(&fa, 0, 0), MiB + FRAME_SIZE);
	assert_int_equal(frame_alloc(&fa, 0, 0), 0);
	/* A range beyond any physical address is ignored. */
	assert_int_equal(init(&fa, bogus, 2, NULL, 0, MiB + 2 * FRAME_SIZE), 0);
	assert_int_equal(frame_alloc(&fa, 0, 0), MiB + FRAME_SIZE);

	ram_unmapped = true;
	assert_int_equal(init(&fa, two, 1, NULL, 0, 0), E_NOMEM);
	assert_true(fake_log_contains("not mapped"));
}

static void overlapping_maps(void **state)
{
	const struct mem_range u[] = {
		{ 16 * MiB, 48 * MiB }, { MiB, 32 * MiB }, { 20 * MiB, 24 * MiB },
		{ MiB, 32 * MiB }, { 47 * MiB + 0x10, 47 * MiB + 0x20 },
	};
	struct frame_alloc fa;
	static bool seen[48 * MiB / FRAME_SIZE];
	uint64_t pa, n = 0, free0;

	assert_int_equal(init(&fa, u, 5, NULL, 0, 48 * MiB), 0);
	assert_int_equal(frame_usable_bytes(&fa), 47 * MiB);
	free0 = frame_free_bytes(&fa);
	assert_int_equal(free0, 47 * MiB - fa.bitmap_bytes);
	while ((pa = frame_alloc(&fa, 0, 0))) {
		assert_false(seen[pa / FRAME_SIZE]);
		seen[pa / FRAME_SIZE] = true;
		n++;
	}
	assert_int_equal(n * FRAME_SIZE, free0);
	assert_int_equal(frame_free_bytes(&fa), 0);
}

static void bitmap_above_4g(void **state)
{
	const struct mem_range u[] = {
		{ 8 * GiB, 12 * GiB }, { 0, 0x9fc00 },
		{ MiB, MiB + 512 * KiB }, { 4 * GiB, 6 * GiB },
	};
	const struct mem_range r[] = { { 4 * GiB, 4 * GiB + 0x2000 } };
	struct frame_alloc fa;

	assert_int_equal(init(&fa, u, 4, r, 1, 12 * GiB), 0);
	assert_int_equal(fa.bitmap_bytes, 768 * KiB);
	assert_int_equal(fa.bitmap_pa, 4 * GiB + 0x2000);
	assert_int_equal(ram_pa, fa.bitmap_pa);
	assert_int_equal(frame_usable_bytes(&fa), 0x9fc00 + 512 * KiB + 6 * GiB);
	assert_int_equal(frame_alloc(&fa, 0, 0), MiB);
	assert_int_equal(frame_alloc(&fa, 8, 0), 4 * GiB + MiB);
	assert_int_equal(frame_alloc(&fa, 0, 4 * GiB), MiB + FRAME_SIZE);
}

static void above_4g_memory(void **state)
{
	const struct mem_range u[] = { { 0, 0x9fc00 }, { MiB, 3 * GiB }, { 4 * GiB, 6 * GiB } };
	const struct mem_range r[] = { { 2 * MiB, 3 * MiB } };
	struct frame_alloc fa;
	uint64_t pa, n = 0, free0;

	assert_int_equal(init(&fa, u, 3, r, 1, 6 * GiB), 0);
	assert_int_equal(fa.bitmap_pa, MiB);
	free0 = frame_free_bytes(&fa);
	assert_int_equal(free0, 5 * GiB - 2 * MiB - fa.bitmap_bytes);
	assert_int_equal(frame_alloc(&fa, FRAME_MAX_ORDER, 0), GiB);
	assert_int_equal(frame_alloc(&fa, FRAME_MAX_ORDER, 0), 2 * GiB);
	assert_int_equal(frame_alloc(&fa, FRAME_MAX_ORDER, 0), 4 * GiB);
	assert_int_equal(frame_alloc(&fa, FRAME_MAX_ORDER, 0), 5 * GiB);
	assert_int_equal(frame_alloc(&fa, FRAME_MAX_ORDER, 0), 0);
	assert_int_equal(frame_alloc(&fa, FRAME_MAX_ORDER - 1, 0), 512 * MiB);
	frame_free(&fa, 4 * GiB, FRAME_MAX_ORDER);
	while ((pa = frame_alloc(&fa, 0, 0)))
		n++;
	assert_int_equal(n * FRAME_SIZE, free0 - 3 * GiB - 512 * MiB);
	assert_int_equal(fake_log_errors, 0);
}

/* A small PRNG so the property test is the same every run. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? rng % n : rng;
}

struct block {
	uint64_t pa;
	unsigned order;
};

static void check_no_overlap(const struct block *b, size_t n, uint8_t *owner, uint64_t frames)
{
	memset(owner, 0, frames);
	for (size_t i = 0; i < n; i++) {
		uint64_t first = b[i].pa / FRAME_SIZE;
		for (uint64_t f = first; f < first + (1u << b[i].order); f++) {
			assert_true(f < frames);
			assert_int_equal(owner[f], 0);
			owner[f] = 1;
		}
	}
}

/* The frames the allocator should own, counted frame by frame from the inputs. */
static uint64_t expected_frames(const struct frame_alloc *fa, const struct mem_range *u, size_t nu,
				const struct mem_range *r, size_t nr, uint64_t top)
{
	uint64_t n = 0;
	for (uint64_t pa = 0; pa < top; pa += FRAME_SIZE)
		n += block_ok(fa, pa, 1, u, nu, r, nr);
	return n;
}

static void random_maps(void **state)
{
	enum { SPACE = 64 * MiB, MAXB = SPACE / FRAME_SIZE };
	static struct block blocks[MAXB];
	static uint8_t owner[MAXB];
	unsigned inited = 0;

	for (unsigned iter = 0; iter < 200; iter++) {
		struct mem_range u[8], r[8];
		size_t nu = 1 + rnd(8), nr = rnd(8), nb = 0;
		uint64_t top = 0;
		struct frame_alloc fa;

		for (size_t i = 0; i < nu; i++) {
			u[i].start = rnd(SPACE);
			u[i].end = u[i].start + rnd(SPACE - u[i].start);
			uint64_t lo = (u[i].start + FRAME_SIZE - 1) / FRAME_SIZE * FRAME_SIZE;
			uint64_t hi = u[i].end / FRAME_SIZE * FRAME_SIZE;
			if (hi > lo && hi > top)
				top = hi;
		}
		for (size_t i = 0; i < nr; i++) {
			r[i].start = rnd(SPACE);
			r[i].end = r[i].start + rnd(4 * MiB);
		}
		int err = init(&fa, u, nu, r, nr, top);
		if (err) {
			assert_int_equal(err, E_NOMEM);
			continue;
		}
		inited++;
		uint64_t free0 = frame_free_bytes(&fa);
		assert_int_equal(free0 / FRAME_SIZE, expected_frames(&fa, u, nu, r, nr, top));

		/* Random allocations and frees, then everything that is left. */
		for (unsigned op = 0; op < 300; op++) {
			if (nb && rnd(3) == 0) {
				size_t k = rnd(nb);
				frame_free(&fa, blocks[k].pa, blocks[k].order);
				blocks[k] = blocks[--nb];
				continue;
			}
			unsigned order = rnd(7);
			uint64_t max_pa = rnd(2) ? 0 : rnd(SPACE);
			uint64_t pa = frame_alloc(&fa, order, max_pa);
			if (!pa)
				continue;
			assert_true(block_ok(&fa, pa, 1ull << order, u, nu, r, nr));
			assert_true(!max_pa || pa + (FRAME_SIZE << order) <= max_pa);
			blocks[nb++] = (struct block){ pa, order };
		}
		check_no_overlap(blocks, nb, owner, MAXB);
		uint64_t pa;
		while ((pa = frame_alloc(&fa, 0, 0))) {
			assert_true(block_ok(&fa, pa, 1, u, nu, r, nr));
			blocks[nb++] = (struct block){ pa, 0 };
		}
		check_no_overlap(blocks, nb, owner, MAXB);
		assert_int_equal(frame_free_bytes(&fa), 0);
		uint64_t total = 0;
		for (size_t i = 0; i < nb; i++)
			total += FRAME_SIZE << blocks[i].order;
		assert_int_equal(total, free0);
		for (size_t i = 0; i < nb; i++)
			frame_free(&fa, blocks[i].pa, blocks[i].order);
		assert_int_equal(frame_free_bytes(&fa), free0);
		assert_int_equal(fake_log_errors, 0);
	}
	/* Most random maps leave room for the bitmaps: the checks above really ran. */
	assert_true(inited > 150);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(basic, teardown),
		cmocka_unit_test_teardown(bitmap_avoids_reservations, teardown),
		cmocka_unit_test_teardown(orders_are_aligned, teardown),
		cmocka_unit_test_teardown(max_pa_limit, teardown),
		cmocka_unit_test_teardown(free_and_reuse, teardown),
		cmocka_unit_test_teardown(busy_frame_at_block_end, teardown),
		cmocka_unit_test_teardown(bad_frees, teardown),
		cmocka_unit_test_teardown(tiny_and_empty_maps, teardown),
		cmocka_unit_test_teardown(overlapping_maps, teardown),
		cmocka_unit_test_teardown(bitmap_above_4g, teardown),
		cmocka_unit_test_teardown(above_4g_memory, teardown),
		cmocka_unit_test_teardown(random_maps, teardown),
	};
	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
