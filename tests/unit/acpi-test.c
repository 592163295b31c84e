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

/* Fake physical memory: [0, PHYS_SIZE) is readable except the hole [hole_lo, hole_hi). */
#define PHYS_SIZE 0x200000
static uint8_t phys[PHYS_SIZE];
static uint64_t hole_lo, hole_hi;
static unsigned maps;

static const void *fake_map(void *ctx, uint64_t pa, size_t len)
{
	maps++;
	assert_ptr_equal(ctx, phys);
	if (pa >= PHYS_SIZE || len > PHYS_SIZE - pa)
		return NULL;
	if (pa < hole_hi && pa + len > hole_lo)
		return NULL;
	return phys + pa;
}

static const struct acpi_mem mem = { .map = fake_map, .ctx = phys };

static int setup(void **state)
{
	memset(phys, 0, sizeof(phys));
	hole_lo = hole_hi = 0;
	fake_log_reset();
	return 0;
}

static void fix_checksum(uint8_t *p, size_t len, uint8_t *sum)
{
	*sum = 0;
	*sum = -acpi_checksum(p, len);
}

static void put_rsdp(uint64_t pa, uint8_t rev, uint32_t rsdt, uint64_t xsdt)
{
	struct acpi_rsdp r = { .revision = rev, .rsdt_address = rsdt };
	memcpy(r.signature, "RSD PTR ", 8);
	memcpy(r.oem_id, "COURIE", 6);
	if (rev >= 2) {
		r.length = sizeof(r);
		r.xsdt_address = xsdt;
	}
	fix_checksum((uint8_t *)&r, ACPI_RSDP_V1_LEN, &r.checksum);
	/* The extended checksum covers the 1.0 checksum byte too, so it comes last. */
	if (rev >= 2)
		fix_checksum((uint8_t *)&r, sizeof(r), &r.extended_checksum);
	memcpy(phys + pa, &r, rev >= 2 ? sizeof(r) : ACPI_RSDP_V1_LEN);
}

/* A table of 36 + plen bytes with a good checksum. */
static void put_table(uint64_t pa, const char *sig, const void *payload, uint32_t plen)
{
	struct acpi_sdt_header h = { .length = sizeof(h) + plen, .revision = 1 };
	memcpy(h.signature, sig, 4);
	memcpy(phys + pa, &h, sizeof(h));
	if (plen)
		memcpy(phys + pa + sizeof(h), payload, plen);
	fix_checksum(phys + pa, h.length, &((struct acpi_sdt_header *)(phys + pa))->checksum);
}

static void put_root(uint64_t pa, bool xsdt, const uint64_t *entries, unsigned n)
{
	static uint8_t p[8 * 200];
	unsigned es = xsdt ? 8 : 4;
	for (unsigned i = 0; i < n; i++)
		memcpy(p + i * es, &entries[i], es);
	put_table(pa, xsdt ? "XSDT" : "RSDT", p, n * es);
}

static void checksum(void **state)
{
	uint8_t b[4] = { 1, 2, 3, 250 };
	assert_int_equal(acpi_checksum(b, 4), 0);
	assert_int_equal(acpi_checksum(b, 3), 6);
	assert_int_equal(acpi_checksum(b, 0), 0);
}

