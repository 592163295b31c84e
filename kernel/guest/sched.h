/*
 * Scheduling guests: one run queue per CPU, round robin with the local APIC tick as the
 * preemption clock. The hypervisor has one kernel stack per CPU and no kernel threads: a guest's
 * whole state while it is off its CPU is its saved user context (struct guest.ctx), so switching
 * is rewriting the trap frame that the CPU is about to return through.
 */
#ifndef COURIER_KERNEL_GUEST_SCHED_H
#define COURIER_KERNEL_GUEST_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"
#include "kernel/cpu/percpu.h"
#include "kernel/guest/event.h"
#include "kernel/guest/guest.h"

struct guest;
struct trap_frame;

/* Put a new guest on its CPU's run queue. */
void sched_start(struct guest *g);
/*
 * After raising an event for g (from any CPU, any context): a blocked g becomes runnable, a
 * running one is interrupted so it enters its upcall. Decided under g's scheduling lock, which
 * the blocker also holds while it looks at the pending bits, so no event is missed.
 */
void sched_wake(struct guest *g);
/* The current guest sleeps until an unmasked event is pending (returns false if one is). */
/* HC_BLOCK: blocked until an unmasked event is pending or, with until_ns, that time since boot
 * has come (woken by the tick). False when it need not block at all. */
bool sched_block(struct guest *g, uint64_t until_ns);
/* Move a guest to another CPU, reported as @guest reason=moved (noted here, formatted later:
 * guest_note_move); its pending events go with it. E_NOENT once it has ended. by: the guest that asked (its rate of records is limited,
 * guest_may_report), NULL for the hypervisor's own moves. */
int sched_move(struct guest *g, unsigned cpu, struct guest *by) __must_check;
/* Timer tick on this CPU. */
void sched_tick(void);
/* On every return to ring 3: switch guests if needed, and enter the upcall if events wait. */
void sched_return_to_user(struct trap_frame *f);
/* Must this CPU switch away from its guest before going back to it? */
static inline bool sched_must_switch(const struct percpu *c, const struct guest *g)
{
	return !g || g->state != GUEST_RUNNING || g->need_resched || g->cpu != c->index;
}

/* Can this CPU go straight back to its guest, with no switch and no upcall to enter (the fast
 * hypercalls' way back)? Inline: it is on every fast hypercall's and upcall's way out. */
static inline bool sched_resume_plain(const struct percpu *c)
{
	const struct guest *g = c->current;
	return !sched_must_switch(c, g) && !evt_upcall_due(g);
}
/* A CPU with nothing to run: enter guests as they become runnable, else halt. */
void __noreturn sched_idle(void);
/* How the run goes once the guests start (the command line's move_ms= and exit=). */
struct sched_policy {
	uint64_t move_ms;               /* move every guest to the next CPU this often; 0: never */
	bool end_when_idle;             /* exit=idle: end once every guest has ended */
	uint64_t end_after_ms;          /* exit=<ms>: end this long after boot; 0: never */
	void (*end_run)(void);          /* ends the run (kernel/run.c) */
};
/* Set once the boot CPU has created the guests and run the self-tests. */
void sched_boot_done(const struct sched_policy *p);

#endif
