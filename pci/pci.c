/* The function table: filled in enumeration order (depth first), then only read. */
#include <stdarg.h>
#include "kernel/lib/fmt.h"
#include "kernel/lib/log.h"
#include "kernel/lib/string.h"
#include "pci/pci.h"

static struct pci_dev devs[PCI_MAX_DEVS];
static size_t ndevs;
static bool full_logged;

void pci_table_reset(void)
{
	ndevs = 0;
	full_logged = false;
}

struct pci_dev *pci_dev_new(struct pci_bdf bdf)
{
	struct pci_dev *d;
	char b[PCI_BDF_STRLEN];

	if (ndevs == PCI_MAX_DEVS) {
		if (!full_logged)
			log_warn("pci: more than %d functions, %s and later ones ignored",
				 PCI_MAX_DEVS, pci_bdf_fmt(b, bdf));
		full_logged = true;
		return NULL;
	}
	d = &devs[ndevs++];
	memset(d, 0, sizeof(*d));
	d->bdf = bdf;
	d->sid = pci_bdf_rid(bdf);
	d->dma_alias = d->sid;
	d->alias_bridge = PCI_NONE;
	d->upstream = PCI_NONE;
	return d;
}

struct pci_dev *pci_find(struct pci_bdf bdf)
{
	for (size_t i = 0; i < ndevs; i++)
		if (pci_bdf_eq(devs[i].bdf, bdf))
			return &devs[i];
	return NULL;
}

size_t pci_dev_count(void)
{
	return ndevs;
}

struct pci_dev *pci_dev_at(size_t i)
{
	return i < ndevs ? &devs[i] : NULL;
}

int pci_dev_index(const struct pci_dev *d)
{
	if (d < devs || d >= devs + ndevs)
		return PCI_NONE;
	return (int)(d - devs);
}

struct pci_dev *pci_dev_upstream(const struct pci_dev *d)
{
	return d->upstream == PCI_NONE ? NULL : pci_dev_at((size_t)d->upstream);
}

void pci_dev_warn(struct pci_dev *d, uint16_t prob, const char *fmt, ...)
{
	char b[PCI_BDF_STRLEN], msg[160];
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->problems |= prob;
	log_warn("pci %s: %s", pci_bdf_fmt(b, d->bdf), msg);
}
