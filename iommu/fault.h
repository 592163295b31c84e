/*
 * Primary fault logging of DMA remapping (VT-d spec 7.3 and 11.4.14): the fault-event
 * interrupt, a compatibility-format MSI the unit sends to one chosen CPU, and a handler that
 * walks the fault recording registers from FSTS.FRI, decodes each record (iommu/fault_record.h),
 * reports it as `@dmafault`, clears it, and clears a primary fault overflow.
 *
 * Every fault gets a record; the human-readable log says one line per burst (faults less than
 * FAULT_BURST_GAP_US apart) and how many it left out. Records past FAULT_BURST_RECORDS in one
 * burst are counted, not printed, so a device cannot flood the console. Faults are not errors
 * of the hypervisor: they are warnings, never counted in `@done status`.
 *
 * The last faults are kept in a small history that self-tests search.
 */
#ifndef COURIER_IOMMU_FAULT_H
#define COURIER_IOMMU_FAULT_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"
#include "iommu/fault_record.h"

struct vtd_unit;

/* Send the unit's fault events to CPU index cpu as VEC_IOMMU_FAULT (installing the handler
 * there) and unmask them. E_INVAL for a CPU that is not online. */
int vtd_fault_setup(struct vtd_unit *u, unsigned cpu) __must_check;
/* Mask (FECTL.IM) or unmask the unit's fault event. */
void vtd_fault_mask(struct vtd_unit *u, bool masked);
/* Handle whatever the unit has recorded; irq says whether the interrupt brought us here. */
void vtd_fault_process(struct vtd_unit *u, bool irq);

struct iommu_fault_event {
	unsigned unit;
	uint16_t segment;
	bool overflow;                  /* a primary fault overflow, not a record */
	bool irq;                       /* handled from the fault-event interrupt */
	unsigned cpu;                   /* CPU that handled it */
	struct vtd_fault f;
};

/* Faults handled so far (a sequence number); the history keeps the last FAULT_HISTORY. */
#define FAULT_HISTORY 64
uint64_t iommu_fault_count(void);
/* Fault number seq (0-based); false once it has left the history or not yet happened. */
bool iommu_fault_get(uint64_t seq, struct iommu_fault_event *out);

#endif
