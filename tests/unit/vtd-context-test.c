/*
 * Legacy root and context entries (VT-d 9.1 figure "Root-entry format", 9.3 figure
 * "Context-entry format"): known encodings worked out from the bit layouts, round trips,
 * bad arguments and domain-id bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "iommu/context.h"
#include "kernel/lib/error.h"

/* 9.1: P is bit 0, CTP bits 63:12; the high half is reserved in legacy mode. */
static void root_entry(void **state)
{
	struct vtd_root_ret r = vtd_root_encode(0x12345000);

	assert_int_equal(r.err, 0);
	assert_int_equal(r.e.lo, 0x12345001);
	assert_int_equal(r.e.hi, 0);
	assert_true(vtd_root_present(r.e));
	assert_int_equal(vtd_root_ctp(r.e), 0x12345000);
	assert_false(vtd_root_reserved(r.e));
	/* The highest table address: bit 51. */
	r = vtd_root_encode(0x000ffffffffff000ull);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.e.lo, 0x000ffffffffff001ull);

	assert_int_equal(vtd_root_encode(0x12345800).err, E_INVAL);
	assert_int_equal(vtd_root_encode(1ull << 52).err, E_INVAL);
	assert_true(vtd_root_reserved((struct vtd_root_entry){ 0x1003, 0 }));
	assert_true(vtd_root_reserved((struct vtd_root_entry){ 0x1001, 1 }));
	/* Addresses stop at bit 51 (VTD_MAX_PA_BITS): bit 52 and up are reserved. */
	assert_false(vtd_root_reserved((struct vtd_root_entry){ 0x000ffffffffff001ull, 0 }));
	assert_true(vtd_root_reserved((struct vtd_root_entry){ BIT(52) | 0x1001, 0 }));
	assert_true(vtd_root_reserved((struct vtd_root_entry){ BIT(63) | 0x1001, 0 }));
	assert_false(vtd_root_present((struct vtd_root_entry){ 0x1000, 0 }));
}

/*
 * 9.3: low P 0, FPD 1, TT 3:2, SLPTPTR 63:12; high AW 66:64, AVAIL 70:67, DID 87:72.
 * Domain 0x1234, 4 levels (AW 2), table at 0xabcde000, translated: lo 0xabcde001,
 * hi 0x1234 << 8 | 2.
 */
static void context_known(void **state)
{
	struct vtd_ctx c = { .present = true, .tt = VTD_TT_UNTRANSLATED, .slptptr = 0xabcde000,
			     .levels = 4, .did = 0x1234 };
	struct vtd_ctx_ret r = vtd_ctx_encode(&c, 16);

	assert_int_equal(r.err, 0);
	assert_int_equal(r.e.lo, 0xabcde001);
	assert_int_equal(r.e.hi, 0x123402);
	assert_false(vtd_ctx_reserved(r.e));

	/* Pass-through, FPD, 3 levels, AVAIL 0xf, domain 1: TT 10b, AW 1. */
	c = (struct vtd_ctx){ .present = true, .fpd = true, .tt = VTD_TT_PASSTHROUGH,
			      .levels = 3, .did = 1, .avail = 0xf };
	r = vtd_ctx_encode(&c, 8);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.e.lo, 0xb);
	assert_int_equal(r.e.hi, 0x179);
	/* Device-TLB allowed (TT 01b), 5 levels (AW 3). */
	c = (struct vtd_ctx){ .present = true, .tt = VTD_TT_ALL, .levels = 5, .slptptr = 0x1000 };
	r = vtd_ctx_encode(&c, 16);
	assert_int_equal(r.e.lo, 0x1005);
	assert_int_equal(r.e.hi, 3);
	/* Not present: everything but P may still be set, P is clear. */
	c.present = false;
	assert_int_equal(vtd_ctx_encode(&c, 16).e.lo, 0x1004);
}