static void rsdp_validate(void **state)
{
	struct acpi_rsdp_info info;
	struct acpi_rsdp *r = (void *)(phys + 0x1000);

	put_rsdp(0x1000, 0, 0x12345678, 0);
	assert_int_equal(acpi_rsdp_validate(r, 20, &info), 0);
	assert_int_equal(info.revision, 0);
	assert_int_equal(info.rsdt_pa, 0x12345678);
	assert_int_equal(info.xsdt_pa, 0);

	put_rsdp(0x1000, 2, 0x1000, 0x123456789a);
	assert_int_equal(acpi_rsdp_validate(r, 36, &info), 0);
	assert_int_equal(info.revision, 2);
	assert_int_equal(info.xsdt_pa, 0x123456789a);
	assert_int_equal(fake_log_errors, 0);

	/* A revision-2 RSDP given as only its first 20 bytes (an old multiboot2 tag). */
	assert_int_equal(acpi_rsdp_validate(r, 20, &info), E_INVAL);
	assert_true(fake_log_contains("ACPI: RSDP (20 bytes): bad length"));
	r->extended_checksum ^= 1;
	assert_int_equal(acpi_rsdp_validate(r, 36, &info), E_CHECKSUM);
	assert_true(fake_log_contains("bad extended checksum"));
	r->extended_checksum ^= 1;
	r->length = 40;
	assert_int_equal(acpi_rsdp_validate(r, 36, &info), E_INVAL);
	r->length = 35;
	assert_int_equal(acpi_rsdp_validate(r, 36, &info), E_INVAL);
	r->length = 36;
	r->checksum ^= 0x80;
	assert_int_equal(acpi_rsdp_validate(r, 36, &info), E_CHECKSUM);
	assert_true(fake_log_contains("RSDP (36 bytes): bad checksum"));
	r->checksum ^= 0x80;
	r->signature[7] = '!';
	assert_int_equal(acpi_rsdp_validate(r, 36, &info), E_INVAL);
	assert_true(fake_log_contains("bad signature"));
	assert_int_equal(acpi_rsdp_validate(r, 19, &info), E_INVAL);
	assert_int_equal(acpi_rsdp_validate(NULL, 36, &info), E_INVAL);
	assert_int_equal(fake_log_errors, 8);
}

static void scan_ebda_first(void **state)
{
	uint64_t pa = 0;

	phys[0x40e] = 0xc0;
	phys[0x40f] = 0x9f;     /* EBDA at 0x9fc00 */
	put_rsdp(0x9fc00 + 0x3e0, 2, 0x100000, 0x100100);   /* the last slot with room */
	put_rsdp(0xf5a30, 0, 0x100000, 0);
	assert_int_equal(acpi_rsdp_scan(&mem, &pa), 0);
	assert_int_equal(pa, 0x9ffe0);

	/* Beyond the first KiB of the EBDA does not count. */
	memset(phys + 0x9ffe0, 0, 36);
	put_rsdp(0x9fff0, 0, 0x100000, 0);
	phys[0x40e] = 0xb0;     /* EBDA at 0x9fb00: its first KiB ends at 0x9ff00 */
	assert_int_equal(acpi_rsdp_scan(&mem, &pa), 0);
	assert_int_equal(pa, 0xf5a30);
	assert_int_equal(fake_log_errors, 0);
}

static void scan_bios_area(void **state)
{
	uint64_t pa = 0;

	/* A garbage EBDA pointer is ignored. */
	phys[0x40e] = 0xff;
	phys[0x40f] = 0xff;
	/* Misaligned: never looked at. */
	put_rsdp(0xe0008, 0, 0x100000, 0);
	/* Right signature, bad checksum: logged and skipped. */
	put_rsdp(0xe1000, 0, 0x100000, 0);
	phys[0xe1000 + 8] ^= 1;
	/* Revision 2 with an absurd length: skipped. */
	put_rsdp(0xe2000, 2, 0x100000, 0x100100);
	((struct acpi_rsdp *)(phys + 0xe2000))->length = 0x100000;
	/* The one that counts, in the very last slot that holds 20 bytes. */
	put_rsdp(0xfffe0, 0, 0x100000, 0);
	assert_int_equal(acpi_rsdp_scan(&mem, &pa), 0);
	assert_int_equal(pa, 0xfffe0);
	assert_true(fake_log_contains("W: ACPI: RSDP candidate at 0xe1000: bad checksum"));
	assert_true(fake_log_contains("W: ACPI: RSDP candidate at 0xe2000: bad length"));
	assert_false(fake_log_contains("0xe0008"));

	memset(phys + 0xfffe0, 0, 20);
	assert_int_equal(acpi_rsdp_scan(&mem, &pa), E_NOENT);
}

