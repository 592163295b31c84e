#include "msi/route.h"
#include "iommu/ir_table.h"
#include "iommu/unit.h"
#include "iommu/topology.h"
#include "kernel/lib/error.h"
#include "kernel/cpu/irq.h"
#include "kernel/lib/keymap.h"
#include "kernel/lib/log.h"
#include "kernel/cpu/percpu.h"
#include "kernel/arch/spinlock.h"
#include "msi/msi.h"
#include "pci/pci.h"

static struct route routes[ROUTE_MAX];
static struct spinlock lock;

/*
 * O(1) in the number of routes, under the lock: a route is found from (function, message)
 * through a key map, and a slot is taken from a FIFO of freed ones, or else one never used. A
 * freed slot joins the tail, so by the time it reaches the head its vector has long drained
 * (route_settled); one that has not yet is passed over, a few at most. Nothing to set up at
 * boot, and no loop over all slots anywhere.
 */
#define ROUTE_MAP_CAP   (2 * ROUTE_MAX)
#define SLOT_TRIES      8
static uint64_t map_keys[ROUTE_MAP_CAP];
static uint32_t map_vals[ROUTE_MAP_CAP];
static struct keymap map = KEYMAP_ZEROED(map_keys, map_vals, ROUTE_MAP_CAP);
static uint16_t free_fifo[ROUTE_MAX];
static unsigned free_head, free_n, fresh;       /* routes[fresh..] were never used */

static uint64_t key(const struct pci_dev *d, unsigned msg)
{
	return (uint64_t)(pci_dev_index(d) + 1) << 32 | msg;
}

static void fifo_push(const struct route *r)
{
	free_fifo[(free_head + free_n++) % ROUTE_MAX] = (uint16_t)(r - routes);
}

static void slot_free(const struct route *r)
{
	keymap_remove(&map, key(r->md->dev, r->msg));
	fifo_push(r);
}

static bool log_moves, shared_vectors;

void route_set_log_moves(bool on) { log_moves = on; }
void route_set_shared_vectors(bool on) { shared_vectors = on; }

static void report_route(const struct route *r)
{
	char s[PCI_BDF_STRLEN];

	pci_bdf_fmt(s, r->md->dev->bdf);
	if (!r->used) {
		report("route dev=%s msg=%u irte=%u cpu=- apic=- vector=- unit=%u", s, r->msg,
		       r->irte, r->md->ir->u->index);
		return;
	}
	report("route dev=%s msg=%u irte=%u cpu=%u apic=%u vector=0x%02x unit=%u", s, r->msg,
	       r->irte, r->cpu, cpu_at(r->cpu)->apic_id, r->vector, r->md->ir->u->index);
}

/*
 * n of r's drains are over (run on the CPU that drained). The last one clears prev_cpu, but
 * only if it still names the CPU it named before the count went down: once the count is 0 the
 * route may move again at once (from a handler on another CPU), and that move's prev_cpu must
 * not be overwritten.
 */
