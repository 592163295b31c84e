/*
 * A small PCI machine from fuzz input, in the register-file fake (tests/unit/fake-pci-cfg.h),
 * for the harnesses that enumerate it (pci-caps, dmar-topology). The input:
 *
 *   bus_start, bus_end                  the one ECAM region, segment 0; bus_end is cut
 *                                       to FUZZ_PCI_MAX_BUSES buses (and may be < bus_start)
 *   then up to FUZZ_PCI_MAX_FNS functions, each
 *     bus, devfn, flags, len (16-bit little endian)
 *     len bytes: the configuration space from offset 0 (the rest reads 0)
 *     with flags & FUZZ_PCI_WMASK: 24 bytes, the writable bits of BAR0-5 (else none are)
 *
 * flags & FUZZ_PCI_EXT gives the function the 4 KiB PCI Express space (else 256 bytes). A
 * function whose address is taken already is skipped; a short input ends the list.
 */
#ifndef COURIER_TESTS_FUZZ_PCI_SPACE_H
#define COURIER_TESTS_FUZZ_PCI_SPACE_H

#include <stddef.h>
#include <stdint.h>
#include "pci/pci.h"

#define FUZZ_PCI_MAX_FNS 16
#define FUZZ_PCI_MAX_BUSES 32
#define FUZZ_PCI_EXT     0x01
#define FUZZ_PCI_WMASK   0x02

struct fuzz_pci {
	struct pci_ecam region;
	unsigned n;
	struct pci_bdf bdf[FUZZ_PCI_MAX_FNS];
	uint16_t cmd[FUZZ_PCI_MAX_FNS];         /* command registers before enumeration */
};

/* Empties the fake, the log and the table, and builds the machine of p[0..n). */
void fuzz_pci_build(struct fuzz_pci *m, const uint8_t *p, size_t n);

/* After pci_init(&m->region, 1): aborts unless the table is consistent
 * (tests/unit/pci-table-check.h), every access was aligned, no BAR was sized while its
 * function decoded (host bridges excepted) and every command register is as it was. */
void fuzz_pci_check(const struct fuzz_pci *m);

#endif
