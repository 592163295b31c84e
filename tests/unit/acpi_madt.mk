UNIT_SRCS_acpi_madt := kernel/acpi_madt.c tests/unit/fake-log.c
