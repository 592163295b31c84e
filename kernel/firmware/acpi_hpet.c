/* The HPET table: where the event timer block's registers are (IA-PC HPET Specification 1.0a,
 * section 3.2.4, "The ACPI 2.0 HPET Description Table"). */
#include "kernel/firmware/acpi.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"

/* ACPI 2.0 Generic Address Structure (ACPI 5.2.3.2). */
struct gas {
	uint8_t space;          /* 0: system memory */
	uint8_t bit_width, bit_offset, access_size;
	uint64_t addr;
} __packed;
_Static_assert(sizeof(struct gas) == 12, "GAS");

struct hpet_table {
	struct acpi_sdt_header h;
	uint32_t block_id;      /* hardware revision, comparators, counter size, vendor */
	struct gas base;
	uint8_t number;
	uint16_t min_tick;
	uint8_t page_protection;
} __packed;
_Static_assert(sizeof(struct hpet_table) == 56, "HPET table");

#define GAS_SYSTEM_MEMORY       0
#define HPET_BLOCK_ALIGN        1024    /* the register block is 1 KiB, naturally aligned */

int acpi_parse_hpet(const void *table, size_t len, uint64_t *base)
{
	const struct hpet_table *t = table;

	if (len < sizeof(*t)) {
		log_err("acpi: HPET table of %zu bytes, at least %zu expected", len, sizeof(*t));
		return E_INVAL;
	}
	if (t->base.space != GAS_SYSTEM_MEMORY || !t->base.addr ||
	    t->base.addr % HPET_BLOCK_ALIGN) {
		log_err("acpi: HPET registers not usable (address space %u, address %#llx)",
			t->base.space, (unsigned long long)t->base.addr);
		return E_INVAL;
	}
	*base = t->base.addr;
	return 0;
}
