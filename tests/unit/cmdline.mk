UNIT_SRCS_cmdline := kernel/cmdline.c kernel/fmt.c tests/unit/fake-log.c
