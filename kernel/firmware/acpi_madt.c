/* ACPI Multiple APIC Description Table, ACPI 6.5 section 5.2.12. */
#include "kernel/firmware/acpi.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "kernel/lib/string.h"

struct madt {
	struct acpi_sdt_header h;
	uint32_t lapic_addr;
	uint32_t flags;
} __packed;
_Static_assert(sizeof(struct madt) == 44, "MADT header");

#define MADT_PCAT_COMPAT BIT(0)

/* Interrupt controller structure types, 5.2.12 (Table "Interrupt Controller Structure Types"). */
enum {
	MADT_LAPIC = 0,
	MADT_IOAPIC = 1,
	MADT_ISO = 2,
	MADT_NMI_SOURCE = 3,
	MADT_LAPIC_NMI = 4,
	MADT_LAPIC_OVERRIDE = 5,
	MADT_X2APIC = 9,
	MADT_X2APIC_NMI = 0xa,
};

struct madt_entry {
	uint8_t type;
	uint8_t length;
} __packed;

struct madt_lapic {             /* 5.2.12.2 */
	struct madt_entry e;
	uint8_t uid;
	uint8_t apic_id;
	uint32_t flags;
} __packed;
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT local APIC");

/* Local APIC flags, 5.2.12.2 (the x2APIC entry uses the same). */
#define LAPIC_ENABLED        BIT(0)
#define LAPIC_ONLINE_CAPABLE BIT(1)

struct madt_ioapic {            /* 5.2.12.3 */
	struct madt_entry e;
	uint8_t id;
	uint8_t reserved;
	uint32_t addr;
	uint32_t gsi_base;
} __packed;
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT I/O APIC");

