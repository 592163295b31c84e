/*
 * The PCI functions a guest owns (start_info.devs) and their messages. The hypervisor keeps
 * the MSI/MSI-X capability; the guest asks for messages and binds each to an event port.
 */
#ifndef COURIER_GUEST_DEV_H
#define COURIER_GUEST_DEV_H

#include <stdint.h>
#include <courier/abi.h>

/* "SSSS:BB:DD.F", or "BB:DD.F" on segment 0 (docs/report.md); buf needs 13 bytes. */
#define DEV_BDF_STR_MAX 13

/* The index-th owned function with this vendor and device id, or NULL. */
const struct courier_dev_info *dev_find(uint16_t vendor, uint16_t device, unsigned index);
/* Where memory BAR bar is mapped, or NULL when it is not (or bar is out of range). */
void *dev_bar(const struct courier_dev_info *dev, unsigned bar);
uint64_t dev_bar_size(const struct courier_dev_info *dev, unsigned bar);
char *dev_bdf_str(uint32_t bdf, char buf[DEV_BDF_STR_MAX]);

/* Allocate n messages of the function (HC_DEV_MSG_ALLOC): how many, or a negative code. */
int dev_msg_alloc(uint32_t bdf, unsigned n);
/* Message msg raises port of guest (HC_DEV_MSG_BIND). */
int dev_msg_bind(uint32_t bdf, unsigned msg, uint64_t guest, unsigned port);
int dev_msg_unbind(uint32_t bdf, unsigned msg);
/* Grants (docs/abi.md, "Granting messages"). The owner lends message msg to guest, which
 * alone may then bind, unbind and mask it; revoking takes it back (and its binding). */
int dev_msg_grant(uint32_t bdf, unsigned msg, uint64_t guest);
int dev_msg_revoke(uint32_t bdf, unsigned msg);
/* Hold message msg at its source (masked 1) or let it go (0): its holder only. */
int dev_msg_mask(uint32_t bdf, unsigned msg, int masked);
/* The grantee's side: port is raised whenever a grant to us comes or goes. */
int dev_grant_port(unsigned port);
/* Up to max of the grants we hold into out; returns how many we hold (may exceed max). */
int dev_grants(struct courier_grant *out, unsigned max);

#endif
