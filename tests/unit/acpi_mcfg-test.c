#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "kernel/firmware/acpi.h"
#include "kernel/lib/error.h"
#include "tests/unit/fake-log.h"

static uint8_t tbl[1024];
static size_t len;
static struct acpi_mcfg mcfg;

static void begin(void)
{
	memset(tbl, 0, sizeof(tbl));
	memcpy(tbl, "MCFG", 4);
	len = 44;
}

static void alloc(uint64_t base, uint16_t seg, uint8_t start, uint8_t end)
{
	memcpy(tbl + len, &base, 8);
	memcpy(tbl + len + 8, &seg, 2);
	tbl[len + 10] = start;
	tbl[len + 11] = end;
	len += 16;
}

static int parse(void)
{
	uint32_t l = len;
	memcpy(tbl + 4, &l, 4);
	fake_log_reset();
	return acpi_parse_mcfg(tbl, len, &mcfg);
}

static void qemu_q35(void **state)
{
	begin();
	alloc(0xb0000000, 0, 0, 0xff);
	assert_int_equal(parse(), 0);
	assert_int_equal(fake_log_errors, 0);
	assert_int_equal(mcfg.n, 1);
	assert_int_equal(mcfg.alloc[0].base, 0xb0000000);
	assert_int_equal(mcfg.alloc[0].segment, 0);
	assert_int_equal(mcfg.alloc[0].bus_start, 0);
	assert_int_equal(mcfg.alloc[0].bus_end, 0xff);
}

static void several_segments_and_empty(void **state)
{
	begin();
	assert_int_equal(parse(), 0);
	assert_int_equal(mcfg.n, 0);
	alloc(0xe0000000, 0, 0, 0x3f);
	alloc(0x3f000000000ull, 1, 0x80, 0x80);
	assert_int_equal(parse(), 0);
	assert_int_equal(mcfg.n, 2);
	assert_int_equal(mcfg.alloc[1].base, 0x3f000000000ull);
	assert_int_equal(mcfg.alloc[1].segment, 1);
	assert_int_equal(mcfg.alloc[1].bus_start, 0x80);
}

static void bad_allocations_skipped(void **state)
{
	begin();
	alloc(0xb0000000, 0, 0x10, 0x0f);
	alloc(0xb0080000, 1, 0, 0xff);
	alloc(0, 2, 0, 0xff);
	alloc(0xfffffffffff00000ull, 3, 0, 1);
	alloc(0xc0000000, 4, 0, 0);
	assert_int_equal(parse(), 0);
	assert_int_equal(mcfg.n, 1);
	assert_int_equal(mcfg.alloc[0].segment, 4);
	assert_int_equal(fake_log_errors, 4);
	assert_true(fake_log_contains("E: MCFG: allocation 0 (segment 0 buses 0x10-0xf base "
				      "0xb0000000): end bus below start bus, ignored"));
	assert_true(fake_log_contains("allocation 1 (segment 1 buses 0-0xff base 0xb0080000): "
				      "base not 1 MiB aligned"));
	assert_true(fake_log_contains("allocation 2 (segment 2"));
	assert_true(fake_log_contains("allocation 3 (segment 3 buses 0-0x1 base "
				      "0xfffffffffff00000): region wraps"));
}

static void trailing_bytes_and_overflow(void **state)
{
	begin();
	for (unsigned i = 0; i < 20; i++)
		alloc(0x100000000ull * (i + 1), i, 0, 0xff);
	len += 5;
	assert_int_equal(parse(), 0);
	assert_int_equal(mcfg.n, ACPI_MAX_MCFG);
	assert_int_equal(mcfg.alloc[15].segment, 15);
	assert_true(fake_log_contains("W: MCFG: 5 trailing bytes"));
	assert_true(fake_log_contains("W: MCFG: more than 16 allocations"));
	assert_int_equal(fake_log_errors, 0);
}

static void bad_header(void **state)
{
	begin();
	alloc(0xb0000000, 0, 0, 0xff);
	parse();
	assert_int_equal(acpi_parse_mcfg(tbl, 59, &mcfg), E_INVAL);
	assert_int_equal(mcfg.n, 0);
	assert_int_equal(acpi_parse_mcfg(tbl, 43, &mcfg), E_INVAL);
	assert_int_equal(acpi_parse_mcfg(NULL, 60, &mcfg), E_INVAL);
	memcpy(tbl, "MCFX", 4);
	assert_int_equal(parse(), E_INVAL);
	assert_true(fake_log_contains("MCFG: bad header"));
	begin();
	len = 40;
	memcpy(tbl + 4, &(uint32_t){ 40 }, 4);
	assert_int_equal(acpi_parse_mcfg(tbl, 100, &mcfg), E_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(qemu_q35),
		cmocka_unit_test(several_segments_and_empty),
		cmocka_unit_test(bad_allocations_skipped),
		cmocka_unit_test(trailing_bytes_and_overflow),
		cmocka_unit_test(bad_header),
	};
	return cmocka_run_group_tests_name("acpi_mcfg", tests, NULL, NULL);
}
