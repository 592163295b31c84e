/*
 * `key=value` command lines, parsed against a table of options. Tokens are separated by spaces
 * or tabs and split at their first '=' (so values may contain '='). A bad token is reported by
 * name and the option keeps its previous value; parsing never stops early.
 */
#ifndef COURIER_KERNEL_LIB_CMDLINE_H
#define COURIER_KERNEL_LIB_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest token (key=value) accepted; longer ones are reported and skipped. */
#define CMDLINE_MAX_TOKEN 256

enum cmdline_type {
	CMDLINE_U64,    /* unsigned integer in dst (size bytes: 1, 2, 4 or 8), min..max */
	CMDLINE_BOOL,   /* bool; on/off, 1/0, yes/no, true/false; a bare key means on */
	CMDLINE_STR,    /* char dst[size]; a value that does not fit is an error */
	CMDLINE_ENUM,   /* index of the value in names[] (NULL-terminated); dst as for U64 */
	CMDLINE_FUNC,   /* parse(value, dst) returns 0 or a negative E_* (and leaves dst alone) */
};

struct cmdline_opt {
	const char *key;
	enum cmdline_type type;
	void *dst;
	size_t size;                    /* U64, ENUM: sizeof(*dst) (0: 8 / unsigned); STR: buffer */
	uint64_t min, max;              /* U64 */
	const char *const *names;       /* ENUM */
	int (*parse)(const char *value, void *dst);     /* FUNC; value is "" for a bare key */
	const char *expect;             /* FUNC: what a good value looks like, for messages */
};

#define CMDLINE_OPT_U64(k, var, lo, hi) { .key = (k), .type = CMDLINE_U64, .dst = &(var), \
	.size = sizeof(var), .min = (lo), .max = (hi) }
#define CMDLINE_OPT_BOOL(k, var) { .key = (k), .type = CMDLINE_BOOL, .dst = &(var) }
#define CMDLINE_OPT_STR(k, buf) { .key = (k), .type = CMDLINE_STR, .dst = (buf), \
	.size = sizeof(buf) }
#define CMDLINE_OPT_ENUM(k, var, nm) { .key = (k), .type = CMDLINE_ENUM, .dst = &(var), \
	.size = sizeof(var), .names = (nm) }
#define CMDLINE_OPT_FUNC(k, fn, d, exp) { .key = (k), .type = CMDLINE_FUNC, .dst = (d), \
	.parse = (fn), .expect = (exp) }

/*
 * Apply cmdline (may be NULL) to the options. A first token starting with '/' (the image path
 * some loaders prepend) is skipped. Returns the number of problems (unknown options, bad
 * values, overlong tokens), each reported with log_err.
 */
unsigned cmdline_parse(const char *cmdline, const struct cmdline_opt *opts, size_t n);

/*
 * Copy the value of the last `key=value` (or bare `key`, value "") in cmdline into buf.
 * Returns the value's length, E_NOENT when key is absent, E_RANGE when the value does not fit
 * in size bytes with its NUL (buf is then set to "").
 */
int cmdline_get(const char *cmdline, const char *key, char *buf, size_t size);

/* Decimal or 0x-prefixed hexadecimal, digits only, no overflow. Returns 0 or E_INVAL. */
int cmdline_parse_u64(const char *s, uint64_t *out);

#endif
