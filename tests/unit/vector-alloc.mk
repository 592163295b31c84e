UNIT_SRCS_vector-alloc := kernel/cpu/vector_alloc.c
