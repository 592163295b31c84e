/*
 * DMA-remapping domains (VT-d spec 3.4, 9.3, 9.8): a domain is a domain id and one second-level
 * page table; functions attached to it translate their DMA through that table. This is the
 * interface the rest of the hypervisor (guests, later) uses.
 *
 * One table serves every unit: iommu_init() picks one level count that every enabled unit
 * supports for the address width in use, and the superpage sizes all of them have, so a
 * domain may hold functions behind different units. Domain ids are global too, from 1 (0 is
 * what caching-mode units tag not-present entries with, 9.3).
 *
 * A function attached to no domain has no present context entry: its DMA faults. Mappings of
 * the hypervisor's own memory (iommu/mem.h) are refused.
 */
#ifndef COURIER_IOMMU_DOMAIN_H
#define COURIER_IOMMU_DOMAIN_H

#include <stdint.h>
#include "kernel/lib/compiler.h"
#include "iommu/slpt.h"

struct domain;
struct pci_dev;

#define DOMAIN_MAX      64

/* Access a mapping allows. */
#define DMA_READ        SLPT_R
#define DMA_WRITE       SLPT_W

/* Called once by iommu_init() with what every unit supports. */
void domain_setup(unsigned levels, uint8_t sllps, uint32_t did_limit, unsigned iova_bits);

/* A new, empty domain; NULL (logged) when the IOMMU is off or out of ids or memory. */
struct domain *domain_create(void);
uint16_t domain_id(const struct domain *d);

/*
 * Map [iova, iova+size) to [pa, pa+size) with prot (DMA_READ and/or DMA_WRITE), using
 * superpages where alignment allows. E_INVAL: misaligned or empty; E_RANGE: past the IOVA
 * width; E_EXIST: something in the range is mapped; E_PERM: pa reaches hypervisor memory;
 * E_NOMEM. On caching-mode units the new range is invalidated too (6.1).
 */
int domain_map(struct domain *d, uint64_t iova, uint64_t pa, uint64_t size, uint64_t prot)
	__must_check;
/* Unmap whatever [iova, iova+size) holds and invalidate it (page-selective where the unit
 * can) on every unit the domain is attached to. */
int domain_unmap(struct domain *d, uint64_t iova, uint64_t size) __must_check;
/* Where iova leads: slpt_lookup() on the domain's table. */
struct slpt_walk domain_lookup(const struct domain *d, uint64_t iova);

/*
 * Attach a function: context entries on the unit that covers it, for its own requester id
 * and for its DMA alias (a PCIe-to-PCI bridge's secondary bus, a conventional bridge's id),
 * then context-cache and IOTLB invalidation. E_BUSY when it, or another domain's function
 * sharing its alias, is attached elsewhere (detach first); E_NOENT when no unit covers it.
 */
int domain_attach(struct domain *d, struct pci_dev *dev) __must_check;
/* Detach: its context entries go (an alias stays while a function of the same domain uses
 * it), then the context cache and the domain's IOTLB entries are invalidated. */
int domain_detach(struct domain *d, struct pci_dev *dev) __must_check;
/* The domain a function is attached to, or NULL. */
struct domain *domain_of(const struct pci_dev *dev);
/* Give a domain back once nothing is attached to it (E_BUSY otherwise): its tables return to
 * the IOMMU's pools and its slot and id are used again. */
int domain_destroy(struct domain *d) __must_check;

#endif
