TOOL_SRCS_dmar-dump := iommu/dmar.c iommu/dmar_print.c kernel/lib/fmt.c
