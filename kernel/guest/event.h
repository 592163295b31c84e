/* Event channels: pending and mask bits in each guest's shared-info page, and the upcall. */
#ifndef COURIER_KERNEL_GUEST_EVENT_H
#define COURIER_KERNEL_GUEST_EVENT_H

#include <stdbool.h>
#include <stdint.h>

struct guest;
struct trap_frame;

/* Raise `port` of `g` (a device message, another guest's send); any CPU, any context. */
int evt_raise(struct guest *g, unsigned port);
/* Guest `from` sends to port of guest `to`: allowed for its own ports and offered ones. */
int evt_send(struct guest *from, uint64_t to, uint64_t port);
int evt_alloc(struct guest *g);
int evt_offer(struct guest *g, uint64_t port, uint64_t to);
/* Has g offered its port to guest `to` (HC_EVT_OFFER)? */
bool evt_offered(const struct guest *g, uint64_t port, const struct guest *to);
int evt_unmask(struct guest *g, uint64_t port);
/* Is some unmasked event pending for g? */
bool evt_deliverable(const struct guest *g);
/* Would the way back to ring 3 enter g's upcall (registered, not masked, an event ready)? */
bool evt_upcall_due(const struct guest *g);
/*
 * On the way back to ring 3: if g has an upcall, its upcall mask is clear and an unmasked event
 * is pending, save the interrupted RIP, RSP and RFLAGS in its shared-info page and return into
 * the upcall with the general registers as they are (docs/abi.md, "Upcalls").
 */
void evt_enter_upcall(struct guest *g, struct trap_frame *f);
/* HC_UPCALL_RETURN: resume RIP, RSP, RFLAGS, RAX, RCX and R11 from the shared-info page; the
 * upcall restored the other registers itself. */
int evt_upcall_return(struct guest *g, struct trap_frame *f);

#endif
