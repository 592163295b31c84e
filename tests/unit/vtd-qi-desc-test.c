/*
 * Queued-invalidation descriptors (VT-d 6.5.2.1 context-cache, 6.5.2.3 IOTLB, 6.5.2.7
 * interrupt entry cache, 6.5.2.8 wait; figures of each descriptor's format): known values from
 * the bit layouts, refusals, decode round trips, and the AM split of IOVA ranges: property
 * tests over random ranges against a brute-force minimum.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "iommu/qi_desc.h"
#include "kernel/lib/error.h"

#define PG 0x1000ull

/* 6.5.2.1: type 1 in 3:0, G 5:4 (1 global, 2 domain, 3 device), DID 31:16, SID 47:32,
 * FM 49:48; the high half is reserved. */
static void context_cache(void **state)
{
	struct vtd_qi_desc d = vtd_qi_cc_global();
	assert_int_equal(d.lo, 0x11);
	assert_int_equal(d.hi, 0);
	d = vtd_qi_cc_domain(5);
	assert_int_equal(d.lo, 0x50021);
	assert_int_equal(d.hi, 0);
	struct vtd_qi_ret r = vtd_qi_cc_device(0xffff, 0x0318, 3);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.d.lo, 0x00030318ffff0031ull);
	assert_int_equal(r.d.hi, 0);
	assert_int_equal(vtd_qi_cc_device(1, 0x0318, 4).err, E_INVAL);

	struct vtd_qi_info i = vtd_qi_decode(r.d);
	assert_int_equal(i.type, VTD_QI_TYPE_CC);
	assert_int_equal(i.g, VTD_CC_DEVICE);
	assert_int_equal(i.did, 0xffff);
	assert_int_equal(i.sid, 0x0318);
	assert_int_equal(i.fm, 3);
	/* FM 1 (ignore SID bit 2): bits 49:48 = 01b. */
	r = vtd_qi_cc_device(2, 0x0010, 1);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.d.lo, 0x0001001000020031ull);
	i = vtd_qi_decode(r.d);
	assert_int_equal(i.fm, 1);
	assert_int_equal(i.did, 2);
	assert_int_equal(i.sid, 0x10);
}

/* 6.5.2.3: type 2, G 5:4, DW 6, DR 7, DID 31:16; high: AM 5:0, IH 6, ADDR 63:12. */
static void iotlb(void **state)
{
	assert_int_equal(vtd_qi_iotlb_global(false, false).lo, 0x12);
	assert_int_equal(vtd_qi_iotlb_global(true, true).lo, 0xd2);
	struct vtd_qi_desc d = vtd_qi_iotlb_domain(0x1234, true, false);
	assert_int_equal(d.lo, 0x123400a2);
	assert_int_equal(d.hi, 0);

	struct vtd_qi_ret r = vtd_qi_iotlb_page(7, 0x7fff0000ull, 4, true, false, true);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.d.lo, 0x70072);
	assert_int_equal(r.d.hi, 0x7fff0044ull);
	struct vtd_qi_info i = vtd_qi_decode(r.d);
	assert_int_equal(i.type, VTD_QI_TYPE_IOTLB);
	assert_int_equal(i.g, VTD_IOTLB_PAGE);
	assert_int_equal(i.did, 7);
	assert_int_equal(i.addr, 0x7fff0000ull);
	assert_int_equal(i.am, 4);
	assert_true(i.ih && i.dw && !i.dr);

	/* The address must be aligned to 2^AM pages. */
	assert_int_equal(vtd_qi_iotlb_page(7, 0x7fff8000ull, 4, false, false, false).err, E_INVAL);
	assert_int_equal(vtd_qi_iotlb_page(7, 0x123, 0, false, false, false).err, E_INVAL);
	assert_int_equal(vtd_qi_iotlb_page(7, 0, 64, false, false, false).err, E_INVAL);
	/* The largest mask: everything from 0. */
	r = vtd_qi_iotlb_page(7, 0, 63, false, false, false);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.d.hi, 63);
	assert_int_equal(vtd_qi_iotlb_page(7, PG, 63, false, false, false).err, E_INVAL);
}

