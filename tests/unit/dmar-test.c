/*
 * DMAR parser and printer: the real machines' tables in tests/data/acpi/dmar must print
 * exactly as their .expect files, and malformed tables (mostly built from the real ones) must
 * be rejected with the right error and offset, never crash.
 * Run from the repository root, or set DMAR_TEST_DATA to the data directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "tests/unit/table-builder.h"
#include "iommu/dmar.h"
#include "iommu/dmar_print.h"
#include "kernel/lib/error.h"

static const char *const tables[] = {
	"dell-latitude-9420-dmar", "dell-poweredge-r820-dmar", "dell-xps-13-9350-dmar",
	"framework-laptop-13-dmar", "hp-compaq-dc7800-sff-dmar", "hp-proliant-dl360-g7-dmar",
	"supermicro-x10dai-dmar",
};

/* ---- helpers ------------------------------------------------------------------------------ */

/* The file NAME.EXT of the data directory, NUL-terminated (one spare byte past size). */
static uint8_t *load(const char *name, const char *ext, size_t *size)
{
	const char *dir = getenv("DMAR_TEST_DATA");
	char path[512];
	FILE *f;
	long n;
	uint8_t *buf;

	snprintf(path, sizeof(path), "%s/%s.%s", dir ? dir : "tests/data/acpi/dmar", name, ext);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (run from the repository root or set DMAR_TEST_DATA)",
			 path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*size = (size_t)n;
	return buf;
}

/* A private copy of a real table with room to grow. */
static uint8_t *load_bin(const char *name, size_t *size, size_t extra)
{
	uint8_t *orig = load(name, "bin", size);
	uint8_t *buf = calloc(1, *size + extra);

	assert_non_null(buf);
	memcpy(buf, orig, *size);
	free(orig);
	return buf;
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)v);
	wr16(p + 2, (uint16_t)(v >> 16));
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Rewrite the header length and checksum after a test edited the table. */
static void seal(uint8_t *buf, uint32_t len)
{
	uint8_t sum = 0;

	wr32(buf + DMAR_HDR_LENGTH, len);
	buf[DMAR_HDR_CHECKSUM] = 0;
	for (uint32_t i = 0; i < len; i++)
		sum += buf[i];
	buf[DMAR_HDR_CHECKSUM] = (uint8_t)-sum;
}

/* Offset of the index-th structure (0-based), walking the table by the lengths stored. */
static uint32_t struct_at(const uint8_t *buf, unsigned index)
{
	uint32_t off = DMAR_HDR_SIZE;

	while (index--)
		off += rd16(buf + off + DMAR_ST_LENGTH);
	return off;
}

/* Parse and validate; expect error err at offset with msg containing needle. */
static void expect_error(const uint8_t *buf, size_t size, int err, uint32_t offset,
			 const char *needle)
{
	struct dmar_table t;
	struct dmar_error e;
	int ret = dmar_parse_header(&t, buf, size, &e);

	if (!ret)
		ret = dmar_validate(&t, &e);
	assert_int_equal(ret, err);
	assert_int_equal(e.err, err);
	assert_int_equal(e.offset, offset);
	if (!strstr(e.msg, needle))
		fail_msg("message \"%s\" does not contain \"%s\"", e.msg, needle);
}

static void parse_ok(struct dmar_table *t, const uint8_t *buf, size_t size)
{
	struct dmar_error e;

	if (dmar_parse_header(t, buf, size, &e) < 0 || dmar_validate(t, &e) < 0)
		fail_msg("rejected: %s", e.msg);
	assert_int_equal(e.err, 0);
}

/* The index-th structure of t, through the iterator. */
static void nth_struct(const struct dmar_table *t, unsigned index, struct dmar_struct *s)
{
	struct dmar_iter it;

	dmar_iter_init(&it, t);
	for (unsigned i = 0; i <= index; i++)
		assert_int_equal(dmar_next(&it, s), 1);
}

static void nth_scope(const struct dmar_struct *s, unsigned index, struct dmar_scope *sc)
{
	struct dmar_scope_iter si;

	dmar_scope_iter_init(&si, s);
	for (unsigned i = 0; i <= index; i++)
		assert_int_equal(dmar_scope_next(&si, sc), 1);
}

