/*
 * ACPI tables: finding and checking the RSDP, walking the XSDT/RSDT, and decoding the MADT and
 * MCFG (ACPI 6.5 chapter 5.2; PCI Firmware Specification 3.3, 4.1.2 for MCFG).
 *
 * Pure: physical memory is reached only through struct acpi_mem, so host tests and fuzzers
 * run the same code over a byte array. Mappings it returns must stay valid while the tables
 * are in use (the hypervisor maps firmware tables permanently).
 */
#ifndef COURIER_KERNEL_FIRMWARE_ACPI_H
#define COURIER_KERNEL_FIRMWARE_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

/* ---- layouts shared with other table parsers (DMAR) ------------------------------------ */

/* Root System Description Pointer, 5.2.5.3. The first 20 bytes are the ACPI 1.0 structure. */
struct acpi_rsdp {
	char signature[8];              /* "RSD PTR " */
	uint8_t checksum;               /* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;               /* 0 for ACPI 1.0, 2 for 2.0 and later */
	uint32_t rsdt_address;
	uint32_t length;                /* revision >= 2: the whole structure */
	uint64_t xsdt_address;
	uint8_t extended_checksum;      /* over length bytes */
	uint8_t reserved[3];
} __packed;
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP size");

#define ACPI_RSDP_SIG     "RSD PTR "
#define ACPI_RSDP_V1_LEN  20
#define ACPI_RSDP_V2_LEN  36

