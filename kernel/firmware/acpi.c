/* ACPI: the RSDP (5.2.5) and the XSDT/RSDT table list (5.2.7, 5.2.8). */
#include "kernel/firmware/acpi.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "kernel/lib/string.h"

/* Legacy BIOS search areas, 5.2.5.1. */
#define BDA_EBDA_SEGMENT   0x40e        /* word: real-mode segment of the EBDA */
#define EBDA_SEARCH_LEN    0x400
#define EBDA_LIMIT         0xa0000      /* the EBDA lies below the video memory */
#define EBDA_MIN           0x400        /* above the interrupt vector table */
#define BIOS_ROM_START     0xe0000
#define BIOS_ROM_LEN       0x20000
#define RSDP_ALIGN         16
/* Longest RSDP accepted; ACPI 2.0 to 6.5 all use 36 bytes. */
#define RSDP_MAX_LEN       0x1000

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

/*
 * A printable copy of a 4-byte signature for messages and the table list: one word, since it
 * becomes a record's value (`@acpi table=`), so blanks are replaced like control bytes.
 */
static void sig_copy(char out[5], const char *sig)
{
	for (int i = 0; i < 4; i++)
		out[i] = sig[i] > 0x20 && sig[i] < 0x7f ? sig[i] : '?';
	out[4] = '\0';
}

/* Checks the RSDP; returns why it is bad (and the error), or NULL. */
static const char *__boot rsdp_check(const struct acpi_rsdp *r, size_t len, int *err)
{
	*err = E_INVAL;
	if (len < ACPI_RSDP_V1_LEN)
		return "shorter than 20 bytes";
	if (memcmp(r->signature, ACPI_RSDP_SIG, sizeof(r->signature)) != 0)
		return "bad signature";
	*err = E_CHECKSUM;
	if (acpi_checksum(r, ACPI_RSDP_V1_LEN) != 0)
		return "bad checksum";
	if (r->revision < 2)
		return NULL;
	*err = E_INVAL;
	if (len < ACPI_RSDP_V2_LEN || r->length < ACPI_RSDP_V2_LEN || r->length > len)
		return "bad length";
	*err = E_CHECKSUM;
	if (acpi_checksum(r, r->length) != 0)
		return "bad extended checksum";
	return NULL;
}

static void rsdp_info(const struct acpi_rsdp *r, struct acpi_rsdp_info *out)
{
	out->revision = r->revision;
	out->rsdt_pa = r->rsdt_address;
	out->xsdt_pa = r->revision >= 2 ? r->xsdt_address : 0;
}

int __boot acpi_rsdp_validate(const void *rsdp, size_t len, struct acpi_rsdp_info *out)
{
	int err = E_INVAL;
	const char *why = rsdp ? rsdp_check(rsdp, len, &err) : "missing";

	if (why) {
		log_err("ACPI: RSDP (%zu bytes): %s", len, why);
		return err;
	}
	rsdp_info(rsdp, out);
	return 0;
}

/* len bytes at pa, refusing ranges that wrap. */
static const void *map(const struct acpi_mem *m, uint64_t pa, size_t len)
{
	if (!len || pa + len < pa)
		return NULL;
	return m->map(m->ctx, pa, len);
}

/* Whether a valid RSDP is at pa; a candidate with the signature that fails is logged. */
static bool __boot rsdp_at(const struct acpi_mem *m, uint64_t pa)
{
	const struct acpi_rsdp *r = map(m, pa, ACPI_RSDP_V1_LEN);
	size_t len = ACPI_RSDP_V1_LEN;
	int err;

	if (!r || memcmp(r->signature, ACPI_RSDP_SIG, sizeof(r->signature)) != 0)
		return false;
	if (r->revision >= 2) {
		r = map(m, pa, ACPI_RSDP_V2_LEN);
		if (!r)
			return false;
		len = MIN(MAX(r->length, (uint32_t)ACPI_RSDP_V2_LEN), (uint32_t)RSDP_MAX_LEN);
		r = map(m, pa, len);
	}
	const char *why = r ? rsdp_check(r, len, &err) : "unmappable";
	if (why)
		log_warn("ACPI: RSDP candidate at %#llx: %s", (unsigned long long)pa, why);
	return !why;
}

static bool __boot scan_area(const struct acpi_mem *m, uint64_t pa, uint64_t len, uint64_t *out)
{
	const char *area = map(m, pa, len);

	if (!area)
		return false;
	for (uint64_t off = 0; off + ACPI_RSDP_V1_LEN <= len; off += RSDP_ALIGN) {
		if (memcmp(area + off, ACPI_RSDP_SIG, 8) == 0 && rsdp_at(m, pa + off)) {
			*out = pa + off;
			return true;
		}
	}
	return false;
}

int __boot acpi_rsdp_scan(const struct acpi_mem *m, uint64_t *rsdp_pa)
{
	const uint8_t *seg = map(m, BDA_EBDA_SEGMENT, 2);

	if (seg) {
		uint64_t ebda = (uint64_t)(seg[0] | seg[1] << 8) << 4;
		if (ebda >= EBDA_MIN && ebda + EBDA_SEARCH_LEN <= EBDA_LIMIT &&
		    scan_area(m, ebda, EBDA_SEARCH_LEN, rsdp_pa))
			return 0;
	}
	if (scan_area(m, BIOS_ROM_START, BIOS_ROM_LEN, rsdp_pa))
		return 0;
	return E_NOENT;
}

