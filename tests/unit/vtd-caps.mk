UNIT_SRCS_vtd-caps := iommu/caps.c kernel/lib/fmt.c tests/unit/fake-log.c
