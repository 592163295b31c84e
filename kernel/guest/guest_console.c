/*
 * Guests' console output: collected per guest into whole lines and written with the guest's
 * name in front, so a guest's lines never interleave with other output and can never look like
 * the hypervisor's `@` records (a hostile guest cannot forge `@done`).
 */
#include "kernel/guest/guest.h"
#include "kernel/lib/log.h"

static void flush(struct guest *g)
{
	if (g->line_len)
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
