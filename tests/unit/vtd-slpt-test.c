/*
 * Second-level page tables (VT-d 9.8): entry encodings, 3 and 4 (and 5) levels, superpages
 * only where CAP.SLLPS and the caller allow, map/unmap/lookup, address-width limits, the
 * ranges unmap reports, the flush callback for non-coherent walks, and a randomized
 * comparison against a flat model.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "iommu/slpt.h"
#include "kernel/lib/error.h"

#define FAKE_FRAMES 256
#define FAKE_BASE   0x100000ull  /* physical address of ram[0] */
#define SZ_4K       0x1000ull
#define SZ_2M       0x200000ull
#define SZ_1G       0x40000000ull

/* CPU view and device view: the device sees only what was flushed. */
static uint8_t ram[FAKE_FRAMES][4096] __attribute__((aligned(4096)));
static uint8_t dev[FAKE_FRAMES][4096];
static bool dev_valid[FAKE_FRAMES];     /* frame flushed whole since allocation */
static unsigned next_frame, frame_limit;
static unsigned flush_calls;
static size_t flush_bytes;

static uint64_t alloc_table(void *ctx)
{
	if (next_frame >= frame_limit)
		return 0;
	memset(ram[next_frame], 0, 4096);
	memset(dev[next_frame], 0xa5, 4096);    /* stale memory behind a clean cache */
	dev_valid[next_frame] = false;
	return FAKE_BASE + 4096ull * next_frame++;
}

static void *p2v(void *ctx, uint64_t pa)
{
	assert_true(pa >= FAKE_BASE && pa < FAKE_BASE + sizeof(ram));
	return ram[(pa - FAKE_BASE) / 4096];
}

static unsigned frame_of(const void *va)
{
	return (unsigned)(((const uint8_t *)va - &ram[0][0]) / 4096);
}

/* Writes back [va, va+len); a table pointer reaching the device must point at a table the
 * device already sees whole. */
static void flush(void *ctx, void *va, size_t len)
{
	unsigned f = frame_of(va);
	size_t off = (const uint8_t *)va - ram[f];

	assert_true(f < next_frame && off + len <= 4096);
	assert_true(len > 0 && len % 8 == 0 && off % 8 == 0);
	memcpy(dev[f] + off, va, len);
	if (len == 4096)
		dev_valid[f] = true;
	for (size_t i = 0; i < len / 8; i++) {
		uint64_t e = ((uint64_t *)va)[i];
		if ((e & (SLPT_R | SLPT_W)) && !(e & SLPT_PS) && (e & SLPT_ADDR) >= FAKE_BASE &&
		    (e & SLPT_ADDR) < FAKE_BASE + sizeof(ram)) {
			unsigned child = ((e & SLPT_ADDR) - FAKE_BASE) / 4096;
			if (child < next_frame)
				assert_true(dev_valid[child] ||
					    !memcmp(dev[child], ram[child], 4096));
		}
	}
	flush_calls++;
	flush_bytes += len;
}

/* Every table byte the CPU wrote has reached the device. */
static void assert_device_sees_all(void)
{
	for (unsigned f = 0; f < next_frame; f++)
		assert_memory_equal(dev[f], ram[f], 4096);
}

static const struct slpt_ops ops = { alloc_table, p2v, NULL, NULL };
static const struct slpt_ops flush_ops = { alloc_table, p2v, flush, NULL };

static struct slpt new_pt(unsigned levels, uint8_t sllps, unsigned limit, bool flushing)
{
	struct slpt pt;

	next_frame = 0;
	frame_limit = limit;
	flush_calls = 0;
	flush_bytes = 0;
	assert_int_equal(slpt_init(&pt, flushing ? &flush_ops : &ops, levels, sllps), 0);
	return pt;
}

static uint64_t *tbl(uint64_t pa)
{
	return p2v(NULL, pa);
}

