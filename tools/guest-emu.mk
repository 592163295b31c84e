# guest-emu runs guests as Linux processes with the hypercalls emulated, so the guest side is
# tested without the hypervisor (tools/guest-emu-check). Built without sanitizers: the children
# it forks hold guest memory at the guests' fixed low addresses and are traced with ptrace.
TOOL_SRCS_guest-emu := kernel/lib/elf.c kernel/lib/fmt.c
TOOL_CFLAGS_guest-emu := -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter -I. -DHOST_BUILD

.PHONY: guests-check
guests-check: guests tools
	@tools/guest-emu-check $(BUILD)
