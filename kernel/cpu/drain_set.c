#include "kernel/cpu/drain_set.h"

unsigned drain_set_take_word(struct drain_set *d, unsigned w, uint64_t pending,
			     struct drain_taken *out, unsigned max, uint64_t *freed, bool *left,
			     bool *more)
{
	uint64_t want = d->draining[w] | d->settling[w];
	uint64_t take = want & ~pending, taken = 0;
	unsigned n = 0;

	*freed = 0;
	if (want & pending)
		*left = true;
	for (; take && n < max; take &= take - 1) {
		uint64_t b = take & -take;
		unsigned v = w * 64 + (unsigned)__builtin_ctzll(take);
		struct drain_taken t = { .vector = (uint8_t)v, .freed = (d->draining[w] & b) != 0 };
		if (d->settling[w] & b) {
			t.settles = d->settles[v - VEC_DYNAMIC_FIRST];
			d->settles[v - VEC_DYNAMIC_FIRST] = 0;
		}
		out[n++] = t;
		taken |= b;
	}
	*freed = d->draining[w] & taken;
	d->draining[w] &= ~taken;
	d->settling[w] &= ~taken;
	if (take)
		*more = true;
	return n;
}

bool drain_set_batch_over(struct drain_set *d)
{
	if (d->batch[0] | d->batch[1] | d->batch[2] | d->batch[3] || d->done == d->issued)
		return false;
	__atomic_store_n(&d->done, d->issued, __ATOMIC_RELEASE);
	return true;
}