/* 9.8: a 4 KiB leaf is addr | W | R; intermediate entries are addr | W | R; no PS. */
static void encodings(void **state)
{
	struct slpt pt = new_pt(4, 0, FAKE_FRAMES, false);

	assert_int_equal(slpt_map(&pt, 0x0000801234567000ull, 0x89abc000, SZ_4K,
				  SLPT_R | SLPT_W, 0), 0);
	/* iova 0x801234567000: indexes 256 (bits 47:39), 72, 418, 359. */
	uint64_t *l4 = tbl(pt.root_pa);
	uint64_t e4 = l4[256];
	assert_int_equal(e4 & ~SLPT_ADDR, SLPT_R | SLPT_W);
	uint64_t e3 = tbl(e4 & SLPT_ADDR)[72];
	uint64_t e2 = tbl(e3 & SLPT_ADDR)[418];
	uint64_t e1 = tbl(e2 & SLPT_ADDR)[359];
	assert_int_equal(e3 & ~SLPT_ADDR, 3);
	assert_int_equal(e2 & ~SLPT_ADDR, 3);
	assert_int_equal(e1, 0x89abc003);
	assert_int_equal(next_frame, 4);

	/* Read-only with snoop: bit 11 and bit 0. */
	assert_int_equal(slpt_map(&pt, 0x1000, 0x2000, SZ_4K, SLPT_R | SLPT_SNP, 0), 0);
	struct slpt_walk w = slpt_lookup(&pt, 0x1abc);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.pa, 0x2abc);
	assert_int_equal(w.prot, SLPT_R | SLPT_SNP);
	assert_int_equal(w.page_size, SZ_4K);
	/* Write-only is allowed (CAP.ZLR matters for it, not the tables). */
	assert_int_equal(slpt_map(&pt, 0x3000, 0x3000, SZ_4K, SLPT_W, 0), 0);
	assert_int_equal(slpt_lookup(&pt, 0x3000).prot, SLPT_W);
}

static void bad_arguments(void **state)
{
	struct slpt pt;

	next_frame = 0;
	frame_limit = FAKE_FRAMES;
	assert_int_equal(slpt_init(&pt, &ops, 2, 0), E_INVAL);
	assert_int_equal(slpt_init(&pt, &ops, 6, 0), E_INVAL);
	frame_limit = 0;
	assert_int_equal(slpt_init(&pt, &ops, 3, 0), E_NOMEM);

	pt = new_pt(3, 3, FAKE_FRAMES, false);
	assert_int_equal(slpt_map(&pt, 0x1001, 0, SZ_4K, SLPT_R, 0), E_INVAL);
	assert_int_equal(slpt_map(&pt, 0x1000, 0x10, SZ_4K, SLPT_R, 0), E_INVAL);
	assert_int_equal(slpt_map(&pt, 0x1000, 0, 0x800, SLPT_R, 0), E_INVAL);
	assert_int_equal(slpt_map(&pt, 0x1000, 0, SZ_4K, 0, 0), E_INVAL);
	assert_int_equal(slpt_map(&pt, 0x1000, 0, SZ_4K, SLPT_R | SLPT_TM, 0), E_INVAL);
	assert_int_equal(slpt_map(&pt, 0x1000, 0, SZ_4K, SLPT_R | SLPT_PS, 0), E_INVAL);
	assert_int_equal(slpt_map(&pt, 0x1000, 1ull << 52, SZ_4K, SLPT_R, 0), E_RANGE);
	assert_int_equal(slpt_map(&pt, 0x1000, (1ull << 52) - SZ_4K, 2 * SZ_4K, SLPT_R, 0),
			 E_RANGE);
	assert_int_equal(slpt_map(&pt, 0x1000, 0, 0, SLPT_R, 0), 0);    /* empty: nothing */
	assert_int_equal(next_frame, 1);
}

