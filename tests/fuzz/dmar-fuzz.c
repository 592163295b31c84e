/*
 * libFuzzer harness for the DMAR parser and printer: any input must be parsed or rejected
 * without a crash, an out-of-bounds read or a hang, and dmar_next() must agree with
 * dmar_validate(). Built and run by `make fuzz-dmar` (tests/fuzz/fuzz.mk), seeded with the real
 * tables of tests/data/acpi/dmar.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "iommu/dmar.h"
#include "iommu/dmar_print.h"
#include "tests/fuzz/dmar-checksum.h"

/* Check every scope of s; returns how many there were. */
static unsigned walk_scopes(const struct dmar_struct *s)
{
	struct dmar_scope_iter si;
	struct dmar_scope sc;
	unsigned n = 0;

	dmar_scope_iter_init(&si, s);
	while (dmar_scope_next(&si, &sc) > 0) {
		if (sc.nhops < 1 || sc.nhops > DMAR_SCOPE_MAX_HOPS)
			abort();
		n++;
	}
	/* dmar_next() promised the scopes were well formed. */
	if (si.error.err)
		abort();
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[1 << 16];
	struct dmar_table t;
	struct dmar_error e;
	struct dmar_iter it;
	struct dmar_struct s;
	int ret, valid;

	/* A copy of exactly size bytes, so ASan sees any read past the end. */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);

	fuzz_dmar_fix_checksum(buf, size);
	if (dmar_parse_header(&t, buf, size, &e) < 0)
		goto out;
	valid = dmar_validate(&t, &e);

	dmar_iter_init(&it, &t);
	while ((ret = dmar_next(&it, &s)) > 0) {
		if (s.offset + s.length > t.length)
			abort();
		walk_scopes(&s);
		dmar_format_struct(text, sizeof(text), &s);
	}
	if (ret != valid || it.error.offset != e.offset)
		abort();
	struct dmar_fmt_ret r = dmar_format_table(text, sizeof(text), &t, NULL);
	if (r.err != valid || (r.len < sizeof(text) && strlen(text) != r.len))
		abort();
out:
	free(buf);
	return 0;
}
