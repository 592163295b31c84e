/* The local APIC in xAPIC (MMIO) or x2APIC (MSR) mode, behind one interface (SDM vol. 3 ch. 10). */
#ifndef COURIER_KERNEL_CPU_APIC_H
#define COURIER_KERNEL_CPU_APIC_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"
#include "kernel/arch/cpu.h"
#include "kernel/arch/mmio.h"

/* Register offsets as in the xAPIC MMIO page; x2APIC MSR = 0x800 + offset / 16 (10.12.1.2). */
#define X2APIC_MSR_BASE 0x800
#define X2APIC_MSR_SHIFT 4
#define APIC_ID         0x020
#define APIC_VERSION    0x030
#define APIC_TPR        0x080
#define APIC_EOI        0x0b0
#define APIC_SVR        0x0f0
#define APIC_ESR        0x280
#define APIC_ICR_LO     0x300
#define APIC_ICR_HI     0x310
#define APIC_LVT_TIMER  0x320
#define APIC_LVT_LINT0  0x350
#define APIC_LVT_LINT1  0x360
#define APIC_LVT_ERROR  0x370
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR  0x390
#define APIC_TIMER_DIV  0x3e0

#define APIC_BASE_BSP   BIT(8)
#define APIC_BASE_EXTD  BIT(10)         /* x2APIC mode */
#define APIC_BASE_EN    BIT(11)
#define APIC_BASE_ADDR_MASK GENMASK(51, 12)
#define APIC_SVR_ENABLE BIT(8)
#define APIC_LVT_MASKED BIT(16)
#define APIC_LVT_PERIODIC BIT(17)
#define APIC_TIMER_DIV_16 0x3

/* ICR fields (10.6.1). */
#define ICR_DELIVERY_FIXED      (0u << 8)
#define ICR_DELIVERY_NMI        (4u << 8)
#define ICR_DELIVERY_INIT       (5u << 8)
#define ICR_DELIVERY_STARTUP    (6u << 8)
#define ICR_DELIVERY_STATUS     BIT(12)  /* xAPIC only: send pending */
#define ICR_LEVEL_ASSERT        BIT(14)
#define ICR_TRIGGER_LEVEL       BIT(15)
#define ICR_DEST_SHIFT_XAPIC    56       /* in the 64-bit ICR value */
#define ICR_DEST_SHIFT_X2APIC   32

enum apic_mode { APIC_MODE_XAPIC, APIC_MODE_X2APIC };
enum apic_pref { APIC_PREF_AUTO, APIC_PREF_XAPIC, APIC_PREF_X2APIC };

/* BSP: choose the mode (x2APIC when the CPU has it, unless told otherwise) and map the MMIO page. */
int apic_global_init(enum apic_pref pref) __must_check;
/* Every CPU: enable its local APIC in the chosen mode, mask LVTs, set the spurious vector. */
void apic_cpu_init(void);
enum apic_mode apic_mode(void);
const char *apic_mode_name(void);
uint32_t apic_id(void);

/* Where this CPU's EOI goes (set by apic_global_init): every interrupt's path writes it, so
 * apic_eoi is inline, without apic_write's call. */
struct apic_eoi_reg {
	bool x2apic;
	volatile uint32_t *mmio;        /* the xAPIC's EOI register */
};
extern struct apic_eoi_reg apic_eoi_reg;
static inline void apic_eoi(void)
{
	if (apic_eoi_reg.x2apic)
		wrmsr(X2APIC_MSR_BASE + (APIC_EOI >> X2APIC_MSR_SHIFT), 0);
	else
		mmio_write32(apic_eoi_reg.mmio, 0);
}
/* Send an IPI; returns E_TIMEOUT when an xAPIC never clears its delivery-status bit. */
int apic_send_ipi(uint32_t dest_apic, uint32_t icr_low) __must_check;
uint32_t apic_read(uint32_t reg);
void apic_write(uint32_t reg, uint32_t v);

#endif
