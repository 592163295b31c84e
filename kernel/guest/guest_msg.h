/* A guest's device messages through interrupt remapping (kernel/guest/guest_msg.c). */
#ifndef COURIER_KERNEL_GUEST_GUEST_MSG_H
#define COURIER_KERNEL_GUEST_GUEST_MSG_H

#include <stdbool.h>
#include <stdint.h>

struct guest;

/* Device messages (interrupt remapping): allocate, bind to a port, unbind, release all. */
int guest_msg_alloc(struct guest *g, uint64_t bdf, uint64_t n);
int guest_msg_bind(struct guest *g, uint64_t bdf, uint64_t msg, uint64_t guest, uint64_t port);
int guest_msg_unbind(struct guest *g, uint64_t bdf, uint64_t msg);
/* Grants (docs/abi.md, "Granting messages"): the owner lends message msg to another guest,
 * which alone then binds, unbinds and masks it, until the owner revokes it or ends. */
int guest_msg_grant(struct guest *g, uint64_t bdf, uint64_t msg, uint64_t guest);
int guest_msg_revoke(struct guest *g, uint64_t bdf, uint64_t msg);
int guest_msg_mask(struct guest *g, uint64_t bdf, uint64_t msg, uint64_t masked);
int guest_msg_grant_port(struct guest *g, uint64_t port);
/* Copies up to max of g's grants to va; returns how many it has. */
int guest_msg_grants(struct guest *g, uint64_t va, uint64_t max);
/* When the guests start: the grant= of g's module command line. */
void guest_msgs_boot_grants(struct guest *g);
void guest_msgs_release(struct guest *g);
/* After g moved: retarget the routes of messages bound to its ports to its new CPU. */
void guest_msgs_follow(struct guest *g);
/* When the guests start (guests of them loaded): each gets its share (guest_msg.c, "Shares"). */
void guest_msg_shares(unsigned loaded);
/* shares=off: no shares at all (experiments that need more than the shares allow). */
void guest_msg_set_shares(bool on);
/* route=forward: messages go to the device owner's CPU and are forwarded (the baseline). */
void guest_msg_set_forward(bool on);
/* At the end: `@msgs cpu= guest= taken=`, the device messages each CPU took for each guest. */
void guest_msgs_report(void);
/* storm_rate=: a message above this many a second is held at its source for a while (0: off). */
void guest_msg_set_storm_rate(uint64_t per_second);
/* The boot CPU's tick: storms that have calmed are let go. */
void guest_msgs_tick(void);
/* HC_EVT_UNMASK of g's port: messages held because the port was masked go again. */
void guest_msgs_port_unmasked(struct guest *g, unsigned port);

#endif
