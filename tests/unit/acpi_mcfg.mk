UNIT_SRCS_acpi_mcfg := kernel/firmware/acpi_mcfg.c tests/unit/fake-log.c
