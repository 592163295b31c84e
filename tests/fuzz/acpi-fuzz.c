/*
 * libFuzzer harness for the ACPI parsers. The first byte picks the parser; the rest is the
 * table, or for the table walk and RSDP scan, physical memory (from 0, or from 0xE0000 for the
 * scan). Built and run by `make fuzz-acpi` (tests/fuzz/fuzz.mk); seeds: tests/fuzz/seeds.py.
 */
#include <stdlib.h>
#include <string.h>
#include "kernel/firmware/acpi.h"
#include "tests/unit/fake-log.h"

static struct acpi_madt madt;
static struct acpi_mcfg mcfg;
static struct acpi_tables tables;

/* The input as physical memory at [base, base + n). */
struct blob {
	const uint8_t *p;
	size_t n;
	uint64_t base;
};

static const void *blob_map(void *ctx, uint64_t pa, size_t len)
{
	const struct blob *b = ctx;

	if (pa < b->base || pa - b->base >= b->n || len > b->n - (pa - b->base))
		return NULL;
	return b->p + (pa - b->base);
}

static void walk_tables(const struct acpi_mem *m, const uint8_t *p, size_t n)
{
	struct acpi_rsdp_info rsdp = { .revision = 2 };

	if (n < 8)
		return;
	/* The root pointers come from the first bytes, small enough to land inside the blob. */
	rsdp.xsdt_pa = (p[0] | p[1] << 8) % n;
	rsdp.rsdt_pa = (p[2] | p[3] << 8) % n;
	if (acpi_load_tables(m, &rsdp, &tables) == 0) {
		for (unsigned i = 0; i < tables.n; i++) {
			const uint8_t *t = blob_map(m->ctx, tables.t[i].pa, tables.t[i].len);
			if (!t || acpi_checksum(t, tables.t[i].len) != 0)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf;
	struct blob b;
	struct acpi_mem m = { .map = blob_map, .ctx = &b };
	struct acpi_rsdp_info info;
	uint64_t pa;

	if (size < 1)
		return 0;
	buf = malloc(size - 1 ? size - 1 : 1);
	memcpy(buf, data + 1, size - 1);
	b = (struct blob){ buf, size - 1, 0 };
	fake_log_reset();
	switch (data[0] % 5) {
	case 0:
		acpi_parse_madt(buf, size - 1, &madt);
		if (madt.n_cpus > ACPI_MAX_CPUS)
			abort();
		break;
	case 1:
		acpi_parse_mcfg(buf, size - 1, &mcfg);
		break;
	case 2:
		acpi_rsdp_validate(buf, size - 1, &info);
		break;
	case 3:
		walk_tables(&m, buf, size - 1);
		break;
	case 4:
		/* The input as the BIOS ROM area; the EBDA pointer is then unmapped. */
		b.base = 0xe0000;
		acpi_rsdp_scan(&m, &pa);
		break;
	}
	free(buf);
	return 0;
}
