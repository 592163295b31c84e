#include "kernel/cpu/vector_alloc.h"
#include "kernel/lib/error.h"
#include "kernel/cpu/vectors.h"

#define CLASS_SHIFT     4
#define CLASS_SIZE      (1u << CLASS_SHIFT)

static bool in_range(unsigned v)
{
	return v >= VEC_DYNAMIC_FIRST && v <= VEC_DYNAMIC_LAST;
}

static void set(struct vector_map *m, unsigned v, bool on)
{
	if (on)
		m->bits[v / 64] |= 1ull << (v % 64);
	else
		m->bits[v / 64] &= ~(1ull << (v % 64));
}

bool vector_map_in_use(const struct vector_map *m, unsigned v)
{
	return v < 256 && (m->bits[v / 64] >> (v % 64) & 1);
}

void vector_map_init(struct vector_map *m)
{
	m->free = 0;
	for (unsigned v = 0; v < 256; v++) {
		set(m, v, !in_range(v));
		m->free += in_range(v);
	}
}

int vector_map_alloc(struct vector_map *m)
{
	/* Slot k of every class before slot k + 1 of any class. */
	for (unsigned slot = 0; slot < CLASS_SIZE; slot++)
		for (unsigned v = VEC_DYNAMIC_FIRST + slot; v <= VEC_DYNAMIC_LAST; v += CLASS_SIZE)
			if (!vector_map_in_use(m, v)) {
				set(m, v, true);
				m->free--;
				return (int)v;
			}
	return E_NOMEM;
}

int vector_map_free(struct vector_map *m, unsigned v)
{
	if (!in_range(v) || !vector_map_in_use(m, v))
		return E_INVAL;
	set(m, v, false);
	m->free++;
	return 0;
}
