/*
 * kernel/lib/elf.c: every rule on hand-built images, corruptions of a real guest image, and the
 * real guests themselves (every $BUILD/guests/NAME.elf, when they have been built).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glob.h>
#include <cmocka.h>
#include "kernel/lib/elf.h"
#include "kernel/lib/error.h"

/* The window the tests load into: 4 MiB of guest RAM at 0x400000, as the hypervisor does. */
#define LO              0x400000ull
#define HI              0x800000ull
#define PAGE            0x1000ull
#define IMG_MAX         (4u << 20)

#define EHDR_SIZE       64
#define PHDR_SIZE       56
#define PT_NULL         0
#define PT_LOAD         1
#define PT_DYNAMIC      2
#define PT_INTERP       3
#define PT_NOTE         4
#define PT_PHDR         6
#define PT_TLS          7
#define PT_GNU_STACK    0x6474e551u
#define PF_X            1
#define PF_W            2
#define PF_R            4

struct img {
	uint8_t *b;
	size_t len;
};

static struct img m;
static struct elf_image out;
static char why[256];

static void w(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t r(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;
	while (bytes--)
		v = v << 8 | p[bytes];
	return v;
}

static uint8_t *phdr(unsigned i)
{
	return m.b + r(m.b + 32, 8) + (size_t)i * PHDR_SIZE;
}

static void set_phdr(unsigned i, uint32_t type, uint32_t flags, uint64_t off, uint64_t vaddr,
		     uint64_t filesz, uint64_t memsz, uint64_t align)
{
	uint8_t *p = phdr(i);
	w(p + 0, type, 4);
	w(p + 4, flags, 4);
	w(p + 8, off, 8);
	w(p + 16, vaddr, 8);
	w(p + 24, vaddr, 8);
	w(p + 32, filesz, 8);
	w(p + 40, memsz, 8);
	w(p + 48, align, 8);
}

static void set_phnum(unsigned n)
{
	w(m.b + 56, n, 2);
}

static void set_entry(uint64_t e)
{
	w(m.b + 24, e, 8);
}

/*
 * The smallest good image: text R+X at 0x400000 (file 0x1000, 0x100 bytes) and data R+W at
 * 0x401000 (file 0x2000, 0x10 bytes, 0x2000 in memory), entry at the start of text.
 */
static void build(void)
{
	memset(m.b, 0, IMG_MAX);
	m.len = 0x3000;
	memcpy(m.b, "\x7f" "ELF", 4);
	m.b[4] = 2;                     /* ELFCLASS64 */
	m.b[5] = 1;                     /* ELFDATA2LSB */
	m.b[6] = 1;                     /* EV_CURRENT */
	w(m.b + 16, 2, 2);              /* ET_EXEC */
	w(m.b + 18, 62, 2);             /* EM_X86_64 */
	w(m.b + 20, 1, 4);
	w(m.b + 32, EHDR_SIZE, 8);      /* e_phoff */
	w(m.b + 52, EHDR_SIZE, 2);
	w(m.b + 54, PHDR_SIZE, 2);
	set_phnum(2);
	set_entry(LO);
	set_phdr(0, PT_LOAD, PF_R | PF_X, 0x1000, LO, 0x100, 0x100, PAGE);
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, LO + 0x1000, 0x10, 0x2000, PAGE);
	memset(m.b + 0x1000, 0x90, 0x100);
}

static int check(void)
{
	memset(&out, 0xa5, sizeof(out));
	return elf_check(m.b, m.len, LO, HI, &out, why, sizeof(why));
}

#define assert_refused(err, text) do { \
	assert_int_equal(check(), (err)); \
	if (!strstr(why, (text))) \
		fail_msg("why is \"%s\", expected \"%s\" in it", why, (text)); \
} while (0)

static int setup(void **state)
{
	m.b = calloc(1, IMG_MAX);
	build();
	return m.b ? 0 : -1;
}

static int teardown(void **state)
{
	free(m.b);
	return 0;
}

