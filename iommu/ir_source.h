/*
 * Who may send through an IRTE: the source-id validation fields (VT-d spec 9.10, SVT/SQ/SID)
 * for a PCI function, and the I/O APIC's redirection entry in remappable format (5.1.5.1).
 * Pure.
 *
 * A function's MSIs carry the requester id the IOMMU sees (pci_dev.dma_alias, pci/enum.c):
 *  - its own id: SVT = 1, SQ = 0, SID = that id (every bit compared);
 *  - behind a PCIe-to-PCI/PCI-X bridge: the bridge forwards conventional PCI requests with
 *    its secondary bus and devfn 0, PCI-X ones with the originator's id, so only the bus can
 *    be relied on: SVT = 2 with the buses from the bridge's secondary bus to the function's
 *    own (VT-d 5.1.1, interrupt requests from devices behind PCIe-to-PCI bridges): a PCI-X
 *    request can carry the id of the function or of a bridge between the two, nothing else.
 *    SID[15:8] is the first bus and SID[7:0] the last (9.10). QEMU 7.2 reads them the other
 *    way round, so under QEMU only a range of one bus (a function right behind the bridge)
 *    passes its check;
 *  - behind a conventional PCI bridge, which takes the requests over with its own id:
 *    SVT = 1 with that id.
 */
#ifndef COURIER_IOMMU_IR_SOURCE_H
#define COURIER_IOMMU_IR_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

struct pci_dev;

struct ir_source {
	uint8_t svt, sq;        /* VTD_SVT_*, VTD_SQ_* (iommu/irte.h) */
	uint16_t sid;           /* requester id, or first << 8 | last bus for SVT = 2 */
};

/* The check for d's messages; bridge is the function at d->alias_bridge (NULL when none). */
struct ir_source ir_source_of(const struct pci_dev *d, const struct pci_dev *bridge);
/* One requester id, all 16 bits compared (an I/O APIC's, from its DMAR device scope). */
struct ir_source ir_source_rid(uint16_t rid);

/* 5.1.5.1 I/O APIC redirection table entry, remappable format. */
#define IOAPIC_RTE_VECTOR       GENMASK(7, 0)   /* must equal the IRTE's vector (EOI) */
#define IOAPIC_RTE_INDEX_15     BIT(11)         /* interrupt index bit 15 */
#define IOAPIC_RTE_POLARITY_LOW BIT(13)
#define IOAPIC_RTE_REMOTE_IRR   BIT(14)         /* read-only */
#define IOAPIC_RTE_LEVEL        BIT(15)
#define IOAPIC_RTE_MASKED       BIT(16)
#define IOAPIC_RTE_FORMAT       BIT(48)         /* 1: remappable */
#define IOAPIC_RTE_INDEX_LO     GENMASK(63, 49) /* interrupt index bits 14:0 */
#define IOAPIC_RTE_INDEX_LO_SHIFT 49
#define IOAPIC_RTE_RSVD         (GENMASK(10, 8) | GENMASK(47, 17))

struct ioapic_rte {
	uint16_t index;         /* IRTE */
	uint8_t vector;
	bool level, active_low, masked;
};

uint64_t ioapic_rte_encode(const struct ioapic_rte *r);
/* The fields of a remappable entry (read back); false when it is not in remappable format
 * or has reserved bits set. */
bool ioapic_rte_decode(uint64_t v, struct ioapic_rte *out);

#endif
