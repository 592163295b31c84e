/*
 * Guests' console output: collected per guest into whole lines and written with the guest's
 * name in front, so a guest's lines never interleave with other output and can never look like
 * the hypervisor's `@` records (a hostile guest cannot forge `@done`).
 *
 * No guest can make a CPU wait for the UART with interrupts off: HC_CONSOLE_WRITE takes at most
 * 512 bytes per call and turns them into lines with interrupts on. Whoever writes much pays for
 * it: a guest line that finds more than GUEST_DRAIN_ABOVE bytes waiting drains the console's
 * ring (kernel/cpu/console.h) first, on the guest's own CPU time, and it enters the ring only
 * while CONSOLE_RESERVE bytes stay free for the hypervisor's own lines, so a flood slows its
 * writer to the UART's pace and never crowds out a record. Otherwise the ring is drained by
 * idle CPUs, and a little at every tick of the boot CPU (guest_console_drain).
 */
#include "kernel/guest/guest.h"
#include "kernel/arch/cpu.h"
#include "kernel/cpu/console.h"
#include "kernel/cpu/time.h"
#include "kernel/lib/log.h"

/* Bytes of the ring a guest's line may not take: room for the hypervisor's records. */
#define CONSOLE_RESERVE         (32 * 1024)
/* A writing guest drains first when more than this is waiting. */
#define GUEST_DRAIN_ABOVE       (16 * 1024)
/* What one drain sends at most: from an idle CPU, a writing guest (a step), a tick. */
#define CONSOLE_DRAIN_BYTES     (16 * 1024)
#define GUEST_DRAIN_STEP        1024
#define TICK_DRAIN_BYTES        256
/* A UART that takes nothing (stuck, or gone) must not hold a writer for ever: after this long
 * its line goes in anyway (or is dropped and counted when the ring is full). */
#define GUEST_WAIT_US           50000
/* A line's prefix and stamp ("[   1.234567 c12] name| "), beside its text. */
#define LINE_OVERHEAD           (COURIER_NAME_MAX + 32)

static void flush(struct guest *g)
{
	if (!g->line_len)
		return;
	/* With interrupts on (inside HC_CONSOLE_WRITE) the writer drains first, in steps, until
	 * little waits or its slice is over and its line fits beside the reserve; else (the guest
	 * ended, on its way out) the line takes what is there. */
	size_t need = CONSOLE_RESERVE + g->line_len + LINE_OVERHEAD;
	uint64_t deadline = time_since_boot_us() + GUEST_WAIT_US;

	while ((read_rflags() & RFLAGS_IF) && time_since_boot_us() < deadline &&
	       (CONSOLE_RING_BYTES - console_room() > GUEST_DRAIN_ABOVE || console_room() < need)) {
		if (g->need_resched && console_room() >= need)
			break;
		if (!console_drain(GUEST_DRAIN_STEP))
			cpu_relax();    /* another CPU drains, or the UART is full */
	}
	log_info("%s| %.*s", g->name, (int)g->line_len, g->line);
	g->line_len = 0;
}

uint64_t guest_console_write(struct guest *g, const char *buf, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++) {
		char c = buf[i];
		if (c == '\n') {
			flush(g);
			/* Its slice is over (the tick said so): the rest waits for its next turn. */
			if (g->need_resched)
				return i + 1;
			continue;
		}
		/* Control characters would let a guest rewrite the terminal: shown as '?'. */
		g->line[g->line_len++] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : c;
		if (g->line_len == sizeof(g->line))
			flush(g);
	}
	return len;
}

void guest_console_flush(struct guest *g)
{
	flush(g);
}

void guest_console_drain(bool tick)
{
	uint64_t f = read_rflags();

	/* An idle CPU with nothing to send leaves the rest (the screen's redraw, the note of
	 * dropped lines) to the boot CPU's tick: going idle stays short. */
	if (!tick && console_room() == CONSOLE_RING_BYTES)
		return;

	irq_enable();
	console_drain(tick ? TICK_DRAIN_BYTES : CONSOLE_DRAIN_BYTES);
	if (!(f & RFLAGS_IF))
		irq_disable();
}
