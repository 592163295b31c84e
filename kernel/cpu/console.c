#include "kernel/cpu/console.h"
#include "kernel/arch/spinlock.h"
#include "kernel/cpu/console_fb.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/serial.h"
#include "kernel/cpu/time.h"
#include "kernel/lib/fmt.h"
#include "kernel/lib/log.h"

/* A CPU reporting a fatal exception must get its lines out even if a dead CPU holds the lock. */
#define PANIC_LOCK_SPINS 10000000
#define NOTE_MAX         64
#define EARLY_BYTES      8192

/* The ring: producers append whole lines at head under ring_lock; the one drainer (holding
 * uart_lock) sends from tail. Both count bytes since boot; index = count % size. */
static char ring[CONSOLE_RING_BYTES];
static uint64_t head, tail;
static struct spinlock ring_lock = SPINLOCK_INIT;
/* Whoever writes to the UART: the drainer, or a synchronous writer. */
static struct spinlock uart_lock = SPINLOCK_INIT;
static volatile bool async, taken_over;
/* console_drain has run (the tick drains): a line not drawn at once is drawn within a tick. */
static volatile bool draining;
static volatile unsigned owner_cpu;     /* with taken_over: the CPU that writes from now on */
static uint64_t dropped, dropped_reported;
/* What the boot wrote before its sinks were settled (console_set_serial, console_set_fb), so a
 * port the command line chose and the framebuffer show it too. */
static char early[EARLY_BYTES];
static size_t early_len;
static bool early_done;

/* Every byte goes to both sinks, the UART first. */
static void sinks_write(const char *s, size_t n)
{
	serial_write(s, n);
	console_fb_write(s, n);
}

void console_take_over(void)
{
	/* A drainer finishes its chunk and lets go; one that does not (stopped, wedged) is
	 * passed over: a fresh line, then everything the ring holds, again if need be. */
	if (!spin_lock_bounded(&uart_lock, PANIC_LOCK_SPINS))
		serial_write("\n", 1);
	owner_cpu = this_cpu()->index;
	__atomic_store_n(&taken_over, true, __ATOMIC_RELEASE);
}
void console_async(void) { async = true; }

size_t console_room(void)
{
	return CONSOLE_RING_BYTES - (size_t)(__atomic_load_n(&head, __ATOMIC_ACQUIRE) -
					     __atomic_load_n(&tail, __ATOMIC_ACQUIRE));
}

static bool append(const char *buf, size_t n)
{
	uint64_t f = spin_lock_irqsave(&ring_lock);
	bool fits = head - __atomic_load_n(&tail, __ATOMIC_ACQUIRE) + n <= CONSOLE_RING_BYTES;

	if (fits) {
		for (size_t i = 0; i < n; i++)
			ring[(head + i) % CONSOLE_RING_BYTES] = buf[i];
		__atomic_store_n(&head, head + n, __ATOMIC_RELEASE);
	} else {
		dropped++;
	}
	spin_unlock_irqrestore(&ring_lock, f);
	return fits;
}

/* With uart_lock held: up to max bytes of the ring; wait for the UART only if told to. */
static void send(size_t max, bool wait)
{
	uint64_t h = __atomic_load_n(&head, __ATOMIC_ACQUIRE);

	while (tail < h && max) {
		size_t at = (size_t)(tail % CONSOLE_RING_BYTES);
		size_t n = MIN(MIN((size_t)(h - tail), CONSOLE_RING_BYTES - at), max);
		if (wait) {
			sinks_write(ring + at, n);
		} else if ((n = serial_try_write(ring + at, n))) {
			console_fb_write(ring + at, n);
		} else {
			break;
		}
		__atomic_store_n(&tail, tail + n, __ATOMIC_RELEASE);
		max -= n;
	}
}

