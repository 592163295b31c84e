/*
 * dmar-dump FILE: print what Courier's DMAR parser finds in a raw ACPI DMAR table, such as
 * /sys/firmware/acpi/tables/DMAR, in the line format of tests/data/acpi/dmar/README.md.
 * A malformed table is rejected on stderr with exit status 1 and nothing on stdout.
 *
 * dmar-dump --assign TOPOLOGY FILE: which unit translates each function of TOPOLOGY
 * (tools/lib/dmar_assign.h has the format), by the hypervisor's own assignment code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "iommu/dmar.h"
#include "iommu/dmar_print.h"
#include "kernel/lib/log.h"
#include "tools/lib/dmar_assign.h"

/* A DMAR table is a few hundred bytes; anything this big is not one. */
#define MAX_TABLE (16u << 20)

static const char *prog = "dmar-dump";

static void usage(FILE *f)
{
	fprintf(f, "usage: %s FILE   (a raw ACPI DMAR table, e.g. /sys/firmware/acpi/tables/DMAR;"
		" - reads stdin)\n"
		"       %s --assign TOPOLOGY FILE   (the unit of each function in TOPOLOGY, one\n"
		"       'SSSS:BB:DD.F' or 'SSSS:BB:DD.F bridge SEC-SUB' a line)\n", prog, prog);
}

/* Read all of f (sysfs files report no useful size, so read to EOF); the buffer is at least one
 * byte longer than the data. */
static unsigned char *read_all(FILE *f, const char *path, size_t *size)
{
	size_t cap = 4096, len = 0;
	unsigned char *buf = malloc(cap);

	while (buf) {
		len += fread(buf + len, 1, cap - len, f);
		if (ferror(f)) {
			fprintf(stderr, "%s: %s: read error: %s\n", prog, path, strerror(errno));
			break;
		}
		if (feof(f) && len < cap) {      /* room for a NUL after the data */
			*size = len;
			return buf;
		}
		if (cap >= MAX_TABLE) {
			fprintf(stderr, "%s: %s: larger than %u bytes, not a DMAR table\n", prog,
				path, MAX_TABLE);
			break;
		}
		cap *= 2;
		unsigned char *bigger = realloc(buf, cap);
		if (!bigger)
			free(buf);
		buf = bigger;
	}
	if (!buf)
		fprintf(stderr, "%s: out of memory\n", prog);
	free(buf);
	return NULL;
}

static unsigned char *load(const char *path, size_t *size)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	unsigned char *buf;

	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return NULL;
	}
	buf = read_all(f, path, size);
	if (f != stdin)
		fclose(f);
	return buf;
}

/* Reserved structure types have no output line; say on stderr that they were skipped. */
static void note_skipped(const struct dmar_table *t, const char *path)
{
	struct dmar_iter it;
	struct dmar_struct s;

	dmar_iter_init(&it, t);
	while (dmar_next(&it, &s) > 0)
		if (!dmar_type_name(s.type))
			fprintf(stderr, "%s: %s: skipped structure of reserved type %u at 0x%x\n",
				prog, path, s.type, s.offset);
}

static int dump(const unsigned char *data, size_t size, const char *path)
{
	struct dmar_table t;
	struct dmar_error e;
	struct dmar_fmt_ret r;
	char *text;

	if (dmar_parse_header(&t, data, size, &e) < 0 || dmar_validate(&t, &e) < 0) {
		fprintf(stderr, "%s: %s: rejected: %s\n", prog, path, e.msg);
		return 1;
	}
	note_skipped(&t, path);
	r = dmar_format_table(NULL, 0, &t, NULL);
	text = malloc(r.len + 1);
	if (!text) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	r = dmar_format_table(text, r.len + 1, &t, NULL);
	fwrite(text, 1, r.len, stdout);
	free(text);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "%s: write error: %s\n", prog, strerror(errno));
		return 1;
	}
	return r.err ? 1 : 0;
}

/* The hypervisor's log lines (iommu/topology.c warns of scopes that lead nowhere) go to
 * stderr, without the time and CPU prefix that mean nothing here. */
static void log_line(const char *line, size_t n)
{
	const char *p = memchr(line, ']', n);
	if (p && p + 2 <= line + n) {
		n -= (size_t)(p + 2 - line);
		line = p + 2;
	}
	fprintf(stderr, "%s: %.*s", prog, (int)n, line);
}

static uint64_t no_time(void) { return 0; }
static unsigned no_cpu(void) { return 0; }

static int assign(const char *topo_path, const char *dmar_path)
{
	static const struct log_console console = { log_line, no_time, no_cpu };
	size_t tsize = 0, dsize = 0;
	unsigned char *topo = load(topo_path, &tsize), *dmar = NULL;
	int ret = 1;

	if (topo && memchr(topo, 0, tsize))
		fprintf(stderr, "%s: %s: contains a NUL byte, not a topology\n", prog, topo_path);
	else if (topo && (dmar = load(dmar_path, &dsize))) {
		topo[tsize] = 0;        /* read_all leaves room: tsize < its buffer */
		log_set_console(&console);
		log_set_level(LOG_WARN);
		char tname[512], dname[512];
		snprintf(tname, sizeof(tname), "%s: %s", prog, topo_path);
		snprintf(dname, sizeof(dname), "%s: %s", prog, dmar_path);
		ret = dmar_assign(dmar, dsize, dname, (const char *)topo, tname, stdout, stderr);
		if (fflush(stdout) || ferror(stdout)) {
			fprintf(stderr, "%s: write error: %s\n", prog, strerror(errno));
			ret = 1;
		}
	}
	free(topo);
	free(dmar);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned char *data;
	size_t size = 0;
	int ret;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "--assign"))
		return assign(argv[2], argv[3]);
	if (argc != 2 || (argv[1][0] == '-' && argv[1][1])) {
		usage(stderr);
		return 2;
	}
	data = load(argv[1], &size);
	if (!data)
		return 1;
	ret = dump(data, size, argv[1]);
	free(data);
	return ret;
}
