UNIT_SRCS_vtd-fault := iommu/fault_record.c kernel/lib/fmt.c tests/unit/fake-log.c
