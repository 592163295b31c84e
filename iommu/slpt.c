#include <stdbool.h>
#include "iommu/slpt.h"
#include "kernel/lib/error.h"

#define PAGE_4K         0x1000ull
#define TABLE_SIZE      (SLPT_ENTRIES * sizeof(uint64_t))
#define MAX_PA          BIT(52)
/* Levels, counted from the leaves: 0 holds 4 KiB pages, 1 2 MiB, 2 1 GiB. */
#define SP_MAX_LEVEL    2
#define SHIFT(l)        (12 + 9 * (l))
#define INDEX(va, l)    (((va) >> SHIFT(l)) & (SLPT_ENTRIES - 1))
/* Intermediate entries permit everything; the leaf decides (9.8). */
#define NONLEAF_PROT    (SLPT_R | SLPT_W)

static inline bool present(uint64_t e) { return e & (SLPT_R | SLPT_W); }

static uint64_t *table(const struct slpt *pt, uint64_t pa)
{
	return pt->ops->phys_to_virt(pt->ops->ctx, pa);
}

static bool is_leaf(uint64_t e, unsigned l)
{
	return l == 0 || (e & SLPT_PS);
}

/* A run of consecutive changed entries, flushed as one piece (ECAP.C = 0). */
struct run {
	const struct slpt *pt;
	uint64_t *first;
	size_t n;
};

static void flush(const struct slpt *pt, void *va, size_t len)
{
	if (pt->ops->flush)
		pt->ops->flush(pt->ops->ctx, va, len);
}

static void run_flush(struct run *r)
{
	if (r->n)
		flush(r->pt, r->first, r->n * sizeof(uint64_t));
	r->n = 0;
}

/* Runs stay inside one table, so each flush covers entries of one table. */
static bool same_table(const uint64_t *a, const uint64_t *b)
{
	return ALIGN_DOWN((uintptr_t)a, TABLE_SIZE) == ALIGN_DOWN((uintptr_t)b, TABLE_SIZE);
}

static void run_add(struct run *r, uint64_t *e)
{
	if (r->n && e == r->first + r->n && same_table(e, r->first)) {
		r->n++;
		return;
	}
	run_flush(r);
	r->first = e;
	r->n = 1;
}

int slpt_init(struct slpt *pt, const struct slpt_ops *ops, unsigned levels, uint8_t sllps)
{
	if (levels < SLPT_MIN_LEVELS || levels > SLPT_MAX_LEVELS)
		return E_INVAL;
	*pt = (struct slpt){ .levels = levels, .sllps = sllps & (SLPT_SP_2M | SLPT_SP_1G),
			     .ops = ops };
	pt->root_pa = ops->alloc_table(ops->ctx);
	if (!pt->root_pa)
		return E_NOMEM;
	flush(pt, table(pt, pt->root_pa), TABLE_SIZE);
	return 0;
}

/* Calls fn for every present leaf overlapping [va, end), skipping absent subtrees whole.
 * fn gets the entry, its level and the IOVA it starts at; a non-zero return stops the walk. */
typedef int (*leaf_fn)(void *arg, uint64_t *e, unsigned level, uint64_t base);

static int for_each_leaf(const struct slpt *pt, uint64_t va, uint64_t end, leaf_fn fn,
			 void *arg)
{
	while (va < end) {
		uint64_t *t = table(pt, pt->root_pa);
		uint64_t step = PAGE_4K;

		for (int l = pt->levels - 1; l >= 0; l--) {
			uint64_t *e = &t[INDEX(va, l)];
			step = 1ull << SHIFT(l);
			if (!present(*e))
				break;
			if (is_leaf(*e, l)) {
				int r = fn(arg, e, l, ALIGN_DOWN(va, step));
				if (r)
					return r;
				break;
			}
			t = table(pt, *e & SLPT_ADDR);
		}
		uint64_t next = ALIGN_DOWN(va, step) + step;
		if (next <= va)         /* wrapped past 2^64 */
			break;
		va = next;
	}
	return 0;
}

static int found(void *arg, uint64_t *e, unsigned level, uint64_t base)
{
	return 1;
}

/* ---- map ------------------------------------------------------------------------------- */

struct map_req {
	uint64_t iova, pa, left, prot;
	uint8_t sp;             /* superpage levels allowed: bit 0 = 2 MiB, bit 1 = 1 GiB */
};

static bool leaf_fits(const struct map_req *m, unsigned l)
{
	uint64_t sz = 1ull << SHIFT(l);

	if (l == 0)
		return true;
	return l <= SP_MAX_LEVEL && (m->sp & BIT(l - 1)) && IS_ALIGNED(m->iova | m->pa, sz) &&
	       m->left >= sz;
}

/* The table an absent entry should point to, allocated, flushed and linked. */
static uint64_t *new_table(const struct slpt *pt, uint64_t *e)
{
	uint64_t pa = pt->ops->alloc_table(pt->ops->ctx);

	if (!pa)
		return NULL;
	uint64_t *t = table(pt, pa);
	flush(pt, t, TABLE_SIZE);
	*e = pa | NONLEAF_PROT;
	flush(pt, e, sizeof(*e));
	return t;
}

