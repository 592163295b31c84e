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

/* A MADT built entry by entry. */
static uint8_t tbl[8192];
static size_t len;
static struct acpi_madt madt;

static void begin(uint32_t lapic_addr, uint32_t flags)
{
	memset(tbl, 0, sizeof(tbl));
	memcpy(tbl, "APIC", 4);
	memcpy(tbl + 36, &lapic_addr, 4);
	memcpy(tbl + 40, &flags, 4);
	len = 44;
}

static void entry(uint8_t type, uint8_t elen, const void *body)
{
	tbl[len] = type;
	tbl[len + 1] = elen;
	if (elen > 2)
		memcpy(tbl + len + 2, body, elen - 2);
	len += elen;
}

static void lapic(uint8_t uid, uint8_t id, uint32_t flags)
{
	uint8_t b[6] = { uid, id };
	memcpy(b + 2, &flags, 4);
	entry(0, 8, b);
}

static void x2apic(uint32_t id, uint32_t flags, uint32_t uid)
{
	uint8_t b[14] = { 0 };
	memcpy(b + 2, &id, 4);
	memcpy(b + 6, &flags, 4);
	memcpy(b + 10, &uid, 4);
	entry(9, 16, b);
}

static void ioapic(uint8_t id, uint32_t addr, uint32_t gsi_base)
{
	uint8_t b[10] = { id, 0 };
	memcpy(b + 2, &addr, 4);
	memcpy(b + 6, &gsi_base, 4);
	entry(1, 12, b);
}

static void iso(uint8_t source, uint32_t gsi, uint16_t flags)
{
	uint8_t b[8] = { 0, source };
	memcpy(b + 2, &gsi, 4);
	memcpy(b + 6, &flags, 2);
	entry(2, 10, b);
}

static int parse(void)
{
	uint32_t l = len;
	memcpy(tbl + 4, &l, 4);
	fake_log_reset();
	return acpi_parse_madt(tbl, len, &madt);
}

static void qemu_like(void **state)
{
	uint8_t nmi[4] = { 0xff, 0, 0, 1 };     /* all processors, flags 0, LINT1 */
	uint8_t nmisrc[6] = { 0xd, 0, 9, 0, 0, 0 };

	begin(0xfee00000, 1);
	lapic(0, 0, 1);
	lapic(1, 1, 1);
	ioapic(0, 0xfec00000, 0);
	iso(0, 2, 0);
	iso(5, 5, 0xd);
	iso(9, 9, 0xd);
	entry(4, 6, nmi);
	entry(3, 8, nmisrc);
	assert_int_equal(parse(), 0);
	assert_int_equal(fake_log_errors, 0);
	assert_int_equal(madt.lapic_addr, 0xfee00000);
	assert_false(madt.lapic_addr_override);
	assert_true(madt.pcat_compat);
	assert_int_equal(madt.n_cpus, 2);
	assert_int_equal(madt.cpus[1].apic_id, 1);
	assert_int_equal(madt.cpus[1].uid, 1);
	assert_true(madt.cpus[1].enabled);
	assert_false(madt.cpus[1].online_capable);
	assert_false(madt.cpus[1].x2apic_entry);
	assert_int_equal(madt.n_ioapics, 1);
	assert_int_equal(madt.ioapics[0].addr, 0xfec00000);
	assert_int_equal(madt.ioapics[0].gsi_base, 0);
	assert_int_equal(madt.n_isos, 3);
	assert_int_equal(madt.isos[0].source, 0);
	assert_int_equal(madt.isos[0].gsi, 2);
	assert_int_equal(madt.isos[2].source, 9);
	assert_int_equal(madt.isos[2].flags & ACPI_MPS_POLARITY_MASK, ACPI_MPS_POLARITY_HIGH);
	assert_int_equal((madt.isos[2].flags & ACPI_MPS_TRIGGER_MASK) >> ACPI_MPS_TRIGGER_SHIFT,
			 ACPI_MPS_TRIGGER_LEVEL);
	assert_int_equal(madt.n_lapic_nmis, 1);
	assert_int_equal(madt.lapic_nmis[0].uid, ACPI_UID_ALL_XAPIC);
	assert_int_equal(madt.lapic_nmis[0].lint, 1);
	assert_false(madt.lapic_nmis[0].x2apic_entry);
	assert_int_equal(madt.n_nmi_sources, 1);
	assert_int_equal(madt.nmi_sources[0].flags, 0xd);
	assert_int_equal(madt.nmi_sources[0].gsi, 9);
}