/* 3 levels translate 39 bits: the last page maps, anything at or past 2^39 is refused. */
static void address_width(void **state)
{
	struct slpt pt = new_pt(3, 0, FAKE_FRAMES, false);
	uint64_t top = 1ull << 39;

	assert_int_equal(slpt_limit(&pt), top);
	assert_int_equal(slpt_map(&pt, top - SZ_4K, 0x7000, SZ_4K, SLPT_R, 0), 0);
	assert_int_equal(slpt_lookup(&pt, top - 1).pa, 0x7fff);
	assert_int_equal(slpt_map(&pt, top, 0x7000, SZ_4K, SLPT_R, 0), E_RANGE);
	assert_int_equal(slpt_map(&pt, top - SZ_4K, 0x7000, 2 * SZ_4K, SLPT_R, 0), E_RANGE);
	assert_int_equal(slpt_map(&pt, ~0xfffull, 0, SZ_4K, SLPT_R, 0), E_RANGE);
	assert_int_equal(slpt_lookup(&pt, top).err, E_RANGE);
	assert_int_equal(slpt_unmap(&pt, top, SZ_4K).err, E_RANGE);
	assert_int_equal(slpt_unmap(&pt, 0, top + SZ_4K).err, E_RANGE);

	pt = new_pt(4, 0, FAKE_FRAMES, false);
	top = 1ull << 48;
	assert_int_equal(slpt_map(&pt, top - SZ_4K, 0x7000, SZ_4K, SLPT_R, 0), 0);
	assert_int_equal(slpt_map(&pt, 1ull << 39, 0x8000, SZ_4K, SLPT_R, 0), 0);
	assert_int_equal(slpt_lookup(&pt, (1ull << 39) + 5).pa, 0x8005);
	assert_int_equal(slpt_map(&pt, top, 0x7000, SZ_4K, SLPT_R, 0), E_RANGE);

	pt = new_pt(5, 0, FAKE_FRAMES, false);
	assert_int_equal(slpt_limit(&pt), 1ull << 57);
	assert_int_equal(slpt_map(&pt, (1ull << 57) - SZ_4K, 0x9000, SZ_4K, SLPT_W, 0), 0);
	assert_int_equal(slpt_lookup(&pt, (1ull << 57) - 1).pa, 0x9fff);
	assert_int_equal(next_frame, 5);
}

/* Superpages need both the unit (sllps) and the caller (allow_sp), and alignment. */
static void superpages(void **state)
{
	uint64_t size = SZ_1G + SZ_2M + SZ_4K;
	struct slpt pt = new_pt(4, SLPT_SP_2M | SLPT_SP_1G, FAKE_FRAMES, false);

	assert_int_equal(slpt_map(&pt, SZ_1G, SZ_1G, size, SLPT_R | SLPT_W,
				  SLPT_SP_2M | SLPT_SP_1G), 0);
	struct slpt_walk w = slpt_lookup(&pt, SZ_1G + 12345);
	assert_int_equal(w.page_size, SZ_1G);
	assert_int_equal(w.pa, SZ_1G + 12345);
	assert_int_equal(slpt_lookup(&pt, 2 * SZ_1G + 77).page_size, SZ_2M);
	assert_int_equal(slpt_lookup(&pt, 2 * SZ_1G + SZ_2M).page_size, SZ_4K);
	assert_int_equal(next_frame, 4);        /* PML4, PDPT, PD, PT */
	/* The 1 GiB leaf: PS, R, W, address. */
	uint64_t pdpe = tbl(tbl(pt.root_pa)[0] & SLPT_ADDR)[1];
	assert_int_equal(pdpe, SZ_1G | SLPT_PS | SLPT_R | SLPT_W);

	/* The unit offers only 2 MiB: a 1 GiB-aligned gigabyte becomes 512 2 MiB leaves. */
	pt = new_pt(4, SLPT_SP_2M, FAKE_FRAMES, false);
	assert_int_equal(slpt_map(&pt, 0, 0, SZ_1G, SLPT_R, SLPT_SP_2M | SLPT_SP_1G), 0);
	assert_int_equal(slpt_lookup(&pt, SZ_1G - 1).page_size, SZ_2M);
	assert_int_equal(next_frame, 3);

	/* The unit offers both, the caller allows none: 4 KiB pages only. */
	pt = new_pt(3, SLPT_SP_2M | SLPT_SP_1G, FAKE_FRAMES, false);
	assert_int_equal(slpt_map(&pt, SZ_2M, SZ_2M, SZ_2M, SLPT_R, 0), 0);
	assert_int_equal(slpt_lookup(&pt, SZ_2M).page_size, SZ_4K);
	/* The unit offers none, the caller asks for both: still 4 KiB. */
	pt = new_pt(3, 0, FAKE_FRAMES, false);
	assert_int_equal(slpt_map(&pt, SZ_2M, SZ_2M, SZ_2M, SLPT_R, SLPT_SP_2M | SLPT_SP_1G), 0);
	assert_int_equal(slpt_lookup(&pt, SZ_2M + SZ_4K).page_size, SZ_4K);

	/* Misaligned pa forces small pages. */
	pt = new_pt(3, SLPT_SP_2M, FAKE_FRAMES, false);
	assert_int_equal(slpt_map(&pt, SZ_2M, SZ_4K, SZ_2M, SLPT_R, SLPT_SP_2M), 0);
	assert_int_equal(slpt_lookup(&pt, SZ_2M).page_size, SZ_4K);

	/* 3 levels: the top table holds 1 GiB leaves (a PDPT). */
	pt = new_pt(3, SLPT_SP_1G, FAKE_FRAMES, false);
	assert_int_equal(slpt_map(&pt, 5 * SZ_1G, 0, SZ_1G, SLPT_R, SLPT_SP_1G), 0);
	assert_int_equal(tbl(pt.root_pa)[5], SLPT_PS | SLPT_R);
	assert_int_equal(next_frame, 1);

	/* A table left behind where a superpage would go: smaller pages under it instead. */
	pt = new_pt(3, SLPT_SP_2M, FAKE_FRAMES, false);
	assert_int_equal(slpt_map(&pt, SZ_2M, 0, SZ_4K, SLPT_R, 0), 0);
	assert_int_equal(slpt_unmap(&pt, SZ_2M, SZ_4K).err, 0);
	assert_int_equal(slpt_map(&pt, SZ_2M, 0, SZ_2M, SLPT_R, SLPT_SP_2M), 0);
	assert_int_equal(slpt_lookup(&pt, SZ_2M).page_size, SZ_4K);
	assert_int_equal(slpt_lookup(&pt, 2 * SZ_2M - 1).pa, SZ_2M - 1);
}

