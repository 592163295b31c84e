/* Stopping the machine: park the other CPUs, print `@done`, leave QEMU (or halt). */
#ifndef COURIER_KERNEL_CPU_STOP_H
#define COURIER_KERNEL_CPU_STOP_H

#include <stdbool.h>
#include "kernel/lib/compiler.h"

/*
 * QEMU's isa-debug-exit (port 0xf4) exits with (value << 1) | 1, so the two values below give
 * exit codes 33 and 35: never QEMU's own 0 or 1. On real hardware the write does nothing and
 * the CPU halts.
 */
#define DEBUG_EXIT_PORT         0xf4
#define DEBUG_EXIT_OK           0x10    /* QEMU exits 33: @done status=0 */
#define DEBUG_EXIT_ERRORS       0x11    /* QEMU exits 35: @done status>0 */

/* Per-CPU NMI handler that parks a CPU for stop_others(). */
void stop_install_handler(void);
/* With interrupts off: true for the one CPU that ends the run; every other caller halts. */
void stop_claim(void);
/* Park every other online CPU (NMI), bounded; returns how many did not answer. */
unsigned stop_others(void);
/* Print `@done status=<errors>` and leave through isa-debug-exit, else halt. */
void __noreturn stop_leave(void);
/* After a fatal error: no statistics, other CPUs may be wedged. */
void __noreturn stop_abort(void);

#endif
