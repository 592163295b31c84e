UNIT_SRCS_acpi := kernel/acpi.c tests/unit/fake-log.c
