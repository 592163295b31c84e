/*
 * libFuzzer harness for elf_check(), built and run by `make fuzz-elf` (tests/fuzz/fuzz.mk),
 * seeded with the guests. Whatever elf_check() accepts must keep the promises of
 * kernel/lib/elf.h; the harness aborts if it does not, and ASan catches any read outside the
 * input.
 */
#include <stdlib.h>
#include <string.h>
#include "include/courier/layout.h"
#include "kernel/lib/elf.h"

/* A guest's RAM with the default size. */
#define LO      GUEST_RAM_BASE
#define HI      (GUEST_RAM_BASE + ((uint64_t)GUEST_DEFAULT_MEM_MIB << 20))

static struct elf_image out;

static void check_promises(size_t size)
{
	int entry_ok = 0;

	if (out.nsegs < 1 || out.nsegs > ELF_MAX_SEGMENTS)
		abort();
	for (unsigned i = 0; i < out.nsegs; i++) {
		const struct elf_segment *s = &out.segs[i];
		if (s->vaddr < LO || s->memsz > HI - s->vaddr || s->filesz > s->memsz)
			abort();
		if (s->filesz && (s->offset > size || s->filesz > size - s->offset))
			abort();
		if ((s->flags & ELF_SEG_W) && (s->flags & ELF_SEG_X))
			abort();
		if (s->vaddr % ELF_PAGE_SIZE != s->offset % ELF_PAGE_SIZE)
			abort();
		for (unsigned j = 0; j < i; j++) {
			const struct elf_segment *t = &out.segs[j];
			if (s->vaddr / ELF_PAGE_SIZE <= (t->vaddr + t->memsz - 1) / ELF_PAGE_SIZE &&
			    t->vaddr / ELF_PAGE_SIZE <= (s->vaddr + s->memsz - 1) / ELF_PAGE_SIZE)
				abort();
		}
		if ((s->flags & ELF_SEG_X) && out.entry >= s->vaddr &&
		    out.entry - s->vaddr < s->filesz)
			entry_ok = 1;
	}
	if (!entry_ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy: a read past the end is a heap overflow. */
	uint8_t *buf = malloc(size ? size : 1);
	char why[128];

	memcpy(buf, data, size);
	if (elf_check(buf, size, LO, HI, &out, why, sizeof(why)) == 0)
		check_promises(size);
	else if (!why[0] || strlen(why) >= sizeof(why))
		abort();                /* every refusal says why */
	free(buf);
	return 0;
}
