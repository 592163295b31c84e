/*
 * A guest owns the PCI functions its module's dev= names. It gets their memory BARs mapped
 * uncached in its address space, except the pages holding an MSI-X table or PBA: the message
 * capability stays the hypervisor's (messages are asked for with hypercalls). A guest gets the
 * functions of an isolation group (pci/group.h) all together or not at all. Its devices' DMA is
 * confined to its own RAM by its VT-d domain, and only that attach turns bus mastering on: a
 * guest whose devices' DMA cannot be confined (no DMA remapping, a failed attach) is rejected.
 */
#include "kernel/guest/guest_dev.h"
#include "kernel/lib/error.h"
#include "kernel/lib/fmt.h"
#include "kernel/guest/guest.h"
#include "kernel/guest/guest_dma.h"
#include "kernel/guest/guest_msg.h"
#include "kernel/guest/guest_mm.h"
#include "kernel/mm/layout.h"
#include "kernel/lib/log.h"
#include "kernel/lib/string.h"
#include "iommu/iommu.h"
#include "pci/group.h"
#include "msi/msi.h"
#include "pci/pci.h"

static struct guest *owner[PCI_MAX_DEVS];

int guest_dev_find(const struct guest *g, const struct pci_dev *d)
{
	for (unsigned i = 0; i < g->ndevs; i++)
		if (g->devs[i] == d)
			return (int)i;
	return E_NOENT;
}

/* Does [pa, pa + PAGE_SIZE) hold the function's MSI-X table or PBA? */
static bool msix_page(const struct pci_dev *d, unsigned bar, uint64_t off)
{
	const struct pci_msix *x = &d->msix;
	uint64_t tbl_end = x->table_off + (uint64_t)x->entries * 16;
	uint64_t pba_end = x->pba_off + ALIGN_UP((uint64_t)x->entries, 64) / 8;

	if (!x->cap)
		return false;
	return (x->table_bir == bar && off < ALIGN_UP(tbl_end, PAGE_SIZE) &&
		off + PAGE_SIZE > ALIGN_DOWN(x->table_off, PAGE_SIZE)) ||
	       (x->pba_bir == bar && off < ALIGN_UP(pba_end, PAGE_SIZE) &&
		off + PAGE_SIZE > ALIGN_DOWN(x->pba_off, PAGE_SIZE));
}

static int map_bars(struct guest *g, unsigned k, struct pci_dev *d, struct courier_dev_info *di,
		    char *why, size_t n)
{
	for (unsigned b = 0; b < d->nbars && b < COURIER_MAX_BARS; b++) {
		const struct pci_bar *bar = &d->bar[b];
		if (!bar->size || (bar->flags & (PCI_BAR_F_IO | PCI_BAR_F_UPPER)))
			continue;
		/* A BAR smaller than a page may share its page with another device's. */
		if (bar->size < PAGE_SIZE || bar->size > GUEST_BAR_STRIDE || !IS_ALIGNED(bar->addr, PAGE_SIZE)) {
			log_warn("guest %s: BAR%u of its device (%#llx bytes) cannot be mapped safely",
				 g->name, b, (unsigned long long)bar->size);
			continue;
		}
		uint64_t va = GUEST_BAR_BASE + k * GUEST_DEV_STRIDE + b * GUEST_BAR_STRIDE;
		for (uint64_t off = 0; off < bar->size; off += PAGE_SIZE) {
			if (msix_page(d, b, off))
				continue;
			int err = guest_mm_map_mmio(g, va + off, bar->addr + off, PAGE_SIZE);
			if (err)
				return fmt_snprintf(why, n, "cannot map BAR%u", b), err;
		}
		di->bar_va[b] = va;
		di->bar_size[b] = bar->size;
	}
	return 0;
}

