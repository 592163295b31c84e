#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "kernel/lib/error.h"
#include "kernel/firmware/multiboot2.h"
#include "tests/unit/fake-log.h"

/* A boot information blob built tag by tag, as a loader would. */
struct blob {
	_Alignas(8) uint8_t b[65536];     /* room for more than MB2_MAX_MODULES module tags */
	size_t len;
};

static struct mb2_info info;

static void put32(struct blob *bl, size_t off, uint32_t v) { memcpy(bl->b + off, &v, 4); }

static void blob_init(struct blob *bl)
{
	memset(bl, 0, sizeof(*bl));
	bl->len = 8;
}

/* Appends a tag with the payload; returns its offset. The size field is 8 + plen. */
static size_t tag(struct blob *bl, uint32_t type, const void *payload, size_t plen)
{
	size_t off = bl->len;
	put32(bl, off, type);
	put32(bl, off + 4, 8 + plen);
	if (plen)
		memcpy(bl->b + off + 8, payload, plen);
	bl->len = (off + 8 + plen + 7) & ~(size_t)7;
	return off;
}

static size_t str_tag(struct blob *bl, uint32_t type, const char *s)
{
	return tag(bl, type, s, strlen(s) + 1);
}

static size_t module_tag(struct blob *bl, uint32_t start, uint32_t end, const char *s)
{
	uint8_t p[256];
	memcpy(p, &start, 4);
	memcpy(p + 4, &end, 4);
	strcpy((char *)p + 8, s);
	return tag(bl, MB2_TAG_MODULE, p, 8 + strlen(s) + 1);
}

/* A memory map tag of n entries of entry_size bytes: entry i = {base[i], len[i], type[i]}. */
static size_t mmap_tag(struct blob *bl, uint32_t entry_size, unsigned n, const uint64_t *base,
		       const uint64_t *len, const uint32_t *type)
{
	static uint8_t p[8192];
	memset(p, 0, sizeof(p));
	memcpy(p, &entry_size, 4);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = p + 8 + i * entry_size;
		memcpy(e, &base[i], 8);
		memcpy(e + 8, &len[i], 8);
		memcpy(e + 16, &type[i], 4);
	}
	return tag(bl, MB2_TAG_MMAP, p, 8 + n * entry_size);
}

static void finish(struct blob *bl)
{
	tag(bl, MB2_TAG_END, NULL, 0);
	put32(bl, 0, bl->len);
}

static int parse(struct blob *bl)
{
	fake_log_reset();
	return mb2_parse(bl->b, bl->len, &info);
}

static void minimal(void **state)
{
	struct blob bl;
	blob_init(&bl);
	finish(&bl);
	assert_int_equal(parse(&bl), 0);
	assert_int_equal(info.total_size, 16);
	assert_string_equal(info.cmdline, "");
	assert_string_equal(info.bootloader, "");
	assert_int_equal(info.n_mmap, 0);
	assert_false(info.have_mmap);
	assert_int_equal(info.n_modules, 0);
	assert_null(info.rsdp);
	assert_int_equal(info.rsdp_tag, 0);
	assert_false(info.efi64);
	assert_false(info.efi_boot_services);
	assert_int_equal(fake_log_errors, 0);
}

