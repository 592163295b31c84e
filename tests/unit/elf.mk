UNIT_SRCS_elf := kernel/lib/elf.c kernel/lib/fmt.c
