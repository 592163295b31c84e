#include "kernel/lib/log.h"
#include "kernel/lib/fmt.h"

#define LINE_MAX 512

static const struct log_console *console;
static enum log_level min_level = LOG_INFO;
static volatile unsigned error_count;

void log_set_console(const struct log_console *c) { console = c; }
void log_set_level(enum log_level level) { min_level = level; }
unsigned log_error_count(void) { return __atomic_load_n(&error_count, __ATOMIC_RELAXED); }

/* Lines before the console is set are counted (errors) but not shown: the boot sets it first. */
static void emit(char *line, int n)
{
	if (n > LINE_MAX - 2)
		n = LINE_MAX - 2;
	line[n++] = '\n';
	if (console)
		console->write_line(line, (size_t)n);
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const tag[] = { "debug: ", "", "warning: ", "error: ", "  " };
	char line[LINE_MAX];

	if (level == LOG_ERR)
		__atomic_fetch_add(&error_count, 1, __ATOMIC_RELAXED);
	if (level < min_level)
		return;
	uint64_t us = console ? console->now_us() : 0;
	int n = fmt_snprintf(line, sizeof(line), "[%4llu.%06llu c%u] %s",
			     (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000),
			     console ? console->cpu_index() : 0, tag[level]);
	n += fmt_vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	emit(line, n);
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
	char line[LINE_MAX];
	va_list ap;

	line[0] = '@';
	va_start(ap, fmt);
	int n = 1 + fmt_vsnprintf(line + 1, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	emit(line, n);
}