static void full(void **state)
{
	struct blob bl;
	uint8_t rsdp1[20] = "RSD PTR v1", rsdp2[36] = "RSD PTR v2";
	uint32_t mi[2] = { 639, 523264 };
	uint64_t efi = 0x7fe1e018;
	uint32_t lb = 0x200000;
	uint8_t fb[24] = { 1, 2, 3 };   /* an indexed-colour framebuffer */
	const uint64_t base[] = { 0, 0x9fc00, 0x100000 };
	const uint64_t len[] = { 0x9fc00, 0x400, 0x1fee0000 };
	const uint32_t type[] = { 1, 2, 1 };

	blob_init(&bl);
	str_tag(&bl, MB2_TAG_CMDLINE, "/boot/courier.elf selftest=smp exit=idle");
	str_tag(&bl, MB2_TAG_BOOTLOADER, "GRUB 2.06");
	tag(&bl, MB2_TAG_MEMINFO, mi, sizeof(mi));
	module_tag(&bl, 0x1000000, 0x1002000, "name=ping cpu=1");
	module_tag(&bl, 0x1002000, 0x1002000, "");
	mmap_tag(&bl, 24, 3, base, len, type);
	tag(&bl, MB2_TAG_FRAMEBUFFER, fb, sizeof(fb));
	tag(&bl, 99, "future", 6);
	tag(&bl, MB2_TAG_ACPI_NEW, rsdp2, sizeof(rsdp2));
	tag(&bl, MB2_TAG_ACPI_OLD, rsdp1, sizeof(rsdp1));
	tag(&bl, MB2_TAG_EFI64, &efi, 8);
	tag(&bl, MB2_TAG_EFI_BS, NULL, 0);
	tag(&bl, MB2_TAG_LOAD_BASE, &lb, 4);
	finish(&bl);

	assert_int_equal(parse(&bl), 0);
	assert_int_equal(fake_log_errors, 0);
	assert_string_equal(info.cmdline, "/boot/courier.elf selftest=smp exit=idle");
	assert_string_equal(info.bootloader, "GRUB 2.06");
	assert_true(info.have_meminfo);
	assert_int_equal(info.mem_lower_kib, 639);
	assert_int_equal(info.mem_upper_kib, 523264);
	assert_int_equal(info.n_modules, 2);
	assert_int_equal(info.modules[0].start, 0x1000000);
	assert_int_equal(info.modules[0].end, 0x1002000);
	assert_string_equal(info.modules[0].cmdline, "name=ping cpu=1");
	assert_string_equal(info.modules[1].cmdline, "");
	assert_true(info.have_mmap);
	assert_int_equal(info.n_mmap, 3);
	assert_false(info.mmap_truncated);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(info.mmap[i].addr, base[i]);
		assert_int_equal(info.mmap[i].len, len[i]);
		assert_int_equal(info.mmap[i].type, type[i]);
	}
	/* The new RSDP wins even though the old tag comes after it. */
	assert_int_equal(info.rsdp_tag, MB2_TAG_ACPI_NEW);
	assert_int_equal(info.rsdp_len, 36);
	assert_memory_equal(info.rsdp, rsdp2, 36);
	assert_true((const uint8_t *)info.rsdp > bl.b);
	assert_true((const uint8_t *)info.rsdp < bl.b + bl.len);
	assert_true(info.efi64);
	assert_int_equal(info.efi64_system_table, efi);
	assert_true(info.efi_boot_services);
	assert_true(info.have_load_base);
	assert_int_equal(info.load_base, lb);
	/* Strings point into the info, not into a copy. */
	assert_true(info.cmdline > (const char *)bl.b);
	assert_true(info.cmdline < (const char *)bl.b + bl.len);
}

static void acpi_old_only_and_order(void **state)
{
	struct blob bl;
	uint8_t rsdp1[20] = "RSD PTR v1", rsdp2[36] = "RSD PTR v2";

	blob_init(&bl);
	tag(&bl, MB2_TAG_ACPI_OLD, rsdp1, sizeof(rsdp1));
	finish(&bl);
	assert_int_equal(parse(&bl), 0);
	assert_int_equal(info.rsdp_tag, MB2_TAG_ACPI_OLD);
	assert_int_equal(info.rsdp_len, 20);

	blob_init(&bl);
	tag(&bl, MB2_TAG_ACPI_OLD, rsdp1, sizeof(rsdp1));
	tag(&bl, MB2_TAG_ACPI_NEW, rsdp2, sizeof(rsdp2));
	finish(&bl);
	assert_int_equal(parse(&bl), 0);
	assert_int_equal(info.rsdp_tag, MB2_TAG_ACPI_NEW);
	assert_memory_equal(info.rsdp, rsdp2, 36);

	/* An ACPI tag too small to hold even an ACPI 1.0 RSDP is malformed. */
	blob_init(&bl);
	tag(&bl, MB2_TAG_ACPI_NEW, rsdp2, 12);
	finish(&bl);
	assert_int_equal(parse(&bl), E_INVAL);
	assert_true(fake_log_contains("tag type 15 at offset 0x8"));
	assert_null(info.rsdp);
}

static void mmap_wide_entries_and_clamp(void **state)
{
	struct blob bl;
	const uint64_t base[] = { 0x100000, 0xfffffffffffff000ull };
	const uint64_t len[] = { 0x1000, 0x2000 };
	const uint32_t type[] = { 1, 2 };

	blob_init(&bl);
	mmap_tag(&bl, 32, 2, base, len, type);
	finish(&bl);
	assert_int_equal(parse(&bl), 0);
	assert_int_equal(info.n_mmap, 2);
	assert_int_equal(info.mmap[0].addr, 0x100000);
	assert_int_equal(info.mmap[0].len, 0x1000);
	assert_int_equal(info.mmap[1].len, 0xfff);
	assert_true(fake_log_contains("wraps"));
}

