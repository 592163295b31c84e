UNIT_SRCS_vtd-qi-desc := iommu/qi_desc.c iommu/caps.c kernel/lib/fmt.c tests/unit/fake-log.c
