UNIT_SRCS_paging := kernel/mm/paging.c