static int take(struct guest *g, struct pci_dev *d, char *why, size_t n)
{
	char bdf[PCI_BDF_STRLEN];
	int idx = pci_dev_index(d);

	pci_bdf_fmt(bdf, d->bdf);
	if (pci_dev_is_bridge(d))
		return fmt_snprintf(why, n, "dev=%s is a bridge, not a device", bdf), E_PERM;
	if (owner[idx])
		return fmt_snprintf(why, n, "dev=%s belongs to guest %s", bdf, owner[idx]->name),
		       E_BUSY;
	if (g->ndevs == COURIER_MAX_DEVS)
		return fmt_snprintf(why, n, "more than %d devices", COURIER_MAX_DEVS), E_RANGE;
	/* Without DMA remapping at all, guest_dma_attach refuses every device later. */
	if (iommu_enabled() && !iommu_unit_for(d))
		return fmt_snprintf(why, n, "dev=%s: its DMA cannot be confined: %s", bdf,
				    iommu_no_unit_reason(d)), E_NOENT;

	unsigned k = g->ndevs;
	struct courier_dev_info *di = &g->start->devs[k];
	*di = (struct courier_dev_info){
		.bdf = (uint32_t)d->bdf.seg << 16 | pci_bdf_rid(d->bdf),
		.vendor = d->vendor, .device = d->device,
		.msi_max = msi_capacity(d),
	};
	int err = map_bars(g, k, d, di, why, n);
	if (err)
		return err;
	owner[idx] = g;
	g->devs[g->ndevs++] = d;
	g->start->ndevs = g->ndevs;
	return 0;
}

int guest_devices_assign(struct guest *g, const char *list, char *why, size_t n)
{
	char item[24];

	while (*list) {
		size_t len = 0;
		while (list[len] && list[len] != ',')
			len++;
		if (len == 0 || len >= sizeof(item))
			return fmt_snprintf(why, n, "bad dev= list"), E_INVAL;
		memcpy(item, list, len);
		item[len] = 0;
		list += len + (list[len] == ',');

		struct pci_bdf bdf;
		struct pci_dev *d;
		if (pci_bdf_parse(item, &bdf) < 0)
			return fmt_snprintf(why, n, "dev=%s is not a device address", item), E_INVAL;
		if (!(d = pci_find(bdf)))
			return fmt_snprintf(why, n, "dev=%s: no such function", item), E_NOENT;
		int err = take(g, d, why, n);
		if (err)
			return err;
	}
	if (!g->ndevs)
		return 0;

	struct pci_dev *member, *other = pci_group_split(g->devs, g->ndevs, &member);
	if (other) {
		char a[PCI_BDF_STRLEN], b[PCI_BDF_STRLEN];
		log_detail("guest %s: dev=%s shares its isolation group with %s: give both to one guest "
			"or neither", g->name, pci_bdf_fmt(a, member->bdf), pci_bdf_fmt(b, other->bdf));
		return fmt_snprintf(why, n, "dev=%s splits the isolation group of %s", a, b), E_PERM;
	}
	int err = guest_devices_confine(g);
	if (err)
		return fmt_snprintf(why, n, "its devices' DMA cannot be confined: %s",
				    error_name(err)), err;
	return 0;
}

int guest_devices_confine(struct guest *g)
{
	int err = guest_dma_attach(g);
	if (err)
		return err;
	/* Confined: only now may the devices master the bus (DMA and messages). */
	for (unsigned i = 0; i < g->ndevs; i++) {
		uint16_t cmd = pci_cfg_read16(g->devs[i]->bdf, PCI_COMMAND);
		pci_cfg_write16(g->devs[i]->bdf, PCI_COMMAND,
				cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	}
	return 0;
}

void guest_devices_quiesce(struct guest *g)
{
	for (unsigned i = 0; i < g->ndevs; i++) {
		struct pci_dev *d = g->devs[i];
		if (d->msi.cap) {
			uint16_t c = pci_cfg_read16(d->bdf, d->msi.cap + PCI_MSI_FLAGS);
			pci_cfg_write16(d->bdf, d->msi.cap + PCI_MSI_FLAGS, c & ~PCI_MSI_FLAGS_ENABLE);
		}
		if (d->msix.cap) {
			uint16_t c = pci_cfg_read16(d->bdf, d->msix.cap + PCI_MSIX_FLAGS);
			pci_cfg_write16(d->bdf, d->msix.cap + PCI_MSIX_FLAGS, c & ~PCI_MSIX_FLAGS_ENABLE);
		}
		uint16_t cmd = pci_cfg_read16(d->bdf, PCI_COMMAND);
		pci_cfg_write16(d->bdf, PCI_COMMAND, cmd & ~PCI_COMMAND_MASTER);
	}
	guest_msgs_release(g);
	guest_dma_detach(g);
}

void guest_devices_release(struct guest *g)
{
	guest_devices_quiesce(g);
	for (unsigned i = 0; i < g->ndevs; i++)
		owner[pci_dev_index(g->devs[i])] = 0;
	g->ndevs = 0;
}
