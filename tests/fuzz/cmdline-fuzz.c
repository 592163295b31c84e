/*
 * libFuzzer harness for the hypervisor's command line: options_parse() (kernel/options.c) with
 * its real option table over kernel/lib/cmdline.c. Whatever the line, every option must end in
 * its documented range, and every problem counted must be reported by exactly one log_err.
 * Built and run by `make fuzz-cmdline` (tests/fuzz/fuzz.mk); seeds: tests/fuzz/seeds.py.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/cpu/percpu.h"
#include "kernel/lib/log.h"
#include "kernel/options.h"
#include "tests/unit/fake-log.h"

static struct options defaults;
static bool have_defaults;
static int level_set = -1;

/* kernel/lib/log.c's, which the host build does not link. */
void log_set_level(enum log_level level)
{
	level_set = (int)level;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static unsigned count_tokens(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += !is_space(*s) && (s[1] == '\0' || is_space(s[1]));
	return n;
}

static void check_options(const struct options *o)
{
	if (o->exit_mode > EXIT_AFTER_MS || (o->exit_mode == EXIT_AFTER_MS && !o->exit_ms))
		abort();
	if (o->selftests & ~(uint64_t)(SELFTEST_SMP | SELFTEST_DMA | SELFTEST_MSI))
		abort();
	if (o->fault > FAULT_STACK || o->log_level > LOG_ERR || o->apic > 2)
		abort();
	if (o->tick_hz < 1 || o->tick_hz > 10000 || o->maxcpus < 1 || o->maxcpus > MAX_CPUS)
		abort();
	if (o->move_ms > 3600000 || o->iommu_fault_cpu >= MAX_CPUS)
		abort();
	if (o->ir_entries < 2 || o->ir_entries > 65536)
		abort();
	if (level_set != (int)o->log_level)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The line as the boot loader hands it over: NUL-terminated, exactly as long. */
	char *line = malloc(size + 1);
	unsigned problems;

	memcpy(line, data, size);
	line[size] = '\0';
	if (!have_defaults) {
		defaults = options;
		have_defaults = true;
	}
	options = defaults;
	level_set = -1;
	fake_log_reset();
	problems = options_parse(line);
	if (problems != fake_log_errors || problems > count_tokens(line))
		abort();
	check_options(&options);
	free(line);
	return 0;
}
