#include "kernel/cpu/console.h"
#include "kernel/arch/spinlock.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/serial.h"
#include "kernel/cpu/time.h"
#include "kernel/lib/log.h"

/* A CPU reporting a fatal exception must get its lines out even if a dead CPU holds the lock. */
#define PANIC_LOCK_SPINS 10000000

static struct spinlock console_lock = SPINLOCK_INIT;
static volatile bool stealable;

void console_stealable(void) { stealable = true; }

static void write_line(const char *buf, size_t n)
{
	uint64_t f = irq_save();
	bool locked = true;

	if (this_cpu()->in_fatal || stealable) {
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

static unsigned cpu_index(void) { return this_cpu()->index; }

static const struct log_console com1 = {
	.write_line = write_line,
	.now_us = time_since_boot_us,
	.cpu_index = cpu_index,
};

void console_init(void)
{
	serial_init();
	log_set_console(&com1);
}
