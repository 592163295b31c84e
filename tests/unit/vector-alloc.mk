UNIT_SRCS_vector-alloc := kernel/vector_alloc.c
