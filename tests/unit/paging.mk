UNIT_SRCS_paging := kernel/paging.c