bool console_drain(size_t max)
{
	/* Before console_async an interrupt handler on this CPU (a VT-d fault event) writes its
	 * line at once and would spin on uart_lock held here: so until then (the boot, not a hot
	 * path) the drain, drawing included, runs with interrupts off. */
	bool boot = !async;
	uint64_t f = irq_save();

	if (!spin_trylock(&uart_lock)) {
		irq_restore(f);
		return false;
	}
	if (!boot)
		irq_restore(f);
	draining = true;
	send(max, false);
	console_fb_render(false);
	bool left = __atomic_load_n(&head, __ATOMIC_ACQUIRE) != tail;
	uint64_t lost = __atomic_load_n(&dropped, __ATOMIC_RELAXED);
	spin_unlock(&uart_lock);
	if (boot)
		irq_restore(f);
	if (lost != dropped_reported && !left) {
		char note[NOTE_MAX];
		int n = fmt_snprintf(note, sizeof(note), "@log dropped=%llu\n",
				     (unsigned long long)lost);
		if (append(note, (size_t)n))
			dropped_reported = lost;
	}
	return left;
}

/* Straight to the UART, after what the ring holds, so lines keep their order. */
static void write_now(const char *buf, size_t n)
{
	uint64_t f = irq_save();
	bool locked = true;

	if (taken_over && owner_cpu == this_cpu()->index) {
		locked = false;         /* it holds uart_lock for good */
	} else if (this_cpu()->in_fatal || taken_over) {
		locked = spin_lock_bounded(&uart_lock, PANIC_LOCK_SPINS);
		if (!locked)    /* its holder was stopped, maybe mid-line: start a fresh one */
			serial_write("\n", 1);
	} else {
		spin_lock(&uart_lock);
	}
	send(CONSOLE_RING_BYTES, true);
	sinks_write(buf, n);
	/* Until the tick drains, nothing else would draw this line (the boot may hang next). */
	console_fb_render(!draining);
	for (size_t i = 0; !early_done && i < n && early_len < EARLY_BYTES; i++)
		early[early_len++] = buf[i];
	if (locked)
		spin_unlock(&uart_lock);
	irq_restore(f);
}

static void write_line(const char *buf, size_t n)
{
	if (async && !taken_over && !this_cpu()->in_fatal)
		append(buf, n);
	else
		write_now(buf, n);
}

void console_hold_screen(bool on)
{
	console_fb_hold(on);
	if (on) {
		/* Drawing happens under uart_lock: whoever draws now finishes first. */
		uint64_t f = irq_save();
		spin_lock(&uart_lock);
		spin_unlock(&uart_lock);
		irq_restore(f);
	} else {
		uint64_t f = irq_save();
		if (spin_trylock(&uart_lock)) {
			console_fb_render(true);
			spin_unlock(&uart_lock);
		}
		irq_restore(f);
	}
}

void console_show_all(void)
{
	console_fb_render(true);
}

void console_report_dropped(void)
{
	uint64_t lost = __atomic_load_n(&dropped, __ATOMIC_RELAXED);

	if (lost != dropped_reported) {
		char note[NOTE_MAX];
		int n = fmt_snprintf(note, sizeof(note), "@log dropped=%llu\n",
				     (unsigned long long)lost);
		write_now(note, (size_t)n);
		dropped_reported = lost;
	}
}

static unsigned cpu_index(void) { return this_cpu()->index; }

static const struct log_console sinks = {
	.write_line = write_line,
	.now_us = time_since_boot_us,
	.cpu_index = cpu_index,
};

void console_init(void)
{
	serial_init(SERIAL_COM1, SERIAL_BAUD_DEFAULT);
	log_set_console(&sinks);
}

void console_set_serial(uint16_t port, uint32_t baud)
{
	if (port == SERIAL_COM1 && baud == SERIAL_BAUD_DEFAULT)
		return;
	if (!serial_init(port, baud)) {
		if (port)
			log_warn("console: no UART at port %#x: the log goes to the screen only", port);
		return;
	}
	serial_write(early, early_len);
	log_info("console: serial on port %#x at %u baud (the lines above were first on COM1)",
		 port, baud);
}

void console_set_fb(const struct mb2_info *mb)
{
	console_fb_init(mb, early, early_len);
	early_done = true;
}
