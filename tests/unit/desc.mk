UNIT_SRCS_desc := kernel/desc.c
