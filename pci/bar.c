/*
 * Base address registers (PCI LB 3.0 §6.2.5.1): type, address and size of each. A BAR is
 * sized by writing all ones and reading back which address bits stick; while its value is
 * all ones it may decode anywhere, so memory and I/O decoding is off around that one BAR and
 * restored right after (and never logged in between, the console may sit behind a BAR).
 */
#include "pci/pci.h"

static uint16_t bar_reg(unsigned i)
{
	return (uint16_t)(PCI_BAR0 + 4 * i);
}

/*
 * Host bridges keep decoding: turning their memory decode off can take RAM or the
 * configuration window away with it.
 */
static bool may_stop_decode(const struct pci_dev *d)
{
	return (d->class & PCI_CLASS_BASE_SUB_MASK) != PCI_CLASS_BRIDGE_HOST;
}

/* The bits of BAR i (and i+1 when 64-bit) that stick when all ones are written. */
static uint64_t probe_mask(struct pci_dev *d, unsigned i, bool is64, uint32_t lo, uint32_t hi)
{
	const uint16_t decode = PCI_COMMAND_IO | PCI_COMMAND_MEMORY;
	uint16_t cmd = pci_cfg_read16(d->bdf, PCI_COMMAND);
	bool stop = (cmd & decode) && may_stop_decode(d);
	uint32_t mlo, mhi = 0;

	if (stop)
		pci_cfg_write16(d->bdf, PCI_COMMAND, cmd & ~decode);
	pci_cfg_write32(d->bdf, bar_reg(i), 0xffffffff);
	mlo = pci_cfg_read32(d->bdf, bar_reg(i));
	pci_cfg_write32(d->bdf, bar_reg(i), lo);
	if (is64) {
		pci_cfg_write32(d->bdf, bar_reg(i + 1), 0xffffffff);
		mhi = pci_cfg_read32(d->bdf, bar_reg(i + 1));
		pci_cfg_write32(d->bdf, bar_reg(i + 1), hi);
	}
	if (stop)
		pci_cfg_write16(d->bdf, PCI_COMMAND, cmd);
	return (uint64_t)mhi << 32 | mlo;
}

/* Reads the type of BAR i; false (reported) when it cannot be sized. */
static bool bar_type(struct pci_dev *d, unsigned i, uint32_t lo, bool *is64)
{
	*is64 = false;
	if (lo == 0xffffffff) {
		pci_dev_warn(d, PCI_PROB_BAR, "BAR%u reads all ones, ignored", i);
		return false;
	}
	if (lo & PCI_BAR_SPACE_IO)
		return true;
	switch ((lo & PCI_BAR_MEM_TYPE) >> 1) {
	case PCI_BAR_MEM_TYPE_32:
	case PCI_BAR_MEM_TYPE_1M:
		return true;
	case PCI_BAR_MEM_TYPE_64:
		*is64 = true;
		if (i + 1 < d->nbars)
			return true;
		pci_dev_warn(d, PCI_PROB_BAR, "64-bit BAR%u is in the last slot, ignored", i);
		return false;
	default:
		pci_dev_warn(d, PCI_PROB_BAR, "BAR%u has the reserved memory type 3, ignored", i);
		return false;
	}
}

/* Sizes BAR i; returns the number of slots it takes. */
static unsigned bar_read(struct pci_dev *d, unsigned i)
{
	struct pci_bar *bar = &d->bar[i];
	uint32_t lo = pci_cfg_read32(d->bdf, bar_reg(i)), hi = 0;
	uint64_t mask, low_bits;
	bool is64, io = lo & PCI_BAR_SPACE_IO;

	if (!bar_type(d, i, lo, &is64))
		return 1;
	if (is64)
		hi = pci_cfg_read32(d->bdf, bar_reg(i + 1));
	mask = probe_mask(d, i, is64, lo, hi) & (io ? PCI_BAR_IO_MASK : ~0xfull);
	if (is64)
		d->bar[i + 1].flags = PCI_BAR_F_UPPER;
	if (!mask)
		return is64 ? 2 : 1;    /* not implemented */
	/* A 16-bit I/O decoder may hardwire the upper half to 0 (PCI LB §6.2.5.1). */
	if (io && !(mask >> 16))
		mask |= 0xffff0000u;
	bar->size = mask & -mask;
	/* The sticky bits must be contiguous from the size up. */
	low_bits = mask | (bar->size - 1);
	if (low_bits & (low_bits + 1))
		pci_dev_warn(d, PCI_PROB_BAR, "BAR%u size mask %#llx has holes, size %#llx assumed",
			     i, (unsigned long long)mask, (unsigned long long)bar->size);
	if (io) {
		bar->flags = PCI_BAR_F_IO;
		bar->addr = lo & PCI_BAR_IO_MASK;
	} else {
		bar->flags = (is64 ? PCI_BAR_F_MEM64 : 0) |
			     (lo & PCI_BAR_MEM_PREFETCH ? PCI_BAR_F_PREFETCH : 0);
		bar->addr = ((uint64_t)hi << 32 | lo) & ~0xfull;
	}
	return is64 ? 2 : 1;
}

void pci_bars_read(struct pci_dev *d)
{
	for (unsigned i = 0; i < d->nbars; )
		i += bar_read(d, i);
}
