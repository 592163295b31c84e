/* The physical frame allocator: two bitmaps over frames [0, n_frames). */
#include <stdbool.h>
#include "kernel/mm/frame.h"
#include "kernel/lib/compiler.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"

#define LOW_RESERVED    0x100000ull     /* [0, 1 MiB): real-mode IVT, BDA, EBDA, ROMs */
#define WORD_BITS       64
#define DIV_ROUND_UP(x, d) (((x) + (d) - 1) / (d))

/* Which bits a scan looks for. */
enum hit { HIT_FREE, HIT_BUSY, HIT_UNOWNED, HIT_UNUSED };

static uint64_t hit_bits(const struct frame_alloc *fa, uint64_t w, enum hit h)
{
	uint64_t free = fa->owned[w] & ~fa->used[w];

	switch (h) {
	case HIT_FREE: return free;
	case HIT_BUSY: return ~free;
	case HIT_UNOWNED: return ~fa->owned[w];
	case HIT_UNUSED: return ~fa->used[w];
	}
	return 0;
}

/* The first frame in [lo, hi) whose bit of kind h is set, or hi. */
static uint64_t scan(const struct frame_alloc *fa, uint64_t lo, uint64_t hi, enum hit h)
{
	while (lo < hi) {
		uint64_t bits = hit_bits(fa, lo / WORD_BITS, h) >> (lo % WORD_BITS);
		if (bits)
			return MIN(lo + __builtin_ctzll(bits), hi);
		lo = ALIGN_DOWN(lo, WORD_BITS) + WORD_BITS;
	}
	return hi;
}

/* Set (v) or clear bits [lo, hi) of map. */
static void set_bits(uint64_t *map, uint64_t lo, uint64_t hi, bool v)
{
	while (lo < hi) {
		uint64_t b = lo % WORD_BITS, n = MIN(WORD_BITS - b, hi - lo);
		uint64_t mask = (n == WORD_BITS ? ~0ull : BIT(n) - 1) << b;
		if (v)
			map[lo / WORD_BITS] |= mask;
		else
			map[lo / WORD_BITS] &= ~mask;
		lo += n;
	}
}

static unsigned popcount64(uint64_t x)
{
	/* No popcnt instruction or libgcc in the hypervisor: the classic SWAR count. */
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (x * 0x0101010101010101ull) >> 56;
}

/* A usable range clamped to FRAME_PA_LIMIT and rounded inward; empty when lo >= hi. */
static struct mem_range usable_frames(const struct mem_range *r)
{
	uint64_t end = MIN(r->end, FRAME_PA_LIMIT);
	return (struct mem_range){
		.start = ALIGN_UP(MIN(r->start, end), FRAME_SIZE),
		.end = ALIGN_DOWN(end, FRAME_SIZE),
	};
}

/* A reserved range clamped to FRAME_PA_LIMIT and rounded outward (empty stays empty). */
static struct mem_range reserved_frames(const struct mem_range *r)
{
	uint64_t end = MIN(r->end, FRAME_PA_LIMIT);

	if (r->start >= end)
		return (struct mem_range){ 0, 0 };
	return (struct mem_range){
		.start = ALIGN_DOWN(MIN(r->start, end), FRAME_SIZE),
		.end = ALIGN_UP(end, FRAME_SIZE),
	};
}

/* Bytes in the union of the ranges: each step counts the lowest remaining stretch. */
static uint64_t union_bytes(const struct mem_range *r, size_t n)
{
	uint64_t pos = 0, total = 0;

	for (;;) {
		uint64_t s = UINT64_MAX, e = 0;
		for (size_t i = 0; i < n; i++) {
			uint64_t rs = MAX(r[i].start, pos);
			if (r[i].end > rs && (rs < s || (rs == s && r[i].end > e))) {
				s = rs;
				e = r[i].end;
			}
		}
		if (!e)
			return total;
		total += e - s;
		pos = e;
	}
}

static int check_ranges(const struct mem_range *r, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		if (r[i].start > r[i].end) {
			log_err("frame: %s range %zu [%#llx, %#llx) ends before it starts", what, i,
				(unsigned long long)r[i].start, (unsigned long long)r[i].end);
			return E_INVAL;
		}
	}
	return 0;
}

