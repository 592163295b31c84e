/* Multiboot2 boot information parser (Multiboot2 specification 1.0, section 3.6). */
#include "kernel/firmware/multiboot2.h"
#include "kernel/lib/compiler.h"
#include "kernel/lib/error.h"
#include "kernel/lib/log.h"
#include "kernel/lib/string.h"

/* Layouts of spec 3.6. Packed, so any alignment of the info reads safely. */
struct mb2_header {
	uint32_t total_size;
	uint32_t reserved;
} __packed;
_Static_assert(sizeof(struct mb2_header) == 8, "mb2 header");

struct mb2_tag {
	uint32_t type;
	uint32_t size;
} __packed;
_Static_assert(sizeof(struct mb2_tag) == 8, "mb2 tag");

struct mb2_tag_module {
	struct mb2_tag tag;
	uint32_t mod_start;
	uint32_t mod_end;
	char cmdline[];
} __packed;
_Static_assert(sizeof(struct mb2_tag_module) == 16, "mb2 module tag");

struct mb2_tag_meminfo {
	struct mb2_tag tag;
	uint32_t mem_lower;
	uint32_t mem_upper;
} __packed;
_Static_assert(sizeof(struct mb2_tag_meminfo) == 16, "mb2 meminfo tag");

struct mb2_tag_mmap {
	struct mb2_tag tag;
	uint32_t entry_size;
	uint32_t entry_version;
} __packed;
_Static_assert(sizeof(struct mb2_tag_mmap) == 16, "mb2 mmap tag");

struct mb2_mmap_raw {
	uint64_t base_addr;
	uint64_t length;
	uint32_t type;
	uint32_t reserved;
} __packed;
_Static_assert(sizeof(struct mb2_mmap_raw) == 24, "mb2 mmap entry");

struct mb2_tag_efi64 {
	struct mb2_tag tag;
	uint64_t pointer;
} __packed;
_Static_assert(sizeof(struct mb2_tag_efi64) == 16, "mb2 efi64 tag");

struct mb2_tag_framebuffer {
	struct mb2_tag tag;
	uint64_t addr;
	uint32_t pitch, width, height;
	uint8_t bpp, type;
	uint16_t reserved;
	uint8_t color_info[];   /* type 1: red position, red size, green ..., blue ... */
} __packed;
_Static_assert(sizeof(struct mb2_tag_framebuffer) == 32, "mb2 framebuffer tag");
#define MB2_FB_RGB_INFO 6

struct mb2_tag_load_base {
	struct mb2_tag tag;
	uint32_t load_base_addr;
} __packed;
_Static_assert(sizeof(struct mb2_tag_load_base) == 12, "mb2 load base tag");

#define MB2_TAG_ALIGN    8
#define MB2_MIN_TOTAL    (sizeof(struct mb2_header) + sizeof(struct mb2_tag))
#define MB2_RSDP_V1_LEN  20

/* What cmdline and bootloader point to until a tag sets them (so a duplicate is noticed). */
static const char mb2_none[] = "";

/* The smallest valid size of each tag type we read; 0 for tags we skip. */
static size_t __boot tag_min_size(uint32_t type)
{
	switch (type) {
	case MB2_TAG_CMDLINE:
	case MB2_TAG_BOOTLOADER:
		return sizeof(struct mb2_tag) + 1;
	case MB2_TAG_MODULE:
		return sizeof(struct mb2_tag_module) + 1;
	case MB2_TAG_MEMINFO:
		return sizeof(struct mb2_tag_meminfo);
	case MB2_TAG_MMAP:
		return sizeof(struct mb2_tag_mmap);
	case MB2_TAG_EFI64:
		return sizeof(struct mb2_tag_efi64);
	case MB2_TAG_ACPI_OLD:
	case MB2_TAG_ACPI_NEW:
		return sizeof(struct mb2_tag) + MB2_RSDP_V1_LEN;
	case MB2_TAG_LOAD_BASE:
		return sizeof(struct mb2_tag_load_base);
	case MB2_TAG_FRAMEBUFFER:
		return sizeof(struct mb2_tag_framebuffer);
	}
	return sizeof(struct mb2_tag);
}

