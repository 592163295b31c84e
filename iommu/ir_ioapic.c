#include "iommu/ir_ioapic.h"
#include "iommu/iommu.h"
#include "iommu/ir_source.h"
#include "iommu/ir_table.h"
#include "iommu/unit.h"
#include "kernel/firmware/acpi.h"
#include "kernel/lib/error.h"
#include "kernel/cpu/irq.h"
#include "kernel/lib/log.h"
#include "kernel/arch/mmio.h"
#include "kernel/arch/spinlock.h"

/* 82093AA I/O APIC: an index register and a data window. */
#define IOAPIC_REGSEL           0x00
#define IOAPIC_WINDOW           0x10
#define IOAPIC_MMIO_SIZE        0x20
#define IOAPIC_REG_VER          0x01
#define  IOAPIC_VER_MAXREDIR    GENMASK(23, 16)
#define  IOAPIC_VER_MAXREDIR_SHIFT 16
#define IOAPIC_REG_RTE(p)       (0x10 + 2 * (p))
#define MAX_PINS                240     /* what the version register's 8 bits allow */

struct ioapic {
	volatile uint8_t *regs;
	uint8_t id;
	uint32_t gsi_base;
	unsigned pins;
	struct ir_table *ir;
	unsigned irte;                  /* pin p uses irte + p */
	struct ir_source src;
	int cpu[MAX_PINS];              /* per pin: routed CPU, -1: not routed */
	unsigned vector[MAX_PINS];
};

static struct ioapic ioapics[ACPI_MAX_IOAPICS];
static unsigned n_ioapics;
static struct spinlock lock;

static uint32_t reg_read(const struct ioapic *a, uint32_t r)
{
	mmio_write32(a->regs + IOAPIC_REGSEL, r);
	return mmio_read32(a->regs + IOAPIC_WINDOW);
}

static void reg_write(const struct ioapic *a, uint32_t r, uint32_t v)
{
	mmio_write32(a->regs + IOAPIC_REGSEL, r);
	mmio_write32(a->regs + IOAPIC_WINDOW, v);
}

static uint64_t rte_read(const struct ioapic *a, unsigned pin)
{
	return reg_read(a, IOAPIC_REG_RTE(pin)) |
	       (uint64_t)reg_read(a, IOAPIC_REG_RTE(pin) + 1) << 32;
}

/* Masked while it changes: the low half with the mask first, the high half, the low half. */
static void rte_write(const struct ioapic *a, unsigned pin, uint64_t v)
{
	uint32_t lo = (uint32_t)v;

	reg_write(a, IOAPIC_REG_RTE(pin), reg_read(a, IOAPIC_REG_RTE(pin)) | IOAPIC_RTE_MASKED);
	reg_write(a, IOAPIC_REG_RTE(pin) + 1, (uint32_t)(v >> 32));
	reg_write(a, IOAPIC_REG_RTE(pin), lo);
}

static struct vtd_irte not_present(const struct ioapic *a)
{
	struct vtd_irte_fields f = { .svt = a->src.svt, .sq = a->src.sq, .sid = a->src.sid };
	return vtd_irte_encode(&f, a->ir->eim).e;
}

static bool __boot program(struct ioapic *a)
{
	struct vtd_irte e[MAX_PINS];
	unsigned block = irte_block_size(a->pins);
	bool ok = true;

	for (unsigned p = 0; p < block; p++)
		e[p] = not_present(a);
	if (ir_write_block(a->ir, a->irte, block, e))
		return false;
	for (unsigned p = 0; p < a->pins; p++) {
		struct ioapic_rte r = { .index = (uint16_t)(a->irte + p), .masked = true };
		struct ioapic_rte back;
		a->cpu[p] = -1;
		rte_write(a, p, ioapic_rte_encode(&r));
		ok &= ioapic_rte_decode(rte_read(a, p), &back) && back.index == r.index &&
		      back.masked;
	}
	return ok;
}

