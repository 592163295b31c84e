#include <stdlib.h>
#include <string.h>
#include "tests/unit/fake-pci-cfg.h"
#include "pci/regs.h"

static struct fake_pci_fn fns[FAKE_PCI_MAX_FNS];
static size_t nfns;
unsigned fake_pci_misaligned;
unsigned fake_pci_accesses;
unsigned fake_pci_init_regions;

void fake_pci_reset(void)
{
	nfns = 0;
	fake_pci_misaligned = 0;
	fake_pci_accesses = 0;
	fake_pci_init_regions = 0;
}

struct fake_pci_fn *fake_pci_find(struct pci_bdf bdf)
{
	for (size_t i = 0; i < nfns; i++)
		if (pci_bdf_eq(fns[i].bdf, bdf))
			return &fns[i];
	return NULL;
}

void fake_pci_set8(struct fake_pci_fn *f, uint16_t off, uint8_t v)
{
	f->cfg[off] = v;
}

void fake_pci_set16(struct fake_pci_fn *f, uint16_t off, uint16_t v)
{
	f->cfg[off] = (uint8_t)v;
	f->cfg[off + 1] = (uint8_t)(v >> 8);
}

void fake_pci_set32(struct fake_pci_fn *f, uint16_t off, uint32_t v)
{
	fake_pci_set16(f, off, (uint16_t)v);
	fake_pci_set16(f, off + 2, (uint16_t)(v >> 16));
}

uint32_t fake_pci_get32(struct fake_pci_fn *f, uint16_t off)
{
	return f->cfg[off] | f->cfg[off + 1] << 8 | f->cfg[off + 2] << 16 |
	       (uint32_t)f->cfg[off + 3] << 24;
}

void fake_pci_wmask32(struct fake_pci_fn *f, uint16_t off, uint32_t mask)
{
	for (unsigned i = 0; i < 4; i++)
		f->wmask[off + i] = (uint8_t)(mask >> (8 * i));
}

