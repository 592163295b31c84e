# libFuzzer harnesses (included by the Makefile). Each tests/fuzz/NAME-fuzz.c is built with
# clang into $(BUILD)/fuzz/NAME-fuzz, linked with the parser it drives (FUZZ_SRCS_NAME below).
#
#   make fuzz [FUZZ_SECONDS=n]    runs every harness for n seconds (default 60), one after the
#                                 other; fails if one crashed
#   make fuzz-NAME [FUZZ_SECONDS=n]   runs one
#
# A harness's corpus is $(BUILD)/fuzz/corpus/NAME, kept from run to run and seeded with the
# inputs of $(BUILD)/fuzz/seeds/NAME: the real DMAR tables of tests/data/acpi/dmar for dmar,
# the guests for elf, and what tests/fuzz/seeds.py writes for the others. The log is
# $(BUILD)/fuzz/NAME.log and a crashing input $(BUILD)/fuzz/NAME-crash-*; run the harness on
# that file to replay it. `make all` builds the harnesses and seeds, and tests/run.py runs
# each harness for a few seconds as one test (fuzz.NAME).

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -Wall -Wextra -Wno-unused-parameter -I. -DHOST_BUILD \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# Each input may take this long before libFuzzer reports a hang (seconds).
FUZZ_INPUT_TIMEOUT := 10

FUZZ_NAMES := $(patsubst tests/fuzz/%-fuzz.c,%,$(sort $(wildcard tests/fuzz/*-fuzz.c)))
FUZZ_BINS  := $(FUZZ_NAMES:%=$(BUILD)/fuzz/%-fuzz)
FUZZ_SEEDS := $(BUILD)/fuzz/seeds

# The parsers' sources as their unit tests link them (tests/unit/*.mk; recursive variables,
# so the order of the includes does not matter).
FUZZ_SRCS_acpi       = $(sort $(UNIT_SRCS_acpi) $(UNIT_SRCS_acpi_madt) $(UNIT_SRCS_acpi_mcfg))
FUZZ_SRCS_dmar       = $(UNIT_SRCS_dmar)
FUZZ_SRCS_elf        = $(UNIT_SRCS_elf)
FUZZ_SRCS_multiboot2 = $(UNIT_SRCS_multiboot2)
FUZZ_SRCS_cmdline    = $(UNIT_SRCS_cmdline) kernel/options.c
FUZZ_SRCS_module-cmdline = $(sort $(UNIT_SRCS_cmdline) pci/bdf.c)
# The PCI machine of the input: tests/fuzz/pci-space.c.
FUZZ_SRCS_pci-caps   = $(UNIT_SRCS_pci-random) tests/fuzz/pci-space.c
FUZZ_SRCS_dmar-topology = $(sort $(UNIT_SRCS_vtd-topology) tests/unit/pci-table-check.c \
	tests/fuzz/pci-space.c)

define fuzz_rule
$(BUILD)/fuzz/$(1)-fuzz: tests/fuzz/$(1)-fuzz.c $$(FUZZ_SRCS_$(1)) $$(HOST_HDRS) \
		$$(wildcard tests/fuzz/*.h)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  FUZZCC  $$@")
	$$(Q)$$(FUZZ_CC) $$(FUZZ_CFLAGS) $$(filter %.c,$$^) -o $$@

.PHONY: fuzz-$(1)
fuzz-$(1): $(BUILD)/fuzz/$(1)-fuzz $(FUZZ_SEEDS)/stamp
	@mkdir -p $(BUILD)/fuzz/corpus/$(1)
	@cp -n $(FUZZ_SEEDS)/$(1)/* $(BUILD)/fuzz/corpus/$(1)/ 2>/dev/null || true
	@echo "  FUZZ    $(1) for $$(FUZZ_SECONDS) s"
	@if $(BUILD)/fuzz/$(1)-fuzz -max_total_time=$$(FUZZ_SECONDS) \
		-timeout=$(FUZZ_INPUT_TIMEOUT) -print_final_stats=1 \
		-artifact_prefix=$(BUILD)/fuzz/$(1)- $(BUILD)/fuzz/corpus/$(1) \
		>$(BUILD)/fuzz/$(1).log 2>&1; then \
		echo "fuzz $(1): $$$$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) .*/\1 runs in \2 s/p' \
			$(BUILD)/fuzz/$(1).log), corpus $$$$(ls $(BUILD)/fuzz/corpus/$(1) | wc -l) \
			inputs, no crash"; \
	else \
		sed -n '/^==[0-9]*==\|runtime error:\|^ERROR: libFuzzer/,$$$$p' \
			$(BUILD)/fuzz/$(1).log | head -n 60; \
		echo "fuzz $(1): FAILED (log $(BUILD)/fuzz/$(1).log; the input: $(BUILD)/fuzz/$(1)-*)"; \
		exit 1; \
	fi
endef
$(foreach f,$(FUZZ_NAMES),$(eval $(call fuzz_rule,$(f))))

# Rebuilt whole when a source of seeds changes.
$(FUZZ_SEEDS)/stamp: tests/fuzz/seeds.py $(wildcard tests/data/acpi/dmar/*.bin) $(GUEST_ELFS)
	@$(if $(Q),echo "  SEEDS   $(FUZZ_SEEDS)")
	$(Q)rm -rf $(FUZZ_SEEDS) && mkdir -p $(FUZZ_SEEDS)/dmar $(FUZZ_SEEDS)/elf
	$(Q)$(PYTHON) tests/fuzz/seeds.py $(FUZZ_SEEDS)
	$(Q)cp $(wildcard tests/data/acpi/dmar/*.bin) $(FUZZ_SEEDS)/dmar/
	$(Q)cp $(GUEST_ELFS) $(FUZZ_SEEDS)/elf/
	$(Q)touch $@

.PHONY: fuzz fuzzers
fuzzers: $(FUZZ_BINS) $(FUZZ_SEEDS)/stamp
# One after the other, even under make -j: each harness takes a core for FUZZ_SECONDS.
fuzz: fuzzers
	@rc=0; for f in $(FUZZ_NAMES); do \
		$(MAKE) --no-print-directory fuzz-$$f FUZZ_SECONDS=$(FUZZ_SECONDS) || rc=1; \
	done; exit $$rc
