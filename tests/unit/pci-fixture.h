/* The shared fixture of the PCI unit tests that look at one function: a NIC-like function at
 * 00:03.0 in the register-file fake (tests/unit/fake-pci-cfg.h). */
#ifndef COURIER_TESTS_UNIT_PCI_FIXTURE_H
#define COURIER_TESTS_UNIT_PCI_FIXTURE_H

#include "tests/unit/fake-pci-cfg.h"

struct pci_dev;

/* The function under test; set by pci_fixture_setup. */
extern struct fake_pci_fn *f;

/* cmocka group setup/teardown: empty fake, log and table; teardown fails on misaligned access. */
int pci_fixture_setup(void **state);
int pci_fixture_teardown(void **state);
/* A table entry for f with the header fields enumeration reads first (class, type, BAR slots). */
struct pci_dev *pci_fixture_dev(void);

#endif