/*
 * The table at pa with its length and checksum checked, or NULL (logged). expect is the
 * signature it must have, or NULL for any.
 */
static const struct acpi_sdt_header *__boot map_table(const struct acpi_mem *m, uint64_t pa,
						      const char *expect)
{
	const struct acpi_sdt_header *h = map(m, pa, sizeof(*h));
	char sig[5] = "????";

	if (!h) {
		log_err("ACPI: table at %#llx is not mappable", (unsigned long long)pa);
		return NULL;
	}
	sig_copy(sig, h->signature);
	if (expect && memcmp(h->signature, expect, 4) != 0) {
		log_err("ACPI: table at %#llx is '%s', expected %s", (unsigned long long)pa, sig,
			expect);
		return NULL;
	}
	if (h->length < sizeof(*h) || h->length > ACPI_MAX_TABLE_LEN) {
		log_err("ACPI: %s at %#llx: length %u out of range, ignored", sig,
			(unsigned long long)pa, h->length);
		return NULL;
	}
	uint32_t len = h->length;
	h = map(m, pa, len);
	if (!h) {
		log_err("ACPI: %s at %#llx: %u bytes not mappable, ignored", sig,
			(unsigned long long)pa, len);
		return NULL;
	}
	/* Mapped again: the length must not have changed under us (a racing or odd mapping). */
	if (h->length != len || acpi_checksum(h, len) != 0) {
		log_err("ACPI: %s at %#llx: bad checksum, ignored", sig, (unsigned long long)pa);
		return NULL;
	}
	return h;
}

static void __boot record(struct acpi_table *t, const struct acpi_sdt_header *h, uint64_t pa)
{
	sig_copy(t->sig, h->signature);
	t->pa = pa;
	t->len = h->length;
}

static uint64_t load_le(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	while (bytes--)
		v = v << 8 | p[bytes];
	return v;
}

/* Records the tables the root lists; entries are 4 (RSDT) or 8 (XSDT) bytes, unaligned. */
static void __boot walk_root(const struct acpi_mem *m, const struct acpi_sdt_header *root,
			     unsigned entry_size, struct acpi_tables *out)
{
	const uint8_t *e = (const uint8_t *)(root + 1);
	uint32_t n = (root->length - sizeof(*root)) / entry_size;

	if ((root->length - sizeof(*root)) % entry_size)
		log_warn("ACPI: %s has a partial entry at its end, ignored", out->root.sig);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t pa = load_le(e + i * entry_size, entry_size);
		if (!pa) {
			log_err("ACPI: %s entry %u is null, ignored", out->root.sig, i);
			continue;
		}
		const struct acpi_sdt_header *h = map_table(m, pa, NULL);
		if (!h)
			continue;
		if (out->n == ACPI_MAX_TABLES) {
			log_warn("ACPI: more than %u tables, ignoring the rest", ACPI_MAX_TABLES);
			out->truncated = true;
			return;
		}
		record(&out->t[out->n++], h, pa);
	}
}

int __boot acpi_load_tables(const struct acpi_mem *m, const struct acpi_rsdp_info *rsdp,
			    struct acpi_tables *out)
{
	const struct acpi_sdt_header *root = NULL;
	uint64_t root_pa = 0;

	memset(out, 0, sizeof(*out));
	if (rsdp->xsdt_pa) {
		root_pa = rsdp->xsdt_pa;
		root = map_table(m, root_pa, "XSDT");
		if (!root && rsdp->rsdt_pa)
			log_warn("ACPI: falling back to the RSDT");
	}
	if (!root && rsdp->rsdt_pa) {
		root_pa = rsdp->rsdt_pa;
		root = map_table(m, root_pa, "RSDT");
	}
	if (!root) {
		log_err("ACPI: no usable XSDT or RSDT");
		return E_NOENT;
	}
	record(&out->root, root, root_pa);
	walk_root(m, root, memcmp(root->signature, "XSDT", 4) == 0 ? 8 : 4, out);
	return 0;
}

const struct acpi_table *acpi_find(const struct acpi_tables *t, const char sig[4],
				   unsigned instance)
{
	for (unsigned i = 0; i < t->n; i++)
		if (memcmp(t->t[i].sig, sig, 4) == 0 && instance-- == 0)
			return &t->t[i];
	return NULL;
}

const struct acpi_table *__boot acpi_find_one(const struct acpi_tables *t, const char sig[4])
{
	const struct acpi_table *first = acpi_find(t, sig, 0), *extra;

	for (unsigned i = 1; first && (extra = acpi_find(t, sig, i)); i++)
		log_err("ACPI: %s at %#llx is a second %s table, ignored (the one at %#llx is used)",
			extra->sig, (unsigned long long)extra->pa, extra->sig,
			(unsigned long long)first->pa);
	return first;
}

static void report_table(const struct acpi_table *t)
{
	report("acpi table=%s addr=%#llx len=%u", t->sig, (unsigned long long)t->pa, t->len);
}

void acpi_report_tables(const struct acpi_tables *t)
{
	if (t->root.len)
		report_table(&t->root);
	for (unsigned i = 0; i < t->n; i++)
		report_table(&t->t[i]);
}
