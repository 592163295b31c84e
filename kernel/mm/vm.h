/* The hypervisor's own address space (kernel/mm/layout.h): page tables, direct map, MMIO, stacks. */
#ifndef COURIER_KERNEL_MM_VM_H
#define COURIER_KERNEL_MM_VM_H

#include <stddef.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"
#include "kernel/mm/layout.h"
#include "kernel/mm/paging.h"

struct mem_range;

/* A physical range the early allocator must not touch (image, boot info, modules, low MiB). */
struct vm_boot_params {
	const struct mem_range *usable;  /* usable RAM from the memory map */
	size_t n_usable;
	const struct mem_range *reserved;
	size_t n_reserved;
	uint64_t direct_map_top;         /* map [0, this) in the direct map */
};

/*
 * Builds the final page tables (image with W^X, direct map, NX everywhere but text) with frames
 * from an early bump allocator below 4 GiB, switches to them, and returns the physical range
 * those frames took so the frame allocator can keep out of it.
 */
struct vm_init_ret {
	int err;
	uint64_t early_start, early_end;
};
struct vm_init_ret vm_init(const struct vm_boot_params *p);

void *phys_to_virt(uint64_t pa);
uint64_t vm_kernel_root(void);

/* After the frame allocator is up: */
int vm_map_identity(uint64_t pa, uint64_t size, uint64_t flags) __must_check;
/* Write-combining mapping of [pa, pa+size) in the MMIO window (a framebuffer: written, never
 * read); NULL when out of mapping space. Never unmapped. */
void *mmio_map_wc(uint64_t pa, size_t size);
/* Every CPU, before it touches a write-combining mapping: PAT entry 1 becomes WC. */
void vm_cpu_init(void);
/* A stack of `size` bytes with an unmapped guard page below it; returns its top, 0 on failure. */
uint64_t vm_alloc_stack(size_t size, uint64_t *bottom);

#endif
