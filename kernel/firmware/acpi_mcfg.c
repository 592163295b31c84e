/* The MCFG table: ECAM regions (PCI Firmware Specification 3.3, section 4.1.2). */
#include "kernel/firmware/acpi.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "kernel/lib/string.h"

struct mcfg {
	struct acpi_sdt_header h;
	uint8_t reserved[8];
} __packed;
_Static_assert(sizeof(struct mcfg) == 44, "MCFG header");

/* Configuration space base address allocation structure (4.1.2). */
struct mcfg_alloc {
	uint64_t base;
	uint16_t segment;
	uint8_t bus_start;
	uint8_t bus_end;
	uint32_t reserved;
} __packed;
_Static_assert(sizeof(struct mcfg_alloc) == 16, "MCFG allocation");

/* ECAM gives each bus 1 MiB: 32 devices x 8 functions x 4 KiB (PCIe Base 7.2.2). */
#define ECAM_BUS_SHIFT 20

/* Why an allocation cannot be used, or NULL. */
static const char *__boot bad_alloc(const struct mcfg_alloc *a)
{
	if (a->bus_end < a->bus_start)
		return "end bus below start bus";
	if (!a->base || !IS_ALIGNED(a->base, BIT(ECAM_BUS_SHIFT)))
		return "base not 1 MiB aligned";
	/* The last bus's region must not wrap the address space. */
	if (a->base + ((uint64_t)(a->bus_end + 1) << ECAM_BUS_SHIFT) < a->base)
		return "region wraps";
	return NULL;
}

int __boot acpi_parse_mcfg(const void *table, size_t len, struct acpi_mcfg *out)
{
	const struct mcfg *m = table;
	const uint8_t *base = table;

	memset(out, 0, sizeof(*out));
	if (!table || len < sizeof(*m) || memcmp(m->h.signature, "MCFG", 4) != 0 ||
	    m->h.length < sizeof(*m) || m->h.length > len) {
		log_err("MCFG: bad header (%zu bytes available)", len);
		return E_INVAL;
	}
	uint32_t bytes = m->h.length - sizeof(*m);
	if (bytes % sizeof(struct mcfg_alloc))
		log_warn("MCFG: %u trailing bytes after the last allocation, ignored",
			 bytes % (uint32_t)sizeof(struct mcfg_alloc));

	for (uint32_t i = 0; i < bytes / sizeof(struct mcfg_alloc); i++) {
		const struct mcfg_alloc *a = (const void *)(base + sizeof(*m) + i * sizeof(*a));
		const char *why = bad_alloc(a);
		if (why) {
			log_err("MCFG: allocation %u (segment %u buses %#x-%#x base %#llx): %s, "
				"ignored", i, a->segment, a->bus_start, a->bus_end,
				(unsigned long long)a->base, why);
			continue;
		}
		if (out->n == ACPI_MAX_MCFG) {
			log_warn("MCFG: more than %u allocations, ignoring the rest",
				 ACPI_MAX_MCFG);
			break;
		}
		out->alloc[out->n++] = (struct acpi_mcfg_alloc){
			.base = a->base, .segment = a->segment,
			.bus_start = a->bus_start, .bus_end = a->bus_end,
		};
	}
	return 0;
}
