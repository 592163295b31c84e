UNIT_SRCS_irte-alloc := iommu/irte_alloc.c