static void x2apic_entries_and_override(void **state)
{
	uint8_t ovr[10] = { 0 };
	uint64_t addr = 0x1fee00000ull;
	uint8_t x2nmi[10] = { 5, 0 };
	uint32_t all = ACPI_UID_ALL_X2APIC;

	memcpy(ovr + 2, &addr, 8);
	memcpy(x2nmi + 2, &all, 4);
	x2nmi[6] = 0;
	begin(0xfee00000, 0);
	lapic(0, 0, 1);
	x2apic(255, 1, 1000);
	x2apic(0x10000, 2, 1001);       /* online capable */
	x2apic(0x10001, 3, 1002);       /* enabled; online capable then is reserved */
	entry(5, 12, ovr);
	entry(0xa, 12, x2nmi);
	assert_int_equal(parse(), 0);
	assert_int_equal(fake_log_errors, 0);
	assert_false(madt.pcat_compat);
	assert_true(madt.lapic_addr_override);
	assert_int_equal(madt.lapic_addr, addr);
	assert_int_equal(madt.n_cpus, 4);
	assert_int_equal(madt.cpus[1].apic_id, 255);
	assert_int_equal(madt.cpus[1].uid, 1000);
	assert_true(madt.cpus[1].x2apic_entry);
	assert_false(madt.cpus[2].enabled);
	assert_true(madt.cpus[2].online_capable);
	assert_true(madt.cpus[3].enabled);
	assert_false(madt.cpus[3].online_capable);
	assert_int_equal(madt.n_lapic_nmis, 1);
	assert_int_equal(madt.lapic_nmis[0].uid, ACPI_UID_ALL_X2APIC);
	assert_int_equal(madt.lapic_nmis[0].flags, 5);
	assert_int_equal(madt.lapic_nmis[0].lint, 0);
	assert_true(madt.lapic_nmis[0].x2apic_entry);
}

static void duplicates_and_unusable(void **state)
{
	begin(0xfee00000, 0);
	lapic(0, 0, 1);
	lapic(1, 1, 1);
	lapic(2, 1, 1);         /* duplicate APIC id */
	lapic(3, 7, 0);         /* unusable: not recorded, no duplicate check */
	lapic(4, 7, 0);
	x2apic(0, 1, 5);        /* the same id again through an x2APIC entry */
	lapic(6, 2, 1);
	assert_int_equal(parse(), 0);
	assert_int_equal(madt.n_cpus, 3);
	assert_int_equal(madt.cpus[2].apic_id, 2);
	assert_int_equal(madt.cpus[1].uid, 1);
	assert_int_equal(madt.n_cpus_unusable, 2);
	assert_int_equal(fake_log_errors, 2);
	assert_true(fake_log_contains("E: MADT: APIC id 0x1 (uid 2) listed twice"));
	assert_true(fake_log_contains("E: MADT: APIC id 0 (uid 5) listed twice"));
}

static void broken_entries_stop_the_walk(void **state)
{
	static const uint8_t bad_len[] = { 0, 1 };

	for (unsigned i = 0; i < 2; i++) {
		begin(0xfee00000, 0);
		lapic(0, 0, 1);
		tbl[len] = 0;
		tbl[len + 1] = bad_len[i];
		len += 8;               /* room the loop must not use */
		lapic(1, 1, 1);
		assert_int_equal(parse(), E_INVAL);
		assert_int_equal(madt.n_cpus, 1);
		assert_true(fake_log_contains("MADT: entry at offset 0x34 (type 0, length"));
		assert_true(fake_log_contains("has a length below 2; ignoring the rest"));
	}

	/* An entry longer than what is left of the table. */
	begin(0xfee00000, 0);
	lapic(0, 0, 1);
	lapic(1, 1, 1);
	tbl[len - 7] = 9;
	assert_int_equal(parse(), E_INVAL);
	assert_true(fake_log_contains("entry at offset 0x34 (type 0, length 9) runs past the end"));
	assert_int_equal(madt.n_cpus, 1);

	/* One stray byte at the end. */
	begin(0xfee00000, 0);
	lapic(0, 0, 1);
	len++;
	assert_int_equal(parse(), E_INVAL);
	assert_true(fake_log_contains("offset 0x34 (type 0, length 0) has no room for its header"));
	assert_int_equal(madt.n_cpus, 1);
}

