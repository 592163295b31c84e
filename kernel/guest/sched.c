#include "kernel/guest/sched.h"
#include "kernel/cpu/apic.h"
#include "kernel/arch/cpu.h"
#include "kernel/lib/error.h"
#include "kernel/guest/event.h"
#include "kernel/guest/guest.h"
#include "kernel/guest/guest_msg.h"
#include "kernel/lib/log.h"
#include "kernel/cpu/smp.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/time.h"
#include "kernel/cpu/trap.h"
#include "kernel/cpu/vectors.h"
#include "kernel/mm/vm.h"

#define TIMESLICE_US 10000

struct runqueue {
	struct spinlock lock;
	struct guest *head, *tail;
};

static struct runqueue rqs[MAX_CPUS];
static volatile bool boot_done;

static struct sched_policy policy;

void sched_boot_done(const struct sched_policy *p)
{
	policy = *p;
	__atomic_store_n(&boot_done, true, __ATOMIC_RELEASE);
}

/* Caller holds the queue's lock. */
static void rq_push(struct runqueue *rq, struct guest *g)
{
	/* A guest on two queues, or queued while a CPU runs it, would run twice at once. */
	if (g->on_rq || g->on_cpu)
		panic("sched: guest %s queued twice (on_rq %d, on_cpu %d on cpu %u)", g->name,
		      g->on_rq, g->on_cpu, g->running_on);
	g->rq_next = 0;
	g->on_rq = true;
	if (rq->tail)
		rq->tail->rq_next = g;
	else
		rq->head = g;
	rq->tail = g;
}

/* A woken guest goes first (sched_wake). */
static void rq_push_head(struct runqueue *rq, struct guest *g)
{
	if (g->on_rq || g->on_cpu)
		panic("sched: guest %s queued twice (on_rq %d, on_cpu %d on cpu %u)", g->name,
		      g->on_rq, g->on_cpu, g->running_on);
	g->rq_next = rq->head;
	g->on_rq = true;
	rq->head = g;
	if (!rq->tail)
		rq->tail = g;
}

static struct guest *rq_pop(struct runqueue *rq)
{
	struct guest *g = rq->head;
	if (g) {
		rq->head = g->rq_next;
		if (!rq->head)
			rq->tail = 0;
		g->on_rq = false;
	}
	return g;
}

/* False when g is not there (a CPU popped it a moment ago to run it). */
static bool rq_remove(struct runqueue *rq, struct guest *g)
{
	struct guest **pp = &rq->head, *prev = 0;
	for (; *pp; prev = *pp, pp = &(*pp)->rq_next) {
		if (*pp == g) {
			*pp = g->rq_next;
			if (rq->tail == g)
				rq->tail = prev;
			g->on_rq = false;
			return true;
		}
	}
	return false;
}

static void ipi(unsigned cpu)
{
	struct percpu *me = this_cpu();

	if (cpu == me->index)
		return;
	me->ipis_sent++;
	if (apic_send_ipi(cpu_at(cpu)->apic_id, VEC_IPI_WAKE))
		log_err("sched: cannot send a wake-up IPI to cpu %u", cpu);
}

/* Caller holds g->sched_lock: put g on the queue of its CPU. */
static void enqueue(struct guest *g)
{
	struct runqueue *rq = &rqs[g->cpu];
	spin_lock(&rq->lock);
	rq_push(rq, g);
	spin_unlock(&rq->lock);
}

/*
 * A guest woken by an event runs next on its CPU, before the one running there finishes its
 * slice (Xen's credit scheduler boosts a waking vCPU the same way): the woken guest goes to the
 * head of the queue and the CPU's current guest is asked to give way; the wake-up IPI makes it
 * do so at once. Not when the current guest is the waker itself, in a hypercall on that CPU:
 * it goes on (it usually blocks next, for the answer), and the woken guest runs when it stops.
 * Only a blocked guest is woken, and it blocks again once its events are handled, so the guest
 * it preempted goes on right after it.
 */
static void enqueue_boosted(struct guest *g)
{
	struct runqueue *rq = &rqs[g->cpu];
	struct percpu *me = this_cpu();
	spin_lock(&rq->lock);
	rq_push_head(rq, g);
	struct guest *cur = __atomic_load_n(&cpu_at(g->cpu)->current, __ATOMIC_ACQUIRE);
	if (cur && !(g->cpu == me->index && me->in_hypercall))
		cur->need_resched = true;       /* at worst a guest that just left: one extra switch */
	spin_unlock(&rq->lock);
}

void sched_start(struct guest *g)
{
	uint64_t f = spin_lock_irqsave(&g->sched_lock);
	g->state = GUEST_RUNNING;
	enqueue(g);
	spin_unlock_irqrestore(&g->sched_lock, f);
	ipi(g->cpu);
}

