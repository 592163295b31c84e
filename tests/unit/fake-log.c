#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/unit/fake-log.h"
#include "kernel/lib/fmt.h"

char fake_log_buf[65536];
unsigned fake_log_errors;
static size_t used;

void fake_log_reset(void)
{
	used = 0;
	fake_log_buf[0] = 0;
	fake_log_errors = 0;
}

int fake_log_contains(const char *needle)
{
	return strstr(fake_log_buf, needle) != NULL;
}

static void append(const char *prefix, const char *fmt, va_list ap)
{
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, ap);
	int n = snprintf(fake_log_buf + used, sizeof(fake_log_buf) - used, "%s%s\n", prefix, line);
	if (n > 0 && used + n < sizeof(fake_log_buf))
		used += n;
	if (getenv("FAKE_LOG_ECHO"))
		fprintf(stderr, "%s%s\n", prefix, line);
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const tag[] = { "D: ", "I: ", "W: ", "E: ", "   " };
	if (level == LOG_ERR)
		fake_log_errors++;
	append(tag[level], fmt, ap);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void report(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	append("@", fmt, ap);
	va_end(ap);
}