static void short_and_unknown_entries(void **state)
{
	uint8_t junk[30] = { 0 };

	begin(0xfee00000, 0);
	entry(0, 6, junk);              /* a local APIC entry two bytes short: skipped */
	entry(9, 12, junk);
	entry(0x7f, 20, junk);          /* unknown types: skipped silently */
	entry(0xb, 30, junk);
	entry(1, 2, junk);
	lapic(1, 1, 1);
	/* A longer entry than we know (a later revision's fields): decoded. */
	uint8_t b[18] = { 0 };
	uint32_t id = 300, fl = 1, uid = 9;
	memcpy(b + 2, &id, 4);
	memcpy(b + 6, &fl, 4);
	memcpy(b + 10, &uid, 4);
	entry(9, 20, b);
	assert_int_equal(parse(), 0);
	assert_int_equal(fake_log_errors, 3);
	assert_true(fake_log_contains("E: MADT: entry at offset 0x2c (type 0) has length 6, "
				      "below 8; skipped"));
	assert_true(fake_log_contains("(type 9) has length 12, below 16"));
	assert_int_equal(madt.n_cpus, 2);
	assert_int_equal(madt.cpus[1].apic_id, 300);
	assert_int_equal(madt.n_ioapics, 0);
}

static void bad_header(void **state)
{
	begin(0xfee00000, 0);
	lapic(0, 0, 1);
	assert_int_equal(parse(), 0);
	assert_int_equal(acpi_parse_madt(tbl, 43, &madt), E_INVAL);
	assert_int_equal(acpi_parse_madt(tbl, len - 1, &madt), E_INVAL);
	assert_int_equal(madt.n_cpus, 0);
	assert_int_equal(acpi_parse_madt(NULL, 100, &madt), E_INVAL);
	uint32_t l = 43;
	memcpy(tbl + 4, &l, 4);
	assert_int_equal(acpi_parse_madt(tbl, len, &madt), E_INVAL);
	memcpy(tbl, "APIX", 4);
	len = 44;
	assert_int_equal(parse(), E_INVAL);
	assert_true(fake_log_contains("MADT: bad header"));
	/* A table shorter than len: the bytes after it are not entries. */
	begin(0xfee00000, 0);
	lapic(0, 0, 1);
	parse();
	lapic(1, 1, 1);
	assert_int_equal(acpi_parse_madt(tbl, len, &madt), 0);
	assert_int_equal(madt.n_cpus, 1);
}

static void overflowing_lists(void **state)
{
	begin(0xfee00000, 0);
	for (unsigned i = 0; i < 300; i++)
		x2apic(i, 1, i);
	for (unsigned i = 0; i < 20; i++)
		ioapic(i, 0xfec00000 + i * 0x1000, i * 24);
	for (unsigned i = 0; i < 40; i++)
		iso(i, i, 0);
	assert_int_equal(parse(), 0);
	assert_int_equal(madt.n_cpus, ACPI_MAX_CPUS);
	assert_int_equal(madt.n_cpus_dropped, 300 - ACPI_MAX_CPUS);
	assert_int_equal(madt.cpus[255].apic_id, 255);
	assert_int_equal(madt.n_ioapics, ACPI_MAX_IOAPICS);
	assert_int_equal(madt.ioapics[15].gsi_base, 15 * 24);
	assert_int_equal(madt.n_isos, ACPI_MAX_ISOS);
	assert_int_equal(fake_log_errors, 0);
	assert_true(fake_log_contains("W: MADT: more than 256 CPUs, ignoring the rest"));
	assert_true(fake_log_contains("W: MADT: more than 16 I/O APICs"));
	assert_true(fake_log_contains("W: MADT: more than 32 interrupt source overrides"));
	/* One warning per list, not one per dropped entry. */
	const char *first = strstr(fake_log_buf, "CPUs");
	assert_null(strstr(first + 1, "CPUs"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(qemu_like),
		cmocka_unit_test(x2apic_entries_and_override),
		cmocka_unit_test(duplicates_and_unusable),
		cmocka_unit_test(broken_entries_stop_the_walk),
		cmocka_unit_test(short_and_unknown_entries),
		cmocka_unit_test(bad_header),
		cmocka_unit_test(overflowing_lists),
	};
	return cmocka_run_group_tests_name("acpi_madt", tests, NULL, NULL);
}
