#include "kernel/sched.h"
#include "kernel/apic.h"
#include "kernel/cpu.h"
#include "kernel/error.h"
#include "kernel/event.h"
#include "kernel/guest.h"
#include "kernel/log.h"
#include "kernel/options.h"
#include "kernel/percpu.h"
#include "kernel/run.h"
#include "kernel/smp.h"
#include "kernel/time.h"
#include "kernel/trap.h"
#include "kernel/vectors.h"
#include "kernel/vm.h"

#define TIMESLICE_US 10000

struct runqueue {
	struct spinlock lock;
	struct guest *head, *tail;
};

static struct runqueue rqs[MAX_CPUS];
static volatile bool boot_done;

void sched_boot_done(void) { __atomic_store_n(&boot_done, true, __ATOMIC_RELEASE); }

/* Caller holds the queue's lock. */
static void rq_push(struct runqueue *rq, struct guest *g)
{
	g->rq_next = 0;
	g->on_rq = true;
	if (rq->tail)
		rq->tail->rq_next = g;
	else
		rq->head = g;
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

static void rq_remove(struct runqueue *rq, struct guest *g)
{
	struct guest **pp = &rq->head, *prev = 0;
	for (; *pp; prev = *pp, pp = &(*pp)->rq_next) {
		if (*pp == g) {
			*pp = g->rq_next;
			if (rq->tail == g)
				rq->tail = prev;
			g->on_rq = false;
			return;
		}
	}
}

static void ipi(unsigned cpu)
{
	if (cpu != this_cpu()->index && apic_send_ipi(cpu_at(cpu)->apic_id, VEC_IPI_WAKE))
		log_err("sched: cannot send a wake-up IPI to cpu %u", cpu);
}

void sched_kick(struct guest *g)
{
	ipi(g->cpu);
}

void sched_start(struct guest *g)
{
	struct runqueue *rq = &rqs[g->cpu];
	uint64_t f = spin_lock_irqsave(&rq->lock);
	g->state = GUEST_RUNNING;
	rq_push(rq, g);
	spin_unlock_irqrestore(&rq->lock, f);
	ipi(g->cpu);
}

void sched_wake(struct guest *g)
{
	for (;;) {
		unsigned cpu = __atomic_load_n(&g->cpu, __ATOMIC_ACQUIRE);
		struct runqueue *rq = &rqs[cpu];
		uint64_t f = spin_lock_irqsave(&rq->lock);
		if (g->cpu != cpu) {            /* moved meanwhile: its new queue decides */
			spin_unlock_irqrestore(&rq->lock, f);
			continue;
		}
		bool woke = g->state == GUEST_BLOCKED;
		if (woke) {
			g->state = GUEST_RUNNING;
			rq_push(rq, g);
		}
		spin_unlock_irqrestore(&rq->lock, f);
		if (woke)
			ipi(cpu);
		return;
	}
}

/*
 * The sender of an event sets the pending bit before it takes this lock; the blocker looks
 * at the pending bits under it. So either the blocker sees the event, or the sender sees the
 * guest blocked and wakes it: no wake-up is lost.
 */
bool sched_block(struct guest *g)
{
	struct runqueue *rq = &rqs[g->cpu];
	uint64_t f = spin_lock_irqsave(&rq->lock);
	bool block = !evt_deliverable(g);
	if (block)
		g->state = GUEST_BLOCKED;
	spin_unlock_irqrestore(&rq->lock, f);
	return block;
}

int sched_move(struct guest *g, unsigned cpu)
{
	if (cpu >= cpu_count || !cpu_at(cpu)->online)
		return E_INVAL;
	unsigned from = g->cpu;
	if (from == cpu)
		return 0;
	/* Both queues, in index order so two moves cannot deadlock. */
	struct runqueue *a = &rqs[MIN(from, cpu)], *b = &rqs[MAX(from, cpu)];
	uint64_t f = spin_lock_irqsave(&a->lock);
	spin_lock(&b->lock);
	bool running_now = false;
	for (unsigned i = 0; i < cpu_count; i++)
		if (cpu_at(i)->current == g)
			running_now = true;
	if (g->on_rq) {
		rq_remove(&rqs[from], g);
		__atomic_store_n(&g->cpu, cpu, __ATOMIC_RELEASE);
		rq_push(&rqs[cpu], g);
	} else {
		/* Blocked, or on its CPU right now: that CPU moves it when it switches away. */
		__atomic_store_n(&g->cpu, cpu, __ATOMIC_RELEASE);
	}
	spin_unlock(&b->lock);
	spin_unlock_irqrestore(&a->lock, f);
	if (running_now) {
		g->need_resched = true;
		ipi(from);
	}
	ipi(cpu);
	return 0;
}

void sched_tick(void)
{
	struct percpu *c = this_cpu();
	struct guest *g = c->current;

	if (options.exit_mode == EXIT_AFTER_MS && boot_done &&
	    time_since_boot_us() >= options.exit_ms * 1000)
		run_end();
	if (g && time_since_boot_us() - g->last_start_us >= TIMESLICE_US && rqs[c->index].head)
		g->need_resched = true;
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

	uint64_t fl = spin_lock_irqsave(&rq->lock);
	if (g) {
		account(g);
		g->ctx = *f;
		g->need_resched = false;
		c->current = 0;
		if (g->state == GUEST_RUNNING) {
			if (g->cpu == c->index) {
				rq_push(rq, g);
			} else {        /* moved while it ran here */
				struct runqueue *to = &rqs[g->cpu];
				spin_lock(&to->lock);
				rq_push(to, g);
				spin_unlock(&to->lock);
				ipi(g->cpu);
			}
		}
	}
	struct guest *next = rq_pop(rq);
	spin_unlock_irqrestore(&rq->lock, fl);

	if (!next) {
		write_cr3(vm_kernel_root());
		sched_idle();
	}
	c->current = next;
	next->last_start_us = time_since_boot_us();
	*f = next->ctx;
	write_cr3(next->pt.root_pa);
}

void sched_return_to_user(struct trap_frame *f)
{
	struct percpu *c = this_cpu();

	{
		struct guest *g = c->current;
		if (!g || g->state != GUEST_RUNNING || g->need_resched || g->cpu != c->index)
			switch_away(c, f);
		evt_enter_upcall(c->current, f);
		return;
	}
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
		if (boot_done && options.exit_mode == EXIT_IDLE && guests_all_done())
			run_end();
		smp_poll_calls();
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
