UNIT_SRCS_drain-set := kernel/cpu/drain_set.c