/* Map one leaf at the start of m: the largest page that fits; returns its size or E_*. */
static int64_t map_one(const struct slpt *pt, const struct map_req *m, struct run *r)
{
	uint64_t *t = table(pt, pt->root_pa);

	for (int l = pt->levels - 1; l >= 0; l--) {
		uint64_t *e = &t[INDEX(m->iova, l)];
		if (!present(*e) && leaf_fits(m, l)) {
			*e = m->pa | m->prot | (l ? SLPT_PS : 0);
			run_add(r, e);
			return 1ll << SHIFT(l);
		}
		if (present(*e)) {
			/* A superpage here, or a 4 KiB page: any_mapped() should have seen it. */
			if (is_leaf(*e, l))
				return E_EXIST;
			t = table(pt, *e & SLPT_ADDR);
		} else {
			t = new_table(pt, e);
			if (!t)
				return E_NOMEM;
		}
	}
	return E_EXIST;
}

static int check_range(const struct slpt *pt, uint64_t iova, uint64_t size)
{
	if (!IS_ALIGNED(iova | size, PAGE_4K))
		return E_INVAL;
	if (iova >= slpt_limit(pt) || size > slpt_limit(pt) - iova)
		return E_RANGE;
	return 0;
}

int slpt_map(struct slpt *pt, uint64_t iova, uint64_t pa, uint64_t size, uint64_t prot,
	     uint8_t allow_sp)
{
	int err = check_range(pt, iova, size);

	if (err)
		return err;
	if (!IS_ALIGNED(pa, PAGE_4K) || !(prot & (SLPT_R | SLPT_W)) || (prot & ~SLPT_PROT_MASK))
		return E_INVAL;
	if (pa >= MAX_PA || size > MAX_PA - pa)
		return E_RANGE;
	/* Check first, so a failed map changes nothing that was mapped before. */
	if (for_each_leaf(pt, iova, iova + size, found, NULL))
		return E_EXIST;

	struct map_req m = { iova, pa, size, prot, allow_sp & pt->sllps };
	struct run r = { .pt = pt };
	while (m.left) {
		int64_t sz = map_one(pt, &m, &r);
		if (sz < 0) {
			run_flush(&r);
			/* Take back what this call mapped; the tables it allocated stay. */
			(void)slpt_unmap(pt, iova, m.iova - iova);
			return (int)sz;
		}
		m.iova += sz;
		m.pa += sz;
		m.left -= sz;
	}
	run_flush(&r);
	return 0;
}

/* ---- unmap ----------------------------------------------------------------------------- */

struct unmap_req {
	uint64_t start, end;
	struct run run;
	struct slpt_change ch;
};

static int partial(void *arg, uint64_t *e, unsigned level, uint64_t base)
{
	const struct unmap_req *u = arg;

	return base < u->start || base + (1ull << SHIFT(level)) > u->end;
}

static int clear(void *arg, uint64_t *e, unsigned level, uint64_t base)
{
	struct unmap_req *u = arg;
	uint64_t sz = 1ull << SHIFT(level);

	*e = 0;
	run_add(&u->run, e);
	if (!u->ch.leaves)
		u->ch.start = base;
	u->ch.end = base + sz;
	u->ch.bytes += sz;
	u->ch.leaves++;
	return 0;
}

struct slpt_change slpt_unmap(struct slpt *pt, uint64_t iova, uint64_t size)
{
	int err = check_range(pt, iova, size);

	if (err)
		return (struct slpt_change){ .err = err };

	struct unmap_req u = { .start = iova, .end = iova + size, .run = { .pt = pt } };
	if (for_each_leaf(pt, u.start, u.end, partial, &u))
		return (struct slpt_change){ .err = E_INVAL };
	for_each_leaf(pt, u.start, u.end, clear, &u);
	run_flush(&u.run);
	return u.ch;
}

/* ---- lookup ---------------------------------------------------------------------------- */

struct slpt_walk slpt_lookup(const struct slpt *pt, uint64_t iova)
{
	const uint64_t *t = table(pt, pt->root_pa);

	if (iova >= slpt_limit(pt))
		return (struct slpt_walk){ .err = E_RANGE };
	for (int l = pt->levels - 1; l >= 0; l--) {
		uint64_t e = t[INDEX(iova, l)];
		if (!present(e))
			break;
		if (is_leaf(e, l)) {
			uint64_t sz = 1ull << SHIFT(l);
			return (struct slpt_walk){
				.pa = (e & SLPT_ADDR & ~(sz - 1)) + (iova & (sz - 1)),
				.prot = e & SLPT_PROT_MASK,
				.page_size = sz,
			};
		}
		t = table(pt, e & SLPT_ADDR);
	}
	return (struct slpt_walk){ .err = E_NOENT };
}

static unsigned free_below(struct slpt *pt, uint64_t pa, unsigned l,
			   void (*free_table)(void *ctx, uint64_t pa))
{
	const uint64_t *t = table(pt, pa);
	unsigned n = 1;

	for (unsigned i = 0; l > 0 && i < SLPT_ENTRIES; i++)
		if (present(t[i]) && !is_leaf(t[i], l))
			n += free_below(pt, t[i] & SLPT_ADDR, l - 1, free_table);
	free_table(pt->ops->ctx, pa);
	return n;
}

unsigned slpt_free_tables(struct slpt *pt, void (*free_table)(void *ctx, uint64_t pa))
{
	unsigned n = pt->root_pa ? free_below(pt, pt->root_pa, pt->levels - 1, free_table) : 0;
	pt->root_pa = 0;
	return n;
}
