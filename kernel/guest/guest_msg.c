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
#include "kernel/guest/bench.h"
#include "kernel/guest/binding.h"
#include "kernel/lib/error.h"
#include "kernel/guest/event.h"
#include "kernel/arch/cpu.h"
#include "kernel/cpu/apic.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/time.h"
#include "kernel/guest/guest.h"
#include "kernel/guest/guest_dev.h"
#include "kernel/guest/guest_mm.h"
#include "kernel/guest/sched.h"
#include "kernel/lib/cmdline.h"
#include "kernel/lib/fmt.h"
#include "kernel/lib/keymap.h"
#include "kernel/lib/log.h"
#include "kernel/lib/string.h"
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


/*
 * Per message of a device that is granted or bound, its state: who owns the device, the
 * guest it is granted to (who alone may then bind, unbind and mask it) and its binding. Found
 * from (function, message) through a key map, so binding, granting and moving cost the same
 * with 10 routes or 4096. A slot lives while the message is granted or bound.
 */
struct msg_slot {
	struct pci_dev *d;
	unsigned msg;
	struct guest *owner;
	struct guest *grantee;  /* 0: not granted */
	struct binding *b;      /* 0: not bound */
	struct msg_slot *next_grant, **pprev_grant;     /* the grantee's list (granted) */
	struct msg_slot *next_owned, **pprev_owned;     /* the owner's list (msg_slots) */
};

/*
 * One lock over the bindings, held across the route operations on them: a guest binding or
 * unbinding on one CPU while the tick moves the port's owner on another must never see a
 * half-made binding or retarget a route that is being destroyed. The route calls wait only for
 * the IOMMU's invalidation, never for another CPU, and the route handler (guest_msg_deliver)
 * does not take this lock, so holding it there cannot deadlock.
 */
static struct binding bindings[BINDINGS_MAX];
static struct spinlock lock = SPINLOCK_INIT;

/* Free bindings, oldest first: one is reused only once its route's vectors have drained (a
 * late message still finds its (target, port) there), and FIFO order makes that the rule;
 * bindings[bfresh..] were never used. Slots (below) are free at once: a stack. Nothing to set
 * up at boot. */
static uint16_t bfree[BINDINGS_MAX];
static unsigned bfree_head, bfree_n, bfresh;

#define SLOTS_MAX       BINDINGS_MAX
#define SLOT_MAP_CAP    (2 * SLOTS_MAX)
static struct msg_slot slots[SLOTS_MAX];
static uint16_t sfree[SLOTS_MAX];
static unsigned sfree_n, sfresh;
static uint64_t slot_keys[SLOT_MAP_CAP];
static uint32_t slot_vals[SLOT_MAP_CAP];
static struct keymap slot_map = KEYMAP_ZEROED(slot_keys, slot_vals, SLOT_MAP_CAP);

static void binding_push(const struct binding *b)
{
	bfree[(bfree_head + bfree_n++) % BINDINGS_MAX] = (uint16_t)(b - bindings);
}

static struct binding *binding_take(void)
{
	for (unsigned t = 0; t < 8 && bfree_n; t++) {
		struct binding *b = &bindings[bfree[bfree_head]];
		bfree_head = (bfree_head + 1) % BINDINGS_MAX;
		bfree_n--;
		if (!b->route || route_settled(b->route))
			return b;
		binding_push(b);
	}
	return bfresh < BINDINGS_MAX ? &bindings[bfresh++] : 0;
}

static uint64_t slot_key(const struct pci_dev *d, unsigned msg)
{
	return (uint64_t)(pci_dev_index(d) + 1) << 32 | msg;
}

static struct msg_slot *slot_find(const struct pci_dev *d, unsigned msg)
{
	uint32_t i = keymap_get(&slot_map, slot_key(d, msg));
	return i == KEYMAP_NONE ? 0 : &slots[i];
}