/*
 * Blocked with a deadline (HC_BLOCK's argument): each CPU's tick wakes its own guests whose
 * deadline has passed, looking only while some guest sleeps so. A guest waiting for a time
 * thus leaves its CPU idle instead of yielding in a loop; the deadline is met to a tick.
 */
static volatile unsigned sleepers;

static void no_deadline(struct guest *g)       /* under g->sched_lock */
{
	if (g->wake_at_ns) {
		g->wake_at_ns = 0;
		__atomic_sub_fetch(&sleepers, 1, __ATOMIC_RELEASE);
	}
}

/*
 * A woken guest may still be some CPU's current one, between deciding to block and switching
 * away: then it is only marked runnable, and that CPU requeues it when it switches away
 * (switch_away decides under the same lock). Putting it on a queue here as well would put it
 * there twice.
 */
void sched_wake(struct guest *g)
{
	/* The guest this CPU runs: only it could block itself, and not while this CPU is in the
	 * hypervisor; the way back to it enters the upcall. No lock, no IPI. */
	if (g == this_cpu()->current && g->state == GUEST_RUNNING &&
	    !__atomic_load_n(&g->wake_at_ns, __ATOMIC_RELAXED))
		return;
	uint64_t f = spin_lock_irqsave(&g->sched_lock);
	int kick = -1;

	no_deadline(g);
	if (g->state == GUEST_BLOCKED) {
		g->state = GUEST_RUNNING;
		if (!g->on_cpu) {
			enqueue_boosted(g);
			kick = (int)g->cpu;
		}
	} else if (g->on_cpu) {
		kick = (int)g->running_on;      /* running: enter its upcall there now */
	}
	spin_unlock_irqrestore(&g->sched_lock, f);
	if (kick >= 0)
		ipi((unsigned)kick);
}

/*
 * The sender of an event sets the pending bit before it takes g's lock; the blocker looks at
 * the pending bits under it. So either the blocker sees the event, or the sender sees the
 * guest blocked and wakes it: no wake-up is lost.
 */
bool sched_block(struct guest *g, uint64_t until_ns)
{
	uint64_t f = spin_lock_irqsave(&g->sched_lock);
	bool block = !evt_deliverable(g) && (!until_ns || time_since_boot_ns() < until_ns);
	if (block) {
		g->state = GUEST_BLOCKED;
		no_deadline(g);
		if (until_ns) {
			g->wake_at_ns = until_ns;
			__atomic_add_fetch(&sleepers, 1, __ATOMIC_RELEASE);
		}
	}
	spin_unlock_irqrestore(&g->sched_lock, f);
	return block;
}

static void wake_sleepers(unsigned cpu)
{
	if (!__atomic_load_n(&sleepers, __ATOMIC_ACQUIRE))
		return;
	uint64_t now = time_since_boot_ns();
	for (unsigned i = 0; i < guest_count; i++) {
		struct guest *g = &guests[i];
		uint64_t at = __atomic_load_n(&g->wake_at_ns, __ATOMIC_ACQUIRE);
		if (at && g->cpu == cpu && now >= at)
			sched_wake(g);
	}
}

int sched_move(struct guest *g, unsigned cpu, struct guest *by)
{
	if (cpu >= cpu_count || !cpu_at(cpu)->online)
		return E_INVAL;
	uint64_t f = spin_lock_irqsave(&g->sched_lock);
	unsigned from = g->cpu;
	bool kick = false, queued = false;
	enum guest_state state = g->state;

	/* An ended guest stays where it ended (guest_set_state decides under this lock too). */
	if (state != GUEST_RUNNING && state != GUEST_BLOCKED) {
		spin_unlock_irqrestore(&g->sched_lock, f);
		return E_NOENT;
	}
	if (from != cpu) {
		/* on_rq is cleared by a CPU popping g under the queue's lock only: look again
		 * under that lock, or g could end up queued while that CPU runs it. */
		struct runqueue *rq = &rqs[from];
		spin_lock(&rq->lock);
		queued = g->on_rq && rq_remove(rq, g);
		spin_unlock(&rq->lock);
		g->cpu = cpu;
		if (queued) {
			enqueue(g);
		} else if (g->on_cpu) {
			/* Running: its CPU moves it when it switches away (and wakes the new CPU
			 * then), which need_resched makes soon. Blocked: it wakes on its new CPU. */
			g->need_resched = true;
			kick = true;
		}
		g->start->cpu = cpu;    /* the guest can see where it runs (read-only to it) */
		g->moves++;
		/* A guest's own requests are reported only as fast as guest_may_report allows;
		 * the record is formatted later, off this path (guest.c, "Move records"). */
		if (!by || guest_may_report(by))
			guest_note_move(g, cpu, g->state);
	}
	unsigned running_on = g->running_on;
	spin_unlock_irqrestore(&g->sched_lock, f);
	if (kick)
		ipi(running_on);
	if (queued)
		ipi(cpu);
	return 0;
}

