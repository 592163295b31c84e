/* Devices owned by guests: assignment, BAR mappings, DMA confinement, quiescing. */
#ifndef COURIER_KERNEL_GUEST_GUEST_DEV_H
#define COURIER_KERNEL_GUEST_GUEST_DEV_H

#include <stddef.h>
#include "kernel/lib/compiler.h"

struct guest;
struct pci_dev;

/* dev=<bdf>[,<bdf>...]: take the functions, map their memory BARs, confine their DMA. */
int guest_devices_assign(struct guest *g, const char *list, char *why, size_t n) __must_check;
/* Attach g's devices to its domain (again, after a restart), then bus mastering on. */
int guest_devices_confine(struct guest *g) __must_check;
/* Stop every device of g: MSI/MSI-X and bus mastering off, DMA detached. */
void guest_devices_quiesce(struct guest *g);
/* Give g's devices back (a rejected guest). */
void guest_devices_release(struct guest *g);
/* Is d owned by g? */
int guest_dev_find(const struct guest *g, const struct pci_dev *d);

#endif