static struct msg_slot *slot_get(struct pci_dev *d, unsigned msg, struct guest *owner)
{
	struct msg_slot *s = slot_find(d, msg);
	if (s || (!sfree_n && sfresh == SLOTS_MAX))
		return s;
	s = sfree_n ? &slots[sfree[--sfree_n]] : &slots[sfresh++];
	*s = (struct msg_slot){ .d = d, .msg = msg, .owner = owner };
	if (!keymap_put(&slot_map, slot_key(d, msg), (uint32_t)(s - slots))) {
		sfree[sfree_n++] = (uint16_t)(s - slots);
		return 0;
	}
	s->next_owned = owner->msg_slots;
	if (s->next_owned)
		s->next_owned->pprev_owned = &s->next_owned;
	s->pprev_owned = &owner->msg_slots;
	owner->msg_slots = s;
	return s;
}

/* Neither granted nor bound any more: the slot goes. */
static void slot_put(struct msg_slot *s)
{
	if (s->grantee || s->b)
		return;
	*s->pprev_owned = s->next_owned;
	if (s->next_owned)
		s->next_owned->pprev_owned = s->pprev_owned;
	keymap_remove(&slot_map, slot_key(s->d, s->msg));
	sfree[sfree_n++] = (uint16_t)(s - slots);
}

/* Each guest's bindings to its ports, so a move or an unmask finds them without a scan; and
 * each device owner's, for route=forward, whose routes follow the owner. */
static void list_add(struct binding *b)
{
	b->next = b->target->bound;
	if (b->next)
		b->next->pprev = &b->next;
	b->pprev = &b->target->bound;
	b->target->bound = b;
	b->next_dev = b->owner->dev_bound;
	if (b->next_dev)
		b->next_dev->pprev_dev = &b->next_dev;
	b->pprev_dev = &b->owner->dev_bound;
	b->owner->dev_bound = b;
}

static void list_remove(struct binding *b)
{
	*b->pprev = b->next;
	if (b->next)
		b->next->pprev = b->pprev;
	*b->pprev_dev = b->next_dev;
	if (b->next_dev)
		b->next_dev->pprev_dev = b->pprev_dev;
	b->next = b->next_dev = 0;
}
/* Storms (binding.h): messages a window allows (0: storms are not looked for), and the
 * window (STORM_WINDOW_US) in TSC cycles (guest_msg_shares). */
uint64_t guest_msg_storm_per_window, guest_msg_storm_window_cycles;
static bool shares_on;                          /* the shares are in force */
static bool shares_wanted = true;               /* shares=on|off */
static unsigned share_routes;
static bool forward;                            /* route=forward: the baseline (below) */
/* Device messages each CPU took, by the guest whose port they were for (@msgs). */
uint64_t guest_msg_taken[MAX_CPUS][MAX_GUESTS];
static unsigned share_irtes[GUEST_IR_UNITS];

