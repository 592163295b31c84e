/*
 * Memory the remapping hardware reads: root and context tables, second-level page tables,
 * invalidation queues and their status words. It comes from pools of frames that the IOMMU
 * code owns, and every pool is added to the protected ranges, the hypervisor memory that no
 * domain may map (iommu/ranges.h): with the image, the early page tables and the units'
 * registers, that is what "the hypervisor's own memory is never mapped for any device" is
 * enforced against (docs/architecture.md).
 */
#ifndef COURIER_IOMMU_MEM_H
#define COURIER_IOMMU_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"
#include "iommu/ranges.h"

/* A zeroed 4 KiB frame for the hardware's tables; 0 when out of memory. */
uint64_t iommu_frame_alloc(void);
/* Give a frame back to the pools (it stays protected, for tables only): once no hardware can
 * read it any more. */
void iommu_frame_free(uint64_t pa);

/* Add [start, end) to the protected ranges; logs and returns E_NOMEM when the set is full. */
int iommu_protect(uint64_t start, uint64_t end) __must_check;
/* The protected range [pa, pa+size) overlaps, or NULL. */
const struct iommu_range *iommu_protected(uint64_t pa, uint64_t size);

/* Page walks are not coherent on some unit (ECAP.C = 0): write table changes back to memory. */
void iommu_set_noncoherent(void);
/* Write [va, va+len) back to memory when some unit needs it; a no-op otherwise. */
void iommu_flush(const void *va, size_t len);
/* Whether iommu_flush does anything: a loop of flushes can be skipped as a whole. */
bool iommu_noncoherent(void);

#endif
