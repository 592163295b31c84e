/*
 * CAP/ECAP decoding (VT-d 11.4.2, 11.4.3) on register values of real and emulated units,
 * the choice of table levels, domain-id validity, register span and the summary line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "iommu/caps.h"
#include "kernel/lib/error.h"
#include "tests/unit/fake-log.h"

/*
 * QEMU 7.2 -device intel-iommu,intremap=on (aw-bits=39, dma-drain on, pt on), built from its
 * fields: FRO 0x220/16 << 24, NFR 0, ND 6 (16-bit ids), MAMV 18, PSI, SLLPS 2M|1G,
 * MGAW 38 (39 bits), DRD|DWD, SAGAW bit 1 (39-bit). ECAP: MHMV 15, IRO 0xf0/16, PT, IR, QI.
 */
#define QEMU_CAP  0x00d2008c22260206ull
#define QEMU_ECAP 0x0000000000f00f4aull
/* Intel 82Q45 GMCH datasheet, CAP_REG default value. */
#define Q45_CAP   0x00c9008020e30272ull
/* Intel Core i7-7700K datasheet vol. 2, GFXVTBAR ECAP default value. */
#define KBL_ECAP  0x0000007e3ff0505eull

static void decode_qemu(void **state)
{
	struct vtd_caps c = vtd_caps_decode(QEMU_CAP, QEMU_ECAP);

	assert_int_equal(c.did_bits, 16);
	assert_int_equal(c.num_domains, 65536);
	assert_int_equal(c.sagaw, VTD_SAGAW_39);
	assert_int_equal(c.mgaw, 39);
	assert_int_equal(c.fro, 0x220);
	assert_int_equal(c.nfr, 1);
	assert_int_equal(c.sllps, VTD_SLLPS_2M | VTD_SLLPS_1G);
	assert_int_equal(c.mamv, 18);
	assert_true(c.psi && c.drd && c.dwd);
	assert_false(c.cm || c.rwbf || c.afl || c.plmr || c.phmr || c.zlr || c.pi);
	assert_false(c.esrtps || c.esirtps || c.ecmds || c.fl1gp || c.fl5lp);
	assert_int_equal(c.iro, 0xf0);
	assert_int_equal(c.mhmv, 15);
	assert_true(c.qi && c.ir && c.pt);
	assert_false(c.c || c.dt || c.eim || c.sc || c.smts || c.pasid || c.nest);
	assert_int_equal(vtd_caps_check(&c, "dmar0"), 0);
}

static void decode_q45_cap(void **state)
{
	struct vtd_caps c = vtd_caps_decode(Q45_CAP, 0);

	assert_int_equal(c.did_bits, 8);
	assert_int_equal(c.num_domains, 256);
	assert_true(c.rwbf && c.plmr && c.phmr && c.zlr && c.psi && c.dwd && c.drd);
	assert_false(c.cm || c.afl);
	assert_int_equal(c.sagaw, VTD_SAGAW_39);
	assert_int_equal(c.mgaw, 36);
	assert_int_equal(c.fro, 0x200);         /* the datasheet's FRCD_REG offset */
	assert_int_equal(c.nfr, 1);
	assert_int_equal(c.sllps, 0);
	assert_int_equal(c.mamv, 9);
}

static void decode_kbl_ecap(void **state)
{
	struct vtd_caps c = vtd_caps_decode(0, KBL_ECAP);

	assert_false(c.c || c.sc || c.ers || c.srs || c.pasid);
	assert_true(c.qi && c.dt && c.ir && c.eim && c.pt);
	assert_true(c.mts && c.nest && c.prs && c.nwfs && c.eafs);
	assert_int_equal(c.iro, 0x500);
	assert_int_equal(c.mhmv, 15);
	assert_int_equal(c.pss, 15);
}

