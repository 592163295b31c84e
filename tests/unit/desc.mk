UNIT_SRCS_desc := kernel/arch/desc.c
