/*
 * QEMU's `edu` teaching device (1234:11e8), enough of it to move DMA through the IOMMU in
 * self-tests: BAR0 registers, a 4 KiB buffer at device address 0x40000, and one DMA engine
 * that copies between that buffer and a bus address (an IOVA once translation is on).
 */
#ifndef COURIER_TESTS_SELFTEST_DEV_EDU_H
#define COURIER_TESTS_SELFTEST_DEV_EDU_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

struct pci_dev;

#define EDU_VENDOR      0x1234
#define EDU_DEVICE      0x11e8
#define EDU_BUF_ADDR    0x40000         /* the device buffer, in the device's own addresses */
#define EDU_BUF_SIZE    0x1000

struct edu {
	struct pci_dev *dev;
	volatile uint8_t *regs;
};

/* Is the function an edu device? */
bool edu_match(const struct pci_dev *d);

/* Map BAR0, turn on memory decoding and bus mastering, check the liveness register. */
int edu_open(struct edu *e, struct pci_dev *d) __must_check;

/* Copy count bytes between RAM at bus address `bus` and the device buffer at offset 0:
 * to_ram moves buffer -> RAM. Waits, bounded, until the device says it is done (a DMA the
 * IOMMU blocks still completes from the device's view). E_TIMEOUT. */
int edu_dma(struct edu *e, uint64_t bus, uint32_t count, bool to_ram) __must_check;

/* Raise the MSI (BAR0 0x60: irq status |= v, a message for every write with MSI on) and
 * acknowledge it (0x64: irq status &= ~v). v non-zero. */
void edu_irq_raise(struct edu *e, uint32_t v);
void edu_irq_ack(struct edu *e, uint32_t v);

#endif
