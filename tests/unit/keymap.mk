UNIT_SRCS_keymap := kernel/lib/keymap.c