static void duplicate_strings_first_wins(void **state)
{
	struct blob bl;
	blob_init(&bl);
	str_tag(&bl, MB2_TAG_CMDLINE, "");
	str_tag(&bl, MB2_TAG_CMDLINE, "second");
	finish(&bl);
	assert_int_equal(parse(&bl), 0);
	assert_string_equal(info.cmdline, "");
	assert_true(fake_log_contains("W: mb2: tag type 1 at offset 0x18: duplicate"));
	assert_int_equal(fake_log_errors, 0);
}

static void unaligned_info_pointer(void **state)
{
	struct blob bl;
	static uint8_t shifted[256];

	blob_init(&bl);
	str_tag(&bl, MB2_TAG_CMDLINE, "x=1");
	module_tag(&bl, 1, 2, "m");
	finish(&bl);
	memcpy(shifted + 4, bl.b, bl.len);
	fake_log_reset();
	assert_int_equal(mb2_parse(shifted + 4, bl.len, &info), 0);
	assert_string_equal(info.cmdline, "x=1");
	assert_int_equal(info.modules[0].end, 2);
}

static void bad_header(void **state)
{
	struct blob bl;
	blob_init(&bl);
	finish(&bl);

	fake_log_reset();
	assert_int_equal(mb2_parse(NULL, 100, &info), E_INVAL);
	assert_string_equal(info.cmdline, "");
	assert_int_equal(mb2_parse(bl.b, 15, &info), E_INVAL);
	assert_int_equal(fake_log_errors, 2);

	/* total_size larger than what may be read: the info is truncated. */
	fake_log_reset();
	assert_int_equal(mb2_parse(bl.b, 16, &info), 0);
	put32(&bl, 0, 24);
	assert_int_equal(mb2_parse(bl.b, 16, &info), E_INVAL);
	assert_true(fake_log_contains("total_size 24"));
	put32(&bl, 0, 8);
	assert_int_equal(mb2_parse(bl.b, 16, &info), E_INVAL);
	put32(&bl, 0, 0xffffffff);
	assert_int_equal(mb2_parse(bl.b, sizeof(bl.b), &info), E_INVAL);
	assert_int_equal(info.total_size, 0);
}

static void zero_and_small_tag_size(void **state)
{
	struct blob bl;
	size_t off;

	for (uint32_t sz = 0; sz < 8; sz += 4) {
		blob_init(&bl);
		str_tag(&bl, MB2_TAG_CMDLINE, "kept=1");
		off = tag(&bl, 5, "12345678", 8);
		put32(&bl, off + 4, sz);
		finish(&bl);
		assert_int_equal(parse(&bl), E_INVAL);
		assert_true(fake_log_contains("E: mb2: tag type 5 at offset 0x18: size below 8"));
		/* What was parsed before the bad tag is kept. */
		assert_string_equal(info.cmdline, "kept=1");
	}
}

static void tag_past_end(void **state)
{
	struct blob bl;
	size_t off;

	blob_init(&bl);
	module_tag(&bl, 0x1000, 0x2000, "a");
	off = tag(&bl, MB2_TAG_MODULE, "\0\0\0\0\0\0\0\0b", 10);
	put32(&bl, off + 4, 0x7fffffff);
	finish(&bl);
	assert_int_equal(parse(&bl), E_INVAL);
	assert_true(fake_log_contains("tag type 3 at offset 0x20: runs past total_size"));
	assert_int_equal(info.n_modules, 1);

	/* Exactly one byte past the end. */
	blob_init(&bl);
	off = str_tag(&bl, MB2_TAG_CMDLINE, "abc");
	finish(&bl);
	put32(&bl, off + 4, bl.len - off + 1);
	assert_int_equal(parse(&bl), E_INVAL);
}

static void missing_end_tag(void **state)
{
	struct blob bl;

	blob_init(&bl);
	str_tag(&bl, MB2_TAG_CMDLINE, "a=b");
	put32(&bl, 0, bl.len);
	assert_int_equal(parse(&bl), E_INVAL);
	assert_true(fake_log_contains("no end tag"));
	assert_string_equal(info.cmdline, "a=b");

	/* A total_size that cuts the end tag's header in half. */
	blob_init(&bl);
	str_tag(&bl, MB2_TAG_CMDLINE, "a");
	finish(&bl);
	put32(&bl, 0, 28);
	assert_int_equal(parse(&bl), E_INVAL);
	assert_true(fake_log_contains("no end tag"));

	/* An end tag of the wrong size. */
	blob_init(&bl);
	tag(&bl, MB2_TAG_END, "\0\0\0\0\0\0\0\0", 8);
	put32(&bl, 0, bl.len);
	assert_int_equal(parse(&bl), E_INVAL);
	assert_true(fake_log_contains("tag type 0 at offset 0x8: end tag size not 8"));
}