/* 6.5.2.7: type 4, G bit 4 (0 global, 1 index), IM 31:27, IIDX 47:32. */
static void iec(void **state)
{
	struct vtd_qi_desc d = vtd_qi_iec_global();
	assert_int_equal(d.lo, 0x4);
	assert_int_equal(d.hi, 0);
	struct vtd_qi_ret r = vtd_qi_iec_index(0x20, 2);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.d.lo, 0x0000002010000014ull);
	r = vtd_qi_iec_index(0xffff, 0);        /* the highest index, alone */
	assert_int_equal(r.d.lo, 0x0000ffff00000014ull);
	struct vtd_qi_info i = vtd_qi_decode(r.d);
	assert_int_equal(i.type, VTD_QI_TYPE_IEC);
	assert_int_equal(i.g, 1);
	assert_int_equal(i.index, 0xffff);
	assert_int_equal(i.im, 0);
	r = vtd_qi_iec_index(0xfff0, 4);
	assert_int_equal(r.err, 0);
	assert_int_equal(vtd_qi_decode(r.d).im, 4);
	assert_int_equal(vtd_qi_iec_index(0x21, 1).err, E_INVAL);
	assert_int_equal(vtd_qi_iec_index(0, 32).err, E_INVAL);
	assert_int_equal(vtd_qi_decode(vtd_qi_iec_global()).g, 0);
}

/* One descriptor for a batch of entries: the smallest aligned block over them, else global. */
static void iec_cover(void **state)
{
	struct vtd_qi_info i = vtd_qi_decode(vtd_qi_iec_cover(0x20, 0x3f, 15));
	assert_int_equal(i.g, 1);                       /* a block of 32 */
	assert_int_equal(i.index, 0x20);
	assert_int_equal(i.im, 5);
	i = vtd_qi_decode(vtd_qi_iec_cover(0x45, 0x45, 15));
	assert_int_equal(i.index, 0x45);                /* one entry */
	assert_int_equal(i.im, 0);
	i = vtd_qi_decode(vtd_qi_iec_cover(0x1f, 0x20, 15));
	assert_int_equal(i.index, 0);                   /* straddles 0x20: 64 from 0 */
	assert_int_equal(i.im, 6);
	i = vtd_qi_decode(vtd_qi_iec_cover(0, 0xffff, 16));
	assert_int_equal(i.g, 1);
	assert_int_equal(i.im, 16);
	/* Past MHMV, or nothing in the range: global. */
	assert_int_equal(vtd_qi_iec_cover(0x1f, 0x20, 5).lo, vtd_qi_iec_global().lo);
	assert_int_equal(vtd_qi_iec_cover(0x21, 0x20, 15).lo, vtd_qi_iec_global().lo);
	/* Whatever the range, the block holds it and is no bigger than it must be. */
	for (unsigned a = 0; a < 300; a += 7)
		for (unsigned b = a; b < 300; b += 5) {
			i = vtd_qi_decode(vtd_qi_iec_cover((uint16_t)a, (uint16_t)b, 15));
			unsigned size = 1u << i.im;
			assert_true(i.g == 1 && i.index % size == 0);
			assert_true(i.index <= a && b < i.index + size);
			assert_true(i.im == 0 || a / (size / 2) != b / (size / 2));
		}
}

/* 6.5.2.8: type 5, IF 4, SW 5, FN 6, PD 7, status data 63:32; high: status address 63:2. */
static void wait(void **state)
{
	struct vtd_qi_ret r = vtd_qi_wait(VTD_QI_WAIT_SW, 0x1, 0x12345678);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.d.lo, 0x0000000100000025ull);
	assert_int_equal(r.d.hi, 0x12345678);
	r = vtd_qi_wait(VTD_QI_WAIT_SW | VTD_QI_WAIT_FN, 0xdeadbeef, 0xfffffffffffffffcull);
	assert_int_equal(r.d.lo, 0xdeadbeef00000065ull);
	struct vtd_qi_info i = vtd_qi_decode(r.d);
	assert_int_equal(i.type, VTD_QI_TYPE_WAIT);
	assert_int_equal(i.flags, VTD_QI_WAIT_SW | VTD_QI_WAIT_FN);
	assert_int_equal(i.status_data, 0xdeadbeef);
	assert_int_equal(i.addr, 0xfffffffffffffffcull);
	/* PD (bit 7) with SW: 0x80 | 0x20 | type 5. */
	r = vtd_qi_wait(VTD_QI_WAIT_SW | VTD_QI_WAIT_PD, 7, 0x2000);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.d.lo, 0x00000007000000a5ull);
	assert_int_equal(r.d.hi, 0x2000);
	assert_int_equal(vtd_qi_decode(r.d).flags, VTD_QI_WAIT_SW | VTD_QI_WAIT_PD);
	r = vtd_qi_wait(VTD_QI_WAIT_IF, 0, 0);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.d.lo, 0x15);
	assert_int_equal(r.d.hi, 0);

	assert_int_equal(vtd_qi_wait(VTD_QI_WAIT_SW | VTD_QI_WAIT_IF, 1, 0x1000).err, E_INVAL);
	assert_int_equal(vtd_qi_wait(VTD_QI_WAIT_SW, 1, 0x1002).err, E_INVAL);
	assert_int_equal(vtd_qi_wait(VTD_QI_WAIT_FN, 0, 0x1000).err, E_INVAL);
	assert_int_equal(vtd_qi_wait(VTD_QI_WAIT_FN, 5, 0).err, E_INVAL);
	assert_int_equal(vtd_qi_wait(BIT(8), 0, 0).err, E_INVAL);
}

