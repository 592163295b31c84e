/* Page-table builder: mappings land where asked, with the right flags and page sizes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "kernel/lib/error.h"
#include "kernel/mm/paging.h"
#include "kernel/arch/pte.h"

#define FAKE_FRAMES 64
static uint8_t fake_ram[FAKE_FRAMES][4096] __attribute__((aligned(4096)));
static unsigned next_frame, frame_limit;
#define FAKE_BASE 0x100000ull   /* physical address of fake_ram[0] */

static uint64_t alloc_table(void *ctx)
{
	if (next_frame >= frame_limit)
		return 0;
	memset(fake_ram[next_frame], 0, 4096);
	return FAKE_BASE + 4096ull * next_frame++;
}

static void *p2v(void *ctx, uint64_t pa)
{
	assert_true(pa >= FAKE_BASE && pa < FAKE_BASE + sizeof(fake_ram));
	return fake_ram[(pa - FAKE_BASE) / 4096];
}

static const struct pt_ops ops = { alloc_table, p2v, 0 };

static struct pt new_pt(unsigned limit)
{
	next_frame = 0;
	frame_limit = limit;
	return (struct pt){ alloc_table(0), &ops };
}

static void pte_encoding(void **state)
{
	uint64_t e = pte_make(0x123456789000ull | 0xfff, PTE_P | PTE_W | PTE_NX);
	assert_int_equal(pte_addr(e), 0x123456789000ull);
	assert_int_equal(pte_flags(e), PTE_P | PTE_W | PTE_NX);
	assert_true(pte_present(e));
	assert_int_equal(PTE_NX, 1ull << 63);
	assert_int_equal(PT_INDEX(0xffffffff80000000ull, 3), 511);
	assert_int_equal(PT_INDEX(0xffffffff80000000ull, 2), 510);
	assert_int_equal(PT_INDEX(0xffffffff80000000ull, 1), 0);
}

static void map_4k_and_lookup(void **state)
{
	struct pt pt = new_pt(FAKE_FRAMES);
	assert_int_equal(pt_map(&pt, 0xffff800000001000ull, 0x5000, 0x2000, PTE_P | PTE_W, 0), 0);
	struct pt_walk w = pt_lookup(&pt, 0xffff800000001234ull);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.pa, 0x5234);
	assert_int_equal(w.page_size, 4096);
	assert_int_equal(w.flags, PTE_P | PTE_W);
	assert_int_equal(pt_lookup(&pt, 0xffff800000002fffull).pa, 0x6fff);
	assert_int_equal(pt_lookup(&pt, 0xffff800000003000ull).err, E_NOENT);
	assert_int_equal(pt_lookup(&pt, 0xffff800000000000ull).err, E_NOENT);
	/* Mapping over an existing page fails and changes nothing. */
	assert_int_equal(pt_map(&pt, 0xffff800000000000ull, 0x9000, 0x2000, PTE_P, 0), E_EXIST);
	assert_int_equal(pt_lookup(&pt, 0xffff800000000000ull).err, E_NOENT);
	w = pt_lookup(&pt, 0xffff800000001000ull);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.pa, 0x5000);
	assert_int_equal(w.flags, PTE_P | PTE_W);
}

static void large_pages_when_aligned(void **state)
{
	struct pt pt = new_pt(FAKE_FRAMES);
	/* 1 GiB + 2 MiB + 4 KiB: one 1 GiB page, one 2 MiB page, one 4 KiB page. */
	uint64_t size = (1ull << 30) + (2ull << 20) + 4096;
	assert_int_equal(pt_map(&pt, 0xffff800000000000ull, 0, size, PTE_P | PTE_W, 2), 0);
	struct pt_walk w = pt_lookup(&pt, 0xffff800000000000ull + 12345);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.page_size, 1ull << 30);
	assert_int_equal(w.pa, 12345);
	assert_int_equal(w.flags, PTE_P | PTE_W);
	w = pt_lookup(&pt, 0xffff800040000000ull + 77);
	assert_int_equal(w.page_size, 2ull << 20);
	assert_int_equal(w.pa, 0x40000000 + 77);
	/* The large leaves themselves: address | PS | P | W, in the PDPT and the PD. */
	uint64_t *pdpt = p2v(0, pte_addr(((uint64_t *)p2v(0, pt.root_pa))[256]));
	assert_int_equal(pdpt[0], PTE_PS | PTE_P | PTE_W);
	uint64_t *pd = p2v(0, pte_addr(pdpt[1]));
	assert_int_equal(pd[0], 0x40000000ull | PTE_PS | PTE_P | PTE_W);
	w = pt_lookup(&pt, 0xffff800040200010ull);
	assert_int_equal(w.page_size, 4096);
	assert_int_equal(w.pa, 0x40200010);
	/* Only PML4, PDPT, PD and PT were needed. */
	assert_int_equal(next_frame, 4);
	/* Misaligned pa forces small pages even when allowed large. */
	struct pt pt2 = new_pt(FAKE_FRAMES);
	assert_int_equal(pt_map(&pt2, 0x200000, 0x1000, 0x200000, PTE_P, 1), 0);
	assert_int_equal(pt_lookup(&pt2, 0x200000).page_size, 4096);
}