/* The lowest start >= lo of size bytes before hi that touches no reserved range, or 0. */
static uint64_t fit_between(uint64_t lo, uint64_t hi, uint64_t size,
			    const struct mem_range *res, size_t n_res)
{
	uint64_t c = lo;

	/* Each retry moves c past one reservation for good, so n_res + 1 tries suffice. */
	for (size_t tries = 0; tries <= n_res; tries++) {
		if (c >= hi || hi - c < size)
			return 0;
		size_t i;
		for (i = 0; i < n_res; i++) {
			struct mem_range r = reserved_frames(&res[i]);
			if (r.start < c + size && r.end > c)
				break;
		}
		if (i == n_res)
			return c;
		c = reserved_frames(&res[i]).end;
	}
	return 0;
}

static uint64_t place_bitmaps(const struct mem_range *usable, size_t n_usable,
			      const struct mem_range *res, size_t n_res, uint64_t size)
{
	uint64_t best = 0;

	for (size_t i = 0; i < n_usable; i++) {
		struct mem_range u = usable_frames(&usable[i]);
		uint64_t c = fit_between(MAX(u.start, LOW_RESERVED), u.end, size, res, n_res);
		if (c && (!best || c < best))
			best = c;
	}
	return best;
}

static void fill_bitmaps(struct frame_alloc *fa, uint64_t words,
			 const struct mem_range *usable, size_t n_usable,
			 const struct mem_range *res, size_t n_res)
{
	for (uint64_t w = 0; w < 2 * words; w++)
		fa->owned[w] = 0;
	for (size_t i = 0; i < n_usable; i++) {
		struct mem_range u = usable_frames(&usable[i]);
		if (u.start < u.end)
			set_bits(fa->owned, u.start >> FRAME_SHIFT, u.end >> FRAME_SHIFT, true);
	}
	set_bits(fa->owned, 0, MIN(LOW_RESERVED >> FRAME_SHIFT, fa->n_frames), false);
	for (size_t i = 0; i < n_res; i++) {
		struct mem_range r = reserved_frames(&res[i]);
		uint64_t hi = MIN(r.end >> FRAME_SHIFT, fa->n_frames);
		set_bits(fa->owned, r.start >> FRAME_SHIFT, hi, false);
	}
	set_bits(fa->owned, fa->bitmap_pa >> FRAME_SHIFT,
		 (fa->bitmap_pa + fa->bitmap_bytes) >> FRAME_SHIFT, false);
	fa->free_frames = 0;
	for (uint64_t w = 0; w < words; w++)
		fa->free_frames += popcount64(fa->owned[w]);
}

int frame_init(struct frame_alloc *fa, const struct mem_range *usable, size_t n_usable,
	       const struct mem_range *reserved, size_t n_reserved,
	       void *(*phys_to_virt)(uint64_t pa))
{
	uint64_t top = 0, words;

	*fa = (struct frame_alloc){ .phys_to_virt = phys_to_virt };
	if (!phys_to_virt || check_ranges(usable, n_usable, "usable") ||
	    check_ranges(reserved, n_reserved, "reserved"))
		return E_INVAL;
	fa->usable_bytes = union_bytes(usable, n_usable);
	for (size_t i = 0; i < n_usable; i++) {
		struct mem_range u = usable_frames(&usable[i]);
		if (u.start < u.end)
			top = MAX(top, u.end);
	}
	words = DIV_ROUND_UP(top >> FRAME_SHIFT, WORD_BITS);
	fa->bitmap_bytes = ALIGN_UP(2 * words * sizeof(uint64_t), FRAME_SIZE);
	fa->bitmap_pa = place_bitmaps(usable, n_usable, reserved, n_reserved, fa->bitmap_bytes);
	if (!top || !fa->bitmap_pa) {
		log_err("frame: no room for %#llx bytes of bitmaps in %#llx bytes of usable RAM",
			(unsigned long long)fa->bitmap_bytes, (unsigned long long)fa->usable_bytes);
		return E_NOMEM;
	}
	fa->owned = phys_to_virt(fa->bitmap_pa);
	if (!fa->owned) {
		log_err("frame: bitmaps at %#llx are not mapped",
			(unsigned long long)fa->bitmap_pa);
		return E_NOMEM;
	}
	fa->used = fa->owned + words;
	fa->n_frames = top >> FRAME_SHIFT;
	fill_bitmaps(fa, words, usable, n_usable, reserved, n_reserved);
	fa->hint = scan(fa, 0, fa->n_frames, HIT_FREE);
	return 0;
}

