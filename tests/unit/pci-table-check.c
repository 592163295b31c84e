#include <stddef.h>
#include "pci/pci.h"
#include "tests/unit/pci-table-check.h"

/* Everything in the table points backwards and makes sense. */
static const char *check_dev(size_t i)
{
	struct pci_dev *d = pci_dev_at(i);
	struct pci_dev *u = pci_dev_upstream(d);

	if (d->sid != pci_bdf_rid(d->bdf))
		return "sid is not the function's requester id";
	if (d->upstream >= (int)i || d->alias_bridge >= (int)i)
		return "upstream or alias bridge does not come before the function";
	if (u && (!pci_dev_is_bridge(u) || d->bdf.bus != u->sec_bus || d->depth != u->depth + 1))
		return "upstream is no bridge whose secondary bus holds the function";
	if (d->msi.cap && (d->msi.cap < 0x40 || d->msi.messages < 1 || d->msi.messages > 32))
		return "MSI capability out of range";
	if (d->msix.cap && (d->msix.cap < 0x40 || d->msix.entries < 1 || d->msix.entries > 2048))
		return "MSI-X capability out of range";
	if (d->exp.cap && d->exp.cap < 0x40)
		return "PCI Express capability in the header";
	if (d->ext.sriov && (d->ext.sriov < 0x100 || d->ext.sriov > 0xfc0))
		return "SR-IOV capability out of the extended space";
	if (d->nbars > PCI_NORMAL_BARS)
		return "more BAR slots than a header has";
	for (unsigned b = 0; b < d->nbars; b++)
		if (d->bar[b].size & (d->bar[b].size - 1))
			return "a BAR size that is not a power of two";
	for (size_t j = 0; j < i; j++)
		if (pci_bdf_eq(pci_dev_at(j)->bdf, d->bdf))
			return "a function in the table twice";
	return NULL;
}

const char *pci_table_check(void)
{
	if (pci_dev_count() > PCI_MAX_DEVS)
		return "more functions than the table holds";
	for (size_t i = 0; i < pci_dev_count(); i++) {
		const char *why = check_dev(i);
		if (why)
			return why;
	}
	return NULL;
}
