/*
 * Interrupt-remapping table entries (VT-d 9.10, remapped-format IRTE figure: P 0, FPD 1, DM 2,
 * RH 3, TM 4, DLM 7:5, AVAIL 11:8, IM 15, V 23:16, DST 63:32; SID 79:64, SQ 81:80,
 * SVT 83:82): known encodings, xAPIC and x2APIC destinations, source validation, round trips,
 * reserved bits, and the update plan: no present entry is ever half old, half new.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "iommu/irte.h"
#include "kernel/lib/error.h"

/* Vector 0x31 to APIC id 2, fixed, physical, edge; only 00:03.0 (SID 0x18) may send it. */
static void known_xapic(void **state)
{
	struct vtd_irte_fields f = { .present = true, .vector = 0x31, .dst = 2,
				     .svt = VTD_SVT_SID, .sid = 0x18 };
	struct vtd_irte_ret r = vtd_irte_encode(&f, false);

	assert_int_equal(r.err, 0);
	assert_int_equal(r.e.lo, 0x0000020000310001ull);      /* APIC id in DST 15:8 */
	assert_int_equal(r.e.hi, 0x40018);
	assert_false(vtd_irte_reserved(r.e, false));
	assert_false(vtd_irte_posted(r.e));

	/* Every low-half flag: FPD, logical, RH, level, lowest priority, AVAIL 0xa. */
	f = (struct vtd_irte_fields){ .present = true, .fpd = true, .dm_logical = true, .rh = true,
				      .level = true, .dlm = VTD_DLM_LOWEST, .avail = 0xa,
				      .vector = 0xff, .dst = 0xff };
	r = vtd_irte_encode(&f, false);
	assert_int_equal(r.e.lo, 0x0000ff0000ff0a3full);
	assert_int_equal(r.e.hi, 0);
}

static void x2apic(void **state)
{
	struct vtd_irte_fields f = { .present = true, .vector = 0x40, .dst = 0x12345678 };
	struct vtd_irte_ret r = vtd_irte_encode(&f, true);

	assert_int_equal(r.err, 0);
	assert_int_equal(r.e.lo, 0x1234567800400001ull);
	assert_int_equal(vtd_irte_decode(r.e, true).dst, 0x12345678);
	/* Destinations above 255 need x2APIC mode. */
	f.dst = 256;
	assert_int_equal(vtd_irte_encode(&f, false).err, E_RANGE);
	r = vtd_irte_encode(&f, true);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.e.lo >> 32, 256);
	f.dst = 0xffffffff;
	assert_int_equal(vtd_irte_decode(vtd_irte_encode(&f, true).e, true).dst, 0xffffffff);
	/* An x2APIC entry read in xAPIC mode has reserved destination bits set. */
	f.dst = 0x10000;
	assert_true(vtd_irte_reserved(vtd_irte_encode(&f, true).e, false));
	assert_false(vtd_irte_reserved(vtd_irte_encode(&f, true).e, true));
	/* Decoded in xAPIC mode, only DST 15:8 is the APIC id: 0x12345678 reads as 0x56. */
	f.dst = 0x12345678;
	assert_int_equal(vtd_irte_decode(vtd_irte_encode(&f, true).e, false).dst, 0x56);
}

static void source_validation(void **state)
{
	/* SVT 1 with SQ 3: ignore function bits 2:0 of 00:03.x. */
	struct vtd_irte_fields f = { .present = true, .vector = 0x30, .svt = VTD_SVT_SID,
				     .sq = VTD_SQ_IGNORE_2_0, .sid = 0x18 };
	assert_int_equal(vtd_irte_encode(&f, false).e.hi, 0x70018);
	/* SVT 2: buses 3 to 5 behind a bridge. */
	f = (struct vtd_irte_fields){ .present = true, .vector = 0x30, .svt = VTD_SVT_BUS,
				      .sid = vtd_irte_bus_range(3, 5) };
	assert_int_equal(vtd_irte_encode(&f, false).e.hi, 0x80305);
	/* The largest SID. */
	f.svt = VTD_SVT_SID;
	f.sid = 0xffff;
	assert_int_equal(vtd_irte_encode(&f, false).e.hi, 0x4ffff);

	f.svt = 3;
	assert_int_equal(vtd_irte_encode(&f, false).err, E_INVAL);
	f.svt = VTD_SVT_BUS;
	f.sq = 1;                               /* SQ only qualifies SVT 1 */
	assert_int_equal(vtd_irte_encode(&f, false).err, E_INVAL);
	f.svt = VTD_SVT_SID;
	f.sq = 4;
	assert_int_equal(vtd_irte_encode(&f, false).err, E_INVAL);
	f.sq = 0;
	f.dlm = 3;
	assert_int_equal(vtd_irte_encode(&f, false).err, E_INVAL);
	f.dlm = 6;
	assert_int_equal(vtd_irte_encode(&f, false).err, E_INVAL);
	f.dlm = VTD_DLM_NMI;
	f.avail = 0x10;
	assert_int_equal(vtd_irte_encode(&f, false).err, E_INVAL);
}