static void take(struct frame_alloc *fa, uint64_t f, uint64_t n)
{
	set_bits(fa->used, f, f + n, true);
	fa->free_frames -= n;
}

uint64_t frame_alloc(struct frame_alloc *fa, unsigned order, uint64_t max_pa)
{
	uint64_t n = BIT(order), lim = fa->n_frames, f;

	if (order > FRAME_MAX_ORDER) {
		log_err("frame: allocation of order %u is above the largest, %u", order,
			FRAME_MAX_ORDER);
		return 0;
	}
	if (max_pa)
		lim = MIN(lim, max_pa >> FRAME_SHIFT);
	/* Skip to the first free frame, round up to the block size, and check the block; a busy
	 * frame inside moves the search to the next block after it. */
	for (f = ALIGN_UP(fa->hint, n); f < lim && lim - f >= n; f = ALIGN_UP(f + 1, n)) {
		f = ALIGN_UP(scan(fa, f, lim, HIT_FREE), n);
		if (f >= lim || lim - f < n)
			break;
		uint64_t busy = scan(fa, f, f + n, HIT_BUSY);
		if (busy == f + n) {
			take(fa, f, n);
			if (order == 0)
				fa->hint = f + 1;
			return f << FRAME_SHIFT;
		}
		f = busy;
	}
	return 0;
}

/* Why freeing [f, f + n) would be wrong (and the first offending frame), or NULL. */
static const char *bad_free(const struct frame_alloc *fa, uint64_t f, uint64_t n, uint64_t *bad)
{
	if (f >= fa->n_frames || fa->n_frames - f < n)
		return "outside memory";
	*bad = scan(fa, f, f + n, HIT_UNOWNED);
	if (*bad < f + n)
		return "reserved";
	*bad = scan(fa, f, f + n, HIT_UNUSED);
	if (*bad < f + n)
		return "not allocated";
	return NULL;
}

void frame_free(struct frame_alloc *fa, uint64_t pa, unsigned order)
{
	uint64_t f = pa >> FRAME_SHIFT, bad = f;
	const char *why;

	if (order > FRAME_MAX_ORDER || !IS_ALIGNED(pa, FRAME_SIZE << order)) {
		log_err("frame: free of %#llx order %u ignored: not a block of that order",
			(unsigned long long)pa, order);
		return;
	}
	why = bad_free(fa, f, BIT(order), &bad);
	if (why) {
		log_err("frame: free of %#llx order %u ignored: frame %#llx is %s",
			(unsigned long long)pa, order, (unsigned long long)bad << FRAME_SHIFT, why);
		return;
	}
	set_bits(fa->used, f, f + BIT(order), false);
	fa->free_frames += BIT(order);
	fa->hint = MIN(fa->hint, f);
}

static bool bit(const uint64_t *map, uint64_t f) { return map[f / WORD_BITS] >> (f % WORD_BITS) & 1; }

struct frame_reserve_ret frame_reserve(struct frame_alloc *fa, uint64_t start, uint64_t end)
{
	struct mem_range r = reserved_frames(&(struct mem_range){ start, end });
	uint64_t lo = r.start >> FRAME_SHIFT, hi = MIN(r.end >> FRAME_SHIFT, fa->n_frames);
	struct frame_reserve_ret ret = { 0, 0 };

	for (uint64_t f = lo; f < hi; f++) {
		if (bit(fa->owned, f) && bit(fa->used, f))
			return (struct frame_reserve_ret){ E_BUSY, f << FRAME_SHIFT };
		ret.taken += bit(fa->owned, f);
	}
	if (lo < hi)
		set_bits(fa->owned, lo, hi, false);
	fa->free_frames -= ret.taken;
	ret.taken <<= FRAME_SHIFT;
	return ret;
}

uint64_t frame_free_bytes(const struct frame_alloc *fa)
{
	return fa->free_frames << FRAME_SHIFT;
}

uint64_t frame_usable_bytes(const struct frame_alloc *fa)
{
	return fa->usable_bytes;
}
