#include "kernel/guest/event.h"
#include "kernel/arch/cpu.h"
#include "kernel/arch/desc.h"
#include "kernel/lib/error.h"
#include "kernel/guest/guest.h"
#include "kernel/cpu/percpu.h"
#include "kernel/guest/sched.h"
#include "kernel/cpu/trap.h"

#define WORD(port)      ((port) / 64)
#define BITMASK(port)   (1ull << ((port) % 64))

bool evt_deliverable(const struct guest *g)
{
	const struct courier_shared_info *s = g->shared;
	for (unsigned w = 0; w < COURIER_EVT_WORDS; w++)
		if (s->evt_pending[w] & ~s->evt_mask[w])
			return true;
	return false;
}

int evt_raise(struct guest *g, unsigned port)
{
	if (port >= COURIER_EVT_PORTS)
		return E_INVAL;
	if (g->state == GUEST_EXITED || g->state == GUEST_CRASHED || g->state == GUEST_REJECTED)
		return E_NOENT;
	__atomic_fetch_or(&g->shared->evt_pending[WORD(port)], BITMASK(port), __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&g->ports[port].received, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&g->events, 1, __ATOMIC_RELAXED);
	if (g->shared->evt_mask[WORD(port)] & BITMASK(port))
		return 0;               /* delivered when the guest unmasks it */
	g->shared->upcall_pending = 1;
	sched_wake(g);
	return 0;
}

int evt_alloc(struct guest *g)
{
	uint64_t f = spin_lock_irqsave(&g->lock);
	int port = E_NOMEM;
	for (unsigned p = 0; p < COURIER_EVT_PORTS; p++) {
		if (!g->ports[p].allocated) {
			g->ports[p] = (struct guest_port){ .allocated = true };
			port = (int)p;
			break;
		}
	}
	spin_unlock_irqrestore(&g->lock, f);
	return port;
}

static bool port_ok(const struct guest *g, uint64_t port)
{
	return port < COURIER_EVT_PORTS && g->ports[port].allocated;
}

bool evt_offered(const struct guest *g, uint64_t port, const struct guest *to)
{
	return port_ok(g, port) && g->ports[port].offered_to[to->id / 64] >> (to->id % 64) & 1;
}

int evt_offer(struct guest *g, uint64_t port, uint64_t to)
{
	struct guest *t = guest_by_id(to);
	if (!t)
		return E_NOENT;
	uint64_t f = spin_lock_irqsave(&g->lock);
	int err = port_ok(g, port) ? 0 : E_NOENT;
	if (!err)
		g->ports[port].offered_to[t->id / 64] |= BIT(t->id % 64);
	spin_unlock_irqrestore(&g->lock, f);
	return err;
}

int evt_send(struct guest *from, uint64_t to, uint64_t port)
{
	struct guest *t = to == COURIER_SELF ? from : guest_by_id(to);
	if (!t)
		return E_NOENT;
	uint64_t f = spin_lock_irqsave(&t->lock);
	int err = !port_ok(t, port) ? E_NOENT : t != from && !evt_offered(t, port, from) ? E_PERM : 0;
	spin_unlock_irqrestore(&t->lock, f);
	return err ? err : evt_raise(t, (unsigned)port);
}

int evt_unmask(struct guest *g, uint64_t port)
{
	if (!port_ok(g, port))
		return E_NOENT;
	__atomic_fetch_and(&g->shared->evt_mask[WORD(port)], ~BITMASK(port), __ATOMIC_SEQ_CST);
	if (g->shared->evt_pending[WORD(port)] & BITMASK(port))
		g->shared->upcall_pending = 1;  /* the return path enters the upcall */
	return 0;
}

bool evt_upcall_due(const struct guest *g)
{
	return g->upcall_entry && !g->shared->upcall_mask && evt_deliverable(g);
}

void evt_enter_upcall(struct guest *g, struct trap_frame *f)
{
	struct courier_shared_info *s = g->shared;

	if (!evt_upcall_due(g))
		return;
	/* The general registers stay as the interrupted code left them: the upcall saves what it
	 * uses (docs/abi.md, "Upcalls"). */
	s->frame.rip = f->rip;
	s->frame.rsp = f->rsp;
	s->frame.rflags = f->rflags;
	g->in_upcall = true;
	s->upcall_mask = 1;
	s->upcall_pending = 1;
	f->rip = g->upcall_entry;
	f->rsp = g->upcall_stack - 8;   /* as if called: the ABI's alignment at entry */
	f->rflags = GUEST_RFLAGS_SET;
}

int evt_upcall_return(struct guest *g, struct trap_frame *f)
{
	volatile struct courier_upcall_frame *shared = &g->shared->frame;
	/* One read of each: the guest may change them meanwhile. */
	uint64_t rip = shared->rip, rsp = shared->rsp, rflags = shared->rflags;

	if (!g->in_upcall || rip >= GUEST_USER_VA_END || rsp >= GUEST_USER_VA_END)
		return E_INVAL;
	g->in_upcall = false;
	/* The other registers are the upcall's to restore before the call. */
	f->rax = shared->rax;
	f->rcx = shared->rcx;
	f->r11 = shared->r11;
	f->rsp = rsp;
	f->rip = rip;
	f->rflags = (rflags & GUEST_RFLAGS_USER_MASK) | GUEST_RFLAGS_SET;
	f->cs = SEL_UCODE | SEL_RPL3;
	f->ss = SEL_UDATA | SEL_RPL3;
	g->shared->upcall_mask = 0;
	return 0;
}
