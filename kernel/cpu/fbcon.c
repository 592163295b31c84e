/* A text console in a linear RGB framebuffer (kernel/cpu/fbcon.h). */
#include "kernel/cpu/fbcon.h"
#include "kernel/lib/compiler.h"
#include "kernel/lib/string.h"

#define FG_RGB          0xc0c0c0u       /* light grey on black */
#define BG_RGB          0x000000u
#define TAB_STOP        8

static bool field_ok(unsigned pos, unsigned size, unsigned bpp)
{
	return size >= 1 && size <= 8 && pos + size <= bpp;
}

const char *fbcon_check(const struct mb2_framebuffer *fb, const struct font *font)
{
	if (fb->type == MB2_FB_EGA_TEXT)
		return "EGA text mode, not a framebuffer";
	if (fb->type != MB2_FB_RGB)
		return "not direct RGB colour (indexed or unknown type)";
	if (fb->bpp != 16 && fb->bpp != 24 && fb->bpp != 32)
		return "bits a pixel not 16, 24 or 32";
	if (!fb->width || !fb->height || fb->width > FBCON_MAX_PIXELS ||
	    fb->height > FBCON_MAX_PIXELS)
		return "width or height zero or absurd";
	if (fb->pitch < fb->width * (fb->bpp / 8u) || fb->pitch > FBCON_MAX_PIXELS * 4u)
		return "pitch shorter than a line or absurd";
	if ((uint64_t)fb->pitch * fb->height > FBCON_MAX_BYTES)
		return "larger than 512 MiB";
	if (!fb->addr || !IS_ALIGNED(fb->addr, 4) || fb->addr >= (1ull << 52) - FBCON_MAX_BYTES)
		return "address zero, unaligned or beyond physical memory";
	if (!field_ok(fb->red_pos, fb->red_size, fb->bpp) ||
	    !field_ok(fb->green_pos, fb->green_size, fb->bpp) ||
	    !field_ok(fb->blue_pos, fb->blue_size, fb->bpp))
		return "colour fields outside the pixel";
	if (fb->width < font->width || fb->height < font->height)
		return "smaller than one character";
	return NULL;
}

/* An 8-bit channel value into a field of size bits at pos. */
static uint32_t channel(uint32_t v, unsigned pos, unsigned size)
{
	return (v >> (8 - size)) << pos;
}

static uint32_t pixel(const struct mb2_framebuffer *fb, uint32_t rgb)
{
	return channel((rgb >> 16) & 0xff, fb->red_pos, fb->red_size) |
	       channel((rgb >> 8) & 0xff, fb->green_pos, fb->green_size) |
	       channel(rgb & 0xff, fb->blue_pos, fb->blue_size);
}

/* Stores only, of the pixel's own width: write-combining memory is never read. */
static void put_pixel(const struct fbcon *c, uint8_t *p, uint32_t v)
{
	switch (c->bytes_pp) {
	case 4:
		*(volatile uint32_t *)p = v;
		break;
	case 3:
		((volatile uint8_t *)p)[0] = (uint8_t)v;
		((volatile uint8_t *)p)[1] = (uint8_t)(v >> 8);
		((volatile uint8_t *)p)[2] = (uint8_t)(v >> 16);
		break;
	default:
		*(volatile uint16_t *)p = (uint16_t)v;
		break;
	}
}

static void draw_cell(struct fbcon *c, unsigned row, unsigned col, char ch)
{
	const struct font *f = c->font;
	unsigned idx = (uint8_t)ch - f->first;
	const uint8_t *glyph = f->glyphs +
			       (size_t)(idx < f->count ? idx : (unsigned)('?' - f->first)) * f->height;
	uint8_t *line = c->pixels + (size_t)row * f->height * c->fb.pitch +
			(size_t)col * f->width * c->bytes_pp;

	for (unsigned y = 0; y < f->height; y++, line += c->fb.pitch)
		for (unsigned x = 0; x < f->width; x++)
			put_pixel(c, line + x * c->bytes_pp,
				  glyph[y] & (0x80u >> x) ? c->fg : c->bg);
}

void fbcon_init(struct fbcon *c, const struct mb2_framebuffer *fb, void *pixels,
		const struct font *font)
{
	c->fb = *fb;
	c->pixels = pixels;
	c->font = font;
	c->bytes_pp = fb->bpp / 8u;
	c->fg = pixel(fb, FG_RGB);
	c->bg = pixel(fb, BG_RGB);
	c->cols = MIN(fb->width / font->width, FBCON_MAX_COLS);
	c->rows = MIN(fb->height / font->height, FBCON_MAX_ROWS);
	c->col = c->row = c->top = 0;
	c->dirty = false;
	memset(c->text, ' ', sizeof(c->text));
	memset(c->shown, ' ', sizeof(c->shown));
	for (unsigned y = 0; y < fb->height; y++)
		for (unsigned x = 0; x < fb->width; x++)
			put_pixel(c, c->pixels + (size_t)y * fb->pitch + x * c->bytes_pp, c->bg);
}

/* The text of the screen's row r (its rows are a circle from top). */
static char *text_row(struct fbcon *c, unsigned r)
{
	return c->text[(c->top + r) % c->rows];
}

/* A scroll moves top and clears one row: its cost does not grow with the screen. */
static void new_line(struct fbcon *c)
{
	c->col = 0;
	if (c->row + 1 < c->rows) {
		c->row++;
		return;
	}
	c->top = (c->top + 1) % c->rows;
	memset(text_row(c, c->rows - 1), ' ', sizeof(c->text[0]));
}

static void put_char(struct fbcon *c, char ch)
{
	if (ch == '\n') {
		new_line(c);
	} else if (ch == '\r') {
		c->col = 0;
	} else if (ch == '\t') {
		do
			put_char(c, ' ');
		while (c->col % TAB_STOP && c->col < c->cols);
	} else {
		if (c->col == c->cols)
			new_line(c);
		text_row(c, c->row)[c->col++] = ch >= 0x20 && ch < 0x7f ? ch : '?';
	}
}

void fbcon_write(struct fbcon *c, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_char(c, s[i]);
	c->dirty |= n > 0;
}

void fbcon_copy_row(struct fbcon *c, unsigned r, char *row)
{
	memcpy(row, text_row(c, r), c->cols);
}

void fbcon_draw_row(struct fbcon *c, unsigned r, const char *row)
{
	for (unsigned col = 0; col < c->cols; col++)
		if (row[col] != c->shown[r][col]) {
			draw_cell(c, r, col, row[col]);
			c->shown[r][col] = row[col];
		}
}

void fbcon_render(struct fbcon *c)
{
	if (!c->dirty)
		return;
	for (unsigned r = 0; r < c->rows; r++)
		fbcon_draw_row(c, r, text_row(c, r));
	c->dirty = false;
}