static void unterminated_strings(void **state)
{
	struct blob bl;

	blob_init(&bl);
	tag(&bl, MB2_TAG_CMDLINE, "abcdefgh", 8);
	finish(&bl);
	assert_int_equal(parse(&bl), E_INVAL);
	assert_true(fake_log_contains("tag type 1 at offset 0x8: string not NUL-terminated"));
	assert_string_equal(info.cmdline, "");

	/* A NUL in the padding after the tag does not count: the tag ends at its size. */
	blob_init(&bl);
	tag(&bl, MB2_TAG_BOOTLOADER, "abc", 3);
	finish(&bl);
	assert_int_equal(parse(&bl), E_INVAL);

	blob_init(&bl);
	tag(&bl, MB2_TAG_CMDLINE, NULL, 0);
	finish(&bl);
	assert_int_equal(parse(&bl), E_INVAL);
	assert_true(fake_log_contains("too small"));

	blob_init(&bl);
	tag(&bl, MB2_TAG_MODULE, "\0\0\0\0\1\0\0\0xy", 10);
	finish(&bl);
	assert_int_equal(parse(&bl), E_INVAL);
	assert_true(fake_log_contains("module string not NUL-terminated"));
	assert_int_equal(info.n_modules, 0);

	blob_init(&bl);
	tag(&bl, MB2_TAG_MODULE, "\0\0\0\0\1\0\0\0", 8);
	finish(&bl);
	assert_int_equal(parse(&bl), E_INVAL);
}

static void bad_module_range(void **state)
{
	struct blob bl;
	blob_init(&bl);
	module_tag(&bl, 0x2000, 0x1000, "x");
	finish(&bl);
	assert_int_equal(parse(&bl), E_INVAL);
	assert_true(fake_log_contains("tag type 3 at offset 0x8: module start above its end"));
	assert_int_equal(info.n_modules, 0);
}

static void bad_mmap_entry_size(void **state)
{
	static const uint32_t sizes[] = { 0, 8, 20, 28 };
	const uint64_t base[] = { 0x100000 }, len[] = { 0x1000 };
	const uint32_t type[] = { 1 };
	struct blob bl;

	for (unsigned i = 0; i < 4; i++) {
		blob_init(&bl);
		size_t off = mmap_tag(&bl, 24, 1, base, len, type);
		put32(&bl, off + 8, sizes[i]);
		finish(&bl);
		assert_int_equal(parse(&bl), E_INVAL);
		assert_true(fake_log_contains("tag type 6 at offset 0x8: bad memory map entry "
					      "size"));
		assert_int_equal(info.n_mmap, 0);
	}

	/* A trailing partial entry: the whole entries before it are kept. */
	blob_init(&bl);
	size_t off = mmap_tag(&bl, 24, 1, base, len, type);
	put32(&bl, off + 4, 16 + 24 + 8);
	bl.len = off + 48;
	finish(&bl);
	assert_int_equal(parse(&bl), E_INVAL);
	assert_true(fake_log_contains("partial entry"));
	assert_int_equal(info.n_mmap, 1);

	/* A mmap tag too short for its own header. */
	blob_init(&bl);
	tag(&bl, MB2_TAG_MMAP, "\x18\0\0\0", 4);
	finish(&bl);
	assert_int_equal(parse(&bl), E_INVAL);
}

static void huge_counts(void **state)
{
	static uint64_t base[300], len[300];
	static uint32_t type[300];
	static struct blob bl;

	for (unsigned i = 0; i < 300; i++) {
		base[i] = (uint64_t)i << 20;
		len[i] = 1 << 20;
		type[i] = 1 + i % 4;
	}
	blob_init(&bl);
	mmap_tag(&bl, 24, 300, base, len, type);
	for (unsigned i = 0; i < MB2_MAX_MODULES + 8; i++)
		module_tag(&bl, i * 0x1000, i * 0x1000 + 0x800, "m");
	finish(&bl);
	assert_int_equal(parse(&bl), 0);
	assert_int_equal(info.n_mmap, MB2_MAX_MMAP);
	assert_true(info.mmap_truncated);
	assert_int_equal(info.mmap[127].addr, 127u << 20);
	assert_int_equal(info.n_modules, MB2_MAX_MODULES);
	assert_true(info.modules_truncated);
	assert_int_equal(info.modules[MB2_MAX_MODULES - 1].start, (MB2_MAX_MODULES - 1) * 0x1000);
	/* Losing a module is an error (a guest is missing); a shorter memory map is not. */
	assert_int_equal(fake_log_errors, 1);
	assert_true(fake_log_contains("more than 512 modules"));
	assert_true(fake_log_contains("W: mb2: more than 128 memory map entries"));
}

