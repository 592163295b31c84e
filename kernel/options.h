/* The hypervisor's command-line options (documented in README.md and docs/options.md). */
#ifndef COURIER_KERNEL_OPTIONS_H
#define COURIER_KERNEL_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

enum exit_mode { EXIT_NEVER, EXIT_IDLE, EXIT_AFTER_MS };
enum route_mode { ROUTE_DIRECT, ROUTE_FORWARD };
enum fault_kind { FAULT_NONE, FAULT_DE, FAULT_UD, FAULT_GP, FAULT_PF, FAULT_STACK };

#define SELFTEST_SMP    BIT(0)
#define SELFTEST_DMA    BIT(1)
#define SELFTEST_MSI    BIT(2)

struct options {
	enum exit_mode exit_mode;
	uint64_t exit_ms;
	uint64_t selftests;     /* SELFTEST_* bits */
	unsigned fault;         /* enum fault_kind */
	uint64_t tick_hz;
	unsigned log_level;     /* enum log_level */
	unsigned apic;          /* enum apic_pref */
	uint64_t maxcpus;
	uint64_t move_ms;       /* the hypervisor moves every guest to the next CPU this often */
	uint64_t iommu_fault_cpu;       /* CPU index that takes VT-d fault events */
	bool iommu_qi;                  /* queued invalidation where units have it */
	uint64_t ir_entries;            /* interrupt-remapping table entries per unit */
	uint64_t storm_rate;            /* device messages a second above which one is held */
	unsigned route;                 /* enum route_mode */
	bool log_moves;                 /* @route and @irte for every message a move retargets */
	bool shared_vectors;            /* routes take a vector on every CPU (with shares on) */
	bool shares;                    /* each guest a share of vectors, routes, IRTEs (guest_msg.c) */
	uint64_t console_port;          /* the UART's I/O port, 0 for none */
	uint64_t console_baud;
};

extern struct options options;

/* Parse the command line into `options`; returns the number of problems (each reported). */
unsigned options_parse(const char *cmdline);

#endif
