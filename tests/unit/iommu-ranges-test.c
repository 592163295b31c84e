/*
 * The protected ranges domains may not map: adding (sorted, merged with overlapping and
 * touching ranges), a full set, and the overlap check at the edges and past 2^64.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "iommu/ranges.h"
#include "kernel/lib/error.h"

static struct iommu_ranges s;

static int setup(void **state)
{
	s.n = 0;
	return 0;
}

static void assert_range(unsigned i, uint64_t start, uint64_t end)
{
	assert_true(i < s.n);
	assert_int_equal(s.r[i].start, start);
	assert_int_equal(s.r[i].end, end);
}

static void add_sorted_and_merged(void **state)
{
	assert_int_equal(iommu_ranges_add(&s, 0x5000, 0x6000), 0);
	assert_int_equal(iommu_ranges_add(&s, 0x1000, 0x2000), 0);
	assert_int_equal(iommu_ranges_add(&s, 0x9000, 0xa000), 0);
	assert_int_equal(s.n, 3);
	assert_range(0, 0x1000, 0x2000);
	assert_range(1, 0x5000, 0x6000);
	/* Touching the end of one range joins it. */
	assert_int_equal(iommu_ranges_add(&s, 0x2000, 0x3000), 0);
	assert_range(0, 0x1000, 0x3000);
	/* Touching the start too. */
	assert_int_equal(iommu_ranges_add(&s, 0x4000, 0x5000), 0);
	assert_range(1, 0x4000, 0x6000);
	/* One range swallowing two. */
	assert_int_equal(iommu_ranges_add(&s, 0x2800, 0x9800), 0);
	assert_int_equal(s.n, 1);
	assert_range(0, 0x1000, 0xa000);
	/* Inside: nothing changes. */
	assert_int_equal(iommu_ranges_add(&s, 0x3000, 0x4000), 0);
	assert_int_equal(s.n, 1);
	assert_range(0, 0x1000, 0xa000);
}

static void bad_ranges(void **state)
{
	assert_int_equal(iommu_ranges_add(&s, 0x1000, 0x1000), E_INVAL);
	assert_int_equal(iommu_ranges_add(&s, 0x2000, 0x1000), E_INVAL);
	assert_int_equal(s.n, 0);
}

static void full_set(void **state)
{
	for (unsigned i = 0; i < IOMMU_RANGES_MAX; i++)
		assert_int_equal(iommu_ranges_add(&s, i * 0x10000ull, i * 0x10000ull + 0x1000), 0);
	assert_int_equal(iommu_ranges_add(&s, 0x8000, 0x9000), E_NOMEM);
	assert_int_equal(s.n, IOMMU_RANGES_MAX);
	/* Growing a range needs no room. */
	assert_int_equal(iommu_ranges_add(&s, 0x1000, 0x2000), 0);
	assert_range(0, 0, 0x2000);
	/* Joining two frees one. */
	assert_int_equal(iommu_ranges_add(&s, 0x2000, 0x10000), 0);
	assert_int_equal(s.n, IOMMU_RANGES_MAX - 1);
}

static void overlap(void **state)
{
	assert_int_equal(iommu_ranges_add(&s, 0x200000, 0x300000), 0);
	assert_int_equal(iommu_ranges_add(&s, 0x800000, 0x801000), 0);
	assert_null(iommu_ranges_overlap(&s, 0x1ff000, 0x1000));        /* ends at the start */
	assert_non_null(iommu_ranges_overlap(&s, 0x1ff000, 0x2000));    /* one page in */
	assert_non_null(iommu_ranges_overlap(&s, 0x2ff000, 0x1000));    /* the last page */
	assert_null(iommu_ranges_overlap(&s, 0x300000, 0x1000));        /* starts at the end */
	assert_non_null(iommu_ranges_overlap(&s, 0x100000, 0x400000));  /* covers it whole */
	assert_ptr_equal(iommu_ranges_overlap(&s, 0x700000, 0x200000), &s.r[1]);
	assert_null(iommu_ranges_overlap(&s, 0x200000, 0));             /* empty */
	/* A range that wraps reaches everything above its start. */
	assert_non_null(iommu_ranges_overlap(&s, 0x800000, UINT64_MAX));
	assert_null(iommu_ranges_overlap(&s, 0x900000, UINT64_MAX - 0x800000));
	assert_non_null(iommu_ranges_overlap(&s, 0x2fffff, UINT64_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(add_sorted_and_merged, setup),
		cmocka_unit_test_setup(bad_ranges, setup),
		cmocka_unit_test_setup(full_set, setup),
		cmocka_unit_test_setup(overlap, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