static void user_bit_propagates(void **state)
{
	struct pt pt = new_pt(FAKE_FRAMES);
	assert_int_equal(pt_map(&pt, 0x400000, 0x7000, 0x1000, PTE_P | PTE_U, 0), 0);
	/* 0x400000: PML4 0, PDPT 0, PD 2, PT 0. Upper levels permit (P, W, U); the leaf decides. */
	uint64_t *pml4 = p2v(0, pt.root_pa);
	assert_int_equal(pte_flags(pml4[0]), PTE_P | PTE_W | PTE_U);
	uint64_t *pdpt = p2v(0, pte_addr(pml4[0]));
	assert_int_equal(pte_flags(pdpt[0]), PTE_P | PTE_W | PTE_U);
	uint64_t *pd = p2v(0, pte_addr(pdpt[0]));
	assert_int_equal(pte_flags(pd[2]), PTE_P | PTE_W | PTE_U);
	uint64_t *ptab = p2v(0, pte_addr(pd[2]));
	assert_int_equal(ptab[0], 0x7000 | PTE_P | PTE_U);
	assert_int_equal(pt_lookup(&pt, 0x400000).flags, PTE_P | PTE_U);

	/* A supervisor page first, then a user page under the same tables: U is added on every
	 * level above the user leaf, and the supervisor leaf stays supervisor. */
	pt = new_pt(FAKE_FRAMES);
	assert_int_equal(pt_map(&pt, 0x600000, 0x8000, 0x1000, PTE_P, 0), 0);
	pml4 = p2v(0, pt.root_pa);
	assert_int_equal(pte_flags(pml4[0]), PTE_P | PTE_W);
	assert_int_equal(pt_map(&pt, 0x601000, 0x9000, 0x1000, PTE_P | PTE_U, 0), 0);
	pdpt = p2v(0, pte_addr(pml4[0]));
	pd = p2v(0, pte_addr(pdpt[0]));
	assert_int_equal(pte_flags(pml4[0]), PTE_P | PTE_W | PTE_U);
	assert_int_equal(pte_flags(pdpt[0]), PTE_P | PTE_W | PTE_U);
	assert_int_equal(pte_flags(pd[3]), PTE_P | PTE_W | PTE_U);
	assert_int_equal(pt_lookup(&pt, 0x600000).flags, PTE_P);
	assert_int_equal(pt_lookup(&pt, 0x601000).flags, PTE_P | PTE_U);
	assert_int_equal(next_frame, 4);
}

static void bad_arguments(void **state)
{
	struct pt pt = new_pt(FAKE_FRAMES);
	assert_int_equal(pt_map(&pt, 0x1001, 0, 0x1000, PTE_P, 0), E_INVAL);
	assert_int_equal(pt_map(&pt, 0x1000, 0x10, 0x1000, PTE_P, 0), E_INVAL);
	assert_int_equal(pt_map(&pt, 0x0000800000000000ull, 0, 0x1000, PTE_P, 0), E_INVAL);
	assert_int_equal(pt_map(&pt, 0x00007ffffffff000ull, 0, 0x2000, PTE_P, 0), E_INVAL);
	assert_int_equal(pt_map(&pt, 0, 0, 0x1000, PTE_P, 3), E_INVAL);
	assert_int_equal(pt_lookup(&pt, 0x0000800000000000ull).err, E_NOENT);
}