static void reserved_bits(void **state)
{
	struct vtd_irte e = { 0x0000020000310001ull, 0x40018 };

	assert_false(vtd_irte_reserved(e, false));
	assert_true(vtd_irte_reserved((struct vtd_irte){ e.lo | BIT(12), e.hi }, false));
	assert_true(vtd_irte_reserved((struct vtd_irte){ e.lo | BIT(24), e.hi }, false));
	/* Each end of each reserved field: low 14:12 and 31:24, high 63:20. */
	assert_true(vtd_irte_reserved((struct vtd_irte){ e.lo | BIT(14), e.hi }, false));
	assert_true(vtd_irte_reserved((struct vtd_irte){ e.lo | BIT(31), e.hi }, true));
	assert_true(vtd_irte_reserved((struct vtd_irte){ e.lo, e.hi | BIT(63) }, true));
	/* xAPIC mode: DST 7:0 and 31:16 reserved; the same bits are fine in x2APIC mode. */
	assert_true(vtd_irte_reserved((struct vtd_irte){ e.lo | BIT(39), e.hi }, false));
	assert_true(vtd_irte_reserved((struct vtd_irte){ e.lo | BIT(63), e.hi }, false));
	assert_false(vtd_irte_reserved((struct vtd_irte){ e.lo | BIT(63) | BIT(32), e.hi }, true));
	/* IM (bit 15) is not reserved: it selects the posted format. */
	assert_false(vtd_irte_reserved((struct vtd_irte){ e.lo | BIT(15), e.hi }, false));
	assert_true(vtd_irte_reserved((struct vtd_irte){ e.lo | BIT(32), e.hi }, false));
	assert_true(vtd_irte_reserved((struct vtd_irte){ e.lo, e.hi | BIT(20) }, false));
	assert_true(vtd_irte_reserved((struct vtd_irte){ e.lo, e.hi | 3ull << 18 }, false));
	assert_true(vtd_irte_reserved((struct vtd_irte){ e.lo | 3ull << 5, e.hi }, false));
	assert_true(vtd_irte_posted((struct vtd_irte){ e.lo | BIT(15), e.hi }));
}

static uint32_t rnd32(void)
{
	return (uint32_t)rand() << 16 ^ (uint32_t)rand();
}

/* A destination the mode can name: a 32-bit x2APIC id, or an 8-bit xAPIC one. */
static uint32_t random_dst(bool eim)
{
	return eim ? rnd32() : (uint32_t)(rand() & 0xff);
}

static struct vtd_irte_fields random_fields(bool eim)
{
	static const uint8_t dlms[] = { 0, 1, 2, 4, 5, 7 };
	struct vtd_irte_fields f = {
		.present = rand() & 1, .fpd = rand() & 1, .dm_logical = rand() & 1,
		.rh = rand() & 1, .level = rand() & 1, .dlm = dlms[rand() % 6],
		.avail = rand() & 0xf, .vector = rand() & 0xff,
		.dst = random_dst(eim), .svt = rand() % 3, .sid = rand() & 0xffff,
	};
	if (f.svt == VTD_SVT_SID)
		f.sq = rand() & 3;
	return f;
}

static void round_trip(void **state)
{
	srand(3);
	for (int i = 0; i < 20000; i++) {
		bool eim = i & 1;
		struct vtd_irte_fields f = random_fields(eim);
		struct vtd_irte_ret r = vtd_irte_encode(&f, eim);
		assert_int_equal(r.err, 0);
		assert_false(vtd_irte_reserved(r.e, eim));
		struct vtd_irte_fields d = vtd_irte_decode(r.e, eim);
		assert_memory_equal(&d, &f, sizeof(f));
	}
}

