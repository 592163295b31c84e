#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "kernel/lib/cmdline.h"
#include "kernel/lib/error.h"
#include "tests/unit/fake-log.h"

/* An `exit=idle|<ms>` style callback: idle is stored as 0. */
static int parse_exit(const char *v, void *dst)
{
	uint64_t ms;
	if (strcmp(v, "idle") == 0) {
		*(uint64_t *)dst = 0;
		return 0;
	}
	if (cmdline_parse_u64(v, &ms) || ms == 0)
		return E_INVAL;
	*(uint64_t *)dst = ms;
	return 0;
}

static const char *const modes[] = { "direct", "backend", NULL };

static struct config {
	uint64_t big;
	unsigned tick_hz;
	uint8_t small;
	bool smp, verbose;
	char name[8];
	unsigned mode;
	uint8_t mode8, after_mode8;
	uint64_t exit_ms;
} cfg;

static const struct cmdline_opt opts[] = {
	CMDLINE_OPT_U64("big", cfg.big, 0, UINT64_MAX),
	CMDLINE_OPT_U64("tick_hz", cfg.tick_hz, 1, 10000),
	CMDLINE_OPT_U64("small", cfg.small, 0, 1000),
	CMDLINE_OPT_BOOL("smp", cfg.smp),
	CMDLINE_OPT_BOOL("verbose", cfg.verbose),
	CMDLINE_OPT_STR("name", cfg.name),
	CMDLINE_OPT_ENUM("mode", cfg.mode, modes),
	CMDLINE_OPT_ENUM("mode8", cfg.mode8, modes),
	CMDLINE_OPT_FUNC("exit", parse_exit, &cfg.exit_ms, "idle or milliseconds"),
};

static unsigned parse(const char *line)
{
	fake_log_reset();
	return cmdline_parse(line, opts, sizeof(opts) / sizeof(opts[0]));
}

static int setup(void **state)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.tick_hz = 100;
	cfg.smp = true;
	strcpy(cfg.name, "dflt");
	cfg.mode = 1;
	cfg.exit_ms = 77;
	return 0;
}

static void empty_lines(void **state)
{
	assert_int_equal(parse(NULL), 0);
	assert_int_equal(parse(""), 0);
	assert_int_equal(parse(" \t  \t"), 0);
	assert_int_equal(parse("/boot/courier.elf"), 0);
	assert_int_equal(cfg.tick_hz, 100);
	assert_string_equal(fake_log_buf, "");
}

static void all_types(void **state)
{
	assert_int_equal(parse("/boot/courier.elf  tick_hz=250\tbig=0xFFFFFFFFFFFFFFFF smp=off "
			       "verbose name=abcdefg mode=direct exit=1500 small=0x3e8  "), 1);
	assert_int_equal(cfg.tick_hz, 250);
	assert_int_equal(cfg.big, UINT64_MAX);
	assert_false(cfg.smp);
	assert_true(cfg.verbose);
	assert_string_equal(cfg.name, "abcdefg");
	assert_int_equal(cfg.mode, 0);
	assert_int_equal(cfg.exit_ms, 1500);
	assert_int_equal(cfg.small, 0);   /* 1000 does not fit the uint8_t: kept */
	assert_int_equal(fake_log_errors, 1);
	assert_true(fake_log_contains("bad value '0x3e8' for 'small' (expected 0..255)"));

	assert_int_equal(parse("exit=idle name= small=255"), 0);
	assert_int_equal(cfg.exit_ms, 0);
	assert_string_equal(cfg.name, "");
	assert_int_equal(cfg.small, 255);
}

static void booleans(void **state)
{
	static const char *const on[] = { "smp", "smp=on", "smp=1", "smp=yes", "smp=true" };
	static const char *const off[] = { "smp=off", "smp=0", "smp=no", "smp=false" };

	for (unsigned i = 0; i < 5; i++) {
		cfg.smp = false;
		assert_int_equal(parse(on[i]), 0);
		assert_true(cfg.smp);
	}
	for (unsigned i = 0; i < 4; i++) {
		cfg.smp = true;
		assert_int_equal(parse(off[i]), 0);
		assert_false(cfg.smp);
	}
	assert_int_equal(parse("smp= smp=On smp=2"), 3);
	assert_false(cfg.smp);
	assert_true(fake_log_contains(
		"E: cmdline: bad value '' for 'smp' (expected on/off), keeping default off"));
}

