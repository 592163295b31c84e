UNIT_SRCS_dmar := iommu/dmar.c iommu/dmar_print.c kernel/lib/fmt.c