/* The string of len bytes at s, or NULL when it has no NUL inside those bytes. */
static const char *__boot tag_string(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0')
			return s;
	return NULL;
}

static int __boot bad_tag(const struct mb2_tag *t, size_t off, const char *why)
{
	log_err("mb2: tag type %u at offset %#zx: %s", t->type, off, why);
	return E_INVAL;
}

static int __boot parse_string(const struct mb2_tag *t, size_t off, const char **dst)
{
	const char *s = tag_string((const char *)(t + 1), t->size - sizeof(*t));

	if (!s)
		return bad_tag(t, off, "string not NUL-terminated");
	if (*dst != mb2_none)
		log_warn("mb2: tag type %u at offset %#zx: duplicate, ignored", t->type, off);
	else
		*dst = s;
	return 0;
}

static int __boot parse_module(const struct mb2_tag *t, size_t off, struct mb2_info *out)
{
	const struct mb2_tag_module *m = (const void *)t;
	const char *s = tag_string(m->cmdline, t->size - sizeof(*m));

	if (!s)
		return bad_tag(t, off, "module string not NUL-terminated");
	if (m->mod_start > m->mod_end)
		return bad_tag(t, off, "module start above its end");
	if (out->n_modules == MB2_MAX_MODULES) {
		if (!out->modules_truncated)
			log_err("mb2: more than %u modules, ignoring the rest", MB2_MAX_MODULES);
		out->modules_truncated = true;
		return 0;
	}
	out->modules[out->n_modules++] = (struct mb2_module){
		.start = m->mod_start, .end = m->mod_end, .cmdline = s,
	};
	return 0;
}

static void __boot add_mmap_entry(const struct mb2_mmap_raw *e, struct mb2_info *out)
{
	uint64_t len = e->length;

	if (out->n_mmap == MB2_MAX_MMAP) {
		if (!out->mmap_truncated)
			log_warn("mb2: more than %u memory map entries, ignoring the rest",
				 MB2_MAX_MMAP);
		out->mmap_truncated = true;
		return;
	}
	if (len > UINT64_MAX - e->base_addr) {
		log_warn("mb2: memory map entry %#llx+%#llx wraps, clamped",
			 (unsigned long long)e->base_addr, (unsigned long long)len);
		len = UINT64_MAX - e->base_addr;
	}
	out->mmap[out->n_mmap++] = (struct mb2_mmap_entry){
		.addr = e->base_addr, .len = len, .type = e->type,
	};
}

static int __boot parse_mmap(const struct mb2_tag *t, size_t off, struct mb2_info *out)
{
	const struct mb2_tag_mmap *m = (const void *)t;
	const uint8_t *p = (const uint8_t *)(m + 1);
	size_t bytes = t->size - sizeof(*m);

	/* Spec 3.6.8: entry_size is a multiple of 8 and at least the 24-byte entry. */
	if (m->entry_size < sizeof(struct mb2_mmap_raw) || !IS_ALIGNED(m->entry_size, 8))
		return bad_tag(t, off, "bad memory map entry size");
	if (out->have_mmap) {
		log_warn("mb2: tag type %u at offset %#zx: duplicate, ignored", t->type, off);
		return 0;
	}
	out->have_mmap = true;
	for (size_t i = 0; i + m->entry_size <= bytes; i += m->entry_size)
		add_mmap_entry((const struct mb2_mmap_raw *)(p + i), out);
	if (bytes % m->entry_size)
		return bad_tag(t, off, "memory map ends in a partial entry");
	return 0;
}

static void __boot parse_acpi(const struct mb2_tag *t, struct mb2_info *out)
{
	/* Prefer the ACPI 2.0+ copy (tag 15), whichever order the tags come in. */
	if (out->rsdp_tag == MB2_TAG_ACPI_NEW && t->type == MB2_TAG_ACPI_OLD)
		return;
	out->rsdp = t + 1;
	out->rsdp_len = t->size - sizeof(*t);
	out->rsdp_tag = t->type;
}

