#include "iommu/domain.h"
#include "iommu/iommu.h"
#include "iommu/mem.h"
#include "iommu/qi.h"
#include "iommu/topology.h"
#include "iommu/unit.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "kernel/arch/spinlock.h"
#include "kernel/mm/vm.h"
#include "pci/pci.h"

#define INV_RANGE_MAX   8       /* page-selective descriptors per range, else domain-wide */

struct domain {
	bool used;
	uint16_t did;
	struct slpt pt;
	unsigned refs[IOMMU_MAX_UNITS];         /* functions attached through each unit */
};

static struct spinlock lock = SPINLOCK_INIT;
static struct domain domains[DOMAIN_MAX];
static struct domain *attached[PCI_MAX_DEVS];   /* by PCI table index */
static unsigned levels;                         /* 0: domains unavailable */
static uint8_t sllps;
static uint32_t did_next = 1, did_limit;
static uint64_t iova_limit;

static uint64_t alloc_table(void *ctx) { return iommu_frame_alloc(); }
static void *table_va(void *ctx, uint64_t pa) { return phys_to_virt(pa); }
static void flush_table(void *ctx, void *va, size_t len) { iommu_flush(va, len); }

static const struct slpt_ops table_ops = {
	.alloc_table = alloc_table,
	.phys_to_virt = table_va,
	.flush = flush_table,
};

void domain_setup(unsigned lv, uint8_t sp, uint32_t dids, unsigned iova_bits)
{
	levels = lv;
	sllps = sp;
	did_limit = dids;
	iova_limit = 1ull << iova_bits;
}

uint16_t domain_id(const struct domain *d)
{
	return d->did;
}

struct domain *domain_create(void)
{
	uint64_t f = spin_lock_irqsave(&lock);
	struct domain *d = NULL;

	for (unsigned i = 0; levels && i < DOMAIN_MAX && !d; i++)
		if (!domains[i].used)
			d = &domains[i];
	/* A slot given back keeps its domain id: nothing caches either any more. */
	bool fresh_did = d && !d->did;
	if (d && (!fresh_did || did_next < did_limit) &&
	    slpt_init(&d->pt, &table_ops, levels, sllps) == 0) {
		d->used = true;
		if (fresh_did)
			d->did = (uint16_t)did_next++;
	} else {
		d = NULL;
	}
	spin_unlock_irqrestore(&lock, f);
	if (!d)
		log_warn("iommu: cannot create a domain (IOMMU off, or out of ids or memory)");
	return d;
}

/* ---- invalidation on every unit the domain is attached to -------------------------------- */

static int inv_range(struct domain *d, uint64_t iova, uint64_t size, bool ih, bool cm_only)
{
	struct vtd_qi_desc desc[INV_RANGE_MAX];
	int err = 0;

	for (unsigned i = 0; i < iommu_unit_count(); i++) {
		struct vtd_unit *u = iommu_unit_at(i);
		if (!d->refs[i] || (cm_only && !u->caps.cm))
			continue;
		int e = vtd_unit_flush_wb(u);
		int n = vtd_qi_iotlb_range(&u->caps, d->did, iova, size, ih, desc, INV_RANGE_MAX);
		if (n < 0)
			e = n;
		struct vtd_inv_batch b;
		vtd_inv_begin(&b, u);
		for (int k = 0; k < n; k++)
			vtd_inv_add(&b, desc[k]);
		if (!e)
			e = vtd_inv_run(&b);
		if (!err)
			err = e;
	}
	return err;
}

/* ---- map and unmap ------------------------------------------------------------------------ */

int domain_map(struct domain *d, uint64_t iova, uint64_t pa, uint64_t size, uint64_t prot)
{
	if (!size)
		return E_INVAL;
	if (iova + size < iova || iova + size > iova_limit)
		return E_RANGE;
	const struct iommu_range *r = iommu_protected(pa, size);
	if (r) {
		log_warn("iommu: domain %u: refusing to map 0x%llx+0x%llx, which reaches hypervisor "
			 "memory 0x%llx-0x%llx", d->did, (unsigned long long)pa,
			 (unsigned long long)size, (unsigned long long)r->start,
			 (unsigned long long)r->end);
		return E_PERM;
	}
	uint64_t f = spin_lock_irqsave(&lock);
	int err = slpt_map(&d->pt, iova, pa, size, prot, sllps);
	/* Caching-mode units may cache not-present entries: tell them about new ones (6.1). */
	if (!err)
		err = inv_range(d, iova, size, false, true);
	spin_unlock_irqrestore(&lock, f);
	return err;
}

int domain_unmap(struct domain *d, uint64_t iova, uint64_t size)
{
	uint64_t f = spin_lock_irqsave(&lock);
	struct slpt_change c = slpt_unmap(&d->pt, iova, size);
	int err = c.err;

	/* Only leaves were cleared: the paging-structure caches may stay (IH). */
	if (!err && c.end > c.start)
		err = inv_range(d, c.start, c.end - c.start, true, false);
	spin_unlock_irqrestore(&lock, f);
	return err;
}

struct slpt_walk domain_lookup(const struct domain *d, uint64_t iova)
{
	return slpt_lookup(&d->pt, iova);
}

/* ---- attach and detach -------------------------------------------------------------------- */

struct domain *domain_of(const struct pci_dev *dev)
{
	int i = pci_dev_index(dev);
	return i >= 0 && i < PCI_MAX_DEVS ? attached[i] : NULL;
}

