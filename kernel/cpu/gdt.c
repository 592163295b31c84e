#include "kernel/cpu/gdt.h"
#include "kernel/arch/cpu.h"
#include "kernel/lib/error.h"
#include "kernel/cpu/trap.h"
#include "kernel/mm/vm.h"

int gdt_prepare(struct percpu *cpu)
{
	uint64_t *g = cpu->gdt;

	g[0] = 0;
	g[SEL_KCODE / 8] = desc_code64(0);
	g[SEL_KDATA / 8] = desc_data(0);
	g[SEL_UCODE32 / 8] = 0;         /* no compatibility mode for guests */
	g[SEL_UDATA / 8] = desc_data(3);
	g[SEL_UCODE / 8] = desc_code64(3);
	desc_tss(&g[SEL_TSS / 8], (uint64_t)&cpu->tss, sizeof(cpu->tss) - 1);

	cpu->tss.iomap_base = sizeof(cpu->tss);  /* no I/O bitmap: ring 3 gets no ports */
	cpu->tss.rsp[0] = cpu->stack_top;
	for (unsigned i = 1; i <= IST_COUNT; i++) {
		uint64_t top = vm_alloc_stack(IST_STACK_SIZE, 0);
		if (!top)
			return E_NOMEM;
		/* The stack starts below one slot holding this CPU's percpu address: the IST
		 * vectors' entry compares the GS base with it (boot/isr.asm, isr_paranoid). */
		cpu->tss.ist[i - 1] = top - IST_PERCPU_SLOT;
		*(uint64_t *)(top - IST_PERCPU_SLOT) = (uint64_t)cpu;
	}
	return 0;
}

void gdt_load(struct percpu *cpu)
{
	struct desc_ptr p = { sizeof(cpu->gdt) - 1, (uint64_t)cpu->gdt };

	__asm__ volatile("lgdt %0" :: "m"(p));
	__asm__ volatile(
		"pushq %[cs]\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"movw %w[ds], %%ax\n\t"
		"movw %%ax, %%ds\n\t"
		"movw %%ax, %%es\n\t"
		"movw %%ax, %%ss\n\t"
		"xorl %%eax, %%eax\n\t"
		"movw %%ax, %%fs\n\t"
		"movw %%ax, %%gs\n\t"
		:: [cs] "i"(SEL_KCODE), [ds] "i"(SEL_KDATA) : "rax", "memory");
	__asm__ volatile("ltr %w0" :: "r"((uint16_t)SEL_TSS));
	wrmsr(MSR_GS_BASE, (uint64_t)cpu);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}
