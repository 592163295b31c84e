/*
 * The route table: (function, message k) -> IRTE -> (CPU, vector) -> handler. The one place
 * that decides where a device message goes; guests' event bindings sit on top of it.
 *
 *   route_create(dev, k, cpu, fn, arg)  message k of dev (after msi_enable) interrupts CPU cpu,
 *                                        which runs fn(frame, route) with interrupts off
 *                                        (arg is ROUTE_ARG(route))
 *   route_retarget(route, cpu)          send it to another CPU (or a fresh vector on the same)
 *   route_move_begin/add/end            the same for many routes, added as the caller finds
 *                                        them: one invalidation wait per unit
 *   route_mask(route, masked)           hold the message at its source, or let it go
 *   route_destroy(route)                stop it; the message is masked where it can be
 *
 * A route gets a vector on its CPU and the IRTE base + k names (CPU's APIC, vector) with the
 * function's source-id check; its message is unmasked last. Creating and destroying it print
 * `@route dev msg irte cpu apic vector unit` (`-` for cpu, apic and vector once destroyed), and
 * so does a move with log_moves=on (route_set_log_moves).
 *
 * Retargeting (docs/architecture.md, "Moving a route"): a vector on the new CPU with the same
 * handler; the IRTE's low 64 bits (destination and vector) in one store; an IEC invalidation
 * and a wait, after which the unit sends nothing more to the old (CPU, vector) and has drained
 * what it sent there; then the old vector is released through kernel/cpu/irq.c, which frees it
 * only once the old CPU has taken every interrupt still pending on it. A message already on
 * its way to the old CPU therefore runs the same handler there, exactly once; the vector is
 * never given to another route before that. Between the store and the drain, a handler may
 * run on the old CPU: route.prev_cpu names it. A route with a shared vector keeps it: only
 * the destination changes, and the old CPU settles the vector instead of freeing it (one
 * settle batch per old CPU and move, the same drain IPI, nothing freed; a counted settle for
 * a route moved on before its last batch was over; none when the move runs on the CPU left and
 * its IRR shows none of their messages), so route_settled() means the same for both
 * (docs/architecture.md, "Shared vectors", "Moving a guest's messages").
 *
 * The functions take a lock and wait for the invalidation (bounded); they may be called from
 * interrupt context on any CPU.
 */
#ifndef COURIER_MSI_ROUTE_H
#define COURIER_MSI_ROUTE_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

#include "kernel/cpu/percpu.h"
#include "iommu/ir_table.h"

struct pci_dev;
struct msi_dev;
struct route;

/*
 * A route's handler is what its vectors call (kernel/cpu/percpu.h: vector_handler_t), with the
 * route as the argument: one load from the vector finds it, no hop in between. The route's
 * own `arg` is the handler's to read (ROUTE_ARG).
 */
typedef vector_handler_t route_handler_t;
#define ROUTE_ARG(vector_arg)   (((struct route *)(vector_arg))->arg)

#define ROUTE_MAX       4096
#define ROUTE_NO_CPU    (-1)

struct route {
	bool used;
	struct msi_dev *md;
	struct ir_table *ir;            /* md->ir, its entry's table (one load on a move) */
	unsigned msg;
	unsigned irte;                  /* md->irte + msg, in the unit's table */
	volatile struct vtd_irte *entry; /* where that entry is (ir_entry) */
	volatile unsigned cpu;          /* where the message goes now */
	volatile unsigned vector;
	volatile int prev_cpu;          /* the CPU before the last move while its vector
					 * drains, else ROUTE_NO_CPU; with a shared vector, the
					 * CPU before the last move */
	unsigned prev_vector;
	route_handler_t fn;
	void *arg;
	volatile unsigned drains;       /* vectors of this route still being released, and
					 * counted settles of its shared vector still to come */
	volatile uint64_t settle;       /* shared vector: the batch its last move settles on
					 * the old CPU (route.c: ROUTE_TICKET), 0 when none */
	bool masked;                    /* route_mask: held at the source */
	bool shared;                    /* its vector is the same on every CPU (irq.h) */
};

struct route_ret {
	int err;
	struct route *r;
};

/* E_NOENT (messages not enabled), E_RANGE (k too large or cpu not online), E_BUSY (k has a
 * route), E_NOMEM (no route slot or vector), or the invalidation's error. */
struct route_ret route_create(struct pci_dev *d, unsigned msg, unsigned cpu, route_handler_t fn,
			      void *arg);
