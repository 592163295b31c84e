#include "kernel/cpu/stop.h"
#include "kernel/arch/cpu.h"
#include "kernel/arch/io.h"
#include "kernel/cpu/apic.h"
#include "kernel/cpu/console.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/time.h"
#include "kernel/cpu/trap.h"
#include "kernel/lib/log.h"

#define STOP_WAIT_US    1000000

static volatile unsigned stopped_cpus;
static volatile bool ending;

static void __noreturn park(struct trap_frame *frame, void *arg)
{
	__atomic_fetch_add(&stopped_cpus, 1, __ATOMIC_RELEASE);
	cpu_halt_forever();     /* NMIs stay blocked: no IRET follows */
}

void stop_install_handler(void)
{
	trap_set_handler(EXC_NMI, (vector_handler_t)park, 0);
}

void stop_claim(void)
{
	irq_disable();
	if (__atomic_exchange_n(&ending, true, __ATOMIC_ACQ_REL))
		cpu_halt_forever();     /* another CPU is ending the run */
}

unsigned stop_others(void)
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
	uint64_t deadline = time_since_boot_us() + STOP_WAIT_US;
	while (__atomic_load_n(&stopped_cpus, __ATOMIC_ACQUIRE) < expected &&
	       time_since_boot_us() < deadline)
		cpu_relax();
	return expected - stopped_cpus;
}

void __noreturn stop_leave(void)
{
	unsigned errors = log_error_count();

	report("done status=%u", errors);
	console_show_all();
	outb(DEBUG_EXIT_PORT, errors ? DEBUG_EXIT_ERRORS : DEBUG_EXIT_OK);
	log_info("run ended; halting (no isa-debug-exit device)");
	console_show_all();
	cpu_halt_forever();
}

void __noreturn stop_abort(void)
{
	stop_claim();
	console_take_over();
	stop_others();
	stop_leave();
}
