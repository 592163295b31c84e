#include <stddef.h>
#include "kernel/cpu/irq.h"
#include "kernel/cpu/apic.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "kernel/arch/spinlock.h"
#include "kernel/cpu/trap.h"
#include "kernel/cpu/vector_alloc.h"
#include "kernel/cpu/vectors.h"

#define DYNAMIC_COUNT   (VEC_DYNAMIC_LAST - VEC_DYNAMIC_FIRST + 1)
#define IRR_BASE        0x200   /* SDM vol. 3 10.8.4: IRR, 8 registers 16 bytes apart */
#define IRR_STRIDE      0x10

struct irq_cpu {
	struct spinlock lock;
	bool ready;
	struct vector_map map;
	uint64_t draining[4];                   /* vectors being released */
	void (*done[DYNAMIC_COUNT])(void *arg); /* what to call once each is free */
};

static struct irq_cpu cpus[MAX_CPUS];

static bool bit(const uint64_t *b, unsigned v) { return b[v / 64] >> (v % 64) & 1; }
static void set_bit(uint64_t *b, unsigned v, bool on)
{
	if (on)
		b[v / 64] |= 1ull << (v % 64);
	else
		b[v / 64] &= ~(1ull << (v % 64));
}

static bool irr_pending(unsigned v)
{
	return apic_read(IRR_BASE + (v / 32) * IRR_STRIDE) >> (v % 32) & 1;
}

static struct irq_cpu *lookup(unsigned cpu)
{
	return cpu < cpu_count && cpu_at(cpu)->online && cpus[cpu].ready ? &cpus[cpu] : NULL;
}

/* The first vector being released that has no interrupt pending, taken off the list; 0 when
 * none. *left says whether others stay. */
static unsigned take_drained(struct irq_cpu *ic, bool *left, void (**done)(void *), void **arg)
{
	struct percpu *me = this_cpu();
	unsigned found = 0;

	*left = false;
	for (unsigned v = VEC_DYNAMIC_FIRST; v <= VEC_DYNAMIC_LAST; v++) {
		if (!bit(ic->draining, v))
			continue;
		if (found || irr_pending(v)) {
			*left = true;
			continue;
		}
		found = v;
	}
	if (!found)
		return 0;
	struct vector_slot *s = &me->vectors[found];
	*done = ic->done[found - VEC_DYNAMIC_FIRST];
	*arg = s->arg;
	__atomic_store_n(&s->fn, (vector_handler_t)0, __ATOMIC_RELEASE);
	s->arg = 0;
	set_bit(ic->draining, found, false);
	if (vector_map_free(&ic->map, found))
		log_err("irq: cpu %u vector %#x was released but not allocated", me->index, found);
	return found;
}

/* VEC_IRQ_DRAIN: every interrupt of higher priority that was pending has been handled. */
static void drain(struct trap_frame *f, void *unused)
{
	struct percpu *me = this_cpu();
	struct irq_cpu *ic = &cpus[me->index];
	bool left = false;

	for (;;) {
		void (*done)(void *) = 0;
		void *arg = 0;
		spin_lock(&ic->lock);
		unsigned v = take_drained(ic, &left, &done, &arg);
		spin_unlock(&ic->lock);
		if (!v)
			break;
		if (done)
			done(arg);
	}
	/* An interrupt still pending is taken before this lower-priority IPI comes back. */
	if (left && apic_send_ipi(me->apic_id, VEC_IRQ_DRAIN))
		log_err("irq: cpu %u cannot send itself the drain IPI", me->index);
}

void irq_init(void)
{
	for (unsigned i = 0; i < cpu_count; i++) {
		struct irq_cpu *ic = &cpus[i];
		if (!cpu_at(i)->online)
			continue;
		vector_map_init(&ic->map);
		struct vector_slot *s = &cpu_at(i)->vectors[VEC_IRQ_DRAIN];
		s->arg = 0;
		__atomic_store_n(&s->fn, drain, __ATOMIC_RELEASE);
		ic->ready = true;
	}
}

int irq_vector_alloc(unsigned cpu, vector_handler_t fn, void *arg)
{
	struct irq_cpu *ic = lookup(cpu);

	if (!ic)
		return E_INVAL;
	uint64_t f = spin_lock_irqsave(&ic->lock);
	int v = vector_map_alloc(&ic->map);
	if (v >= 0) {
		struct vector_slot *s = &cpu_at(cpu)->vectors[v];
		s->arg = arg;
		__atomic_store_n(&s->fn, fn, __ATOMIC_RELEASE);
	}
	spin_unlock_irqrestore(&ic->lock, f);
	if (v < 0)
		log_warn("irq: cpu %u has no free vector", cpu);
	return v;
}

int irq_drain_kick(unsigned cpu)
{
	int err = apic_send_ipi(cpu_at(cpu)->apic_id, VEC_IRQ_DRAIN);
	if (err)
		log_err("irq: cannot send the drain IPI to cpu %u: its released vectors stay "
			"allocated", cpu);
	return err;
}

int irq_vector_release_quiet(unsigned cpu, unsigned v, void (*done)(void *arg))
{
	struct irq_cpu *ic = lookup(cpu);

	if (!ic || v < VEC_DYNAMIC_FIRST || v > VEC_DYNAMIC_LAST)
		return E_INVAL;
	uint64_t f = spin_lock_irqsave(&ic->lock);
	int err = !vector_map_in_use(&ic->map, v) || bit(ic->draining, v) ? E_INVAL : 0;
	if (!err) {
		ic->done[v - VEC_DYNAMIC_FIRST] = done;
		set_bit(ic->draining, v, true);
	}
	spin_unlock_irqrestore(&ic->lock, f);
	if (err)
		log_err("irq: cpu %u vector %#x released twice or never allocated", cpu, v);
	return err;
}

int irq_vector_release(unsigned cpu, unsigned v, void (*done)(void *arg))
{
	int err = irq_vector_release_quiet(cpu, v, done);
	return err ? err : irq_drain_kick(cpu);
}

