/*
 * ELF64 guest image checks (kernel/lib/elf.h). Field offsets are those of the ELF-64 Object File
 * Format 1.5 (Elf64_Ehdr, Elf64_Phdr); every field is read byte by byte, little-endian, so the
 * image may sit at any alignment and a short image is never read past its end.
 */
#include "kernel/lib/elf.h"
#include "kernel/lib/compiler.h"
#include "kernel/lib/error.h"
#include "kernel/lib/fmt.h"

/* e_ident (ELF-64 1.5, section 3). */
#define EI_MAG0                 0
#define EI_CLASS                4
#define EI_DATA                 5
#define EI_VERSION              6
#define ELFCLASS64              2
#define ELFDATA2LSB             1
#define EV_CURRENT              1
static const uint8_t elf_magic[4] = { 0x7f, 'E', 'L', 'F' };

/* Elf64_Ehdr field offsets. */
#define EH_TYPE                 16
#define EH_MACHINE              18
#define EH_VERSION              20
#define EH_ENTRY                24
#define EH_PHOFF                32
#define EH_EHSIZE               52
#define EH_PHENTSIZE            54
#define EH_PHNUM                56
#define EHDR_SIZE               64
#define ET_EXEC                 2
#define EM_X86_64               62

/* Elf64_Phdr field offsets. */
#define PH_TYPE                 0
#define PH_FLAGS                4
#define PH_OFFSET               8
#define PH_VADDR                16
#define PH_FILESZ               32
#define PH_MEMSZ                40
#define PH_ALIGN                48
#define PHDR_SIZE               56

/* p_type values (ELF-64 1.5, table 16; PT_TLS from the System V gABI). */
#define PT_LOAD                 1
#define PT_DYNAMIC              2
#define PT_INTERP               3
#define PT_TLS                  7

_Static_assert(EHDR_SIZE == EH_PHNUM + 8, "Elf64_Ehdr ends 8 bytes after e_phnum");
_Static_assert(PHDR_SIZE == PH_ALIGN + 8, "Elf64_Phdr ends with p_align");

/* What the checks share: the image and where to say what is wrong. */
struct elf_ctx {
	const uint8_t *img;
	size_t len;
	uint64_t lo, hi;
	char *why;
	size_t whylen;
};

static uint64_t rd(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	while (bytes--)
		v = v << 8 | p[bytes];
	return v;
}

static uint64_t rd16(const uint8_t *p) { return rd(p, 2); }
static uint64_t rd32(const uint8_t *p) { return rd(p, 4); }
static uint64_t rd64(const uint8_t *p) { return rd(p, 8); }

#define R(x) ((unsigned long long)(x))
/* Record why the image is refused and return err. */
#define refuse(c, err, ...) (fmt_snprintf((c)->why, (c)->whylen, __VA_ARGS__), (err))

static int check_ident(struct elf_ctx *c)
{
	const uint8_t *e = c->img;

	if (c->len < EHDR_SIZE)
		return refuse(c, E_INVAL, "%llu bytes: too short for an ELF header", R(c->len));
	for (unsigned i = 0; i < sizeof(elf_magic); i++)
		if (e[EI_MAG0 + i] != elf_magic[i])
			return refuse(c, E_INVAL, "not an ELF file (bad magic)");
	if (e[EI_CLASS] != ELFCLASS64)
		return refuse(c, E_INVAL, "ELF class %u, not 64-bit", e[EI_CLASS]);
	if (e[EI_DATA] != ELFDATA2LSB)
		return refuse(c, E_INVAL, "ELF data encoding %u, not little-endian", e[EI_DATA]);
	if (e[EI_VERSION] != EV_CURRENT || rd32(e + EH_VERSION) != EV_CURRENT)
		return refuse(c, E_INVAL, "ELF version %u/%llu, not 1", e[EI_VERSION],
			      R(rd32(e + EH_VERSION)));
	if (rd16(e + EH_TYPE) != ET_EXEC)
		return refuse(c, E_INVAL, "ELF type %llu, not an executable (ET_EXEC; link static, "
			      "non-PIE)", R(rd16(e + EH_TYPE)));
	if (rd16(e + EH_MACHINE) != EM_X86_64)
		return refuse(c, E_INVAL, "ELF machine %llu, not x86-64", R(rd16(e + EH_MACHINE)));
	if (rd16(e + EH_EHSIZE) != EHDR_SIZE)
		return refuse(c, E_INVAL, "ELF header size %llu, not %u", R(rd16(e + EH_EHSIZE)),
			      EHDR_SIZE);
	return 0;
}