static char *format(const struct dmar_table *t)
{
	static char out[65536];
	struct dmar_fmt_ret r = dmar_format_table(out, sizeof(out), t, NULL);

	assert_int_equal(r.err, 0);
	assert_true(r.len < sizeof(out));
	assert_int_equal(strlen(out), r.len);
	return out;
}

/* ---- the real tables ---------------------------------------------------------------------- */

static void real_tables_match_expect(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(tables); i++) {
		size_t size, esize;
		uint8_t *bin = load(tables[i], "bin", &size);
		char *expect = (char *)load(tables[i], "expect", &esize);
		struct dmar_table t;

		parse_ok(&t, bin, size);
		assert_int_equal(t.length, size);
		assert_string_equal(format(&t), expect);
		free(bin);
		free(expect);
	}
}

static void format_reports_full_length_when_truncated(void **state)
{
	size_t size, esize;
	uint8_t *bin = load("dell-poweredge-r820-dmar", "bin", &size);
	char *expect = (char *)load("dell-poweredge-r820-dmar", "expect", &esize);
	struct dmar_table t;
	char small[40];
	struct dmar_fmt_ret r;

	parse_ok(&t, bin, size);
	r = dmar_format_table(NULL, 0, &t, NULL);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.len, esize);
	memset(small, 'x', sizeof(small));
	r = dmar_format_table(small, sizeof(small), &t, NULL);
	assert_int_equal(r.len, esize);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, expect, sizeof(small) - 1);
	free(bin);
	free(expect);
}

static void xps_fields(void **state)
{
	size_t size;
	uint8_t *bin = load("dell-xps-13-9350-dmar", "bin", &size);
	struct dmar_table t;
	struct dmar_struct s;
	struct dmar_scope sc;

	parse_ok(&t, bin, size);
	assert_int_equal(t.haw, 39);
	assert_int_equal(t.revision, 1);
	assert_int_equal(t.flags, DMAR_F_INTR_REMAP | DMAR_F_X2APIC_OPT_OUT);

	nth_struct(&t, 0, &s);
	assert_int_equal(s.type, DMAR_TYPE_DRHD);
	assert_int_equal(s.offset, DMAR_HDR_SIZE);
	assert_int_equal(s.drhd.base, 0xfed90000);
	assert_false(s.drhd.include_all);
	assert_int_equal(s.scopes_len, 8);
	nth_scope(&s, 0, &sc);
	assert_int_equal(sc.type, DMAR_SCOPE_ENDPOINT);
	assert_int_equal(sc.nhops, 1);
	assert_int_equal(sc.hops[0].device, 2);

	nth_struct(&t, 1, &s);
	assert_true(s.drhd.include_all);
	nth_scope(&s, 0, &sc);
	assert_int_equal(sc.type, DMAR_SCOPE_IOAPIC);
	assert_int_equal(sc.enum_id, 2);
	assert_int_equal(sc.start_bus, 0xf0);
	assert_int_equal(sc.hops[0].device, 0x1f);
	assert_int_equal(sc.hops[0].function, 0);
	nth_scope(&s, 3, &sc);
	assert_int_equal(sc.type, DMAR_SCOPE_ACPI);
	assert_int_equal(sc.enum_id, 2);
	assert_int_equal(sc.hops[0].function, 1);

	nth_struct(&t, 2, &s);
	assert_int_equal(s.type, DMAR_TYPE_RMRR);
	assert_int_equal(s.rmrr.base, 0x7944e000);
	assert_int_equal(s.rmrr.limit, 0x7946dfff);

	nth_struct(&t, 4, &s);
	assert_int_equal(s.type, DMAR_TYPE_ANDD);
	assert_int_equal(s.length, 28);
	assert_int_equal(s.andd.device, 1);
	assert_int_equal(s.andd.name_len, 14);
	assert_memory_equal(s.andd.name, "\\_SB.PCI0.I2C0", 14);
	assert_null(s.scopes);
	free(bin);
}

