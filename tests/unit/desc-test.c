/* GDT, TSS and IDT descriptor encoders against values worked out from the SDM's layouts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "kernel/arch/desc.h"

static void segments(void **state)
{
	/* The well-known flat 64-bit code and data descriptors, with the accessed bit set. */
	assert_int_equal(desc_code64(0), 0x00af9b000000ffffull);
	assert_int_equal(desc_data(0), 0x00cf93000000ffffull);
	assert_int_equal(desc_code64(3), 0x00affb000000ffffull);
	assert_int_equal(desc_data(3), 0x00cff3000000ffffull);
}

static void tss(void **state)
{
	uint64_t d[2];
	desc_tss(d, 0xffffffff81234567ull, 103);
	/* limit 103, base split 15:0 / 23:16 / 31:24 / 63:32, type 9, present. */
	assert_int_equal(d[0], 0x8100892345670067ull);
	assert_int_equal(d[1], 0xffffffffull);
}

static void gates(void **state)
{
	struct idt_gate g = idt_gate_make(0xffffffff80123456ull, SEL_KCODE, 2, 0);
	assert_int_equal(g.offset_lo, 0x3456);
	assert_int_equal(g.offset_mid, 0x8012);
	assert_int_equal(g.offset_hi, 0xffffffff);
	assert_int_equal(g.selector, 0x08);
	assert_int_equal(g.ist, 2);
	assert_int_equal(g.type_attr, 0x8e);
	assert_int_equal(idt_gate_make(0, SEL_KCODE, 0, 3).type_attr, 0xee);
}

static void selectors_fit_sysret(void **state)
{
	/* SYSRET loads CS = base + 16 and SS = base + 8 with base = SEL_UCODE32. */
	assert_int_equal(SEL_KDATA, SEL_KCODE + 8);
	assert_int_equal(SEL_UDATA, SEL_UCODE32 + 8);
	assert_int_equal(SEL_UCODE, SEL_UCODE32 + 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(segments),
		cmocka_unit_test(tss),
		cmocka_unit_test(gates),
		cmocka_unit_test(selectors_fit_sysret),
	};
	return cmocka_run_group_tests_name("desc", tests, NULL, NULL);
}
