UNIT_SRCS_acpi_hpet := kernel/firmware/acpi_hpet.c tests/unit/fake-log.c
