UNIT_SRCS_acpi_madt := kernel/firmware/acpi_madt.c tests/unit/fake-log.c
