UNIT_SRCS_fmt := kernel/fmt.c