/*
 * move_ms=<n>: every n ms the boot CPU moves each live guest to the next online CPU, the way
 * a load balancer would; experiments on guests that move (their events, and later their
 * device messages, must follow them) need no cooperation from the guests.
 */
static void move_all(void)
{
	static uint64_t next_us;
	uint64_t now = time_since_boot_us();

	if (!next_us)
		next_us = now + policy.move_ms * 1000;
	if (now < next_us)
		return;
	next_us = now + policy.move_ms * 1000;
	for (unsigned i = 0; i < guest_count; i++) {
		struct guest *g = &guests[i];
		if (g->state != GUEST_RUNNING && g->state != GUEST_BLOCKED)
			continue;
		unsigned to = g->cpu;
		do
			to = (to + 1) % cpu_count;
		while (!cpu_at(to)->online);
		if (to != g->cpu && sched_move(g, to, NULL) == 0)
			guest_msgs_follow(g);
	}
}

void sched_tick(void)
{
	struct percpu *c = this_cpu();
	struct guest *g = c->current;

	if (policy.move_ms && boot_done && c->index == 0)
		move_all();
	if (policy.end_after_ms && boot_done && time_since_boot_us() >= policy.end_after_ms * 1000)
		policy.end_run();
	if (g && time_since_boot_us() - g->last_start_us >= TIMESLICE_US && rqs[c->index].head)
		g->need_resched = true;
	wake_sleepers(c->index);
	if (c->index == 0) {
		guests_report_moves();
		guest_msgs_tick();
		guest_console_drain(true);
		guests_restart_due();
		guests_reclaim_due();
	}
}

static void account(struct guest *g)
{
	uint64_t now = time_since_boot_us();
	g->cpu_time_us += now - g->last_start_us;
	g->last_start_us = now;
}

/* Give this CPU to the next runnable guest, or go idle. The frame becomes that guest's. */
static void switch_away(struct percpu *c, struct trap_frame *f)
{
	struct guest *g = c->current;
	struct runqueue *rq = &rqs[c->index];

	if (g) {
		/* Before anything makes g visible to another CPU (enqueue, a move). */
		fpu_save(&g->fpu);
		uint64_t fl = spin_lock_irqsave(&g->sched_lock);
		account(g);
		g->ctx = *f;
		g->need_resched = false;
		g->on_cpu = false;
		c->current = 0;
		bool requeue = g->state == GUEST_RUNNING;
		if (requeue)
			enqueue(g);     /* on its own CPU's queue: where a move sent it */
		unsigned cpu = g->cpu;
		spin_unlock_irqrestore(&g->sched_lock, fl);
		if (requeue && cpu != c->index)
			ipi(cpu);
	}

	uint64_t fl = spin_lock_irqsave(&rq->lock);
	struct guest *next = rq_pop(rq);
	spin_unlock_irqrestore(&rq->lock, fl);
	if (!next) {
		write_cr3(vm_kernel_root());
		sched_idle();
	}
	fl = spin_lock_irqsave(&next->sched_lock);
	if (next->on_cpu || next->state != GUEST_RUNNING)
		panic("sched: guest %s popped while %s, on_cpu %d", next->name,
		      guest_state_name(next->state), next->on_cpu);
	next->on_cpu = true;
	next->running_on = c->index;
	if (next->cpu != c->index)      /* moved between leaving the queue and now */
		next->need_resched = true;
	spin_unlock_irqrestore(&next->sched_lock, fl);
	c->current = next;
	next->last_start_us = time_since_boot_us();
	*f = next->ctx;
	fpu_restore(&next->fpu);
	write_cr3(next->pt.root_pa);
}

void sched_return_to_user(struct trap_frame *f)
{
	struct percpu *c = this_cpu();

	if (sched_must_switch(c, c->current))
		switch_away(c, f);
	evt_enter_upcall(c->current, &f->iret);
}

static void __noreturn __attribute__((used)) idle_loop(void)
{
	struct percpu *c = this_cpu();

	for (;;) {
		irq_disable();
		if (boot_done && rqs[c->index].head) {
			struct trap_frame f = { 0 };
			c->current = 0;
			switch_away(c, &f);     /* picks the queue's head */
			sched_return_to_user(&f);
			trap_enter_frame(&f);
		}
		if (boot_done && policy.end_when_idle && guests_all_done())
			policy.end_run();
		smp_poll_calls();
		guest_console_drain(false);
		if (boot_done && rqs[c->index].head)
			continue;       /* woken while draining: no halt before it runs */
		cpu_idle();
	}
}

void sched_idle(void)
{
	/* Nothing of the interrupted path is needed any more: start on an empty stack (top - 8:
	 * as if idle_loop had been called). */
	__asm__ volatile("lea -8(%0), %%rsp\n\txor %%ebp, %%ebp\n\tjmp idle_loop"
			 :: "r"(this_cpu()->kstack_top) : "memory");
	__builtin_unreachable();
}
