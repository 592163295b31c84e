/* Starting the application processors and talking to them. */
#ifndef COURIER_KERNEL_SMP_H
#define COURIER_KERNEL_SMP_H

#include <stdint.h>
#include "kernel/compiler.h"

struct acpi_madt;

/* A page below 1 MiB, free in the memory map, for the real-mode trampoline (BSP, before smp_boot). */
void smp_set_trampoline_page(uint64_t pa);
/* Start every enabled CPU the MADT lists (up to maxcpus); returns how many are online. */
unsigned smp_boot(const struct acpi_madt *madt, unsigned maxcpus);
/* Per-CPU set-up shared by the BSP and the APs once they run on their own stack. */
void cpu_local_init(void);
/* Idle CPUs run work left for them by smp_call(). */
void smp_poll_calls(void);
/* Run fn on CPU index `cpu` (from its idle loop) and wait until it returns; bounded. */
int smp_call(unsigned cpu, void (*fn)(void *), void *arg) __must_check;

#endif
