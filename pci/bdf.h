/*
 * PCI function addresses: segment, bus, device and function, and the 16-bit requester id
 * (PCIe Base 3.0 §2.2.6.2) that DMA and MSI writes from a function carry.
 */
#ifndef COURIER_PCI_BDF_H
#define COURIER_PCI_BDF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCI_DEVS_PER_BUS 32
#define PCI_FNS_PER_DEV  8
/* With ARI the device number is gone and the 8-bit devfn is the function number (§6.13). */
#define PCI_ARI_FNS      256

/* devfn is the requester id's low byte: device in bits 7:3, function in bits 2:0. */
struct pci_bdf {
	uint16_t seg;
	uint8_t bus;
	uint8_t devfn;
};

#define PCI_DEVFN(dev, fn) ((uint8_t)((((dev) & 0x1f) << 3) | ((fn) & 0x7)))
#define PCI_DEVFN_DEV(devfn) (((devfn) >> 3) & 0x1f)
#define PCI_DEVFN_FN(devfn)  ((devfn) & 0x7)

static inline struct pci_bdf pci_bdf(uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn)
{
	return (struct pci_bdf){ .seg = seg, .bus = bus, .devfn = PCI_DEVFN(dev, fn) };
}

static inline bool pci_bdf_eq(struct pci_bdf a, struct pci_bdf b)
{
	return a.seg == b.seg && a.bus == b.bus && a.devfn == b.devfn;
}

/* The requester id: bus << 8 | devfn. */
static inline uint16_t pci_bdf_rid(struct pci_bdf b)
{
	return (uint16_t)(b.bus << 8 | b.devfn);
}

/* "SSSS:BB:DD.F", lowercase hex (docs/report.md); buf holds PCI_BDF_STRLEN bytes. */
#define PCI_BDF_STRLEN sizeof("ssss:bb:dd.f")
char *pci_bdf_fmt(char *buf, struct pci_bdf bdf);

/* Parses "SSSS:BB:DD.F" or "BB:DD.F" (segment 0); E_INVAL on anything else. */
int pci_bdf_parse(const char *s, struct pci_bdf *out);

#endif
