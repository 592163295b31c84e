# Courier build. `make` builds the hypervisor ELF, the boot ISO and the host tools;
# `make run` boots it under QEMU; `make test` runs every unit and QEMU test; `make fuzz` runs
# the fuzz harnesses for longer (tests/fuzz/fuzz.mk).
# See README.md for the variables each target takes.

BUILD     ?= build
CC        ?= gcc
HOSTCC    ?= gcc
NASM      ?= nasm
LD        ?= ld
PYTHON    ?= python3
CMDLINE   ?= selftest=smp exit=idle

.DEFAULT_GOAL := all

# ---- the hypervisor -------------------------------------------------------------------------

HV_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror=implicit-function-declaration \
	-Wno-unused-parameter -ffreestanding -fno-builtin -fno-stack-protector -fno-pic -fno-pie \
	-mno-red-zone -mno-mmx -mno-sse -mno-sse2 -mno-80387 -mcmodel=kernel -mgeneral-regs-only \
	-fno-omit-frame-pointer -fno-optimize-sibling-calls -fno-common -nostdinc \
	-isystem $(shell $(CC) -print-file-name=include) -I. -MMD -MP
HV_LDFLAGS := -nostdlib -static -no-pie -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments \
	-T linker.ld

# Every C file below kernel/, pci/, iommu/ and msi/, and the in-machine self-tests (but the
# offsets file below, which is not linked).
OFFSETS_SRC := kernel/guest/msg_entry_offsets.c
HV_C_DIRS   := kernel pci iommu msi tests/selftest
HV_C_SRCS   := $(filter-out $(OFFSETS_SRC),$(sort $(shell find $(HV_C_DIRS) -name '*.c')))
HV_ASM_SRCS := $(sort $(wildcard boot/*.asm))
HV_OBJS     := $(HV_ASM_SRCS:%.asm=$(BUILD)/hv/%.o) $(HV_C_SRCS:%.c=$(BUILD)/hv/%.o) \
	$(BUILD)/hv/gen/font.o

# The framebuffer console's font, made at build time from GRUB's (grub-common, a dependency of
# the boot ISO): no font is kept in the tree. FONT= picks another PF2 file.
FONT ?= /usr/share/grub/ascii.pf2
$(BUILD)/gen/font.c: $(FONT) scripts/pf2font
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  PF2FONT $@")
	$(Q)$(PYTHON) scripts/pf2font $(FONT) $@

# V=1 shows the commands.
Q := $(if $(V),,@)

$(BUILD)/hv/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(HV_CFLAGS) -c $< -o $@

$(BUILD)/hv/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(HV_CFLAGS) -c $< -o $@

# NASM 2.16's -MD leaves the %include files out of the dependencies; -M alone lists them.
$(BUILD)/hv/%.o: %.asm $(BUILD)/hv/gen/msg_entry_offsets.inc
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  NASM    $<")
	$(Q)$(NASM) -I boot/ -I $(BUILD)/hv/gen/ -M -MT $@ -MP $< > $(@:.o=.d)
	$(Q)$(NASM) -f elf64 -g -F dwarf -I boot/ -I $(BUILD)/hv/gen/ $< -o $@

# The C structures' offsets boot/msg_entry.asm reads, as NASM %defines, from the compiler
# (kernel/guest/msg_entry_offsets.c); one per build, as each compiles its own structures.
OFFSETS_SED := 's/^[[:space:]]*\# @@OFFSET \([A-Z0-9_]*\) \([0-9]*\)$$/%define \1 \2/p'
$(BUILD)/hv/gen/msg_entry_offsets.inc: $(OFFSETS_SRC)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  OFFSETS $@")
	$(Q)$(CC) $(HV_CFLAGS) -MF $(@:.inc=.d) -MT $@ -S $< -o $@.s
	$(Q)sed -n $(OFFSETS_SED) $@.s > $@.tmp
	$(Q)test $$(grep -c '@@OFFSET' $@.s) = $$(wc -l < $@.tmp) || \
		{ echo "$@: an offset that is not a plain number"; exit 1; }
	$(Q)mv $@.tmp $@ && rm $@.s

$(BUILD)/courier.elf: $(HV_OBJS) linker.ld
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LD) $(HV_LDFLAGS) $(HV_OBJS) -o $@

# The ISO's GRUB menu boots courier.elf with CMDLINE; the same cmdline rebuilds only the ISO.
$(BUILD)/courier.iso: $(BUILD)/courier.elf scripts/mkiso FORCE
	@scripts/mkiso $@ $(BUILD)/courier.elf '$(CMDLINE)'

# The same hypervisor with the bench time stamps (-DBENCH: kernel/guest/bench.h), for `make bench`.
BENCH_HV_OBJS := $(HV_OBJS:$(BUILD)/hv/%=$(BUILD)/bench-hv/%)

$(BUILD)/bench-hv/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (bench)")
	$(Q)$(CC) $(HV_CFLAGS) -DBENCH -c $< -o $@

$(BUILD)/bench-hv/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (bench)")
	$(Q)$(CC) $(HV_CFLAGS) -DBENCH -c $< -o $@

$(BUILD)/bench-hv/%.o: %.asm $(BUILD)/bench-hv/gen/msg_entry_offsets.inc
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  NASM    $< (bench)")
	$(Q)$(NASM) -DBENCH -I boot/ -I $(BUILD)/bench-hv/gen/ -M -MT $@ -MP $< > $(@:.o=.d)
	$(Q)$(NASM) -f elf64 -g -F dwarf -DBENCH -I boot/ -I $(BUILD)/bench-hv/gen/ $< -o $@

$(BUILD)/bench-hv/gen/msg_entry_offsets.inc: $(OFFSETS_SRC)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  OFFSETS $@ (bench)")
	$(Q)$(CC) $(HV_CFLAGS) -DBENCH -MF $(@:.inc=.d) -MT $@ -S $< -o $@.s
	$(Q)sed -n $(OFFSETS_SED) $@.s > $@.tmp
	$(Q)test $$(grep -c '@@OFFSET' $@.s) = $$(wc -l < $@.tmp) || \
		{ echo "$@: an offset that is not a plain number"; exit 1; }
	$(Q)mv $@.tmp $@ && rm $@.s

$(BUILD)/bench-hv/courier.elf: $(BENCH_HV_OBJS) linker.ld
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LD) $(HV_LDFLAGS) $(BENCH_HV_OBJS) -o $@

# ---- host unit tests and tools --------------------------------------------------------------

HOST_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Wno-unused-parameter -I. -DHOST_BUILD \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# Host binaries link several sources in one compiler call, so per-file dependency files do not
# work for them: they depend on every header instead (they are small and build in seconds).
HOST_HDRS := $(shell find kernel pci iommu msi include tests/unit tools/lib -name '*.h')

# A unit test tests/unit/NAME-test.c links the files listed in tests/unit/NAME.mk as
# UNIT_SRCS_NAME (the file under test and its fakes), coreboot-style: one binary per unit.
UNIT_NAMES := $(patsubst tests/unit/%-test.c,%,$(sort $(wildcard tests/unit/*-test.c)))
UNIT_BINS  := $(UNIT_NAMES:%=$(BUILD)/host/tests/%-test)
-include $(wildcard tests/unit/*.mk)

define unit_rule
$(BUILD)/host/tests/$(1)-test: tests/unit/$(1)-test.c $$(UNIT_SRCS_$(1)) $$(HOST_HDRS)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  HOSTCC  $$@")
	$$(Q)$$(HOSTCC) $$(HOST_CFLAGS) $$(filter %.c,$$^) -o $$@ -lcmocka
endef
$(foreach u,$(UNIT_NAMES),$(eval $(call unit_rule,$(u))))

# A host tool tools/NAME.c links the files listed in tools/NAME.mk as TOOL_SRCS_NAME, built
# with TOOL_CFLAGS_NAME where the .mk sets it (else HOST_CFLAGS).
TOOL_NAMES := $(patsubst tools/%.c,%,$(sort $(wildcard tools/*.c)))
TOOL_BINS  := $(TOOL_NAMES:%=$(BUILD)/host/%)
-include $(wildcard tools/*.mk)

define tool_rule
$(BUILD)/host/$(1): tools/$(1).c $$(TOOL_SRCS_$(1)) $$(HOST_HDRS)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  HOSTCC  $$@")
	$$(Q)$$(HOSTCC) $$(or $$(TOOL_CFLAGS_$(1)),$$(HOST_CFLAGS)) $$(filter %.c,$$^) -o $$@
endef
$(foreach t,$(TOOL_NAMES),$(eval $(call tool_rule,$(t))))

# ---- guests: newlib, the runtime and the programs (guests/guests.mk) -------------------------

GUEST_ELFS :=
-include guests/guests.mk

# ---- libFuzzer harnesses (tests/fuzz/fuzz.mk): make fuzz [FUZZ_SECONDS=n] --------------------

include tests/fuzz/fuzz.mk

# ---- top-level targets ----------------------------------------------------------------------

.PHONY: all deps hv iso unit tools guests test run debug bench check-layers compile_commands \
	clean FORCE

all: hv iso tools unit guests fuzzers

hv: $(BUILD)/courier.elf
iso: $(BUILD)/courier.iso
tools: $(TOOL_BINS)
unit: $(UNIT_BINS)
guests: $(GUEST_ELFS)

deps:
	@scripts/deps

# Includes point down the layers (docs/architecture.md); tests/run.py runs this too.
check-layers:
	@$(PYTHON) scripts/check-layers

# make test [ONLY=pattern] [ACCEL=kvm|tcg] [JOBS=n]
test: deps
	@$(MAKE) --no-print-directory all
	@$(PYTHON) tests/run.py $(if $(ONLY),--only '$(ONLY)') $(if $(ACCEL),--accel $(ACCEL)) \
		$(if $(JOBS),--jobs $(JOBS))

# make bench [BENCH_ONLY=pattern] [BENCH_ARGS='...']: the bench scenarios (scripts/bench.py,
#            docs/bench.md) on the bench build of the hypervisor; CSV files, a Markdown table
#            and plots in $(BUILD)/bench/. Not part of `make test`.
bench: deps
	@$(MAKE) --no-print-directory hv guests $(BUILD)/bench-hv/courier.elf
	@$(PYTHON) scripts/bench.py --out $(BUILD)/bench $(if $(BENCH_ONLY),--only '$(BENCH_ONLY)') \
		$(BENCH_ARGS)

# make run [SCENARIO=name] [SMP=n] [MEM=MiB] [ACCEL=kvm|tcg] [CMDLINE_EXTRA=...] [QEMU_EXTRA=...]
#          [KEEP=1]: boots scenarios/$(SCENARIO).scn (default: the seed scenario); SCENARIO= (empty)
#          boots the hypervisor alone with CMDLINE.
#          The console is kept in $(BUILD)/run/console.log, and scripts/pictures draws the routes
#          and a timeline of deliveries from it into $(BUILD)/run/ (printing their paths).
SCENARIO ?= seed
run: deps
	@$(MAKE) --no-print-directory $(if $(SCENARIO),all,hv)
	@$(PYTHON) scripts/run.py $(if $(SMP),--smp $(SMP)) $(if $(MEM),--mem $(MEM)) \
		$(if $(ACCEL),--accel $(ACCEL)) $(if $(KEEP),--keep) --log $(BUILD)/run/console.log \
		$(if $(SCENARIO),--scenario $(SCENARIO) $(if $(strip $(CMDLINE_EXTRA)),--cmdline '$(CMDLINE_EXTRA)'),\
		--cmdline '$(CMDLINE) $(CMDLINE_EXTRA)') -- $(QEMU_EXTRA); \
	status=$$?; $(PYTHON) scripts/pictures $(BUILD)/run/console.log $(BUILD)/run; exit $$status

# make debug: QEMU waits for GDB on :1234; in another terminal: gdb -x scripts/gdbinit
debug: deps
	@$(MAKE) --no-print-directory hv
	@$(PYTHON) scripts/run.py --keep --accel tcg --gdb $(if $(SMP),--smp $(SMP)) \
		--cmdline '$(CMDLINE) $(CMDLINE_EXTRA)' -- $(QEMU_EXTRA)

compile_commands:
	@command -v bear >/dev/null || { echo "install bear for compile_commands.json"; exit 1; }
	$(MAKE) clean && bear -- $(MAKE) all

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