/* Every single-bit flag lands in its own field and nowhere else. */
static void single_bits(void **state)
{
	static const struct { unsigned bit; size_t off; } cap_bits[] = {
		{ 3, offsetof(struct vtd_caps, afl) }, { 4, offsetof(struct vtd_caps, rwbf) },
		{ 5, offsetof(struct vtd_caps, plmr) }, { 6, offsetof(struct vtd_caps, phmr) },
		{ 7, offsetof(struct vtd_caps, cm) }, { 22, offsetof(struct vtd_caps, zlr) },
		{ 39, offsetof(struct vtd_caps, psi) }, { 54, offsetof(struct vtd_caps, dwd) },
		{ 55, offsetof(struct vtd_caps, drd) }, { 56, offsetof(struct vtd_caps, fl1gp) },
		{ 59, offsetof(struct vtd_caps, pi) }, { 60, offsetof(struct vtd_caps, fl5lp) },
		{ 61, offsetof(struct vtd_caps, ecmds) },
		{ 62, offsetof(struct vtd_caps, esirtps) },
		{ 63, offsetof(struct vtd_caps, esrtps) },
	};
	static const struct { unsigned bit; size_t off; } ecap_bits[] = {
		{ 0, offsetof(struct vtd_caps, c) }, { 1, offsetof(struct vtd_caps, qi) },
		{ 2, offsetof(struct vtd_caps, dt) }, { 3, offsetof(struct vtd_caps, ir) },
		{ 4, offsetof(struct vtd_caps, eim) }, { 6, offsetof(struct vtd_caps, pt) },
		{ 7, offsetof(struct vtd_caps, sc) }, { 26, offsetof(struct vtd_caps, nest) },
		{ 40, offsetof(struct vtd_caps, pasid) }, { 43, offsetof(struct vtd_caps, smts) },
		{ 46, offsetof(struct vtd_caps, slts) }, { 47, offsetof(struct vtd_caps, flts) },
		{ 52, offsetof(struct vtd_caps, adms) },
	};
	for (size_t i = 0; i < sizeof(cap_bits) / sizeof(cap_bits[0]); i++) {
		struct vtd_caps c = vtd_caps_decode(1ull << cap_bits[i].bit, 0);
		assert_true(*((bool *)&c + cap_bits[i].off));
	}
	for (size_t i = 0; i < sizeof(ecap_bits) / sizeof(ecap_bits[0]); i++) {
		struct vtd_caps c = vtd_caps_decode(0, 1ull << ecap_bits[i].bit);
		assert_true(*((bool *)&c + ecap_bits[i].off));
	}
	struct vtd_caps none = vtd_caps_decode(0, 0);
	assert_false(none.psi || none.c || none.esrtps);
}

/* ND: 4 + 2 * ND bits, 7 reserved. */
static void domain_ids(void **state)
{
	for (unsigned nd = 0; nd < 7; nd++) {
		struct vtd_caps c = vtd_caps_decode(nd | VTD_SAGAW_48 << VTD_CAP_SAGAW_SHIFT, 0);
		assert_int_equal(c.did_bits, 4 + 2 * nd);
		assert_int_equal(c.num_domains, 1u << (4 + 2 * nd));
		assert_true(vtd_did_valid(&c, c.num_domains - 1));
		assert_false(vtd_did_valid(&c, c.num_domains));
		assert_true(vtd_did_valid(&c, 0));
	}
	struct vtd_caps cm = vtd_caps_decode(6 | VTD_CAP_CM, 0);
	assert_false(vtd_did_valid(&cm, 0));    /* reserved with caching mode (9.3) */
	assert_true(vtd_did_valid(&cm, 0xffff));
	struct vtd_caps bad = vtd_caps_decode(7, 0);
	assert_int_equal(bad.did_bits, 0);
	assert_false(vtd_did_valid(&bad, 0));
}

static uint64_t cap_with(unsigned sagaw, unsigned mgaw_bits)
{
	return 6 | (uint64_t)sagaw << VTD_CAP_SAGAW_SHIFT |
	       (uint64_t)(mgaw_bits - 1) << VTD_CAP_MGAW_SHIFT | 0x22ull << VTD_CAP_FRO_SHIFT;
}

/* 3 levels = 39 bits, 4 = 48, 5 = 57; the fewest that cover MIN(haw, MGAW). */
static void agaw_levels(void **state)
{
	struct vtd_caps q = vtd_caps_decode(QEMU_CAP, QEMU_ECAP);
	assert_int_equal(vtd_agaw_levels(&q, 39), 3);
	assert_int_equal(vtd_agaw_levels(&q, 46), 3);  /* MGAW 39 caps what can be used */

	struct vtd_caps c = vtd_caps_decode(cap_with(VTD_SAGAW_39 | VTD_SAGAW_48, 48), 0);
	assert_int_equal(vtd_agaw_levels(&c, 32), 3);
	assert_int_equal(vtd_agaw_levels(&c, 39), 3);
	assert_int_equal(vtd_agaw_levels(&c, 40), 4);
	assert_int_equal(vtd_agaw_levels(&c, 52), 4);

	c = vtd_caps_decode(cap_with(VTD_SAGAW_48, 48), 0);
	assert_int_equal(vtd_agaw_levels(&c, 39), 4);   /* 3 levels not offered */
	c = vtd_caps_decode(cap_with(VTD_SAGAW_48 | VTD_SAGAW_57, 57), 0);
	assert_int_equal(vtd_agaw_levels(&c, 57), 5);
	c = vtd_caps_decode(cap_with(VTD_SAGAW_39, 48), 0);
	assert_int_equal(vtd_agaw_levels(&c, 48), E_RANGE);
	c = vtd_caps_decode(cap_with(BIT(0), 39), 0);  /* only the old 30-bit 2-level */
	assert_int_equal(vtd_agaw_levels(&c, 30), E_NOSYS);
	assert_int_equal(vtd_levels_to_agaw(3), 39);
	assert_int_equal(vtd_levels_to_agaw(4), 48);
	assert_int_equal(vtd_levels_to_agaw(5), 57);
}

