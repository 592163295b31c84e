/*
 * Which remapping unit translates which PCI function, and which functions each reserved memory
 * region (RMRR) is for: the DMAR table's device scopes (VT-d spec 8.3.1) resolved against the
 * bridges PCI enumeration found. Pure apart from reading the PCI table (pci/pci.h), so host
 * tests run it over the fake configuration space.
 *
 * A scope names a function by a path: hops[0] is device/function on start_bus, each later hop
 * is on the secondary bus of the bridge the hop before it named. A function is translated by
 * the unit whose DRHD names it explicitly (an endpoint scope naming it, or a bridge scope
 * naming it or a bridge whose secondary..subordinate buses hold it); failing that, by the
 * segment's INCLUDE_PCI_ALL unit (8.3).
 */
#ifndef COURIER_IOMMU_TOPOLOGY_H
#define COURIER_IOMMU_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"
#include "iommu/dmar.h"
#include "pci/bdf.h"

#define IOMMU_MAX_UNITS         8
#define IOMMU_SCOPE_MAX         64      /* PCI scope entries kept per DRHD */
#define IOMMU_MAX_RMRR          16
#define IOMMU_RMRR_DEVS         8       /* functions kept per RMRR */
#define IOMMU_IOAPIC_MAX        8       /* I/O APIC scopes kept per DRHD */

enum iommu_scope_kind {
	IOMMU_SCOPE_DEV,        /* one function */
	IOMMU_SCOPE_BRIDGE,     /* a bridge and every bus below it */
};

struct iommu_scope_ent {
	uint8_t kind;           /* enum iommu_scope_kind */
	struct pci_bdf bdf;     /* the function the path ends at */
	uint8_t sec, sub;       /* IOMMU_SCOPE_BRIDGE: the bus range below the bridge */
};

/* An I/O APIC under a unit: its interrupt requests carry requester id sid (8.3.1.1). */
struct iommu_ioapic_ent {
	uint8_t id;                             /* the MADT's I/O APIC id */
	uint16_t sid;
};

struct iommu_drhd_info {
	struct dmar_drhd drhd;
	unsigned n;                             /* resolved PCI scope entries */
	struct iommu_scope_ent ent[IOMMU_SCOPE_MAX];
	unsigned unresolved;                    /* PCI scopes whose path led nowhere */
	unsigned other;                         /* IOAPIC, HPET and ACPI scopes (not DMA) */
	unsigned n_ioapic;                      /* the IOAPIC ones among them */
	struct iommu_ioapic_ent ioapic[IOMMU_IOAPIC_MAX];
};

struct iommu_rmrr_info {
	uint64_t base, end;                     /* [base, end) */
	uint16_t segment;
	unsigned n;
	struct pci_bdf dev[IOMMU_RMRR_DEVS];
};

struct iommu_topology {
	uint16_t haw;                           /* host address width in bits */
	uint8_t flags;                          /* the DMAR's DMAR_F_* (8.1) */
	unsigned n_units;
	struct iommu_drhd_info unit[IOMMU_MAX_UNITS];
	unsigned n_rmrr;
	struct iommu_rmrr_info rmrr[IOMMU_MAX_RMRR];
};

/*
 * The function at the end of a PCI scope's path on segment seg. Every hop but the last must
 * name a bridge the PCI table has (its secondary bus leads on); the last function need not
 * exist (a scope may name an empty slot). Returns 0, or E_NOENT naming the hop in the log.
 */
int iommu_scope_path(uint16_t seg, const struct dmar_scope *sc, struct pci_bdf *out) __must_check;

/*
 * Parse and check the DMAR table and resolve every DRHD and RMRR. A malformed table (header,
 * checksum, any structure or scope) is E_INVAL with a log_err naming the offset, and t is
 * left empty; structures past the limits above are logged and skipped; a scope whose path does
 * not resolve is logged as a warning and counted. Returns the number of units, or E_NOENT for
 * a table without a DRHD.
 */
int iommu_topology_build(const void *dmar, size_t len, struct iommu_topology *t) __must_check;

/* Does the unit's DRHD name bdf explicitly (not through INCLUDE_PCI_ALL)? */
bool iommu_drhd_names(const struct iommu_drhd_info *u, struct pci_bdf bdf);

/* The index of the unit that translates bdf, or E_NOENT when no unit covers it. */
int iommu_topology_unit_for(const struct iommu_topology *t, struct pci_bdf bdf);

#endif
