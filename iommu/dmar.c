/* ACPI DMAR table parser (VT-d spec chapter 8); see iommu/dmar.h. */
#include <stdarg.h>
#include "iommu/dmar.h"
#include "kernel/lib/error.h"
#include "kernel/lib/fmt.h"

/* Known structure types: printed name, name in messages, minimum length, start of scopes. */
struct type_info {
	const char *name;
	const char *label;
	uint16_t min_len;
	uint16_t scopes;	/* 0: this type has no device scopes */
};

static const struct type_info types[DMAR_TYPE_COUNT] = {
	[DMAR_TYPE_DRHD] = { "drhd", "DRHD", DMAR_DRHD_SCOPES, DMAR_DRHD_SCOPES },
	[DMAR_TYPE_RMRR] = { "rmrr", "RMRR", DMAR_RMRR_SCOPES, DMAR_RMRR_SCOPES },
	[DMAR_TYPE_ATSR] = { "atsr", "ATSR", DMAR_ATSR_SCOPES, DMAR_ATSR_SCOPES },
	[DMAR_TYPE_RHSA] = { "rhsa", "RHSA", DMAR_RHSA_SIZE, 0 },
	[DMAR_TYPE_ANDD] = { "andd", "ANDD", DMAR_ANDD_NAME, 0 },
	[DMAR_TYPE_SATC] = { "satc", "SATC", DMAR_SATC_SCOPES, DMAR_SATC_SCOPES },
	[DMAR_TYPE_SIDP] = { "sidp", "SIDP", DMAR_SIDP_SCOPES, DMAR_SIDP_SCOPES },
};

const char *dmar_type_name(unsigned type)
{
	return type < DMAR_TYPE_COUNT ? types[type].name : NULL;
}

/* Little-endian loads that need no alignment (ACPI tables are byte-packed). */
static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void error_clear(struct dmar_error *e)
{
	e->err = 0;
	e->offset = 0;
	e->msg[0] = 0;
}

/* Plain loop: the hypervisor has no memcpy, and a struct copy could make gcc call one. */
static void error_copy(struct dmar_error *to, const struct dmar_error *from)
{
	to->err = from->err;
	to->offset = from->offset;
	for (size_t i = 0; i < sizeof(to->msg); i++)
		to->msg[i] = from->msg[i];
}

static int __printf(4, 5) fail(struct dmar_error *e, int err, uint32_t offset, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return err;
	e->err = err;
	e->offset = offset;
	va_start(ap, fmt);
	fmt_vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return err;
}

int dmar_parse_header(struct dmar_table *t, const void *buf, size_t size, struct dmar_error *err)
{
	const uint8_t *p = buf;
	uint32_t len;
	uint8_t sum = 0;

	if (err)
		error_clear(err);
	if (!p || size < DMAR_HDR_SIZE)
		return fail(err, E_INVAL, 0, "truncated header: %zu bytes, need %u", p ? size : 0,
			    DMAR_HDR_SIZE);
	for (int i = 0; i < 4; i++)
		if (p[DMAR_HDR_SIGNATURE + i] != (uint8_t)DMAR_SIGNATURE[i])
			return fail(err, E_INVAL, DMAR_HDR_SIGNATURE, "signature is not DMAR");
	len = rd32(p + DMAR_HDR_LENGTH);
	if (len < DMAR_HDR_SIZE)
		return fail(err, E_INVAL, DMAR_HDR_LENGTH,
			    "table length %u is shorter than the %u-byte header", len,
			    DMAR_HDR_SIZE);
	if (len > size)
		return fail(err, E_RANGE, DMAR_HDR_LENGTH,
			    "table length %u runs past the end of the %zu-byte buffer", len, size);
	/* ACPI 6.5 section 5.2.6: the whole table, checksum byte included, sums to zero. */
	for (uint32_t i = 0; i < len; i++)
		sum += p[i];
	if (sum)
		return fail(err, E_CHECKSUM, DMAR_HDR_CHECKSUM,
			    "bad checksum: the %u bytes sum to 0x%02x, not 0", len, sum);
	t->data = p;
	t->length = len;
	t->haw = (uint16_t)(p[DMAR_HDR_HAW] + 1);
	t->flags = p[DMAR_HDR_FLAGS];
	t->revision = p[DMAR_HDR_REVISION];
	return 0;
}

