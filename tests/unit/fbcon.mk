UNIT_SRCS_fbcon := kernel/cpu/fbcon.c
