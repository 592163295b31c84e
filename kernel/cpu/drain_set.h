/*
 * What one CPU's drain IPI (kernel/cpu/irq.c, VEC_IRQ_DRAIN) has to finish: pure bookkeeping,
 * kept apart from the local APIC so that it can be tested on the host.
 *
 * - draining: vectors being released; once drained they are freed (and their slot cleared).
 * - settling: vectors that stay allocated (shared vectors, the same on every CPU) whose route
 *   moved off this CPU; once drained, the settles counted on each are reported and nothing is
 *   freed. A vector may be settled several times before one drain (a route that moved off this
 *   CPU again before it settled): the drain reports the count.
 *
 * - batches: the cheap settle, one per move and CPU whatever the vectors: their vectors ORed
 *   into batch[] and a sequence number; once every vector of batch[] has been seen with its
 *   IRR bit clear (each pass keeps only those still pending), every batch marked so far is
 *   over (done = issued). Nothing per vector but a bit, on either side.
 *
 * A vector both settling and draining (a route destroyed while it settles) is taken in one go:
 * both depend on the same IRR bit, so the settle is never reported after the vector was freed
 * (and perhaps given to someone else).
 */
#ifndef COURIER_KERNEL_CPU_DRAIN_SET_H
#define COURIER_KERNEL_CPU_DRAIN_SET_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/cpu/vectors.h"

#define DRAIN_SET_VECTORS       (VEC_DYNAMIC_LAST - VEC_DYNAMIC_FIRST + 1)

struct drain_set {
	uint64_t draining[4];                   /* vectors being released */
	uint64_t settling[4];                   /* vectors being settled (they stay) */
	uint16_t settles[DRAIN_SET_VECTORS];    /* settles counted on each settling vector */
	uint64_t batch[4];                      /* vectors of batches not yet seen clear */
	uint64_t issued;                        /* batches marked (1, 2, ...) */
	uint64_t done;                          /* batches over: read without the lock */
};

/* One vector taken by a drain: freed (it was draining), and how many settles it ends. */
struct drain_taken {
	uint8_t vector;
	bool freed;
	uint16_t settles;
};

static inline bool drain_set_is_draining(const struct drain_set *d, unsigned v)
{
	return d->draining[v / 64] >> (v % 64) & 1;
}

/* Vector v (in the dynamic range, not draining: the caller checks) is to be freed. */
static inline void drain_set_release(struct drain_set *d, unsigned v)
{
	d->draining[v / 64] |= 1ull << (v % 64);
}

/* One more settle on vector v (in the dynamic range): two stores. */
static inline void drain_set_settle(struct drain_set *d, unsigned v)
{
	d->settling[v / 64] |= 1ull << (v % 64);
	d->settles[v - VEC_DYNAMIC_FIRST]++;
}

/* A batch of the vectors in mask[0..4): its number, for drain_set_batch_done. */
static inline uint64_t drain_set_batch(struct drain_set *d, const uint64_t *mask)
{
	for (unsigned w = 0; w < 4; w++)
		d->batch[w] |= mask[w];
	return ++d->issued;
}

/* Batch seq is over. */
static inline bool drain_set_batch_done(const struct drain_set *d, uint64_t seq)
{
	return __atomic_load_n(&d->done, __ATOMIC_ACQUIRE) >= seq;
}

/* Word w of the batches' vectors against the IRR bits pending: those clear are over; whether
 * some are not. */
static inline bool drain_set_batch_word(struct drain_set *d, unsigned w, uint64_t pending)
{
	d->batch[w] &= pending;
	return d->batch[w] != 0;
}

/* After a pass over every word: when no batch vector is left, every batch marked is over.
 * Whether done moved. */
bool drain_set_batch_over(struct drain_set *d);

/*
 * Of the vectors 64w..64w+63 being released or settled, those whose IRR bit is clear in
 * pending, lowest first, at most max of them: their bits cleared, their settle counts reset,
 * one out[] entry each; *freed gets the mask of those released (for the allocator). How many
 * were taken; *left is set when some stay pending, *more when max was reached first.
 */
unsigned drain_set_take_word(struct drain_set *d, unsigned w, uint64_t pending,
			     struct drain_taken *out, unsigned max, uint64_t *freed, bool *left,
			     bool *more);

#endif
