/*
 * The console log and the machine-readable report (docs/report.md).
 *
 * log_*() print a human-readable line with a level tag. report() prints one `@type key=value`
 * record; a record is always written whole (one lock, one line). Every log_err() counts as an
 * error, and the number of errors is the status of the final `@done` record.
 *
 * The formatting here is pure; where a line goes (and the clock and CPU number it carries) is
 * the console the boot installs (kernel/cpu/console.c). Host builds link tests/unit/fake-log.c
 * instead of kernel/lib/log.c.
 */
#ifndef COURIER_KERNEL_LIB_LOG_H
#define COURIER_KERNEL_LIB_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"

/* LOG_DETAIL: continuation lines of an error already counted (register dumps, backtraces):
 * always printed, never counted. */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERR, LOG_DETAIL };

void log_msg(enum log_level level, const char *fmt, ...) __printf(2, 3);
void log_vmsg(enum log_level level, const char *fmt, va_list ap);
/* One report record; fmt starts with the type without '@', e.g. report("cpu index=%u", i). */
void report(const char *fmt, ...) __printf(1, 2);

void log_set_level(enum log_level level);
/* Errors logged so far: the status of the final `@done` record. */
unsigned log_error_count(void);

/* Where whole lines go: write_line gets one line with its newline and must not interleave it
 * with another CPU's; now_us and cpu_index stamp log lines (records carry no stamp). */
struct log_console {
	void (*write_line)(const char *line, size_t n);
	uint64_t (*now_us)(void);
	unsigned (*cpu_index)(void);
};
void log_set_console(const struct log_console *c);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_detail(...) log_msg(LOG_DETAIL, __VA_ARGS__)

/* Jailhouse's trace_error: the error code with where it was raised, in debug output. */
#define trace_error(code) ({ log_debug("%s:%d: %s", __FILE__, __LINE__, error_name(code)); (code); })

#endif