/* ---- AM splitting ---------------------------------------------------------------------- */

/* Fewest naturally aligned power-of-two blocks (each <= 2^mamv pages) tiling [a, a+n) pages,
 * by dynamic programming over positions: the reference the greedy split must match. */
static unsigned brute_min(uint64_t a, uint64_t n, unsigned mamv)
{
	static unsigned best[4097];

	assert_true(n <= 4096);
	best[0] = 0;
	for (uint64_t end = 1; end <= n; end++) {
		best[end] = ~0u;
		for (unsigned k = 0; k <= mamv && (1ull << k) <= end; k++) {
			uint64_t start = end - (1ull << k);
			if (IS_ALIGNED(a + start, 1ull << k) && best[start] != ~0u &&
			    best[start] + 1 < best[end])
				best[end] = best[start] + 1;
		}
	}
	return best[n];
}

/* Every page of the range covered exactly once, nothing outside it, each block aligned to its
 * size and at most 2^mamv pages. */
static void check_plan(uint64_t iova, uint64_t size, unsigned mamv,
		       const struct vtd_inv_block *b, unsigned n)
{
	uint64_t at = iova;

	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(b[i].addr, at);
		assert_true(b[i].am <= mamv);
		assert_true(IS_ALIGNED(b[i].addr, PG << b[i].am));
		at += PG << b[i].am;
	}
	assert_int_equal(at, iova + size);
}

static uint64_t rnd(uint64_t n)
{
	return ((uint64_t)rand() << 31 ^ (uint64_t)rand()) % n;
}

static void split_known(void **state)
{
	struct vtd_inv_block b[64];

	/* One aligned block. */
	struct vtd_inv_plan p = vtd_iotlb_split(0x200000, 0x200000, true, 18, b, 64);
	assert_int_equal(p.err, 0);
	assert_false(p.domain);
	assert_int_equal(p.n, 1);
	assert_int_equal(b[0].addr, 0x200000);
	assert_int_equal(b[0].am, 9);
	/* Pages 3..9: 3 (1), 4-7 (4), 8-9 (2). */
	p = vtd_iotlb_split(3 * PG, 7 * PG, true, 18, b, 64);
	assert_int_equal(p.n, 3);
	assert_int_equal(b[0].am, 0);
	assert_int_equal(b[1].addr, 4 * PG);
	assert_int_equal(b[1].am, 2);
	assert_int_equal(b[2].addr, 8 * PG);
	assert_int_equal(b[2].am, 1);
	/* MAMV 0: one page each. */
	p = vtd_iotlb_split(0, 5 * PG, true, 0, b, 64);
	assert_int_equal(p.n, 5);
	/* Too many for max, or no PSI: domain-selective. */
	p = vtd_iotlb_split(0, 5 * PG, true, 0, b, 4);
	assert_true(p.domain);
	assert_int_equal(p.n, 0);
	p = vtd_iotlb_split(0, PG, false, 18, b, 64);
	assert_true(p.domain);
	/* Empty, misaligned, wrapping. */
	p = vtd_iotlb_split(PG, 0, false, 18, b, 64);
	assert_int_equal(p.err, 0);
	assert_false(p.domain);
	assert_int_equal(p.n, 0);
	assert_int_equal(vtd_iotlb_split(0x800, PG, true, 18, b, 64).err, E_INVAL);
	assert_int_equal(vtd_iotlb_split(0, 0x800, true, 18, b, 64).err, E_INVAL);
	assert_int_equal(vtd_iotlb_split(~0xfffull, 2 * PG, true, 18, b, 64).err, E_INVAL);
	/* The whole 64-bit space less its last page, and its last page alone. */
	p = vtd_iotlb_split(0, ~0xfffull, true, 63, b, 64);
	assert_int_equal(p.n, 52);
	check_plan(0, ~0xfffull, 63, b, p.n);
	p = vtd_iotlb_split(~0xfffull, PG, true, 63, b, 64);
	assert_int_equal(p.n, 1);
	/* A huge range with a small MAMV is refused after max + 1 blocks, not walked. */
	p = vtd_iotlb_split(0, 1ull << 62, true, 0, b, 64);
	assert_true(p.domain);
}

