/*
 * DMA remapping at run time: the remapping units the ACPI DMAR table describes, set up and
 * enabled at boot (VT-d spec chapters 3, 6, 7, 8). Units are found and their scopes resolved
 * by iommu/topology.c, driven by iommu/unit.c, invalidated by iommu/qi.c, and report faults
 * through iommu/fault.c; iommu/domain.h is the translation API.
 */
#ifndef COURIER_IOMMU_IOMMU_H
#define COURIER_IOMMU_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

struct pci_dev;
struct vtd_unit;

/*
 * Boot, after PCI enumeration and SMP start: parse the DMAR table (NULL: none), set up every
 * unit (queued invalidation unless use_qi is false (test-only: the register-based fallback
 * then serves every unit), root table, fault event to CPU fault_cpu, translation), and
 * identity-map every RMRR for the functions it names. A malformed table or a unit that cannot
 * be driven is reported and translation stays off (on that unit, or everywhere). Returns the
 * number of units translating.
 */
int iommu_init(const void *dmar, size_t len, unsigned fault_cpu, bool use_qi);
/* Protect a range of hypervisor memory from every domain (iommu/mem.h), before iommu_init. */
void iommu_protect_early(uint64_t start, uint64_t end);

bool iommu_enabled(void);
unsigned iommu_unit_count(void);
struct vtd_unit *iommu_unit_at(unsigned i);
/* The unit translating a function's DMA (explicit scope first, INCLUDE_PCI_ALL last); NULL
 * when none covers it or that unit is off. */
struct vtd_unit *iommu_unit_for(const struct pci_dev *d);
/* Why iommu_unit_for(d) is NULL, for a message: no DRHD covers d, or its unit is off. */
const char *iommu_no_unit_reason(const struct pci_dev *d);
/* The DMAR's INTR_REMAP flag (VT-d 8.1): clear, the platform does not support interrupt
 * remapping and no unit may have it on. False before iommu_init or without a DMAR. */
bool iommu_intr_remap_allowed(void);
/* The unit an I/O APIC (MADT id) sits under and the requester id of its interrupts, from the
 * DMAR's IOAPIC device scopes: the unit index, or E_NOENT when no DRHD names it. */
int iommu_ioapic_unit(uint8_t id, uint16_t *sid);
/* Handle faults recorded on every unit now, without waiting for the interrupt. */
void iommu_fault_poll(void);

/* selftest=dma: DMA through the IOMMU with every edu device (tests/selftest/dma.c). */
void selftest_dma(void);

#endif
