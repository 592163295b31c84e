/*
 * Configuration access for the hypervisor: ECAM regions from MCFG, and the port mechanism
 * (0xcf8 address, 0xcfc data) for segment 0 buses no region covers.
 *
 * The port mechanism takes two accesses, so a lock keeps another CPU's address write from
 * coming between them (interrupt handlers never touch configuration space). ECAM accesses
 * are single loads and stores and need none.
 */
#include <stdbool.h>
#include "kernel/arch/io.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "kernel/arch/mmio.h"
#include "kernel/arch/spinlock.h"
#include "pci/cfg.h"
#include "pci/regs.h"

/* ECAM address bits (PCIe Base 3.0 §7.2.2, table 7-1): bus 27:20, devfn 19:12, offset 11:0. */
#define ECAM_BUS_SHIFT   20
#define ECAM_DEVFN_SHIFT 12
#define ECAM_BUS_SIZE    (1ull << ECAM_BUS_SHIFT)

/* Configuration mechanism #1 (PCI LB 3.0 §3.2.2.3.2). */
#define PCI_CONF_ADDR       0xcf8
#define PCI_CONF_DATA       0xcfc
#define PCI_CONF_ENABLE     BIT(31)
#define PCI_CONF_BUS_SHIFT  16
#define PCI_CONF_DEVFN_SHIFT 8
#define PCI_CONF_REG_MASK   GENMASK(7, 2)

struct ecam_map {
	volatile uint8_t *va;   /* configuration space of bus_start */
	uint16_t segment;
	uint8_t bus_start;
	uint8_t bus_end;
};

static struct ecam_map maps[PCI_ECAM_MAX];
static size_t nmaps;
static struct spinlock port_lock = SPINLOCK_INIT;

static bool overlaps(const struct pci_ecam *r)
{
	for (size_t i = 0; i < nmaps; i++)
		if (maps[i].segment == r->segment && r->bus_start <= maps[i].bus_end &&
		    maps[i].bus_start <= r->bus_end)
			return true;
	return false;
}

static int add_region(const struct pci_ecam *r)
{
	uint64_t pa, size;
	void *va;

	if (r->bus_end < r->bus_start || !IS_ALIGNED(r->base, ECAM_BUS_SIZE)) {
		log_warn("pci: MCFG segment %04x buses %02x-%02x at %#llx is malformed, ignored",
			 r->segment, r->bus_start, r->bus_end, (unsigned long long)r->base);
		return E_INVAL;
	}
	pa = r->base + ((uint64_t)r->bus_start << ECAM_BUS_SHIFT);
	size = (uint64_t)(r->bus_end - r->bus_start + 1) << ECAM_BUS_SHIFT;
	if (overlaps(r)) {
		log_warn("pci: MCFG segment %04x buses %02x-%02x overlaps another region, ignored",
			 r->segment, r->bus_start, r->bus_end);
		return E_EXIST;
	}
	if (nmaps == PCI_ECAM_MAX) {
		log_warn("pci: more than %d MCFG regions, segment %04x buses %02x-%02x ignored",
			 PCI_ECAM_MAX, r->segment, r->bus_start, r->bus_end);
		return E_NOMEM;
	}
	va = mmio_map(pa, (size_t)size);
	if (!va) {
		log_warn("pci: cannot map ECAM %#llx+%#llx (segment %04x), ignored",
			 (unsigned long long)pa, (unsigned long long)size, r->segment);
		return E_NOMEM;
	}
	maps[nmaps++] = (struct ecam_map){ .va = va, .segment = r->segment,
					   .bus_start = r->bus_start, .bus_end = r->bus_end };
	log_info("pci: ECAM segment %04x buses %02x-%02x at %#llx", r->segment, r->bus_start,
		 r->bus_end, (unsigned long long)pa);
	return 0;
}

int pci_cfg_init(const struct pci_ecam *regions, size_t n)
{
	nmaps = 0;
	for (size_t i = 0; i < n; i++)
		add_region(&regions[i]);
	if (nmaps == 0)
		log_info("pci: no ECAM, using ports %#x/%#x (segment 0, 256-byte space)",
			 PCI_CONF_ADDR, PCI_CONF_DATA);
	return (int)nmaps;
}

static volatile uint8_t *ecam_addr(struct pci_bdf bdf, uint16_t off)
{
	for (size_t i = 0; i < nmaps; i++) {
		const struct ecam_map *m = &maps[i];
		if (m->segment == bdf.seg && bdf.bus >= m->bus_start && bdf.bus <= m->bus_end)
			return m->va + ((size_t)(bdf.bus - m->bus_start) << ECAM_BUS_SHIFT |
					(size_t)bdf.devfn << ECAM_DEVFN_SHIFT | off);
	}
	return NULL;
}

static uint32_t all_ones(unsigned width)
{
	return width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
}

static bool access_ok(struct pci_bdf bdf, uint16_t off, unsigned width, const char *what)
{
	char b[PCI_BDF_STRLEN];

	if ((width == 1 || width == 2 || width == 4) && IS_ALIGNED(off, width) &&
	    off < PCI_CFG_EXT_SIZE)
		return true;
	log_warn("pci: %s of width %u at %s+%#x rejected (misaligned or out of range)", what,
		 width, pci_bdf_fmt(b, bdf), off);
	return false;
}

/* The port mechanism reaches segment 0 and the first 256 bytes only. */
static bool port_reaches(struct pci_bdf bdf, uint16_t off)
{
	return bdf.seg == 0 && off < PCI_CFG_SIZE;
}

/* Called with port_lock held. */
static void port_select(struct pci_bdf bdf, uint16_t off)
{
	outl(PCI_CONF_ADDR, (uint32_t)(PCI_CONF_ENABLE | (uint32_t)bdf.bus << PCI_CONF_BUS_SHIFT |
				       (uint32_t)bdf.devfn << PCI_CONF_DEVFN_SHIFT |
				       (off & PCI_CONF_REG_MASK)));
}

uint32_t pci_cfg_read(struct pci_bdf bdf, uint16_t off, unsigned width)
{
	volatile uint8_t *p;
	uint16_t port = PCI_CONF_DATA + (off & 3);
	uint32_t v;

	if (!access_ok(bdf, off, width, "read"))
		return all_ones(width);
	p = ecam_addr(bdf, off);
	if (p)
		return width == 1 ? mmio_read8(p) : width == 2 ? mmio_read16(p) : mmio_read32(p);
	if (!port_reaches(bdf, off))
		return all_ones(width);
	spin_lock(&port_lock);
	port_select(bdf, off);
	v = width == 1 ? inb(port) : width == 2 ? inw(port) : inl(port);
	spin_unlock(&port_lock);
	return v;
}

void pci_cfg_write(struct pci_bdf bdf, uint16_t off, unsigned width, uint32_t v)
{
	volatile uint8_t *p;
	uint16_t port = PCI_CONF_DATA + (off & 3);

	if (!access_ok(bdf, off, width, "write"))
		return;
	p = ecam_addr(bdf, off);
	if (p) {
		if (width == 1)
			mmio_write8(p, (uint8_t)v);
		else if (width == 2)
			mmio_write16(p, (uint16_t)v);
		else
			mmio_write32(p, v);
		return;
	}
	if (!port_reaches(bdf, off))
		return;
	spin_lock(&port_lock);
	port_select(bdf, off);
	if (width == 1)
		outb(port, (uint8_t)v);
	else if (width == 2)
		outw(port, (uint16_t)v);
	else
		outl(port, v);
	spin_unlock(&port_lock);
}
