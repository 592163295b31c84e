UNIT_SRCS_iommu-ranges := iommu/ranges.c
