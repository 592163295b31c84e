/*
 * Segment, TSS and gate descriptors (SDM vol. 3 3.4.5, 7.2.3, 6.14.1). Encoders only: the CPU
 * reads these tables, so their layout is fixed by the architecture.
 */
#ifndef COURIER_KERNEL_ARCH_DESC_H
#define COURIER_KERNEL_ARCH_DESC_H

#include <stdint.h>
#include "kernel/lib/compiler.h"

/* Selectors. The order is fixed by SYSCALL/SYSRET (STAR): kernel CS, kernel SS = CS + 8;
 * SYSRET's CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8, so user data precedes user code. */
#define SEL_KCODE       0x08
#define SEL_KDATA       0x10
#define SEL_UCODE32     0x18
#define SEL_UDATA       0x20
#define SEL_UCODE       0x28
#define SEL_TSS         0x30
#define GDT_ENTRIES     8       /* TSS takes two */
#define SEL_RPL3        3

/* Descriptor fields (SDM vol. 3 3.4.5). */
#define DESC_TYPE_SHIFT 40
#define DESC_S          BIT(44) /* code/data, not system */
#define DESC_DPL_SHIFT  45
#define DESC_P          BIT(47)
#define DESC_L          BIT(53) /* 64-bit code */
#define DESC_DB         BIT(54)
#define DESC_G          BIT(55)
/* Accessed bit preset, so loading a selector never writes to the GDT. */
#define DESC_TYPE_CODE_RX 0xbull
#define DESC_TYPE_DATA_RW 0x3ull
#define DESC_TYPE_TSS_AVAIL 0x9ull

/* Gate fields (SDM vol. 3 6.14.1). */
#define GATE_TYPE_INTR  0xe
#define IDT_ENTRIES     256

struct __packed tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
};
_Static_assert(sizeof(struct tss64) == 104, "TSS is 104 bytes (SDM 7.7)");

struct __packed idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate is 16 bytes");

struct __packed desc_ptr {
	uint16_t limit;
	uint64_t base;
};

uint64_t desc_code64(unsigned dpl);
uint64_t desc_data(unsigned dpl);
/* The two 8-byte halves of a 64-bit TSS descriptor. */
void desc_tss(uint64_t out[2], uint64_t base, uint32_t limit);
struct idt_gate idt_gate_make(uint64_t handler, uint16_t selector, unsigned ist, unsigned dpl);

#endif