void guest_msg_shares(unsigned loaded)
{
	unsigned vectors = VEC_DYNAMIC_LAST - VEC_DYNAMIC_FIRST + 1;
	unsigned owners[GUEST_IR_UNITS] = { 0 };

	guest_msg_storm_window_cycles = time_us_to_cycles(STORM_WINDOW_US);
	if (!loaded || !shares_wanted) {
		if (!shares_wanted)
			log_info("guests: shares=off: no guest's binds, vectors or IRTEs are limited");
		return;
	}
	/* With more guests loaded than a CPU has device vectors, no share can be a guarantee for
	 * every placement; each guest may still bind one message (a CPU that runs out refuses the
	 * bind, and a move that finds no vector leaves the message where it was, still
	 * delivered). Never 0: that would be no limit at all. */
	share_routes = MAX(1u, MIN(vectors, (unsigned)BINDINGS_MAX) / loaded);
	shares_on = true;
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
			/* At least one, as for routes: 0 would refuse every owner on the unit. */
			share_irtes[u] = MAX(1u, (t->alloc.size - t->alloc.used) / MAX(owners[u], 1u));
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

void guest_msg_set_shares(bool on) { shares_wanted = on; }

void guest_msgs_report(void)
{
	for (unsigned c = 0; c < cpu_count; c++)
		for (unsigned g = 0; g < guest_count; g++)
			if (guest_msg_taken[c][g])
				report("msgs cpu=%u guest=%s taken=%llu", c, guests[g].name,
				       (unsigned long long)guest_msg_taken[c][g]);
}

void guest_msg_set_storm_rate(uint64_t per_second)
{
	guest_msg_storm_per_window = per_second * STORM_WINDOW_US / 1000000;
	if (per_second && !guest_msg_storm_per_window)
		guest_msg_storm_per_window = 1;
	/* A window's count is 32 bits (boot/msg_entry.asm compares it so). */
	guest_msg_storm_per_window = MIN(guest_msg_storm_per_window, (uint64_t)UINT32_MAX);
}

static void report_storm(const struct binding *b, const char *state, uint64_t extra)
{
	char s[PCI_BDF_STRLEN];
	report("storm dev=%s msg=%u guest=%s port=%u state=%s %s=%llu",
	       pci_bdf_fmt(s, b->route->md->dev->bdf), b->route->msg, b->target->name, b->port,
	       state, *state == 'h' ? "hold_ms" : "held", (unsigned long long)extra);
}

/* The source is held while anything holds it: its masked port, a storm, its holder. */
static void hold_sync(struct binding *b)
{
	bool held = b->port_held || b->storm_held || b->user_held;
	if (route_mask(b->route, held))
		log_warn("guest %s: message %u cannot be %s", b->owner->name, b->route->msg,
			 held ? "held" : "let go");
}

/* More than a window's messages: hold the source (and say so), longer for storms in a row. */
static __attribute__((noinline)) void storm_hold(struct binding *b)
{
	uint64_t now = time_since_boot_us();
	b->storms = b->last_storm_us && now - b->last_storm_us < STORM_AGAIN_US ?
		    MIN(b->storms + 1, STORM_HOLD_MAX_SHIFT) : 0;
	b->last_storm_us = now;
	uint64_t hold = (uint64_t)STORM_HOLD_US << b->storms;
	b->release_us = now + hold;
	/* Two CPUs may take its messages while it moves: one of them holds it. */
	if (__atomic_exchange_n(&b->storm_held, true, __ATOMIC_ACQ_REL))
		return;
	__atomic_add_fetch(&storms_held, 1, __ATOMIC_RELEASE);
	hold_sync(b);
	report_storm(b, "held", hold / 1000);
}

static __attribute__((noinline)) void port_hold(struct binding *b)
{
	b->port_held = true;
	hold_sync(b);
}

/* The message arrived (on the target's CPU, or its old one while a move drains). Inline in
 * guest_msg_deliver; boot/msg_entry.asm does the same for the common case (binding.h). */
static inline __attribute__((always_inline)) void message_in(struct percpu *c, struct binding *b)
{
	/* Unbound while it was on its way: it was sent for b's port, which is no longer bound to
	 * it; dropped, and counted against that port's guest. The slot keeps (target, port) until
	 * the route's vectors are drained (binding_take), so this is still the guest it was for. */
	if (__builtin_expect(!__atomic_load_n(&b->used, __ATOMIC_ACQUIRE), 0)) {
		__atomic_add_fetch(&b->target->msgs_dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	guest_msg_taken[c->index][b->target->id]++;      /* this CPU's row: no other writer */
	if (__builtin_expect(evt_raise(b->target, b->port) == EVT_MASKED, 0) && !b->port_held)
		port_hold(b);
	/* The window in raw TSC cycles: no conversion to time on every message. */
	if (!guest_msg_storm_per_window || b->storm_held)
		return;
	uint64_t tsc = rdtsc();
	if (tsc - b->window_tsc >= guest_msg_storm_window_cycles) {
		b->window_tsc = tsc;
		b->window_n = 0;
	}
	if (__builtin_expect(++b->window_n > guest_msg_storm_per_window, 0))
		storm_hold(b);
}

/* The route handler of every bound message; boot/msg_entry.asm takes the common case from
 * ring 3 before it is called (binding.h). */
void guest_msg_deliver(struct trap_frame *f, void *route)
{
	message_in(this_cpu(), ROUTE_ARG(route));
}

/* The boot CPU's tick: storms whose hold is over are let go. Scans only while one is held. */
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
		hold_sync(b);
		report_storm(b, "released", (now - b->last_storm_us) / 1000);
	}
	spin_unlock_irqrestore(&lock, f);
}

/* g unmasked port: the messages held for it go again (unless something else holds them). */
void guest_msgs_port_unmasked(struct guest *g, unsigned port)
{
	uint64_t f = spin_lock_irqsave(&lock);
	for (struct binding *b = g->bound; b; b = b->next) {
		if (b->port != port || !b->port_held)
			continue;
		b->port_held = false;
		hold_sync(b);
	}
	spin_unlock_irqrestore(&lock, f);
}

/* The ABI's device address: segment << 16 | bus << 8 | devfn. */
static uint64_t abi_bdf(struct pci_bdf a)
{
	return (uint64_t)a.seg << 16 | (uint64_t)a.bus << 8 | a.devfn;
}

static struct pci_dev *dev_at(uint64_t bdf)
{
	if (bdf >> 32)
		return 0;
	return pci_find(pci_bdf((uint16_t)(bdf >> 16), (uint8_t)(bdf >> 8),
				(uint8_t)((bdf >> 3) & 0x1f), (uint8_t)(bdf & 7)));
}

static struct pci_dev *owned(struct guest *g, uint64_t bdf)
{
	struct pci_dev *d = dev_at(bdf);
	return d && guest_dev_find(g, d) >= 0 ? d : 0;
}

static bool ended(const struct guest *g)
{
	return g->state == GUEST_EXITED || g->state == GUEST_CRASHED ||
	       g->state == GUEST_REJECTED;
}

int guest_msg_alloc(struct guest *g, uint64_t bdf, uint64_t n)
{
	struct pci_dev *d = owned(g, bdf);
	struct msi_dev *md;

	if (!d)
		return E_NOENT;
	if (n == 0 || n > 2048)
		return E_RANGE;
	/* Allocated already (at boot, for grant=): as many as asked are there. */
	md = msi_dev_of(d);
	if (md)
		return n <= md->n ? (int)md->n : E_BUSY;
	struct ir_table *t = ir_table_for(d);
	unsigned unit = t ? t->u->index : 0;
	if (t && unit < GUEST_IR_UNITS && shares_on &&
	    g->irtes_held[unit] + irte_block_size((unsigned)n) > share_irtes[unit])
		return E_NOMEM;
	int err = msi_enable(d, (unsigned)n, &md);
	if (err)
		return err;
	if (unit < GUEST_IR_UNITS)
		g->irtes_held[unit] += md->block;
	return (int)md->n;
}

/*
 * Who may bind, unbind and mask message msg of the function at bdf: its grantee while it is
 * granted, else the function's owner. The slot (0 when none yet) and the function come back.
 */
struct holder {
	int err;
	struct pci_dev *d;
	struct msg_slot *s;
	bool owner;
};

static struct holder holder(struct guest *g, uint64_t bdf, uint64_t msg)
{
	struct pci_dev *d = dev_at(bdf);
	if (!d)
		return (struct holder){ .err = E_NOENT };
	struct msg_slot *s = msg > UINT32_MAX ? 0 : slot_find(d, (unsigned)msg);
	if (guest_dev_find(g, d) >= 0)
		return (struct holder){ .err = s && s->grantee ? E_PERM : 0, .d = d, .s = s,
					.owner = true };
	if (s && s->grantee == g)
		return (struct holder){ .d = d, .s = s };
	return (struct holder){ .err = E_NOENT };
}

int guest_msg_bind(struct guest *g, uint64_t bdf, uint64_t msg, uint64_t guest, uint64_t port)
{
	struct guest *t = guest == COURIER_SELF ? g : guest_by_id(guest);

	uint64_t f = spin_lock_irqsave(&lock);
	struct holder h = holder(g, bdf, msg);
	struct msi_dev *md = h.d ? msi_dev_of(h.d) : 0;
	int err = h.err == E_PERM ? E_BUSY : h.err;     /* the owner's message, granted away */

	if (!err && !t)
		err = E_NOENT;
	else if (!err && (!md || msg >= md->n))
		err = E_RANGE;
	else if (!err && (port >= COURIER_EVT_PORTS || !t->ports[port].allocated))
		err = E_NOENT;
	else if (!err && t != g && (!h.owner || !evt_offered(t, (unsigned)port, g)))
		err = E_PERM;   /* a grantee binds only to its own ports */
	else if (!err && h.s && h.s->b)
		err = E_BUSY;
	else if (!err && shares_on && t->routes_held >= share_routes)
		err = E_NOMEM;
	struct msg_slot *s = err ? 0 : slot_get(h.d, (unsigned)msg, g);
	struct binding *b = s ? binding_take() : 0;
	if (!err && !b) {
		err = E_NOMEM;
		if (s)
			slot_put(s);
	}
	if (err) {
		spin_unlock_irqrestore(&lock, f);
		return err;
	}
	struct guest *owner = s->owner;
	*b = (struct binding){ .owner = owner, .target = t, .port = (unsigned)port };
	struct route_ret r = route_create(h.d, (unsigned)msg, forward ? owner->cpu : t->cpu,
					  guest_msg_deliver, b);
	if (r.err) {
		binding_push(b);
		slot_put(s);
	} else {
		b->route = r.r;
		s->b = b;
		t->routes_held++;
		list_add(b);
		__atomic_store_n(&b->used, true, __ATOMIC_RELEASE);
	}
	unsigned irte = r.err ? 0 : r.r->irte, cpu = r.err ? 0 : r.r->cpu;
	spin_unlock_irqrestore(&lock, f);
	/* Formatted with the lock dropped and interrupts back on (the values as bound). */
	char bs[PCI_BDF_STRLEN];
	if (!r.err)
		report("bind dev=%s msg=%u irte=%u cpu=%u guest=%s port=%u", pci_bdf_fmt(bs, h.d->bdf),
		       (unsigned)msg, irte, cpu, t->name, (unsigned)port);
	return r.err;
}

static void unbind(struct msg_slot *s)
{
	struct binding *b = s->b;
	if (route_destroy(b->route))
		log_err("guest %s: cannot destroy the route of message %u", b->owner->name,
			b->route->msg);
	if (b->storm_held)
		__atomic_sub_fetch(&storms_held, 1, __ATOMIC_RELEASE);
	b->target->routes_held--;
	list_remove(b);
	__atomic_store_n(&b->used, false, __ATOMIC_RELEASE);
	binding_push(b);
	s->b = 0;
}

int guest_msg_unbind(struct guest *g, uint64_t bdf, uint64_t msg)
{
	uint64_t f = spin_lock_irqsave(&lock);
	struct holder h = holder(g, bdf, msg);
	int err = h.err ? h.err : !h.s || !h.s->b ? E_NOENT : 0;
	if (!err) {
		unbind(h.s);
		slot_put(h.s);
	}
	spin_unlock_irqrestore(&lock, f);
	return err;
}

int guest_msg_mask(struct guest *g, uint64_t bdf, uint64_t msg, uint64_t masked)
{
	if (masked > 1)
		return E_INVAL;
	uint64_t f = spin_lock_irqsave(&lock);
	struct holder h = holder(g, bdf, msg);
	int err = h.err ? h.err : !h.s || !h.s->b ? E_NOENT : 0;
	if (!err) {
		h.s->b->user_held = masked;
		hold_sync(h.s->b);
	}
	spin_unlock_irqrestore(&lock, f);
	return err;
}

/* ---- grants ---------------------------------------------------------------------------- */

static void report_grant(struct pci_bdf bdf, unsigned msg, const struct guest *owner,
			 const struct guest *to, const char *state)
{
	char bs[PCI_BDF_STRLEN];
	report("grant dev=%s msg=%u owner=%s guest=%s state=%s", pci_bdf_fmt(bs, bdf), msg,
	       owner->name, to->name, state);
}

/* The grantee hears of a change to its grants on its grant port, if it set one. */
static void grant_notify(struct guest *t)
{
	int port = __atomic_load_n(&t->grant_port, __ATOMIC_ACQUIRE);
	if (port >= 0 && !ended(t))
		evt_raise(t, (unsigned)port);
}

static int grant_locked(struct guest *g, struct pci_dev *d, unsigned msg, struct guest *t)
{
	struct msi_dev *md = msi_dev_of(d);
	if (!md || msg >= md->n)
		return E_RANGE;
	struct msg_slot *s = slot_find(d, msg);
	if (s && (s->grantee || s->b))
		return E_BUSY;
	if (!(s = slot_get(d, msg, g)))
		return E_NOMEM;
	s->grantee = t;
	s->next_grant = t->granted;
	if (s->next_grant)
		s->next_grant->pprev_grant = &s->next_grant;
	s->pprev_grant = &t->granted;
	t->granted = s;
	grant_notify(t);
	return 0;
}

int guest_msg_grant(struct guest *g, uint64_t bdf, uint64_t msg, uint64_t guest)
{
	struct pci_dev *d = owned(g, bdf);
	struct guest *t = guest_by_id(guest);

	if (!d || !t || ended(t))
		return E_NOENT;
	if (t == g)
		return E_INVAL;
	if (msg > UINT32_MAX)
		return E_RANGE;
	uint64_t f = spin_lock_irqsave(&lock);
	int err = grant_locked(g, d, (unsigned)msg, t);
	spin_unlock_irqrestore(&lock, f);
	if (!err)
		report_grant(d->bdf, (unsigned)msg, g, t, "granted");
	return err;
}

/* The grant goes, and with it the grantee's binding of the message; the grantee it was. */
static struct guest *revoke(struct msg_slot *s)
{
	struct guest *t = s->grantee;
	if (s->b)
		unbind(s);
	*s->pprev_grant = s->next_grant;
	if (s->next_grant)
		s->next_grant->pprev_grant = s->pprev_grant;
	s->next_grant = 0;
	s->grantee = 0;
	grant_notify(t);
	slot_put(s);
	return t;
}

int guest_msg_revoke(struct guest *g, uint64_t bdf, uint64_t msg)
{
	struct pci_dev *d = owned(g, bdf);

	if (!d)
		return E_NOENT;
	uint64_t f = spin_lock_irqsave(&lock);
	struct msg_slot *s = msg > UINT32_MAX ? 0 : slot_find(d, (unsigned)msg);
	struct guest *t = s && s->grantee ? revoke(s) : 0;
	spin_unlock_irqrestore(&lock, f);
	if (t)
		report_grant(d->bdf, (unsigned)msg, g, t, "revoked");
	return t ? 0 : E_NOENT;
}

int guest_msg_grant_port(struct guest *g, uint64_t port)
{
	if (port == COURIER_NO_PORT) {
		__atomic_store_n(&g->grant_port, -1, __ATOMIC_RELEASE);
		return 0;
	}
	if (port >= COURIER_EVT_PORTS || !g->ports[port].allocated)
		return E_NOENT;
	__atomic_store_n(&g->grant_port, (int)port, __ATOMIC_RELEASE);
	return 0;
}

int guest_msg_grants(struct guest *g, uint64_t va, uint64_t max)
{
	struct courier_grant out[COURIER_GRANTS_MAX];
	unsigned n = 0, k = 0;

	if (max > COURIER_GRANTS_MAX)
		return E_RANGE;
	if (max && !guest_va_in_ram(g, va, max * sizeof(out[0])))
		return E_FAULT;
	uint64_t f = spin_lock_irqsave(&lock);
	for (const struct msg_slot *s = g->granted; s; s = s->next_grant, n++) {
		if (k == max)
			continue;
		out[k++] = (struct courier_grant){
			.bdf = (uint32_t)abi_bdf(s->d->bdf),
			.msg = s->msg, .owner = s->owner->id,
			.port = s->b ? (int32_t)s->b->port : -1 };
	}
	spin_unlock_irqrestore(&lock, f);
	if (k && guest_copy_to(g, va, out, k * sizeof(out[0])))
		return E_FAULT;
	return (int)n;
}

/* The guest ended. Routes to its ports go (the device's other messages keep flowing); if it
 * owned devices, every grant of their messages is revoked (each grantee told) and every route
 * of them goes, then their messages are turned off. */
void guest_msgs_release(struct guest *g)
{
	uint64_t f = spin_lock_irqsave(&lock);
	while (g->bound) {
		struct msg_slot *s = slot_find(g->bound->route->md->dev, g->bound->route->msg);
		unbind(s);
		slot_put(s);    /* unless it stays granted to g (a restart may bind it again) */
	}
	while (g->msg_slots) {
		struct msg_slot *s = g->msg_slots;
		struct pci_bdf bdf = s->d->bdf;
		unsigned msg = s->msg;
		if (!s->grantee) {
			unbind(s), slot_put(s);
			continue;
		}
		struct guest *t = revoke(s);
		/* The record with the lock dropped: g has ended, nothing adds to its list. */
		spin_unlock_irqrestore(&lock, f);
		report_grant(bdf, msg, g, t, "owner_ended");
		f = spin_lock_irqsave(&lock);
	}
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
 * move (route_move_add, each route as the list gives it: with shared vectors one invalidation
 * wait per unit, and no drain IPI when g moved itself; msi/route.h says the rest).
 * route=forward: the messages of the devices it owns follow it instead. */
void guest_msgs_follow(struct guest *g)
{
	uint64_t t0 = bench_now();
	uint64_t f = spin_lock_irqsave(&lock);
	struct route_move m;

	route_move_begin(&m, g->cpu);

	if (!forward) {
		for (struct binding *b = g->bound; b; b = b->next)
			route_move_add(&m, b->route);
	} else {
		for (struct binding *b = g->dev_bound; b; b = b->next_dev)
			route_move_add(&m, b->route);
	}
	unsigned n = route_move_count(&m);
	int err = route_move_end(&m);
	g->batches += n > 0;
	spin_unlock_irqrestore(&lock, f);
	bench_span(BENCH_SPAN_FOLLOW, t0);
	if (err)
		log_err("guest %s: not all of its %u messages moved to cpu %u: %s", g->name, n,
			g->cpu, error_name(err));
}

/*
 * grant=<bdf>/<msg>@<guest>[,...] on a device owner's module: those grants made before any
 * guest runs, for experiments that want them fixed. The function's messages are allocated
 * first, all it has (its owner's HC_DEV_MSG_ALLOC then finds them there). A bad item is
 * named and skipped; the guest still runs.
 */
static int boot_grant(struct guest *g, char *item)
{
	char *msg = strchr(item, '/'), *name = msg ? strchr(msg, '@') : 0;
	struct pci_bdf bdf;
	uint64_t k;

	if (!msg || !name)
		return E_INVAL;
	*msg++ = 0;
	*name++ = 0;
	if (pci_bdf_parse(item, &bdf) < 0 || cmdline_parse_u64(msg, &k) < 0)
		return E_INVAL;
	struct pci_dev *d = pci_find(bdf);
	struct guest *t = guest_by_name(name, strlen(name));
	if (!d || guest_dev_find(g, d) < 0 || !t)
		return E_NOENT;
	if (!msi_dev_of(d)) {
		int n = guest_msg_alloc(g, abi_bdf(bdf), MIN(msi_capacity(d), 2048u));
		if (n < 0)
			return n;
	}
	return guest_msg_grant(g, abi_bdf(bdf), k, t->id);
}

void guest_msgs_boot_grants(struct guest *g)
{
	char list[COURIER_CMDLINE_MAX];

	int got = g->cmdline ? cmdline_get(g->cmdline, "grant", list, sizeof(list)) : E_NOENT;
	if (got == E_RANGE)
		log_err("guest %s: grant= is longer than %zu characters: no grants made", g->name,
			sizeof(list) - 1);
	if (got < 0)
		return;
	for (char *item = list, *next; item && *item; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = 0;
		char shown[64];
		fmt_snprintf(shown, sizeof(shown), "%s", item);
		int err = boot_grant(g, item);
		if (err)
			log_err("guest %s: grant=%s: %s", g->name, shown, error_name(err));
	}
}
