/*
 * x86-64 4-level paging entries (SDM vol. 3 4.5, tables 4-14 to 4-20). One encoder and decoder
 * for every level; the PS bit makes a PDPTE/PDE map a 1 GiB/2 MiB page.
 */
#ifndef COURIER_KERNEL_ARCH_PTE_H
#define COURIER_KERNEL_ARCH_PTE_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

#define PTE_P           BIT(0)  /* present */
#define PTE_W           BIT(1)  /* writable */
#define PTE_U           BIT(2)  /* user (ring 3) accessible */
#define PTE_PWT         BIT(3)  /* write-through */
#define PTE_PCD         BIT(4)  /* cache disable */
#define PTE_A           BIT(5)
#define PTE_D           BIT(6)
#define PTE_PS          BIT(7)  /* large page in a PDPTE/PDE */
#define PTE_G           BIT(8)
#define PTE_NX          BIT(63) /* execute disable (needs EFER.NXE) */
#define PTE_ADDR_MASK   GENMASK(51, 12)
#define PTE_FLAGS_MASK  (~PTE_ADDR_MASK)

#define PT_ENTRIES      512
#define PT_LEVELS       4
/* Bits of the virtual address each level's index comes from: 39, 30, 21, 12. */
#define PT_SHIFT(level) (12 + 9 * (level))      /* level 3 = PML4 ... level 0 = PT */
#define PT_INDEX(va, level) (((va) >> PT_SHIFT(level)) & (PT_ENTRIES - 1))

/* Uncached MMIO mapping: PCD|PWT select PAT entry 3 (UC) with the power-on PAT. */
#define PTE_MMIO        (PTE_P | PTE_W | PTE_PCD | PTE_PWT | PTE_NX)
/* Write-combining (framebuffers): PWT alone selects PAT entry 1, which vm_cpu_init() makes WC
 * (SDM vol. 3 13.12.2); nothing else maps with PWT alone. */
#define PTE_WC          (PTE_P | PTE_W | PTE_PWT | PTE_NX)

static inline uint64_t pte_make(uint64_t pa, uint64_t flags)
{
	return (pa & PTE_ADDR_MASK) | (flags & PTE_FLAGS_MASK);
}

static inline uint64_t pte_addr(uint64_t pte) { return pte & PTE_ADDR_MASK; }
static inline uint64_t pte_flags(uint64_t pte) { return pte & PTE_FLAGS_MASK; }
static inline bool pte_present(uint64_t pte) { return pte & PTE_P; }

#endif
