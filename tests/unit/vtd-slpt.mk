UNIT_SRCS_vtd-slpt := iommu/slpt.c