/* The program-header table lies inside the image; returns its first entry through *ph. */
static int check_phdr_table(struct elf_ctx *c, const uint8_t **ph, unsigned *n)
{
	uint64_t off = rd64(c->img + EH_PHOFF);
	uint64_t entsize = rd16(c->img + EH_PHENTSIZE);

	*n = (unsigned)rd16(c->img + EH_PHNUM);
	if (*n == 0)
		return refuse(c, E_INVAL, "no program headers");
	if (*n > ELF_MAX_PHDRS)
		return refuse(c, E_INVAL, "%u program headers (at most %u)", *n, ELF_MAX_PHDRS);
	if (entsize != PHDR_SIZE)
		return refuse(c, E_INVAL, "program header size %llu, not %u", R(entsize),
			      PHDR_SIZE);
	if (off > c->len || (uint64_t)*n * PHDR_SIZE > c->len - off)
		return refuse(c, E_INVAL, "program headers at %#llx (%u of them) run past the end "
			      "of the %llu-byte image", R(off), *n, R(c->len));
	*ph = c->img + off;
	return 0;
}

static int check_load(struct elf_ctx *c, unsigned i, const uint8_t *ph, struct elf_segment *s)
{
	uint64_t align = rd64(ph + PH_ALIGN), end, page_lo, page_hi;

	s->flags = (uint32_t)rd32(ph + PH_FLAGS) & ELF_SEG_RWX;
	s->offset = rd64(ph + PH_OFFSET);
	s->vaddr = rd64(ph + PH_VADDR);
	s->filesz = rd64(ph + PH_FILESZ);
	s->memsz = rd64(ph + PH_MEMSZ);

	if (s->filesz > s->memsz)
		return refuse(c, E_INVAL, "segment %u: file size %#llx exceeds memory size %#llx",
			      i, R(s->filesz), R(s->memsz));
	if (!s->memsz)
		return 0;               /* empty: nothing to load, skipped */
	if (s->filesz && (s->offset > c->len || s->filesz > c->len - s->offset))
		return refuse(c, E_INVAL, "segment %u: bytes [%#llx, +%#llx) run past the end of "
			      "the %llu-byte image", i, R(s->offset), R(s->filesz), R(c->len));
	if (align > 1 && (align & (align - 1)))
		return refuse(c, E_INVAL, "segment %u: alignment %#llx is not a power of two", i,
			      R(align));
	if (s->vaddr % ELF_PAGE_SIZE != s->offset % ELF_PAGE_SIZE)
		return refuse(c, E_INVAL, "segment %u: address %#llx and file offset %#llx differ "
			      "modulo the page size", i, R(s->vaddr), R(s->offset));
	if (s->memsz > UINT64_MAX - s->vaddr ||
	    s->vaddr + s->memsz > UINT64_MAX - (ELF_PAGE_SIZE - 1))
		return refuse(c, E_RANGE, "segment %u: [%#llx, +%#llx) wraps around", i,
			      R(s->vaddr), R(s->memsz));
	end = s->vaddr + s->memsz;
	page_lo = ALIGN_DOWN(s->vaddr, ELF_PAGE_SIZE);
	page_hi = ALIGN_UP(end, ELF_PAGE_SIZE);
	if (page_lo < c->lo || page_hi > c->hi)
		return refuse(c, E_RANGE, "segment %u: [%#llx, %#llx) is outside guest memory "
			      "[%#llx, %#llx)", i, R(s->vaddr), R(end), R(c->lo), R(c->hi));
	if (!(s->flags & ELF_SEG_RWX))
		return refuse(c, E_INVAL, "segment %u at %#llx has no permissions", i, R(s->vaddr));
	if ((s->flags & ELF_SEG_W) && (s->flags & ELF_SEG_X))
		return refuse(c, E_PERM, "segment %u at %#llx is writable and executable (W^X)", i,
			      R(s->vaddr));
	return 0;
}