static void context_bounds(void **state)
{
	struct vtd_ctx c = { .present = true, .levels = 4, .slptptr = 0x5000 };

	/* Domain id width from CAP.ND: 8 bits take 0..255, 16 bits take 0xffff. */
	c.did = 0xff;
	assert_int_equal(vtd_ctx_encode(&c, 8).err, 0);
	c.did = 0x100;
	assert_int_equal(vtd_ctx_encode(&c, 8).err, E_RANGE);
	c.did = 0xffff;
	struct vtd_ctx_ret r = vtd_ctx_encode(&c, 16);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.e.hi, 0xffff02);
	assert_int_equal(vtd_ctx_decode(r.e).did, 0xffff);
	c.did = 0x10;
	assert_int_equal(vtd_ctx_encode(&c, 4).err, E_RANGE);
	c.did = 0xf;
	assert_int_equal(vtd_ctx_encode(&c, 4).err, 0);

	c.levels = 2;
	assert_int_equal(vtd_ctx_encode(&c, 16).err, E_INVAL);
	c.levels = 6;
	assert_int_equal(vtd_ctx_encode(&c, 16).err, E_INVAL);
	c.levels = 3;
	c.tt = 3;
	assert_int_equal(vtd_ctx_encode(&c, 16).err, E_INVAL);
	c.tt = VTD_TT_UNTRANSLATED;
	c.slptptr = 0x5008;
	assert_int_equal(vtd_ctx_encode(&c, 16).err, E_INVAL);
	c.slptptr = 1ull << 52;
	assert_int_equal(vtd_ctx_encode(&c, 16).err, E_INVAL);
	c.slptptr = 0x5000;
	c.avail = 0x10;
	assert_int_equal(vtd_ctx_encode(&c, 16).err, E_INVAL);
}

static void context_round_trip(void **state)
{
	srand(7);
	for (int i = 0; i < 10000; i++) {
		struct vtd_ctx c = {
			.present = rand() & 1,
			.fpd = rand() & 1,
			.tt = (enum vtd_tt)(rand() % 3),
			.slptptr = (((uint64_t)rand() << 31 ^ rand()) << 12) & VTD_CTX_SLPTPTR &
				   GENMASK(51, 0),
			.levels = 3 + rand() % 3,
			.did = rand() & 0xffff,
			.avail = rand() & 0xf,
		};
		struct vtd_ctx_ret r = vtd_ctx_encode(&c, 16);
		assert_int_equal(r.err, 0);
		assert_false(vtd_ctx_reserved(r.e));
		struct vtd_ctx d = vtd_ctx_decode(r.e);
		assert_int_equal(d.present, c.present);
		assert_int_equal(d.fpd, c.fpd);
		assert_int_equal(d.tt, c.tt);
		assert_int_equal(d.slptptr, c.slptptr);
		assert_int_equal(d.levels, c.levels);
		assert_int_equal(d.did, c.did);
		assert_int_equal(d.avail, c.avail);
	}
}

static void context_reserved(void **state)
{
	struct vtd_ctx_entry e = { .lo = 0x1001, .hi = 0x102 };

	assert_false(vtd_ctx_reserved(e));
	assert_true(vtd_ctx_reserved((struct vtd_ctx_entry){ e.lo | BIT(4), e.hi }));
	assert_true(vtd_ctx_reserved((struct vtd_ctx_entry){ e.lo | BIT(52), e.hi }));
	assert_true(vtd_ctx_reserved((struct vtd_ctx_entry){ e.lo, e.hi | BIT(7) }));
	assert_true(vtd_ctx_reserved((struct vtd_ctx_entry){ e.lo, e.hi | BIT(24) }));
	/* AW 0 and 4..7 are not 3/4/5-level encodings. */
	assert_int_equal(vtd_ctx_decode((struct vtd_ctx_entry){ 1, 0 }).levels, 0);
	assert_int_equal(vtd_ctx_decode((struct vtd_ctx_entry){ 1, 4 }).levels, 0);
}

/* A requester id picks root entry bus and context entry devfn: 03:03.0 is sid 0x0318. */
static void locate(void **state)
{
	struct vtd_ctx_loc l = vtd_ctx_locate(0x0318);

	assert_int_equal(l.bus, 3);
	assert_int_equal(l.devfn, 0x18);
	l = vtd_ctx_locate(0xffff);
	assert_int_equal(l.bus, VTD_ROOT_ENTRIES - 1);
	assert_int_equal(l.devfn, VTD_CTX_ENTRIES - 1);
	assert_int_equal(VTD_ROOT_ENTRIES * sizeof(struct vtd_root_entry), 4096);
	assert_int_equal(VTD_CTX_ENTRIES * sizeof(struct vtd_ctx_entry), 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(root_entry),
		cmocka_unit_test(context_known),
		cmocka_unit_test(context_bounds),
		cmocka_unit_test(context_round_trip),
		cmocka_unit_test(context_reserved),
		cmocka_unit_test(locate),
	};
	return cmocka_run_group_tests_name("vtd-context", tests, NULL, NULL);
}
