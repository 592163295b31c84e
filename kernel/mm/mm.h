/* Physical frames for the hypervisor: kernel/mm/frame.c behind a lock, memory zeroed. */
#ifndef COURIER_KERNEL_MM_MM_H
#define COURIER_KERNEL_MM_MM_H

#include <stddef.h>
#include <stdint.h>
#include "kernel/mm/frame.h"


int mm_init(const struct mem_range *usable, size_t n_usable, const struct mem_range *reserved,
	    size_t n_reserved);
/* 2^order zeroed frames, naturally aligned, below max_pa (0: anywhere); 0 when out of memory. */
uint64_t mm_alloc(unsigned order, uint64_t max_pa);
void mm_free(uint64_t pa, unsigned order);
/* Never hand out [start, end) (frame_reserve): E_BUSY when part of it is in use already. */
struct frame_reserve_ret mm_reserve(uint64_t start, uint64_t end);
uint64_t mm_usable_bytes(void);
/* What the allocator could hand out now (`@frames free=`). */
uint64_t mm_free_bytes(void);

#endif