void dmar_scope_iter_init(struct dmar_scope_iter *it, const struct dmar_struct *s)
{
	it->data = s->scopes;
	it->len = s->scopes ? s->scopes_len : 0;
	it->pos = 0;
	it->base = s->scopes_offset;
	error_clear(&it->error);
}

/* 8.3.1: a PCI path hop names a device and function on one bus. */
static int check_hops(struct dmar_scope_iter *it, const struct dmar_scope *sc)
{
	for (unsigned i = 0; i < sc->nhops; i++) {
		const struct dmar_pci_hop *h = &sc->hops[i];
		if (h->device > DMAR_PCI_MAX_DEVICE || h->function > DMAR_PCI_MAX_FUNCTION)
			return fail(&it->error, E_RANGE, sc->offset,
				    "device scope at 0x%x: hop %u is %02x.%x, not a PCI "
				    "device.function", sc->offset, i, h->device, h->function);
	}
	return 0;
}

int dmar_scope_next(struct dmar_scope_iter *it, struct dmar_scope *sc)
{
	uint32_t left = it->len - it->pos;
	uint32_t off = it->base + it->pos;
	const uint8_t *p;
	uint8_t len;

	if (it->error.err)
		return it->error.err;
	if (!left)
		return 0;
	p = it->data + it->pos;
	if (left < DMAR_SCOPE_LENGTH + 1)
		return fail(&it->error, E_INVAL, off,
			    "device scope at 0x%x: %u byte left in its structure, too short",
			    off, left);
	len = p[DMAR_SCOPE_LENGTH];
	/* 8.3.1: a 6-byte header and at least one 2-byte hop. */
	if (len < DMAR_SCOPE_MIN_SIZE)
		return fail(&it->error, E_INVAL, off,
			    "device scope at 0x%x: length %u is below the minimum %u", off, len,
			    DMAR_SCOPE_MIN_SIZE);
	if (len % DMAR_SCOPE_HOP_SIZE)
		return fail(&it->error, E_INVAL, off,
			    "device scope at 0x%x: length %u is odd", off, len);
	if (len > left)
		return fail(&it->error, E_RANGE, off,
			    "device scope at 0x%x: length %u runs past its structure "
			    "(%u bytes left)", off, len, left);
	sc->type = p[DMAR_SCOPE_TYPE];
	sc->flags = p[DMAR_SCOPE_FLAGS];
	sc->enum_id = p[DMAR_SCOPE_ENUM_ID];
	sc->start_bus = p[DMAR_SCOPE_START_BUS];
	sc->nhops = (uint8_t)((len - DMAR_SCOPE_PATH) / DMAR_SCOPE_HOP_SIZE);
	sc->offset = off;
	for (unsigned i = 0; i < sc->nhops; i++) {
		sc->hops[i].device = p[DMAR_SCOPE_PATH + DMAR_SCOPE_HOP_SIZE * i];
		sc->hops[i].function = p[DMAR_SCOPE_PATH + DMAR_SCOPE_HOP_SIZE * i + 1];
	}
	if (check_hops(it, sc) < 0)
		return it->error.err;
	it->pos += len;
	return 1;
}

void dmar_iter_init(struct dmar_iter *it, const struct dmar_table *t)
{
	it->table = t;
	it->next = DMAR_HDR_SIZE;
	error_clear(&it->error);
}

static void decode_andd(struct dmar_struct *s, const uint8_t *p)
{
	uint16_t max = s->length - DMAR_ANDD_NAME;
	uint16_t n = 0;

	while (n < max && p[DMAR_ANDD_NAME + n])
		n++;
	s->andd.device = p[DMAR_ANDD_DEVICE];
	s->andd.name = (const char *)p + DMAR_ANDD_NAME;
	s->andd.name_len = n;
}

