/* `key=value` command-line parsing against an option table. */
#include "kernel/lib/cmdline.h"
#include "kernel/lib/ctype.h"
#include "kernel/lib/compiler.h"
#include "kernel/lib/error.h"
#include "kernel/lib/fmt.h"
#include "kernel/lib/log.h"
#include "kernel/lib/string.h"

/* Longest key or value quoted in a message, so one bad token cannot flood the console. */
#define QUOTE_MAX 64

struct token {
	const char *s;
	size_t len;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The next token at or after *pos; false at the end of the line. */
static bool __boot next_token(const char **pos, struct token *t)
{
	const char *p = *pos;

	while (*p && is_space(*p))
		p++;
	if (!*p)
		return false;
	t->s = p;
	while (*p && !is_space(*p))
		p++;
	t->len = p - t->s;
	*pos = p;
	return true;
}

int __boot cmdline_parse_u64(const char *s, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return E_INVAL;
	for (; *s; s++) {
		unsigned d = (unsigned)hex_digit(*s);    /* -1 becomes too large for any base */
		if (d >= base || v > (UINT64_MAX - d) / base)
			return E_INVAL;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

static uint64_t width_max(size_t size)
{
	return size >= 8 ? UINT64_MAX : (1ull << (size * 8)) - 1;
}

static uint64_t load_uint(const void *p, size_t size)
{
	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 2: return *(const uint16_t *)p;
	case 4: return *(const uint32_t *)p;
	}
	return *(const uint64_t *)p;
}

static void store_uint(void *p, size_t size, uint64_t v)
{
	switch (size) {
	case 1: *(uint8_t *)p = v; break;
	case 2: *(uint16_t *)p = v; break;
	case 4: *(uint32_t *)p = v; break;
	default: *(uint64_t *)p = v; break;
	}
}

/* Each setter returns 0, or E_INVAL with expect/keep filled in for the message. */
struct bad_value {
	char expect[96];
	char keep[QUOTE_MAX + 3];
};

static int __boot set_u64(const struct cmdline_opt *o, const char *v, struct bad_value *bad)
{
	size_t size = o->size ? o->size : sizeof(uint64_t);
	uint64_t max = MIN(o->max, width_max(size)), x;

	if (cmdline_parse_u64(v, &x) == 0 && x >= o->min && x <= max) {
		store_uint(o->dst, size, x);
		return 0;
	}
	fmt_snprintf(bad->expect, sizeof(bad->expect), "%llu..%llu",
		     (unsigned long long)o->min, (unsigned long long)max);
	fmt_snprintf(bad->keep, sizeof(bad->keep), "%llu",
		     (unsigned long long)load_uint(o->dst, size));
	return E_INVAL;
}

static int __boot set_bool(const struct cmdline_opt *o, const char *v, struct bad_value *bad)
{
	static const char *const on[] = { "on", "1", "yes", "true" };
	static const char *const off[] = { "off", "0", "no", "false" };
	bool *dst = o->dst;

	for (size_t i = 0; i < ARRAY_SIZE(on); i++)
		if (strcmp(v, on[i]) == 0)
			return *dst = true, 0;
	for (size_t i = 0; i < ARRAY_SIZE(off); i++)
		if (strcmp(v, off[i]) == 0)
			return *dst = false, 0;
	fmt_snprintf(bad->expect, sizeof(bad->expect), "on/off");
	fmt_snprintf(bad->keep, sizeof(bad->keep), "%s", *dst ? "on" : "off");
	return E_INVAL;
}

static int __boot set_str(const struct cmdline_opt *o, const char *v, struct bad_value *bad)
{
	size_t len = strlen(v);

	if (o->size && len < o->size) {
		memcpy(o->dst, v, len + 1);
		return 0;
	}
	fmt_snprintf(bad->expect, sizeof(bad->expect), "at most %zu characters",
		     o->size ? o->size - 1 : 0);
	fmt_snprintf(bad->keep, sizeof(bad->keep), "'%.*s'", QUOTE_MAX,
		     o->size ? (const char *)o->dst : "");
	return E_INVAL;
}

static int __boot set_enum(const struct cmdline_opt *o, const char *v, struct bad_value *bad)
{
	size_t size = o->size ? o->size : sizeof(unsigned);
	uint64_t cur = load_uint(o->dst, size);
	size_t used = 0;
	unsigned i;

	for (i = 0; o->names[i]; i++)
		if (strcmp(v, o->names[i]) == 0)
			return store_uint(o->dst, size, i), 0;
	for (unsigned j = 0; o->names[j] && used < sizeof(bad->expect); j++)
		used += fmt_snprintf(bad->expect + used, sizeof(bad->expect) - used, "%s%s",
				     j ? "|" : "", o->names[j]);
	fmt_snprintf(bad->keep, sizeof(bad->keep), "%s", cur < i ? o->names[cur] : "?");
	return E_INVAL;
}

static int __boot set_func(const struct cmdline_opt *o, const char *v, struct bad_value *bad)
{
	if (o->parse(v, o->dst) == 0)
		return 0;
	fmt_snprintf(bad->expect, sizeof(bad->expect), "%s", o->expect ? o->expect : "?");
	bad->keep[0] = '\0';
	return E_INVAL;
}

static int __boot set_value(const struct cmdline_opt *o, const char *v, struct bad_value *bad)
{
	switch (o->type) {
	case CMDLINE_U64: return set_u64(o, v, bad);
	case CMDLINE_BOOL: return set_bool(o, v, bad);
	case CMDLINE_STR: return set_str(o, v, bad);
	case CMDLINE_ENUM: return set_enum(o, v, bad);
	case CMDLINE_FUNC: return set_func(o, v, bad);
	}
	fmt_snprintf(bad->expect, sizeof(bad->expect), "a known option type");
	bad->keep[0] = '\0';
	return E_INVAL;
}

static const struct cmdline_opt *__boot find_opt(const char *key, const struct cmdline_opt *opts,
						 size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(opts[i].key, key) == 0)
			return &opts[i];
	return NULL;
}

/* Applies one token; returns the number of problems (0 or 1). */
static unsigned __boot apply_token(const struct token *t, const struct cmdline_opt *opts,
				   size_t n)
{
	char buf[CMDLINE_MAX_TOKEN];
	struct bad_value bad;
	const struct cmdline_opt *o;
	char *value;

	if (t->len >= sizeof(buf)) {
		log_err("cmdline: option '%.*s...' longer than %zu characters, ignored",
			QUOTE_MAX, t->s, sizeof(buf) - 1);
		return 1;
	}
	memcpy(buf, t->s, t->len);
	buf[t->len] = '\0';
	value = strchr(buf, '=');
	if (value)
		*value++ = '\0';
	o = find_opt(buf, opts, n);
	if (!o) {
		log_err("cmdline: unknown option '%.*s'", QUOTE_MAX, buf);
		return 1;
	}
	/* A bare boolean means on; a bare callback gets ""; the others need "=value". */
	if (!value && o->type == CMDLINE_BOOL) {
		*(bool *)o->dst = true;
		return 0;
	}
	if (!value && o->type != CMDLINE_FUNC) {
		log_err("cmdline: option '%s' needs a value", o->key);
		return 1;
	}
	if (set_value(o, value ? value : "", &bad) == 0)
		return 0;
	log_err("cmdline: bad value '%.*s' for '%s' (expected %s), keeping default%s%s",
		QUOTE_MAX, value ? value : "", o->key, bad.expect, bad.keep[0] ? " " : "",
		bad.keep);
	return 1;
}

unsigned __boot cmdline_parse(const char *cmdline, const struct cmdline_opt *opts, size_t n)
{
	const char *pos = cmdline ? cmdline : "";
	struct token t;
	unsigned problems = 0;
	bool first = true;

	while (next_token(&pos, &t)) {
		if (!(first && t.s[0] == '/'))
			problems += apply_token(&t, opts, n);
		first = false;
	}
	return problems;
}

int __boot cmdline_get(const char *cmdline, const char *key, char *buf, size_t size)
{
	const char *pos = cmdline ? cmdline : "", *val = NULL;
	size_t klen = strlen(key), vlen = 0;
	struct token t;

	while (next_token(&pos, &t)) {
		if (t.len < klen || strncmp(t.s, key, klen) != 0)
			continue;
		if (t.len == klen) {
			val = t.s + klen;
			vlen = 0;
		} else if (t.s[klen] == '=') {
			val = t.s + klen + 1;
			vlen = t.len - klen - 1;
		}
	}
	if (!val)
		return E_NOENT;
	if (size)
		buf[0] = '\0';
	if (vlen >= size)
		return E_RANGE;
	memcpy(buf, val, vlen);
	buf[vlen] = '\0';
	return vlen;
}
