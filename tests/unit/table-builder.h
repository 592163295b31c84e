/*
 * Building little-endian firmware tables (ACPI DMAR and the like) byte by byte in host tests.
 * Include after <cmocka.h>: a table that outgrows its buffer fails the test.
 */
#ifndef COURIER_TESTS_UNIT_TABLE_BUILDER_H
#define COURIER_TESTS_UNIT_TABLE_BUILDER_H

#include <stdint.h>

struct builder {
	uint8_t b[1024];
	uint32_t len;
};

static inline void put8(struct builder *t, uint8_t v)
{
	assert_true(t->len < sizeof(t->b));
	t->b[t->len++] = v;
}

static inline void put16(struct builder *t, uint16_t v)
{
	put8(t, (uint8_t)v);
	put8(t, (uint8_t)(v >> 8));
}

static inline void put32(struct builder *t, uint32_t v)
{
	put16(t, (uint16_t)v);
	put16(t, (uint16_t)(v >> 16));
}

static inline void put64(struct builder *t, uint64_t v)
{
	put32(t, (uint32_t)v);
	put32(t, (uint32_t)(v >> 32));
}

#endif
