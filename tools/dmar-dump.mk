TOOL_SRCS_dmar-dump := iommu/dmar.c iommu/dmar_print.c kernel/fmt.c
