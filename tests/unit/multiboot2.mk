UNIT_SRCS_multiboot2 := kernel/firmware/multiboot2.c tests/unit/fake-log.c