/* Fill the type-specific fields of s; its length is already known to be enough for them. */
static void decode(struct dmar_struct *s, const uint8_t *p)
{
	switch (s->type) {
	case DMAR_TYPE_DRHD:
		s->drhd.flags = p[DMAR_DRHD_FLAGS];
		s->drhd.size = p[DMAR_DRHD_SIZE];
		s->drhd.segment = rd16(p + DMAR_DRHD_SEGMENT);
		s->drhd.base = rd64(p + DMAR_DRHD_BASE);
		s->drhd.include_all = s->drhd.flags & DMAR_DRHD_F_INCLUDE_PCI_ALL;
		break;
	case DMAR_TYPE_RMRR:
		s->rmrr.segment = rd16(p + DMAR_RMRR_SEGMENT);
		s->rmrr.base = rd64(p + DMAR_RMRR_BASE);
		s->rmrr.limit = rd64(p + DMAR_RMRR_LIMIT);
		break;
	case DMAR_TYPE_ATSR:
		s->atsr.flags = p[DMAR_ATSR_FLAGS];
		s->atsr.segment = rd16(p + DMAR_ATSR_SEGMENT);
		s->atsr.all_ports = s->atsr.flags & DMAR_ATSR_F_ALL_PORTS;
		break;
	case DMAR_TYPE_RHSA:
		s->rhsa.base = rd64(p + DMAR_RHSA_BASE);
		s->rhsa.proximity_domain = rd32(p + DMAR_RHSA_DOMAIN);
		break;
	case DMAR_TYPE_ANDD:
		decode_andd(s, p);
		break;
	case DMAR_TYPE_SATC:
		s->satc.flags = p[DMAR_SATC_FLAGS];
		s->satc.segment = rd16(p + DMAR_SATC_SEGMENT);
		s->satc.atc_required = s->satc.flags & DMAR_SATC_F_ATC_REQUIRED;
		break;
	case DMAR_TYPE_SIDP:
		s->sidp.segment = rd16(p + DMAR_SIDP_SEGMENT);
		break;
	}
}

/* Walk the scopes of s once so that callers of dmar_next() never see a bad one. */
static int check_scopes(struct dmar_iter *it, const struct dmar_struct *s)
{
	struct dmar_scope_iter si;
	struct dmar_scope sc;
	int ret;

	dmar_scope_iter_init(&si, s);
	while ((ret = dmar_scope_next(&si, &sc)) > 0)
		;
	if (ret < 0)
		error_copy(&it->error, &si.error);
	return ret;
}

/* Check the structure header at off; fills s->type and s->length. */
static int check_struct(struct dmar_iter *it, uint32_t off, struct dmar_struct *s)
{
	const uint8_t *p = it->table->data + off;
	uint32_t left = it->table->length - off;
	const char *label = "structure";
	uint16_t min = DMAR_ST_HDR_SIZE;

	if (left < DMAR_ST_HDR_SIZE)
		return fail(&it->error, E_INVAL, off,
			    "structure at 0x%x: %u bytes left in the table, too short for a header",
			    off, left);
	s->type = rd16(p + DMAR_ST_TYPE);
	s->length = rd16(p + DMAR_ST_LENGTH);
	if (s->type < DMAR_TYPE_COUNT) {
		label = types[s->type].label;
		min = types[s->type].min_len;
	}
	/* A zero length would never advance: stop rather than loop. */
	if (!s->length)
		return fail(&it->error, E_INVAL, off, "%s (type %u) at 0x%x: length 0", label,
			    s->type, off);
	if (s->length < min)
		return fail(&it->error, E_INVAL, off,
			    "%s (type %u) at 0x%x: length %u is below the minimum %u", label,
			    s->type, off, s->length, min);
	if (s->length > left)
		return fail(&it->error, E_RANGE, off,
			    "%s (type %u) at 0x%x: length %u runs past the table end "
			    "(%u bytes left)", label, s->type, off, s->length, left);
	return 0;
}

int dmar_next(struct dmar_iter *it, struct dmar_struct *s)
{
	uint32_t off = it->next;
	uint16_t scopes = 0;
	const uint8_t *p;

	if (it->error.err)
		return it->error.err;
	if (off >= it->table->length)
		return 0;
	if (check_struct(it, off, s) < 0)
		return it->error.err;
	p = it->table->data + off;
	s->offset = off;
	if (s->type < DMAR_TYPE_COUNT)
		scopes = types[s->type].scopes;
	s->scopes = scopes ? p + scopes : NULL;
	s->scopes_len = scopes ? s->length - scopes : 0;
	s->scopes_offset = off + scopes;
	decode(s, p);
	if (check_scopes(it, s) < 0)
		return it->error.err;
	it->next = off + s->length;
	return 1;
}

int dmar_validate(const struct dmar_table *t, struct dmar_error *err)
{
	struct dmar_iter it;
	struct dmar_struct s;
	int ret;

	dmar_iter_init(&it, t);
	while ((ret = dmar_next(&it, &s)) > 0)
		;
	if (err)
		error_copy(err, &it.error);
	return ret;
}