/* A retarget is the full encoder with a new vector and destination, in both modes, and
 * changes only the low half. */
/* A whole entry retargeted as ir_table.c does it: the DST field, then the low half. */
static struct vtd_irte_ret retarget(struct vtd_irte e, uint8_t vector, uint32_t dst, bool eim)
{
	struct vtd_irte_dst_ret d = vtd_irte_dst(dst, eim);

	if (d.err)
		return (struct vtd_irte_ret){ .err = d.err };
	e.lo = vtd_irte_lo_retarget(e.lo, vector, d.dst);
	return (struct vtd_irte_ret){ .e = e };
}

static void retarget_matches_encoder(void **state)
{
	srand(5);
	for (int i = 0; i < 20000; i++) {
		bool eim = i & 1;
		struct vtd_irte_fields f = random_fields(eim);
		struct vtd_irte from = vtd_irte_encode(&f, eim).e;
		f.vector = rand() & 0xff;
		f.dst = random_dst(eim);
		struct vtd_irte_ret want = vtd_irte_encode(&f, eim);
		struct vtd_irte_ret got = retarget(from, f.vector, f.dst, eim);
		assert_int_equal(got.err, 0);
		assert_int_equal(got.e.lo, want.e.lo);
		assert_int_equal(got.e.hi, from.hi);
		assert_int_equal(vtd_irte_update_plan(from, got.e).n, from.lo != got.e.lo);
	}
}

static void retarget_xapic_range(void **state)
{
	struct vtd_irte_fields f = { .present = true, .vector = 0x31, .dst = 2,
				     .svt = VTD_SVT_SID, .sid = 0x18 };
	struct vtd_irte e = vtd_irte_encode(&f, false).e;
	struct vtd_irte_ret r = retarget(e, 0x42, 0xff, false);

	assert_int_equal(r.err, 0);
	assert_int_equal(r.e.lo, 0x0000ff0000420001ull);      /* APIC id in DST 15:8 */
	assert_int_equal(retarget(e, 0x42, 0x100, false).err, E_RANGE);
	assert_int_equal(retarget(e, 0x42, 0x100, true).e.lo, 0x0000010000420001ull);
	assert_int_equal(vtd_irte_dst(0x100, false).err, E_RANGE);
	assert_int_equal(vtd_irte_dst(0xff, false).dst, 0x0000ff0000000000ull);
	assert_int_equal(vtd_irte_dst(0x100, true).dst, 0x0000010000000000ull);
	/* Only V and DST change: P, the other fields and reserved bits stay as they are. */
	assert_int_equal(vtd_irte_lo_retarget(~0ull, 0x42, vtd_irte_dst(2, false).dst),
			 ~(VTD_IRTE_V | VTD_IRTE_DST) | 0x0000020000420000ull);
}

/* A redirect is a retarget to the vector the entry has. */
static void redirect_is_retarget_with_same_vector(void **state)
{
	srand(6);
	for (int i = 0; i < 20000; i++) {
		bool eim = i & 1;
		struct vtd_irte_fields f = random_fields(eim);
		struct vtd_irte from = vtd_irte_encode(&f, eim).e;
		uint32_t dst = random_dst(eim);
		uint64_t d = vtd_irte_dst(dst, eim).dst;
		assert_int_equal(vtd_irte_lo_redirect(from.lo, d),
				 vtd_irte_lo_retarget(from.lo, f.vector, d));
		assert_int_equal(vtd_irte_decode((struct vtd_irte){ vtd_irte_lo_redirect(from.lo, d),
								    from.hi }, eim).dst, dst);
	}
	assert_int_equal(vtd_irte_lo_redirect(~0ull, vtd_irte_dst(2, false).dst),
			 ~VTD_IRTE_DST | 0x0000020000000000ull);
}

/* ---- update plans ---------------------------------------------------------------------- */

static struct vtd_irte entry(bool present, uint8_t vector, uint32_t dst, uint16_t sid)
{
	struct vtd_irte_fields f = { .present = present, .vector = vector, .dst = dst,
				     .svt = VTD_SVT_SID, .sid = sid };
	return vtd_irte_encode(&f, true).e;
}

