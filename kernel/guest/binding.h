/*
 * A device message bound to an event port (kernel/guest/guest_msg.c): private to guest_msg.c
 * and to the offsets boot/msg_entry.asm reads (kernel/guest/msg_entry_offsets.c).
 */
#ifndef COURIER_KERNEL_GUEST_BINDING_H
#define COURIER_KERNEL_GUEST_BINDING_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/cpu/percpu.h"
#include "kernel/guest/guest.h"

struct route;
struct trap_frame;

struct binding {
	bool used;
	struct guest *owner;    /* owns the device */
	struct guest *target;   /* owns the port */
	unsigned port;
	struct route *route;
	/* Written by guest_msg_deliver (or boot/msg_entry.asm) on the CPU taking the message
	 * (approximate while it moves). */
	uint64_t window_tsc;    /* the current storm window began (TSC) */
	uint32_t window_n;      /* messages in it */
	bool port_held;         /* held while its port is masked */
	bool storm_held;        /* held for a storm, until release_us */
	bool user_held;         /* held by its holder (HC_DEV_MSG_MASK) */
	uint64_t release_us, last_storm_us;
	unsigned storms;        /* storms in a row: the hold doubles */
	/* Two lists, doubly linked so that leaving them is O(1): the bindings to the same
	 * guest's ports (target->bound), and those of the same owner's devices (owner->dev_bound) */
	struct binding *next, **pprev;
	struct binding *next_dev, **pprev_dev;
};

/*
 * What boot/msg_entry.asm, the common case of a message from ring 3, shares with
 * kernel/guest/guest_msg.c, which does every case: the route handler it stands in for, the
 * per-CPU counts it adds to, and the storm window: the messages it allows (0: storms are not
 * looked for; at most UINT32_MAX) and its length in TSC cycles.
 */
void guest_msg_deliver(struct trap_frame *f, void *route);
extern uint64_t guest_msg_taken[MAX_CPUS][MAX_GUESTS];
extern uint64_t guest_msg_storm_per_window, guest_msg_storm_window_cycles;

#endif
