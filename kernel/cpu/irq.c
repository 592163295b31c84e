#include <stddef.h>
#include "kernel/cpu/irq.h"
#include "kernel/cpu/apic.h"
#include "kernel/cpu/drain_set.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "kernel/arch/spinlock.h"
#include "kernel/cpu/trap.h"
#include "kernel/cpu/vector_alloc.h"
#include "kernel/cpu/vectors.h"

#define DYNAMIC_COUNT   (VEC_DYNAMIC_LAST - VEC_DYNAMIC_FIRST + 1)
#define IRR_BASE        0x200   /* SDM vol. 3 10.8.4: IRR, 8 registers 16 bytes apart */
#define IRR_STRIDE      0x10
#define IRR_WORDS       4       /* 256 vectors, 64 to a word */

/* A drained vector's callbacks, taken under the lock and made after it: done(arg) once it
 * was freed (done set), settled(settle_arg, settles) once settles settles of it are over. */
struct drained_call {
	void (*done)(void *arg);
	void *arg;
	unsigned vector, settles;
	void (*settled)(void *arg, unsigned n);
	void *settle_arg;
};

/* Calls collected per hold of the lock: bounded, for the interrupt stack; a move takes 32. */
#define DRAIN_CALLS     32

struct irq_cpu {
	struct spinlock lock;
	bool ready;
	struct vector_map map;
	struct drain_set ds;                    /* vectors being released or settled */
	void (*done[DYNAMIC_COUNT])(void *arg); /* what to call once each is free */
	void (*settled[DYNAMIC_COUNT])(void *arg, unsigned n);  /* once each has settled */
	void *settle_arg[DYNAMIC_COUNT];
};

static struct irq_cpu cpus[MAX_CPUS];

/* The 64 IRR bits of vectors 64w..64w+63: two of the 32-bit registers. */
static uint64_t irr_word(unsigned w)
{
	unsigned r = w * 2;
	return (uint64_t)apic_read(IRR_BASE + (r + 1) * IRR_STRIDE) << 32 |
	       apic_read(IRR_BASE + r * IRR_STRIDE);
}

static struct irq_cpu *lookup(unsigned cpu)
{
	return cpu < cpu_count && cpu_at(cpu)->online && cpus[cpu].ready ? &cpus[cpu] : NULL;
}

/*
 * Up to max vectors being released or settled that have no interrupt pending, taken a word of
 * 64 at a time (the IRR read once per word, drain_set.h): the released ones' slots cleared and
 * freed in one go, every one's calls added to calls. How many calls were added; *left: some
 * stay, pending in the IRR; *more: max was reached first.
 */
static unsigned take_drained(struct irq_cpu *ic, struct percpu *me, struct drained_call *calls,
			     unsigned max, bool *left, bool *more)
{
	struct drain_taken taken[DRAIN_CALLS];
	unsigned n = 0;

	for (unsigned w = 0; w < ARRAY_SIZE(ic->ds.draining); w++) {
		uint64_t each = ic->ds.draining[w] | ic->ds.settling[w];
		if (!(each | ic->ds.batch[w]))
			continue;
		uint64_t irr = irr_word(w), freed;
		if (ic->ds.batch[w] && drain_set_batch_word(&ic->ds, w, irr))
			*left = true;
		if (!each || n >= max) {
			*more |= each != 0;
			continue;
		}
		if (!ic->ds.settling[w]) {
			/* Only releases (every move without shared vectors): straight to calls. */
			uint64_t want = ic->ds.draining[w], take = want & ~irr;
			*left |= (want & irr) != 0;
			for (freed = 0; take && n < max; take &= take - 1) {
				unsigned v = w * 64 + (unsigned)__builtin_ctzll(take);
				struct vector_slot *s = &me->vectors[v];
				calls[n++] = (struct drained_call){ .done = ic->done[v - VEC_DYNAMIC_FIRST],
								    .arg = s->arg, .vector = v };
				__atomic_store_n(&s->fn, (vector_handler_t)0, __ATOMIC_RELEASE);
				s->arg = 0;
				freed |= take & -take;
			}
			ic->ds.draining[w] &= ~freed;
			*more |= take != 0;
			if (freed && vector_map_free_word(&ic->map, w, freed))
				log_err("irq: cpu %u: vectors %#llx + 64 * %u were released but not "
					"allocated", me->index, (unsigned long long)freed, w);
			continue;
		}
		unsigned t = drain_set_take_word(&ic->ds, w, irr, taken,
						 MIN(max - n, (unsigned)DRAIN_CALLS), &freed, left,
						 more);
		for (unsigned j = 0; j < t; j++) {
			unsigned v = taken[j].vector, i = v - VEC_DYNAMIC_FIRST;
			struct vector_slot *s = &me->vectors[v];
			struct drained_call *c = &calls[n++];
			*c = (struct drained_call){ .vector = v, .settles = taken[j].settles };
			if (taken[j].settles) {
				c->settled = ic->settled[i];
				c->settle_arg = ic->settle_arg[i];
			}
			if (taken[j].freed) {
				c->done = ic->done[i];
				c->arg = s->arg;
				__atomic_store_n(&s->fn, (vector_handler_t)0, __ATOMIC_RELEASE);
				s->arg = 0;
			}
		}
		if (freed && vector_map_free_word(&ic->map, w, freed))
			log_err("irq: cpu %u: vectors %#llx + 64 * %u were released but not allocated",
				me->index, (unsigned long long)freed, w);
	}
	drain_set_batch_over(&ic->ds);
	if (n == max)
		*more = true;   /* perhaps: one more pass finds out */
	return n;
}

