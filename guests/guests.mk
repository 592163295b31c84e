# Guests (docs/guests.md): newlib once into $(BUILD)/newlib, the runtime guests/lib into
# $(BUILD)/guests/libcourier.a, and each guests/NAME/*.c into $(BUILD)/guests/NAME.elf.
# Included by the Makefile, which builds $(GUEST_ELFS) for `make guests` and `make all`.

GUEST_NAMES := $(patsubst guests/%/main.c,%,$(sort $(wildcard guests/*/main.c)))
GUEST_ELFS  := $(GUEST_NAMES:%=$(BUILD)/guests/%.elf)

NEWLIB_DIR   := $(BUILD)/newlib
NEWLIB_STAMP := $(NEWLIB_DIR)/stamp
NEWLIB_LIBC  := $(NEWLIB_DIR)/x86_64-elf/lib/libc.a

# Ring 3, static, non-PIE at 0x400000. No FPU or SSE in compiled code: newlib is built
# without them (scripts/build-newlib). The hypervisor saves each guest's x87/SSE state
# (kernel/arch/fpu.h), so guests that use them by hand (fpu, crash) are safe. No stack
# protector: it reads %fs:0x28 and guests have no TLS.
GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter \
	-Werror=implicit-function-declaration -mgeneral-regs-only -fno-pic -fno-pie \
	-fno-stack-protector -U_FORTIFY_SOURCE -ffunction-sections -fdata-sections \
	-nostdinc -isystem $(NEWLIB_DIR)/x86_64-elf/include \
	-isystem $(shell $(CC) -print-file-name=include) -Iinclude -Iguests/lib -MMD -MP
GUEST_LDS := $(BUILD)/guests/guest.ld
GUEST_LDFLAGS := -nostdlib -static -no-pie -T $(GUEST_LDS) -Wl,--gc-sections \
	-Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack -Wl,--build-id=none -Wl,--undefined=_start
GUEST_LIBGCC := $(shell $(CC) -print-libgcc-file-name)

GUEST_LIB      := $(BUILD)/guests/libcourier.a
GUEST_LIB_SRCS := $(sort $(filter-out %.ld.S,$(wildcard guests/lib/*.c guests/lib/*.S)))
GUEST_LIB_OBJS := $(GUEST_LIB_SRCS:%=$(BUILD)/%.o)

# Any FPU, MMX or SSE instruction in a linked guest is a build error (objdump's AT&T syntax:
# x87 mnemonics start with f, SIMD operands are %mm/%xmm/%ymm/%zmm), except in the guests
# listed in GUEST_FP_ALLOWED, which use them on purpose (crash, fpu).
GUEST_FP_ALLOWED := crash fpu
GUEST_FP_INSN := %[xyz]?mm[0-9]|%st\b|^ *[0-9a-f]+:[[:space:]]+(f[a-z0-9]+|[ls]dmxcsr|emms)\b
# $(call guest_fp_check,NAME,ELF): prints the first offending instructions and fails.
guest_fp_check = $(if $(filter $(1),$(GUEST_FP_ALLOWED)),true,\
	! objdump -d --no-show-raw-insn $(2) | grep -E '$(GUEST_FP_INSN)' | head -n 5 | grep . \
	|| { echo "$(2): floating-point instructions in a guest (docs/guests.md)"; \
	rm -f $(2); exit 1; })

# The linker script takes the load address from include/courier/layout.h through the C
# preprocessor (__ASSEMBLER__: integer constants without C suffixes).
$(GUEST_LDS): guests/lib/guest.ld.S include/courier/layout.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CPP     $@")
	$(Q)$(CC) -E -P -undef -x assembler-with-cpp -D__ASSEMBLER__ -Iinclude $< -o $@

# Built once; delete $(NEWLIB_DIR) to rebuild.
$(NEWLIB_STAMP):
	@scripts/build-newlib $(NEWLIB_DIR)

$(BUILD)/guests/%.c.o: guests/%.c $(NEWLIB_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GUESTCC $<")
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guests/%.S.o: guests/%.S $(NEWLIB_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GUESTAS $<")
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_LIB): $(GUEST_LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

define guest_rule
$(BUILD)/guests/$(1).elf: $(patsubst %,$(BUILD)/%.o,$(sort $(wildcard guests/$(1)/*.c))) \
		$(GUEST_LIB) $(GUEST_LDS)
	@$$(if $$(Q),echo "  GUESTLD $$@")
	$$(Q)$$(CC) $$(GUEST_LDFLAGS) $$(filter %.o,$$^) -Wl,--start-group $(GUEST_LIB) \
		$(NEWLIB_LIBC) $(GUEST_LIBGCC) -Wl,--end-group -o $$@
	$$(Q)$$(call guest_fp_check,$(1),$$@)
endef
$(foreach g,$(GUEST_NAMES),$(eval $(call guest_rule,$(g))))
