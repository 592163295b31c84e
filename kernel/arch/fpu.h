/*
 * x87 and SSE state (SDM vol. 1 10.5.1, the FXSAVE area): what one guest leaves in the FPU
 * registers must never be seen by another, so each guest has an area and the scheduler saves
 * and restores it around every switch. The hypervisor itself is built without FPU and SSE
 * (-mgeneral-regs-only), so guests' registers are untouched while it runs. AVX and later
 * (XSAVE components beyond SSE) stay off: XCR0 is never set, their instructions #UD.
 */
#ifndef COURIER_KERNEL_ARCH_FPU_H
#define COURIER_KERNEL_ARCH_FPU_H

#include <stdint.h>
#include "kernel/lib/compiler.h"

#define FXSAVE_BYTES            512
#define FXSAVE_FCW              0       /* x87 control word, 16 bit */
#define FXSAVE_MXCSR            24      /* 32 bit */
#define FCW_RESET               0x037f  /* FNINIT: all exceptions masked, 64-bit precision */
#define MXCSR_RESET             0x1f80  /* all SIMD exceptions masked, round to nearest */

struct fpu_state {
	uint8_t area[FXSAVE_BYTES];
} __aligned(16);
_Static_assert(sizeof(struct fpu_state) == FXSAVE_BYTES, "FXSAVE area");

/* Every CPU: x87 and SSE usable in ring 3 without faults (CR0.EM, TS clear; CR4.OSFXSR). */
void fpu_cpu_init(void);
/* The state a fresh guest starts with: what FNINIT and a reset MXCSR give. */
void fpu_state_init(struct fpu_state *s);

static inline void fpu_save(struct fpu_state *s)
{
	__asm__ volatile("fxsave64 %0" : "=m"(*s));
}

static inline void fpu_restore(const struct fpu_state *s)
{
	__asm__ volatile("fxrstor64 %0" :: "m"(*s));
}

#endif
