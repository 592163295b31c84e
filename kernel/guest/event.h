/* Event channels: pending and mask bits in each guest's shared-info page, and the upcall. */
#ifndef COURIER_KERNEL_GUEST_EVENT_H
#define COURIER_KERNEL_GUEST_EVENT_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/cpu/trap.h"
#include "kernel/guest/guest.h"

struct guest;
struct trap_frame;

/* Raise `port` of `g` (a device message, another guest's send); any CPU, any context. 0, or
 * EVT_MASKED when the port is masked (it is delivered once unmasked), or an error. */
#define EVT_MASKED      1
int evt_raise(struct guest *g, unsigned port);
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

/* Would the way back to ring 3 enter g's upcall (registered, not masked, an event ready)? */
static inline bool evt_upcall_due(const struct guest *g)
{
	/* in_upcall too: upcall_mask is the guest's to write, and upcalls must not nest. */
	return g->upcall_entry && !g->in_upcall && !g->shared->upcall_mask && evt_deliverable(g);
}

/*
 * On the way back to ring 3: if g has an upcall, its upcall mask is clear and an unmasked event
 * is pending, save the interrupted RIP, RSP and RFLAGS in its shared-info page and return into
 * the upcall with the general registers as they are (docs/abi.md, "Upcalls"). Inline: it is
 * the last step of every device message's way in.
 */
static inline void evt_enter_upcall(struct guest *g, struct trap_frame *f)
{
	struct courier_shared_info *s = g->shared;

	if (!evt_upcall_due(g))
		return;
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
