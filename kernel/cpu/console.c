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

/* The ring: producers append whole lines at head under ring_lock; the one sender (holding
 * uart_lock) sends from tail. Both count bytes since boot; index = count % size. */
static char ring[CONSOLE_RING_BYTES];
static uint64_t head, tail;
static struct spinlock ring_lock = SPINLOCK_INIT;
/* Whoever writes to the UART and to the screen's text: the drainer for one chunk, or a
 * synchronous writer. Held only with interrupts off, so an interrupt (the tick ending the run)
 * never finds its own CPU holding it. The drawing is not done under it
 * (kernel/cpu/console_fb.h). */
static struct spinlock uart_lock = SPINLOCK_INIT;
/* One CPU drains at a time (others return at once). */
static volatile bool drain_busy;
/* With uart_lock: the last byte sent was not a newline (a line is half out). */
static bool mid_line;
static volatile bool async, taken_over;
/* The console is being taken over (or a CPU reports a fatal error): drains stop at their next
 * chunk and start no more, so the taker waits for one chunk at most. */
static volatile bool closing;
/* console_drain has run (the tick drains): a line not drawn at once is drawn within a tick. */
static volatile bool draining;
static volatile unsigned owner_cpu;     /* with taken_over: the CPU that writes from now on */
static uint64_t dropped, dropped_reported;
/* What the boot wrote before its sinks were settled (console_set_serial, console_set_fb), so a
 * port the command line chose and the framebuffer show it too. */
static char early[EARLY_BYTES];
static size_t early_len;
static bool early_done;

static unsigned cpu_index(void) { return this_cpu()->index; }

/* With uart_lock: what went to the UART goes to the screen's text too. */
static void shadow(const char *s, size_t n)
{
	console_fb_write(s, n);
	mid_line = s[n - 1] != '\n';
}

/*
 * A synchronous writer takes uart_lock (interrupts off); `bounded` on the way out (the end of
 * a run, a fatal error), where a holder lets go within a chunk or a row of the screen's text
 * unless it is wedged: then it writes anyway, a fresh line if one was half out, and returns
 * false. A drain interrupted on this CPU holds nothing, and left tail at exactly what the UART
 * has: the line in flight is finished, not cut.
 */
static bool uart_take(bool bounded)
{
	if (!bounded) {
		spin_lock(&uart_lock);
	} else if (!spin_lock_bounded(&uart_lock, PANIC_LOCK_SPINS)) {
		if (mid_line) {
			serial_write("\n", 1);
			shadow("\n", 1);
		}
		return false;
	}
	return true;
}

/* The drainer's hold for one chunk, interrupts off (waiting with them as they were); none once
 * the console is closing. */
static bool chunk_lock(uint64_t *f)
{
	*f = irq_save();
	while (!spin_trylock(&uart_lock)) {
		irq_restore(*f);
		if (__atomic_load_n(&closing, __ATOMIC_ACQUIRE))
			return false;
		cpu_relax();
		*f = irq_save();
	}
	return true;
}

void console_take_over(void)
{
	uint64_t f = irq_save();

	__atomic_store_n(&closing, true, __ATOMIC_SEQ_CST);
	if (!taken_over || owner_cpu != cpu_index())    /* again: a fault while ending */
		uart_take(true);        /* and keep it, held or not */
	owner_cpu = cpu_index();
	__atomic_store_n(&taken_over, true, __ATOMIC_RELEASE);
	irq_restore(f);
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

/*
 * Up to max bytes of the ring, from tail, to the UART and the screen's text. The drainer
 * (!wait) sends what the UART takes without waiting, a chunk (at most its FIFO) at a time under
 * uart_lock with interrupts off, and stops once the console is `closing`: chunks go out whole
 * and in order whoever sends them, and tail is exact between them. A synchronous writer (wait)
 * holds uart_lock already, interrupts off, and sends everything.
 */
static void send(size_t max, bool wait)
{
	while (max) {
		uint64_t f = 0;
		if (!wait && (__atomic_load_n(&closing, __ATOMIC_ACQUIRE) || !chunk_lock(&f)))
			break;
		uint64_t h = __atomic_load_n(&head, __ATOMIC_ACQUIRE);
		size_t at = (size_t)(tail % CONSOLE_RING_BYTES);
		size_t n = MIN(MIN((size_t)(h - tail), CONSOLE_RING_BYTES - at), max);

		if (n && wait)
			serial_write(ring + at, n);
		else if (n)
			n = serial_try_write(ring + at, n);
		if (n) {
			shadow(ring + at, n);
			__atomic_store_n(&tail, tail + n, __ATOMIC_RELEASE);
		}
		if (!wait)
			spin_unlock_irqrestore(&uart_lock, f);
		if (!n)
			break;
		max -= n;
	}
}

bool console_drain(size_t max)
{
	if (__atomic_load_n(&closing, __ATOMIC_ACQUIRE) ||
	    __atomic_exchange_n(&drain_busy, true, __ATOMIC_ACQUIRE))
		return false;
	draining = true;
	send(max, false);
	__atomic_store_n(&drain_busy, false, __ATOMIC_RELEASE);
	console_fb_render(false, &uart_lock);
	bool left = __atomic_load_n(&head, __ATOMIC_ACQUIRE) !=
		    __atomic_load_n(&tail, __ATOMIC_ACQUIRE);
	uint64_t lost = __atomic_load_n(&dropped, __ATOMIC_RELAXED);
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
	bool mine = taken_over && owner_cpu == cpu_index();     /* it has uart_lock for good */
	bool locked = false;

	if (!mine) {
		bool fatal = this_cpu()->in_fatal;
		if (fatal)
			__atomic_store_n(&closing, true, __ATOMIC_SEQ_CST);
		locked = uart_take(fatal);
	}
	send(CONSOLE_RING_BYTES, true);
	serial_write(buf, n);
	shadow(buf, n);
	for (size_t i = 0; !early_done && i < n && early_len < EARLY_BYTES; i++)
		early[early_len++] = buf[i];
	if (locked)
		spin_unlock(&uart_lock);
	/* Until the tick drains, nothing else would draw this line (the boot may hang next). */
	console_fb_render(!draining, locked ? &uart_lock : NULL);
	irq_restore(f);
}

static void write_line(const char *buf, size_t n)
{
	/* Once the console is taken over, the lines of CPUs not stopped yet wait in the ring, and
	 * go out whole before the owner's next line. */
	if (taken_over ? owner_cpu != cpu_index() : async && !this_cpu()->in_fatal)
		append(buf, n);
	else
		write_now(buf, n);
}

void console_hold_screen(bool on)
{
	console_fb_hold(on, &uart_lock);
}

void console_show_all(void)
{
	console_fb_render_final();
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
