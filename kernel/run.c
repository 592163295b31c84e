#include "kernel/run.h"
#include "kernel/apic.h"
#include "kernel/cpu.h"
#include "kernel/guest.h"
#include "iommu/iommu.h"
#include "kernel/io.h"
#include "kernel/log.h"
#include "kernel/percpu.h"
#include "kernel/time.h"
#include "kernel/trap.h"

static volatile unsigned stopped_cpus;
static volatile bool ending;

static void __noreturn park(struct trap_frame *frame, void *arg)
{
	__atomic_fetch_add(&stopped_cpus, 1, __ATOMIC_RELEASE);
	cpu_halt_forever();     /* NMIs stay blocked: no IRET follows */
}

void run_install_stop_handler(void)
{
	trap_set_handler(EXC_NMI, (vector_handler_t)park, 0);
}

/* Park every other online CPU; bounded wait, a CPU that does not answer is reported. */
static unsigned stop_others(void)
{
	struct percpu *me = this_cpu();
	unsigned expected = 0;

	for (unsigned i = 0; i < cpu_count; i++) {
		struct percpu *c = cpu_at(i);
		if (c == me || !c->online)
			continue;
		if (apic_send_ipi(c->apic_id, ICR_DELIVERY_NMI) == 0)
			expected++;
	}
	uint64_t deadline = time_since_boot_us() + 1000000;
	while (__atomic_load_n(&stopped_cpus, __ATOMIC_ACQUIRE) < expected &&
	       time_since_boot_us() < deadline)
		cpu_relax();
	return expected - stopped_cpus;
}

static void __noreturn leave(void)
{
	unsigned errors = log_error_count();

	report("done status=%u", errors);
	outb(DEBUG_EXIT_PORT, errors ? DEBUG_EXIT_ERRORS : DEBUG_EXIT_OK);
	log_info("run ended; halting (no isa-debug-exit device)");
	cpu_halt_forever();
}

void run_end(void)
{
	irq_disable();
	if (__atomic_exchange_n(&ending, true, __ATOMIC_ACQ_REL))
		cpu_halt_forever();     /* another CPU is ending the run */
	/* Faults the IOMMU recorded whose interrupt has not been handled yet; before the other
	 * CPUs stop, so none of them can be holding a unit's fault lock. */
	iommu_fault_poll();
	log_console_stealable();
	unsigned lost = stop_others();
	if (lost)
		log_err("run: %u CPUs did not stop", lost);
	for (unsigned i = 0; i < cpu_count; i++) {
		struct percpu *c = cpu_at(i);
		if (c->online)
			report("tick cpu=%u ticks=%llu", i, (unsigned long long)c->ticks);
	}
	for (unsigned i = 0; i < guest_count; i++)
		guest_console_flush(&guests[i]);
	guests_report_stats();
	leave();
}

void run_abort(void)
{
	irq_disable();
	if (__atomic_exchange_n(&ending, true, __ATOMIC_ACQ_REL))
		cpu_halt_forever();
	log_console_stealable();
	stop_others();
	leave();
}