struct madt_iso {               /* 5.2.12.5 */
	struct madt_entry e;
	uint8_t bus;
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __packed;
_Static_assert(sizeof(struct madt_iso) == 10, "MADT interrupt source override");

struct madt_nmi_source {        /* 5.2.12.6 */
	struct madt_entry e;
	uint16_t flags;
	uint32_t gsi;
} __packed;
_Static_assert(sizeof(struct madt_nmi_source) == 8, "MADT NMI source");

struct madt_lapic_nmi {         /* 5.2.12.7 */
	struct madt_entry e;
	uint8_t uid;
	uint16_t flags;
	uint8_t lint;
} __packed;
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT local APIC NMI");

struct madt_lapic_override {    /* 5.2.12.8 */
	struct madt_entry e;
	uint16_t reserved;
	uint64_t addr;
} __packed;
_Static_assert(sizeof(struct madt_lapic_override) == 12, "MADT local APIC address override");

struct madt_x2apic {            /* 5.2.12.12 */
	struct madt_entry e;
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t uid;
} __packed;
_Static_assert(sizeof(struct madt_x2apic) == 16, "MADT local x2APIC");

struct madt_x2apic_nmi {        /* 5.2.12.13 */
	struct madt_entry e;
	uint16_t flags;
	uint32_t uid;
	uint8_t lint;
	uint8_t reserved[3];
} __packed;
_Static_assert(sizeof(struct madt_x2apic_nmi) == 12, "MADT local x2APIC NMI");

/* The size of each entry type we decode; 0 for types we skip. */
static size_t entry_size(uint8_t type)
{
	switch (type) {
	case MADT_LAPIC: return sizeof(struct madt_lapic);
	case MADT_IOAPIC: return sizeof(struct madt_ioapic);
	case MADT_ISO: return sizeof(struct madt_iso);
	case MADT_NMI_SOURCE: return sizeof(struct madt_nmi_source);
	case MADT_LAPIC_NMI: return sizeof(struct madt_lapic_nmi);
	case MADT_LAPIC_OVERRIDE: return sizeof(struct madt_lapic_override);
	case MADT_X2APIC: return sizeof(struct madt_x2apic);
	case MADT_X2APIC_NMI: return sizeof(struct madt_x2apic_nmi);
	}
	return 0;
}

/* One warning per list that overflows. */
static bool __boot room(unsigned n, unsigned max, const char *what, unsigned *dropped)
{
	if (n < max)
		return true;
	if ((*dropped)++ == 0)
		log_warn("MADT: more than %u %s, ignoring the rest", max, what);
	return false;
}

struct walk {
	struct acpi_madt *out;
	unsigned dropped_ioapics, dropped_isos, dropped_nmis, dropped_lnmis;
};

static void __boot add_cpu(struct walk *w, uint32_t apic_id, uint32_t uid, uint32_t flags,
			   bool x2apic)
{
	struct acpi_madt *out = w->out;

	/* Neither enabled nor online capable: "OSPM shall ignore" the entry (5.2.12.2). */
	if (!(flags & (LAPIC_ENABLED | LAPIC_ONLINE_CAPABLE))) {
		out->n_cpus_unusable++;
		return;
	}
	for (unsigned i = 0; i < out->n_cpus; i++) {
		if (out->cpus[i].apic_id == apic_id) {
			log_err("MADT: APIC id %#x (uid %u) listed twice, second entry ignored",
				apic_id, uid);
			return;
		}
	}
	if (!room(out->n_cpus, ACPI_MAX_CPUS, "CPUs", &out->n_cpus_dropped))
		return;
	out->cpus[out->n_cpus++] = (struct acpi_cpu){
		.apic_id = apic_id,
		.uid = uid,
		.enabled = flags & LAPIC_ENABLED,
		.online_capable = !(flags & LAPIC_ENABLED) && (flags & LAPIC_ONLINE_CAPABLE),
		.x2apic_entry = x2apic,
	};
}

static void __boot add_lapic_nmi(struct walk *w, uint32_t uid, uint16_t flags, uint8_t lint,
				 bool x2apic)
{
	struct acpi_madt *out = w->out;

	if (room(out->n_lapic_nmis, ACPI_MAX_LAPIC_NMIS, "local APIC NMIs", &w->dropped_lnmis))
		out->lapic_nmis[out->n_lapic_nmis++] = (struct acpi_lapic_nmi){
			.uid = uid, .flags = flags, .lint = lint, .x2apic_entry = x2apic,
		};
}

static void __boot decode(struct walk *w, const struct madt_entry *e)
{
	struct acpi_madt *out = w->out;

	switch (e->type) {
	case MADT_LAPIC: {
		const struct madt_lapic *l = (const void *)e;
		add_cpu(w, l->apic_id, l->uid, l->flags, false);
		break;
	}
	case MADT_X2APIC: {
		const struct madt_x2apic *x = (const void *)e;
		add_cpu(w, x->x2apic_id, x->uid, x->flags, true);
		break;
	}
	case MADT_IOAPIC: {
		const struct madt_ioapic *io = (const void *)e;
		if (room(out->n_ioapics, ACPI_MAX_IOAPICS, "I/O APICs", &w->dropped_ioapics))
			out->ioapics[out->n_ioapics++] = (struct acpi_ioapic){
				.id = io->id, .addr = io->addr, .gsi_base = io->gsi_base,
			};
		break;
	}
	case MADT_ISO: {
		const struct madt_iso *iso = (const void *)e;
		if (room(out->n_isos, ACPI_MAX_ISOS, "interrupt source overrides",
			 &w->dropped_isos))
			out->isos[out->n_isos++] = (struct acpi_iso){
				.bus = iso->bus, .source = iso->source, .gsi = iso->gsi,
				.flags = iso->flags,
			};
		break;
	}
	case MADT_NMI_SOURCE: {
		const struct madt_nmi_source *ns = (const void *)e;
		if (room(out->n_nmi_sources, ACPI_MAX_NMI_SRCS, "NMI sources", &w->dropped_nmis))
			out->nmi_sources[out->n_nmi_sources++] = (struct acpi_nmi_source){
				.gsi = ns->gsi, .flags = ns->flags,
			};
		break;
	}
	case MADT_LAPIC_NMI: {
		const struct madt_lapic_nmi *n = (const void *)e;
		add_lapic_nmi(w, n->uid, n->flags, n->lint, false);
		break;
	}
	case MADT_X2APIC_NMI: {
		const struct madt_x2apic_nmi *n = (const void *)e;
		add_lapic_nmi(w, n->uid, n->flags, n->lint, true);
		break;
	}
	case MADT_LAPIC_OVERRIDE:
		out->lapic_addr = ((const struct madt_lapic_override *)e)->addr;
		out->lapic_addr_override = true;
		break;
	}
}

int __boot acpi_parse_madt(const void *table, size_t len, struct acpi_madt *out)
{
	const struct madt *m = table;
	const uint8_t *base = table;
	struct walk w = { .out = out };

	memset(out, 0, sizeof(*out));
	if (!table || len < sizeof(*m) || memcmp(m->h.signature, "APIC", 4) != 0 ||
	    m->h.length < sizeof(*m) || m->h.length > len) {
		log_err("MADT: bad header (%zu bytes available)", len);
		return E_INVAL;
	}
	out->lapic_addr = m->lapic_addr;
	out->pcat_compat = m->flags & MADT_PCAT_COMPAT;

	for (uint32_t off = sizeof(*m); off < m->h.length;) {
		const struct madt_entry *e = (const void *)(base + off);
		uint32_t left = m->h.length - off;

		/* A broken length leaves no way to find the next entry: stop. */
		const char *why = left < sizeof(*e) ? "has no room for its header" :
				  e->length < sizeof(*e) ? "has a length below 2" :
				  e->length > left ? "runs past the end of the table" : NULL;
		if (why) {
			log_err("MADT: entry at offset %#x (type %u, length %u) %s; "
				"ignoring the rest", off, base[off],
				left < sizeof(*e) ? 0 : e->length, why);
			return E_INVAL;
		}
		if (e->length < entry_size(e->type))
			log_err("MADT: entry at offset %#x (type %u) has length %u, below %zu; "
				"skipped", off, e->type, e->length, entry_size(e->type));
		else
			decode(&w, e);
		off += e->length;
	}
	return 0;
}
