UNIT_SRCS_multiboot2 := kernel/multiboot2.c tests/unit/fake-log.c
