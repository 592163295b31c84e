/*
 * Event channels from the guest side (docs/abi.md, "Events").
 *
 * A port is a bit in the shared-info page's pending and mask arrays. Handlers run either in
 * the upcall (on the runtime's own upcall stack, when an event arrives while the guest runs)
 * or inside evt_dispatch()/evt_wait() in the caller's context, with upcalls masked. Either
 * way one handler never interrupts another. Handlers should not use stdio (the interrupted
 * code may be inside printf): use guest_puts() or set a flag.
 *
 * Order matters when pairing with another guest: allocate the port, bind its handler, then
 * offer it, so no event arrives before its handler is there.
 */
#ifndef COURIER_GUEST_EVENTS_H
#define COURIER_GUEST_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*evt_handler_t)(unsigned port, void *arg);

/* A new port of this guest (>= 0), or a negative COURIER_E* code. Starts unmasked. */
int evt_alloc(void);
/* Run fn(port, arg) for each event on port; fn NULL unbinds. -COURIER_ERANGE for a bad port. */
int evt_bind_handler(unsigned port, evt_handler_t fn, void *arg);
/* Masked ports stay pending but are not delivered (set in the shared page, no hypercall). */
void evt_mask(unsigned port);
/* Clear the mask (HC_EVT_UNMASK, which delivers a pending event). */
int evt_unmask(unsigned port);
/* Mark port pending in guest (who must have offered it to us). */
int evt_send(uint64_t guest, unsigned port);
/* Allow guest to send to our port. */
int evt_offer(unsigned port, uint64_t guest);
/* The id of the guest called name, or a negative COURIER_E* code. */
int64_t guest_lookup(const char *name);
/* guest_lookup, retried (yielding) until the guest exists or timeout_ns has passed; a NULL
 * name is -COURIER_ENOENT. */
int64_t guest_lookup_wait(const char *name, uint64_t timeout_ns);

/* Events handled on port since the guest started. */
uint64_t evt_count(unsigned port);
/* Events that arrived on ports with no handler (cleared and dropped). */
uint64_t evt_unhandled(void);

/* Upcalls off / on (shared_info->upcall_mask); on runs what became pending meanwhile. */
void upcalls_disable(void);
void upcalls_enable(void);

/* Run the handlers of every pending unmasked port, with upcalls masked; how many ran. */
unsigned evt_dispatch(void);
/* HC_BLOCK until an unmasked port is pending, then dispatch; how many handlers ran. */
unsigned evt_block(void);
/*
 * Dispatch events until done(arg) is true, checked with upcalls masked so no wake-up is lost
 * between the check and the block. timeout_ns 0 waits forever (HC_BLOCK); otherwise it blocks
 * with the deadline (HC_BLOCK's argument, met to a hypervisor tick). True when done, false on
 * timeout.
 */
bool evt_wait(bool (*done)(void *arg), void *arg, uint64_t timeout_ns);

/* Called once by the runtime before main(): registers the upcall entry and its stack. */
int evt_init(void);

#endif
