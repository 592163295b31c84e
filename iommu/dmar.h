/*
 * ACPI DMAR table parser (VT-d spec chapter 8). Pure: it reads a byte buffer, never hardware,
 * and never allocates, so the hypervisor, the host tool dmar-dump and the unit tests share it.
 *
 *	struct dmar_table t;
 *	struct dmar_error e;
 *	if (dmar_parse_header(&t, buf, size, &e) < 0 || dmar_validate(&t, &e) < 0)
 *		log_err("DMAR: %s", e.msg);
 *	struct dmar_iter it;
 *	struct dmar_struct s;
 *	dmar_iter_init(&it, &t);
 *	while (dmar_next(&it, &s) > 0)
 *		if (s.type == DMAR_TYPE_DRHD) {
 *			struct dmar_scope_iter si;
 *			struct dmar_scope sc;
 *			dmar_scope_iter_init(&si, &s);
 *			while (dmar_scope_next(&si, &sc) > 0)
 *				...
 *		}
 *
 * dmar_next() checks a structure and all its device scopes before returning it, so the scopes
 * of a structure it returned always iterate without error.
 */
#ifndef COURIER_IOMMU_DMAR_H
#define COURIER_IOMMU_DMAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"
#include "iommu/dmar_spec.h"

/* Why and where a table was rejected; msg names the offset and the offending value. */
struct dmar_error {
	int err;		/* negative E_* code; 0 when there was no error */
	uint32_t offset;	/* byte offset in the table of the bad header, structure or scope */
	char msg[96];
};

/* A table whose header passed dmar_parse_header(). */
struct dmar_table {
	const uint8_t *data;
	uint32_t length;	/* header Length: the bytes parsed, never more than the buffer */
	uint16_t haw;		/* host address width in bits (the header byte plus 1) */
	uint8_t flags;		/* DMAR_F_* */
	uint8_t revision;
};

struct dmar_drhd {
	uint64_t base;		/* register base address */
	uint16_t segment;
	uint8_t flags;		/* DMAR_DRHD_F_* */
	uint8_t size;		/* raw Size byte, 0 on older firmware */
	bool include_all;	/* INCLUDE_PCI_ALL: the segment's devices no other DRHD claims */
};

struct dmar_rmrr {
	uint64_t base;
	uint64_t limit;		/* last byte, inclusive, as stored */
	uint16_t segment;
};

struct dmar_atsr {
	uint16_t segment;
	uint8_t flags;		/* DMAR_ATSR_F_* */
	bool all_ports;
};

struct dmar_rhsa {
	uint64_t base;		/* register base of the DRHD this affinity is for */
	uint32_t proximity_domain;
};

struct dmar_andd {
	const char *name;	/* not NUL-terminated: name_len bytes, up to the first NUL */
	uint16_t name_len;
	uint8_t device;		/* ACPI device number, the enumeration ID of ACPI scopes */
};

struct dmar_satc {
	uint16_t segment;
	uint8_t flags;		/* DMAR_SATC_F_* */
	bool atc_required;
};

struct dmar_sidp {
	uint16_t segment;
};

/* One remapping structure; the member of the union named by type is filled in. */
struct dmar_struct {
	uint16_t type;		/* enum dmar_type; other values are reserved types to skip */
	uint16_t length;
	uint32_t offset;	/* of the structure in the table */
	const uint8_t *scopes;	/* device scope entries; scopes_len 0 if the type has none */
	uint16_t scopes_len;
	uint32_t scopes_offset;	/* of the first scope entry in the table */
	union {
		struct dmar_drhd drhd;
		struct dmar_rmrr rmrr;
		struct dmar_atsr atsr;
		struct dmar_rhsa rhsa;
		struct dmar_andd andd;
		struct dmar_satc satc;
		struct dmar_sidp sidp;
	};
};

struct dmar_pci_hop {
	uint8_t device;
	uint8_t function;
};

/*
 * One device scope. hops[0] is on start_bus; each later hop is on the secondary bus of the
 * bridge named by the hop before it, which only config space can tell.
 */
struct dmar_scope {
	uint8_t type;		/* enum dmar_scope_type; other values are reserved */
	uint8_t flags;		/* byte 2 of the entry, 0 on older firmware */
	uint8_t enum_id;	/* IOAPIC ID, HPET number or ANDD device number */
	uint8_t start_bus;
	uint8_t nhops;		/* at least 1 */
	uint32_t offset;	/* of the entry in the table */
	struct dmar_pci_hop hops[DMAR_SCOPE_MAX_HOPS];
};

struct dmar_iter {
	const struct dmar_table *table;
	uint32_t next;		/* offset of the next structure */
	struct dmar_error error;	/* set, and sticky, once dmar_next() fails */
};

struct dmar_scope_iter {
	const uint8_t *data;
	uint32_t len;
	uint32_t pos;
	uint32_t base;		/* table offset of data[0], for error offsets */
	struct dmar_error error;	/* set, and sticky, once dmar_scope_next() fails */
};

/*
 * Check the header of the table in buf (size bytes, which may be more than the table):
 * size, signature, length and checksum. Fills t and returns 0, or fills err (if not NULL) and
 * returns E_INVAL, E_RANGE or E_CHECKSUM.
 */
int dmar_parse_header(struct dmar_table *t, const void *buf, size_t size,
		      struct dmar_error *err) __must_check;

/* Walk every structure and scope of t; 0, or the first error (also put in err if not NULL). */
int dmar_validate(const struct dmar_table *t, struct dmar_error *err) __must_check;

void dmar_iter_init(struct dmar_iter *it, const struct dmar_table *t);
/*
 * The next structure, checked with its scopes: returns 1 and fills s, 0 at the end of the
 * table, or a negative E_* with it->error filled in (and again on every later call).
 * Structures of reserved types are returned too, with only type, length and offset set.
 */
int dmar_next(struct dmar_iter *it, struct dmar_struct *s);

void dmar_scope_iter_init(struct dmar_scope_iter *it, const struct dmar_struct *s);
/* The next device scope of the structure: 1, 0 at the end, or a sticky negative E_*. */
int dmar_scope_next(struct dmar_scope_iter *it, struct dmar_scope *sc);

/* "drhd", "rmrr", ... for a known structure type, NULL for a reserved one. */
const char *dmar_type_name(unsigned type);

#endif
