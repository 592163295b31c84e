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

/* IA-PC HPET 1.0a 3.2.4: the header, the block id at 36, the base GAS at 40 (space id, bit
 * width, bit offset, access size, then the 64-bit address at 44), number, minimum tick. */
#define OFF_GAS_SPACE   40
#define OFF_GAS_ADDR    44
#define HPET_TABLE_LEN  56

static uint8_t tbl[64];

static void table(uint8_t space, uint64_t addr)
{
	memset(tbl, 0, sizeof(tbl));
	memcpy(tbl, "HPET", 4);
	tbl[OFF_GAS_SPACE] = space;
	memcpy(tbl + OFF_GAS_ADDR, &addr, 8);
}

static void qemu_q35(void **state)
{
	uint64_t base = 0;
	table(0, 0xfed00000);
	fake_log_reset();
	assert_int_equal(acpi_parse_hpet(tbl, HPET_TABLE_LEN, &base), 0);
	assert_int_equal(base, 0xfed00000);
	assert_int_equal(fake_log_errors, 0);
}

static void rejected(void **state)
{
	uint64_t base = 7;
	table(0, 0xfed00000);
	fake_log_reset();
	assert_int_equal(acpi_parse_hpet(tbl, HPET_TABLE_LEN - 1, &base), E_INVAL);
	assert_true(fake_log_contains("at least 56 expected"));
	table(1, 0xfed00000);   /* system I/O space */
	assert_int_equal(acpi_parse_hpet(tbl, HPET_TABLE_LEN, &base), E_INVAL);
	table(0, 0);
	assert_int_equal(acpi_parse_hpet(tbl, HPET_TABLE_LEN, &base), E_INVAL);
	table(0, 0xfed00200);   /* not 1 KiB aligned */
	assert_int_equal(acpi_parse_hpet(tbl, HPET_TABLE_LEN, &base), E_INVAL);
	assert_int_equal(base, 7);
	assert_int_equal(fake_log_errors, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(qemu_q35),
		cmocka_unit_test(rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