static void integers(void **state)
{
	assert_int_equal(parse("tick_hz=x"), 1);
	assert_true(fake_log_contains("E: cmdline: bad value 'x' for 'tick_hz' "
				      "(expected 1..10000), keeping default 100"));
	assert_int_equal(parse("tick_hz=0 tick_hz=10001 tick_hz=-1 tick_hz=+5 tick_hz= "
			       "tick_hz=0x tick_hz=1k tick_hz=99999999999999999999999 "
			       "big=18446744073709551616 big=0x10000000000000000 tick_hz"), 11);
	assert_int_equal(cfg.tick_hz, 100);
	assert_int_equal(cfg.big, 0);
	assert_true(fake_log_contains("option 'tick_hz' needs a value"));
	assert_int_equal(parse("tick_hz=1 tick_hz=10000 big=18446744073709551615"), 0);
	assert_int_equal(cfg.tick_hz, 10000);
	assert_int_equal(cfg.big, UINT64_MAX);
	assert_int_equal(parse("tick_hz=0X1f4 tick_hz=007"), 0);
	assert_int_equal(cfg.tick_hz, 7);

	uint64_t v = 5;
	assert_int_equal(cmdline_parse_u64("", &v), E_INVAL);
	assert_int_equal(cmdline_parse_u64("0xg", &v), E_INVAL);
	assert_int_equal(cmdline_parse_u64(" 1", &v), E_INVAL);
	assert_int_equal(v, 5);
	assert_int_equal(cmdline_parse_u64("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cmdline_parse_u64("0xdeadBEEF", &v), 0);
	assert_int_equal(v, 0xdeadbeef);
}

static void strings_and_enums(void **state)
{
	assert_int_equal(parse("name=abcdefgh"), 1);   /* 8 characters do not fit in 8 bytes */
	assert_string_equal(cfg.name, "dflt");
	assert_true(fake_log_contains("bad value 'abcdefgh' for 'name' (expected at most 7 "
				      "characters), keeping default 'dflt'"));
	assert_int_equal(parse("mode=Direct mode= mode"), 3);
	assert_int_equal(cfg.mode, 1);
	assert_true(fake_log_contains("bad value 'Direct' for 'mode' (expected direct|backend), "
				      "keeping default backend"));
	/* An enum stored in a byte: only that byte is written. */
	cfg.mode8 = 0;
	cfg.after_mode8 = 0x5a;
	assert_int_equal(parse("mode8=backend"), 0);
	assert_int_equal(cfg.mode8, 1);
	assert_int_equal(cfg.after_mode8, 0x5a);
	assert_int_equal(parse("mode8=x"), 1);
	assert_true(fake_log_contains("keeping default backend"));
	assert_int_equal(parse("exit=0 exit"), 2);
	assert_int_equal(cfg.exit_ms, 77);
	assert_true(fake_log_contains("bad value '0' for 'exit' (expected idle or milliseconds), "
				      "keeping default\n"));
}

static void unknown_and_odd_tokens(void **state)
{
	assert_int_equal(parse("foo tick_hz=5 =3 = bar=1"), 4);
	assert_int_equal(cfg.tick_hz, 5);
	assert_true(fake_log_contains("E: cmdline: unknown option 'foo'"));
	assert_true(fake_log_contains("E: cmdline: unknown option 'bar'"));
	assert_true(fake_log_contains("E: cmdline: unknown option ''"));
	/* Keys match whole words only, case-sensitively. */
	assert_int_equal(parse("tick tick_hzz=1 TICK_HZ=1 smpx"), 4);
	/* The path is skipped only as the first token. */
	assert_int_equal(parse("smp /boot/x"), 1);
	assert_true(fake_log_contains("unknown option '/boot/x'"));
}

static void duplicates_last_wins(void **state)
{
	assert_int_equal(parse("tick_hz=1 tick_hz=2 name=a name=bb tick_hz=3"), 0);
	assert_int_equal(cfg.tick_hz, 3);
	assert_string_equal(cfg.name, "bb");
	/* A bad later value keeps the earlier good one. */
	assert_int_equal(parse("tick_hz=7 tick_hz=bad"), 1);
	assert_int_equal(cfg.tick_hz, 7);
}

static void values_with_equals(void **state)
{
	assert_int_equal(parse("name=a=b=c"), 0);
	assert_string_equal(cfg.name, "a=b=c");
	assert_int_equal(parse("tick_hz==5"), 1);
	char buf[32];
	assert_int_equal(cmdline_get("x=1 opt=k=v=w y", "opt", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "k=v=w");
}

static void overlong_tokens(void **state)
{
	char line[2048];
	memset(line, 'a', sizeof(line));
	memcpy(line, "name=", 5);
	strcpy(line + 1000, " tick_hz=9");
	assert_int_equal(parse(line), 1);
	assert_true(fake_log_contains("longer than 255 characters"));
	assert_int_equal(cfg.tick_hz, 9);
	assert_string_equal(cfg.name, "dflt");
	/* The message quotes only the start of the token. */
	assert_true(strlen(fake_log_buf) < 200);

	/* 255 characters is the longest accepted token. */
	memset(line, 'b', 255);
	memcpy(line, "name=", 5);
	line[255] = '\0';
	assert_int_equal(parse(line), 1);
	assert_false(fake_log_contains("longer than"));
	assert_true(fake_log_contains("for 'name' (expected at most 7"));
	line[254] = '\0';
	memmove(line, line + 1, 254);
	assert_int_equal(parse(line), 1);
	assert_true(fake_log_contains("unknown option 'ame"));
}

static void get(void **state)
{
	const char *mod = "/guests/ping.elf name=ping cpu=2 owner name=pong verbose";
	char buf[8];

	assert_int_equal(cmdline_get(mod, "name", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "pong");
	assert_int_equal(cmdline_get(mod, "cpu", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "2");
	assert_int_equal(cmdline_get(mod, "verbose", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(cmdline_get(mod, "cp", buf, sizeof(buf)), E_NOENT);
	assert_int_equal(cmdline_get(mod, "cpus", buf, sizeof(buf)), E_NOENT);
	assert_int_equal(cmdline_get(mod, "ow", buf, sizeof(buf)), E_NOENT);
	assert_int_equal(cmdline_get("", "name", buf, sizeof(buf)), E_NOENT);
	assert_int_equal(cmdline_get(NULL, "name", buf, sizeof(buf)), E_NOENT);
	assert_int_equal(cmdline_get("name=12345678", "name", buf, sizeof(buf)), E_RANGE);
	assert_string_equal(buf, "");
	assert_int_equal(cmdline_get("name=1234567", "name", buf, sizeof(buf)), 7);
	assert_int_equal(cmdline_get("name=", "name", buf, 1), 0);
	assert_int_equal(cmdline_get("name=x", "name", buf, 0), E_RANGE);
	assert_int_equal(cmdline_get("\tname=tab\t", "name", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "tab");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(empty_lines, setup),
		cmocka_unit_test_setup(all_types, setup),
		cmocka_unit_test_setup(booleans, setup),
		cmocka_unit_test_setup(integers, setup),
		cmocka_unit_test_setup(strings_and_enums, setup),
		cmocka_unit_test_setup(unknown_and_odd_tokens, setup),
		cmocka_unit_test_setup(duplicates_last_wins, setup),
		cmocka_unit_test_setup(values_with_equals, setup),
		cmocka_unit_test_setup(overlong_tokens, setup),
		cmocka_unit_test_setup(get, setup),
	};
	return cmocka_run_group_tests_name("cmdline", tests, NULL, NULL);
}
