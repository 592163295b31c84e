/* Ending a run: the final report, then out of QEMU through isa-debug-exit (or halt). */
#ifndef COURIER_KERNEL_RUN_H
#define COURIER_KERNEL_RUN_H

#include <stdbool.h>
#include "kernel/compiler.h"

/*
 * QEMU's isa-debug-exit (port 0xf4) exits with (value << 1) | 1, so the two values below give
 * exit codes 33 and 35: never QEMU's own 0 or 1. On real hardware the write does nothing and
 * the CPU halts.
 */
#define DEBUG_EXIT_PORT         0xf4
#define DEBUG_EXIT_OK           0x10    /* QEMU exits 33: @done status=0 */
#define DEBUG_EXIT_ERRORS       0x11    /* QEMU exits 35: @done status>0 */

/* Stop the other CPUs (NMI), report per-CPU statistics and `@done`, and leave. */
void __noreturn run_end(void);
/* The same after a fatal error: no statistics, other CPUs may be wedged. */
void __noreturn run_abort(void);
/* Per-CPU NMI handler that parks a CPU for run_end/run_abort. */
void run_install_stop_handler(void);

#endif
