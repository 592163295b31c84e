UNIT_SRCS_acpi_mcfg := kernel/acpi_mcfg.c tests/unit/fake-log.c
