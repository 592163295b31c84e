/* Exceptions and interrupts: one IDT for all CPUs, a per-CPU handler per vector. */
#ifndef COURIER_KERNEL_CPU_TRAP_H
#define COURIER_KERNEL_CPU_TRAP_H

#include <stdint.h>
#include "kernel/lib/compiler.h"
#include "kernel/cpu/percpu.h"

/* What the CPU pushes on an interrupt or exception (SDM vol. 3 6.14.2). */
struct iret_frame {
	uint64_t rip, cs, rflags, rsp, ss;
};

/* What boot/isr.asm pushes; the order is the reverse of its pushes. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	union {                                         /* pushed by the CPU */
		struct iret_frame iret;
		struct { uint64_t rip, cs, rflags, rsp, ss; };
	};
};
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap frame matches boot/isr.asm");

/* Architectural exception vectors (SDM vol. 3 table 6-1). */
enum {
	EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5, EXC_UD = 6,
	EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13, EXC_PF = 14,
	EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19, EXC_VE = 20, EXC_CP = 21,
};

/* IST slots in every TSS: exceptions that must not run on a possibly broken stack. */
#define IST_DF  1
#define IST_NMI 2
#define IST_MC  3
#define IST_COUNT 3
/* Above each IST stack, this CPU's percpu address (16 bytes: the stack stays aligned). */
#define IST_PERCPU_SLOT 16

void idt_init(void);            /* BSP, once */
void idt_load(void);            /* every CPU */
void trap_set_handler(unsigned vector, vector_handler_t fn, void *arg);
const char *exception_name(unsigned vector);
void trap_entry(struct trap_frame *frame);

/* What ring 3 means to the trap layer, given by the layer that runs guests (kernel/guest/). */
struct trap_user_ops {
	void (*fault)(struct trap_frame *frame);        /* an exception in ring 3 */
	void (*resume)(struct trap_frame *frame);       /* every return to ring 3 */
};
void trap_set_user_ops(const struct trap_user_ops *ops);
/* Leave the current stack and return through the frame (boot/isr.asm), e.g. into a guest. */
void __noreturn trap_enter_frame(struct trap_frame *frame);

/* Frames of hypercalls (boot/syscall.asm) carry this in place of a vector. */
#define VEC_HYPERCALL 0x100

/* The frame's registers (and a page fault's cause) as detail lines of the log. */
void dump_registers(const struct trap_frame *f);
/* Report a fatal exception in the hypervisor and end the run (kernel/cpu/fatal.c). */
void __noreturn fatal_exception(struct trap_frame *frame);
/* End the run after a broken invariant of the hypervisor itself. */
void __noreturn panic(const char *fmt, ...) __printf(1, 2);

#endif
