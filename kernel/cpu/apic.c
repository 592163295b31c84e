#include "kernel/cpu/apic.h"
#include "kernel/arch/cpu.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "kernel/arch/mmio.h"
#include "kernel/cpu/vectors.h"

#define APIC_MMIO_SIZE          0x1000
#define X2APIC_MSR_ICR          0x830
#define ICR_SEND_SPINS          10000000

static enum apic_mode mode;
static volatile uint8_t *mmio;
struct apic_eoi_reg apic_eoi_reg;

enum apic_mode apic_mode(void) { return mode; }
const char *apic_mode_name(void) { return mode == APIC_MODE_X2APIC ? "x2apic" : "xapic"; }

uint32_t apic_read(uint32_t reg)
{
	if (mode == APIC_MODE_X2APIC)
		return (uint32_t)rdmsr(X2APIC_MSR_BASE + (reg >> X2APIC_MSR_SHIFT));
	return mmio_read32(mmio + reg);
}

void apic_write(uint32_t reg, uint32_t v)
{
	if (mode == APIC_MODE_X2APIC)
		wrmsr(X2APIC_MSR_BASE + (reg >> X2APIC_MSR_SHIFT), v);
	else
		mmio_write32(mmio + reg, v);
}

int apic_global_init(enum apic_pref pref)
{
	struct cpuid_regs r = cpuid(1, 0);
	uint64_t base = rdmsr(MSR_APIC_BASE);
	bool has_x2 = r.ecx & CPUID1_ECX_X2APIC;

	if (!(r.edx & CPUID1_EDX_APIC)) {
		log_err("apic: this CPU has no local APIC");
		return E_NOSYS;
	}
	/* Firmware that hands over in x2APIC mode cannot go back without a reset (10.12.5). */
	if (base & APIC_BASE_EXTD)
		mode = APIC_MODE_X2APIC;
	else if (pref == APIC_PREF_XAPIC || !has_x2)
		mode = APIC_MODE_XAPIC;
	else
		mode = APIC_MODE_X2APIC;
	if (pref == APIC_PREF_X2APIC && !has_x2)
		log_warn("apic: x2apic requested but the CPU has none; using xapic");
	mmio = mmio_map(base & APIC_BASE_ADDR_MASK, APIC_MMIO_SIZE);
	apic_eoi_reg = (struct apic_eoi_reg){
		.x2apic = mode == APIC_MODE_X2APIC,
		.mmio = mmio ? (volatile uint32_t *)(mmio + APIC_EOI) : 0,
	};
	return mmio ? 0 : E_NOMEM;
}

void apic_cpu_init(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE) | APIC_BASE_EN;
	wrmsr(MSR_APIC_BASE, base);
	if (mode == APIC_MODE_X2APIC)
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);

	apic_write(APIC_TPR, 0);
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	apic_write(APIC_LVT_LINT0, APIC_LVT_MASKED);
	apic_write(APIC_LVT_LINT1, APIC_LVT_MASKED);
	apic_write(APIC_LVT_ERROR, VEC_APIC_ERROR);
	apic_write(APIC_ESR, 0);
	apic_write(APIC_SVR, APIC_SVR_ENABLE | VEC_SPURIOUS);
	apic_eoi();
}

uint32_t apic_id(void)
{
	uint32_t id = apic_read(APIC_ID);
	return mode == APIC_MODE_X2APIC ? id : id >> 24;
}

int apic_send_ipi(uint32_t dest, uint32_t icr_low)
{
	if (mode == APIC_MODE_X2APIC) {
		wrmsr(X2APIC_MSR_ICR, ((uint64_t)dest << ICR_DEST_SHIFT_X2APIC) | icr_low);
		return 0;
	}
	uint64_t f = irq_save();
	mmio_write32(mmio + APIC_ICR_HI, dest << 24);
	mmio_write32(mmio + APIC_ICR_LO, icr_low);
	for (unsigned i = 0; i < ICR_SEND_SPINS; i++) {
		if (!(mmio_read32(mmio + APIC_ICR_LO) & ICR_DELIVERY_STATUS)) {
			irq_restore(f);
			return 0;
		}
		cpu_relax();
	}
	irq_restore(f);
	return E_TIMEOUT;
}
