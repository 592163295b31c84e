UNIT_SRCS_vtd-irte := iommu/irte.c
