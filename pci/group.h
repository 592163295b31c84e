/*
 * Isolation groups: functions the IOMMU cannot tell apart, or that can reach each other without
 * passing through it. Only one guest may own the functions of a group, and only all of them
 * together. A group is
 * - every function behind a bridge that takes over their requests (a PCIe-to-PCI bridge or a
 *   conventional PCI bridge: their DMA and messages carry the bridge's alias, so they share one
 *   context entry and one source-id check);
 * - every function of a multi-function device unless each of them has ACS P2P Request and
 *   Completion Redirect on (else one function can reach another's memory inside the device,
 *   PCIe §6.12.1.2), or whose functions send with phantom function numbers;
 * - else the function alone.
 * Peer-to-peer below a switch without ACS is not grouped yet (docs/architecture.md).
 */
#ifndef COURIER_PCI_GROUP_H
#define COURIER_PCI_GROUP_H

#include <stdbool.h>
#include "pci/pci.h"

enum pci_group_kind { PCI_GROUP_SELF, PCI_GROUP_BRIDGE, PCI_GROUP_SLOT };

struct pci_group {
	enum pci_group_kind kind;
	int index;              /* table index: the function, the aliasing bridge, the slot's
				 * function 0 or first function */
};

struct pci_group pci_group_of(const struct pci_dev *d);
bool pci_group_same(const struct pci_dev *a, const struct pci_dev *b);

/* Is a group split by the list devs (n functions)? Returns a function (not a bridge) that
 * shares a group with *member, a function of devs, but is not in devs itself; NULL when every
 * group devs touches is whole. */
struct pci_dev *pci_group_split(struct pci_dev *const *devs, unsigned n,
				struct pci_dev **member);

#endif
