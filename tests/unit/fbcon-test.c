/* The framebuffer console (kernel/cpu/fbcon.c): which framebuffers it takes, glyphs drawn into
 * a memory buffer of each pixel size, wrapping, scrolling, and cells redrawn only on change
 * and only when rendered. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "kernel/cpu/fbcon.h"

/* A 4x3 test font with three glyphs: ' ' blank, '?' a frame, 'A' a diagonal. */
static const uint8_t test_glyphs[] = {
	0x00, 0x00, 0x00,       /* ' ' */
	0xf0, 0x90, 0xf0,       /* '?' */
	0x80, 0x40, 0x20,       /* 'A' */
};
static const uint8_t *glyph_of(char c) { return test_glyphs + (c == ' ' ? 0 : c == '?' ? 3 : 6); }

/* ' ' .. 'A' (34 characters), each drawn with one of the three glyphs (setup builds it). */
static uint8_t font_table[34 * 3];
static struct font font = { .width = 4, .height = 3, .first = ' ', .count = 34,
			    .glyphs = font_table };

#define W 20    /* 5 columns */
#define H 9     /* 3 rows */

static struct mb2_framebuffer rgb_fb(unsigned bpp, unsigned pitch)
{
	struct mb2_framebuffer fb = { .addr = 0xc0000000, .pitch = pitch, .width = W, .height = H,
				      .bpp = (uint8_t)bpp, .type = MB2_FB_RGB };
	if (bpp == 16) {
		fb.red_pos = 11, fb.red_size = 5, fb.green_pos = 5, fb.green_size = 6;
		fb.blue_pos = 0, fb.blue_size = 5;
	} else {
		fb.red_pos = 16, fb.red_size = 8, fb.green_pos = 8, fb.green_size = 8;
		fb.blue_pos = 0, fb.blue_size = 8;
	}
	return fb;
}

static int setup(void **state)
{
	for (unsigned i = 0; i < 34; i++)
		memcpy(font_table + i * 3, glyph_of((char)(' ' + i)), 3);
	return 0;
}

static uint32_t px(const uint8_t *buf, const struct mb2_framebuffer *fb, unsigned x, unsigned y)
{
	const uint8_t *p = buf + (size_t)y * fb->pitch + x * (fb->bpp / 8u);
	uint32_t v = 0;
	memcpy(&v, p, fb->bpp / 8u);
	return v;
}

/* The character drawn at cell (row, col), from its pixels: ' ', '?', 'A' or 0. */
static char cell(const uint8_t *buf, const struct mb2_framebuffer *fb, unsigned row, unsigned col)
{
	for (const char *c = " ?A"; *c; c++) {
		const uint8_t *g = glyph_of(*c);
		bool same = true;
		for (unsigned y = 0; y < 3; y++)
			for (unsigned x = 0; x < 4; x++)
				if (!!px(buf, fb, col * 4 + x, row * 3 + y) != !!(g[y] & (0x80 >> x)))
					same = false;
		if (same)
			return *c;
	}
	return 0;
}

static void expect_screen(const uint8_t *buf, const struct mb2_framebuffer *fb, const char *rows)
{
	for (unsigned r = 0; r < 3; r++)
		for (unsigned c = 0; c < 5; c++)
			assert_int_equal(cell(buf, fb, r, c), rows[r * 5 + c]);
}

static void check_accepts_and_rejects(void **state)
{
	struct mb2_framebuffer fb = rgb_fb(32, W * 4);

	assert_null(fbcon_check(&fb, &font));
	fb.type = MB2_FB_EGA_TEXT;
	assert_non_null(fbcon_check(&fb, &font));
	fb.type = MB2_FB_INDEXED;
	assert_non_null(fbcon_check(&fb, &font));
	fb = rgb_fb(8, W);
	assert_non_null(fbcon_check(&fb, &font));
	fb = rgb_fb(32, W * 4 - 1);                     /* pitch shorter than a line */
	assert_non_null(fbcon_check(&fb, &font));
	fb = rgb_fb(32, W * 4);
	fb.width = 0;
	assert_non_null(fbcon_check(&fb, &font));
	fb = rgb_fb(32, W * 4);
	fb.height = FBCON_MAX_PIXELS + 1;
	assert_non_null(fbcon_check(&fb, &font));
	fb = rgb_fb(32, FBCON_MAX_PIXELS * 4 + 4);      /* absurd pitch */
	assert_non_null(fbcon_check(&fb, &font));
	fb = rgb_fb(32, W * 4);
	fb.addr = 0;
	assert_non_null(fbcon_check(&fb, &font));
	fb.addr = 1ull << 52;
	assert_non_null(fbcon_check(&fb, &font));
	fb = rgb_fb(32, W * 4);
	fb.red_pos = 30;                                /* past the pixel */
	assert_non_null(fbcon_check(&fb, &font));
	fb = rgb_fb(32, W * 4);
	fb.blue_size = 0;
	assert_non_null(fbcon_check(&fb, &font));
	fb = rgb_fb(32, W * 4);
	fb.width = 3;                                   /* narrower than a glyph */
	assert_non_null(fbcon_check(&fb, &font));
	fb = rgb_fb(24, W * 3);
	assert_null(fbcon_check(&fb, &font));
	fb = rgb_fb(16, W * 2 + 6);
	assert_null(fbcon_check(&fb, &font));
}

