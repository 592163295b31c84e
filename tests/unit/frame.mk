UNIT_SRCS_frame := kernel/frame.c tests/unit/fake-log.c
