/*
 * Interrupt remapping at run time (VT-d spec 5.1, 9.10): one interrupt-remapping table per
 * unit, its entries allocated in naturally aligned blocks (iommu/irte_alloc.h) and written in
 * the order iommu/irte.h plans, each write followed by an interrupt-entry-cache invalidation
 * and a wait (6.5.2.7-8).
 *
 * Enabling (ir_init, after iommu_init so that the units' invalidation queues run): table
 * zeroed, IRTA (base, size, EIME), GCMD.SIRTP, a global IEC invalidation, GCMD.IRE; CFI stays
 * clear, so compatibility-format interrupts are blocked (5.1.2). EIME (32-bit x2APIC
 * destinations) only when the unit has ECAP.EIM and the local APICs run in x2APIC mode.
 * Every write of entries prints an `@irte` record; every table an `@irtable` record.
 */
#ifndef COURIER_IOMMU_IR_TABLE_H
#define COURIER_IOMMU_IR_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/lib/compiler.h"
#include "kernel/lib/error.h"
#include "kernel/arch/spinlock.h"
#include "iommu/irte.h"
#include "iommu/irte_alloc.h"
#include "iommu/qi.h"

struct pci_dev;
struct vtd_unit;

#define IR_ENTRIES_DEFAULT      256u

struct ir_table {
	struct vtd_unit *u;
	volatile struct vtd_irte *e;    /* the table the unit reads */
	uint64_t pa;
	unsigned entries;
	bool eim;                       /* IRTA.EIME: destinations are x2APIC ids */
	bool on;                        /* GSTS.IRES */
	struct spinlock lock;           /* the allocator */
	struct irte_alloc alloc;
	uint64_t bits[IRTE_ALLOC_WORDS(IRTE_ALLOC_MAX)];
};

/* Boot, after iommu_init: a table of `entries` (a power of two, 2..65536) on every unit that
 * has interrupt remapping and an invalidation queue. Returns the number of units with it on. */
int ir_init(unsigned entries);
bool ir_enabled(void);
/* The table of the unit that remaps d's messages; NULL when that unit has none. */
struct ir_table *ir_table_for(const struct pci_dev *d);
struct ir_table *ir_table_at(unsigned unit);

/* A naturally aligned block of irte_block_size(n) entries: its first index, or E_NOMEM. */
int ir_alloc(struct ir_table *t, unsigned n) __must_check;
/* Make the block's entries not present (one invalidation) and free them. */
int ir_free(struct ir_table *t, unsigned index, unsigned n);

struct vtd_irte ir_read(const struct ir_table *t, unsigned index);
/*
 * Write one entry in the planned order, then invalidate its interrupt-entry-cache entry and
 * wait: when this returns 0, hardware uses the new entry for every later request and has
 * delivered every request it remapped with the old one (6.5.2.7 interrupt draining). The
 * caller owns the index (no two writers of one entry at once).
 */
int ir_write(struct ir_table *t, unsigned index, struct vtd_irte e) __must_check;
/* The same, with its @irte record only when logged. */
int ir_write_logged(struct ir_table *t, unsigned index, struct vtd_irte e, bool logged)
	__must_check;
/* Write n entries from index (n a power of two, index aligned to n), then one masked
 * invalidation (IM = log2 n, split where ECAP.MHMV is smaller) and one wait. */
/*
 * Several entries of one table in one go: each written (the planned stores), then one
 * interrupt-entry-cache invalidation over all of them (the smallest aligned block that holds
 * them, or global past ECAP.MHMV: vtd_qi_iec_cover) and one wait. When ir_batch_run returns 0
 * every entry is in use as written and every request remapped with the old ones has been
 * delivered. Each entry is reported (@irte) with the batch's result when logged.
 */
#define IR_BATCH_MAX 64
struct ir_batch {
	struct ir_table *t;
	unsigned index[IR_BATCH_MAX];  /* the entries written, when logged */
	unsigned n;
	uint16_t first, last;           /* the lowest and highest index written */
	int err;
	bool logged;                    /* @irte per entry (ir_batch_begin sets it) */
	uint64_t dst;                   /* ir_batch_retarget_prepare's DST field, */
	uint16_t next_first, next_last; /* and the entries it checked */
};
void ir_batch_begin(struct ir_batch *b, struct ir_table *t);
void ir_batch_write(struct ir_batch *b, unsigned index, struct vtd_irte e);
/* Entries index[0..n) moving to one destination dst, each with its own vector: prepare checks
 * everything once (E_RANGE for an xAPIC destination above 255, an index past the table, more
 * entries than the batch has room for) and writes nothing; store then rewrites the same
 * entries (index and n as prepared): each present one's vector and destination with one
 * 64-bit store of its low half (vtd_irte_lo_retarget; P, the rest of the entry and the high
 * half stay). Store cannot fail. */
