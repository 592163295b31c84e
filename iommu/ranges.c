#include "iommu/ranges.h"
#include "kernel/lib/error.h"

static void remove_at(struct iommu_ranges *s, unsigned i)
{
	for (unsigned j = i + 1; j < s->n; j++)
		s->r[j - 1] = s->r[j];
	s->n--;
}

int iommu_ranges_add(struct iommu_ranges *s, uint64_t start, uint64_t end)
{
	unsigned i = 0;

	if (start >= end)
		return E_INVAL;
	/* Skip the ranges wholly below, not touching, the new one. */
	while (i < s->n && s->r[i].end < start)
		i++;
	if (i < s->n && s->r[i].start <= end) {
		/* Overlapping or adjacent: grow r[i], then swallow the ranges it now reaches. */
		s->r[i].start = MIN(s->r[i].start, start);
		s->r[i].end = MAX(s->r[i].end, end);
		while (i + 1 < s->n && s->r[i + 1].start <= s->r[i].end) {
			s->r[i].end = MAX(s->r[i].end, s->r[i + 1].end);
			remove_at(s, i + 1);
		}
		return 0;
	}
	if (s->n == IOMMU_RANGES_MAX)
		return E_NOMEM;
	for (unsigned j = s->n; j > i; j--)
		s->r[j] = s->r[j - 1];
	s->r[i] = (struct iommu_range){ start, end };
	s->n++;
	return 0;
}

const struct iommu_range *iommu_ranges_overlap(const struct iommu_ranges *s, uint64_t start,
					       uint64_t size)
{
	uint64_t end = start + size;

	if (!size)
		return NULL;
	if (end < start)
		end = UINT64_MAX;       /* wrapped: up to the top */
	for (unsigned i = 0; i < s->n; i++)
		if (s->r[i].start < end && start < s->r[i].end)
			return &s->r[i];
	return NULL;
}
