/*
 * A text console drawn with a bitmap font into a linear RGB framebuffer (the one the multiboot2
 * framebuffer tag describes). Pure: it writes only the pixels it is given and never reads them
 * back (the framebuffer is mapped write-combining, where reads are slow), so
 * tests/unit/fbcon-test.c draws into memory. The text it shows is kept beside the pixels: a write
 * changes only the text (wrapping, scrolling a line when the screen is full: one row cleared,
 * whatever the screen's size), and a render
 * redraws the cells whose character changed since the last one, so the caller decides how
 * often the (slow) drawing happens and many scrolls cost one redraw.
 */
#ifndef COURIER_KERNEL_CPU_FBCON_H
#define COURIER_KERNEL_CPU_FBCON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/firmware/multiboot2.h"

/* Glyphs of width <= 8 pixels, one byte a row (leftmost pixel in bit 7). */
struct font {
	uint8_t width, height;
	uint8_t first, count;           /* it has the characters first .. first + count - 1 */
	const uint8_t *glyphs;          /* count * height bytes */
};
/* The console's font: $(BUILD)/gen/font.c, made from GRUB's ascii.pf2 by scripts/pf2font. */
extern const struct font console_font;

/* Larger screens show this many cells from their top left corner. */
#define FBCON_MAX_COLS  480
#define FBCON_MAX_ROWS  160
/* Framebuffers larger than this in any direction, or in bytes, are not believed. */
#define FBCON_MAX_PIXELS        16384
#define FBCON_MAX_BYTES         (512ull << 20)

struct fbcon {
	struct mb2_framebuffer fb;
	uint8_t *pixels;
	const struct font *font;
	unsigned bytes_pp;              /* bytes a pixel */
	uint32_t fg, bg;                /* pixel values */
	unsigned cols, rows, col, row;
	unsigned top;                   /* the text's row at the top of the screen */
	bool dirty;                     /* text changed since the last render */
	char text[FBCON_MAX_ROWS][FBCON_MAX_COLS];      /* what the screen should show, from top */
	char shown[FBCON_MAX_ROWS][FBCON_MAX_COLS];     /* what its pixels show, by screen row */
};

/* NULL when the framebuffer can carry the console with this font, else why not. */
const char *fbcon_check(const struct mb2_framebuffer *fb, const struct font *font);
/* Clears the screen (every pixel of it) and starts at the top left; fb passed fbcon_check. */
void fbcon_init(struct fbcon *c, const struct mb2_framebuffer *fb, void *pixels,
		const struct font *font);
/* Puts s into the text (drawn by the next fbcon_render): '\n' starts a line, '\r' goes to its start, '\t' to the next multiple of 8 (or
 * the line's end); other control and non-ASCII characters show as '?'. */
void fbcon_write(struct fbcon *c, const char *s, size_t n);
/* Draws the cells whose character changed since the last render (none when not dirty). */
void fbcon_render(struct fbcon *c);
/* The same in steps, for a caller that keeps the text and the drawing under different locks:
 * the text of screen row r (c->cols characters) into row, then the cells of row r that differ
 * from it drawn. The caller clears dirty before the first copy. */
void fbcon_copy_row(struct fbcon *c, unsigned r, char *row);
void fbcon_draw_row(struct fbcon *c, unsigned r, const char *row);

#endif
