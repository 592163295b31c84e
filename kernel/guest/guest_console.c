/*
 * Guests' console output: collected per guest into whole lines and written with the guest's
 * name in front, so a guest's lines never interleave with other output and can never look like
 * the hypervisor's `@` records (a hostile guest cannot forge `@done`).
 *
 * No guest can make a CPU wait for the UART with interrupts off: HC_CONSOLE_WRITE takes at most
 * GUEST_CONSOLE_PER_CALL bytes per call and turns them into lines with interrupts on; a line
 * enters the console's ring (kernel/cpu/console.h) only while CONSOLE_RESERVE bytes stay free
 * for the hypervisor's own lines, so a guest that writes faster than the UART drains waits on
 * its own CPU time and never crowds out a record. The ring is drained from every CPU's tick and
 * idle loop, also with interrupts on (guest_console_drain).
 */
#include "kernel/guest/guest.h"
#include "kernel/arch/cpu.h"
#include "kernel/cpu/console.h"
#include "kernel/lib/log.h"

/* Bytes of the ring a guest's line may not take: room for the hypervisor's records. */
#define CONSOLE_RESERVE         (32 * 1024)
/* What one drain sends at most: bounds the time a tick spends on the console. */
#define CONSOLE_DRAIN_BYTES     (16 * 1024)
/* A line's prefix and stamp ("[   1.234567 c12] name| "), beside its text. */
#define LINE_OVERHEAD           (COURIER_NAME_MAX + 32)

static void flush(struct guest *g)
{
	if (!g->line_len)
		return;
	/* With interrupts on (inside HC_CONSOLE_WRITE) wait for room; else (the guest ended, on
	 * its way out) take what is there. */
	while ((read_rflags() & RFLAGS_IF) &&
	       console_room() < CONSOLE_RESERVE + g->line_len + LINE_OVERHEAD) {
		if (!console_drain(CONSOLE_DRAIN_BYTES))
			cpu_relax();
	}
	log_info("%s| %.*s", g->name, (int)g->line_len, g->line);
	g->line_len = 0;
}

void guest_console_write(struct guest *g, const char *buf, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++) {
		char c = buf[i];
		if (c == '\n') {
			flush(g);
			continue;
		}
		/* Control characters would let a guest rewrite the terminal: shown as '?'. */
		g->line[g->line_len++] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : c;
		if (g->line_len == sizeof(g->line))
			flush(g);
	}
}

void guest_console_flush(struct guest *g)
{
	flush(g);
}

void guest_console_drain(void)
{
	uint64_t f = read_rflags();

	irq_enable();
	console_drain(CONSOLE_DRAIN_BYTES);
	if (!(f & RFLAGS_IF))
		irq_disable();
}