static void check_rejects(void **state)
{
	fake_log_reset();
	struct vtd_caps c = vtd_caps_decode(~0ull, ~0ull);     /* an absent unit reads all-ones */
	assert_int_equal(vtd_caps_check(&c, "dmar3"), E_INVAL);
	assert_true(fake_log_contains("dmar3"));
	assert_true(fake_log_contains("ND"));

	fake_log_reset();
	c = vtd_caps_decode(cap_with(BIT(0), 39), QEMU_ECAP);
	assert_int_equal(vtd_caps_check(&c, "dmar1"), E_NOSYS);
	assert_true(fake_log_contains("dmar1: SAGAW 0x1"));

	fake_log_reset();
	c = vtd_caps_decode(QEMU_CAP, 0);
	assert_int_equal(vtd_caps_check(&c, "dmar0"), E_INVAL);
	assert_true(fake_log_contains("IOTLB registers at 0x0"));
	assert_int_equal(fake_log_errors, 0);  /* warnings, not errors: the caller decides */
}

static void regs_layout(void **state)
{
	static uint8_t fake[0x1000];
	struct vtd_caps q = vtd_caps_decode(QEMU_CAP, QEMU_ECAP);
	struct vtd_regs u = vtd_regs_make(fake, &q);

	assert_ptr_equal(u.base, fake);
	assert_int_equal(vtd_reg_iotlb(&u).off, 0xf8);
	assert_int_equal(vtd_reg_frcd_lo(&u, 0).off, 0x220);
	assert_int_equal(u.nfr, 1);
	assert_int_equal(vtd_regs_span(&q), 0x1000);
	/* Fault records up to the highest FRO and NFR: 0x3ff0 + 256 * 16 bytes. */
	struct vtd_caps big = vtd_caps_decode(VTD_CAP_FRO | VTD_CAP_NFR, KBL_ECAP);
	assert_int_equal(big.fro, 0x3ff0);
	assert_int_equal(big.nfr, 256);
	assert_int_equal(vtd_regs_span(&big), 0x5000);
}

static void summary(void **state)
{
	char buf[256];
	struct vtd_caps q = vtd_caps_decode(QEMU_CAP, QEMU_ECAP);
	const char *want = "dom=65536 agaw=39 mgaw=39 sp=2M,1G nfr=1 fro=0x220 iro=0xf0 "
			   "mamv=18 psi qi ir pt";

	assert_int_equal(vtd_caps_format(&q, buf, sizeof(buf)), (int)strlen(want));
	assert_string_equal(buf, want);

	struct vtd_caps c = vtd_caps_decode(cap_with(VTD_SAGAW_39 | VTD_SAGAW_48, 48) | VTD_CAP_CM,
					    VTD_ECAP_C | VTD_ECAP_EIM);
	vtd_caps_format(&c, buf, sizeof(buf));
	assert_string_equal(buf, "dom=65536 agaw=39,48 mgaw=48 sp=- nfr=1 fro=0x220 iro=0x0 "
				 "mamv=0 cm coherent eim");
	/* Truncation keeps the terminator and reports the full length. */
	char small[10];
	int n = vtd_caps_format(&q, small, sizeof(small));
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(small, "dom=65536");
	assert_int_equal(vtd_caps_format(&q, NULL, 0), n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decode_qemu),
		cmocka_unit_test(decode_q45_cap),
		cmocka_unit_test(decode_kbl_ecap),
		cmocka_unit_test(single_bits),
		cmocka_unit_test(domain_ids),
		cmocka_unit_test(agaw_levels),
		cmocka_unit_test(check_rejects),
		cmocka_unit_test(regs_layout),
		cmocka_unit_test(summary),
	};
	return cmocka_run_group_tests_name("vtd-caps", tests, NULL, NULL);
}