int route_retarget(struct route *r, unsigned cpu) __must_check;
/*
 * Send many routes to one CPU together, added one by one as the caller finds them (a guest's
 * bindings), so that nothing is gathered first. Shared vectors keep theirs and only the IRTEs'
 * destinations change; others get a vector each on the new CPU in one go and their old ones
 * are released per old CPU with one drain IPI each; one invalidation descriptor and one wait
 * per remapping unit (for routes without a shared vector, per 64 of them: IR_BATCH_MAX).
 * Routes already there are left alone. route_move_begin takes the route lock (interrupts off
 * until route_move_end); route_move_add moves the common route at once, in line: a shared
 * vector, the same remapping table and CPU left as the move's first, nothing left to settle
 * (its fields, then its IRTE's destination: iommu/ir_table.h, ir_retarget), or lists one
 * without a shared vector for the general way; any other goes through route_move_other (the
 * first, a shared one whose last settle is on the CPU it moves to or over, or still pending
 * elsewhere: a counted settle, and the list's 64th). route_move_end runs the invalidation and
 * the wait, settles (docs/architecture.md, "Moving a guest's messages"), moves the listed ones
 * the general way and drops the lock; the first error, if any. route_settled() says no for
 * every route in between.
 */
struct route_move {
	unsigned cpu;                   /* where they go */
	unsigned from;                  /* the CPU the quick ones leave */
	unsigned k;                     /* moved the quick way, settled in one go (moved[]) */
	unsigned nc;                    /* moved the quick way, counted settles (counted[]) */
	unsigned s;                     /* listed for the general way */
	unsigned total;                 /* routes moved or tried the general way already */
	int err;
	bool off;                       /* none the quick way (log_moves, a bad destination) */
	bool bad_cpu;                   /* cpu is not online: nothing moves, E_RANGE */
	uint64_t irqflags;
	struct route **moved;           /* route.c's arrays, ROUTE_MAX each */
	struct route **counted;
	struct route **slow;            /* those for the general way (route.c's, IR_BATCH_MAX) */
	const struct msi_dev *md;       /* the function whose IRTE block the cover has last */
	struct ir_retarget ir;          /* the quick ones' entries; .t 0 before the first */
};
void route_move_begin(struct route_move *m, unsigned cpu);
void route_move_other(struct route_move *m, struct route *r);
void route_move_block(struct route_move *m, const struct route *r);
static inline void route_move_add(struct route_move *m, struct route *r)
{
	unsigned c = r->cpu;

	if (c == m->cpu || !r->used)
		return;
	if (__builtin_expect(r->ir == m->ir.t && c == m->from && r->shared && !r->settle, 1)) {
		/* Its fields before its entry: a message on the new CPU finds them. */
		r->prev_cpu = (int)c;
		r->cpu = m->cpu;
		ir_retarget_entry(&m->ir, r->entry);
		if (r->md != m->md)
			route_move_block(m, r);
		m->moved[m->k++] = r;
		return;
	}
	/* A vector of its CPU (shared_vectors=off, or none was free): listed for the general
	 * way, unless that fills the list. */
	if (!r->shared && m->s + 1 < IR_BATCH_MAX) {
		m->slow[m->s++] = r;
		return;
	}
	route_move_other(m, r);
}
/* Routes added so far that were not where they go (moved, or tried). */
static inline unsigned route_move_count(const struct route_move *m)
{
	return m->total + m->k + m->nc + m->s;
}
int route_move_end(struct route_move *m) __must_check;

/*
 * Hold the route's message at its source (masked) or let it go again. Where the function can
 * mask it (an MSI-X entry, MSI with per-vector masking) its mask bit; elsewhere the IRTE is
 * made not present (with its invalidation), so the IOMMU drops the message with an
 * interrupt-remapping fault, and a retarget while masked keeps it so. E_NOENT once destroyed.
 */
int route_mask(struct route *r, bool masked);
int route_destroy(struct route *r);
/*
 * Whether a retarget prints @route (and its IRTE write @irte) for each message it moves. Off by
 * default: a move of 32 messages would otherwise spend most of its time formatting 64 records
 * (a guest's moves are counted in its `@stat ... moves=`).
 * log_moves=on turns it on, for experiments that follow every message.
 */
void route_set_log_moves(bool on);
/*
 * Whether a route takes a shared vector (kernel/cpu/irq.h: the same vector on every CPU) when
 * one is free, so that its moves rewrite only the IRTE's destination and free nothing: the CPU
 * it left only settles it (one drain IPI per old CPU and move, irq_settle_batch), and
 * route_settled() means what it means for any route. Only where the routes all guests can
 * bind fit in one CPU's vectors anyway (the guests' shares), else shared vectors would take
 * from every CPU what only one needs (docs/architecture.md, "Shared vectors"). On by
 * default (shared_vectors=on with shares=on, kernel/main.c).
 */
void route_set_shared_vectors(bool on);

/* No vector of r is still being released or settled: no message of r can still arrive
 * anywhere but r->cpu. A route may be moved again before it settled (the guests' moves do
 * not wait): each move counts its own drain or settle, and r settles once all are over. */
bool route_settled(const struct route *r);

#endif
