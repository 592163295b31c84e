/* The VT-d register hook of iommu/regs.h over a unit's MMIO mapping (host tests fake it). */
#include "iommu/regs.h"
#include "kernel/arch/mmio.h"

uint32_t vtd_read32(const struct vtd_regs *u, struct vtd_reg32 r)
{
	return mmio_read32(u->base + r.off);
}

uint64_t vtd_read64(const struct vtd_regs *u, struct vtd_reg64 r)
{
	return mmio_read64(u->base + r.off);
}

void vtd_write32(const struct vtd_regs *u, struct vtd_reg32 r, uint32_t v)
{
	mmio_write32(u->base + r.off, v);
}

void vtd_write64(const struct vtd_regs *u, struct vtd_reg64 r, uint64_t v)
{
	mmio_write64(u->base + r.off, v);
}