static void good_minimal(void **state)
{
	assert_int_equal(check(), 0);
	assert_string_equal(why, "");
	assert_int_equal(out.entry, LO);
	assert_int_equal(out.nsegs, 2);
	assert_int_equal(out.segs[0].vaddr, LO);
	assert_int_equal(out.segs[0].offset, 0x1000);
	assert_int_equal(out.segs[0].filesz, 0x100);
	assert_int_equal(out.segs[0].memsz, 0x100);
	assert_int_equal(out.segs[0].flags, ELF_SEG_R | ELF_SEG_X);
	assert_int_equal(out.segs[1].vaddr, LO + 0x1000);
	assert_int_equal(out.segs[1].memsz, 0x2000);
	assert_int_equal(out.segs[1].flags, ELF_SEG_R | ELF_SEG_W);
}

static void header_too_short(void **state)
{
	m.len = 0;
	assert_refused(E_INVAL, "too short");
	m.len = EHDR_SIZE - 1;
	assert_refused(E_INVAL, "too short");
	assert_int_equal(elf_check(NULL, 100, LO, HI, &out, why, sizeof(why)), E_INVAL);
}

static void header_ident(void **state)
{
	for (unsigned i = 0; i < 4; i++) {
		build();
		m.b[i] ^= 0x20;
		assert_refused(E_INVAL, "bad magic");
	}
	build();
	m.b[4] = 1;
	assert_refused(E_INVAL, "not 64-bit");
	build();
	m.b[5] = 2;
	assert_refused(E_INVAL, "not little-endian");
	build();
	m.b[6] = 0;
	assert_refused(E_INVAL, "version");
	build();
	w(m.b + 20, 2, 4);
	assert_refused(E_INVAL, "version");
}

static void header_type_machine(void **state)
{
	w(m.b + 16, 3, 2);              /* ET_DYN: a PIE */
	assert_refused(E_INVAL, "not an executable");
	build();
	w(m.b + 16, 1, 2);              /* ET_REL */
	assert_refused(E_INVAL, "not an executable");
	build();
	w(m.b + 18, 3, 2);              /* EM_386 */
	assert_refused(E_INVAL, "not x86-64");
	build();
	w(m.b + 52, 52, 2);
	assert_refused(E_INVAL, "header size");
}

static void phdr_table(void **state)
{
	set_phnum(0);
	assert_refused(E_INVAL, "no program headers");
	set_phnum(ELF_MAX_PHDRS + 1);
	assert_refused(E_INVAL, "program headers (at most");
	set_phnum(0xffff);              /* PN_XNUM */
	assert_refused(E_INVAL, "program headers (at most");
	build();
	w(m.b + 54, 32, 2);
	assert_refused(E_INVAL, "program header size 32");
	w(m.b + 54, 64, 2);
	assert_refused(E_INVAL, "program header size 64");
	build();
	w(m.b + 32, m.len, 8);
	assert_refused(E_INVAL, "run past the end");
	w(m.b + 32, m.len - PHDR_SIZE, 8);      /* the second entry would be past the end */
	assert_refused(E_INVAL, "run past the end");
	w(m.b + 32, UINT64_MAX - 8, 8);
	assert_refused(E_INVAL, "run past the end");
	/* The table may sit anywhere in the file, at any alignment. */
	build();
	memcpy(m.b + 0x2801, m.b + EHDR_SIZE, 2 * PHDR_SIZE);
	w(m.b + 32, 0x2801, 8);
	assert_int_equal(check(), 0);
}

static void load_sizes(void **state)
{
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, LO + 0x1000, 0x2001, 0x2000, PAGE);
	assert_refused(E_INVAL, "exceeds memory size");
	build();
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, LO + 0x1000, 0x1001, 0x2000, PAGE);
	assert_refused(E_INVAL, "run past the end");
	build();
	set_phdr(1, PT_LOAD, PF_R | PF_W, UINT64_MAX - 0xfff, LO + 0x1000, 0x100, 0x2000, PAGE);
	assert_refused(E_INVAL, "run past the end");
	/* Exactly to the end of the image is fine; so is a bss-only segment anywhere. */
	build();
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, LO + 0x1000, 0x1000, 0x2000, PAGE);
	assert_int_equal(check(), 0);
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x7fff000, LO + 0x1000, 0, 0x2000, PAGE);
	assert_int_equal(check(), 0);
}

