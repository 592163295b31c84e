#include "iommu/ir_source.h"
#include "iommu/irte.h"
#include "pci/pci.h"

#define INDEX_LO_BITS 15

struct ir_source ir_source_rid(uint16_t rid)
{
	return (struct ir_source){ .svt = VTD_SVT_SID, .sq = VTD_SQ_ALL, .sid = rid };
}

static bool pcie_to_pci(const struct pci_dev *b)
{
	return b && b->exp.cap && b->exp.type == PCI_EXP_TYPE_PCI_BRIDGE;
}

struct ir_source ir_source_of(const struct pci_dev *d, const struct pci_dev *bridge)
{
	if (d->dma_alias == d->sid)
		return ir_source_rid(d->sid);
	if (pcie_to_pci(bridge) && d->dma_alias == (uint16_t)(bridge->sec_bus << 8))
		return (struct ir_source){ .svt = VTD_SVT_BUS,
					   .sid = vtd_irte_bus_range(bridge->sec_bus,
								     (uint8_t)(d->sid >> 8)) };
	return ir_source_rid(d->dma_alias);
}

uint64_t ioapic_rte_encode(const struct ioapic_rte *r)
{
	uint64_t v = IOAPIC_RTE_FORMAT | r->vector |
		     (uint64_t)(r->index & GENMASK(INDEX_LO_BITS - 1, 0)) <<
			IOAPIC_RTE_INDEX_LO_SHIFT;

	if (r->index >> INDEX_LO_BITS)
		v |= IOAPIC_RTE_INDEX_15;
	if (r->level)
		v |= IOAPIC_RTE_LEVEL;
	if (r->active_low)
		v |= IOAPIC_RTE_POLARITY_LOW;
	if (r->masked)
		v |= IOAPIC_RTE_MASKED;
	return v;
}

bool ioapic_rte_decode(uint64_t v, struct ioapic_rte *out)
{
	if (!(v & IOAPIC_RTE_FORMAT) || (v & IOAPIC_RTE_RSVD))
		return false;
	*out = (struct ioapic_rte){
		.index = (uint16_t)((v & IOAPIC_RTE_INDEX_LO) >> IOAPIC_RTE_INDEX_LO_SHIFT |
				    (v & IOAPIC_RTE_INDEX_15 ? 1u << INDEX_LO_BITS : 0)),
		.vector = v & IOAPIC_RTE_VECTOR,
		.level = v & IOAPIC_RTE_LEVEL,
		.active_low = v & IOAPIC_RTE_POLARITY_LOW,
		.masked = v & IOAPIC_RTE_MASKED,
	};
	return true;
}