static void scan_unmappable(void **state)
{
	uint64_t pa = 0;
	put_rsdp(0xf0000, 0, 0x100000, 0);
	hole_lo = 0;
	hole_hi = 0x100000;
	assert_int_equal(acpi_rsdp_scan(&mem, &pa), E_NOENT);
	hole_lo = 0x40e;
	hole_hi = 0x410;
	assert_int_equal(acpi_rsdp_scan(&mem, &pa), 0);
	assert_int_equal(pa, 0xf0000);
}

static const uint64_t T_APIC = 0x101000, T_MCFG = 0x102000, T_SSDT1 = 0x103000,
		      T_SSDT2 = 0x104003, T_FACP = 0x105000;

static void put_tables(void)
{
	uint8_t p[64] = { 0 };
	put_table(T_APIC, "APIC", p, 8);
	put_table(T_MCFG, "MCFG", p, 24);
	put_table(T_SSDT1, "SSDT", p, 64);
	put_table(T_SSDT2, "SSDT", p, 3);
	put_table(T_FACP, "FACP", p, 40);
}

static void load_xsdt(void **state)
{
	const uint64_t e[] = { T_FACP, T_APIC, T_SSDT1, T_MCFG, T_SSDT2 };
	struct acpi_rsdp_info rsdp = { .revision = 2, .rsdt_pa = 0x100000, .xsdt_pa = 0x100200 };
	static struct acpi_tables t;

	put_tables();
	put_root(0x100200, true, e, 5);
	put_root(0x100000, false, e, 2);
	assert_int_equal(acpi_load_tables(&mem, &rsdp, &t), 0);
	assert_int_equal(fake_log_errors, 0);
	assert_string_equal(t.root.sig, "XSDT");
	assert_int_equal(t.root.pa, 0x100200);
	assert_int_equal(t.root.len, 36 + 40);
	assert_int_equal(t.n, 5);
	assert_string_equal(t.t[0].sig, "FACP");
	assert_int_equal(t.t[0].len, 76);
	assert_ptr_equal(acpi_find(&t, "APIC", 0), &t.t[1]);
	assert_null(acpi_find(&t, "APIC", 1));
	assert_int_equal(acpi_find(&t, "SSDT", 0)->pa, T_SSDT1);
	assert_int_equal(acpi_find(&t, "SSDT", 1)->pa, T_SSDT2);
	assert_int_equal(acpi_find(&t, "SSDT", 1)->len, 39);
	assert_null(acpi_find(&t, "SSDT", 2));
	assert_null(acpi_find(&t, "DMAR", 0));

	acpi_report_tables(&t);
	assert_true(fake_log_contains("@acpi table=XSDT addr=0x100200 len=76\n"
				      "@acpi table=FACP addr=0x105000 len=76\n"));
	assert_true(fake_log_contains("@acpi table=SSDT addr=0x104003 len=39\n"));
}

static void load_rsdt_only_and_fallback(void **state)
{
	const uint64_t e[] = { T_APIC, T_MCFG };
	struct acpi_rsdp_info v1 = { .revision = 0, .rsdt_pa = 0x100000 };
	struct acpi_rsdp_info v2 = { .revision = 2, .rsdt_pa = 0x100000, .xsdt_pa = 0x100200 };
	static struct acpi_tables t;

	put_tables();
	put_root(0x100000, false, e, 2);
	assert_int_equal(acpi_load_tables(&mem, &v1, &t), 0);
	assert_string_equal(t.root.sig, "RSDT");
	assert_int_equal(t.n, 2);
	assert_int_equal(t.t[1].pa, T_MCFG);

	/* An XSDT with a bad checksum: reported, and the RSDT is used. */
	put_root(0x100200, true, e, 1);
	phys[0x100200 + 36] ^= 1;
	fake_log_reset();
	assert_int_equal(acpi_load_tables(&mem, &v2, &t), 0);
	assert_true(fake_log_contains("E: ACPI: XSDT at 0x100200: bad checksum, ignored"));
	assert_true(fake_log_contains("W: ACPI: falling back to the RSDT"));
	assert_string_equal(t.root.sig, "RSDT");
	assert_int_equal(t.n, 2);

	/* An XSDT pointer to something else. */
	put_table(0x100200, "FACS", NULL, 0);
	fake_log_reset();
	assert_int_equal(acpi_load_tables(&mem, &v2, &t), 0);
	assert_true(fake_log_contains("table at 0x100200 is 'FACS', expected XSDT"));

	/* Neither usable. */
	phys[0x100000 + 40] ^= 1;
	fake_log_reset();
	assert_int_equal(acpi_load_tables(&mem, &v2, &t), E_NOENT);
	assert_true(fake_log_contains("no usable XSDT or RSDT"));
	assert_int_equal(t.n, 0);
	struct acpi_rsdp_info none = { 0 };
	assert_int_equal(acpi_load_tables(&mem, &none, &t), E_NOENT);
}

