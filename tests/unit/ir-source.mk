UNIT_SRCS_ir-source := iommu/ir_source.c iommu/irte.c
