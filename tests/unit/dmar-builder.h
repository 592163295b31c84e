/*
 * Building ACPI DMAR tables (VT-d spec 8.1-8.3) in host tests, on top of table-builder.h:
 * the header, then structures opened with begin() or drhd()/rmrr(), their scopes, end(), and
 * seal() for the length and checksum; and dmar_load() for the real tables in tests/data.
 * Include after <cmocka.h>.
 */
#ifndef COURIER_TESTS_UNIT_DMAR_BUILDER_H
#define COURIER_TESTS_UNIT_DMAR_BUILDER_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "iommu/dmar_spec.h"
#include "tests/unit/table-builder.h"

static inline void start_table(struct builder *t, uint8_t haw_minus_1)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->b, "DMAR", 4);
	t->b[DMAR_HDR_REVISION] = 1;
	t->b[DMAR_HDR_HAW] = haw_minus_1;
	t->len = DMAR_HDR_SIZE;
}

static inline void seal(struct builder *t)
{
	uint8_t sum = 0;

	for (unsigned i = 0; i < 4; i++)
		t->b[DMAR_HDR_LENGTH + i] = (uint8_t)(t->len >> (8 * i));
	t->b[DMAR_HDR_CHECKSUM] = 0;
	for (uint32_t i = 0; i < t->len; i++)
		sum += t->b[i];
	t->b[DMAR_HDR_CHECKSUM] = (uint8_t)-sum;
}

static inline uint32_t begin(struct builder *t, uint16_t type)
{
	uint32_t off = t->len;

	put16(t, type);
	put16(t, 0);
	return off;
}

static inline void end(struct builder *t, uint32_t off)
{
	uint16_t len = (uint16_t)(t->len - off);

	t->b[off + DMAR_ST_LENGTH] = (uint8_t)len;
	t->b[off + DMAR_ST_LENGTH + 1] = (uint8_t)(len >> 8);
}

static inline uint32_t drhd(struct builder *t, uint8_t flags, uint16_t seg, uint64_t base)
{
	uint32_t off = begin(t, DMAR_TYPE_DRHD);

	put8(t, flags);
	put8(t, 0);
	put16(t, seg);
	put64(t, base);
	return off;
}

static inline uint32_t rmrr(struct builder *t, uint64_t base, uint64_t limit)
{
	uint32_t off = begin(t, DMAR_TYPE_RMRR);

	put16(t, 0);
	put16(t, 0);
	put64(t, base);
	put64(t, limit);
	return off;
}

/* A scope with nhops (device, function) pairs given as varargs. */
static inline void scope(struct builder *t, uint8_t type, uint8_t id, uint8_t bus, unsigned nhops, ...)
{
	va_list ap;

	put8(t, type);
	put8(t, (uint8_t)(DMAR_SCOPE_PATH + 2 * nhops));
	put16(t, 0);
	put8(t, id);
	put8(t, bus);
	va_start(ap, nhops);
	for (unsigned i = 0; i < 2 * nhops; i++)
		put8(t, (uint8_t)va_arg(ap, int));
	va_end(ap);
}

/* NAME.bin of tests/data/acpi/dmar (or of $DMAR_TEST_DATA), read whole into a malloc()ed buffer. */
static inline uint8_t *dmar_load(const char *name, size_t *size)
{
	const char *dir = getenv("DMAR_TEST_DATA");
	char path[512];
	uint8_t *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s.bin", dir ? dir : "tests/data/acpi/dmar", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (run from the repository root or set DMAR_TEST_DATA)",
			 path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*size = (size_t)n;
	return buf;
}

#endif