static void __boot setup(const struct acpi_ioapic *m)
{
	struct ioapic *a = &ioapics[n_ioapics];
	uint16_t sid = 0;
	int unit = iommu_ioapic_unit(m->id, &sid);

	*a = (struct ioapic){ .id = m->id, .gsi_base = m->gsi_base };
	if (unit < 0 || !(a->ir = ir_table_at((unsigned)unit))) {
		log_warn("ir: I/O APIC %u at 0x%x: %s; its pins stay off", m->id, m->addr,
			 unit < 0 ? "no DMAR device scope names it" :
			 "its unit does not remap interrupts");
		return;
	}
	a->regs = mmio_map(m->addr, IOAPIC_MMIO_SIZE);
	if (!a->regs)
		return;
	a->pins = ((reg_read(a, IOAPIC_REG_VER) & IOAPIC_VER_MAXREDIR) >>
		   IOAPIC_VER_MAXREDIR_SHIFT) + 1;
	if (a->pins > MAX_PINS)
		a->pins = MAX_PINS;
	a->src = ir_source_rid(sid);
	int base = ir_alloc(a->ir, a->pins);
	if (base < 0)
		return;
	a->irte = (unsigned)base;
	bool ok = program(a);
	report("ioapic id=%u addr=0x%x gsi_base=%u pins=%u unit=%d irte=%u sid=0x%04x remapped=%d",
	       m->id, m->addr, m->gsi_base, a->pins, unit, a->irte, sid, ok);
	if (!ok)
		log_err("ir: I/O APIC %u: redirection entries do not read back remappable", m->id);
	n_ioapics++;
}

void __boot ir_ioapic_init(const struct acpi_madt *madt)
{
	for (unsigned i = 0; i < madt->n_ioapics; i++)
		setup(&madt->ioapics[i]);
}

static struct ioapic *find(unsigned gsi, unsigned *pin)
{
	for (unsigned i = 0; i < n_ioapics; i++) {
		struct ioapic *a = &ioapics[i];
		if (gsi >= a->gsi_base && gsi - a->gsi_base < a->pins) {
			*pin = gsi - a->gsi_base;
			return a;
		}
	}
	return 0;
}

int ir_ioapic_route(unsigned gsi, unsigned cpu, vector_handler_t fn, void *arg, bool level,
		    bool active_low)
{
	unsigned pin;
	struct ioapic *a = find(gsi, &pin);

	if (!a)
		return E_NOENT;
	uint64_t f = spin_lock_irqsave(&lock);
	int err = a->cpu[pin] >= 0 ? E_BUSY : 0;
	int v = err ? err : irq_vector_alloc(cpu, fn, arg);
	if (v < 0) {
		spin_unlock_irqrestore(&lock, f);
		return v;
	}
	struct vtd_irte_fields fl = { .present = true, .dlm = VTD_DLM_FIXED, .level = level,
				      .vector = (uint8_t)v, .dst = cpu_at(cpu)->apic_id,
				      .svt = a->src.svt, .sq = a->src.sq, .sid = a->src.sid };
	struct vtd_irte_ret e = vtd_irte_encode(&fl, a->ir->eim);
	err = e.err ? e.err : ir_write(a->ir, a->irte + pin, e.e);
	if (!err) {
		struct ioapic_rte r = { .index = (uint16_t)(a->irte + pin), .vector = (uint8_t)v,
					.level = level, .active_low = active_low };
		a->cpu[pin] = (int)cpu;
		a->vector[pin] = (unsigned)v;
		rte_write(a, pin, ioapic_rte_encode(&r));
		report("ioapicpin gsi=%u irte=%u cpu=%u apic=%u vector=0x%02x", gsi, a->irte + pin,
		       cpu, cpu_at(cpu)->apic_id, v);
	} else if (irq_vector_release(cpu, (unsigned)v, 0)) {
		log_err("ir: GSI %u: vector %#x of cpu %u stays allocated", gsi, v, cpu);
	}
	spin_unlock_irqrestore(&lock, f);
	return err;
}

int ir_ioapic_unroute(unsigned gsi)
{
	unsigned pin;
	struct ioapic *a = find(gsi, &pin);

	if (!a || a->cpu[pin] < 0)
		return E_NOENT;
	uint64_t f = spin_lock_irqsave(&lock);
	struct ioapic_rte r = { .index = (uint16_t)(a->irte + pin), .masked = true };
	rte_write(a, pin, ioapic_rte_encode(&r));
	int err = ir_write(a->ir, a->irte + pin, not_present(a));
	if (!err)
		err = irq_vector_release((unsigned)a->cpu[pin], a->vector[pin], 0);
	a->cpu[pin] = -1;
	spin_unlock_irqrestore(&lock, f);
	return err;
}
