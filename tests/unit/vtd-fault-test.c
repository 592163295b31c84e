/*
 * Fault records (VT-d 11.4.14, FRCD_REG layout: FI 63:12, SID 79:64, PRIV 93, EXE 94, PP 95,
 * FR 103:96, PV 123:104, AT 125:124, T 126, F 127), FSTS, fault reason names (appendix A)
 * and the report-record formatting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "iommu/fault_record.h"
#include "iommu/regs.h"

/* A read of 0x7000 by 00:03.0 (SID 0x18) without read permission (reason 6). */
static void dma_fault(void **state)
{
	struct vtd_frcd r = { .lo = 0x7000, .hi = 0xc000000600000018ull };
	struct vtd_fault f = vtd_fault_decode(r);

	assert_true(f.f);
	assert_false(f.ir);
	assert_int_equal(f.reason, 6);
	assert_int_equal(f.sid, 0x18);
	assert_int_equal(f.addr, 0x7000);
	assert_true(f.read);
	assert_int_equal(f.at, 0);
	assert_false(f.pp);

	/* A write (T = 0) with the low 12 bits of FI reserved and ignored, AT 2. */
	r = (struct vtd_frcd){ .lo = 0xfedcba9876543fffull, .hi = 0xa00000050000ff07ull };
	f = vtd_fault_decode(r);
	assert_int_equal(f.addr, 0xfedcba9876543000ull);
	assert_false(f.read);
	assert_int_equal(f.at, 2);
	assert_int_equal(f.reason, 5);
	assert_int_equal(f.sid, 0xff07);

	/* F clear: not a record. */
	assert_false(vtd_fault_decode((struct vtd_frcd){ 0x7000, 0x0000000600000018ull }).f);
}

/* PASID fields: PP 95, EXE 94, PRIV 93, PV 123:104. */
static void pasid_fields(void **state)
{
	struct vtd_frcd r = { .lo = 0x1000, .hi = 0x8abcde05e0000100ull };
	struct vtd_fault f = vtd_fault_decode(r);

	assert_true(f.pp && f.exe && f.priv);
	assert_int_equal(f.pasid, 0xabcde);
	assert_int_equal(f.reason, 5);
	assert_int_equal(f.sid, 0x100);
	/* Without PP the PASID fields mean nothing and stay zero. */
	r.hi &= ~VTD_FRCD_PP;
	f = vtd_fault_decode(r);
	assert_false(f.pp || f.exe || f.priv);
	assert_int_equal(f.pasid, 0);
}

/* Interrupt-remapping faults put the interrupt index in FI 63:48. */
static void ir_fault(void **state)
{
	struct vtd_frcd r = { .lo = 0x0012000000000000ull, .hi = 0x8000002200000018ull };
	struct vtd_fault f = vtd_fault_decode(r);

	assert_true(f.f && f.ir);
	assert_int_equal(f.reason, 0x22);
	assert_int_equal(f.index, 0x12);
	assert_int_equal(f.addr, 0);
	r.lo = 0xffff000000000000ull;
	assert_int_equal(vtd_fault_decode(r).index, 0xffff);
}

static void reason_names(void **state)
{
	assert_string_equal(vtd_fault_reason_name(0x01), "root-not-present");
	assert_string_equal(vtd_fault_reason_name(0x02), "context-not-present");
	assert_string_equal(vtd_fault_reason_name(0x05), "write-denied");
	assert_string_equal(vtd_fault_reason_name(0x06), "read-denied");
	assert_string_equal(vtd_fault_reason_name(0x0d), "translation-blocked");
	assert_string_equal(vtd_fault_reason_name(0x20), "ir-request-reserved");
	assert_string_equal(vtd_fault_reason_name(0x25), "compat-blocked");
	assert_string_equal(vtd_fault_reason_name(0x26), "ir-sid-denied");
	assert_string_equal(vtd_fault_reason_name(0x00), "unknown");
	assert_string_equal(vtd_fault_reason_name(0x0e), "unknown");
	assert_string_equal(vtd_fault_reason_name(0x2f), "unknown");
	assert_string_equal(vtd_fault_reason_name(0x58), "scalable-mode");
	assert_string_equal(vtd_fault_reason_desc(0x05),
			    "write to a page without write permission");
	assert_string_equal(vtd_fault_reason_desc(0x11), "unknown fault reason");
	/* Every name is one word: fit for a report record value. */
	for (unsigned fr = 0; fr < 256; fr++) {
		const char *n = vtd_fault_reason_name(fr);
		assert_true(n[0] && !strchr(n, ' ') && !strchr(n, '='));
		assert_non_null(vtd_fault_reason_desc(fr));
	}
}

/* FSTS: PFO 0, PPF 1, AFO 2, APF 3, IQE 4, ICE 5, ITE 6, FRI 15:8. */
static void fsts(void **state)
{
	struct vtd_fsts s = vtd_fsts_decode(0x0302);

	assert_true(s.ppf);
	assert_false(s.pfo || s.afo || s.apf || s.iqe || s.ice || s.ite);
	assert_int_equal(s.fri, 3);
	s = vtd_fsts_decode(0xff7d);
	assert_true(s.pfo && s.afo && s.apf && s.iqe && s.ice && s.ite);
	assert_false(s.ppf);
	assert_int_equal(s.fri, 0xff);
	assert_int_equal(VTD_FSTS_RW1C, 0x7d);
}

static void format(void **state)
{
	char buf[128];
	struct vtd_fault f = vtd_fault_decode((struct vtd_frcd){ 0x7000, 0xc000000600000018ull });
	const char *want = "bdf=00:03.0 addr=0x7000 type=read reason=0x6 name=read-denied";

	assert_int_equal(vtd_fault_format(&f, 0, buf, sizeof(buf)), (int)strlen(want));
	assert_string_equal(buf, want);
	f = vtd_fault_decode((struct vtd_frcd){ 0x0012000000000000ull, 0x80000022000000f9ull });
	vtd_fault_format(&f, 0, buf, sizeof(buf));
	assert_string_equal(buf, "bdf=00:1f.1 index=0x12 reason=0x22 name=irte-not-present");
	f = vtd_fault_decode((struct vtd_frcd){ 0x1000, 0x800000050000ff07ull });
	vtd_fault_format(&f, 0x10, buf, sizeof(buf));
	assert_string_equal(buf, "bdf=0010:ff:00.7 addr=0x1000 type=write reason=0x5 "
				 "name=write-denied");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dma_fault),
		cmocka_unit_test(pasid_fields),
		cmocka_unit_test(ir_fault),
		cmocka_unit_test(reason_names),
		cmocka_unit_test(fsts),
		cmocka_unit_test(format),
	};
	return cmocka_run_group_tests_name("vtd-fault", tests, NULL, NULL);
}
