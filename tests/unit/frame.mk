UNIT_SRCS_frame := kernel/mm/frame.c tests/unit/fake-log.c
