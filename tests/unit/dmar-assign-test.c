/*
 * dmar-dump --assign (tools/lib/dmar_assign.c): the unit the hypervisor's assignment code gives
 * each function of a topology, over the real tables in tests/data/acpi/dmar and a built one
 * with a second segment and a multi-hop DRHD path; and malformed topology lines.
 *
 * Every expected unit was worked out by hand from the table's .expect line (quoted above each
 * case): an endpoint scope names that function, a bridge scope the bridge and its
 * secondary..subordinate buses, and what no DRHD names goes to its segment's INCLUDE_PCI_ALL
 * DRHD, else to none (VT-d spec 8.3, 8.3.1).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "tests/unit/dmar-builder.h"
#include "tools/lib/dmar_assign.h"
#include "tests/unit/fake-log.h"

struct answer {
	int ret;
	char *out, *err;
};

static struct answer run(const void *dmar, size_t len, const char *topo)
{
	struct answer a;
	size_t n;
	FILE *out = open_memstream(&a.out, &n), *err = open_memstream(&a.err, &n);

	assert_non_null(out);
	assert_non_null(err);
	a.ret = dmar_assign(dmar, len, "dmar", topo, "topo", out, err);
	fclose(out);
	fclose(err);
	return a;
}

static void expect(const void *dmar, size_t len, const char *topo, const char *want)
{
	struct answer a = run(dmar, len, topo);

	assert_int_equal(a.ret, 0);
	assert_string_equal(a.err, "");
	assert_string_equal(a.out, want);
	free(a.out);
	free(a.err);
}

static void expect_real(const char *name, const char *topo, const char *want)
{
	size_t size;
	uint8_t *buf = dmar_load(name, &size);

	expect(buf, size, topo, want);
	assert_int_equal(fake_log_errors, 0);
	free(buf);
}

/*
 * drhd base=0xfed90000 scopes=00:02.0               (unit 0)
 * drhd base=0xfed92000 scopes=00:05.0               (unit 1)
 * drhd base=0xfed84000 scopes=bridge:00:07.0        (unit 2)
 * drhd base=0xfed86000 scopes=bridge:00:07.2        (unit 3)
 * drhd base=0xfed91000 include_all=1                (unit 4)
 */
static void latitude_bridges(void **state)
{
	expect_real("dell-latitude-9420-dmar",
		    "0000:00:00.0\n"
		    "0000:00:02.0\n"
		    "0000:00:02.1\n"
		    "0000:00:05.0\n"
		    "# Thunderbolt root ports: the bridge, its buses, a bridge below it\n"
		    "0000:00:07.0 bridge 01-2c\n"
		    "0000:01:00.0\n"
		    "0000:2c:00.0\n"
		    "0000:00:07.2 bridge 2d-58\n"
		    "0000:2d:00.0 bridge 2e-30\n"
		    "0000:30:00.0\n"
		    "\n"
		    "0000:59:00.0\n"
		    "0000:00:1f.0\n"
		    "0001:00:02.0\n",
		    "0000:00:00.0 unit=4 base=0xfed91000\n"
		    "0000:00:02.0 unit=0 base=0xfed90000\n"
		    "0000:00:02.1 unit=4 base=0xfed91000\n"
		    "0000:00:05.0 unit=1 base=0xfed92000\n"
		    "0000:00:07.0 unit=2 base=0xfed84000\n"
		    "0000:01:00.0 unit=2 base=0xfed84000\n"
		    "0000:2c:00.0 unit=2 base=0xfed84000\n"
		    "0000:00:07.2 unit=3 base=0xfed86000\n"
		    "0000:2d:00.0 unit=3 base=0xfed86000\n"
		    "0000:30:00.0 unit=3 base=0xfed86000\n"
		    "0000:59:00.0 unit=4 base=0xfed91000\n"
		    "0000:00:1f.0 unit=4 base=0xfed91000\n"
		    "0001:00:02.0 unit=-\n");
}

/*
 * drhd base=0xcf000000 scopes=ioapic:2@40:05.4,bridge:40:01.0,bridge:40:02.0,bridge:40:02.2,
 *                              bridge:40:03.0,40:05.0,40:05.2                   (unit 0)
 * drhd base=0xc8000000 scopes=ioapic:3@80:05.4,80:05.0                          (unit 1)
 * drhd base=0xc4000000 scopes=ioapic:4@c0:05.4,c0:05.0                          (unit 2)
 * drhd base=0xdf100000 include_all=1                                            (unit 3)
 * 40:02.2 and 40:03.0 are not in the topology: their scopes name nothing, and bus 0x44 is
 * below no named bridge.
 */
