#include "iommu/fault.h"
#include "iommu/iommu.h"
#include "iommu/unit.h"
#include "kernel/cpu/apic.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/smp.h"
#include "kernel/cpu/time.h"
#include "kernel/cpu/trap.h"
#include "kernel/cpu/vectors.h"
#include "kernel/arch/msi_msg.h"

#define FAULT_BURST_GAP_US      1000000 /* a quieter second ends a burst */
#define FAULT_BURST_RECORDS     32      /* records printed per burst */
#define XAPIC_MAX_ID            0xff    /* compatibility-format MSIs carry 8 destination bits */

static struct spinlock history_lock = SPINLOCK_INIT;
static struct iommu_fault_event history[FAULT_HISTORY];
static uint64_t history_count;

static void remember(const struct iommu_fault_event *e)
{
	uint64_t f = spin_lock_irqsave(&history_lock);
	history[history_count % FAULT_HISTORY] = *e;
	__atomic_store_n(&history_count, history_count + 1, __ATOMIC_RELEASE);
	spin_unlock_irqrestore(&history_lock, f);
}

uint64_t iommu_fault_count(void)
{
	return __atomic_load_n(&history_count, __ATOMIC_ACQUIRE);
}

bool iommu_fault_get(uint64_t seq, struct iommu_fault_event *out)
{
	uint64_t f = spin_lock_irqsave(&history_lock);
	bool ok = seq < history_count && history_count - seq <= FAULT_HISTORY;
	if (ok)
		*out = history[seq % FAULT_HISTORY];
	spin_unlock_irqrestore(&history_lock, f);
	return ok;
}

/* ---- the interrupt ------------------------------------------------------------------------ */

static void on_fault_event(struct trap_frame *frame, void *arg)
{
	for (unsigned i = 0; i < iommu_unit_count(); i++) {
		struct vtd_unit *u = iommu_unit_at(i);
		if (u->f.cpu == (int)this_cpu()->index)
			vtd_fault_process(u, true);
	}
}

static void install(void *arg)
{
	trap_set_handler(VEC_IOMMU_FAULT, on_fault_event, NULL);
}

void vtd_fault_mask(struct vtd_unit *u, bool masked)
{
	vtd_write32(&u->regs, VTD_FECTL, masked ? VTD_FECTL_IM : 0);
}

int vtd_fault_setup(struct vtd_unit *u, unsigned cpu)
{
	if (cpu >= cpu_count || !cpu_at(cpu)->online) {
		log_warn("vt-d unit %u: fault events cannot go to cpu %u, which is not online",
			 u->index, cpu);
		return E_INVAL;
	}
	uint32_t apic = cpu_at(cpu)->apic_id;
	if (apic > XAPIC_MAX_ID) {
		log_warn("vt-d unit %u: cpu %u has APIC id %u, past what a compatibility-format "
			 "fault event can name", u->index, cpu, apic);
		return E_RANGE;
	}
	struct msi_compat c = { .dest = (uint8_t)apic, .vector = VEC_IOMMU_FAULT,
				.dlm = MSI_DLM_FIXED };
	struct msi_ret m = msi_compat_encode(&c);
	if (m.err)
		return m.err;
	int err = smp_call(cpu, install, NULL);
	if (err)
		return err;
	vtd_fault_mask(u, true);
	vtd_write32(&u->regs, VTD_FEDATA, m.m.data);
	vtd_write32(&u->regs, VTD_FEADDR, m.m.addr_lo);
	vtd_write32(&u->regs, VTD_FEUADDR, m.m.addr_hi);
	u->f.cpu = (int)cpu;
	/* Faults recorded before now (firmware's, or while masked) are handled here, then the
	 * unmask lets the unit signal the next ones. */
	vtd_fault_process(u, false);
	vtd_fault_mask(u, false);
	return 0;
}

/* ---- decoding and reporting --------------------------------------------------------------- */

/* Start a new burst when the last fault is long enough ago; say what the last one left out. */
static void burst_begin(struct vtd_unit *u, uint64_t now)
{
	struct vtd_fault_state *s = &u->f;

	if (s->burst && now - s->last_us <= FAULT_BURST_GAP_US)
		return;
	if (s->suppressed)
		log_warn("vt-d unit %u: %u more fault records in the last burst were not printed",
			 u->index, s->suppressed);
	s->burst = 0;
	s->suppressed = 0;
	s->overflow_reported = false;
}

static void report_fault(struct vtd_unit *u, const struct iommu_fault_event *e)
{
	struct vtd_fault_state *s = &u->f;
	char fields[128];

	vtd_fault_format(&e->f, u->segment, fields, sizeof(fields));
	if (++s->burst == 1)
		log_warn("vt-d unit %u: DMA remapping fault: %s (%s); later faults of this burst "
			 "appear as @dmafault records only", u->index, fields,
			 vtd_fault_reason_desc(e->f.reason));
	if (s->burst <= FAULT_BURST_RECORDS)
		report("dmafault unit=%u %s cpu=%u via=%s", u->index, fields, e->cpu,
		       e->irq ? "irq" : "poll");
	else
		s->suppressed++;
	remember(e);
}

static void report_overflow(struct vtd_unit *u, struct iommu_fault_event *e)
{
	e->overflow = true;
	e->f = (struct vtd_fault){ 0 };
	if (!u->f.overflow_reported) {
		log_warn("vt-d unit %u: primary fault overflow: faults were lost", u->index);
		report("dmafault unit=%u bdf=- addr=- type=- reason=- name=overflow cpu=%u via=%s",
		       u->index, e->cpu, e->irq ? "irq" : "poll");
		u->f.overflow_reported = true;
	}
	remember(e);
}

void vtd_fault_process(struct vtd_unit *u, bool irq)
{
	struct iommu_fault_event e = { .unit = u->index, .segment = u->segment, .irq = irq,
				       .cpu = this_cpu()->index };
	uint64_t f = spin_lock_irqsave(&u->f.lock);
	uint32_t fsts = vtd_read32(&u->regs, VTD_FSTS);
	struct vtd_fsts st = vtd_fsts_decode(fsts);

	if (st.ppf || st.pfo)
		burst_begin(u, time_since_boot_us());
	/* 7.3.1: records from FRI on, each cleared as it is read, until one without F. */
	for (unsigned k = 0; st.ppf && k < u->regs.nfr; k++) {
		unsigned i = (st.fri + k) % u->regs.nfr;
		struct vtd_frcd r = { .hi = vtd_read64(&u->regs, vtd_reg_frcd_hi(&u->regs, i)) };
		if (!(r.hi & VTD_FRCD_F))
			break;
		r.lo = vtd_read64(&u->regs, vtd_reg_frcd_lo(&u->regs, i));
		vtd_write32(&u->regs, vtd_reg_frcd_f(&u->regs, i), VTD_FRCD_F32);
		e.f = vtd_fault_decode(r);
		report_fault(u, &e);
	}
	if (st.pfo) {
		vtd_write32(&u->regs, VTD_FSTS, VTD_FSTS_PFO);
		report_overflow(u, &e);
	}
	if (st.ppf || st.pfo)
		u->f.last_us = time_since_boot_us();
	spin_unlock_irqrestore(&u->f.lock, f);
}
