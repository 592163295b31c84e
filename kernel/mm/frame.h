/*
 * The physical frame allocator: 4 KiB frames, naturally aligned power-of-two blocks.
 *
 * Pure: it reaches memory only through phys_to_virt, and only to keep its two bitmaps, which
 * it places itself in usable, unreserved RAM (as low as possible, above 1 MiB). One bit per
 * frame says "the allocator owns this frame" (usable and not reserved), the other "allocated";
 * keeping both lets frame_free() refuse a reserved frame as well as a double free.
 * Not locked: the caller serialises. Frames are not zeroed.
 */
#ifndef COURIER_KERNEL_MM_FRAME_H
#define COURIER_KERNEL_MM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_SHIFT     12
#define FRAME_SIZE      (1ull << FRAME_SHIFT)
/* Largest block: 2^FRAME_MAX_ORDER frames (1 GiB). */
#define FRAME_MAX_ORDER 18
/* Physical addresses at or above this are ignored (x86-64 MAXPHYADDR is at most 52). */
#define FRAME_PA_LIMIT  (1ull << 52)

/* Half-open physical range [start, end). */
struct mem_range {
	uint64_t start, end;
};

struct frame_alloc {
	void *(*phys_to_virt)(uint64_t pa);
	uint64_t *owned;        /* bit f: frame f is usable RAM and not reserved */
	uint64_t *used;         /* bit f: frame f is allocated */
	uint64_t n_frames;      /* the bitmaps cover frames [0, n_frames) */
	uint64_t bitmap_pa;     /* where the bitmaps live, [bitmap_pa, bitmap_pa + bitmap_bytes) */
	uint64_t bitmap_bytes;
	uint64_t free_frames;
	uint64_t usable_bytes;  /* union of the usable ranges, before reservations */
	uint64_t hint;          /* no free frame lies below this one */
};

/*
 * Usable ranges may be unsorted, overlapping and unaligned: each is rounded inward to whole
 * frames. Reserved ranges are rounded outward; [0, 1 MiB) is always reserved. phys_to_virt must
 * map the bitmap range (bitmap_pa, bitmap_bytes) contiguously. Returns 0, E_INVAL, or E_NOMEM
 * when there is no usable memory or no room for the bitmaps.
 */
int frame_init(struct frame_alloc *fa, const struct mem_range *usable, size_t n_usable,
	       const struct mem_range *reserved, size_t n_reserved,
	       void *(*phys_to_virt)(uint64_t pa));

/*
 * 2^order naturally aligned contiguous frames entirely below max_pa (0: no limit); returns the
 * physical address of the first, or 0 when there are none (frame 0 is never handed out).
 */
uint64_t frame_alloc(struct frame_alloc *fa, unsigned order, uint64_t max_pa);

/* Free a block from frame_alloc(). A bad free (not allocated, reserved, unaligned) is logged
 * and ignored. */
void frame_free(struct frame_alloc *fa, uint64_t pa, unsigned order);

/*
 * After frame_init: take [start, end) (rounded outward to frames) from the allocator for good,
 * so none of it is ever handed out (memory a device may DMA to by firmware's word). err is
 * E_BUSY, with nothing changed, when a frame in it is allocated already (at pa); else taken is
 * how many bytes of usable RAM it removed.
 */
struct frame_reserve_ret {
	int err;
	uint64_t taken;         /* bytes; with E_BUSY, the physical address of the busy frame */
};
struct frame_reserve_ret frame_reserve(struct frame_alloc *fa, uint64_t start, uint64_t end);

uint64_t frame_free_bytes(const struct frame_alloc *fa);
/* Usable RAM as the memory map said (the `@mem usable=` figure). */
uint64_t frame_usable_bytes(const struct frame_alloc *fa);

#endif