static void poweredge_sockets(void **state)
{
	expect_real("dell-poweredge-r820-dmar",
		    "0000:00:00.0\n"
		    "0000:40:01.0 bridge 41-41\n"
		    "0000:41:00.0\n"
		    "0000:40:02.0 bridge 42-43\n"
		    "0000:43:00.1\n"
		    "0000:44:00.0\n"
		    "0000:40:05.0\n"
		    "0000:40:05.1\n"
		    "0000:40:05.2\n"
		    "0000:80:05.0\n"
		    "0000:c0:05.0\n"
		    "0000:c0:05.1\n",
		    "0000:00:00.0 unit=3 base=0xdf100000\n"
		    "0000:40:01.0 unit=0 base=0xcf000000\n"
		    "0000:41:00.0 unit=0 base=0xcf000000\n"
		    "0000:40:02.0 unit=0 base=0xcf000000\n"
		    "0000:43:00.1 unit=0 base=0xcf000000\n"
		    "0000:44:00.0 unit=3 base=0xdf100000\n"
		    "0000:40:05.0 unit=0 base=0xcf000000\n"
		    "0000:40:05.1 unit=3 base=0xdf100000\n"
		    "0000:40:05.2 unit=0 base=0xcf000000\n"
		    "0000:80:05.0 unit=1 base=0xc8000000\n"
		    "0000:c0:05.0 unit=2 base=0xc4000000\n"
		    "0000:c0:05.1 unit=3 base=0xdf100000\n");
	assert_true(fake_log_contains("0000:40:02.2"));
}

/*
 * drhd base=0xe7ffe000 include_all=1 scopes=ioapic:8@00:1e.1,ioapic:0@00:13.0     (unit 0)
 * rmrr ... scopes=...,00:1c.4/00.0,00:1c.4/00.2,...: two-hop paths through the root port
 * 00:1c.4, which resolve here through its secondary bus 05.
 */
static void proliant_include_all(void **state)
{
	expect_real("hp-proliant-dl360-g7-dmar",
		    "0000:00:1c.4 bridge 05-05\n"
		    "0000:05:00.0\n"
		    "0000:05:00.2\n"
		    "0000:00:1d.7\n"
		    "0001:05:00.2\n",
		    "0000:00:1c.4 unit=0 base=0xe7ffe000\n"
		    "0000:05:00.0 unit=0 base=0xe7ffe000\n"
		    "0000:05:00.2 unit=0 base=0xe7ffe000\n"
		    "0000:00:1d.7 unit=0 base=0xe7ffe000\n"
		    "0001:05:00.2 unit=-\n");
	assert_false(fake_log_contains("hop 0, 0000:00:1c.4"));
}

/*
 * drhd base=0xfed90000 scopes=00:1b.0                        (unit 0)
 * drhd base=0xfed91000 scopes=00:02.0                        (unit 1)
 * drhd base=0xfed92000 scopes=00:03.0,00:03.2,00:03.3        (unit 2)
 * drhd base=0xfed93000 include_all=1 scopes=-                (unit 3)
 */
static void compaq_endpoints(void **state)
{
	expect_real("hp-compaq-dc7800-sff-dmar",
		    "0000:00:1b.0\n0000:00:02.0\n0000:00:03.0\n0000:00:03.1\n0000:00:03.3\n"
		    "0000:00:1f.2\n",
		    "0000:00:1b.0 unit=0 base=0xfed90000\n"
		    "0000:00:02.0 unit=1 base=0xfed91000\n"
		    "0000:00:03.0 unit=2 base=0xfed92000\n"
		    "0000:00:03.1 unit=3 base=0xfed93000\n"
		    "0000:00:03.3 unit=2 base=0xfed92000\n"
		    "0000:00:1f.2 unit=3 base=0xfed93000\n");
}

/*
 * drhd base=0xfbffc000 scopes=ioapic:3@80:05.4,80:04.0,...,80:04.7,bridge:80:01.0,
 *                              bridge:80:02.0                   (unit 0)
 * drhd base=0xf3ffd000 scopes=00:1b.0                           (unit 1)
 * drhd base=0xf3ffc000 include_all=1                            (unit 2)
 */
static void supermicro_second_socket(void **state)
{
	expect_real("supermicro-x10dai-dmar",
		    "0000:80:01.0 bridge 81-81\n"
		    "0000:81:00.0\n"
		    "0000:80:02.0 bridge 82-83\n"
		    "0000:83:00.0\n"
		    "0000:80:03.0 bridge 84-84\n"
		    "0000:84:00.0\n"
		    "0000:80:04.7\n"
		    "0000:00:1b.0\n"
		    "0000:00:14.0\n",
		    "0000:80:01.0 unit=0 base=0xfbffc000\n"
		    "0000:81:00.0 unit=0 base=0xfbffc000\n"
		    "0000:80:02.0 unit=0 base=0xfbffc000\n"
		    "0000:83:00.0 unit=0 base=0xfbffc000\n"
		    "0000:80:03.0 unit=2 base=0xf3ffc000\n"
		    "0000:84:00.0 unit=2 base=0xf3ffc000\n"
		    "0000:80:04.7 unit=0 base=0xfbffc000\n"
		    "0000:00:1b.0 unit=1 base=0xf3ffd000\n"
		    "0000:00:14.0 unit=2 base=0xf3ffc000\n");
}

