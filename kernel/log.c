#include "kernel/log.h"
#include "kernel/fmt.h"
#include "kernel/percpu.h"
#include "kernel/serial.h"
#include "kernel/spinlock.h"
#include "kernel/time.h"

#define LINE_MAX 512

static struct spinlock console_lock = SPINLOCK_INIT;
static enum log_level min_level = LOG_INFO;
static volatile unsigned error_count;
static bool percpu_ready;

void log_set_level(enum log_level level) { min_level = level; }
unsigned log_error_count(void) { return __atomic_load_n(&error_count, __ATOMIC_RELAXED); }
void log_percpu_ready(void) { percpu_ready = true; }

/* A CPU reporting a fatal exception must get its lines out even if a dead CPU holds the lock. */
#define PANIC_LOCK_SPINS 10000000

static volatile bool console_stealable;

void log_console_stealable(void) { console_stealable = true; }

static void console_line(const char *buf, size_t n)
{
	uint64_t f = irq_save();
	bool locked = true;

	if ((percpu_ready && this_cpu()->in_fatal) || console_stealable) {
		locked = spin_lock_bounded(&console_lock, PANIC_LOCK_SPINS);
		if (!locked)    /* its holder was stopped, maybe mid-line: start a fresh one */
			serial_write("\n", 1);
	} else {
		spin_lock(&console_lock);
	}
	serial_write(buf, n);
	if (locked)
		spin_unlock(&console_lock);
	irq_restore(f);
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const tag[] = { "debug: ", "", "warning: ", "error: ", "  " };
	char line[LINE_MAX];

	if (level == LOG_ERR)
		__atomic_fetch_add(&error_count, 1, __ATOMIC_RELAXED);
	if (level < min_level)
		return;
	uint64_t us = time_since_boot_us();
	int n = fmt_snprintf(line, sizeof(line), "[%4llu.%06llu c%u] %s",
			     (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000),
			     percpu_ready ? this_cpu()->index : 0, tag[level]);
	n += fmt_vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (n > LINE_MAX - 2)
		n = LINE_MAX - 2;
	line[n++] = '\n';
	console_line(line, n);
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
	if (n > LINE_MAX - 2)
		n = LINE_MAX - 2;
	line[n++] = '\n';
	console_line(line, n);
}
