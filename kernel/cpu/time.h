/* Time: the TSC calibrated at boot, and the local APIC timer's periodic tick on every CPU. */
#ifndef COURIER_KERNEL_CPU_TIME_H
#define COURIER_KERNEL_CPU_TIME_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

/* BSP, once: measure the TSC and the local APIC timer against a reference clock. */
int time_calibrate(void) __must_check;
/* Where the HPET's registers are (ACPI's HPET table), before time_calibrate: its main counter
 * is the rate's source after CPUID leaves 15h and 16h, before the PIT. */
void time_set_hpet(uint64_t pa);
/* Every CPU: start the periodic tick at hz interrupts per second, each calling on_tick. */
void time_start_tick(unsigned hz, void (*on_tick)(void));
/* This CPU's tick every 100 us (on) or as started again (off): a short sleep for a CPU that
 * waits in HLT for others (kernel/cpu/smp.c). */
void time_tick_short(bool on);
uint64_t time_since_boot_us(void);
uint64_t time_since_boot_ns(void);
/* TSC cycles as nanoseconds. */
uint64_t time_cycles_to_ns(uint64_t cycles);
/* TSC cycles in us microseconds (0 before calibration). */
uint64_t time_us_to_cycles(uint64_t us);
/* Busy-wait; usable with interrupts off. */
void time_delay_us(uint64_t us);

#endif
