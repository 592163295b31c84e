#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "pci/pci.h"
#include "tests/unit/fake-log.h"
#include "tests/unit/pci-fixture.h"

struct fake_pci_fn *f;

int pci_fixture_setup(void **state)
{
	fake_pci_reset();
	fake_log_reset();
	pci_table_reset();
	f = fake_pci_add(pci_bdf(0, 0, 3, 0), 0x8086, 0x10d3, 0x020000, 0);
	return 0;
}

int pci_fixture_teardown(void **state)
{
	assert_int_equal(fake_pci_misaligned, 0);
	return 0;
}

struct pci_dev *pci_fixture_dev(void)
{
	struct pci_dev *d = pci_dev_new(f->bdf);
	uint8_t ht = f->cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK;

	d->class = fake_pci_get32(f, PCI_CLASS_REVISION) >> 8;
	d->hdr_type = ht;
	d->nbars = ht == PCI_HEADER_NORMAL ? 6 : ht == PCI_HEADER_BRIDGE ? 2 : 1;
	return d;
}
