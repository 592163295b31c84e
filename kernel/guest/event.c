#include "kernel/guest/event.h"
#include "kernel/arch/cpu.h"
#include "kernel/arch/desc.h"
#include "kernel/lib/error.h"
#include "kernel/guest/guest.h"
#include "kernel/cpu/percpu.h"
#include "kernel/guest/sched.h"
#include "kernel/cpu/trap.h"


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
	if (err)
		return err;
	err = evt_raise(t, (unsigned)port);
	return err < 0 ? err : 0;       /* a masked port got it all the same */
}

int evt_unmask(struct guest *g, uint64_t port)
{
	if (!port_ok(g, port))
		return E_NOENT;
	__atomic_fetch_and(&g->shared->evt_mask[EVT_WORD(port)], ~EVT_BIT(port), __ATOMIC_SEQ_CST);
	if (g->shared->evt_pending[EVT_WORD(port)] & EVT_BIT(port))
		g->shared->upcall_pending = 1;  /* the return path enters the upcall */
	return 0;
}

int evt_upcall_return(struct guest *g, struct trap_frame *f)
{
	struct evt_resume r;

	if (!evt_upcall_frame(g, &r))
		return E_INVAL;
	/* The other registers are the upcall's to restore before the call. */
	f->rax = r.rax;
	f->rcx = r.rcx;
	f->r11 = r.r11;
	f->rsp = r.rsp;
	f->rip = r.rip;
	f->rflags = r.rflags;
	f->cs = SEL_UCODE | SEL_RPL3;
	f->ss = SEL_UDATA | SEL_RPL3;
	evt_upcall_done(g);
	return 0;
}
