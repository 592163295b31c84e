#include "kernel/options.h"
#include "kernel/lib/cmdline.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/serial.h"
#include "kernel/lib/string.h"

struct options options = {
	.exit_mode = EXIT_NEVER,
	.tick_hz = 100,
	.log_level = LOG_INFO,
	.maxcpus = MAX_CPUS,
	.iommu_qi = true,
	.ir_entries = 256,
	.storm_rate = 100000,
	.shares = true,
	.shared_vectors = true,
	.console_port = SERIAL_COM1,
	.console_baud = SERIAL_BAUD_DEFAULT,
};

/* exit=idle | never | <ms> */
static int parse_exit(const char *v, void *dst)
{
	struct options *o = dst;
	uint64_t ms;

	if (!strcmp(v, "idle")) {
		o->exit_mode = EXIT_IDLE;
	} else if (!strcmp(v, "never")) {
		o->exit_mode = EXIT_NEVER;
	} else if (cmdline_parse_u64(v, &ms) == 0 && ms > 0) {
		o->exit_mode = EXIT_AFTER_MS;
		o->exit_ms = ms;
	} else {
		return E_INVAL;
	}
	return 0;
}

static const char *const selftest_names[] = { "smp", "dma", "msi", 0 };

/* selftest=name[,name...]: every name must be known, or nothing is taken. */
static int parse_selftest(const char *v, void *dst)
{
	uint64_t bits = 0;

	while (*v) {
		const char *end = strchr(v, ',');
		size_t len = end ? (size_t)(end - v) : strlen(v);
		unsigned i;
		for (i = 0; selftest_names[i]; i++)
			if (strlen(selftest_names[i]) == len && !strncmp(selftest_names[i], v, len))
				break;
		if (!selftest_names[i])
			return E_INVAL;
		bits |= BIT(i);
		v += len + (end ? 1 : 0);
	}
	*(uint64_t *)dst = bits;
	return 0;
}

static const char *const com_names[] = { "com1", "com2", "com3", "com4", "none", 0 };
static const uint16_t com_ports[] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8, 0 };
#define IO_PORT_MAX     0xfff8  /* a UART takes 8 ports */

/* console=com1..com4 | none | <I/O port>, then optionally ,<baud> (a divisor of 115200). */
static int parse_console(const char *v, void *dst)
{
	struct options *o = dst;
	const char *comma = strchr(v, ',');
	size_t len = comma ? (size_t)(comma - v) : strlen(v);
	char port[16];
	uint64_t n = 0, baud = SERIAL_BAUD_DEFAULT;
	unsigned i;

	if (!len || len >= sizeof(port))
		return E_INVAL;
	memcpy(port, v, len);
	port[len] = '\0';
	for (i = 0; com_names[i] && strcmp(port, com_names[i]); i++)
		;
	if (com_names[i])
		n = com_ports[i];
	else if (cmdline_parse_u64(port, &n) || !n || n > IO_PORT_MAX)
		return E_INVAL;
	if (comma && (cmdline_parse_u64(comma + 1, &baud) || !baud ||
		      SERIAL_BAUD_DEFAULT % baud))
		return E_INVAL;
	o->console_port = n;
	o->console_baud = baud;
	return 0;
}

static const char *const fault_names[] = { "none", "de", "ud", "gp", "pf", "stack", 0 };
static const char *const log_names[] = { "debug", "info", "warn", "err", 0 };
static const char *const apic_names[] = { "auto", "xapic", "x2apic", 0 };
static const char *const route_names[] = { "direct", "forward", 0 };

static const struct cmdline_opt table[] = {
	CMDLINE_OPT_FUNC("exit", parse_exit, &options, "idle, never or a number of ms"),
	CMDLINE_OPT_FUNC("selftest", parse_selftest, &options.selftests,
			 "a list of: smp, dma, msi"),
	CMDLINE_OPT_ENUM("fault", options.fault, fault_names),
	CMDLINE_OPT_U64("tick_hz", options.tick_hz, 1, 10000),
	CMDLINE_OPT_ENUM("log", options.log_level, log_names),
	CMDLINE_OPT_ENUM("apic", options.apic, apic_names),
	CMDLINE_OPT_U64("maxcpus", options.maxcpus, 1, MAX_CPUS),
	CMDLINE_OPT_U64("move_ms", options.move_ms, 0, 3600000),
	CMDLINE_OPT_U64("iommu_fault_cpu", options.iommu_fault_cpu, 0, MAX_CPUS - 1),
	CMDLINE_OPT_BOOL("iommu_qi", options.iommu_qi),
	CMDLINE_OPT_U64("ir_entries", options.ir_entries, 2, 65536),
	CMDLINE_OPT_U64("storm_rate", options.storm_rate, 0, 10000000),
	CMDLINE_OPT_ENUM("route", options.route, route_names),
	CMDLINE_OPT_BOOL("log_moves", options.log_moves),
	CMDLINE_OPT_BOOL("shared_vectors", options.shared_vectors),
	CMDLINE_OPT_BOOL("shares", options.shares),
	CMDLINE_OPT_FUNC("console", parse_console, &options,
			 "com1..com4, none or an I/O port, then optionally ,baud (divides 115200)"),
};

unsigned options_parse(const char *cmdline)
{
	unsigned problems = cmdline_parse(cmdline, table, ARRAY_SIZE(table));
	log_set_level((enum log_level)options.log_level);
	return problems;
}
