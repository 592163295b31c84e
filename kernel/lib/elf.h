/*
 * ELF64 guest images (System V ABI, "ELF-64 Object File Format" 1.5, and its x86-64
 * supplement): the checks the hypervisor makes before it loads a module as a guest. Pure: reads
 * only the bytes it is given, at any alignment; host-tested (tests/unit/elf-test.c) and fuzzed
 * (tests/fuzz/elf-fuzz.c).
 */
#ifndef COURIER_KERNEL_LIB_ELF_H
#define COURIER_KERNEL_LIB_ELF_H

#include <stddef.h>
#include <stdint.h>

/* Most PT_LOAD segments a guest may have (guests/lib/guest.ld.S makes three). */
#define ELF_MAX_SEGMENTS        16
/* Most program headers of any type. */
#define ELF_MAX_PHDRS           64
/* Segments are mapped with page granularity. */
#define ELF_PAGE_SIZE           4096ull

/* Segment permissions: the p_flags bits PF_X, PF_W, PF_R (ELF-64 1.5, table 17). */
#define ELF_SEG_X               0x1u
#define ELF_SEG_W               0x2u
#define ELF_SEG_R               0x4u
#define ELF_SEG_RWX             (ELF_SEG_R | ELF_SEG_W | ELF_SEG_X)

struct elf_segment {
	uint64_t vaddr;         /* p_vaddr: where the first byte goes (not page-aligned) */
	uint64_t memsz;         /* bytes in memory; [filesz, memsz) is zero */
	uint64_t offset;        /* p_offset: where the bytes are in the image */
	uint64_t filesz;        /* bytes copied from the image */
	uint32_t flags;         /* ELF_SEG_*; never W and X together */
};

struct elf_image {
	uint64_t entry;
	unsigned nsegs;         /* PT_LOAD segments with memsz > 0, in file order */
	struct elf_segment segs[ELF_MAX_SEGMENTS];
};

/*
 * Checks that img[0, len) is a static x86-64 executable whose segments, rounded out to whole
 * pages, lie in the window [lo, hi) without sharing a page, and fills *out. Rules: ELF magic,
 * 64-bit, little-endian, version 1, ET_EXEC, EM_X86_64; the program-header table inside the
 * image with 56-byte entries, 1 to ELF_MAX_PHDRS of them; every PT_LOAD with filesz <= memsz,
 * its file bytes inside the image, no address overflow, p_vaddr and p_offset congruent modulo
 * the page size, p_align 0 or a power of two, some permission and never W with X; at least
 * one segment; the entry point inside the file bytes of an executable segment; no PT_INTERP,
 * PT_DYNAMIC or PT_TLS (nothing would honour them). Other types (PT_NOTE, PT_GNU_STACK, ...)
 * are ignored.
 *
 * Returns 0, or E_INVAL (malformed or unsupported), E_RANGE (outside the window or too many
 * segments) or E_PERM (W and X), with a one-line reason in why[0, whylen) that the caller
 * prints with the module's name. *out is only meaningful after 0.
 */
int elf_check(const void *img, size_t len, uint64_t lo, uint64_t hi, struct elf_image *out,
	      char *why, size_t whylen);

#endif