static void multi_hop_and_flags(void **state)
{
	size_t size;
	uint8_t *bin = load("hp-proliant-dl360-g7-dmar", "bin", &size);
	struct dmar_table t;
	struct dmar_struct s;
	struct dmar_scope sc;

	parse_ok(&t, bin, size);
	assert_int_equal(t.flags, DMAR_F_X2APIC_OPT_OUT);
	nth_struct(&t, 2, &s);
	nth_scope(&s, 5, &sc);	/* 00:1c.4/00.2 */
	assert_int_equal(sc.nhops, 2);
	assert_int_equal(sc.hops[0].device, 0x1c);
	assert_int_equal(sc.hops[0].function, 4);
	assert_int_equal(sc.hops[1].device, 0);
	assert_int_equal(sc.hops[1].function, 2);
	free(bin);

	bin = load("framework-laptop-13-dmar", "bin", &size);
	parse_ok(&t, bin, size);
	assert_int_equal(t.flags, DMAR_F_INTR_REMAP | DMAR_F_DMA_CTRL_PLATFORM_OPT_IN);
	nth_struct(&t, 2, &s);
	assert_int_equal(s.type, DMAR_TYPE_SATC);
	assert_true(s.satc.atc_required);
	nth_struct(&t, 3, &s);
	assert_int_equal(s.type, DMAR_TYPE_SIDP);
	nth_scope(&s, 0, &sc);
	assert_int_equal(sc.flags, 0x1f);
	free(bin);

	bin = load("supermicro-x10dai-dmar", "bin", &size);
	parse_ok(&t, bin, size);
	nth_struct(&t, 6, &s);
	assert_int_equal(s.type, DMAR_TYPE_RHSA);
	assert_int_equal(s.rhsa.base, 0xfbffc000);
	assert_int_equal(s.rhsa.proximity_domain, 1);
	free(bin);
}

/* ---- malformed headers -------------------------------------------------------------------- */

static void header_errors(void **state)
{
	size_t size;
	uint8_t *bin = load_bin("dell-xps-13-9350-dmar", &size, 16);
	struct dmar_table t;

	expect_error(bin, DMAR_HDR_SIZE - 1, E_INVAL, 0, "truncated header");
	expect_error(bin, 0, E_INVAL, 0, "truncated header");
	expect_error(NULL, 100, E_INVAL, 0, "truncated header");
	/* The buffer is one byte shorter than the table says. */
	expect_error(bin, size - 1, E_RANGE, DMAR_HDR_LENGTH, "runs past the end of the 239-byte");
	/* A longer buffer is fine: only the table's own length is parsed. */
	assert_int_equal(dmar_parse_header(&t, bin, size + 16, NULL), 0);
	assert_int_equal(t.length, size);

	bin[DMAR_HDR_SIZE + 8] ^= 0x10;	/* a DRHD base byte, checksum now wrong */
	expect_error(bin, size, E_CHECKSUM, DMAR_HDR_CHECKSUM, "bad checksum");
	bin[DMAR_HDR_SIZE + 8] ^= 0x10;

	seal(bin, DMAR_HDR_SIZE - 4);
	expect_error(bin, size, E_INVAL, DMAR_HDR_LENGTH, "shorter than the 48-byte header");
	seal(bin, (uint32_t)size);

	bin[0] = 'X';
	expect_error(bin, size, E_INVAL, 0, "signature");
	free(bin);
}

/* A header with no structures is a valid, if useless, table. */
static void empty_table(void **state)
{
	size_t size;
	uint8_t *bin = load_bin("hp-compaq-dc7800-sff-dmar", &size, 0);
	struct dmar_table t;

	seal(bin, DMAR_HDR_SIZE);
	parse_ok(&t, bin, size);
	assert_string_equal(format(&t), "haw 36\nflags 0x0\n");
	free(bin);
}

/* ---- malformed structures ----------------------------------------------------------------- */

