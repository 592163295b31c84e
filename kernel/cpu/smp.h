/* Starting the application processors and talking to them. */
#ifndef COURIER_KERNEL_CPU_SMP_H
#define COURIER_KERNEL_CPU_SMP_H

#include <stdint.h>
#include "kernel/lib/compiler.h"

struct acpi_madt;

/* A page below 1 MiB, free in the memory map, for the real-mode trampoline (BSP, before smp_boot). */
void smp_set_trampoline_page(uint64_t pa);
/* What an application processor runs once on its own stack, GDT and IDT: init (it is counted
 * online when init returns), then run, which never returns. Given by the boot sequence. */
struct smp_ap_ops {
	void (*init)(void);
	void (*run)(void) __noreturn;
};
/* Start every enabled CPU the MADT lists (up to maxcpus); returns how many are online. */
unsigned smp_boot(const struct acpi_madt *madt, unsigned maxcpus, const struct smp_ap_ops *ops);
/* Every CPU: the APIC error and wake-up vectors. */
void smp_local_init(void);
/* Idle CPUs run work left for them by smp_call(). */
void smp_poll_calls(void);
/* Run fn on CPU index `cpu` (from its idle loop) and wait until it returns; bounded. */
int smp_call(unsigned cpu, void (*fn)(void *), void *arg) __must_check;

#endif
