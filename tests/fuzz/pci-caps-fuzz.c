/*
 * libFuzzer harness for PCI enumeration and the capability walks (pci/enum.c, pci/caps.c,
 * pci/bar.c through pci_init()) over configuration spaces made of the input, in the
 * register-file fake: a few functions at any address, bridges included, their 4 KiB spaces
 * and BAR write masks from the input (tests/fuzz/pci-space.h has the layout). Whatever the
 * bytes, the walk must end, read nothing outside the spaces, restore what it writes and leave
 * a consistent table. Built and run by `make fuzz-pci-caps` (tests/fuzz/fuzz.mk); seeds:
 * tests/fuzz/seeds.py.
 */
#include <stdlib.h>
#include "pci/pci.h"
#include "tests/fuzz/pci-space.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_pci m;
	int found;

	fuzz_pci_build(&m, data, size);
	found = pci_init(&m.region, 1);
	if (found < 0 || (size_t)found != pci_dev_count() || (unsigned)found > m.n)
		abort();
	fuzz_pci_check(&m);
	return 0;
}