/* System Description Table Header, 5.2.6. */
struct acpi_sdt_header {
	char signature[4];
	uint32_t length;                /* of the whole table, header included */
	uint8_t revision;
	uint8_t checksum;               /* the whole table sums to 0 */
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __packed;
_Static_assert(sizeof(struct acpi_sdt_header) == 36, "SDT header size");

/* Longest table accepted; anything larger is taken as garbage. */
#define ACPI_MAX_TABLE_LEN (16u << 20)

/* Sum of len bytes modulo 256; an ACPI structure with a valid checksum sums to 0. */
uint8_t acpi_checksum(const void *p, size_t len);

/* ---- RSDP and the table list ----------------------------------------------------------- */

struct acpi_mem {
	/* len readable bytes at physical pa, or NULL if that memory is unavailable */
	const void *(*map)(void *ctx, uint64_t pa, size_t len);
	void *ctx;
};

struct acpi_rsdp_info {
	uint8_t revision;
	uint64_t rsdt_pa;
	uint64_t xsdt_pa;               /* 0 when the RSDP has none (revision < 2) */
};

/* Check signature and checksums (the extended one for revision >= 2). Logs why it fails.
 * Returns 0, E_INVAL or E_CHECKSUM. */
int acpi_rsdp_validate(const void *rsdp, size_t len, struct acpi_rsdp_info *out);

/* Legacy BIOS search (5.2.5.1): the first KiB of the EBDA, then 0xE0000-0xFFFFF, on 16-byte
 * boundaries; the first candidate that validates wins. Returns 0 or E_NOENT. */
int acpi_rsdp_scan(const struct acpi_mem *m, uint64_t *rsdp_pa);

#define ACPI_MAX_TABLES 64

struct acpi_table {
	char sig[5];                    /* NUL-terminated; blanks, unprintable bytes as '?' */
	uint64_t pa;
	uint32_t len;
};

struct acpi_tables {
	struct acpi_table root;         /* the XSDT or RSDT itself */
	struct acpi_table t[ACPI_MAX_TABLES];
	unsigned n;
	bool truncated;                 /* the root listed more than ACPI_MAX_TABLES good tables */
};

/*
 * Walk the XSDT when the RSDP has one and it checks out, else the RSDT, and record every
 * table whose header, length and checksum are good; bad ones are logged and skipped.
 * Returns 0, or E_NOENT when neither root table is usable.
 */
int acpi_load_tables(const struct acpi_mem *m, const struct acpi_rsdp_info *rsdp,
		     struct acpi_tables *out);

/* The instance-th (from 0) table with signature sig (4 characters), or NULL. */
const struct acpi_table *acpi_find(const struct acpi_tables *t, const char sig[4],
				   unsigned instance);

/*
 * The first table with signature sig, for a table there must be one of (MADT, MCFG, DMAR):
 * every further one is reported as an error and ignored. NULL when there is none.
 */
const struct acpi_table *acpi_find_one(const struct acpi_tables *t, const char sig[4]);

/* One `@acpi table= addr= len=` record per table, the root first. */
void acpi_report_tables(const struct acpi_tables *t);

/* ---- MADT (5.2.12) -------------------------------------------------------------------- */

#define ACPI_MAX_CPUS      256
#define ACPI_MAX_IOAPICS   16
#define ACPI_MAX_ISOS      32
#define ACPI_MAX_NMI_SRCS  16
#define ACPI_MAX_LAPIC_NMIS 64

/* A processor UID of all ones in a Local APIC NMI entry means every processor. */
#define ACPI_UID_ALL_XAPIC  0xffu
#define ACPI_UID_ALL_X2APIC 0xffffffffu

/* MPS INTI flags of interrupt source overrides and NMI entries (5.2.12.5). */
#define ACPI_MPS_POLARITY_MASK    GENMASK(1, 0)
#define ACPI_MPS_POLARITY_BUS     0x0
#define ACPI_MPS_POLARITY_HIGH    0x1
#define ACPI_MPS_POLARITY_LOW     0x3
#define ACPI_MPS_TRIGGER_SHIFT    2
#define ACPI_MPS_TRIGGER_MASK     GENMASK(3, 2)
#define ACPI_MPS_TRIGGER_BUS      0x0
#define ACPI_MPS_TRIGGER_EDGE     0x1
#define ACPI_MPS_TRIGGER_LEVEL    0x3

struct acpi_cpu {
	uint32_t apic_id;
	uint32_t uid;
	bool enabled;
	bool online_capable;
	bool x2apic_entry;              /* from a Processor Local x2APIC entry (type 9) */
};

struct acpi_ioapic {
	uint8_t id;
	uint32_t addr;
	uint32_t gsi_base;
};

struct acpi_iso {
	uint8_t bus, source;
	uint32_t gsi;
	uint16_t flags;                 /* MPS INTI flags */
};

struct acpi_nmi_source {
	uint32_t gsi;
	uint16_t flags;
};

struct acpi_lapic_nmi {
	uint32_t uid;                   /* ACPI_UID_ALL_* for every processor */
	uint16_t flags;
	uint8_t lint;                   /* LINT0 or LINT1 */
	bool x2apic_entry;              /* from a Local x2APIC NMI entry (type 0xA) */
};

struct acpi_madt {
	uint64_t lapic_addr;            /* after any Local APIC Address Override */
	bool lapic_addr_override;
	bool pcat_compat;               /* dual 8259s present (must be masked) */
	struct acpi_cpu cpus[ACPI_MAX_CPUS];
	unsigned n_cpus;
	unsigned n_cpus_unusable;       /* neither enabled nor online capable: not recorded */
	unsigned n_cpus_dropped;        /* beyond ACPI_MAX_CPUS */
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	unsigned n_ioapics;
	struct acpi_iso isos[ACPI_MAX_ISOS];
	unsigned n_isos;
	struct acpi_nmi_source nmi_sources[ACPI_MAX_NMI_SRCS];
	unsigned n_nmi_sources;
	struct acpi_lapic_nmi lapic_nmis[ACPI_MAX_LAPIC_NMIS];
	unsigned n_lapic_nmis;
};

/*
 * Decode the MADT in table (len readable bytes; its checksum is the loader's business).
 * Returns 0, or E_INVAL when the header is bad or a broken entry stopped the walk (what came
 * before it is kept). Short entries, duplicate APIC ids and overflowing lists are logged.
 * struct acpi_madt is about 6 KiB: keep it off small stacks.
 */
int acpi_parse_madt(const void *table, size_t len, struct acpi_madt *out);

/* ---- MCFG (PCI Firmware Specification 3.3, 4.1.2) ------------------------------------- */

#define ACPI_MAX_MCFG 16

struct acpi_mcfg_alloc {
	uint64_t base;                  /* ECAM base: bus b is at base + (b << 20) */
	uint16_t segment;
	uint8_t bus_start, bus_end;
};

struct acpi_mcfg {
	struct acpi_mcfg_alloc alloc[ACPI_MAX_MCFG];
	unsigned n;
};

/* Decode the MCFG; bad allocations are logged and skipped. Returns 0 or E_INVAL (bad header). */
int acpi_parse_mcfg(const void *table, size_t len, struct acpi_mcfg *out);

/* The HPET's register block (system memory, 1 KiB aligned) into *base; E_INVAL (logged) for a
 * table too short or a block that is not in memory or not aligned. */
int acpi_parse_hpet(const void *table, size_t len, uint64_t *base);

#endif
