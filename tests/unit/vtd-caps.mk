UNIT_SRCS_vtd-caps := iommu/caps.c kernel/fmt.c tests/unit/fake-log.c