static void overlap_and_nomem(void **state)
{
	struct slpt pt = new_pt(4, SLPT_SP_2M, FAKE_FRAMES, false);

	assert_int_equal(slpt_map(&pt, 0x10000, 0x10000, 0x3000, SLPT_R, 0), 0);
	/* Overlapping the last page: refused, the free pages before it stay free. */
	assert_int_equal(slpt_map(&pt, 0xe000, 0x50000, 0x3000, SLPT_R, 0), E_EXIST);
	assert_int_equal(slpt_lookup(&pt, 0xe000).err, E_NOENT);
	/* Under a superpage. */
	assert_int_equal(slpt_map(&pt, SZ_2M, 0, SZ_2M, SLPT_R, SLPT_SP_2M), 0);
	assert_int_equal(slpt_map(&pt, SZ_2M + 0x5000, 0, SZ_4K, SLPT_R, 0), E_EXIST);
	/* The overlap is found before anything is written: a refused map that would have needed
	 * a new table (for the 2 MiB just below 1 GiB) allocates none and writes nothing. */
	assert_int_equal(slpt_map(&pt, SZ_1G, 0x80000000, SZ_4K, SLPT_R, 0), 0);
	unsigned frames = next_frame;
	assert_int_equal(slpt_map(&pt, SZ_1G - SZ_4K, 0x90000000, 2 * SZ_4K, SLPT_R, 0), E_EXIST);
	assert_int_equal(next_frame, frames);
	assert_int_equal(slpt_lookup(&pt, SZ_1G - SZ_4K).err, E_NOENT);
	assert_int_equal(slpt_lookup(&pt, SZ_1G).pa, 0x80000000);

	/* Out of tables halfway: what this call mapped is taken back. */
	pt = new_pt(4, 0, 4, false);    /* root + 3: enough for one PT only */
	assert_int_equal(slpt_map(&pt, SZ_2M - 0x2000, 0x40000, 0x4000, SLPT_R, 0), E_NOMEM);
	assert_int_equal(slpt_lookup(&pt, SZ_2M - 0x2000).err, E_NOENT);
	assert_int_equal(slpt_lookup(&pt, SZ_2M - 0x1000).err, E_NOENT);
	assert_int_equal(slpt_lookup(&pt, SZ_2M).err, E_NOENT);
}

