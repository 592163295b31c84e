#include "kernel/run.h"
#include "kernel/cpu/console.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/stop.h"
#include "kernel/cpu/time.h"
#include "kernel/guest/bench.h"
#include "kernel/guest/guest.h"
#include "kernel/lib/log.h"
#include "kernel/mm/mm.h"
#include "iommu/iommu.h"

void run_end(void)
{
	stop_claim();
	/* Faults the IOMMU recorded whose interrupt has not been handled yet; before the other
	 * CPUs stop, so none of them can be holding a unit's fault lock. */
	iommu_fault_poll();
	console_take_over();
	unsigned lost = stop_others();
	if (lost)
		log_err("run: %u CPUs did not stop", lost);
	for (unsigned i = 0; i < cpu_count; i++) {
		struct percpu *c = cpu_at(i);
		if (c->online)
			report("tick cpu=%u ticks=%llu irqoff_max_us=%llu irqoff_hypercall=%u "
			       "ipis_sent=%llu ipis_taken=%llu", i, (unsigned long long)c->ticks,
			       (unsigned long long)time_cycles_to_ns(c->irqoff_max) / 1000,
			       c->irqoff_hypercall, (unsigned long long)c->ipis_sent,
			       (unsigned long long)c->ipis_taken);
	}
	for (unsigned i = 0; i < guest_count; i++)
		guest_console_flush(&guests[i]);
	guests_report_moves_at_end();
	guests_report_stats();
	bench_report();
	console_report_dropped();
	report("frames free=%llu at=end", (unsigned long long)mm_free_bytes());
	stop_leave();
}
