/*
 * QEMU's e1000e (82574, 8086:10d3), only as a source of MSI-X messages for self-tests: its five
 * interrupt causes RxQ0, RxQ1, TxQ0, TxQ1 and Other each mapped to its own MSI-X entry, and each
 * raised on demand through the Interrupt Cause Set register. No DMA, no networking.
 */
#ifndef COURIER_TESTS_SELFTEST_DEV_E1000E_H
#define COURIER_TESTS_SELFTEST_DEV_E1000E_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

struct pci_dev;

#define E1000E_VENDOR           0x8086
#define E1000E_DEVICE           0x10d3
#define E1000E_MSGS             5       /* MSI-X entries, one per cause */

struct e1000e {
	struct pci_dev *dev;
	volatile uint8_t *regs;
	uint64_t last_raise_us[E1000E_MSGS];
};

bool e1000e_match(const struct pci_dev *d);
/* After its five MSI-X entries are enabled (msi_enable): map BAR0, memory decoding and bus
 * mastering on, cause k to entry k with auto-clear and auto-mask, what reset left cleared,
 * the five causes unmasked. */
int e1000e_open(struct e1000e *e, struct pci_dev *d) __must_check;
/* Raise message k (one message per call: writes to one vector are spaced, since QEMU 7.2
 * throttles a vector and, once it has postponed a message, sends two for each later write). */
void e1000e_raise(struct e1000e *e, unsigned k);

#endif
