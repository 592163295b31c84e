/* Physical frames for the hypervisor: kernel/mm/frame.c behind a lock, memory zeroed. */
#ifndef COURIER_KERNEL_MM_MM_H
#define COURIER_KERNEL_MM_MM_H

#include <stddef.h>
#include <stdint.h>

struct mem_range;

int mm_init(const struct mem_range *usable, size_t n_usable, const struct mem_range *reserved,
	    size_t n_reserved);
/* 2^order zeroed frames, naturally aligned, below max_pa (0: anywhere); 0 when out of memory. */
uint64_t mm_alloc(unsigned order, uint64_t max_pa);
void mm_free(uint64_t pa, unsigned order);
uint64_t mm_usable_bytes(void);

#endif
