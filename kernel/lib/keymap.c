#include "kernel/lib/keymap.h"

/* Fibonacci hashing: the multiplier spreads keys that differ only in low bits. */
static unsigned home(const struct keymap *m, uint64_t key)
{
	return (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 32) & (m->cap - 1);
}

void keymap_init(struct keymap *m, uint64_t *keys, uint32_t *vals, unsigned cap)
{
	*m = (struct keymap){ .keys = keys, .vals = vals, .cap = cap };
	for (unsigned i = 0; i < cap; i++)
		keys[i] = 0;
}

static unsigned find(const struct keymap *m, uint64_t key)
{
	for (unsigned i = home(m, key), steps = 0; steps < m->cap; i = (i + 1) & (m->cap - 1),
	     steps++) {
		if (m->keys[i] == key)
			return i;
		if (!m->keys[i])
			break;
	}
	return m->cap;
}

uint32_t keymap_get(const struct keymap *m, uint64_t key)
{
	unsigned i = key ? find(m, key) : m->cap;
	return i < m->cap ? m->vals[i] : KEYMAP_NONE;
}

bool keymap_put(struct keymap *m, uint64_t key, uint32_t val)
{
	if (!key || m->n + 1 >= m->cap || find(m, key) < m->cap)
		return false;
	unsigned i = home(m, key);
	while (m->keys[i])
		i = (i + 1) & (m->cap - 1);
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
	return true;
}

/* Knuth's algorithm R (TAOCP 6.4): refill the hole with a later entry whose home slot does
 * not lie cyclically in (hole, its slot], so every key stays reachable from its home. */
bool keymap_remove(struct keymap *m, uint64_t key)
{
	unsigned hole = key ? find(m, key) : m->cap;
	if (hole >= m->cap)
		return false;
	unsigned mask = m->cap - 1;
	for (unsigned j = (hole + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
		unsigned h = home(m, m->keys[j]);
		bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
		if (stays)
			continue;
		m->keys[hole] = m->keys[j];
		m->vals[hole] = m->vals[j];
		hole = j;
	}
	m->keys[hole] = 0;
	m->n--;
	return true;
}
