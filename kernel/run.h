/* Ending a run: the final report (per-CPU and per-guest statistics, `@done`), then out of QEMU
 * through isa-debug-exit (kernel/cpu/stop.c). */
#ifndef COURIER_KERNEL_RUN_H
#define COURIER_KERNEL_RUN_H

#include "kernel/lib/compiler.h"

/* Stop the other CPUs (NMI), report per-CPU and per-guest statistics and `@done`, and leave. */
void __noreturn run_end(void);

#endif
