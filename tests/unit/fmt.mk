UNIT_SRCS_fmt := kernel/lib/fmt.c