static void out_of_tables(void **state)
{
	struct pt pt = new_pt(2); /* PML4 + one more only */
	assert_int_equal(pt_map(&pt, 0x1000, 0x1000, 0x1000, PTE_P, 0), E_NOMEM);
}

static void unmap(void **state)
{
	struct pt pt = new_pt(FAKE_FRAMES);
	assert_int_equal(pt_map(&pt, 0x10000, 0x20000, 0x3000, PTE_P, 0), 0);
	assert_int_equal(pt_unmap(&pt, 0x11000, 0x1000), 0);
	assert_int_equal(pt_lookup(&pt, 0x10000).err, 0);
	assert_int_equal(pt_lookup(&pt, 0x10000).pa, 0x20000);
	assert_int_equal(pt_lookup(&pt, 0x11000).err, E_NOENT);
	assert_int_equal(pt_lookup(&pt, 0x12000).err, 0);
	assert_int_equal(pt_lookup(&pt, 0x12000).pa, 0x22000);
	assert_int_equal(pt_unmap(&pt, 0x900000, 0x1000), 0);  /* unmapped: no-op */
	assert_int_equal(pt_map(&pt, 0x200000, 0x200000, 0x200000, PTE_P, 1), 0);
	assert_int_equal(pt_unmap(&pt, 0x200000, 0x1000), E_INVAL);  /* inside a large page */
	struct pt_walk w = pt_lookup(&pt, 0x200000);                   /* ...which stays */
	assert_int_equal(w.err, 0);
	assert_int_equal(w.page_size, 0x200000);
	assert_int_equal(w.pa, 0x200000);
}

/* pt_free_tables gives back each table below the chosen root entries exactly once, follows no
 * large page and no leaf, and leaves the other entries and the root alone. */
static bool freed[FAKE_FRAMES];
static unsigned freed_count;

static void free_table(void *ctx, uint64_t pa)
{
	unsigned i = (unsigned)((pa - FAKE_BASE) / 4096);
	assert_false(freed[i]);
	freed[i] = true;
	freed_count++;
}

static void free_tables(void **state)
{
	struct pt pt = new_pt(64);
	memset(freed, 0, sizeof(freed));
	freed_count = 0;
	/* Lower half: two 4 KiB pages apart (PDPT, PD, PT each, one PD shared), and a 2 MiB page. */
	assert_int_equal(pt_map(&pt, 0x400000, 0x9000000, 0x1000, PTE_P | PTE_W | PTE_U, 0), 0);
	assert_int_equal(pt_map(&pt, 0x40000000, 0x9001000, 0x1000, PTE_P | PTE_U, 0), 0);
	assert_int_equal(pt_map(&pt, 0x600000, 0xa000000, 0x200000, PTE_P, 1), 0);
	unsigned lower = next_frame - 1;        /* every table so far but the root */
	/* Upper half (index 256): kept. */
	assert_int_equal(pt_map(&pt, 0xffff800000000000ull, 0x1000, 0x1000, PTE_P, 0), 0);
	unsigned upper = next_frame - 1 - lower;
	uint64_t *root = p2v(0, pt.root_pa);

	assert_int_equal(pt_free_tables(&pt, 0, 256, free_table), lower);
	assert_int_equal(freed_count, lower);
	assert_false(freed[0]);                 /* the root */
	for (unsigned i = 0; i < 256; i++)
		assert_int_equal(root[i], 0);
	assert_true(pte_present(root[256]));
	assert_int_equal(pt_lookup(&pt, 0xffff800000000000ull).pa, 0x1000);
	assert_int_equal(pt_lookup(&pt, 0x400000).err, E_NOENT);
	assert_int_equal(upper, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(free_tables),
		cmocka_unit_test(pte_encoding),
		cmocka_unit_test(map_4k_and_lookup),
		cmocka_unit_test(large_pages_when_aligned),
		cmocka_unit_test(user_bit_propagates),
		cmocka_unit_test(bad_arguments),
		cmocka_unit_test(out_of_tables),
		cmocka_unit_test(unmap),
	};
	return cmocka_run_group_tests_name("paging", tests, NULL, NULL);
}
