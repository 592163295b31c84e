/*
 * The device vectors of one CPU: [VEC_DYNAMIC_FIRST, VEC_DYNAMIC_LAST] (kernel/cpu/vectors.h).
 * Pure; kernel/cpu/irq.c keeps one per CPU, so the same vector number can mean different things
 * on different CPUs.
 */
#ifndef COURIER_KERNEL_CPU_VECTOR_ALLOC_H
#define COURIER_KERNEL_CPU_VECTOR_ALLOC_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

#define VECTOR_CLASS_SHIFT      4       /* SDM vol. 3 10.8.3.1: priority class = vector >> 4 */
#define VECTOR_CLASS_SLOTS      (1u << VECTOR_CLASS_SHIFT)

struct vector_map {
	uint64_t bits[4];       /* bit v set: vector v in use (or outside the dynamic range) */
	/* The same free vectors indexed for allocation: bit c of free_classes[s] set when slot s
	 * of the c-th dynamic class is free; bit s of slots set when free_classes[s] is not 0. */
	uint16_t free_classes[VECTOR_CLASS_SLOTS];
	uint16_t slots;
	unsigned free;
};

void vector_map_init(struct vector_map *m);
/*
 * A free vector, or E_NOMEM. Vectors are handed out round-robin over the priority classes
 * (vector >> 4), lowest class first, so that the devices of one CPU spread over the classes
 * the way Linux spreads them (SDM vol. 3 10.8.3: one class is served at a time). Constant
 * time: two count-trailing-zeros, whatever is allocated.
 */
int vector_map_alloc(struct vector_map *m) __must_check;
/* Vector v in particular (one free on several CPUs at once: irq.c's shared vectors): E_INVAL
 * outside the dynamic range, E_BUSY when it is in use. */
int vector_map_take(struct vector_map *m, unsigned v) __must_check;
/* Up to n free vectors into out, the ones n calls of vector_map_alloc would give in the same
 * order, each slot's classes taken in one go: how many (fewer when the map runs out). */
unsigned vector_map_alloc_many(struct vector_map *m, unsigned n, uint8_t *out) __must_check;
/* Free the vectors 64w + i for each bit i of mask, at once; E_INVAL, and nothing freed, when
 * one of them is outside the dynamic range or not in use. */
int vector_map_free_word(struct vector_map *m, unsigned w, uint64_t mask) __must_check;
/* E_INVAL for a vector outside the dynamic range or not in use. */
int vector_map_free(struct vector_map *m, unsigned v) __must_check;
bool vector_map_in_use(const struct vector_map *m, unsigned v);

#endif
