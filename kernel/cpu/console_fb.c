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
/* Whoever draws (the pixels and fbcon.shown); taken only when free, except by a hold. */
static struct spinlock draw_lock = SPINLOCK_INIT;

void console_fb_write(const char *s, size_t n)
{
	if (fb_on)
		fbcon_write(&fbcon, s, n);
}

/* Held with interrupts off, waited for with them as they were: a drawing CPU whose lock holder
 * is slow (a vCPU the host preempted) still takes its interrupts meanwhile. */
static uint64_t text_lock(struct spinlock *l)
{
	uint64_t f = irq_save();

	while (l && !spin_trylock(l)) {
		irq_restore(f);
		cpu_relax();
		f = irq_save();
	}
	return f;
}

static void text_unlock(struct spinlock *l, uint64_t f)
{
	if (l)
		spin_unlock(l);
	irq_restore(f);
}

/* With draw_lock: the rows one at a time, each copied under the text's lock and drawn after. */
static void draw(struct spinlock *text)
{
	char row[FBCON_MAX_COLS];
	uint64_t f = text_lock(text);
	bool dirty = fbcon.dirty;

	fbcon.dirty = false;    /* a write from now on is drawn by the next render */
	text_unlock(text, f);
	for (unsigned r = 0; dirty && r < fbcon.rows; r++) {
		f = text_lock(text);
		fbcon_copy_row(&fbcon, r, row);
		text_unlock(text, f);
		fbcon_draw_row(&fbcon, r, row);
	}
}

void console_fb_render(bool now, struct spinlock *text)
{
	if (!fb_on || !spin_trylock(&draw_lock))
		return;
	uint64_t t = time_since_boot_us();
	if (!held && (now || t - last_render_us >= RENDER_EVERY_US)) {
		draw(text);
		last_render_us = t;
	}
	spin_unlock(&draw_lock);
}

void console_fb_render_final(void)
{
	if (fb_on && !held)
		draw(NULL);
}

void console_fb_hold(bool on, struct spinlock *text)
{
	held = on;
	if (on) {
		spin_lock(&draw_lock);          /* whoever draws now finishes first */
		spin_unlock(&draw_lock);
	} else {
		console_fb_render(true, text);
	}
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
