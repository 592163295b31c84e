UNIT_SRCS_elf := kernel/elf.c kernel/fmt.c
