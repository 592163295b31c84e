/* Event channels: pending and mask bits in each guest's shared-info page, and the upcall. */
#ifndef COURIER_KERNEL_GUEST_EVENT_H
#define COURIER_KERNEL_GUEST_EVENT_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/trap.h"
#include "kernel/lib/error.h"
#include "kernel/guest/guest.h"

struct guest;
struct trap_frame;

void sched_wake(struct guest *g);     /* kernel/guest/sched.h */

/* A port's word and bit in the shared-info page's pending and mask bitmaps. */
#define EVT_WORD(port)  ((port) / 64)
#define EVT_BIT(port)   (1ull << ((port) % 64))

/* Raise `port` of `g` (a device message, another guest's send); any CPU, any context. 0, or
 * EVT_MASKED when the port is masked (it is delivered once unmasked), or an error. Inline: it
 * is on every device message's path; its common case is one atomic and no lock (the guest
 * this CPU runs enters its upcall on the way back to it). */
#define EVT_MASKED      1
/* The part every way of raising shares: the pending bit (the one atomic) and its count. */
static inline void evt_set_pending(struct guest *g, unsigned port)
{
	__atomic_fetch_or(&g->shared->evt_pending[EVT_WORD(port)], EVT_BIT(port), __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&g->ports[port].received, 1, __ATOMIC_RELAXED);
}

static inline int evt_raise(struct guest *g, unsigned port)
{
	enum guest_state st = g->state;         /* one read: it is volatile */
	struct courier_shared_info *s = g->shared;

	if (port >= COURIER_EVT_PORTS)
		return E_INVAL;
	if (st == GUEST_EXITED || st == GUEST_CRASHED || st == GUEST_REJECTED)
		return E_NOENT;
	evt_set_pending(g, port);
	if (s->evt_mask[EVT_WORD(port)] & EVT_BIT(port))
		return EVT_MASKED;      /* delivered when the guest unmasks it */
	s->upcall_pending = 1;
	/* sched_wake's own first test, here to save the call: the guest this CPU runs needs no
	 * wake-up. */
	if (g != this_cpu()->current || st != GUEST_RUNNING ||
	    __atomic_load_n(&g->wake_at_ns, __ATOMIC_RELAXED))
		sched_wake(g);
	return 0;
}
/* Guest `from` sends to port of guest `to`: allowed for its own ports and offered ones. */
int evt_send(struct guest *from, uint64_t to, uint64_t port);
int evt_alloc(struct guest *g);
int evt_offer(struct guest *g, uint64_t port, uint64_t to);
/* Has g offered its port to guest `to` (HC_EVT_OFFER)? */
bool evt_offered(const struct guest *g, uint64_t port, const struct guest *to);
int evt_unmask(struct guest *g, uint64_t port);
/* Is some unmasked event pending for g? */
static inline bool evt_deliverable(const struct guest *g)
{
	const struct courier_shared_info *s = g->shared;
	for (unsigned w = 0; w < COURIER_EVT_WORDS; w++)
		if (s->evt_pending[w] & ~s->evt_mask[w])
			return true;
	return false;
}

/* The same where the answer is usually no (the end of an upcall): every word at once, no
 * branch, cheaper than the search when it has to look at all of them. */
static inline bool evt_deliverable_all(const struct guest *g)
{
	const volatile uint64_t *p = g->shared->evt_pending, *m = g->shared->evt_mask;

	_Static_assert(COURIER_EVT_WORDS == 4, "evt_deliverable_all reads four words");
	return ((p[0] & ~m[0]) | (p[1] & ~m[1]) | (p[2] & ~m[2]) | (p[3] & ~m[3])) != 0;
}

/* Can g enter its upcall now (registered, not in it, not masked)? */
static inline bool evt_upcall_open(const struct guest *g)
{
	/* in_upcall too: upcall_mask is the guest's to write, and upcalls must not nest. */
	return g->upcall_entry && !g->in_upcall && !g->shared->upcall_mask;
}

/* Would the way back to ring 3 enter g's upcall (open, an unmasked event pending)? */
static inline bool evt_upcall_due(const struct guest *g)
{
	return evt_upcall_open(g) && evt_deliverable(g);
}

/*
 * On the way back to ring 3: if g has an upcall, its upcall mask is clear and an unmasked event
 * is pending, save the interrupted RIP, RSP and RFLAGS in its shared-info page and return into
 * the upcall with the general registers as they are (docs/abi.md, "Upcalls"). Inline: it is
 * the last step of every device message's way in, which has only the CPU's frame.
 * evt_upcall_enter_now is the entry once it is known to be due.
 */
static inline void evt_upcall_enter_now(struct guest *g, struct iret_frame *f)
{
	struct courier_shared_info *s = g->shared;

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

static inline void evt_enter_upcall(struct guest *g, struct iret_frame *f)
{
	if (evt_upcall_due(g))
		evt_upcall_enter_now(g, f);
}

/* What HC_UPCALL_RETURN resumes: RIP, RSP, RFLAGS (sanitised) and RAX, RCX, R11. */
struct evt_resume {
	uint64_t rip, rsp, rflags, rax, rcx, r11;
};
/* Read g's upcall frame once into *r; false when g is not in its upcall or the frame's RIP or
 * RSP is outside the user half (HC_UPCALL_RETURN's EINVAL). Changes nothing. Inline, as the
 * next one: the end of every upcall. */
static inline bool evt_upcall_frame(const struct guest *g, struct evt_resume *r)
{
	const volatile struct courier_upcall_frame *shared = &g->shared->frame;

	/* One read of each: the guest may change them meanwhile. */
	*r = (struct evt_resume){
		.rip = shared->rip, .rsp = shared->rsp,
		.rflags = (shared->rflags & GUEST_RFLAGS_USER_MASK) | GUEST_RFLAGS_SET,
		.rax = shared->rax, .rcx = shared->rcx, .r11 = shared->r11,
	};
	return g->in_upcall && r->rip < GUEST_USER_VA_END && r->rsp < GUEST_USER_VA_END;
}

/* The upcall is over: not in it, upcalls unmasked. */
static inline void evt_upcall_done(struct guest *g)
{
	g->in_upcall = false;
	g->shared->upcall_mask = 0;
}
/* HC_UPCALL_RETURN: resume RIP, RSP, RFLAGS, RAX, RCX and R11 from the shared-info page; the
 * upcall restored the other registers itself. */
int evt_upcall_return(struct guest *g, struct trap_frame *f);

#endif