static void split_random(void **state)
{
	struct vtd_inv_block b[64];

	srand(99);
	for (int t = 0; t < 3000; t++) {
		uint64_t first = rnd(1 << 20);
		uint64_t n = 1 + rnd(t % 10 ? 64 : 4096);
		unsigned mamv = rnd(12);
		uint64_t iova = first * PG, size = n * PG;
		struct vtd_inv_plan p = vtd_iotlb_split(iova, size, true, mamv, b, 64);
		unsigned want = brute_min(first, n, mamv);

		assert_int_equal(p.err, 0);
		if (want > 64) {
			assert_true(p.domain);
			continue;
		}
		assert_false(p.domain);
		assert_int_equal(p.n, want);
		check_plan(iova, size, mamv, b, p.n);
		/* Exactly enough room works, one less falls back to domain-selective. */
		assert_int_equal(vtd_iotlb_split(iova, size, true, mamv, b, want).n, want);
		assert_true(vtd_iotlb_split(iova, size, true, mamv, b, want - 1).domain);
	}
}

/* The range helper: page-selective descriptors from CAP.PSI/MAMV/DRD/DWD, or one DSI. */
static void range_descriptors(void **state)
{
	struct vtd_caps c = { .psi = true, .mamv = 18, .drd = true, .dwd = true };
	struct vtd_qi_desc d[8];

	int n = vtd_qi_iotlb_range(&c, 3, 3 * PG, 7 * PG, true, d, 8);
	assert_int_equal(n, 3);
	for (int i = 0; i < n; i++) {
		struct vtd_qi_info info = vtd_qi_decode(d[i]);
		assert_int_equal(info.type, VTD_QI_TYPE_IOTLB);
		assert_int_equal(info.g, VTD_IOTLB_PAGE);
		assert_int_equal(info.did, 3);
		assert_true(info.ih && info.dr && info.dw);
	}
	assert_int_equal(vtd_qi_decode(d[1]).addr, 4 * PG);
	assert_int_equal(vtd_qi_decode(d[1]).am, 2);

	/* Page-selective descriptors take DR from CAP.DRD and DW from CAP.DWD, each its own. */
	c.drd = false;
	assert_int_equal(vtd_qi_iotlb_range(&c, 3, 0, PG, false, d, 8), 1);
	assert_int_equal(d[0].lo, 0x30072);     /* type 2, G page, DW only, DID 3 */
	assert_int_equal(d[0].hi, 0);
	c = (struct vtd_caps){ .psi = true, .mamv = 18, .drd = true, .dwd = false };
	assert_int_equal(vtd_qi_iotlb_range(&c, 3, 0, PG, true, d, 8), 1);
	assert_int_equal(d[0].lo, 0x300b2);     /* DR only */
	assert_int_equal(d[0].hi, 0x40);        /* IH */

	/* Too many blocks for max: one domain-selective descriptor, DR/DW from the caps. */
	assert_int_equal(vtd_qi_iotlb_range(&c, 3, 3 * PG, 7 * PG, false, d, 2), 1);
	assert_int_equal(d[0].lo, 0x300a2);     /* type 2, G domain, DR, DID 3 */
	assert_int_equal(d[0].hi, 0);
	c.drd = false;
	c.dwd = true;
	assert_int_equal(vtd_qi_iotlb_range(&c, 3, 3 * PG, 7 * PG, false, d, 2), 1);
	assert_int_equal(d[0].lo, 0x30062);     /* DW */
	c.psi = false;
	assert_int_equal(vtd_qi_iotlb_range(&c, 3, 0, PG, false, d, 8), 1);
	assert_int_equal(vtd_qi_decode(d[0]).g, VTD_IOTLB_DOMAIN);
	assert_int_equal(d[0].lo, 0x30062);
	assert_int_equal(vtd_qi_iotlb_range(&c, 3, 0, 0, false, d, 8), 0);
	assert_int_equal(vtd_qi_iotlb_range(&c, 3, 0x10, PG, false, d, 8), E_INVAL);
	assert_int_equal(vtd_qi_iotlb_range(&c, 3, 0, PG, false, d, 0), E_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(context_cache),
		cmocka_unit_test(iotlb),
		cmocka_unit_test(iec),
		cmocka_unit_test(iec_cover),
		cmocka_unit_test(wait),
		cmocka_unit_test(split_known),
		cmocka_unit_test(split_random),
		cmocka_unit_test(range_descriptors),
	};
	return cmocka_run_group_tests_name("vtd-qi-desc", tests, NULL, NULL);
}
