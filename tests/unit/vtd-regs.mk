UNIT_SRCS_vtd-regs := iommu/regs_mmio.c
