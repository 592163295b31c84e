/* Per-CPU state, reached through the GS base (gs:0 holds the structure's own address). */
#ifndef COURIER_KERNEL_CPU_PERCPU_H
#define COURIER_KERNEL_CPU_PERCPU_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/arch/desc.h"

#define MAX_CPUS 256

struct trap_frame;
typedef void (*vector_handler_t)(struct trap_frame *frame, void *arg);

struct vector_slot {
	vector_handler_t fn;
	void *arg;
};

struct guest;

struct percpu {
	struct percpu *self;            /* must stay first: this_cpu() reads gs:0 */
	uint64_t kstack_top;            /* boot/syscall.asm: the stack a hypercall runs on */
	uint64_t user_rsp;              /* boot/syscall.asm: the guest's RSP during entry */
	/* Bench builds only (kernel/guest/bench.h): the TSC at the last entry stub, and what
	 * entered (the vector, or 0x100 + the hypercall's number). */
	uint64_t bench_entry, bench_what;
	struct guest *current;          /* the guest this CPU runs, NULL when idle */
	unsigned index;
	uint32_t apic_id;
	uint32_t acpi_uid;
	volatile bool online;
	bool in_fatal;                  /* a fatal exception is being reported on this CPU */
	uint64_t stack_top;             /* kernel stack (guard page below) */
	uint64_t stack_bottom;
	volatile uint64_t ticks;        /* local APIC timer interrupts taken */
	/* The longest stretch a hypercall kept interrupts off on this CPU (TSC cycles), and
	 * which hypercall it was: since irqoff_since (kernel/guest/hypercall.c). */
	uint64_t irqoff_since, irqoff_max;
	unsigned irqoff_hypercall;
	bool in_hypercall;              /* the current guest is in a hypercall on this CPU */
	/* Wake-up IPIs (VEC_IPI_WAKE: an event for a guest on another CPU, a kick) this CPU
	 * sent and took: `@tick ... ipis_sent= ipis_taken=`. */
	volatile uint64_t ipis_sent, ipis_taken;
	struct vector_slot vectors[IDT_ENTRIES];
	uint64_t gdt[GDT_ENTRIES] __aligned(16);
	struct tss64 tss __aligned(16);
};

/* boot/syscall.asm addresses these fields through GS. */
#define PERCPU_KSTACK_TOP       8
#define PERCPU_USER_RSP         16
#define PERCPU_BENCH_ENTRY      24
#define PERCPU_BENCH_WHAT       32
_Static_assert(__builtin_offsetof(struct percpu, kstack_top) == PERCPU_KSTACK_TOP, "asm offset");
_Static_assert(__builtin_offsetof(struct percpu, user_rsp) == PERCPU_USER_RSP, "asm offset");
_Static_assert(__builtin_offsetof(struct percpu, bench_entry) == PERCPU_BENCH_ENTRY, "asm offset");
_Static_assert(__builtin_offsetof(struct percpu, bench_what) == PERCPU_BENCH_WHAT, "asm offset");

extern struct percpu percpu_area[MAX_CPUS];
extern unsigned cpu_count;      /* CPUs started (online or not) */

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}

static inline struct percpu *cpu_at(unsigned i) { return &percpu_area[i]; }

#endif