static int __boot parse_framebuffer(const struct mb2_tag *t, size_t off, struct mb2_info *out)
{
	const struct mb2_tag_framebuffer *f = (const void *)t;
	const uint8_t *c = f->color_info;

	if (f->type == MB2_FB_RGB && t->size < sizeof(*f) + MB2_FB_RGB_INFO)
		return bad_tag(t, off, "RGB framebuffer without its colour fields");
	out->have_fb = true;
	out->fb = (struct mb2_framebuffer){
		.addr = f->addr, .pitch = f->pitch, .width = f->width, .height = f->height,
		.bpp = f->bpp, .type = f->type,
	};
	if (f->type == MB2_FB_RGB) {
		out->fb.red_pos = c[0], out->fb.red_size = c[1];
		out->fb.green_pos = c[2], out->fb.green_size = c[3];
		out->fb.blue_pos = c[4], out->fb.blue_size = c[5];
	}
	return 0;
}

static int __boot parse_tag(const struct mb2_tag *t, size_t off, struct mb2_info *out)
{
	if (t->size < tag_min_size(t->type))
		return bad_tag(t, off, "too small for its type");

	switch (t->type) {
	case MB2_TAG_CMDLINE:
		return parse_string(t, off, &out->cmdline);
	case MB2_TAG_BOOTLOADER:
		return parse_string(t, off, &out->bootloader);
	case MB2_TAG_MODULE:
		return parse_module(t, off, out);
	case MB2_TAG_MMAP:
		return parse_mmap(t, off, out);
	case MB2_TAG_MEMINFO: {
		const struct mb2_tag_meminfo *mi = (const void *)t;
		out->have_meminfo = true;
		out->mem_lower_kib = mi->mem_lower;
		out->mem_upper_kib = mi->mem_upper;
		return 0;
	}
	case MB2_TAG_ACPI_OLD:
	case MB2_TAG_ACPI_NEW:
		parse_acpi(t, out);
		return 0;
	case MB2_TAG_EFI64:
		out->efi64 = true;
		out->efi64_system_table = ((const struct mb2_tag_efi64 *)t)->pointer;
		return 0;
	case MB2_TAG_EFI_BS:
		out->efi_boot_services = true;
		return 0;
	case MB2_TAG_FRAMEBUFFER:
		return parse_framebuffer(t, off, out);
	case MB2_TAG_LOAD_BASE:
		out->have_load_base = true;
		out->load_base = ((const struct mb2_tag_load_base *)t)->load_base_addr;
		return 0;
	}
	return 0;   /* ELF sections, SMBIOS, ... and unknown types: skipped */
}

static void __boot info_init(struct mb2_info *out)
{
	memset(out, 0, sizeof(*out));
	out->cmdline = mb2_none;
	out->bootloader = mb2_none;
}

int __boot mb2_parse(const void *info, size_t avail, struct mb2_info *out)
{
	const uint8_t *base = info;
	const struct mb2_header *h = info;
	size_t off = sizeof(*h);

	info_init(out);
	if (!info || avail < MB2_MIN_TOTAL) {
		log_err("mb2: boot information missing or shorter than %zu bytes", MB2_MIN_TOTAL);
		return E_INVAL;
	}
	if (h->total_size < MB2_MIN_TOTAL || h->total_size > avail) {
		log_err("mb2: total_size %u outside %zu..%zu", h->total_size, MB2_MIN_TOTAL, avail);
		return E_INVAL;
	}
	out->total_size = h->total_size;

	/* Tags start 8-aligned and follow each other at 8-aligned offsets (spec 3.6.1). */
	while (off + sizeof(struct mb2_tag) <= h->total_size) {
		const struct mb2_tag *t = (const void *)(base + off);

		if (t->size < sizeof(*t))
			return bad_tag(t, off, "size below 8");
		if (t->size > h->total_size - off)
			return bad_tag(t, off, "runs past total_size");
		if (t->type == MB2_TAG_END)
			return t->size == sizeof(*t) ? 0 : bad_tag(t, off, "end tag size not 8");
		int err = parse_tag(t, off, out);
		if (err)
			return err;
		off += ALIGN_UP((size_t)t->size, MB2_TAG_ALIGN);
	}
	log_err("mb2: no end tag within total_size %u", h->total_size);
	return E_INVAL;
}
