UNIT_SRCS_dmar-assign := tools/lib/dmar_assign.c iommu/topology.c iommu/dmar.c pci/pci.c pci/bdf.c kernel/lib/fmt.c tests/unit/fake-log.c