static void avail_cuts_everything(void **state)
{
	/* Every prefix of a valid info, with total_size cut to match, either parses fully or
	 * fails cleanly; ASan checks that nothing past avail is read. */
	static struct blob bl;
	const uint64_t base[] = { 0 }, len[] = { 0x9fc00 };
	const uint32_t type[] = { 1 };

	blob_init(&bl);
	str_tag(&bl, MB2_TAG_CMDLINE, "a=1 b=2");
	mmap_tag(&bl, 24, 1, base, len, type);
	module_tag(&bl, 1, 2, "name=x");
	finish(&bl);
	for (size_t n = 0; n <= bl.len; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, bl.b, n);
		if (n >= 4)
			memcpy(copy, &(uint32_t){ n }, 4);
		fake_log_reset();
		int err = mb2_parse(copy, n, &info);
		assert_int_equal(err, n == bl.len ? 0 : E_INVAL);
		free(copy);
	}
}

/* The framebuffer tag's payload (after type and size): address, pitch, width, height, bpp,
 * type, a reserved u16, then the colour fields of an RGB one. */
static size_t fb_tag(struct blob *bl, uint8_t type, size_t colour_bytes)
{
	uint8_t p[32] = { 0 };
	uint64_t addr = 0xfd000000;
	uint32_t pitch = 5120, width = 1280, height = 800;
	const uint8_t colours[6] = { 16, 8, 8, 8, 0, 8 };

	memcpy(p, &addr, 8);
	memcpy(p + 8, &pitch, 4);
	memcpy(p + 12, &width, 4);
	memcpy(p + 16, &height, 4);
	p[20] = 32;
	p[21] = type;
	memcpy(p + 24, colours, colour_bytes);
	return tag(bl, MB2_TAG_FRAMEBUFFER, p, 24 + colour_bytes);
}

static void framebuffer_tag(void **state)
{
	struct blob bl;

	blob_init(&bl);
	fb_tag(&bl, 1, 6);
	finish(&bl);
	assert_int_equal(parse(&bl), 0);
	assert_true(info.have_fb);
	assert_int_equal(info.fb.addr, 0xfd000000);
	assert_int_equal(info.fb.pitch, 5120);
	assert_int_equal(info.fb.width, 1280);
	assert_int_equal(info.fb.height, 800);
	assert_int_equal(info.fb.bpp, 32);
	assert_int_equal(info.fb.type, MB2_FB_RGB);
	assert_int_equal(info.fb.red_pos, 16);
	assert_int_equal(info.fb.green_pos, 8);
	assert_int_equal(info.fb.blue_pos, 0);
	assert_int_equal(info.fb.blue_size, 8);

	/* EGA text has no colour fields: taken as it is (its user turns it down). */
	blob_init(&bl);
	fb_tag(&bl, 2, 0);
	finish(&bl);
	assert_int_equal(parse(&bl), 0);
	assert_true(info.have_fb);
	assert_int_equal(info.fb.type, MB2_FB_EGA_TEXT);
	assert_int_equal(info.fb.red_size, 0);

	/* An RGB tag cut before its colour fields, or shorter than the fixed part: malformed. */
	blob_init(&bl);
	fb_tag(&bl, 1, 3);
	finish(&bl);
	assert_int_equal(parse(&bl), E_INVAL);
	assert_false(info.have_fb);
	assert_int_equal(fake_log_errors, 1);
	blob_init(&bl);
	tag(&bl, MB2_TAG_FRAMEBUFFER, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	finish(&bl);
	assert_int_equal(parse(&bl), E_INVAL);
	assert_false(info.have_fb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(minimal),
		cmocka_unit_test(full),
		cmocka_unit_test(acpi_old_only_and_order),
		cmocka_unit_test(mmap_wide_entries_and_clamp),
		cmocka_unit_test(duplicate_strings_first_wins),
		cmocka_unit_test(unaligned_info_pointer),
		cmocka_unit_test(bad_header),
		cmocka_unit_test(zero_and_small_tag_size),
		cmocka_unit_test(tag_past_end),
		cmocka_unit_test(missing_end_tag),
		cmocka_unit_test(unterminated_strings),
		cmocka_unit_test(bad_module_range),
		cmocka_unit_test(bad_mmap_entry_size),
		cmocka_unit_test(huge_counts),
		cmocka_unit_test(avail_cuts_everything),
		cmocka_unit_test(framebuffer_tag),
	};
	return cmocka_run_group_tests_name("multiboot2", tests, NULL, NULL);
}
