/*
 * Invalidating a unit's caches (VT-d spec 6.5): through the invalidation queue (6.5.2) on
 * every unit that has one, else through the context-command and IOTLB registers (6.5.1).
 *
 * Callers collect descriptors (iommu/qi_desc.h builders) in a batch and run it: the queue gets
 * the descriptors and one wait descriptor that writes a sequence number to a per-unit status
 * word, and the caller polls that word, bounded. Queue errors (IQE), invalidation time-outs
 * (ITE) and completion errors (ICE) in FSTS are reported with the unit and the descriptor at
 * the queue head, cleared, and returned as errors. Without a queue each descriptor is
 * carried out through the registers; interrupt-entry-cache invalidations need the queue.
 */
#ifndef COURIER_IOMMU_QI_H
#define COURIER_IOMMU_QI_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"
#include "iommu/qi_desc.h"

struct vtd_unit;

/* Allocate the queue and the status word, then enable it (IQT = 0, IQA, GCMD.QIE). */
int vtd_qi_enable(struct vtd_unit *u) __must_check;

#define VTD_INV_BATCH_MAX 64      /* a move of 32+ messages in one go; the queue has 256 */

struct vtd_inv_batch {
	struct vtd_unit *u;
	int err;                        /* the first error of a run the batch made while full */
	unsigned n;
	struct vtd_qi_desc d[VTD_INV_BATCH_MAX];
};

void vtd_inv_begin(struct vtd_inv_batch *b, struct vtd_unit *u);
/* Add a descriptor; a full batch is run first (its error kept for vtd_inv_run). */
void vtd_inv_add(struct vtd_inv_batch *b, struct vtd_qi_desc d);
/* Carry out what was added and wait for it; 0, E_TIMEOUT, E_INVAL (queue error) or E_NOSYS. */
int vtd_inv_run(struct vtd_inv_batch *b) __must_check;

/* Global context-cache and IOTLB invalidation, and interrupt-entry-cache invalidation where
 * the unit has a queue and interrupt remapping; after setting the root table pointer (6.5.3). */
int vtd_inv_global(struct vtd_unit *u) __must_check;

#endif
