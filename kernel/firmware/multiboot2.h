/*
 * Multiboot2 boot information parser (Multiboot2 specification 1.0, section 3.6). Pure: reads
 * only the bytes it is given, copies what the hypervisor needs into a fixed-size struct and
 * keeps pointers into the info for strings and the RSDP copy (the caller keeps the info mapped
 * and reserves its physical extent).
 */
#ifndef COURIER_KERNEL_FIRMWARE_MULTIBOOT2_H
#define COURIER_KERNEL_FIRMWARE_MULTIBOOT2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value the loader leaves in EAX (spec 3.3). */
#define MB2_BOOTLOADER_MAGIC 0x36d76289u

#define MB2_MAX_MMAP    128
#define MB2_MAX_MODULES 512

/* Memory map entry types (spec 3.6.8). */
enum {
	MB2_MMAP_AVAILABLE = 1,
	MB2_MMAP_RESERVED = 2,
	MB2_MMAP_ACPI_RECLAIMABLE = 3,
	MB2_MMAP_NVS = 4,
	MB2_MMAP_BADRAM = 5,
};

struct mb2_mmap_entry {
	uint64_t addr, len;     /* addr + len never wraps (clamped when the map says so) */
	uint32_t type;
};

struct mb2_module {
	uint32_t start, end;    /* physical, half-open [start, end) as GRUB fills it */
	const char *cmdline;    /* points into the info; "" when empty */
};

/* The framebuffer tag (spec 3.6.12) as the loader gave it; fbcon_check() says if it is usable. */
enum { MB2_FB_INDEXED = 0, MB2_FB_RGB = 1, MB2_FB_EGA_TEXT = 2 };
struct mb2_framebuffer {
	uint64_t addr;                  /* physical */
	uint32_t pitch, width, height;  /* bytes a line; pixels (characters for EGA text) */
	uint8_t bpp, type;
	/* type MB2_FB_RGB only: each colour's lowest bit and width in a pixel */
	uint8_t red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
};

struct mb2_info {
	uint32_t total_size;            /* bytes of the info, from its header */
	const char *cmdline;            /* "" when there is no command line tag */
	const char *bootloader;         /* "" when there is no boot loader name tag */

	struct mb2_mmap_entry mmap[MB2_MAX_MMAP];
	unsigned n_mmap;
	bool mmap_truncated;            /* the map had more than MB2_MAX_MMAP entries */
	bool have_mmap;

	struct mb2_module modules[MB2_MAX_MODULES];
	unsigned n_modules;
	bool modules_truncated;         /* more than MB2_MAX_MODULES modules (reported) */

	const void *rsdp;               /* copy of the RSDP inside the ACPI tag, or NULL */
	size_t rsdp_len;                /* bytes of that copy */
	unsigned rsdp_tag;              /* MB2_TAG_ACPI_OLD, MB2_TAG_ACPI_NEW, or 0 */

	bool have_meminfo;
	uint32_t mem_lower_kib, mem_upper_kib;

	bool efi64;                     /* EFI 64-bit system table pointer tag present */
	uint64_t efi64_system_table;
	bool efi_boot_services;         /* "EFI boot services not terminated" tag present */

	bool have_fb;                   /* a framebuffer tag was there (checked by its user) */
	struct mb2_framebuffer fb;

	bool have_load_base;            /* image load base physical address tag present */
	uint32_t load_base;
};

/* Tag types (spec 3.6). */
enum {
	MB2_TAG_END = 0,
	MB2_TAG_CMDLINE = 1,
	MB2_TAG_BOOTLOADER = 2,
	MB2_TAG_MODULE = 3,
	MB2_TAG_MEMINFO = 4,
	MB2_TAG_BOOTDEV = 5,
	MB2_TAG_MMAP = 6,
	MB2_TAG_VBE = 7,
	MB2_TAG_FRAMEBUFFER = 8,
	MB2_TAG_ELF_SECTIONS = 9,
	MB2_TAG_APM = 10,
	MB2_TAG_EFI32 = 11,
	MB2_TAG_EFI64 = 12,
	MB2_TAG_SMBIOS = 13,
	MB2_TAG_ACPI_OLD = 14,
	MB2_TAG_ACPI_NEW = 15,
	MB2_TAG_NETWORK = 16,
	MB2_TAG_EFI_MMAP = 17,
	MB2_TAG_EFI_BS = 18,
	MB2_TAG_EFI32_IH = 19,
	MB2_TAG_EFI64_IH = 20,
	MB2_TAG_LOAD_BASE = 21,
};

/*
 * Parse the boot information at info, reading at most avail bytes. Returns 0, or E_INVAL for
 * malformed info: the problem is logged (tag type and offset), parsing stops there, and out
 * keeps everything parsed before it. Unknown tags are skipped.
 */
int mb2_parse(const void *info, size_t avail, struct mb2_info *out);

#endif
