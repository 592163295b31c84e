/*
 * A fixed-size map from a nonzero 64-bit key to a 32-bit value: open addressing with linear
 * probing, deletion by shifting the entries that follow back (no tombstones, so a map that
 * sees millions of inserts and removals never slows down). The caller gives the storage;
 * capacity is a power of two and should be at least twice the entries it will hold.
 * Lookup, insert and remove cost O(1) expected. No locking: the caller's lock covers it.
 */
#ifndef COURIER_KERNEL_LIB_KEYMAP_H
#define COURIER_KERNEL_LIB_KEYMAP_H

#include <stdbool.h>
#include <stdint.h>

#define KEYMAP_NONE     UINT32_MAX      /* keymap_get: no such key */

struct keymap {
	uint64_t *keys;         /* 0: empty slot */
	uint32_t *vals;
	unsigned cap;           /* a power of two */
	unsigned n;
};

/* A map over zeroed storage (static arrays), ready without keymap_init's clearing loop. */
#define KEYMAP_ZEROED(k, v, c)  { .keys = (k), .vals = (v), .cap = (c) }

/* keys and vals hold cap entries each; the map starts empty. */
void keymap_init(struct keymap *m, uint64_t *keys, uint32_t *vals, unsigned cap);
uint32_t keymap_get(const struct keymap *m, uint64_t key);
/* false: key is 0, already present, or the map is full (n == cap - 1). */
bool keymap_put(struct keymap *m, uint64_t key, uint32_t val);
/* false: not present. */
bool keymap_remove(struct keymap *m, uint64_t key);

#endif
