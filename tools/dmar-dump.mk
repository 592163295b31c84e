TOOL_SRCS_dmar-dump := iommu/dmar.c iommu/dmar_print.c kernel/lib/fmt.c tools/lib/dmar_assign.c \
	iommu/topology.c pci/pci.c pci/bdf.c kernel/lib/log.c