static struct fbcon *con;

static uint8_t *start(struct mb2_framebuffer *fb)
{
	uint8_t *buf = malloc((size_t)fb->pitch * H);
	memset(buf, 0x5a, (size_t)fb->pitch * H);
	con = calloc(1, sizeof(*con));
	assert_null(fbcon_check(fb, &font));
	fbcon_init(con, fb, buf, &font);
	return buf;
}

static void show(const char *s, size_t n)
{
	fbcon_write(con, s, n);
	fbcon_render(con);
}

static void finish(uint8_t *buf)
{
	free(buf);
	free(con);
}

/* Every pixel size: init clears all of it (the margin beyond the cells too), glyphs land in
 * their cells with the right colours. */
static void draws_each_pixel_size(void **state)
{
	static const unsigned bpps[] = { 32, 24, 16 };

	for (unsigned i = 0; i < 3; i++) {
		struct mb2_framebuffer fb = rgb_fb(bpps[i], W * (bpps[i] / 8) + 8);
		uint8_t *buf = start(&fb);

		for (unsigned y = 0; y < H; y++)
			for (unsigned x = 0; x < W; x++)
				assert_int_equal(px(buf, &fb, x, y), 0);
		show("A?", 2);
		expect_screen(buf, &fb, "A?   "
					"     "
					"     ");
		uint32_t fg = bpps[i] == 16 ? (0x18u << 11 | 0x30u << 5 | 0x18u) : 0xc0c0c0u;
		assert_int_equal(px(buf, &fb, 0, 0), fg);
		/* The bytes past the line (the pitch's padding) are never written. */
		assert_int_equal(buf[W * (bpps[i] / 8)], 0x5a);
		finish(buf);
	}
}

static void wraps_and_controls(void **state)
{
	struct mb2_framebuffer fb = rgb_fb(32, W * 4);
	uint8_t *buf = start(&fb);

	show("AAAAAA", 6);                  /* the sixth wraps */
	expect_screen(buf, &fb, "AAAAA"
				"A    "
				"     ");
	show("\r?\tA\x01", 5);              /* tab to column 8: the next row */
	expect_screen(buf, &fb, "AAAAA"
				"?    "
				"A?   ");
	finish(buf);
}

static void scrolls_when_full(void **state)
{
	struct mb2_framebuffer fb = rgb_fb(32, W * 4);
	uint8_t *buf = start(&fb);

	show("A\n?\nAA\n", 7);
	expect_screen(buf, &fb, "?    "
				"AA   "
				"     ");
	/* Several scrolls in one write: only the last screenful shows. */
	show("A\nA?\n?A\nAAA", 11);
	expect_screen(buf, &fb, "A?   "
				"?A   "
				"AAA  ");
	/* A full line then a newline takes one row, not two. */
	show("\nAAAAA\n?", 8);
	expect_screen(buf, &fb, "AAA  "
				"AAAAA"
				"?    ");
	finish(buf);
}

/* Cells whose character did not change are not drawn again: pixels scribbled over in such a
 * cell stay, in a changed one they are redrawn. */
static void redraws_only_changes(void **state)
{
	struct mb2_framebuffer fb = rgb_fb(32, W * 4);
	uint8_t *buf = start(&fb);

	show("A", 1);
	memset(buf + 4 * 4, 0x77, 4);                   /* cell (0,1), a blank one */
	memset(buf, 0x77, 4);                           /* cell (0,0) */
	show("\r?", 2);
	assert_int_equal(px(buf, &fb, 4, 0), 0x77777777);
	assert_int_equal(cell(buf, &fb, 0, 0), '?');
	finish(buf);
}

/* A write changes only the text; the render draws it, however many writes came before. */
static void draws_only_when_rendered(void **state)
{
	struct mb2_framebuffer fb = rgb_fb(32, W * 4);
	uint8_t *buf = start(&fb);

	fbcon_write(con, "AA\n", 3);
	fbcon_write(con, "?\n?A\nA", 6);
	expect_screen(buf, &fb, "     "
				"     "
				"     ");
	fbcon_render(con);
	expect_screen(buf, &fb, "?    "
				"?A   "
				"A    ");
	memset(buf, 0x77, 4);
	fbcon_render(con);                              /* nothing new: nothing drawn */
	assert_int_equal(px(buf, &fb, 0, 0), 0x77777777);
	finish(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(check_accepts_and_rejects),
		cmocka_unit_test(draws_each_pixel_size),
		cmocka_unit_test(wraps_and_controls),
		cmocka_unit_test(scrolls_when_full),
		cmocka_unit_test(redraws_only_changes),
		cmocka_unit_test(draws_only_when_rendered),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