static void struct_length_zero(void **state)
{
	size_t size;
	uint8_t *bin = load_bin("dell-xps-13-9350-dmar", &size, 0);
	uint32_t off = struct_at(bin, 1);
	struct dmar_table t;
	struct dmar_iter it;
	struct dmar_struct s;

	wr16(bin + off + DMAR_ST_LENGTH, 0);
	seal(bin, (uint32_t)size);
	expect_error(bin, size, E_INVAL, off, "DRHD (type 0) at 0x48: length 0");

	/* The iterator gives the good structure first, then the error, and keeps it. */
	assert_int_equal(dmar_parse_header(&t, bin, size, NULL), 0);
	dmar_iter_init(&it, &t);
	assert_int_equal(dmar_next(&it, &s), 1);
	assert_int_equal(s.type, DMAR_TYPE_DRHD);
	assert_int_equal(s.offset, DMAR_HDR_SIZE);
	assert_int_equal(dmar_next(&it, &s), E_INVAL);
	assert_int_equal(dmar_next(&it, &s), E_INVAL);
	assert_int_equal(it.error.offset, off);
	free(bin);
}

static void struct_runs_past_table(void **state)
{
	size_t size;
	uint8_t *bin = load_bin("dell-poweredge-r820-dmar", &size, 0);
	uint32_t last = struct_at(bin, 7);	/* the ATSR ends the table */
	uint16_t len = rd16(bin + last + DMAR_ST_LENGTH);

	assert_int_equal(last + len, size);
	wr16(bin + last + DMAR_ST_LENGTH, len + 2);
	seal(bin, (uint32_t)size);
	expect_error(bin, size, E_RANGE, last, "ATSR (type 2)");
	expect_error(bin, size, E_RANGE, last, "runs past the table end");
	free(bin);
}

static void struct_below_minimum(void **state)
{
	size_t size;
	uint8_t *bin = load_bin("supermicro-x10dai-dmar", &size, 0);
	uint32_t rhsa = struct_at(bin, 6);

	/* RHSA is 20 bytes; 16 leaves its proximity domain as the next structure's header. */
	wr16(bin + rhsa + DMAR_ST_LENGTH, 16);
	seal(bin, (uint32_t)size);
	expect_error(bin, size, E_INVAL, rhsa,
		     "RHSA (type 3) at 0x144: length 16 is below the minimum 20");
	free(bin);

	bin = load_bin("dell-xps-13-9350-dmar", &size, 0);
	wr16(bin + DMAR_HDR_SIZE + DMAR_ST_LENGTH, 12);
	seal(bin, (uint32_t)size);
	expect_error(bin, size, E_INVAL, DMAR_HDR_SIZE, "below the minimum 16");
	free(bin);
}

static void truncated_struct_header(void **state)
{
	size_t size;
	uint8_t *bin = load_bin("framework-laptop-13-dmar", &size, 3);

	for (uint32_t extra = 1; extra <= 3; extra++) {
		seal(bin, (uint32_t)(size + extra));
		expect_error(bin, size + extra, E_INVAL, (uint32_t)size, "too short for a header");
	}
	free(bin);
}

/* Insert a structure of reserved type 9 (12 bytes) after the header: skipped by its length. */
static void unknown_type_skipped(void **state)
{
	size_t size, esize;
	uint8_t *orig = load("dell-latitude-9420-dmar", "bin", &size);
	char *expect = (char *)load("dell-latitude-9420-dmar", "expect", &esize);
	uint8_t *bin = calloc(1, size + 12);
	struct dmar_table t;
	struct dmar_struct s;
	char line[64];

	memcpy(bin, orig, DMAR_HDR_SIZE);
	wr16(bin + DMAR_HDR_SIZE + DMAR_ST_TYPE, 9);
	wr16(bin + DMAR_HDR_SIZE + DMAR_ST_LENGTH, 12);
	memset(bin + DMAR_HDR_SIZE + 4, 0xa5, 8);
	memcpy(bin + DMAR_HDR_SIZE + 12, orig + DMAR_HDR_SIZE, size - DMAR_HDR_SIZE);
	seal(bin, (uint32_t)size + 12);

	parse_ok(&t, bin, size + 12);
	assert_string_equal(format(&t), expect);
	assert_int_equal(t.revision, 2);        /* the latitude's header, revision 2 */
	nth_struct(&t, 0, &s);
	assert_int_equal(s.type, 9);
	assert_int_equal(s.length, 12);
	assert_null(s.scopes);
	assert_null(dmar_type_name(s.type));
	dmar_format_struct(line, sizeof(line), &s);
	assert_string_equal(line, "unknown type=9 length=12");

	/* Even a reserved type needs room for its own header. */
	wr16(bin + DMAR_HDR_SIZE + DMAR_ST_LENGTH, 3);
	seal(bin, (uint32_t)size + 12);
	expect_error(bin, size + 12, E_INVAL, DMAR_HDR_SIZE, "type 9) at 0x30: length 3 is below");
	free(orig);
	free(expect);
	free(bin);
}

