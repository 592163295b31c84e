UNIT_SRCS_msi-msg := msi/msi_msg.c
