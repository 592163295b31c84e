/* The module command line as main()'s argv and as key=value lookups. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <courier/guest.h>
#include <courier/hypercall.h>
#include "runtime.h"

/* A 256-byte command line has at most 128 words; room for them, argv[0] and the NULL. */
#define ARGS_MAX        (COURIER_CMDLINE_MAX / 2 + 2)
/* guest_arg_u64() ends the guest with this code when a value is not a number. */
#define EXIT_BAD_ARG    2

static char name[COURIER_NAME_MAX + 1];
static char line[COURIER_CMDLINE_MAX + 1];
static char *words[ARGS_MAX];
static int nwords;

void args_init(int *argc, char ***argv)
{
	char *p = line;

	/* Copies, NUL-terminated even when the hypervisor's fields are full. */
	memcpy(name, start_info->name, COURIER_NAME_MAX);
	memcpy(line, start_info->cmdline, COURIER_CMDLINE_MAX);
	words[nwords++] = name;
	while (nwords < ARGS_MAX - 1) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		words[nwords++] = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p)
			*p++ = 0;
	}
	words[nwords] = NULL;
	*argc = nwords;
	*argv = words;
}

const char *guest_arg(const char *key)
{
	size_t klen = strlen(key);

	for (int i = 1; i < nwords; i++)
		if (strncmp(words[i], key, klen) == 0 && words[i][klen] == '=')
			return words[i] + klen + 1;
	return NULL;
}

bool guest_arg_is(const char *key, const char *value)
{
	const char *v = guest_arg(key);
	return v && !strcmp(v, value);
}

bool guest_arg_flag(const char *key)
{
	const char *v = guest_arg(key);

	for (int i = 1; i < nwords; i++)
		if (strcmp(words[i], key) == 0)
			return true;
	return v && (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on") ||
		     !strcmp(v, "true"));
}

uint64_t guest_arg_u64(const char *key, uint64_t dflt)
{
	const char *v = guest_arg(key);
	char *end;
	unsigned long long n;

	if (!v)
		return dflt;
	errno = 0;
	n = strtoull(v, &end, 0);
	if (!isdigit((unsigned char)*v) || *end || errno) {
		fprintf(stderr, "%s: %s=%s is not a number\n", name, key, v);
		exit(EXIT_BAD_ARG);
	}
	return n;
}

uint64_t guest_time_ns(void)
{
	return hc_time();
}

void guest_puts(const char *s)
{
	hc_console_write(s, strlen(s));
}

const char *guest_strerror(int64_t ret)
{
	static const char *const names[] = {
		[COURIER_EINVAL] = "EINVAL", [COURIER_ENOMEM] = "ENOMEM",
		[COURIER_ERANGE] = "ERANGE", [COURIER_ENOENT] = "ENOENT",
		[COURIER_EEXIST] = "EEXIST", [COURIER_EBUSY] = "EBUSY",
		[COURIER_EPERM] = "EPERM",   [COURIER_ENOSYS] = "ENOSYS",
		[COURIER_EFAULT] = "EFAULT",
	};

	if (ret >= 0)
		return "ok";
	if (ret < -(int64_t)(sizeof(names) / sizeof(names[0])) || !names[-ret])
		return "E?";
	return names[-ret];
}
