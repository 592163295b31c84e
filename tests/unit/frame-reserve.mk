UNIT_SRCS_frame-reserve := kernel/mm/frame.c tests/unit/fake-log.c
