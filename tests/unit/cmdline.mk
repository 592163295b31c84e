UNIT_SRCS_cmdline := kernel/lib/cmdline.c kernel/lib/fmt.c tests/unit/fake-log.c