static void bad_tables_are_skipped(void **state)
{
	const uint64_t e[] = {
		T_APIC, 0, T_SSDT1, 0x1ff000, 0x300000, T_MCFG, 0x106000, 0x107000, 0x108000,
		0xfffffffffffffff0ull, T_SSDT2,
	};
	struct acpi_rsdp_info rsdp = { .revision = 2, .xsdt_pa = 0x100200 };
	static struct acpi_tables t;
	struct acpi_sdt_header *h;

	put_tables();
	phys[T_SSDT1 + 50] ^= 0x10;                     /* bad checksum */
	put_table(0x1ff000, "BIGT", NULL, 0);           /* runs past mappable memory */
	h = (void *)(phys + 0x1ff000);
	h->length = 0x2000;
	put_table(0x106000, "TINY", NULL, 0);
	h = (void *)(phys + 0x106000);
	h->length = 35;
	put_table(0x107000, "HUGE", NULL, 0);
	h = (void *)(phys + 0x107000);
	h->length = ACPI_MAX_TABLE_LEN + 1;
	put_table(0x108000, "\x01\xff\x41\x42", NULL, 0);   /* odd signature: kept, shown safely */
	put_root(0x100200, true, e, 11);

	assert_int_equal(acpi_load_tables(&mem, &rsdp, &t), 0);
	assert_int_equal(t.n, 4);
	assert_string_equal(t.t[0].sig, "APIC");
	assert_string_equal(t.t[1].sig, "MCFG");
	assert_string_equal(t.t[2].sig, "??AB");
	assert_string_equal(t.t[3].sig, "SSDT");
	assert_int_equal(t.t[3].pa, T_SSDT2);
	assert_true(fake_log_contains("E: ACPI: XSDT entry 1 is null, ignored"));
	assert_true(fake_log_contains("E: ACPI: SSDT at 0x103000: bad checksum, ignored"));
	assert_true(fake_log_contains("E: ACPI: BIGT at 0x1ff000: 8192 bytes not mappable"));
	assert_true(fake_log_contains("E: ACPI: table at 0x300000 is not mappable"));
	assert_true(fake_log_contains("E: ACPI: TINY at 0x106000: length 35 out of range"));
	assert_true(fake_log_contains("E: ACPI: HUGE at 0x107000: length 16777217 out of range"));
	assert_true(fake_log_contains("table at 0xfffffffffffffff0 is not mappable"));
	assert_int_equal(fake_log_errors, 7);
}

/* A signature becomes the value of `@acpi table=`: a blank in it would split the record
 * (QEMU's -acpitable passes any four bytes). */
