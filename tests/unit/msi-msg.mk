UNIT_SRCS_msi-msg := kernel/arch/msi_msg.c