/* Run a plan on a copy of from; every state hardware could see with P set is from or to
 * whole, and the result is to. */
static void run_plan(struct vtd_irte from, struct vtd_irte to)
{
	struct vtd_irte_plan p = vtd_irte_update_plan(from, to);
	struct vtd_irte m = from;

	assert_true(p.n <= 3);
	assert_int_equal(p.n == 0, from.lo == to.lo && from.hi == to.hi);
	for (unsigned i = 0; i < p.n; i++) {
		if (p.step[i].half == VTD_IRTE_LO)
			m.lo = p.step[i].value;
		else
			m.hi = p.step[i].value;
		if (m.lo & VTD_IRTE_P)
			assert_true((m.lo == from.lo && m.hi == from.hi) ||
				    (m.lo == to.lo && m.hi == to.hi));
	}
	assert_int_equal(m.lo, to.lo);
	assert_int_equal(m.hi, to.hi);
}

static void update_plans(void **state)
{
	struct vtd_irte a = entry(true, 0x30, 1, 0x18);
	struct vtd_irte_plan p;

	/* Same entry: nothing. */
	assert_int_equal(vtd_irte_update_plan(a, a).n, 0);
	/* Retarget (vector and destination): one store of the low half. */
	struct vtd_irte b = entry(true, 0x41, 300, 0x18);
	p = vtd_irte_update_plan(a, b);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.step[0].half, VTD_IRTE_LO);
	assert_int_equal(p.step[0].value, b.lo);
	/* New requester on a present entry: clear P, high, low with P. */
	struct vtd_irte c = entry(true, 0x30, 1, 0x20);
	p = vtd_irte_update_plan(a, c);
	assert_int_equal(p.n, 3);
	assert_int_equal(p.step[0].half, VTD_IRTE_LO);
	assert_int_equal(p.step[0].value, a.lo & ~VTD_IRTE_P);
	assert_int_equal(p.step[1].half, VTD_IRTE_HI);
	assert_int_equal(p.step[1].value, c.hi);
	assert_int_equal(p.step[2].half, VTD_IRTE_LO);
	assert_int_equal(p.step[2].value, c.lo);
	/* Filling a free entry: high first, then the low half with P. */
	struct vtd_irte empty = { 0, 0 };
	p = vtd_irte_update_plan(empty, a);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.step[0].half, VTD_IRTE_HI);
	assert_int_equal(p.step[1].half, VTD_IRTE_LO);
	/* Freeing: the low half (P clear) first. */
	p = vtd_irte_update_plan(a, empty);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.step[0].half, VTD_IRTE_LO);
	assert_int_equal(p.step[0].value, 0);
	assert_int_equal(p.step[1].half, VTD_IRTE_HI);
	/* Only the high half of a free entry: one store. */
	p = vtd_irte_update_plan(empty, (struct vtd_irte){ 0, 0x40018 });
	assert_int_equal(p.n, 1);
	assert_int_equal(p.step[0].half, VTD_IRTE_HI);

	run_plan(a, b);
	run_plan(a, c);
	run_plan(empty, a);
	run_plan(a, empty);
}

static void update_plans_random(void **state)
{
	srand(11);
	for (int i = 0; i < 20000; i++) {
		struct vtd_irte_fields f = random_fields(true);
		struct vtd_irte_fields g = rand() & 1 ? f : random_fields(true);
		struct vtd_irte from = vtd_irte_encode(&f, true).e;
		/* Often change one half only, sometimes both, sometimes nothing. */
		switch (rand() % 4) {
		case 0: g.vector = rand() & 0xff; g.dst = rnd32(); break;
		case 1: g.sid = rand() & 0xffff; break;
		case 2: g.present = !g.present; break;
		}
		run_plan(from, vtd_irte_encode(&g, true).e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_xapic),
		cmocka_unit_test(x2apic),
		cmocka_unit_test(source_validation),
		cmocka_unit_test(reserved_bits),
		cmocka_unit_test(round_trip),
		cmocka_unit_test(retarget_matches_encoder),
		cmocka_unit_test(retarget_xapic_range),
		cmocka_unit_test(redirect_is_retarget_with_same_vector),
		cmocka_unit_test(update_plans),
		cmocka_unit_test(update_plans_random),
	};
	return cmocka_run_group_tests_name("vtd-irte", tests, NULL, NULL);
}