static void drains_over(struct route *r, unsigned n)
{
	int prev = __atomic_load_n(&r->prev_cpu, __ATOMIC_ACQUIRE);

	if (__atomic_sub_fetch(&r->drains, n, __ATOMIC_ACQ_REL) == 0)
		__atomic_compare_exchange_n(&r->prev_cpu, &prev, ROUTE_NO_CPU, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

/* Runs on the CPU that gave the vector back, once no interrupt on it can come. */
static void drained(void *arg)
{
	drains_over(arg, 1);
}

/* Runs on the CPU a route with a shared vector left, n moves off it ago, once every message
 * of the route that was pending there has been handled (irq_vector_settle_many). */
static void settled(void *arg, unsigned n)
{
	drains_over(arg, n);
}

/* A settle batch (irq_settle_batch) of a CPU in one word, read and written in one go. */
#define ROUTE_TICKET(cpu, seq)  ((uint64_t)((cpu) + 1) << 48 | (seq))
#define TICKET_SEQ(t)           ((t) & ((1ull << 48) - 1))
#define TICKET_CPU(t)           ((unsigned)((t) >> 48) - 1)
/* From before a move's entry changes until its batch is marked: not over. */
#define TICKET_PENDING          UINT64_MAX

static bool ticket_over(uint64_t t)
{
	return !t || (t != TICKET_PENDING && irq_settle_over(TICKET_CPU(t), TICKET_SEQ(t)));
}

static volatile unsigned moving;

/* Read without the lock: not while a move of many routes is under way (moving odd,
 * route_move_begin to route_move_end), whose routes' tickets are not yet what they will be. */
bool route_settled(const struct route *r)
{
	unsigned m = __atomic_load_n(&moving, __ATOMIC_ACQUIRE);
	bool over = !(m & 1) && __atomic_load_n(&r->drains, __ATOMIC_ACQUIRE) == 0 &&
		    ticket_over(__atomic_load_n(&r->settle, __ATOMIC_ACQUIRE));

	return over && __atomic_load_n(&moving, __ATOMIC_ACQUIRE) == m;
}

/*
 * A shared vector's move to cpu: the cheap settle (one batch of the old CPU, a ticket in
 * r->settle, a store) when the route's last ticket is over, or is on cpu itself (messages
 * there are the route's current ones again: nothing to wait for elsewhere); else (moved on
 * before it settled) a counted one (irq_vector_settle_many, r->drains), so that r settles
 * only when both are over. Cheap: its ticket is pending until the batch is marked.
 */
static bool cheap_settle(struct route *r, unsigned cpu)
{
	uint64_t t = r->settle;         /* written only under the lock */

	if (t != TICKET_PENDING && (!t || TICKET_CPU(t) == cpu || ticket_over(t))) {
		__atomic_store_n(&r->settle, TICKET_PENDING, __ATOMIC_RELEASE);
		return true;
	}
	__atomic_add_fetch(&r->drains, 1, __ATOMIC_ACQ_REL);
	return false;
}

static void set_ticket(struct route *r, unsigned cpu, uint64_t seq)
{
	__atomic_store_n(&r->settle, ROUTE_TICKET(cpu, seq), __ATOMIC_RELEASE);
}

/* r's vector given back on every CPU it is on; the drain counted first (drained()). */
static int release_vector(struct route *r, unsigned cpu, unsigned vector)
{
	__atomic_add_fetch(&r->drains, 1, __ATOMIC_ACQ_REL);
	/* Not marked (E_INVAL): the count stays up and the slot is never used again. */
	return r->shared ? irq_vector_release_shared(vector, drained)
			 : irq_vector_release(cpu, vector, drained);
}

static bool cpu_ok(unsigned cpu)
{
	return cpu < cpu_count && cpu_at(cpu)->online;
}

/* Masked where the function cannot mask it: the entry is not present (route_mask). */
static bool irte_masked(const struct route *r)
{
	return r->masked && !msi_can_mask(r->md);
}

static struct vtd_irte_ret entry(const struct route *r, unsigned cpu, unsigned vector)
{
	if (irte_masked(r))
		return (struct vtd_irte_ret){ .e = { 0, 0 } };
	struct vtd_irte_fields f = {
		.present = true, .dlm = VTD_DLM_FIXED, .vector = (uint8_t)vector,
		.dst = cpu_at(cpu)->apic_id, .svt = r->md->src.svt, .sq = r->md->src.sq,
		.sid = r->md->src.sid,
	};
	return vtd_irte_encode(&f, r->md->ir->eim);
}

static struct route *find_locked(const struct pci_dev *d, unsigned msg)
{
	uint32_t i = keymap_get(&map, key(d, msg));
	return i == KEYMAP_NONE ? 0 : &routes[i];
}

/* The oldest freed slot that has drained (a newer one still draining goes back to the tail),
 * else one never used. */
static struct route *slot(void)
{
	for (unsigned t = 0; t < SLOT_TRIES && free_n; t++) {
		struct route *r = &routes[free_fifo[free_head]];
		free_head = (free_head + 1) % ROUTE_MAX;
		free_n--;
		if (route_settled(r))
			return r;
		fifo_push(r);
	}
	return fresh < ROUTE_MAX ? &routes[fresh++] : 0;
}

static int create_locked(struct msi_dev *md, unsigned msg, unsigned cpu, route_handler_t fn,
			 void *arg, struct route **out)
{
	if (find_locked(md->dev, msg))
		return E_BUSY;
	struct route *r = slot();
	if (!r)
		return E_NOMEM;
	*r = (struct route){ .md = md, .ir = md->ir, .msg = msg, .irte = md->irte + msg,
			     .entry = ir_entry(md->ir, md->irte + msg), .cpu = cpu,
			     .prev_cpu = ROUTE_NO_CPU, .fn = fn, .arg = arg };
	/* A vector on every CPU when there is one to spare: its moves then keep it. */
	int v = shared_vectors ? irq_vector_alloc_shared(r->fn, r) : E_NOMEM;
	r->shared = v >= 0;
	if (v < 0)
		v = irq_vector_alloc(cpu, r->fn, r);
	if (v < 0) {
		fifo_push(r);
		return v;
	}
	r->vector = (unsigned)v;
	struct vtd_irte_ret e = entry(r, cpu, r->vector);
	int err = e.err ? e.err : ir_write(md->ir, r->irte, e.e);
	if (err) {
		/* The entry may be in use (a failed invalidation): keep the vector's handler. */
		if (release_vector(r, cpu, r->vector))
			log_err("route: vector %#x of cpu %u stays allocated", r->vector, cpu);
		fifo_push(r);
		return err;
	}
	r->used = true;
	if (!keymap_put(&map, key(md->dev, msg), (uint32_t)(r - routes)))
		log_err("route: the map of routes is full");    /* cannot be: 2x ROUTE_MAX */
	*out = r;
	return 0;
}

struct route_ret route_create(struct pci_dev *d, unsigned msg, unsigned cpu, route_handler_t fn,
			      void *arg)
{
	struct msi_dev *md = msi_dev_of(d);
	struct route *r = 0;
	char s[PCI_BDF_STRLEN];

	pci_bdf_fmt(s, d->bdf);
	if (!md)
		return (struct route_ret){ .err = E_NOENT };
	if (msg >= md->n || !cpu_ok(cpu) || !fn)
		return (struct route_ret){ .err = E_RANGE };
	uint64_t f = spin_lock_irqsave(&lock);
	int err = create_locked(md, msg, cpu, fn, arg, &r);
	if (!err)
		report_route(r);
	spin_unlock_irqrestore(&lock, f);
	if (err) {
		log_warn("route %s message %u: not created: %s", s, msg, error_name(err));
		return (struct route_ret){ .err = err };
	}
	msi_mask(md, msg, false);
	return (struct route_ret){ .r = r };
}

/* The shared vector of r settles on old_cpu, which it left (counted already): the drain IPI
 * tells when every message of r pending there has been handled (docs/architecture.md,
 * "Shared vectors"). */
static int settle_one(struct route *r, unsigned old_cpu, bool cheap)
{
	uint8_t v = (uint8_t)r->vector;
	void *arg = r;

	/* Not marked or not kicked: the count stays up (as a release's, release_vector). */
	if (cheap) {
		uint64_t mask[4] = { 0 }, seq;
		mask[v / 64] = 1ull << (v % 64);
		if (!(seq = irq_settle_batch(old_cpu, mask)))
			return E_INVAL;
		set_ticket(r, old_cpu, seq);
	} else if (irq_vector_settle_many(old_cpu, &v, &arg, 1, settled) <= 0) {
		return E_INVAL;
	}
	return irq_drain_kick(old_cpu);
}

/* A route with a shared vector: only the entry's destination changes. A message already on
 * its way to the old CPU runs the same handler there; the old CPU settles it. */
static int retarget_shared(struct route *r, unsigned cpu)
{
	struct vtd_irte_ret e = entry(r, cpu, r->vector);
	if (e.err)
		return e.err;
	unsigned old_cpu = r->cpu;
	/* Before the entry changes: not settled from the first message on cpu on. */
	bool cheap = cheap_settle(r, cpu);
	r->prev_cpu = (int)old_cpu;
	r->cpu = cpu;
	int err = ir_write_logged(r->md->ir, r->irte, e.e, log_moves);
	if (log_moves)
		report_route(r);
	if (err) {
		/* The unit may use either entry: the route never settles (as below). */
		log_err("route: IRTE %u not invalidated", r->irte);
		return err;
	}
	return settle_one(r, old_cpu, cheap);
}

static int retarget_locked(struct route *r, unsigned cpu)
{
	if (r->shared)
		return retarget_shared(r, cpu);
	int v = irq_vector_alloc(cpu, r->fn, r);
	if (v < 0)
		return v;
	struct vtd_irte_ret e = entry(r, cpu, (unsigned)v);
	if (e.err) {
		/* Nothing names the new vector yet: give it back. */
		__atomic_add_fetch(&r->drains, 1, __ATOMIC_ACQ_REL);
		if (irq_vector_release(cpu, (unsigned)v, drained))
			log_err("route: vector %#x of cpu %u stays allocated", v, cpu);
		return e.err;
	}
	unsigned old_cpu = r->cpu, old_vector = r->vector;
	__atomic_add_fetch(&r->drains, 1, __ATOMIC_ACQ_REL);
	r->prev_cpu = (int)old_cpu;
	r->prev_vector = old_vector;
	r->cpu = cpu;
	r->vector = (unsigned)v;
	/* Only the low half changes: one 64-bit store (iommu/irte.h), then IEC + wait. */
	int err = ir_write_logged(r->md->ir, r->irte, e.e, log_moves);
	if (log_moves)
		report_route(r);
	if (err) {
		/* The unit may use either entry: both vectors stay routed to the handler. */
		log_err("route: IRTE %u not invalidated; vector %#x of cpu %u stays allocated",
			r->irte, old_vector, old_cpu);
		return err;
	}
	return irq_vector_release(old_cpu, old_vector, drained);
}

/* Under the lock, and too big for an interrupt-time stack: the routes of a move as they go. */
static struct {
	struct route *moving[IR_BATCH_MAX];     /* the routes that move */
	uint8_t vs[IR_BATCH_MAX];               /* and their vectors on the new CPU */
	vector_handler_t fns[IR_BATCH_MAX];     /* those that need a new vector: handler, */
	void *args[IR_BATCH_MAX];               /* its argument (the route), */
	uint8_t at[IR_BATCH_MAX];               /* their place in moving[] */
	uint8_t got[IR_BATCH_MAX];              /* and the vectors they got */
	uint16_t index[IR_BATCH_MAX];           /* their entries */
	struct route *group[IR_BATCH_MAX];      /* those of one table, when there are several */
	uint16_t gindex[IR_BATCH_MAX];
	uint8_t vector[IR_BATCH_MAX];
	uint16_t old_cpu[IR_BATCH_MAX];         /* the old vectors to release or settle, by CPU */
	uint8_t old_vector[IR_BATCH_MAX];
	struct route *old_route[IR_BATCH_MAX];  /* with a shared vector (settles), else 0 */
	bool old_cheap[IR_BATCH_MAX];           /* settles in a batch (cheap_settle) */
	struct route *ticketed[IR_BATCH_MAX];   /* one old CPU's batch */
	uint8_t release[IR_BATCH_MAX];
	uint8_t settle[IR_BATCH_MAX];
	void *settle_arg[IR_BATCH_MAX];
	struct ir_batch batch;
	struct route *slow[IR_BATCH_MAX];       /* a move's routes for the general way */
	struct route *quick[ROUTE_MAX];         /* those it moved the quick way (each once), */
	struct route *counted[ROUTE_MAX];       /* of them, those that need a counted settle */
	uint64_t quick_mask[4];                 /* and their vectors */
} mv;

#define OLD_DONE        UINT16_MAX

/* The old vectors old_vector[0..k), one old CPU at a time: each CPU's own vectors released
 * and its shared ones settled, each under one hold of its lock, then one drain IPI to it. */
static int release_old(unsigned k)
{
	int err = 0;

	for (unsigned i = 0, left = k; left; i++) {
		unsigned c = mv.old_cpu[i], n = 0, s = 0, b = 0;
		uint64_t mask[4] = { 0 };
		if (c == OLD_DONE)
			continue;
		for (unsigned j = i; j < k; j++)
			if (mv.old_cpu[j] == c) {
				unsigned v = mv.old_vector[j];
				if (mv.old_cheap[j]) {
					mask[v / 64] |= 1ull << (v % 64);
					mv.ticketed[b++] = mv.old_route[j];
				} else if (mv.old_route[j]) {
					mv.settle_arg[s] = mv.old_route[j];
					mv.settle[s++] = mv.old_vector[j];
				} else {
					mv.release[n++] = mv.old_vector[j];
				}
				mv.old_cpu[j] = OLD_DONE;
			}
		left -= n + s + b;
		int marked = n ? irq_vector_release_many(c, mv.release, n, drained) : 0;
		int settles = s ? irq_vector_settle_many(c, mv.settle, mv.settle_arg, s, settled) : 0;
		uint64_t seq = b ? irq_settle_batch(c, mask) : 0;
		/* The batch's routes get its ticket; without one (logged) they never settle. */
		for (unsigned j = 0; seq && j < b; j++)
			set_ticket(mv.ticketed[j], c, seq);
		if (b && !seq)
			log_err("route: cpu %u: %u shared vectors not settled", c, b);
		/* Those not marked keep their count up (release_vector). */
		if ((marked > 0 || settles > 0 || seq) && irq_drain_kick(c) && !err)
			err = E_BUSY;
	}
	return err;
}

/* The c routes of group, all of table t, move to cpu with the vectors vector (their entries
 * are index): their fields first (a handler that runs on a new vector as soon as its entry
 * is stored finds them), then every entry, one invalidation and one wait. Their old vectors
 * are added at *k for release_old, unless the unit may still use the old entries. */
static int move_group(struct ir_table *t, struct route *const *group, const uint16_t *index,
		      const uint8_t *vector, unsigned c, unsigned cpu, unsigned *k)
{
	ir_batch_begin(&mv.batch, t);
	mv.batch.logged = log_moves;
	int err = ir_batch_retarget_prepare(&mv.batch, index, c, cpu_at(cpu)->apic_id);
	if (err) {
		/* Nothing names the new vectors: give them back (each counts as a drain). Shared
		 * ones stay as they are. */
		unsigned n = 0;
		for (unsigned i = 0; i < c; i++)
			if (!group[i]->shared) {
				__atomic_add_fetch(&group[i]->drains, 1, __ATOMIC_ACQ_REL);
				mv.release[n++] = vector[i];
			}
		if (n && irq_vector_release_many(cpu, mv.release, n, drained) > 0 &&
		    irq_drain_kick(cpu))
			log_err("route: %u vectors of cpu %u stay allocated", n, cpu);
		return err;
	}
	unsigned k0 = *k;
	for (unsigned i = 0; i < c; i++) {
		struct route *r = group[i];
		/* Before the entries change: not settled from the first message on. */
		mv.old_cheap[*k] = r->shared && cheap_settle(r, cpu);
		if (!r->shared)
			__atomic_add_fetch(&r->drains, 1, __ATOMIC_ACQ_REL);
		r->prev_cpu = (int)r->cpu;
		r->cpu = cpu;
		mv.old_cpu[*k] = (uint16_t)r->prev_cpu;
		mv.old_vector[*k] = (uint8_t)r->vector;
		/* A shared vector stays and settles on the old CPU; another is released there. */
		mv.old_route[(*k)++] = r->shared ? r : 0;
		if (r->shared)
			continue;
		r->prev_vector = r->vector;
		r->vector = vector[i];
	}
	ir_batch_retarget_store(&mv.batch, index, vector, c);
	err = ir_batch_run(&mv.batch);
	for (unsigned i = 0; log_moves && i < c; i++)
		report_route(group[i]);
	if (err) {
		/* The unit may use either entry: both vectors stay routed to the handler. */
		log_err("route: %u IRTEs from %u not invalidated; their old vectors stay allocated",
			c, index[0]);
		*k = k0;
	}
	return err;
}

/* The general way, for the routes a move does not take the quick way (route_move_add): at
 * most IR_BATCH_MAX, so that every entry of a unit fits its one batch. */
static int retarget_general(struct route *const *rs, unsigned n, unsigned cpu)
{
	unsigned m = 0, a = 0, k = 0, left;
	struct ir_table *t0 = 0;
	bool one_table = true;
	int err = 0;

	/* 1. The routes that move, with their entries and vectors; a vector on the new CPU for
	 * each that has no shared one, all in one hold of that CPU's lock. */
	for (unsigned i = 0; i < n; i++) {
		struct route *r = rs[i];
		if (!r->used || r->cpu == cpu)
			continue;
		t0 = t0 ? t0 : r->md->ir;
		one_table &= r->md->ir == t0;
		mv.index[m] = (uint16_t)r->irte;
		mv.vs[m] = (uint8_t)r->vector;
		if (!r->shared) {
			mv.fns[a] = r->fn;
			mv.args[a] = r;
			mv.at[a++] = (uint8_t)m;
		}
		mv.moving[m++] = r;
	}
	left = m;
	if (a) {
		int got = irq_vector_alloc_many(cpu, mv.fns, mv.args, a, mv.got);
		if (got < 0)
			got = 0;
		for (unsigned j = 0; j < (unsigned)got; j++)
			mv.vs[mv.at[j]] = mv.got[j];
		for (unsigned j = (unsigned)got; j < a; j++) {
			mv.moving[mv.at[j]] = 0;        /* stays where it is */
			left--;
			err = E_NOMEM;
		}
	}
	/* 2. Per remapping table (one, but for routes of functions behind different units):
	 * the entries rewritten, one invalidation descriptor and one wait. */
	if (left && left == m && one_table) {
		int e = move_group(t0, mv.moving, mv.index, mv.vs, m, cpu, &k);
		err = err ? err : e;
		left = 0;
	}
	for (unsigned i = 0; left; i++) {
		if (!mv.moving[i])
			continue;
		struct ir_table *t = mv.moving[i]->md->ir;
		unsigned c = 0;
		for (unsigned j = i; j < m; j++) {
			struct route *r = mv.moving[j];
			if (!r || r->md->ir != t)
				continue;
			mv.group[c] = r;
			mv.gindex[c] = mv.index[j];
			mv.vector[c++] = mv.vs[j];
			mv.moving[j] = 0;
		}
		left -= c;
		int e = move_group(t, mv.group, mv.gindex, mv.vector, c, cpu, &k);
		if (e && !err)
			err = e;
	}
	/* 3. The old vectors drain and go. */
	int rerr = release_old(k);
	return err ? err : rerr;
}

/*
 * The quick way of a move of many routes (route.h route_move_add; docs/architecture.md,
 * "Moving a guest's messages"): routes with shared vectors behind one remapping table, leaving
 * one CPU, whose last settle is over or is on the CPU they now move to (or, with a counted
 * settle, still pending elsewhere), each moved as the caller finds it; then one invalidation
 * and one wait for them all (finish_quick), and one settle: on the spot when the CPU they left
 * is this one and its IRR shows none of their messages (their old tickets stay: over, or on
 * the CPU they came back to), else one batch of that CPU, its ticket in each, and one drain
 * IPI. `moving` is odd from route_move_begin to route_move_end, so that route_settled() says
 * no for any route meanwhile.
 */
/* A ticket that lets a route move the quick way: over, or on the CPU it moves to. */
static __attribute__((noinline)) bool quick_ticket(uint64_t t, unsigned cpu)
{
	return t != TICKET_PENDING && (TICKET_CPU(t) == cpu || ticket_over(t));
}

/* The vectors of rs[0..n) into mv.quick_mask. */
static void mask_add(struct route *const *rs, unsigned n)
{
	for (unsigned j = 0; j < n; j++) {
		unsigned v = rs[j]->vector;
		mv.quick_mask[v / 64] |= 1ull << (v % 64);
	}
}

static void mask_clear(void)
{
	for (unsigned w = 0; w < 4; w++)
		mv.quick_mask[w] = 0;
}

/* Settled on the spot: the counted ones' counts given back (their earlier settle elsewhere
 * still decides when they are settled); nothing to store in the others. */
static uint64_t settled_here(struct route_move *m)
{
	for (unsigned j = 0; j < m->nc; j++)
		drains_over(m->counted[j], 1);
	return 0;
}

/*
 * After the invalidation: settled on the spot (returns 0: nothing to store), or else the
 * ticket of one settle batch of the CPU left for the routes whose last settle was over or on
 * the CPU they went to (moved[]), and a counted settle for the others (counted[]: an earlier
 * batch elsewhere still pending, so they settle when both are over, as in the general way),
 * with one drain IPI. TICKET_PENDING with *err set when a batch could not be marked.
 */
static uint64_t quick_settle(struct route_move *m, int *err)
{
	bool here = m->from == this_cpu()->index;

	/* With interrupts off (the lock): what the drain handler would see, seen now. Nothing
	 * pending among the device vectors at all is the common case: no mask to gather. */
	if (here && !irq_device_pending_here())
		return settled_here(m);
	mask_clear();
	mask_add(m->moved, m->k);
	mask_add(m->counted, m->nc);
	if (here && !irq_pending_here(mv.quick_mask))
		return settled_here(m);
	uint64_t ticket = 0;
	bool kick = false;
	for (unsigned j0 = 0; j0 < m->nc; j0 += IR_BATCH_MAX) {
		unsigned c = MIN(m->nc - j0, (unsigned)IR_BATCH_MAX);
		for (unsigned j = 0; j < c; j++) {
			mv.settle[j] = (uint8_t)m->counted[j0 + j]->vector;
			mv.settle_arg[j] = m->counted[j0 + j];
		}
		/* Not marked: their counts stay up and they never settle. */
		if (irq_vector_settle_many(m->from, mv.settle, mv.settle_arg, c, settled) > 0) {
			kick = true;
		} else {
			log_err("route: cpu %u: %u shared vectors not settled", m->from, c);
			*err = E_INVAL;
		}
	}
	if (m->k) {
		mask_clear();
		mask_add(m->moved, m->k);
		uint64_t seq = irq_settle_batch(m->from, mv.quick_mask);
		if (seq) {
			ticket = ROUTE_TICKET(m->from, seq);
			kick = true;
		} else {
			log_err("route: cpu %u: %u shared vectors not settled", m->from, m->k);
			*err = E_INVAL;
			ticket = TICKET_PENDING;
		}
	}
	if (kick && irq_drain_kick(m->from) && !*err)
		*err = E_BUSY;
	return ticket;
}

/* The quick way's routes moved: their entries flushed where the unit does not snoop, one
 * invalidation and one wait, then one settle for all of them. */
static void finish_quick(struct route_move *m)
{
	unsigned n = m->k + m->nc;
	if (!n)
		return;
	int err = 0;
	uint64_t ticket;
	for (unsigned j = 0; ir_retarget_sparse(m->ir, n) && j < n; j++)
		ir_retarget_flush(m->ir, (j < m->k ? m->moved[j] : m->counted[j - m->k])->irte);
	err = ir_retarget_run(m->ir, n);
	if (err) {
		/* The unit may use either entry: the routes never settle, as for any failed
		 * invalidation (the counted ones keep their unsettled tickets, and a count). */
		log_err("route: %u IRTEs of unit %u not invalidated", n, m->ir.t->u->index);
		ticket = TICKET_PENDING;
	} else {
		ticket = quick_settle(m, &err);
	}
	/* Settled on the spot: each old ticket stays, over or on the CPU it came back to (or,
	 * for a counted one, pending elsewhere: it settles when that is over). */
	for (unsigned j = 0; ticket && j < m->k; j++)
		__atomic_store_n(&m->moved[j]->settle, ticket, __ATOMIC_RELAXED);
	ir_retarget_again(&m->ir);
	m->md = 0;
	m->total += n;
	m->k = m->nc = 0;
	m->err = m->err ? m->err : err;
}

void route_move_begin(struct route_move *m, unsigned cpu)
{
	*m = (struct route_move){ .cpu = cpu, .moved = mv.quick, .counted = mv.counted,
				  .slow = mv.slow, .off = log_moves };
	if (!cpu_ok(cpu)) {
		m->err = E_RANGE;
		m->bad_cpu = true;
	}
	m->irqflags = spin_lock_irqsave(&lock);
	/* route_settled() says no until route_move_end. */
	__atomic_store_n(&moving, moving + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/* The invalidation covers r's function's whole block (a function's messages are moved
 * together, as a rule: one check per route, not a minimum and maximum). */
void route_move_block(struct route_move *m, const struct route *r)
{
	m->md = r->md;
	ir_retarget_cover(&m->ir, r->md->irte, r->md->irte + r->md->block - 1);
}

void route_move_other(struct route_move *m, struct route *r)
{
	if (m->bad_cpu)
		return;
	/* A shared vector whose last settle is still pending elsewhere moves the quick way too
	 * (one wait per unit for the whole move), with a counted settle (quick_settle). One
	 * that is over is forgotten: the next move takes the route in line. */
	uint64_t t = r->settle;         /* written only under the lock */
	bool quick = !m->off && r->shared;
	bool counted = quick && t && !quick_ticket(t, m->cpu);
	if (quick && t && t != TICKET_PENDING && ticket_over(t))
		__atomic_store_n(&r->settle, 0, __ATOMIC_RELAXED);
	bool same = r->ir == m->ir.t && r->cpu == m->from;

	if (quick && !(m->k + m->nc)) {
		/* The first names the table and the CPU they leave. */
		struct ir_retarget ir = ir_retarget_begin(r->ir, cpu_at(m->cpu)->apic_id);
		if (!ir.err) {
			m->ir = ir;
			m->md = 0;
			m->from = r->cpu;
			same = true;
		} else {
			m->off = true;   /* the general way fails the same, and says so */
		}
	}
	if (quick && same && !m->off) {
		/* Counted before its entry changes, as in the general way: a drain of its
		 * earlier settle that ends meanwhile must not take prev_cpu back to none. */
		if (counted)
			__atomic_add_fetch(&r->drains, 1, __ATOMIC_ACQ_REL);
		r->prev_cpu = (int)r->cpu;
		r->cpu = m->cpu;
		ir_retarget_entry(&m->ir, r->entry);
		route_move_block(m, r);
		if (counted)
			m->counted[m->nc++] = r;
		else
			m->moved[m->k++] = r;
		return;
	}
	m->slow[m->s++] = r;
	if (m->s == IR_BATCH_MAX) {
		int err = retarget_general(m->slow, m->s, m->cpu);
		m->err = m->err ? m->err : err;
		m->total += m->s;
		m->s = 0;
	}
}

int route_move_end(struct route_move *m)
{
	finish_quick(m);
	if (m->s && !m->bad_cpu) {
		int err = retarget_general(m->slow, m->s, m->cpu);
		m->err = m->err ? m->err : err;
		m->total += m->s;
	}
	__atomic_store_n(&moving, moving + 1, __ATOMIC_RELEASE);
	spin_unlock_irqrestore(&lock, m->irqflags);
	return m->err;
}

int route_retarget(struct route *r, unsigned cpu)
{
	if (!cpu_ok(cpu))
		return E_RANGE;
	uint64_t f = spin_lock_irqsave(&lock);
	int err = r->used ? retarget_locked(r, cpu) : E_NOENT;
	spin_unlock_irqrestore(&lock, f);
	return err;
}

int route_mask(struct route *r, bool masked)
{
	uint64_t f = spin_lock_irqsave(&lock);
	int err = 0;

	if (!r->used) {
		err = E_NOENT;
	} else if (r->masked != masked) {
		r->masked = masked;
		if (msi_can_mask(r->md)) {
			msi_mask(r->md, r->msg, masked);
		} else {
			struct vtd_irte_ret e = entry(r, r->cpu, r->vector);
			err = e.err ? e.err : ir_write(r->md->ir, r->irte, e.e);
		}
	}
	spin_unlock_irqrestore(&lock, f);
	return err;
}

int route_destroy(struct route *r)
{
	uint64_t f = spin_lock_irqsave(&lock);

	if (!r->used) {
		spin_unlock_irqrestore(&lock, f);
		return E_NOENT;
	}
	msi_mask(r->md, r->msg, true);
	int err = ir_write(r->md->ir, r->irte, (struct vtd_irte){ 0, 0 });
	r->used = false;
	slot_free(r);
	report_route(r);
	if (!err) {
		r->prev_cpu = (int)r->cpu;
		err = release_vector(r, r->cpu, r->vector);
	} else {
		/* Never reuse a slot whose vector may still be named by a cached entry. */
		__atomic_add_fetch(&r->drains, 1, __ATOMIC_ACQ_REL);
	}
	spin_unlock_irqrestore(&lock, f);
	return err;
}
