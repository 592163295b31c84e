/* Text form of a DMAR table; see iommu/dmar_print.h for the format's reference. */
#include <stdarg.h>
#include "iommu/dmar_print.h"
#include "kernel/lib/fmt.h"

/* An snprintf-style output buffer: len counts everything, only what fits is stored. */
struct sink {
	char *buf;
	size_t size;
	size_t len;
};

static void sink_init(struct sink *o, char *buf, size_t size)
{
	o->buf = buf;
	o->size = buf ? size : 0;
	o->len = 0;
	if (o->size)
		buf[0] = 0;
}

static void __printf(2, 3) put(struct sink *o, const char *fmt, ...)
{
	size_t room = o->len < o->size ? o->size - o->len : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

/* BB:DD.F, then /DD.F for each hop behind a bridge (README "PATH"). */
static void put_path(struct sink *o, const struct dmar_scope *sc)
{
	put(o, "%02x:%02x.%x", sc->start_bus, sc->hops[0].device, sc->hops[0].function);
	for (unsigned i = 1; i < sc->nhops; i++)
		put(o, "/%02x.%x", sc->hops[i].device, sc->hops[i].function);
}

static void put_scope(struct sink *o, const struct dmar_scope *sc)
{
	switch (sc->type) {
	case DMAR_SCOPE_ENDPOINT:
		break;
	case DMAR_SCOPE_BRIDGE:
		put(o, "bridge:");
		break;
	case DMAR_SCOPE_IOAPIC:
		put(o, "ioapic:%u@", sc->enum_id);
		break;
	case DMAR_SCOPE_HPET:
		put(o, "hpet:%u@", sc->enum_id);
		break;
	case DMAR_SCOPE_ACPI:
		put(o, "acpi:%u@", sc->enum_id);
		break;
	default:	/* reserved type: keep it visible, in the same shape */
		put(o, "type%u:%u@", sc->type, sc->enum_id);
		break;
	}
	put_path(o, sc);
	if (sc->flags)
		put(o, "{flags=0x%x}", sc->flags);
}

/* " scopes=a,b,c", or " scopes=-" when the structure has none. */
static int put_scopes(struct sink *o, const struct dmar_struct *s)
{
	struct dmar_scope_iter si;
	struct dmar_scope sc;
	unsigned n = 0;
	int ret;

	put(o, " scopes=");
	dmar_scope_iter_init(&si, s);
	while ((ret = dmar_scope_next(&si, &sc)) > 0) {
		if (n++)
			put(o, ",");
		put_scope(o, &sc);
	}
	if (!n && !ret)
		put(o, "-");
	return ret;
}

/* The flags token is written only for bits beyond bit 0, which has its own token. */
static void put_flags(struct sink *o, uint8_t flags)
{
	if (flags & ~1u)
		put(o, " flags=0x%x", flags);
}

/* ACPI names are printable ASCII; anything else is escaped so a line stays one token each. */
static void put_name(struct sink *o, const char *name, uint16_t len)
{
	for (uint16_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c > ' ' && c < 0x7f)
			put(o, "%c", c);
		else
			put(o, "\\x%02x", c);
	}
}

static int put_struct(struct sink *o, const struct dmar_struct *s)
{
	switch (s->type) {
	case DMAR_TYPE_DRHD:
		put(o, "drhd segment=%u base=0x%llx include_all=%u", s->drhd.segment,
		    (unsigned long long)s->drhd.base, s->drhd.include_all);
		put_flags(o, s->drhd.flags);
		if (s->drhd.size)
			put(o, " size=%u", s->drhd.size);
		return put_scopes(o, s);
	case DMAR_TYPE_RMRR:
		put(o, "rmrr segment=%u base=0x%llx limit=0x%llx", s->rmrr.segment,
		    (unsigned long long)s->rmrr.base, (unsigned long long)s->rmrr.limit);
		return put_scopes(o, s);
	case DMAR_TYPE_ATSR:
		put(o, "atsr segment=%u all_ports=%u", s->atsr.segment, s->atsr.all_ports);
		put_flags(o, s->atsr.flags);
		return put_scopes(o, s);
	case DMAR_TYPE_RHSA:
		put(o, "rhsa base=0x%llx proximity_domain=%u", (unsigned long long)s->rhsa.base,
		    s->rhsa.proximity_domain);
		return 0;
	case DMAR_TYPE_ANDD:
		put(o, "andd device=%u name=", s->andd.device);
		put_name(o, s->andd.name, s->andd.name_len);
		return 0;
	case DMAR_TYPE_SATC:
		put(o, "satc segment=%u atc_required=%u", s->satc.segment, s->satc.atc_required);
		put_flags(o, s->satc.flags);
		return put_scopes(o, s);
	case DMAR_TYPE_SIDP:
		put(o, "sidp segment=%u", s->sidp.segment);
		return put_scopes(o, s);
	}
	put(o, "unknown type=%u length=%u", s->type, s->length);
	return 0;
}

struct dmar_fmt_ret dmar_format_struct(char *buf, size_t size, const struct dmar_struct *s)
{
	struct sink o;
	int err;

	sink_init(&o, buf, size);
	err = put_struct(&o, s);
	return (struct dmar_fmt_ret){ .err = err < 0 ? err : 0, .len = o.len };
}

struct dmar_fmt_ret dmar_format_table(char *buf, size_t size, const struct dmar_table *t,
				      struct dmar_error *err)
{
	struct dmar_iter it;
	struct dmar_struct s;
	struct sink o;
	int ret;

	sink_init(&o, buf, size);
	put(&o, "haw %u\nflags 0x%x\n", t->haw, t->flags);
	dmar_iter_init(&it, t);
	while ((ret = dmar_next(&it, &s)) > 0) {
		if (!dmar_type_name(s.type))
			continue;
		put_struct(&o, &s);	/* cannot fail: dmar_next() checked the scopes */
		put(&o, "\n");
	}
	if (err) {
		err->err = it.error.err;
		err->offset = it.error.offset;
		for (size_t i = 0; i < sizeof(err->msg); i++)
			err->msg[i] = it.error.msg[i];
	}
	return (struct dmar_fmt_ret){ .err = ret < 0 ? ret : 0, .len = o.len };
}
