UNIT_SRCS_vtd-context := iommu/context.c