static void load_alignment(void **state)
{
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2010, LO + 0x1000, 0x10, 0x2000, PAGE);
	assert_refused(E_INVAL, "differ modulo the page size");
	build();
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, LO + 0x1000, 0x10, 0x2000, 0x3000);
	assert_refused(E_INVAL, "not a power of two");
	/* Unaligned but congruent is fine, and so are p_align 0, 1 and 2 MiB. */
	build();
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2010, LO + 0x1010, 0x10, 0x2000, 0);
	assert_int_equal(check(), 0);
	assert_int_equal(out.segs[1].vaddr, LO + 0x1010);
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2010, LO + 0x1010, 0x10, 0x2000, 1);
	assert_int_equal(check(), 0);
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2010, LO + 0x1010, 0x10, 0x2000, 0x200000);
	assert_int_equal(check(), 0);
}

static void load_window(void **state)
{
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, LO - PAGE, 0x10, 0x10, PAGE);
	assert_refused(E_RANGE, "outside guest memory");
	/* A segment ending one byte into the page above the window needs that page. */
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, HI - PAGE, 0x10, PAGE + 1, PAGE);
	assert_refused(E_RANGE, "outside guest memory");
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, 0xffffffff80000000ull, 0x10, 0x10, PAGE);
	assert_refused(E_RANGE, "outside guest memory");
	/* The last page of the window is fine. */
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, HI - PAGE, 0x10, PAGE, PAGE);
	assert_int_equal(check(), 0);
	/* The window is the caller's: an empty one refuses everything. */
	assert_int_equal(elf_check(m.b, m.len, HI, LO, &out, why, sizeof(why)), E_INVAL);
}

static void load_wraps(void **state)
{
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, 0xfffffffffffff000ull, 0x10, 0x2000, PAGE);
	assert_refused(E_RANGE, "wraps around");
	/* The end fits in 64 bits but rounding it up to a page does not. */
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2ff0, 0xfffffffffffffff0ull, 0x1, 0x1, PAGE);
	assert_refused(E_RANGE, "wraps around");
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, LO + 0x1000, 0x10, UINT64_MAX, PAGE);
	assert_refused(E_RANGE, "wraps around");
}

static void load_permissions(void **state)
{
	set_phdr(1, PT_LOAD, PF_R | PF_W | PF_X, 0x2000, LO + 0x1000, 0x10, 0x2000, PAGE);
	assert_refused(E_PERM, "writable and executable");
	set_phdr(1, PT_LOAD, PF_W | PF_X, 0x2000, LO + 0x1000, 0x10, 0x2000, PAGE);
	assert_refused(E_PERM, "W^X");
	set_phdr(1, PT_LOAD, 0, 0x2000, LO + 0x1000, 0x10, 0x2000, PAGE);
	assert_refused(E_INVAL, "no permissions");
	/* OS- and processor-specific flag bits are ignored; R alone is fine. */
	set_phdr(1, PT_LOAD, PF_R | 0xf0000000u, 0x2000, LO + 0x1000, 0x10, 0x2000, PAGE);
	assert_int_equal(check(), 0);
	assert_int_equal(out.segs[1].flags, ELF_SEG_R);
}

static void load_overlap(void **state)
{
	/* Data starting in the last page of text (congruent, but the page is shared). */
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2800, LO + 0x800, 0x10, 0x100, PAGE);
	assert_refused(E_INVAL, "share a page");
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, LO, 0x10, 0x100, PAGE);
	assert_refused(E_INVAL, "share a page");
	/* Data below text, with text's page inside data's range. */
	set_phdr(0, PT_LOAD, PF_R | PF_X, 0x1000, LO + 0x2000, 0x100, 0x100, PAGE);
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, LO, 0x10, 0x4000, PAGE);
	set_entry(LO + 0x2000);
	assert_refused(E_INVAL, "share a page");
	/* Adjacent pages are fine, in either order. */
	set_phdr(1, PT_LOAD, PF_R | PF_W, 0x2000, LO, 0x10, 0x2000, PAGE);
	assert_int_equal(check(), 0);
}

