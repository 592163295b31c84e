/*
 * Guests' device messages: a guest that owns a function asks for n of its messages
 * (HC_DEV_MSG_ALLOC) and binds message k to an event port (HC_DEV_MSG_BIND) — its own, or one
 * another guest offered it. Each binding is a route (msi/route.c) to the CPU of the guest
 * that owns the port, whose handler raises that port; when that guest moves, its bindings'
 * routes are retargeted to its new CPU, so the next message interrupts the CPU it runs on.
 * No driver domain and no other CPU on the way.
 *
 * A message is held at its source (route_mask: the device's mask bit, else a not-present
 * IRTE) while its port is masked, and while it storms:
 * - the port: the first message that finds its port masked holds the source; HC_EVT_UNMASK of
 *   the port lets it go (its pending bit is kept, so nothing is lost);
 * - a storm: more than storm_rate= messages a second (counted over STORM_WINDOW_US) holds the
 *   source for STORM_HOLD_US, doubled for each storm that follows within a second of the last
 *   (up to STORM_HOLD_MAX_SHIFT times), and reports `@storm ... state=held`; the boot CPU's
 *   tick lets it go once calm (`@storm ... state=released`).
 *
 * Shares: no guest can use up what the others need. When the guests start, each gets an equal
 * share of the device vectors of a CPU and of the route table (a message bound to a guest's
 * port has a vector on that guest's CPU, wherever it moves, so the guests on any CPU together
 * never need more than there are), and each guest that owns a function on a remapping unit an
 * equal share of that unit's free IRTEs (a function's messages take a block on its unit). A guest's ports are its own already. Going over a share
 * is E_NOMEM to the guest that asked: the binder for a port's share, the device's owner for
 * IRTEs.
 */
#include "kernel/guest/guest_msg.h"
#include "kernel/lib/error.h"
#include "kernel/guest/event.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/time.h"
#include "kernel/guest/guest.h"
#include "kernel/guest/guest_dev.h"
#include "kernel/lib/log.h"
#include "kernel/arch/spinlock.h"
#include "iommu/ir_table.h"
#include "iommu/unit.h"
#include "kernel/cpu/vectors.h"
#include "msi/msi.h"
#include "msi/route.h"
#include "pci/pci.h"

#define BINDINGS_MAX ROUTE_MAX
#define STORM_WINDOW_US         10000
#define STORM_HOLD_US           100000
#define STORM_HOLD_MAX_SHIFT    4
#define STORM_AGAIN_US          1000000 /* a storm this soon after the last: a longer hold */

struct binding {
	bool used;
	struct guest *owner;    /* owns the device */
	struct guest *target;   /* owns the port */
	unsigned port;
	struct route *route;
	/* Written by deliver() on the CPU taking the message (approximate while it moves). */
	uint64_t window_us;     /* the current storm window began */
	uint32_t window_n;      /* messages in it */
	bool port_held;         /* held while its port is masked */
	bool storm_held;        /* held for a storm, until release_us */
	uint64_t release_us, last_storm_us;
	unsigned storms;        /* storms in a row: the hold doubles */
	struct binding *next;   /* the next binding to the same guest's ports (its list) */
};

/*
 * One lock over the bindings, held across the route operations on them: a guest binding or
 * unbinding on one CPU while the tick moves the port's owner on another must never see a
 * half-made binding or retarget a route that is being destroyed. The route calls wait only for
 * the IOMMU's invalidation, never for another CPU, and the route handler (deliver) does not take
 * this lock, so holding it there cannot deadlock.
 */
static struct binding bindings[BINDINGS_MAX];
static struct spinlock lock = SPINLOCK_INIT;

/* Each guest's bindings to its ports, so a move or an unmask finds them without a scan. */
static void list_add(struct binding *b)
{
	b->next = b->target->bound;
	b->target->bound = b;
}

static void list_remove(struct binding *b)
{
	for (struct binding **p = &b->target->bound; *p; p = &(*p)->next)
		if (*p == b) {
			*p = b->next;
			break;
		}
	b->next = 0;
}
static uint64_t storm_per_window;       /* 0: storms are not looked for */
static unsigned share_routes;                   /* 0: no shares (before the guests start) */
static bool forward;                            /* route=forward: the baseline (below) */
/* Device messages each CPU took, by the guest whose port they were for (@msgs). */
static uint64_t taken[MAX_CPUS][MAX_GUESTS];
static unsigned share_irtes[GUEST_IR_UNITS];

