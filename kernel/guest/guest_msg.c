/*
 * Guests' device messages: a guest that owns a function asks for n of its messages
 * (HC_DEV_MSG_ALLOC) and binds message k to an event port (HC_DEV_MSG_BIND) — its own, or one
 * another guest offered it. Each binding is a route (msi/route.c) to the CPU of the guest
 * that owns the port, whose handler raises that port; when that guest moves, its bindings'
 * routes are retargeted to its new CPU, so the next message interrupts the CPU it runs on.
 * No driver domain and no other CPU on the way.
 */
#include "kernel/guest/guest_msg.h"
#include "kernel/lib/error.h"
#include "kernel/guest/event.h"
#include "kernel/guest/guest.h"
#include "kernel/guest/guest_dev.h"
#include "kernel/lib/log.h"
#include "kernel/arch/spinlock.h"
#include "msi/msi.h"
#include "msi/route.h"
#include "pci/pci.h"

#define BINDINGS_MAX ROUTE_MAX

struct binding {
	bool used;
	struct guest *owner;    /* owns the device */
	struct guest *target;   /* owns the port */
	unsigned port;
	struct route *route;
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

/* The message arrived (on the target's CPU, or its old one while a move drains). */
static void deliver(struct route *r, void *arg)
{
	struct binding *b = arg;
	evt_raise(b->target, b->port);
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
	int err = msi_enable(d, (unsigned)n, &md);
	return err ? err : (int)md->n;
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
	struct binding *b = 0;
	for (unsigned i = 0; !b && i < BINDINGS_MAX; i++)
		if (!bindings[i].used)
			b = &bindings[i];
	if (find(d, (unsigned)msg) || !b) {
		spin_unlock_irqrestore(&lock, f);
		return b ? E_BUSY : E_NOMEM;
	}
	*b = (struct binding){ .owner = g, .target = t, .port = (unsigned)port };
	struct route_ret r = route_create(d, (unsigned)msg, t->cpu, deliver, b);
	if (!r.err) {
		b->route = r.r;
		b->used = true;
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
	b->used = false;
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
		if (md)
			msi_disable(md);
	}
}

/* g now runs on g->cpu: every message bound to one of its ports follows it there. */
void guest_msgs_follow(struct guest *g)
{
	uint64_t f = spin_lock_irqsave(&lock);
	for (unsigned i = 0; i < BINDINGS_MAX; i++) {
		struct binding *b = &bindings[i];
		if (!b->used || b->target != g || b->route->cpu == g->cpu)
			continue;
		int err = route_retarget(b->route, g->cpu);
		if (err)
			log_err("guest %s: cannot move message %u to cpu %u: %s", g->name,
				b->route->msg, g->cpu, error_name(err));
	}
	spin_unlock_irqrestore(&lock, f);
}