int ir_batch_retarget_prepare(struct ir_batch *b, const uint16_t *index, unsigned n,
			      uint32_t dst) __must_check;
void ir_batch_retarget_store(struct ir_batch *b, const uint16_t *index, const uint8_t *vector,
			     unsigned n);
int ir_batch_run(struct ir_batch *b) __must_check;

/*
 * Entries moving to one destination, each keeping its vector (shared vectors), rewritten one
 * by one as the caller finds them (no arrays to fill first), then one interrupt-entry-cache
 * invalidation over all of them and one wait (ir_retarget_run, told how many were written),
 * as for a batch. begin checks the destination once (.err E_RANGE: an xAPIC destination
 * above 255); each entry keeps all but its DST field and gets the new one in one 64-bit store
 * of its low half (vtd_irte_lo_redirect); an entry that is not present (its route masked
 * there) is left as it is. The caller names what the invalidation covers (ir_retarget_cover:
 * every entry written, or the blocks they are in). Entries are given by where they are
 * (ir_entry, found once when their owner got them from ir_alloc): nothing is checked again
 * per entry. Where the unit does not snoop, run flushes the covered lines first when they are
 * dense (a function's block); when ir_retarget_sparse says they are not, the caller flushes
 * each entry (ir_retarget_flush) before run. Passed by value where it can be, so that it
 * stays in registers while the caller's loop stores elsewhere. Nothing is logged: routes that
 * log their moves use a batch.
 */
struct ir_retarget {
	int err;
	bool flush;                     /* the unit does not snoop: entries are flushed */
	uint16_t first, last;           /* what the invalidation covers (ir_retarget_cover) */
	unsigned entries;
	volatile struct vtd_irte *e;
	uint64_t dst;                   /* the low half's DST bits */
	struct ir_table *t;
};
struct ir_retarget ir_retarget_begin(struct ir_table *t, uint32_t apic_id);
/* Where entry index of t is (inside the table: its owner's block), for ir_retarget_entry. */
static inline volatile struct vtd_irte *ir_entry(const struct ir_table *t, unsigned index)
{
	return &t->e[index];
}
static inline void ir_retarget_entry(struct ir_retarget *p, volatile struct vtd_irte *x)
{
	uint64_t lo = x->lo;
	if (__builtin_expect(lo & VTD_IRTE_P, 1))
		__atomic_store_n(&x->lo, vtd_irte_lo_redirect(lo, p->dst), __ATOMIC_RELEASE);
}
/* Entries first..last are in the invalidation (each entry written must be: a block of them
 * can be given at once, before or after its entries). */
static inline void ir_retarget_cover(struct ir_retarget *p, unsigned first, unsigned last)
{
	p->first = first < p->first ? (uint16_t)first : p->first;
	p->last = last > p->last ? (uint16_t)last : p->last;
}
/* Dense: the lines from first to last are at most four times the n entries' own. */
static inline bool ir_retarget_dense(struct ir_retarget p, unsigned n)
{
	return (unsigned)(p.last - p.first) < 4 * n;
}
static inline bool ir_retarget_sparse(struct ir_retarget p, unsigned n)
{
	return p.flush && n && !ir_retarget_dense(p, n);
}
void ir_retarget_flush(struct ir_retarget p, unsigned index);
/* After run: empty again, for more entries to the same destination. */
static inline void ir_retarget_again(struct ir_retarget *p)
{
	p->err = 0;
	p->first = UINT16_MAX;
	p->last = 0;
}
/* 0 when every entry is in use as written and every request remapped with the old ones has
 * been delivered (6.5.2.7); else the first error (the unit may then use old or new entries). */
int ir_retarget_run(struct ir_retarget p, unsigned n) __must_check;

int ir_write_block(struct ir_table *t, unsigned index, unsigned n, const struct vtd_irte *e)
	__must_check;

#endif