static void entry_point(void **state)
{
	set_entry(LO + 0xff);           /* the last byte of text */
	assert_int_equal(check(), 0);
	set_entry(LO + 0x100);          /* one past it */
	assert_refused(E_INVAL, "entry point 0x400100");
	set_entry(LO + 0x1000);         /* data */
	assert_refused(E_INVAL, "not in the file bytes of an executable segment");
	set_entry(0);
	assert_refused(E_INVAL, "entry point");
	/* Text whose zero-filled tail holds the entry: no code there. */
	build();
	set_phdr(0, PT_LOAD, PF_R | PF_X, 0x1000, LO, 0x100, 0x800, PAGE);
	set_entry(LO + 0x200);
	assert_refused(E_INVAL, "entry point");
	set_entry(LO + 0x10);
	assert_int_equal(check(), 0);
}

static void program_header_types(void **state)
{
	set_phnum(3);
	set_phdr(2, PT_INTERP, PF_R, 0x1000, 0, 0x10, 0x10, 1);
	assert_refused(E_INVAL, "PT_INTERP");
	set_phdr(2, PT_DYNAMIC, PF_R | PF_W, 0x2000, LO + 0x1000, 0x10, 0x10, 8);
	assert_refused(E_INVAL, "PT_DYNAMIC");
	set_phdr(2, PT_TLS, PF_R, 0x2000, LO + 0x1000, 0x10, 0x10, 8);
	assert_refused(E_INVAL, "PT_TLS");
	/* Ignored: notes, the stack marker, PT_PHDR, PT_NULL, even with odd contents. */
	static const uint32_t ignored[] = { PT_NULL, PT_NOTE, PT_PHDR, PT_GNU_STACK, 0x60000000 };
	for (unsigned i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		set_phdr(2, ignored[i], PF_R | PF_W | PF_X, UINT64_MAX, UINT64_MAX, 7, 3, 3);
		assert_int_equal(check(), 0);
		assert_int_equal(out.nsegs, 2);
	}
}

static void segment_count(void **state)
{
	/* An empty PT_LOAD is skipped (not even its offset matters). */
	set_phnum(3);
	set_phdr(2, PT_LOAD, PF_R, UINT64_MAX, 0, 0, 0, PAGE);
	assert_int_equal(check(), 0);
	assert_int_equal(out.nsegs, 2);
	/* ELF_MAX_SEGMENTS segments are fine, one more is not. */
	set_phnum(ELF_MAX_SEGMENTS + 1);
	for (unsigned i = 1; i <= ELF_MAX_SEGMENTS; i++)
		set_phdr(i, PT_LOAD, PF_R, 0, LO + i * PAGE, 0, 0x10, PAGE);
	assert_refused(E_RANGE, "more than 16 loadable segments");
	set_phnum(ELF_MAX_SEGMENTS);
	assert_int_equal(check(), 0);
	assert_int_equal(out.nsegs, ELF_MAX_SEGMENTS);
	/* No PT_LOAD at all. */
	build();
	set_phdr(0, PT_NOTE, PF_R, 0x1000, LO, 0x10, 0x10, 4);
	set_phdr(1, PT_NOTE, PF_R, 0x1000, LO, 0x10, 0x10, 4);
	assert_refused(E_INVAL, "no loadable segments");
}

static void why_buffer(void **state)
{
	char small[8];

	m.b[0] = 0;
	memset(small, 'x', sizeof(small));
	assert_int_equal(elf_check(m.b, m.len, LO, HI, &out, small, sizeof(small)), E_INVAL);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(elf_check(m.b, m.len, LO, HI, &out, NULL, 0), E_INVAL);
}