/*
 * unit 0, segment 0, 0xfed00000: endpoint 00:1c.0/00.0, a function on the secondary bus of the
 *   root port 00:1c.0;
 * unit 1, segment 1, 0xfed01000: bridge 01:00:03.0;
 * unit 2, segment 1, 0xfed02000: INCLUDE_PCI_ALL. Segment 0 has no such unit.
 */
static void two_segments(void **state)
{
	static struct builder t;
	uint32_t s;

	start_table(&t, 38);
	s = drhd(&t, 0, 0, 0xfed00000);
	scope(&t, DMAR_SCOPE_ENDPOINT, 0, 0, 2, 0x1c, 0, 0, 0);
	end(&t, s);
	s = drhd(&t, 0, 1, 0xfed01000);
	scope(&t, DMAR_SCOPE_BRIDGE, 0, 0, 1, 3, 0);
	end(&t, s);
	s = drhd(&t, DMAR_DRHD_F_INCLUDE_PCI_ALL, 1, 0xfed02000);
	end(&t, s);
	seal(&t);
	expect(t.b, t.len,
	       "0000:00:1c.0 bridge 02-03\n"
	       "0000:02:00.0\n"
	       "0000:01:00.0\n"
	       "0001:00:03.0 bridge 01-01\n"
	       "0001:01:00.0\n"
	       "0001:02:00.0\n"
	       "0001:00:1c.0\n"
	       "0002:00:00.0\n",
	       "0000:00:1c.0 unit=-\n"
	       "0000:02:00.0 unit=0 base=0xfed00000\n"
	       "0000:01:00.0 unit=-\n"
	       "0001:00:03.0 unit=1 base=0xfed01000\n"
	       "0001:01:00.0 unit=1 base=0xfed01000\n"
	       "0001:02:00.0 unit=2 base=0xfed02000\n"
	       "0001:00:1c.0 unit=2 base=0xfed02000\n"
	       "0002:00:00.0 unit=-\n");
}

static void expect_rejected(const char *topo, const char *why)
{
	size_t size;
	uint8_t *buf = dmar_load("dell-xps-13-9350-dmar", &size);
	struct answer a = run(buf, size, topo);

	assert_int_equal(a.ret, 1);
	assert_string_equal(a.out, "");
	assert_string_equal(a.err, why);
	free(a.out);
	free(a.err);
	free(buf);
}

static void malformed_lines(void **state)
{
	char longline[200];

	expect_rejected("0000:00:02.0\n00:02.0\n", "topo:2: function is not SSSS:BB:DD.F in hex\n");
	expect_rejected("0000:00:20.0\n", "topo:1: function is not SSSS:BB:DD.F in hex\n");
	expect_rejected("0000:00:1c.0 bridge\n",
			"topo:1: expected SSSS:BB:DD.F or SSSS:BB:DD.F bridge SEC-SUB\n");
	expect_rejected("# c\n0000:00:1c.0 bridg 01-02\n", "topo:2: second field is not 'bridge'\n");
	expect_rejected("0000:00:1c.0 bridge 1-\n",
			"topo:1: bus range is not SEC-SUB in hex (e.g. 01-03)\n");
	expect_rejected("0000:00:1c.0 bridge 0x1-2\n",
			"topo:1: bus range is not SEC-SUB in hex (e.g. 01-03)\n");
	expect_rejected("0000:01:00.0 bridge 01-02\n",
			"topo:1: secondary bus is not above the bridge's own bus\n");
	expect_rejected("0000:00:1c.0 bridge 03-02\n",
			"topo:1: subordinate bus is below the secondary bus\n");
	expect_rejected("0000:00:02.0\n\n0000:00:02.0\n", "topo:3: function listed twice\n");
	expect_rejected("0000:00:1c.0 bridge 01-02 x\n", "topo:1: too many fields\n");
	memset(longline, ' ', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = 0;
	expect_rejected(longline, "topo:1: line too long\n");
}

static void malformed_table(void **state)
{
	static const uint8_t junk[48] = "DMAR";
	struct answer a = run(junk, sizeof(junk), "0000:00:02.0\n");

	assert_int_equal(a.ret, 1);
	assert_string_equal(a.out, "");
	assert_string_equal(a.err, "dmar: rejected: not a valid DMAR table\n");
	assert_true(fake_log_contains("dmar: malformed table"));
	free(a.out);
	free(a.err);
}

static int setup(void **state)
{
	fake_log_reset();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(latitude_bridges, setup),
		cmocka_unit_test_setup(poweredge_sockets, setup),
		cmocka_unit_test_setup(proliant_include_all, setup),
		cmocka_unit_test_setup(compaq_endpoints, setup),
		cmocka_unit_test_setup(supermicro_second_socket, setup),
		cmocka_unit_test_setup(two_segments, setup),
		cmocka_unit_test_setup(malformed_lines, setup),
		cmocka_unit_test_setup(malformed_table, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
