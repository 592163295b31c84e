/* The console the log writes to: COM1, one line at a time under one lock. */
#ifndef COURIER_KERNEL_CPU_CONSOLE_H
#define COURIER_KERNEL_CPU_CONSOLE_H

/* Once GS points at the boot CPU's per-CPU area: the UART, then the log's console. */
void console_init(void);
/* From the end of a run on: a CPU stopped while it held the console lock must not silence
 * the final report, so the lock is taken with a time limit. */
void console_stealable(void);

#endif
