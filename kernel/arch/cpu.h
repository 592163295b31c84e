/* x86-64 instructions, control registers and model-specific registers (Intel SDM vol. 3). */
#ifndef COURIER_KERNEL_ARCH_CPU_H
#define COURIER_KERNEL_ARCH_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

/* SDM vol. 3 2.5: control register bits. */
#define CR0_PE          BIT(0)
#define CR0_MP          BIT(1)          /* monitor coprocessor: WAIT honours TS */
#define CR0_EM          BIT(2)          /* x87 emulation: every x87 instruction #NM */
#define CR0_TS          BIT(3)          /* task switched: the next FPU/SSE use #NM */
#define CR0_NE          BIT(5)          /* native x87 errors (#MF) */
#define CR0_WP          BIT(16)
#define CR0_PG          BIT(31)
#define CR4_PAE         BIT(5)
#define CR4_PGE         BIT(7)
#define CR4_OSFXSR      BIT(9)          /* FXSAVE/FXRSTOR and SSE instructions */
#define CR4_OSXMMEXCPT  BIT(10)         /* unmasked SIMD exceptions raise #XM, not #UD */

/* SDM vol. 4: architectural MSRs. */
#define MSR_APIC_BASE   0x1b
#define MSR_PAT         0x277
#define MSR_EFER        0xc0000080
#define MSR_STAR        0xc0000081
#define MSR_LSTAR       0xc0000082
#define MSR_FMASK       0xc0000084
#define MSR_FS_BASE     0xc0000100
#define MSR_GS_BASE     0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define EFER_SCE        BIT(0)
#define EFER_LME        BIT(8)
#define EFER_NXE        BIT(11)

/* RFLAGS */
#define RFLAGS_IF       BIT(9)

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

/* CPUID feature bits used by the hypervisor (SDM vol. 2, CPUID). */
#define CPUID1_ECX_X2APIC       BIT(21)
#define CPUID1_ECX_HYPERVISOR   BIT(31)
#define CPUID1_EDX_APIC         BIT(9)
#define CPUID80000001_EDX_NX    BIT(20)
#define CPUID80000001_EDX_PDPE1GB BIT(26)
#define CPUID80000001_EDX_LM    BIT(29)

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

#define DEFINE_CR(n) \
	static inline uint64_t read_cr##n(void) { uint64_t v; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v)); return v; } \
	static inline void write_cr##n(uint64_t v) { __asm__ volatile("mov %0, %%cr" #n :: "r"(v) : "memory"); }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cpu_halt(void) { __asm__ volatile("hlt" ::: "memory"); }
/* sti;hlt: the interrupt shadow makes the pair atomic, so a wake-up that arrives after the
 * caller checked for work (with interrupts off) is not lost. Returns with interrupts on. */
static inline void cpu_idle(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

static inline uint64_t read_rflags(void)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f));
	return f;
}

static inline uint64_t irq_save(void)
{
	uint64_t f = read_rflags();
	irq_disable();
	return f;
}

static inline void irq_restore(uint64_t flags)
{
	if (flags & RFLAGS_IF)
		irq_enable();
}

static inline void invlpg(const void *va)
{
	__asm__ volatile("invlpg (%0)" :: "r"(va) : "memory");
}

static inline void __noreturn cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

#endif
