/* The framebuffer as the console's second sink (kernel/cpu/console_fb.h). */
#include "kernel/cpu/console_fb.h"
#include "kernel/cpu/fbcon.h"
#include "kernel/cpu/time.h"
#include "kernel/lib/log.h"
#include "kernel/mm/vm.h"

/* A redraw after a scroll rewrites most of the screen (~4 MB at 1280x800): at most this often,
 * so a console busy with lines costs a few redraws a second, not one a line. */
#define RENDER_EVERY_US 100000

static struct fbcon fbcon;
static bool fb_on;
static uint64_t last_render_us;
static volatile bool held;

void console_fb_hold(bool on) { held = on; }

void console_fb_write(const char *s, size_t n)
{
	if (fb_on)
		fbcon_write(&fbcon, s, n);
}

void console_fb_render(bool now)
{
	uint64_t t = time_since_boot_us();

	if (!fb_on || held || !fbcon.dirty || (!now && t - last_render_us < RENDER_EVERY_US))
		return;
	fbcon_render(&fbcon);
	last_render_us = t;
}

bool __boot console_fb_init(const struct mb2_info *mb, const char *early, size_t n)
{
	const struct mb2_framebuffer *fb = &mb->fb;
	const char *why = mb->have_fb ? fbcon_check(fb, &console_font) : NULL;

	if (!mb->have_fb) {
		log_info("console: no framebuffer from the boot loader (text mode?): serial only");
		return false;
	}
	if (why) {
		log_warn("console: framebuffer %ux%u type %u, %u bits a pixel at %#llx unusable: %s",
			 fb->width, fb->height, fb->type, fb->bpp, (unsigned long long)fb->addr, why);
		return false;
	}
	void *pixels = mmio_map_wc(fb->addr, (size_t)fb->pitch * fb->height);
	if (!pixels)
		return false;
	fbcon_init(&fbcon, fb, pixels, &console_font);
	fbcon_write(&fbcon, early, n);
	fbcon_render(&fbcon);
	fb_on = true;
	log_info("console: framebuffer %ux%u, %u bits a pixel at %#llx: %ux%u characters",
		 fb->width, fb->height, fb->bpp, (unsigned long long)fb->addr, fbcon.cols, fbcon.rows);
	return true;
}