/* The requester ids the unit may see on the function's DMA: its own and its alias. */
static unsigned dev_sids(const struct pci_dev *dev, uint16_t sid[2])
{
	sid[0] = dev->sid;
	sid[1] = dev->dma_alias;
	return dev->dma_alias == dev->sid ? 1 : 2;
}

/* Does a function other than dev, attached to d, use requester id sid? */
static bool sid_shared(const struct domain *d, const struct pci_dev *dev, uint16_t sid)
{
	for (size_t i = 0; i < pci_dev_count(); i++) {
		struct pci_dev *o = pci_dev_at(i);
		if (o != dev && attached[i] == d && o->bdf.seg == dev->bdf.seg &&
		    (o->sid == sid || o->dma_alias == sid))
			return true;
	}
	return false;
}

static int attach_locked(struct domain *d, struct pci_dev *dev, struct vtd_unit *u, int idx)
{
	struct vtd_ctx c = { .present = true, .tt = VTD_TT_UNTRANSLATED, .slptptr = d->pt.root_pa,
			     .levels = d->pt.levels, .did = d->did };
	struct vtd_ctx_ret e = vtd_ctx_encode(&c, u->caps.did_bits);
	uint16_t sid[2];
	unsigned n = dev_sids(dev, sid);
	bool write[2] = { false, false };

	if (e.err)
		return e.err;
	if (attached[idx])
		return attached[idx] == d ? 0 : E_BUSY;
	for (unsigned i = 0; i < n; i++) {
		struct vtd_ctx old = vtd_ctx_decode(vtd_unit_ctx_get(u, sid[i]));
		if (old.present && old.did != d->did)
			return E_BUSY;  /* an alias another domain's function uses */
		write[i] = !old.present;
	}
	for (unsigned i = 0; i < n; i++) {
		int err = write[i] ? vtd_unit_ctx_set(u, sid[i], e.e) : 0;
		if (err)
			return err;
	}
	int err = vtd_unit_flush_wb(u);
	if (err)
		return err;
	struct vtd_inv_batch b;
	vtd_inv_begin(&b, u);
	/* Caching mode caches not-present entries too, tagged with domain 0 (6.1): drop them
	 * all; otherwise the entries that were written are enough. */
	if (u->caps.cm)
		vtd_inv_add(&b, vtd_qi_cc_global());
	for (unsigned i = 0; i < n && !u->caps.cm; i++)
		if (write[i])
			vtd_inv_add(&b, vtd_qi_cc_device(d->did, sid[i], 0).d);
	vtd_inv_add(&b, vtd_qi_iotlb_domain(d->did, u->caps.drd, u->caps.dwd));
	err = vtd_inv_run(&b);
	attached[idx] = d;
	d->refs[u->index]++;
	return err;
}

int domain_attach(struct domain *d, struct pci_dev *dev)
{
	struct vtd_unit *u = iommu_unit_for(dev);
	int idx = pci_dev_index(dev);

	if (!u || idx < 0 || idx >= PCI_MAX_DEVS)
		return E_NOENT;
	uint64_t f = spin_lock_irqsave(&lock);
	int err = attach_locked(d, dev, u, idx);
	spin_unlock_irqrestore(&lock, f);
	return err;
}

static int detach_locked(struct domain *d, struct pci_dev *dev, struct vtd_unit *u, int idx)
{
	uint16_t sid[2];
	unsigned n = dev_sids(dev, sid);
	struct vtd_inv_batch b;

	if (attached[idx] != d)
		return E_NOENT;
	vtd_inv_begin(&b, u);
	for (unsigned i = 0; i < n; i++) {
		if (sid_shared(d, dev, sid[i]))
			continue;
		vtd_unit_ctx_clear(u, sid[i]);
		vtd_inv_add(&b, vtd_qi_cc_device(d->did, sid[i], 0).d);
	}
	attached[idx] = NULL;
	d->refs[u->index]--;
	int err = vtd_unit_flush_wb(u);
	vtd_inv_add(&b, vtd_qi_iotlb_domain(d->did, u->caps.drd, u->caps.dwd));
	int e = vtd_inv_run(&b);
	return err ? err : e;
}

static void give_back(void *ctx, uint64_t pa) { iommu_frame_free(pa); }

int domain_destroy(struct domain *d)
{
	uint64_t f = spin_lock_irqsave(&lock);
	int err = 0;

	for (unsigned i = 0; i < IOMMU_MAX_UNITS && !err; i++)
		if (d->refs[i])
			err = E_BUSY;
	if (!err) {
		/* Every function detached: each detach cleared its context entries and
		 * invalidated the context cache and the domain's IOTLB and paging-structure
		 * caches, so no unit can walk these tables any more. */
		slpt_free_tables(&d->pt, give_back);
		d->used = false;
	}
	spin_unlock_irqrestore(&lock, f);
	return err;
}

int domain_detach(struct domain *d, struct pci_dev *dev)
{
	struct vtd_unit *u = iommu_unit_for(dev);
	int idx = pci_dev_index(dev);

	if (!u || idx < 0 || idx >= PCI_MAX_DEVS)
		return E_NOENT;
	uint64_t f = spin_lock_irqsave(&lock);
	int err = detach_locked(d, dev, u, idx);
	spin_unlock_irqrestore(&lock, f);
	return err;
}
