/* A guest's address space (kernel/guest/guest_mm.c). */
#ifndef COURIER_KERNEL_GUEST_GUEST_MM_H
#define COURIER_KERNEL_GUEST_GUEST_MM_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

struct guest;

/* Page tables with the kernel half shared, RAM frames, start-info and shared-info pages. */
int guest_mm_init(struct guest *g) __must_check;
int guest_mm_map_ram(struct guest *g, uint64_t (*flags_for)(const struct guest *, uint64_t va,
							    const void *ctx),
		     const void *ctx) __must_check;
int guest_mm_map_mmio(struct guest *g, uint64_t va, uint64_t pa, uint64_t size) __must_check;
/* Give back every frame of g's address space: its RAM, the lower half of its page tables, the
 * start-info and shared-info pages. Only once no CPU can reach them (kernel/guest/guest.c,
 * "Giving back"). Returns the number of frames. */
unsigned guest_mm_release(struct guest *g);
uint64_t guest_ram_end(const struct guest *g);
bool guest_va_in_ram(const struct guest *g, uint64_t va, uint64_t len);

#endif