/* Unmap clears leaves in the range, skips holes, and reports the span it changed. */
static void unmap_reports(void **state)
{
	struct slpt pt = new_pt(3, SLPT_SP_2M, FAKE_FRAMES, false);

	assert_int_equal(slpt_map(&pt, 0x10000, 0x90000, 0x2000, SLPT_R | SLPT_W, 0), 0);
	assert_int_equal(slpt_map(&pt, 0x20000, 0xa0000, 0x1000, SLPT_R, 0), 0);
	struct slpt_change ch = slpt_unmap(&pt, 0x0, 0x100000);
	assert_int_equal(ch.err, 0);
	assert_int_equal(ch.start, 0x10000);
	assert_int_equal(ch.end, 0x21000);
	assert_int_equal(ch.bytes, 0x3000);
	assert_int_equal(ch.leaves, 3);
	assert_int_equal(slpt_lookup(&pt, 0x10000).err, E_NOENT);
	assert_int_equal(slpt_lookup(&pt, 0x20000).err, E_NOENT);

	/* Nothing mapped: nothing changed. */
	ch = slpt_unmap(&pt, 0x0, 0x100000);
	assert_int_equal(ch.err, 0);
	assert_int_equal(ch.start, ch.end);
	assert_int_equal(ch.leaves, 0);
	assert_int_equal(slpt_unmap(&pt, 0x1000, 0).leaves, 0);
	assert_int_equal(slpt_unmap(&pt, 0x1800, 0x1000).err, E_INVAL);

	/* Part of a superpage: refused whole, even with other pages in range. */
	assert_int_equal(slpt_map(&pt, SZ_2M - SZ_4K, 0, SZ_4K, SLPT_R, 0), 0);
	assert_int_equal(slpt_map(&pt, SZ_2M, 0, SZ_2M, SLPT_R, SLPT_SP_2M), 0);
	ch = slpt_unmap(&pt, SZ_2M - SZ_4K, 2 * SZ_4K);
	assert_int_equal(ch.err, E_INVAL);
	assert_int_equal(slpt_lookup(&pt, SZ_2M - SZ_4K).err, 0);
	assert_int_equal(slpt_lookup(&pt, SZ_2M).page_size, SZ_2M);
	/* All of it. */
	ch = slpt_unmap(&pt, SZ_2M - SZ_4K, SZ_2M + SZ_4K);
	assert_int_equal(ch.err, 0);
	assert_int_equal(ch.start, SZ_2M - SZ_4K);
	assert_int_equal(ch.end, 2 * SZ_2M);
	assert_int_equal(ch.bytes, SZ_2M + SZ_4K);
	assert_int_equal(ch.leaves, 2);
	assert_int_equal(slpt_lookup(&pt, SZ_2M + 0x1234).err, E_NOENT);
	/* The freed range maps again. */
	assert_int_equal(slpt_map(&pt, SZ_2M, 0x400000, SZ_2M, SLPT_W, SLPT_SP_2M), 0);
	assert_int_equal(slpt_lookup(&pt, SZ_2M + 1).pa, 0x400001);
}

