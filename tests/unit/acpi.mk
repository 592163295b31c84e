UNIT_SRCS_acpi := kernel/firmware/acpi.c tests/unit/fake-log.c
