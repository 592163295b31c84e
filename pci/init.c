/* The PCI layer's boot entry: configuration access, enumeration, report. */
#include "pci/pci.h"

int pci_init(const struct pci_ecam *regions, size_t n)
{
	int mapped = pci_cfg_init(regions, n);
	int found;

	if (mapped < 0)
		return mapped;
	/* With no usable region, every bus is reached through the ports. */
	found = pci_enumerate(regions, mapped ? n : 0);
	pci_report();
	return found;
}