/* ---- malformed device scopes -------------------------------------------------------------- */

/* The first scope of the xps's first DRHD (24 bytes: one 8-byte scope) is at 0x40. */
#define XPS_SCOPE (DMAR_HDR_SIZE + DMAR_DRHD_SCOPES)

static void scope_runs_past_struct(void **state)
{
	size_t size;
	uint8_t *bin = load_bin("dell-xps-13-9350-dmar", &size, 0);

	bin[XPS_SCOPE + DMAR_SCOPE_LENGTH] = 10;
	seal(bin, (uint32_t)size);
	expect_error(bin, size, E_RANGE, XPS_SCOPE, "length 10 runs past its structure");
	free(bin);
}

static void scope_bad_lengths(void **state)
{
	size_t size;
	uint8_t *bin = load_bin("dell-poweredge-r820-dmar", &size, 0);
	const uint32_t sc = DMAR_HDR_SIZE + DMAR_DRHD_SCOPES;
	static const struct {
		uint8_t len;
		const char *msg;
	} cases[] = {
		{ 9, "length 9 is odd" },
		{ 7, "length 7 is below the minimum 8" },
		{ 6, "length 6 is below" },
		{ 0, "length 0 is below" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bin[sc + DMAR_SCOPE_LENGTH] = cases[i].len;
		seal(bin, (uint32_t)size);
		expect_error(bin, size, E_INVAL, sc, cases[i].msg);
	}
	free(bin);
}

/* A DRHD one byte longer than its scopes: the stray byte cannot be a scope. */
static void scope_stray_byte(void **state)
{
	size_t size;
	uint8_t *orig = load("dell-xps-13-9350-dmar", "bin", &size);
	uint8_t *bin = calloc(1, size + 1);
	uint16_t len = rd16(orig + DMAR_HDR_SIZE + DMAR_ST_LENGTH);

	memcpy(bin, orig, DMAR_HDR_SIZE + len);
	memcpy(bin + DMAR_HDR_SIZE + len + 1, orig + DMAR_HDR_SIZE + len,
	       size - DMAR_HDR_SIZE - len);
	wr16(bin + DMAR_HDR_SIZE + DMAR_ST_LENGTH, len + 1);
	seal(bin, (uint32_t)size + 1);
	expect_error(bin, size + 1, E_INVAL, DMAR_HDR_SIZE + len, "1 byte left in its structure");
	free(orig);
	free(bin);
}

static void scope_hop_out_of_range(void **state)
{
	size_t size;
	uint8_t *bin = load_bin("dell-xps-13-9350-dmar", &size, 0);

	bin[XPS_SCOPE + DMAR_SCOPE_PATH] = 0x20;
	seal(bin, (uint32_t)size);
	expect_error(bin, size, E_RANGE, XPS_SCOPE, "hop 0 is 20.0");
	bin[XPS_SCOPE + DMAR_SCOPE_PATH] = 0x02;
	bin[XPS_SCOPE + DMAR_SCOPE_PATH + 1] = 8;
	seal(bin, (uint32_t)size);
	expect_error(bin, size, E_RANGE, XPS_SCOPE, "hop 0 is 02.8");
	free(bin);
}

/* The scope iterator and printer are safe on a structure dmar_next() never checked. */
static void unchecked_struct(void **state)
{
	static const uint8_t scopes[] = { 1, 8, 0, 0, 0, 0, 2, 0, 3, 12, 0, 0, 0, 0, 2, 0 };
	struct dmar_struct s = {
		.type = DMAR_TYPE_SIDP, .length = 8 + sizeof(scopes), .offset = 0x30,
		.scopes = scopes, .scopes_len = sizeof(scopes), .scopes_offset = 0x38,
	};
	struct dmar_scope_iter si;
	struct dmar_scope sc;
	char line[80];
	struct dmar_fmt_ret r;

	dmar_scope_iter_init(&si, &s);
	assert_int_equal(dmar_scope_next(&si, &sc), 1);
	assert_int_equal(sc.offset, 0x38);
	assert_int_equal(dmar_scope_next(&si, &sc), E_RANGE);
	assert_int_equal(si.error.offset, 0x40);
	assert_int_equal(dmar_scope_next(&si, &sc), E_RANGE);

	r = dmar_format_struct(line, sizeof(line), &s);
	assert_int_equal(r.err, E_RANGE);
	assert_string_equal(line, "sidp segment=0 scopes=00:02.0");

	/* No scope bytes at all. */
	s.scopes = NULL;
	dmar_scope_iter_init(&si, &s);
	assert_int_equal(dmar_scope_next(&si, &sc), 0);
}

/* ---- every field and token, on a synthetic table ----------------------------------------- */

/* Start a structure; end() fills in its length. */
static uint32_t begin(struct builder *t, uint16_t type)
{
	uint32_t off = t->len;

	put16(t, type);
	put16(t, 0);
	return off;
}

static void end(struct builder *t, uint32_t off)
{
	wr16(t->b + off + DMAR_ST_LENGTH, (uint16_t)(t->len - off));
}

/* A scope with nhops (device, function) pairs given as varargs. */
static void scope(struct builder *t, uint8_t type, uint8_t flags, uint8_t id, uint8_t bus,
		  unsigned nhops, ...)
{
	va_list ap;

	put8(t, type);
	put8(t, (uint8_t)(DMAR_SCOPE_PATH + 2 * nhops));
	put8(t, flags);
	put8(t, 0);
	put8(t, id);
	put8(t, bus);
	va_start(ap, nhops);
	for (unsigned i = 0; i < 2 * nhops; i++)
		put8(t, (uint8_t)va_arg(ap, int));
	va_end(ap);
}

static void synthetic_all_types(void **state)
{
	static struct builder t;
	struct dmar_table tab;
	uint32_t s;

	t.len = 0;
	memcpy(t.b, "DMAR", 4);
	t.len = DMAR_HDR_SIZE;
	t.b[DMAR_HDR_HAW] = 0xff;
	t.b[DMAR_HDR_FLAGS] = 0x7;

	s = begin(&t, DMAR_TYPE_DRHD);
	put8(&t, 0x3);		/* INCLUDE_PCI_ALL and a bit the format shows as flags= */
	put8(&t, 2);		/* Size */
	put16(&t, 1);
	put64(&t, 0x1234fed90000ull);
	scope(&t, 7, 0, 9, 0x12, 1, 3, 1);	/* reserved scope type */
	scope(&t, DMAR_SCOPE_HPET, 0x5, 0, 0, 1, 0x1f, 7);
	end(&t, s);

	s = begin(&t, DMAR_TYPE_RMRR);
	put16(&t, 0);
	put16(&t, 65535);
	put64(&t, 0x100000000ull);
	put64(&t, 0x1000fffffull);
	scope(&t, DMAR_SCOPE_BRIDGE, 0, 0, 0xab, 3, 0x1c, 4, 0, 0, 0x1f, 7);
	end(&t, s);

	s = begin(&t, DMAR_TYPE_ATSR);
	put8(&t, 0x1);		/* ALL_PORTS only: no flags= token */
	put8(&t, 0);
	put16(&t, 2);
	end(&t, s);

	s = begin(&t, DMAR_TYPE_RHSA);
	put32(&t, 0);
	put64(&t, 0x1234fed90000ull);
	put32(&t, 0xffffffff);
	end(&t, s);

	s = begin(&t, DMAR_TYPE_ANDD);	/* name with a control byte and no NUL */
	put8(&t, 0);
	put16(&t, 0);
	put8(&t, 255);
	put8(&t, '\\');
	put8(&t, 'A');
	put8(&t, 0x01);
	put8(&t, ' ');
	end(&t, s);

	s = begin(&t, DMAR_TYPE_ANDD);	/* empty name */
	put32(&t, 0x07000000);
	put8(&t, 0);
	end(&t, s);

	s = begin(&t, DMAR_TYPE_SATC);
	put8(&t, 0x2);
	put8(&t, 0);
	put16(&t, 3);
	scope(&t, DMAR_SCOPE_ACPI, 0, 255, 0xff, 1, 0, 0);
	end(&t, s);

	s = begin(&t, DMAR_TYPE_SIDP);
	put16(&t, 0);
	put16(&t, 4);
	end(&t, s);

	seal(t.b, t.len);
	parse_ok(&tab, t.b, t.len);
	assert_string_equal(format(&tab),
		"haw 256\n"
		"flags 0x7\n"
		"drhd segment=1 base=0x1234fed90000 include_all=1 flags=0x3 size=2 "
		"scopes=type7:9@12:03.1,hpet:0@00:1f.7{flags=0x5}\n"
		"rmrr segment=65535 base=0x100000000 limit=0x1000fffff "
		"scopes=bridge:ab:1c.4/00.0/1f.7\n"
		"atsr segment=2 all_ports=1 scopes=-\n"
		"rhsa base=0x1234fed90000 proximity_domain=4294967295\n"
		"andd device=255 name=\\A\\x01\\x20\n"
		"andd device=7 name=\n"
		"satc segment=3 atc_required=0 flags=0x2 scopes=acpi:255@ff:00.0\n"
		"sidp segment=4 scopes=-\n");
}

/* A scope path of the longest length an 8-bit even entry length allows. */
static void longest_path(void **state)
{
	static struct builder t;
	struct dmar_table tab;
	struct dmar_struct s;
	struct dmar_scope sc;
	uint32_t off;

	memset(&t, 0, sizeof(t));
	memcpy(t.b, "DMAR", 4);
	t.len = DMAR_HDR_SIZE;
	off = begin(&t, DMAR_TYPE_DRHD);
	put32(&t, 0);
	put64(&t, 0xfed90000);
	put8(&t, DMAR_SCOPE_ENDPOINT);
	put8(&t, 254);
	for (unsigned i = 0; i < 4 + 2 * DMAR_SCOPE_MAX_HOPS; i++)
		put8(&t, (uint8_t)(i >= 4 ? (i & 1 ? 7 : 31) : 0));
	end(&t, off);
	seal(t.b, t.len);
	parse_ok(&tab, t.b, t.len);
	nth_struct(&tab, 0, &s);
	nth_scope(&s, 0, &sc);
	assert_int_equal(sc.nhops, DMAR_SCOPE_MAX_HOPS);
	assert_int_equal(sc.hops[DMAR_SCOPE_MAX_HOPS - 1].device, 31);
	assert_int_equal(sc.hops[DMAR_SCOPE_MAX_HOPS - 1].function, 7);
}

static void type_names(void **state)
{
	assert_string_equal(dmar_type_name(DMAR_TYPE_DRHD), "drhd");
	assert_string_equal(dmar_type_name(DMAR_TYPE_SIDP), "sidp");
	assert_null(dmar_type_name(DMAR_TYPE_COUNT));
	assert_null(dmar_type_name(0xffff));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(real_tables_match_expect),
		cmocka_unit_test(format_reports_full_length_when_truncated),
		cmocka_unit_test(xps_fields),
		cmocka_unit_test(multi_hop_and_flags),
		cmocka_unit_test(header_errors),
		cmocka_unit_test(empty_table),
		cmocka_unit_test(struct_length_zero),
		cmocka_unit_test(struct_runs_past_table),
		cmocka_unit_test(struct_below_minimum),
		cmocka_unit_test(truncated_struct_header),
		cmocka_unit_test(unknown_type_skipped),
		cmocka_unit_test(scope_runs_past_struct),
		cmocka_unit_test(scope_bad_lengths),
		cmocka_unit_test(scope_stray_byte),
		cmocka_unit_test(scope_hop_out_of_range),
		cmocka_unit_test(unchecked_struct),
		cmocka_unit_test(synthetic_all_types),
		cmocka_unit_test(longest_path),
		cmocka_unit_test(type_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