static void unaligned_image(void **state)
{
	uint8_t *copy = malloc(m.len + 1);

	memcpy(copy + 1, m.b, m.len);
	assert_int_equal(elf_check(copy + 1, m.len, LO, HI, &out, why, sizeof(why)), 0);
	assert_int_equal(out.nsegs, 2);
	free(copy);
}

/* ---- real guests ------------------------------------------------------------------------- */

static const char *build_dir(void)
{
	const char *b = getenv("BUILD");
	return b && *b ? b : "build";
}

static bool load_file(const char *path)
{
	FILE *f = fopen(path, "rb");

	if (!f)
		return false;
	m.len = fread(m.b, 1, IMG_MAX, f);
	fclose(f);
	return m.len > 0 && m.len < IMG_MAX;
}

/* Without built guests: the hand-made image with a rodata segment, laid out like a guest. */
static void build_guest_like(void)
{
	build();
	m.len = 0x4000;
	set_phnum(3);
	set_phdr(1, PT_LOAD, PF_R, 0x2000, LO + 0x1000, 0x10, 0x10, PAGE);
	set_phdr(2, PT_LOAD, PF_R | PF_W, 0x3000, LO + 0x2000, 0x10, 0x2000, PAGE);
}

/* build/guests/hello.elf when built, else the hand-made image. */
static void load_real(void)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/guests/hello.elf", build_dir());
	if (!load_file(path))
		build_guest_like();
}

/* What the guest build promises: three segments, text RX, rodata R, data RW, at 0x400000. */
static void check_guest_layout(const char *path)
{
	if (check() != 0)
		fail_msg("%s: refused: %s", path, why);
	assert_int_equal(out.nsegs, 3);
	assert_int_equal(out.segs[0].vaddr, LO);
	assert_int_equal(out.segs[0].flags, ELF_SEG_R | ELF_SEG_X);
	assert_int_equal(out.segs[1].flags, ELF_SEG_R);
	assert_int_equal(out.segs[2].flags, ELF_SEG_R | ELF_SEG_W);
	for (unsigned i = 0; i < out.nsegs; i++)
		assert_int_equal(out.segs[i].vaddr % PAGE, 0);
}

