#include "kernel/cpu/vector_alloc.h"
#include "kernel/lib/error.h"
#include "kernel/cpu/vectors.h"

#define FIRST_CLASS     (VEC_DYNAMIC_FIRST >> VECTOR_CLASS_SHIFT)

_Static_assert(VEC_DYNAMIC_FIRST % VECTOR_CLASS_SLOTS == 0 &&
	       (VEC_DYNAMIC_LAST + 1) % VECTOR_CLASS_SLOTS == 0,
	       "the dynamic range is whole priority classes");
_Static_assert((VEC_DYNAMIC_LAST + 1 - VEC_DYNAMIC_FIRST) / VECTOR_CLASS_SLOTS <= 16,
	       "a slot's classes fit free_classes' 16 bits");

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

/* v's slot in its class and its class counted from the first dynamic one. */
static unsigned slot_of(unsigned v) { return v % VECTOR_CLASS_SLOTS; }
static unsigned class_of(unsigned v) { return (v >> VECTOR_CLASS_SHIFT) - FIRST_CLASS; }

static void mark_free(struct vector_map *m, unsigned v)
{
	m->free_classes[slot_of(v)] |= (uint16_t)(1u << class_of(v));
	m->slots |= (uint16_t)(1u << slot_of(v));
	set(m, v, false);
	m->free++;
}

bool vector_map_in_use(const struct vector_map *m, unsigned v)
{
	return v < 256 && (m->bits[v / 64] >> (v % 64) & 1);
}

void vector_map_init(struct vector_map *m)
{
	*m = (struct vector_map){ .bits = { ~0ull, ~0ull, ~0ull, ~0ull } };
	for (unsigned v = VEC_DYNAMIC_FIRST; v <= VEC_DYNAMIC_LAST; v++)
		mark_free(m, v);
}

int vector_map_alloc(struct vector_map *m)
{
	/* Slot k of every class before slot k + 1 of any class: the lowest slot with a free
	 * vector, then its lowest class. The spreading costs nothing over taking the lowest free
	 * vector, so it stays. */
	if (!m->slots)
		return E_NOMEM;
	unsigned s = (unsigned)__builtin_ctz(m->slots);
	unsigned c = (unsigned)__builtin_ctz(m->free_classes[s]);
	unsigned v = (c + FIRST_CLASS) << VECTOR_CLASS_SHIFT | s;

	m->free_classes[s] &= (uint16_t)~(1u << c);
	if (!m->free_classes[s])
		m->slots &= (uint16_t)~(1u << s);
	set(m, v, true);
	m->free--;
	return (int)v;
}

int vector_map_take(struct vector_map *m, unsigned v)
{
	if (!in_range(v))
		return E_INVAL;
	if (vector_map_in_use(m, v))
		return E_BUSY;
	unsigned s = slot_of(v);
	m->free_classes[s] &= (uint16_t)~(1u << class_of(v));
	if (!m->free_classes[s])
		m->slots &= (uint16_t)~(1u << s);
	set(m, v, true);
	m->free--;
	return 0;
}

unsigned vector_map_alloc_many(struct vector_map *m, unsigned n, uint8_t *out)
{
	unsigned got = 0;

	/* vector_map_alloc's order: every free class of the lowest slot, lowest first, then the
	 * next slot; each slot's classes are taken in one go. */
	while (got < n && m->slots) {
		unsigned s = (unsigned)__builtin_ctz(m->slots);
		unsigned classes = m->free_classes[s];
		for (; classes && got < n; classes &= classes - 1) {
			unsigned v = ((unsigned)__builtin_ctz(classes) + FIRST_CLASS) << VECTOR_CLASS_SHIFT | s;
			m->bits[v / 64] |= 1ull << (v % 64);
			out[got++] = (uint8_t)v;
		}
		m->free_classes[s] = (uint16_t)classes;
		if (!classes)
			m->slots &= (uint16_t)~(1u << s);
	}
	m->free -= got;
	return got;
}

/* The dynamic vectors among 64w..64w+63: bits a..b. */
static uint64_t dynamic_in_word(unsigned w)
{
	unsigned lo = w * 64, hi = lo + 63;

	if (hi < VEC_DYNAMIC_FIRST || lo > VEC_DYNAMIC_LAST)
		return 0;
	unsigned a = (lo < VEC_DYNAMIC_FIRST ? VEC_DYNAMIC_FIRST : lo) - lo;
	unsigned b = (hi > VEC_DYNAMIC_LAST ? VEC_DYNAMIC_LAST : hi) - lo;
	return (~0ull >> (63 - b)) & (~0ull << a);
}

int vector_map_free_word(struct vector_map *m, unsigned w, uint64_t mask)
{
	if (w >= 4)
		return E_INVAL;
	if ((mask & ~dynamic_in_word(w)) || (m->bits[w] & mask) != mask)
		return E_INVAL;
	m->bits[w] &= ~mask;
	for (; mask; mask &= mask - 1) {
		unsigned v = w * 64 + (unsigned)__builtin_ctzll(mask);
		m->free_classes[slot_of(v)] |= (uint16_t)(1u << class_of(v));
		m->slots |= (uint16_t)(1u << slot_of(v));
		m->free++;
	}
	return 0;
}

int vector_map_free(struct vector_map *m, unsigned v)
{
	if (!in_range(v) || !vector_map_in_use(m, v))
		return E_INVAL;
	mark_free(m, v);
	return 0;
}
