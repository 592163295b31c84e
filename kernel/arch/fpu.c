#include "kernel/arch/fpu.h"
#include "kernel/arch/cpu.h"

void fpu_cpu_init(void)
{
	write_cr0((read_cr0() | CR0_MP | CR0_NE) & ~(CR0_EM | CR0_TS));
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	__asm__ volatile("fninit");
}

void fpu_state_init(struct fpu_state *s)
{
	for (unsigned i = 0; i < FXSAVE_BYTES; i++)
		s->area[i] = 0;
	s->area[FXSAVE_FCW] = (uint8_t)FCW_RESET;
	s->area[FXSAVE_FCW + 1] = (uint8_t)(FCW_RESET >> 8);
	for (unsigned i = 0; i < 4; i++)
		s->area[FXSAVE_MXCSR + i] = (uint8_t)(MXCSR_RESET >> (8 * i));
}