/* Segments are mapped in whole pages with their own permissions, so no page is shared. */
static int check_overlap(struct elf_ctx *c, const struct elf_image *out)
{
	for (unsigned i = 0; i < out->nsegs; i++) {
		const struct elf_segment *a = &out->segs[i];
		for (unsigned j = i + 1; j < out->nsegs; j++) {
			const struct elf_segment *b = &out->segs[j];
			if (ALIGN_DOWN(a->vaddr, ELF_PAGE_SIZE) <
				    ALIGN_UP(b->vaddr + b->memsz, ELF_PAGE_SIZE) &&
			    ALIGN_DOWN(b->vaddr, ELF_PAGE_SIZE) <
				    ALIGN_UP(a->vaddr + a->memsz, ELF_PAGE_SIZE))
				return refuse(c, E_INVAL, "segments at %#llx and %#llx share "
					      "a page", R(a->vaddr), R(b->vaddr));
		}
	}
	return 0;
}

static int check_entry(struct elf_ctx *c, const struct elf_image *out)
{
	for (unsigned i = 0; i < out->nsegs; i++) {
		const struct elf_segment *s = &out->segs[i];
		if ((s->flags & ELF_SEG_X) && out->entry >= s->vaddr &&
		    out->entry - s->vaddr < s->filesz)
			return 0;
	}
	return refuse(c, E_INVAL, "entry point %#llx is not in the file bytes of an executable "
		      "segment", R(out->entry));
}

static int check_segments(struct elf_ctx *c, const uint8_t *ph, unsigned n,
			  struct elf_image *out)
{
	for (unsigned i = 0; i < n; i++, ph += PHDR_SIZE) {
		struct elf_segment s;
		uint64_t type = rd32(ph + PH_TYPE);
		int err;

		if (type == PT_INTERP || type == PT_DYNAMIC)
			return refuse(c, E_INVAL, "program header %u: %s: dynamically linked (link "
				      "static)", i, type == PT_INTERP ? "PT_INTERP" : "PT_DYNAMIC");
		if (type == PT_TLS)
			return refuse(c, E_INVAL, "program header %u: PT_TLS: guests have no "
				      "thread-local storage", i);
		if (type != PT_LOAD)
			continue;
		err = check_load(c, i, ph, &s);
		if (err)
			return err;
		if (!s.memsz)
			continue;
		if (out->nsegs == ELF_MAX_SEGMENTS)
			return refuse(c, E_RANGE, "more than %u loadable segments",
				      ELF_MAX_SEGMENTS);
		out->segs[out->nsegs++] = s;
	}
	if (!out->nsegs)
		return refuse(c, E_INVAL, "no loadable segments");
	return 0;
}

int elf_check(const void *img, size_t len, uint64_t lo, uint64_t hi, struct elf_image *out,
	      char *why, size_t whylen)
{
	struct elf_ctx c = { .img = img, .len = len, .lo = lo, .hi = hi, .why = why,
			     .whylen = whylen };
	const uint8_t *ph;
	unsigned n;
	int err;

	if (whylen)
		why[0] = 0;
	out->nsegs = 0;
	out->entry = 0;
	if (!img)
		return refuse(&c, E_INVAL, "no image");
	if (lo >= hi)
		return refuse(&c, E_INVAL, "empty window [%#llx, %#llx)", R(lo), R(hi));
	if ((err = check_ident(&c)) || (err = check_phdr_table(&c, &ph, &n)) ||
	    (err = check_segments(&c, ph, n, out)) || (err = check_overlap(&c, out)))
		return err;
	out->entry = rd64(c.img + EH_ENTRY);
	return check_entry(&c, out);
}
