#include "kernel/arch/desc.h"

#define DESC_LIMIT_FLAT 0x000f00000000ffffull /* limit 0xfffff (ignored in 64-bit mode) */

uint64_t desc_code64(unsigned dpl)
{
	return DESC_LIMIT_FLAT | (DESC_TYPE_CODE_RX << DESC_TYPE_SHIFT) | DESC_S |
	       ((uint64_t)(dpl & 3) << DESC_DPL_SHIFT) | DESC_P | DESC_L | DESC_G;
}

uint64_t desc_data(unsigned dpl)
{
	return DESC_LIMIT_FLAT | (DESC_TYPE_DATA_RW << DESC_TYPE_SHIFT) | DESC_S |
	       ((uint64_t)(dpl & 3) << DESC_DPL_SHIFT) | DESC_P | DESC_DB | DESC_G;
}

void desc_tss(uint64_t out[2], uint64_t base, uint32_t limit)
{
	out[0] = (limit & 0xffffull) | ((base & 0xffffffull) << 16) |
		 (DESC_TYPE_TSS_AVAIL << DESC_TYPE_SHIFT) | DESC_P |
		 ((uint64_t)((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xffull) << 56);
	out[1] = base >> 32;
}

struct idt_gate idt_gate_make(uint64_t handler, uint16_t selector, unsigned ist, unsigned dpl)
{
	return (struct idt_gate){
		.offset_lo = handler & 0xffff,
		.selector = selector,
		.ist = ist & 7,
		.type_attr = (uint8_t)(0x80 | ((dpl & 3) << 5) | GATE_TYPE_INTR),
		.offset_mid = (handler >> 16) & 0xffff,
		.offset_hi = (uint32_t)(handler >> 32),
	};
}
