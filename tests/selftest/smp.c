/*
 * selftest=smp: an IPI round trip between every ordered pair of CPUs (CPU i pings j, j pongs
 * back to i), a check that the periodic tick advances on every CPU, and on every CPU an NMI
 * taken in ring 0 with the guest's GS base loaded (as between a SWAPGS and the IRETQ or
 * SYSRET after it): its handler must still find its own CPU (boot/isr.asm, isr_paranoid).
 */
#include "tests/selftest/selftest.h"
#include "kernel/cpu/apic.h"
#include "kernel/arch/cpu.h"
#include "kernel/lib/log.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/smp.h"
#include "kernel/cpu/time.h"
#include "kernel/cpu/trap.h"
#include "kernel/cpu/vectors.h"

#define PONG_TIMEOUT_US 1000000
#define TICK_TIMEOUT_US 5000000
#define TICKS_WANTED    3
#define NMI_SPINS       10000000        /* a bound: a self-NMI comes at once */

/* Per CPU: the pongs it received, and who pinged it last. */
static struct {
	volatile uint64_t pongs;
	volatile unsigned from;
} ipi[MAX_CPUS];

static void on_ping(struct trap_frame *f, void *arg)
{
	struct percpu *me = this_cpu();
	if (apic_send_ipi(cpu_at(ipi[me->index].from)->apic_id, VEC_IPI_PONG))
		log_err("selftest: cpu %u cannot send pong", me->index);
}

static void on_pong(struct trap_frame *f, void *arg)
{
	ipi[this_cpu()->index].pongs++;
}

static void install(void *arg)
{
	trap_set_handler(VEC_IPI_PING, on_ping, 0);
	trap_set_handler(VEC_IPI_PONG, on_pong, 0);
}

/* Runs on CPU i: ping every other CPU in turn, one at a time. */
static void sweep(void *arg)
{
	struct percpu *me = this_cpu();
	unsigned *failures = arg;

	for (unsigned j = 0; j < cpu_count; j++) {
		struct percpu *t = cpu_at(j);
		if (t == me || !t->online)
			continue;
		uint64_t before = ipi[me->index].pongs;
		ipi[j].from = me->index;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		uint64_t t0 = rdtsc();
		bool ok = apic_send_ipi(t->apic_id, VEC_IPI_PING) == 0;
		uint64_t deadline = time_since_boot_us() + PONG_TIMEOUT_US;
		while (ok && __atomic_load_n(&ipi[me->index].pongs, __ATOMIC_ACQUIRE) == before) {
			if (time_since_boot_us() > deadline)
				ok = false;
			cpu_relax();
		}
		uint64_t cycles = rdtsc() - t0;
		report("ipi from=%u to=%u ok=%d cycles=%llu", me->index, j, ok,
		       (unsigned long long)(ok ? cycles : 0));
		if (!ok)
			__atomic_fetch_add(failures, 1, __ATOMIC_RELAXED);
	}
}

/* Per CPU: the CPU its NMI handler found itself on (this_cpu() there). */
static struct percpu *volatile nmi_found[MAX_CPUS];

static void on_test_nmi(struct trap_frame *f, void *arg)
{
	struct percpu *me = this_cpu();
	nmi_found[me->index] = me;
}

/*
 * Runs on each CPU: SWAPGS in ring 0 (the GS base is now whatever the other one held: a
 * guest's, or 0), a self-NMI, SWAPGS back. Between the two nothing may use this_cpu(): only
 * apic_send_ipi, which does not, and a bounded spin.
 */
static void nmi_gs_window(void *arg)
{
	struct percpu *me = this_cpu();
	unsigned idx = me->index, *failures = arg;
	struct vector_slot saved = me->vectors[EXC_NMI];
	uint32_t apic = me->apic_id;
	int err;

	nmi_found[idx] = 0;
	trap_set_handler(EXC_NMI, on_test_nmi, 0);
	uint64_t f = irq_save();
	__asm__ volatile("swapgs" ::: "memory");
	err = apic_send_ipi(apic, ICR_DELIVERY_NMI);
	for (unsigned i = 0; !err && !nmi_found[idx] && i < NMI_SPINS; i++)
		cpu_relax();
	__asm__ volatile("swapgs" ::: "memory");
	irq_restore(f);
	trap_set_handler(EXC_NMI, saved.fn, saved.arg);
	bool ok = !err && nmi_found[idx] == me;
	report("nmi_gs cpu=%u ok=%d", idx, ok);
	if (!ok)
		__atomic_fetch_add(failures, 1, __ATOMIC_RELAXED);
}

static void check_ticks(void)
{
	uint64_t deadline = time_since_boot_us() + TICK_TIMEOUT_US;

	for (unsigned i = 0; i < cpu_count; i++) {
		struct percpu *c = cpu_at(i);
		while (c->online && c->ticks < TICKS_WANTED && time_since_boot_us() < deadline)
			cpu_idle();
		if (c->online && c->ticks < TICKS_WANTED)
			log_err("selftest: the tick does not advance on cpu %u (%llu ticks)", i,
				(unsigned long long)c->ticks);
	}
}

void selftest_smp(void)
{
	unsigned failures = 0;

	log_info("selftest smp: IPI round trips between %u CPUs", cpu_count);
	for (unsigned i = 0; i < cpu_count; i++)
		if (cpu_at(i)->online && smp_call(i, install, 0))
			log_err("selftest: cpu %u did not run the set-up", i);
	for (unsigned i = 0; i < cpu_count; i++) {
		if (!cpu_at(i)->online)
			continue;
		int err = smp_call(i, sweep, &failures);
		if (err)
			log_err("selftest: cpu %u did not run its sweep", i);
	}
	if (failures)
		log_err("selftest: %u IPI round trips failed", failures);
	failures = 0;
	for (unsigned i = 0; i < cpu_count; i++)
		if (cpu_at(i)->online && smp_call(i, nmi_gs_window, &failures))
			log_err("selftest: cpu %u did not run the NMI check", i);
	if (failures)
		log_err("selftest: %u CPUs took an NMI in the GS window wrongly", failures);
	check_ticks();
}