static void shared_drained(void *arg);
static void shared_one_drained(unsigned v, void *arg);

/* VEC_IRQ_DRAIN: every interrupt of higher priority that was pending has been handled. */
static void drain(struct trap_frame *f, void *unused)
{
	struct percpu *me = this_cpu();
	struct irq_cpu *ic = &cpus[me->index];
	struct drained_call calls[DRAIN_CALLS];
	bool left = false, more = true;

	while (more) {
		left = more = false;
		spin_lock(&ic->lock);
		unsigned n = take_drained(ic, me, calls, DRAIN_CALLS, &left, &more);
		spin_unlock(&ic->lock);
		/* After the lock: a callback may release or allocate vectors of this CPU. */
		for (unsigned i = 0; i < n; i++) {
			/* The settle first: the route counts it before its vector's release. */
			if (calls[i].settles && calls[i].settled)
				calls[i].settled(calls[i].settle_arg, calls[i].settles);
			if (calls[i].done == shared_drained)
				shared_one_drained(calls[i].vector, calls[i].arg);
			else if (calls[i].done)
				calls[i].done(calls[i].arg);
		}
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

int irq_vector_alloc_many(unsigned cpu, const vector_handler_t *fns, void *const *args, unsigned n,
			  uint8_t *out)
{
	struct irq_cpu *ic = lookup(cpu);
	unsigned got = 0;

	if (!ic)
		return E_INVAL;
	struct vector_slot *slots = cpu_at(cpu)->vectors;
	uint64_t f = spin_lock_irqsave(&ic->lock);
	got = vector_map_alloc_many(&ic->map, n, out);
	/* Argument first, function last (irq.h). */
	for (unsigned i = 0; i < got; i++) {
		slots[out[i]].arg = args[i];
		__atomic_store_n(&slots[out[i]].fn, fns[i], __ATOMIC_RELEASE);
	}
	spin_unlock_irqrestore(&ic->lock, f);
	if (got < n)
		log_warn("irq: cpu %u has no free vector", cpu);
	return (int)got;
}

int irq_vector_alloc(unsigned cpu, vector_handler_t fn, void *arg)
{
	uint8_t v;
	int got = irq_vector_alloc_many(cpu, &fn, &arg, 1, &v);

	return got < 0 ? got : got ? v : E_NOMEM;
}

/* Shared vectors (irq.h): whom to tell once the last CPU has drained one. */
static struct {
	bool used;
	void (*done)(void *arg);
	volatile unsigned left;         /* CPUs still draining it */
} shared[DYNAMIC_COUNT];
static struct spinlock shared_lock;     /* taken before any CPU's lock */

static void shared_drained(void *arg);

int irq_vector_alloc_shared(vector_handler_t fn, void *arg)
{
	uint64_t common[4] = { ~0ull, ~0ull, ~0ull, ~0ull };
	int v = E_NOMEM;
	uint64_t f = spin_lock_irqsave(&shared_lock);

	/* Every CPU's lock held, in order (others take one at a time): no vector changes. */
	for (unsigned c = 0; c < cpu_count; c++) {
		struct irq_cpu *ic = lookup(c);
		if (!ic)
			continue;
		spin_lock(&ic->lock);
		for (unsigned w = 0; w < ARRAY_SIZE(common); w++)
			common[w] &= ~ic->map.bits[w];
		if (ic->map.free <= IRQ_SHARED_KEEP)
			common[0] = common[1] = common[2] = common[3] = 0;
	}
	/* The allocators' order (vector_alloc.h): slot by slot, each over the classes. */
	for (unsigned s = 0; s < VECTOR_CLASS_SLOTS && v < 0; s++)
		for (unsigned x = VEC_DYNAMIC_FIRST + s; x <= VEC_DYNAMIC_LAST; x += VECTOR_CLASS_SLOTS)
			if (common[x / 64] >> (x % 64) & 1) {
				v = (int)x;
				break;
			}
	for (unsigned c = 0; c < cpu_count; c++) {
		struct irq_cpu *ic = lookup(c);
		if (!ic)
			continue;
		if (v >= 0) {
			if (vector_map_take(&ic->map, (unsigned)v))
				panic("irq: shared vector %#x is not free on cpu %u", v, c);
			struct vector_slot *slot = &cpu_at(c)->vectors[v];
			slot->arg = arg;
			__atomic_store_n(&slot->fn, fn, __ATOMIC_RELEASE);
		}
		spin_unlock(&ic->lock);
	}
	if (v >= 0)
		shared[v - VEC_DYNAMIC_FIRST].used = true;
	spin_unlock_irqrestore(&shared_lock, f);
	return v;
}

/* Vector v, released as a shared one, drained on this CPU: the last CPU calls done. */
static void shared_one_drained(unsigned v, void *arg)
{
	unsigned i = v - VEC_DYNAMIC_FIRST;

	if (__atomic_sub_fetch(&shared[i].left, 1, __ATOMIC_ACQ_REL) == 0) {
		void (*done)(void *) = shared[i].done;
		__atomic_store_n(&shared[i].used, false, __ATOMIC_RELEASE);
		if (done)
			done(arg);
	}
}

/* Marks a shared vector's release in a CPU's done[]: drain() calls shared_one_drained. */
static void shared_drained(void *arg)
{
	panic("irq: shared_drained called directly (arg %p)", arg);
}

int irq_vector_release_shared(unsigned v, void (*done)(void *arg))
{
	if (v < VEC_DYNAMIC_FIRST || v > VEC_DYNAMIC_LAST)
		return E_INVAL;
	unsigned i = v - VEC_DYNAMIC_FIRST, n = 0, marked = 0;
	void *arg = 0;
	uint64_t f = spin_lock_irqsave(&shared_lock);
	if (!shared[i].used || shared[i].left) {
		spin_unlock_irqrestore(&shared_lock, f);
		return E_INVAL;
	}
	for (unsigned c = 0; c < cpu_count; c++)
		if (lookup(c)) {
			n++;
			arg = cpu_at(c)->vectors[v].arg;       /* the same on every CPU */
		}
	shared[i].done = done;
	/* Every CPU counted first, and one more for this call: a CPU may drain before the
	 * next one is marked. */
	__atomic_store_n(&shared[i].left, n + 1, __ATOMIC_RELEASE);
	uint8_t b = (uint8_t)v;
	for (unsigned c = 0; c < cpu_count; c++) {
		if (!lookup(c))
			continue;
		if (irq_vector_release_many(c, &b, 1, shared_drained) > 0) {
			marked++;
			if (irq_drain_kick(c))
				log_err("irq: shared vector %#x of cpu %u stays allocated", v, c);
		} else {
			__atomic_sub_fetch(&shared[i].left, 1, __ATOMIC_ACQ_REL);
		}
	}
	spin_unlock_irqrestore(&shared_lock, f);
	if (!marked) {
		shared[i].left = 0;     /* nothing will drain: the vector stays as it was */
		return E_INVAL;
	}
	/* This call's own count: the last one down calls done, here if every CPU was quicker. */
	shared_one_drained(v, arg);
	return 0;
}

int irq_drain_kick(unsigned cpu)
{
	int err = apic_send_ipi(cpu_at(cpu)->apic_id, VEC_IRQ_DRAIN);
	if (err)
		log_err("irq: cannot send the drain IPI to cpu %u: its released vectors stay "
			"allocated", cpu);
	return err;
}

/*
 * Marks vs[0..n) of cpu under one hold of its lock: released (done called once freed) or, with
 * settled, settled (settled(args[i], k) once drained, nothing freed). A few stores each. How
 * many were marked: the others are outside the device range (refused as a bad argument), or,
 * logged, not allocated or (released) already being released.
 */
static int mark_many(unsigned cpu, const uint8_t *vs, unsigned n, void (*done)(void *arg),
		     void (*settled)(void *arg, unsigned n), void *const *args)
{
	struct irq_cpu *ic = lookup(cpu);
	unsigned marked = 0, bad = 0;

	if (!ic)
		return E_INVAL;
	uint64_t f = spin_lock_irqsave(&ic->lock);
	for (unsigned i = 0; i < n; i++) {
		unsigned v = vs[i], d = v - VEC_DYNAMIC_FIRST, w = v / 64;
		uint64_t bit = 1ull << (v % 64);
		if (v < VEC_DYNAMIC_FIRST || v > VEC_DYNAMIC_LAST)
			continue;
		if (!(ic->map.bits[w] & (settled ? ~0ull : ~ic->ds.draining[w]) & bit)) {
			bad++;
			continue;
		}
		if (settled) {
			ic->settled[d] = settled;
			ic->settle_arg[d] = args[i];
			drain_set_settle(&ic->ds, v);
		} else {
			ic->done[d] = done;
			drain_set_release(&ic->ds, v);
		}
		marked++;
	}
	spin_unlock_irqrestore(&ic->lock, f);
	if (bad)
		log_err("irq: cpu %u: %u vectors %s", cpu, bad,
			settled ? "settled but not allocated" : "released twice or never allocated");
	return (int)marked;
}

int irq_vector_release_many(unsigned cpu, const uint8_t *vs, unsigned n,
			    void (*done)(void *arg))
{
	return mark_many(cpu, vs, n, done, 0, 0);
}

/* v marked, not kicked. */
static int release_quiet(unsigned cpu, unsigned v, void (*done)(void *arg))
{
	uint8_t b = (uint8_t)v;
	int marked = v < 256 ? irq_vector_release_many(cpu, &b, 1, done) : E_INVAL;

	return marked < 0 ? marked : marked ? 0 : E_INVAL;
}

int irq_vector_release(unsigned cpu, unsigned v, void (*done)(void *arg))
{
	int err = release_quiet(cpu, v, done);
	return err ? err : irq_drain_kick(cpu);
}

int irq_vector_settle_many(unsigned cpu, const uint8_t *vs, void *const *args, unsigned n,
			   void (*settled)(void *arg, unsigned n))
{
	return settled ? mark_many(cpu, vs, n, 0, settled, args) : E_INVAL;
}

uint64_t irq_settle_batch(unsigned cpu, const uint64_t *mask)
{
	struct irq_cpu *ic = lookup(cpu);

	if (!ic)
		return 0;
	uint64_t f = spin_lock_irqsave(&ic->lock);
	uint64_t seq = drain_set_batch(&ic->ds, mask);
	spin_unlock_irqrestore(&ic->lock, f);
	return seq;
}

bool irq_settle_over(unsigned cpu, uint64_t seq)
{
	return cpu < MAX_CPUS && drain_set_batch_done(&cpus[cpu].ds, seq);
}

bool irq_pending_here(const uint64_t *mask)
{
	/* Only the 32-bit registers that hold a vector of the mask. */
	for (unsigned w = 0; w < IRR_WORDS; w++) {
		uint32_t lo = (uint32_t)mask[w], hi = (uint32_t)(mask[w] >> 32);
		if ((lo && (apic_read(IRR_BASE + 2 * w * IRR_STRIDE) & lo)) ||
		    (hi && (apic_read(IRR_BASE + (2 * w + 1) * IRR_STRIDE) & hi)))
			return true;
	}
	return false;
}

bool irq_device_pending_here(void)
{
	/* Whole registers: a vector next to the device range pending says "look closer". */
	for (unsigned r = VEC_DYNAMIC_FIRST / 32; r <= VEC_DYNAMIC_LAST / 32; r++)
		if (apic_read(IRR_BASE + r * IRR_STRIDE))
			return true;
	return false;
}