void guest_msg_shares(unsigned loaded)
{
	unsigned vectors = VEC_DYNAMIC_LAST - VEC_DYNAMIC_FIRST + 1;
	unsigned owners[GUEST_IR_UNITS] = { 0 };

	if (!loaded)
		return;
	share_routes = MIN(vectors, (unsigned)BINDINGS_MAX) / loaded;
	/* IRTEs are a device owner's: shared among the guests that own a function on the unit. */
	for (unsigned i = 0; i < guest_count; i++) {
		bool on[GUEST_IR_UNITS] = { false };
		if (guests[i].state != GUEST_LOADED)
			continue;
		for (unsigned k = 0; k < guests[i].ndevs; k++) {
			struct ir_table *t = ir_table_for(guests[i].devs[k]);
			if (t && t->u->index < GUEST_IR_UNITS)
				on[t->u->index] = true;
		}
		for (unsigned u = 0; u < GUEST_IR_UNITS; u++)
			owners[u] += on[u];
	}
	for (unsigned u = 0; u < GUEST_IR_UNITS; u++) {
		struct ir_table *t = ir_table_at(u);
		if (t)
			share_irtes[u] = (t->alloc.size - t->alloc.used) / MAX(owners[u], 1u);
	}
	log_info("guests: each may bind %u messages to its ports; each of the %u device owners "
		 "may hold %u IRTEs of unit 0", share_routes, owners[0], share_irtes[0]);
}
static volatile unsigned storms_held;   /* bindings held for a storm: the tick looks */

/*
 * route=forward, the path Courier exists to remove, built to measure against: every message
 * goes to the CPU of the guest that owns the device (the "backend"), whose handler raises the
 * port of the guest it is bound to, which is an IPI to that guest's CPU when it runs
 * elsewhere. The routes follow the device's owner when it moves, not the port's.
 */
void guest_msg_set_forward(bool on) { forward = on; }

void guest_msgs_report(void)
{
	for (unsigned c = 0; c < cpu_count; c++)
		for (unsigned g = 0; g < guest_count; g++)
			if (taken[c][g])
				report("msgs cpu=%u guest=%s taken=%llu", c, guests[g].name,
				       (unsigned long long)taken[c][g]);
}

void guest_msg_set_storm_rate(uint64_t per_second)
{
	storm_per_window = per_second * STORM_WINDOW_US / 1000000;
	if (per_second && !storm_per_window)
		storm_per_window = 1;
}

static void report_storm(const struct binding *b, const char *state, uint64_t extra)
{
	char s[PCI_BDF_STRLEN];
	report("storm dev=%s msg=%u guest=%s port=%u state=%s %s=%llu",
	       pci_bdf_fmt(s, b->route->md->dev->bdf), b->route->msg, b->target->name, b->port,
	       state, *state == 'h' ? "hold_ms" : "held", (unsigned long long)extra);
}

static bool port_masked(const struct binding *b)
{
	const struct courier_shared_info *sh = b->target->shared;
	return sh->evt_mask[b->port / 64] >> (b->port % 64) & 1;
}