/* ECAP.C = 0: every new table and every changed entry run reaches memory. */
static void flush_callback(void **state)
{
	struct slpt pt = new_pt(3, SLPT_SP_2M, FAKE_FRAMES, true);

	assert_int_equal(flush_calls, 1);       /* the root, whole */
	assert_int_equal(flush_bytes, 4096);
	assert_device_sees_all();

	/* One page in an empty table: PD and PT whole, two links, one leaf. */
	flush_calls = flush_bytes = 0;
	assert_int_equal(slpt_map(&pt, 0x5000, 0x5000, SZ_4K, SLPT_R, 0), 0);
	assert_int_equal(flush_calls, 5);
	assert_int_equal(flush_bytes, 2 * 4096 + 3 * 8);
	assert_device_sees_all();

	/* Sixteen pages in the same table: one run of 16 entries. */
	flush_calls = flush_bytes = 0;
	assert_int_equal(slpt_map(&pt, 0x10000, 0x10000, 16 * SZ_4K, SLPT_R, 0), 0);
	assert_int_equal(flush_calls, 1);
	assert_int_equal(flush_bytes, 16 * 8);
	assert_device_sees_all();

	/* Across a table boundary: two runs, plus the new PT. */
	flush_calls = flush_bytes = 0;
	assert_int_equal(slpt_map(&pt, SZ_2M - 2 * SZ_4K, 0x100000, 4 * SZ_4K, SLPT_R, 0), 0);
	assert_device_sees_all();
	assert_int_equal(flush_calls, 4);       /* run, new PT, its link, run */

	/* Unmap: the cleared entries, one run per contiguous stretch. */
	flush_calls = flush_bytes = 0;
	struct slpt_change ch = slpt_unmap(&pt, 0, SZ_1G);
	assert_int_equal(ch.leaves, 21);
	assert_device_sees_all();
	assert_int_equal(flush_bytes, 21 * 8);
	assert_int_equal(flush_calls, 4);       /* 0x5000; 0x10000-0x1f000; two at 2M */

	/* A map refused for overlap writes and flushes nothing. */
	assert_int_equal(slpt_map(&pt, 0x5000, 0x5000, SZ_4K, SLPT_R, 0), 0);
	flush_calls = flush_bytes = 0;
	assert_int_equal(slpt_map(&pt, 0x4000, 0x9000, 2 * SZ_4K, SLPT_R, 0), E_EXIST);
	assert_int_equal(flush_calls, 0);
	assert_int_equal(flush_bytes, 0);
	assert_int_equal(slpt_lookup(&pt, 0x4000).err, E_NOENT);

	/* A failed map flushes its rollback too. */
	pt = new_pt(4, 0, 4, true);
	assert_int_equal(slpt_map(&pt, SZ_2M - 0x2000, 0x40000, 0x4000, SLPT_R, 0), E_NOMEM);
	assert_device_sees_all();
}

/* ---- randomized against a flat model -------------------------------------------------- */

#define MODEL_PAGES 4096        /* a 16 MiB window */
static uint64_t model_pa[MODEL_PAGES];  /* ~0: unmapped */
static uint64_t model_sz[MODEL_PAGES];
static uint64_t model_prot[MODEL_PAGES];
/* 2 MiB regions that got a page table once: tables stay, so no superpage there again. */
static bool model_has_pt[MODEL_PAGES / 512];

static uint64_t rnd(uint64_t n)
{
	return ((uint64_t)rand() << 31 ^ (uint64_t)rand()) % n;
}

static int model_map(uint64_t p, uint64_t n, uint64_t pa, uint64_t prot, bool sp)
{
	for (uint64_t i = p; i < p + n; i++)
		if (model_pa[i] != ~0ull)
			return E_EXIST;
	for (uint64_t i = p; i < p + n;) {
		uint64_t va = i * SZ_4K, a = pa + (i - p) * SZ_4K, sz = SZ_4K;
		if (sp && IS_ALIGNED(va | a, SZ_2M) && (p + n - i) * SZ_4K >= SZ_2M &&
		    !model_has_pt[i / 512])
			sz = SZ_2M;
		else
			model_has_pt[i / 512] = true;
		for (uint64_t j = 0; j < sz / SZ_4K; j++) {
			model_pa[i + j] = a + j * SZ_4K;
			model_sz[i + j] = sz;
			model_prot[i + j] = prot;
		}
		i += sz / SZ_4K;
	}
	return 0;
}

static int model_unmap(uint64_t p, uint64_t n)
{
	for (uint64_t i = p; i < p + n; i++) {
		if (model_pa[i] == ~0ull || model_sz[i] == SZ_4K)
			continue;
		uint64_t first = ALIGN_DOWN(i, SZ_2M / SZ_4K);
		if (first < p || first + SZ_2M / SZ_4K > p + n)
			return E_INVAL;
	}
	for (uint64_t i = p; i < p + n; i++)
		model_pa[i] = ~0ull;
	return 0;
}

