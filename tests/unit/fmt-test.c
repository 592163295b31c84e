#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "kernel/lib/fmt.h"

/* Some cases feed deliberately odd formats to the formatter. */
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
#pragma GCC diagnostic ignored "-Wformat-overflow"

#define CHECK(expect, ...) do { \
	char b[128]; \
	int n = fmt_snprintf(b, sizeof(b), __VA_ARGS__); \
	assert_string_equal(b, expect); \
	assert_int_equal(n, strlen(expect)); \
} while (0)

static void integers(void **state)
{
	CHECK("0", "%d", 0);
	CHECK("-42", "%d", -42);
	CHECK("-9223372036854775808", "%lld", (long long)INT64_MIN);
	CHECK("18446744073709551615", "%llu", (unsigned long long)UINT64_MAX);
	CHECK("ff", "%x", 255);
	CHECK("FF", "%X", 255);
	CHECK("0xff", "%#x", 255);
	CHECK("0", "%#x", 0);
	CHECK("377", "%o", 255);
	CHECK("255", "%hhu", 0x1ff);
	CHECK("-1", "%hd", 0xffff);
	CHECK("4096", "%zu", (size_t)4096);
}

static void widths(void **state)
{
	CHECK("   42", "%5d", 42);
	CHECK("42   |", "%-5d|", 42);
	CHECK("00042", "%05d", 42);
	CHECK("-0042", "%05d", -42);
	CHECK("+42", "%+d", 42);
	CHECK("0x00ff", "%#06x", 255);
	CHECK("  007", "%5.3d", 7);
	CHECK("   ab", "%*s", 5, "ab");
	CHECK("ab   |", "%*s|", -5, "ab");
	CHECK("abc", "%.3s", "abcdef");
	CHECK("ab", "%.*s", 2, "abcdef");
	CHECK("", "%.0d", 0);
}

static void strings_and_misc(void **state)
{
	CHECK("(null)", "%s", (char *)NULL);
	CHECK("x", "%c", 'x');
	CHECK("100%", "100%%");
	CHECK("0x1000", "%p", (void *)0x1000);
	CHECK("a%qb", "a%qb");   /* unknown conversion copied through */
	CHECK("tail%", "tail%"); /* truncated conversion at end of format */
}

static void truncation(void **state)
{
	char b[4];
	int n = fmt_snprintf(b, sizeof(b), "%d", 123456);
	assert_int_equal(n, 6);
	assert_string_equal(b, "123");
	n = fmt_snprintf(NULL, 0, "%s", "hello");
	assert_int_equal(n, 5);
	memset(b, 'z', sizeof(b));
	n = fmt_snprintf(b, 1, "abc");
	assert_int_equal(n, 3);
	assert_int_equal(b[0], 0);
	assert_int_equal(b[1], 'z');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(integers),
		cmocka_unit_test(widths),
		cmocka_unit_test(strings_and_misc),
		cmocka_unit_test(truncation),
	};
	return cmocka_run_group_tests_name("fmt", tests, NULL, NULL);
}