/* The message arrived (on the target's CPU, or its old one while a move drains). */
static void deliver(struct route *r, void *arg)
{
	struct binding *b = arg;

	/* Unbound while it was on its way: it was sent for b's port, which is no longer bound to
	 * it; dropped, and counted against that port's guest. The slot keeps (target, port) until
	 * the route's vectors are drained (bind), so this is still the guest it was for. */
	if (!__atomic_load_n(&b->used, __ATOMIC_ACQUIRE)) {
		__atomic_add_fetch(&b->target->msgs_dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_add_fetch(&taken[this_cpu()->index][b->target->id], 1, __ATOMIC_RELAXED);
	evt_raise(b->target, b->port);
	if (port_masked(b) && !b->port_held) {
		b->port_held = true;
		if (!b->storm_held && route_mask(r, true))
			log_warn("guest %s: message %u cannot be held", b->owner->name, r->msg);
	}
	if (!storm_per_window || b->storm_held)
		return;
	uint64_t now = time_since_boot_us();
	if (now - b->window_us >= STORM_WINDOW_US) {
		b->window_us = now;
		b->window_n = 0;
	}
	if (++b->window_n <= storm_per_window)
		return;
	b->storms = b->last_storm_us && now - b->last_storm_us < STORM_AGAIN_US ?
		    MIN(b->storms + 1, STORM_HOLD_MAX_SHIFT) : 0;
	b->last_storm_us = now;
	uint64_t hold = (uint64_t)STORM_HOLD_US << b->storms;
	b->release_us = now + hold;
	/* Two CPUs may take its messages while it moves: one of them holds it. */
	if (__atomic_exchange_n(&b->storm_held, true, __ATOMIC_ACQ_REL))
		return;
	__atomic_add_fetch(&storms_held, 1, __ATOMIC_RELEASE);
	if (!b->port_held && route_mask(r, true))
		log_warn("guest %s: message %u cannot be held", b->owner->name, r->msg);
	report_storm(b, "held", hold / 1000);
}

/* The boot CPU's tick: storms whose hold is over are let go. */
void guest_msgs_tick(void)
{
	if (!__atomic_load_n(&storms_held, __ATOMIC_ACQUIRE))
		return;
	uint64_t now = time_since_boot_us();
	uint64_t f = spin_lock_irqsave(&lock);
	for (unsigned i = 0; i < BINDINGS_MAX; i++) {
		struct binding *b = &bindings[i];
		if (!b->used || !b->storm_held || now < b->release_us)
			continue;
		b->storm_held = false;
		b->window_n = 0;
		__atomic_sub_fetch(&storms_held, 1, __ATOMIC_RELEASE);
		if (!b->port_held && route_mask(b->route, false))
			log_warn("guest %s: message %u cannot be let go", b->owner->name,
				 b->route->msg);
		report_storm(b, "released", (now - b->last_storm_us) / 1000);
	}
	spin_unlock_irqrestore(&lock, f);
}

/* g unmasked port: the messages held for it go again (unless a storm holds them). */
void guest_msgs_port_unmasked(struct guest *g, unsigned port)
{
	uint64_t f = spin_lock_irqsave(&lock);
	for (struct binding *b = g->bound; b; b = b->next) {
		if (b->port != port || !b->port_held)
			continue;
		b->port_held = false;
		if (!b->storm_held && route_mask(b->route, false))
			log_warn("guest %s: message %u cannot be let go", b->owner->name,
				 b->route->msg);
	}
	spin_unlock_irqrestore(&lock, f);
}
/* The ABI's device address: segment << 16 | bus << 8 | devfn. */
static struct pci_dev *owned(struct guest *g, uint64_t bdf)
{
	if (bdf >> 32)
		return 0;
	struct pci_dev *d = pci_find(pci_bdf((uint16_t)(bdf >> 16), (uint8_t)(bdf >> 8),
					     (uint8_t)((bdf >> 3) & 0x1f), (uint8_t)(bdf & 7)));
	return d && guest_dev_find(g, d) >= 0 ? d : 0;
}

int guest_msg_alloc(struct guest *g, uint64_t bdf, uint64_t n)
{
	struct pci_dev *d = owned(g, bdf);
	struct msi_dev *md;

	if (!d)
		return E_NOENT;
	if (n == 0 || n > 2048)
		return E_RANGE;
	struct ir_table *t = ir_table_for(d);
	unsigned unit = t ? t->u->index : 0;
	if (t && unit < GUEST_IR_UNITS && share_routes &&
	    g->irtes_held[unit] + irte_block_size((unsigned)n) > share_irtes[unit])
		return E_NOMEM;
	int err = msi_enable(d, (unsigned)n, &md);
	if (err)
		return err;
	if (unit < GUEST_IR_UNITS)
		g->irtes_held[unit] += md->block;
	return (int)md->n;
}

static struct binding *find(const struct pci_dev *d, unsigned msg)
{
	for (unsigned i = 0; i < BINDINGS_MAX; i++)
		if (bindings[i].used && bindings[i].route->md->dev == d && bindings[i].route->msg == msg)
			return &bindings[i];
	return 0;
}

int guest_msg_bind(struct guest *g, uint64_t bdf, uint64_t msg, uint64_t guest, uint64_t port)
{
	struct pci_dev *d = owned(g, bdf);
	struct guest *t = guest == COURIER_SELF ? g : guest_by_id(guest);
	struct msi_dev *md = d ? msi_dev_of(d) : 0;

	if (!d || !t)
		return E_NOENT;
	if (!md || msg >= md->n)
		return E_RANGE;
	if (port >= COURIER_EVT_PORTS || !t->ports[port].allocated)
		return E_NOENT;
	if (t != g && !(t->ports[port].offered_to & BIT(g->id)))
		return E_PERM;

	uint64_t f = spin_lock_irqsave(&lock);
	/* A slot whose route still drains may still see a late message: not reused before. */
	struct binding *b = 0;
	for (unsigned i = 0; !b && i < BINDINGS_MAX; i++)
		if (!bindings[i].used && (!bindings[i].route || route_settled(bindings[i].route)))
			b = &bindings[i];
	if (find(d, (unsigned)msg) || !b || (share_routes && t->routes_held >= share_routes)) {
		spin_unlock_irqrestore(&lock, f);
		return b && find(d, (unsigned)msg) ? E_BUSY : E_NOMEM;
	}
	*b = (struct binding){ .owner = g, .target = t, .port = (unsigned)port };
	struct route_ret r = route_create(d, (unsigned)msg, forward ? g->cpu : t->cpu, deliver, b);
	if (!r.err) {
		b->route = r.r;
		b->used = true;
		t->routes_held++;
		list_add(b);
		char s[PCI_BDF_STRLEN];
		report("bind dev=%s msg=%u irte=%u cpu=%u guest=%s port=%u", pci_bdf_fmt(s, d->bdf),
		       (unsigned)msg, r.r->irte, r.r->cpu, t->name, (unsigned)port);
	}
	spin_unlock_irqrestore(&lock, f);
	return r.err;
}

static void unbind(struct binding *b)
{
	if (route_destroy(b->route))
		log_err("guest %s: cannot destroy the route of message %u", b->owner->name,
			b->route->msg);
	if (b->storm_held)
		__atomic_sub_fetch(&storms_held, 1, __ATOMIC_RELEASE);
	b->target->routes_held--;
	list_remove(b);
	__atomic_store_n(&b->used, false, __ATOMIC_RELEASE);
}

int guest_msg_unbind(struct guest *g, uint64_t bdf, uint64_t msg)
{
	struct pci_dev *d = owned(g, bdf);
	if (!d)
		return E_NOENT;
	uint64_t f = spin_lock_irqsave(&lock);
	struct binding *b = msg > UINT32_MAX ? 0 : find(d, (unsigned)msg);
	if (b)
		unbind(b);
	spin_unlock_irqrestore(&lock, f);
	return b ? 0 : E_NOENT;
}

/* The guest ended: its devices' routes go, and bindings of other devices to its ports. */
void guest_msgs_release(struct guest *g)
{
	uint64_t f = spin_lock_irqsave(&lock);
	for (unsigned i = 0; i < BINDINGS_MAX; i++)
		if (bindings[i].used && (bindings[i].owner == g || bindings[i].target == g))
			unbind(&bindings[i]);
	spin_unlock_irqrestore(&lock, f);
	for (unsigned i = 0; i < g->ndevs; i++) {
		struct msi_dev *md = msi_dev_of(g->devs[i]);
		if (!md)
			continue;
		unsigned unit = md->ir->u->index, block = md->block;
		msi_disable(md);
		if (unit < GUEST_IR_UNITS)
			g->irtes_held[unit] -= block;
	}
}

/* g now runs on g->cpu: every message bound to one of its ports follows it there, all in one
 * batch (one invalidation wait per unit, one drain IPI per old CPU: route_retarget_many). */
void guest_msgs_follow(struct guest *g)
{
	static struct route *rs[BINDINGS_MAX];  /* under the lock */
	unsigned n = 0;

	uint64_t f = spin_lock_irqsave(&lock);
	if (!forward) {
		for (struct binding *b = g->bound; b && n < BINDINGS_MAX; b = b->next)
			if (b->route->cpu != g->cpu)
				rs[n++] = b->route;
	} else {                /* the baseline's routes stay with the device's owner */
		for (unsigned i = 0; i < BINDINGS_MAX; i++)
			if (bindings[i].used && bindings[i].owner == g &&
			    bindings[i].route->cpu != g->cpu)
				rs[n++] = bindings[i].route;
	}
	int err = n ? route_retarget_many(rs, n, g->cpu) : 0;
	spin_unlock_irqrestore(&lock, f);
	if (err)
		log_err("guest %s: not all of its %u messages moved to cpu %u: %s", g->name, n,
			g->cpu, error_name(err));
}