static void random_ops(void **state)
{
	struct slpt pt = new_pt(3, SLPT_SP_2M, FAKE_FRAMES, true);

	unsigned seen[4] = { 0 };        /* mapped, E_EXIST, unmapped, E_INVAL */

	srand(12345);
	memset(model_pa, 0xff, sizeof(model_pa));
	memset(model_has_pt, 0, sizeof(model_has_pt));
	for (int op = 0; op < 400; op++) {
		uint64_t p = rnd(MODEL_PAGES);
		uint64_t n = 1 + rnd(rand() % 4 ? 16 : 1024);
		if (p + n > MODEL_PAGES)
			n = MODEL_PAGES - p;
		if (rand() % 3) {
			bool sp = rand() & 1;
			uint64_t pa = (rand() & 1) ? p * SZ_4K + SZ_1G : rnd(1 << 20) * SZ_4K;
			if (rand() % 4 == 0) {  /* a superpage candidate */
				p = rnd(MODEL_PAGES / 512) * 512;
				n = MIN(512 * (1 + rnd(2)), MODEL_PAGES - p);
				pa = p * SZ_4K + SZ_1G;
				sp = true;
			}
			uint64_t prot = 1 + rnd(3);
			int want = model_map(p, n, pa, prot, sp);
			assert_int_equal(slpt_map(&pt, p * SZ_4K, pa, n * SZ_4K, prot,
						  sp ? SLPT_SP_2M : 0), want);
			seen[want ? 1 : 0]++;
		} else {
			int want = model_unmap(p, n);
			assert_int_equal(slpt_unmap(&pt, p * SZ_4K, n * SZ_4K).err, want);
			seen[want ? 3 : 2]++;
		}
		for (uint64_t i = 0; i < MODEL_PAGES; i++) {
			struct slpt_walk w = slpt_lookup(&pt, i * SZ_4K + 8);
			if (model_pa[i] == ~0ull) {
				assert_int_equal(w.err, E_NOENT);
				continue;
			}
			assert_int_equal(w.err, 0);
			assert_int_equal(w.pa, model_pa[i] + 8);
			assert_int_equal(w.page_size, model_sz[i]);
			assert_int_equal(w.prot, model_prot[i]);
		}
		assert_device_sees_all();
	}
	for (int i = 0; i < 4; i++)
		assert_true(seen[i] > 10);
}

/* slpt_free_tables gives back every table, the root too, each once, and no leaf page. */
static bool given[FAKE_FRAMES];
static unsigned given_count;

static void give_back(void *ctx, uint64_t pa)
{
	unsigned i = (unsigned)((pa - FAKE_BASE) / 4096);
	assert_true(i < next_frame);
	assert_false(given[i]);
	given[i] = true;
	given_count++;
}

static void free_tables(void **state)
{
	struct slpt pt = new_pt(4, SLPT_SP_2M | SLPT_SP_1G, FAKE_FRAMES, false);
	memset(given, 0, sizeof(given));
	given_count = 0;
	assert_int_equal(slpt_map(&pt, 0x400000, 0x9000000, 0x3000, SLPT_R | SLPT_W, 0), 0);
	assert_int_equal(slpt_map(&pt, 0x8000000000ull, 0xa000000, 0x1000, SLPT_R, 0), 0);
	assert_int_equal(slpt_map(&pt, 0x40000000, 0x40000000, 0x40000000, SLPT_R, SLPT_SP_1G), 0);
	unsigned tables = next_frame;           /* everything allocated is a table */
	assert_int_equal(slpt_free_tables(&pt, give_back), tables);
	assert_int_equal(given_count, tables);
	assert_int_equal(pt.root_pa, 0);
	assert_int_equal(slpt_free_tables(&pt, give_back), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encodings),
		cmocka_unit_test(bad_arguments),
		cmocka_unit_test(address_width),
		cmocka_unit_test(superpages),
		cmocka_unit_test(overlap_and_nomem),
		cmocka_unit_test(unmap_reports),
		cmocka_unit_test(flush_callback),
		cmocka_unit_test(random_ops),
		cmocka_unit_test(free_tables),
	};
	return cmocka_run_group_tests_name("vtd-slpt", tests, NULL, NULL);
}
