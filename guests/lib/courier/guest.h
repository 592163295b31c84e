/*
 * What every guest program sees of the runtime: the start-info and shared-info pages, the
 * command line as key=value words, time, and error names. See docs/guests.md.
 */
#ifndef COURIER_GUEST_GUEST_H
#define COURIER_GUEST_GUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <courier/abi.h>

/* Set before main() runs; read-only page (the hypervisor's). */
extern const struct courier_start_info *start_info;
extern struct courier_shared_info *shared_info;

/*
 * The module command line is split into words (argv[1..] of main; argv[0] is the guest's
 * name). guest_arg() finds the first word "key=value" and returns value, or NULL.
 */
const char *guest_arg(const char *key);

/* An address in the hypervisor's half of the address space: never a guest's (reading it must
 * stop the guest as crashed). */
#define HV_DIRECT_MAP           0xffff800000000000ull
/* key=value, exactly. */
bool guest_arg_is(const char *key, const char *value);
/* A bare word "key" (or "key=1", "key=yes", "key=on"). */
bool guest_arg_flag(const char *key);
/* key=<number> (decimal or 0x hex); dflt when absent. A malformed number ends the guest. */
uint64_t guest_arg_u64(const char *key, uint64_t dflt);

/* Nanoseconds since the hypervisor booted (HC_TIME). */
uint64_t guest_time_ns(void);

/* "EINVAL" for -COURIER_EINVAL, "ok" for values >= 0, "E?" for unknown codes. */
const char *guest_strerror(int64_t ret);

/* Write a string straight to the console (no stdio buffering; safe in event handlers). */
void guest_puts(const char *s);

#endif
