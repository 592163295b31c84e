/* Per-CPU GDT and TSS. */
#ifndef COURIER_KERNEL_CPU_GDT_H
#define COURIER_KERNEL_CPU_GDT_H

#include "kernel/cpu/percpu.h"

/* Allocate the CPU's IST stacks (with guard pages) and fill its GDT and TSS. */
int gdt_prepare(struct percpu *cpu) __must_check;
/* On the CPU itself: load its GDT, segments, TSS and GS base. */
void gdt_load(struct percpu *cpu);

#endif
