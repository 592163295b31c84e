/*
 * Host fake of pci/cfg.c: a register file of synthetic PCI functions. Each function has its
 * configuration bytes and a mask of the bits software may write, so BARs size like hardware
 * (all ones written, size mask read back) and read-only registers stay put. Absent functions
 * read all ones. Misaligned accesses and BAR sizing with decoding on are counted for tests.
 */
#ifndef COURIER_TESTS_UNIT_FAKE_PCI_CFG_H
#define COURIER_TESTS_UNIT_FAKE_PCI_CFG_H

#include <stdbool.h>
#include <stdint.h>
#include "pci/cfg.h"

#define FAKE_PCI_MAX_FNS 300

struct fake_pci_fn {
	struct pci_bdf bdf;
	uint16_t size;                  /* 0x100, or 0x1000 once it has a PCIe capability */
	uint8_t cfg[0x1000];
	uint8_t wmask[0x1000];
	uint8_t last_cap;               /* for appending capabilities */
	uint16_t last_ext_cap;
	unsigned sized_while_decoding;  /* BAR written with all ones while IO/MEM decode on */
};

extern unsigned fake_pci_misaligned;
extern unsigned fake_pci_accesses;
extern unsigned fake_pci_init_regions;

void fake_pci_reset(void);
struct fake_pci_fn *fake_pci_find(struct pci_bdf bdf);
/* A function with ids, class (24 bit) and header type (bit 7: multi-function). */
struct fake_pci_fn *fake_pci_add(struct pci_bdf bdf, uint16_t vendor, uint16_t device,
				 uint32_t class, uint8_t hdr);

/* Raw stores, ignoring the write mask. */
void fake_pci_set8(struct fake_pci_fn *f, uint16_t off, uint8_t v);
void fake_pci_set16(struct fake_pci_fn *f, uint16_t off, uint16_t v);
void fake_pci_set32(struct fake_pci_fn *f, uint16_t off, uint32_t v);
uint32_t fake_pci_get32(struct fake_pci_fn *f, uint16_t off);
void fake_pci_wmask32(struct fake_pci_fn *f, uint16_t off, uint32_t mask);

/* A BAR: flags FAKE_BAR_*; size a power of two (0: unimplemented slot). */
#define FAKE_BAR_IO   1
#define FAKE_BAR_64   2
#define FAKE_BAR_PREF 4
void fake_pci_bar(struct fake_pci_fn *f, unsigned i, uint64_t addr, uint64_t size,
		  unsigned flags);
void fake_pci_bridge(struct fake_pci_fn *f, uint8_t pri, uint8_t sec, uint8_t sub);

/* Appends a capability at off to the list (sets the status bit and pointer). */
void fake_pci_cap(struct fake_pci_fn *f, uint8_t off, uint8_t id);
/* Appends an extended capability at off (the first must be at 0x100). */
void fake_pci_ext_cap(struct fake_pci_fn *f, uint16_t off, uint16_t id);

void fake_pci_msi(struct fake_pci_fn *f, uint8_t off, unsigned mmc, bool is64, bool mask);
void fake_pci_msix(struct fake_pci_fn *f, uint8_t off, unsigned entries, unsigned tbir,
		   uint32_t toff, unsigned pbir, uint32_t poff);
/* PCI Express capability (version 2) of a device/port type; makes the space 4 KiB. */
void fake_pci_exp(struct fake_pci_fn *f, uint8_t off, unsigned type);
/* ARI capability with a next function number. */
void fake_pci_ari(struct fake_pci_fn *f, uint16_t off, uint8_t next_fn);

#endif
