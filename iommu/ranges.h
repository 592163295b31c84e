/*
 * A small set of physical address ranges that no device may ever reach: the hypervisor's own
 * memory that DMA-remapping domains must not map (iommu/domain.c refuses such mappings).
 * Ranges are half-open, kept sorted and merged. Pure.
 */
#ifndef COURIER_IOMMU_RANGES_H
#define COURIER_IOMMU_RANGES_H

#include <stddef.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

#define IOMMU_RANGES_MAX 64

struct iommu_range {
	uint64_t start, end;    /* [start, end) */
};

struct iommu_ranges {
	unsigned n;
	struct iommu_range r[IOMMU_RANGES_MAX];
};

/* Add [start, end), merging with ranges it overlaps or touches. E_INVAL for an empty or
 * inverted range, E_NOMEM when the set is full (nothing changed then). */
int iommu_ranges_add(struct iommu_ranges *s, uint64_t start, uint64_t end) __must_check;

/*
 * The first range that [start, start+size) overlaps, or NULL. A size of 0 overlaps nothing;
 * a range that wraps past 2^64 overlaps everything above start (it is treated as reaching
 * the top of the address space).
 */
const struct iommu_range *iommu_ranges_overlap(const struct iommu_ranges *s, uint64_t start,
					       uint64_t size);

#endif