static void signatures_are_one_word(void **state)
{
	const uint64_t e[] = { 0x106000, 0x107000 };
	struct acpi_rsdp_info rsdp = { .revision = 0, .rsdt_pa = 0x100000 };
	static struct acpi_tables t;

	put_table(0x106000, "A B ", NULL, 0);
	put_table(0x107000, "\tQ\n=", NULL, 0);
	put_root(0x100000, false, e, 2);
	assert_int_equal(acpi_load_tables(&mem, &rsdp, &t), 0);
	assert_int_equal(t.n, 2);
	assert_string_equal(t.t[0].sig, "A?B?");
	assert_string_equal(t.t[1].sig, "?Q?=");
	acpi_report_tables(&t);
	assert_true(fake_log_contains("@acpi table=A?B? addr=0x106000 len=36\n"));
	assert_true(fake_log_contains("@acpi table=?Q?= addr=0x107000 len=36\n"));
	/* Found by the shown signature, as before. */
	assert_ptr_equal(acpi_find(&t, "A?B?", 0), &t.t[0]);
}

/* Two tables of a kind there must be one of: the first is used, the others named and ignored. */
static void second_tables_are_reported(void **state)
{
	const uint64_t e[] = { T_APIC, T_SSDT1, 0x106000, T_SSDT2, 0x107000, T_MCFG };
	struct acpi_rsdp_info rsdp = { .revision = 0, .rsdt_pa = 0x100000 };
	static struct acpi_tables t;
	uint8_t p[8] = { 0 };

	put_tables();
	put_table(0x106000, "APIC", p, 8);
	put_table(0x107000, "APIC", p, 4);
	put_root(0x100000, false, e, 6);
	assert_int_equal(acpi_load_tables(&mem, &rsdp, &t), 0);
	assert_int_equal(fake_log_errors, 0);

	assert_ptr_equal(acpi_find_one(&t, "APIC"), &t.t[0]);
	assert_true(fake_log_contains("E: ACPI: APIC at 0x106000 is a second APIC table, ignored "
				      "(the one at 0x101000 is used)"));
	assert_true(fake_log_contains("E: ACPI: APIC at 0x107000 is a second APIC table"));
	assert_int_equal(fake_log_errors, 2);

	fake_log_reset();
	assert_ptr_equal(acpi_find_one(&t, "MCFG"), &t.t[5]);
	assert_null(acpi_find_one(&t, "DMAR"));
	assert_int_equal(fake_log_errors, 0);
}

static void too_many_tables(void **state)
{
	static uint64_t e[100];
	struct acpi_rsdp_info rsdp = { .revision = 0, .rsdt_pa = 0x100000 };
	static struct acpi_tables t;

	for (unsigned i = 0; i < 100; i++) {
		e[i] = 0x110000 + i * 0x100;
		put_table(e[i], "SSDT", NULL, 0);
	}
	put_root(0x100000, false, e, 100);
	/* A trailing partial entry is noted. */
	struct acpi_sdt_header *h = (void *)(phys + 0x100000);
	h->length += 2;
	fix_checksum(phys + 0x100000, h->length, &h->checksum);
	assert_int_equal(acpi_load_tables(&mem, &rsdp, &t), 0);
	assert_int_equal(t.n, ACPI_MAX_TABLES);
	assert_true(t.truncated);
	assert_int_equal(acpi_find(&t, "SSDT", 63)->pa, 0x110000 + 63 * 0x100);
	assert_true(fake_log_contains("W: ACPI: more than 64 tables"));
	assert_true(fake_log_contains("W: ACPI: RSDT has a partial entry"));
	assert_int_equal(fake_log_errors, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(checksum, setup),
		cmocka_unit_test_setup(rsdp_validate, setup),
		cmocka_unit_test_setup(scan_ebda_first, setup),
		cmocka_unit_test_setup(scan_bios_area, setup),
		cmocka_unit_test_setup(scan_unmappable, setup),
		cmocka_unit_test_setup(load_xsdt, setup),
		cmocka_unit_test_setup(load_rsdt_only_and_fallback, setup),
		cmocka_unit_test_setup(bad_tables_are_skipped, setup),
		cmocka_unit_test_setup(too_many_tables, setup),
		cmocka_unit_test_setup(signatures_are_one_word, setup),
		cmocka_unit_test_setup(second_tables_are_reported, setup),
	};
	return cmocka_run_group_tests_name("acpi", tests, NULL, NULL);
}
