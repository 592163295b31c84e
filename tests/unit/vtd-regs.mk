UNIT_SRCS_vtd-regs :=
