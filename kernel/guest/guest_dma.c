/*
 * Guests' DMA confinement: one VT-d domain per guest that owns devices, mapping exactly the
 * guest's RAM at IOVA = guest-virtual address, so a guest driver hands its own addresses to its
 * device. Its devices are attached before bus mastering is turned on, and detached when the
 * guest ends.
 */
#include "kernel/guest/guest_dma.h"
#include "kernel/lib/error.h"
#include "kernel/guest/guest.h"
#include "kernel/mm/layout.h"
#include "kernel/lib/log.h"
#include "iommu/domain.h"
#include "iommu/iommu.h"
#include "pci/pci.h"

static struct domain *domains[MAX_GUESTS];

/* Map the guest's frames, coalescing physically contiguous runs into one mapping each. */
static int map_ram(struct domain *d, const struct guest *g)
{
	for (uint64_t i = 0; i < g->nframes;) {
		uint64_t n = 1;
		while (i + n < g->nframes && g->frames[i + n] == g->frames[i] + n * PAGE_SIZE)
			n++;
		int err = domain_map(d, GUEST_RAM_BASE + i * PAGE_SIZE, g->frames[i], n * PAGE_SIZE,
				     DMA_READ | DMA_WRITE);
		if (err)
			return err;
		i += n;
	}
	return 0;
}

static int attach_devices(struct guest *g, struct domain *d)
{
	for (unsigned i = 0; i < g->ndevs; i++) {
		struct domain *old = domain_of(g->devs[i]);
		if (old == d)
			continue;
		/* A device may sit in its RMRR domain since boot: it leaves it for the guest's. */
		int err = old ? domain_detach(old, g->devs[i]) : 0;
		if (err || (err = domain_attach(d, g->devs[i])))
			return err;
	}
	return 0;
}

int guest_dma_attach(struct guest *g)
{
	if (!iommu_enabled())
		return E_NOSYS;
	if (domains[g->id])     /* a restart: the same RAM, the same domain */
		return attach_devices(g, domains[g->id]);
	struct domain *d = domain_create();
	if (!d)
		return E_NOMEM;
	domains[g->id] = d;     /* from here guest_dma_detach undoes what was attached */
	int err = map_ram(d, g);
	if (!err)
		err = attach_devices(g, d);
	if (err)
		return err;
	log_info("guest %s: DMA confined to its %llu MiB (domain %u)", g->name,
		 (unsigned long long)g->mem_mib, domain_id(d));
	return 0;
}

void guest_dma_detach(struct guest *g)
{
	struct domain *d = domains[g->id];
	if (!d)
		return;
	for (unsigned i = 0; i < g->ndevs; i++)
		if (domain_of(g->devs[i]) == d && domain_detach(d, g->devs[i]))
			log_err("guest %s: cannot detach device %u from its domain", g->name, i);
}


void guest_dma_release(struct guest *g)
{
	struct domain *d = domains[g->id];
	if (!d)
		return;
	guest_dma_detach(g);
	if (domain_destroy(d))
		log_err("guest %s: its domain %u still has devices; not given back", g->name,
			domain_id(d));
	else
		domains[g->id] = 0;
}
