/*
 * The configuration-space hook: the one interface through which the hypervisor reads and
 * writes PCI configuration registers. pci/cfg.c implements it with ECAM (PCIe Base 3.0 §7.2.2)
 * and the 0xcf8/0xcfc ports (PCI LB 3.0 §3.2.2.3.2); host tests link a register-file fake
 * (tests/unit/fake-pci-cfg.c) instead.
 *
 * Accesses are 1, 2 or 4 bytes wide, naturally aligned and below 0x1000: anything else is a
 * caller's bug, logged, read as all ones and never written. A read of an absent function, or
 * of a register no mechanism reaches (another segment or offsets >= 0x100 without ECAM), reads
 * all ones of its width as a master abort does; such writes are dropped silently.
 */
#ifndef COURIER_PCI_CFG_H
#define COURIER_PCI_CFG_H

#include <stddef.h>
#include <stdint.h>
#include "pci/bdf.h"

/* One MCFG allocation (PCI Firmware 3.0 §4.1.2). base is the table's field: the address of
 * bus 0's configuration space in the segment, even when bus_start is not 0. */
struct pci_ecam {
	uint64_t base;
	uint16_t segment;
	uint8_t bus_start;
	uint8_t bus_end;
};

#define PCI_ECAM_MAX 16

/* Maps every region; n == 0 selects the port mechanism alone. Bad regions are logged and
 * skipped. Returns the number of regions in use or a negative E_* code. */
int pci_cfg_init(const struct pci_ecam *regions, size_t n);

/* width is 1, 2 or 4. */
uint32_t pci_cfg_read(struct pci_bdf bdf, uint16_t off, unsigned width);
void pci_cfg_write(struct pci_bdf bdf, uint16_t off, unsigned width, uint32_t v);

static inline uint8_t pci_cfg_read8(struct pci_bdf bdf, uint16_t off)
{
	return (uint8_t)pci_cfg_read(bdf, off, 1);
}

static inline uint16_t pci_cfg_read16(struct pci_bdf bdf, uint16_t off)
{
	return (uint16_t)pci_cfg_read(bdf, off, 2);
}

static inline uint32_t pci_cfg_read32(struct pci_bdf bdf, uint16_t off)
{
	return pci_cfg_read(bdf, off, 4);
}

static inline void pci_cfg_write8(struct pci_bdf bdf, uint16_t off, uint8_t v)
{
	pci_cfg_write(bdf, off, 1, v);
}

static inline void pci_cfg_write16(struct pci_bdf bdf, uint16_t off, uint16_t v)
{
	pci_cfg_write(bdf, off, 2, v);
}

static inline void pci_cfg_write32(struct pci_bdf bdf, uint16_t off, uint32_t v)
{
	pci_cfg_write(bdf, off, 4, v);
}

#endif