static void real_guests(void **state)
{
	char pattern[512];
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s/guests/*.elf", build_dir());
	if (glob(pattern, 0, NULL, &g) != 0) {
		print_message("no %s: guests not built, skipped\n", pattern);
		skip();
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		assert_true(load_file(g.gl_pathv[i]));
		check_guest_layout(g.gl_pathv[i]);
	}
	globfree(&g);
}

/* The first PT_LOAD of the loaded image with the given flags. */
static uint8_t *real_phdr(uint32_t flags)
{
	unsigned n = (unsigned)r(m.b + 56, 2);

	for (unsigned i = 0; i < n; i++)
		if (r(phdr(i), 4) == PT_LOAD && (r(phdr(i) + 4, 4) & 7) == flags)
			return phdr(i);
	fail_msg("no PT_LOAD with flags %u", flags);
	return NULL;
}

static void real_corrupted(void **state)
{
	load_real();
	assert_int_equal(check(), 0);

	load_real();
	m.b[1] = 'e';
	assert_refused(E_INVAL, "bad magic");
	load_real();
	w(m.b + 16, 3, 2);
	assert_refused(E_INVAL, "not an executable");
	load_real();
	w(m.b + 18, 183, 2);            /* EM_AARCH64 */
	assert_refused(E_INVAL, "not x86-64");
	load_real();
	w(m.b + 54, 0x38 + 8, 2);
	assert_refused(E_INVAL, "program header size");
	load_real();
	m.len = r(real_phdr(PF_R | PF_W) + 8, 8) + 1;   /* cut inside the data segment */
	assert_refused(E_INVAL, "run past the end");
	load_real();
	w(real_phdr(PF_R | PF_W) + 4, PF_R | PF_W | PF_X, 4);
	assert_refused(E_PERM, "W^X");
	load_real();
	w(real_phdr(PF_R | PF_X) + 4, PF_R | PF_W | PF_X, 4);
	assert_refused(E_PERM, "W^X");
	load_real();
	w(real_phdr(PF_R | PF_X) + 4, PF_R, 4);         /* no executable segment left */
	assert_refused(E_INVAL, "entry point");
	load_real();
	set_entry(r(real_phdr(PF_R) + 16, 8));          /* rodata */
	assert_refused(E_INVAL, "entry point");
	load_real();
	w(real_phdr(PF_R | PF_W) + 40, HI, 8);          /* bss past the window */
	assert_refused(E_RANGE, "outside guest memory");
	load_real();
	w(real_phdr(PF_R) + 16, LO, 8);                 /* rodata onto text */
	assert_int_equal(check(), E_INVAL);
	load_real();
	w(real_phdr(PF_R | PF_W) + 8, r(real_phdr(PF_R | PF_W) + 8, 8) + 8, 8);
	assert_refused(E_INVAL, "differ modulo the page size");
	load_real();
	w(real_phdr(PF_R) + 0, PT_INTERP, 4);
	assert_refused(E_INVAL, "PT_INTERP");
}

/*
 * Random byte changes in the headers of the real image: whatever the checker accepts must
 * keep every promise of kernel/lib/elf.h (ASan and UBSan watch the rest).
 */
static void real_fuzzed(void **state)
{
	uint64_t seed = 0x2545f4914f6cdd1dull;
	size_t hdr_len;
	unsigned accepted = 0;

	load_real();
	hdr_len = (size_t)r(m.b + 32, 8) + r(m.b + 56, 2) * PHDR_SIZE;
	assert_true(hdr_len <= m.len);
	uint8_t *orig = malloc(m.len);
	memcpy(orig, m.b, m.len);
	for (unsigned iter = 0; iter < 20000; iter++) {
		memcpy(m.b, orig, m.len);
		for (unsigned k = 0; k < 1 + iter % 4; k++) {
			seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
			m.b[seed % hdr_len] ^= (uint8_t)(1u << (seed >> 32) % 8);
		}
		if (check() != 0)
			continue;
		accepted++;
		assert_true(out.nsegs >= 1 && out.nsegs <= ELF_MAX_SEGMENTS);
		bool entry_ok = false;
		for (unsigned i = 0; i < out.nsegs; i++) {
			const struct elf_segment *s = &out.segs[i];
			assert_true(s->vaddr >= LO && s->vaddr + s->memsz <= HI);
			assert_true(s->filesz <= s->memsz && s->offset + s->filesz <= m.len);
			assert_false((s->flags & ELF_SEG_W) && (s->flags & ELF_SEG_X));
			entry_ok |= (s->flags & ELF_SEG_X) && out.entry >= s->vaddr &&
				    out.entry < s->vaddr + s->filesz;
		}
		assert_true(entry_ok);
	}
	free(orig);
	print_message("%u of 20000 mutated images accepted\n", accepted);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(good_minimal, setup, teardown),
		cmocka_unit_test_setup_teardown(header_too_short, setup, teardown),
		cmocka_unit_test_setup_teardown(header_ident, setup, teardown),
		cmocka_unit_test_setup_teardown(header_type_machine, setup, teardown),
		cmocka_unit_test_setup_teardown(phdr_table, setup, teardown),
		cmocka_unit_test_setup_teardown(load_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(load_alignment, setup, teardown),
		cmocka_unit_test_setup_teardown(load_window, setup, teardown),
		cmocka_unit_test_setup_teardown(load_wraps, setup, teardown),
		cmocka_unit_test_setup_teardown(load_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(load_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(entry_point, setup, teardown),
		cmocka_unit_test_setup_teardown(program_header_types, setup, teardown),
		cmocka_unit_test_setup_teardown(segment_count, setup, teardown),
		cmocka_unit_test_setup_teardown(why_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(unaligned_image, setup, teardown),
		cmocka_unit_test_setup_teardown(real_guests, setup, teardown),
		cmocka_unit_test_setup_teardown(real_corrupted, setup, teardown),
		cmocka_unit_test_setup_teardown(real_fuzzed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