struct fake_pci_fn *fake_pci_add(struct pci_bdf bdf, uint16_t vendor, uint16_t device,
				 uint32_t class, uint8_t hdr)
{
	struct fake_pci_fn *f;

	if (nfns == FAKE_PCI_MAX_FNS)
		abort();
	f = &fns[nfns++];
	memset(f, 0, sizeof(*f));
	f->bdf = bdf;
	f->size = PCI_CFG_SIZE;
	fake_pci_set16(f, PCI_VENDOR_ID, vendor);
	fake_pci_set16(f, PCI_DEVICE_ID, device);
	fake_pci_set32(f, PCI_CLASS_REVISION, class << 8 | 0x01);
	fake_pci_set8(f, PCI_HEADER_TYPE, hdr);
	fake_pci_set16(f, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	f->wmask[PCI_COMMAND] = 0xff;
	f->wmask[PCI_COMMAND + 1] = 0x07;
	if ((hdr & PCI_HEADER_TYPE_MASK) == PCI_HEADER_BRIDGE) {
		f->wmask[PCI_PRIMARY_BUS] = 0xff;
		f->wmask[PCI_SECONDARY_BUS] = 0xff;
		f->wmask[PCI_SUBORDINATE_BUS] = 0xff;
	} else {
		fake_pci_set16(f, PCI_SUBSYS_VENDOR_ID, 0x1af4);
		fake_pci_set16(f, PCI_SUBSYS_ID, 0x1100);
	}
	return f;
}

void fake_pci_bar(struct fake_pci_fn *f, unsigned i, uint64_t addr, uint64_t size,
		  unsigned flags)
{
	uint16_t reg = PCI_BAR0 + 4 * i;
	uint64_t mask = size ? ~(size - 1) : 0;
	uint32_t type;

	if (flags & FAKE_BAR_IO) {
		type = PCI_BAR_SPACE_IO;
		fake_pci_set32(f, reg, (uint32_t)addr | type);
		fake_pci_wmask32(f, reg, (uint32_t)mask & ~3u);
		return;
	}
	type = (flags & FAKE_BAR_64 ? PCI_BAR_MEM_TYPE_64 << 1 : 0) |
	       (flags & FAKE_BAR_PREF ? PCI_BAR_MEM_PREFETCH : 0);
	fake_pci_set32(f, reg, (uint32_t)addr | type);
	fake_pci_wmask32(f, reg, (uint32_t)mask & ~0xfu);
	if (flags & FAKE_BAR_64) {
		fake_pci_set32(f, reg + 4, (uint32_t)(addr >> 32));
		fake_pci_wmask32(f, reg + 4, (uint32_t)(mask >> 32));
	}
}

void fake_pci_bridge(struct fake_pci_fn *f, uint8_t pri, uint8_t sec, uint8_t sub)
{
	fake_pci_set8(f, PCI_PRIMARY_BUS, pri);
	fake_pci_set8(f, PCI_SECONDARY_BUS, sec);
	fake_pci_set8(f, PCI_SUBORDINATE_BUS, sub);
}

void fake_pci_cap(struct fake_pci_fn *f, uint8_t off, uint8_t id)
{
	uint8_t ptr = (f->cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK) == PCI_HEADER_CARDBUS
		    ? PCI_CARDBUS_CAP_PTR : PCI_CAP_PTR;

	f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	if (f->last_cap)
		f->cfg[f->last_cap + PCI_CAP_NEXT] = off;
	else
		f->cfg[ptr] = off;
	f->cfg[off + PCI_CAP_ID] = id;
	f->cfg[off + PCI_CAP_NEXT] = 0;
	f->last_cap = off;
}

void fake_pci_ext_cap(struct fake_pci_fn *f, uint16_t off, uint16_t id)
{
	if (f->last_ext_cap) {
		uint32_t h = fake_pci_get32(f, f->last_ext_cap);
		fake_pci_set32(f, f->last_ext_cap, (h & 0xfffff) | (uint32_t)off << 20);
	}
	fake_pci_set32(f, off, id | 1u << 16);
	f->last_ext_cap = off;
}

void fake_pci_msi(struct fake_pci_fn *f, uint8_t off, unsigned mmc, bool is64, bool mask)
{
	fake_pci_cap(f, off, PCI_CAP_ID_MSI);
	fake_pci_set16(f, off + PCI_MSI_FLAGS, (uint16_t)(mmc << 1 | (is64 ? PCI_MSI_FLAGS_64BIT : 0) |
							  (mask ? PCI_MSI_FLAGS_MASKBIT : 0)));
}

void fake_pci_msix(struct fake_pci_fn *f, uint8_t off, unsigned entries, unsigned tbir,
		   uint32_t toff, unsigned pbir, uint32_t poff)
{
	fake_pci_cap(f, off, PCI_CAP_ID_MSIX);
	fake_pci_set16(f, off + PCI_MSIX_FLAGS, (uint16_t)(entries - 1));
	fake_pci_set32(f, off + PCI_MSIX_TABLE, toff | tbir);
	fake_pci_set32(f, off + PCI_MSIX_PBA, poff | pbir);
}

void fake_pci_exp(struct fake_pci_fn *f, uint8_t off, unsigned type)
{
	fake_pci_cap(f, off, PCI_CAP_ID_EXP);
	fake_pci_set16(f, off + PCI_EXP_FLAGS, (uint16_t)(2 | type << 4));
	f->size = PCI_CFG_EXT_SIZE;
}

void fake_pci_ari(struct fake_pci_fn *f, uint16_t off, uint8_t next_fn)
{
	fake_pci_ext_cap(f, off, PCI_EXT_CAP_ID_ARI);
	fake_pci_set16(f, off + PCI_ARI_CAP, (uint16_t)(next_fn << 8));
}

/* ---- the hook ---- */

int pci_cfg_init(const struct pci_ecam *regions, size_t n)
{
	fake_pci_init_regions = (unsigned)n;
	return (int)n;
}

static bool check(uint16_t off, unsigned width)
{
	fake_pci_accesses++;
	if ((width != 1 && width != 2 && width != 4) || off % width || off >= 0x1000) {
		fake_pci_misaligned++;
		return false;
	}
	return true;
}

uint32_t pci_cfg_read(struct pci_bdf bdf, uint16_t off, unsigned width)
{
	struct fake_pci_fn *f = fake_pci_find(bdf);
	uint32_t v = 0;

	if (!check(off, width) || !f || off >= f->size)
		return width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
	for (unsigned i = 0; i < width; i++)
		v |= (uint32_t)f->cfg[off + i] << (8 * i);
	return v;
}

static bool is_bar(const struct fake_pci_fn *f, uint16_t off)
{
	unsigned type = f->cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK;
	unsigned n = type == PCI_HEADER_NORMAL ? 6 : type == PCI_HEADER_BRIDGE ? 2 : 1;

	return off >= PCI_BAR0 && off < PCI_BAR0 + 4 * n;
}

void pci_cfg_write(struct pci_bdf bdf, uint16_t off, unsigned width, uint32_t v)
{
	struct fake_pci_fn *f = fake_pci_find(bdf);

	if (!check(off, width) || !f || off >= f->size)
		return;
	if (is_bar(f, off) && width == 4 && v == 0xffffffff &&
	    (f->cfg[PCI_COMMAND] & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY)))
		f->sized_while_decoding++;
	for (unsigned i = 0; i < width; i++) {
		uint8_t m = f->wmask[off + i], b = (uint8_t)(v >> (8 * i));
		f->cfg[off + i] = (uint8_t)((f->cfg[off + i] & ~m) | (b & m));
	}
}
