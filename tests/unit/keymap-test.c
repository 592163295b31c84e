#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "kernel/lib/keymap.h"

#define CAP 64

static uint64_t keys[CAP];
static uint32_t vals[CAP];

static void basics(void **state)
{
	struct keymap m;
	keymap_init(&m, keys, vals, CAP);
	assert_int_equal(keymap_get(&m, 7), KEYMAP_NONE);
	assert_true(keymap_put(&m, 7, 70));
	assert_false(keymap_put(&m, 7, 71));    /* present already */
	assert_false(keymap_put(&m, 0, 1));     /* 0 is the empty key */
	assert_int_equal(keymap_get(&m, 7), 70);
	assert_int_equal(keymap_get(&m, 0), KEYMAP_NONE);
	assert_true(keymap_remove(&m, 7));
	assert_false(keymap_remove(&m, 7));
	assert_int_equal(keymap_get(&m, 7), KEYMAP_NONE);
	assert_int_equal(m.n, 0);
}

static void full(void **state)
{
	struct keymap m;
	keymap_init(&m, keys, vals, CAP);
	for (uint64_t k = 1; k < CAP; k++)
		assert_true(keymap_put(&m, k * 1000, (uint32_t)k));
	assert_false(keymap_put(&m, 1, 1));     /* one slot always stays empty */
	for (uint64_t k = 1; k < CAP; k++)
		assert_int_equal(keymap_get(&m, k * 1000), k);
}

/* Random inserts and removals against a plain array: every key stays findable after the
 * shifts that removals make, and nothing removed comes back. */
static void against_a_model(void **state)
{
	static uint32_t model[256];     /* key k (1..255) -> value + 1, 0 when absent */
	struct keymap m;
	keymap_init(&m, keys, vals, CAP);
	srand(12345);
	for (unsigned step = 0; step < 200000; step++) {
		uint64_t k = 1 + (unsigned)rand() % 255;
		if (rand() % 2) {
			unsigned before = m.n;
			bool ok = keymap_put(&m, k << 16 | k, step);
			assert_int_equal(ok, !model[k] && before + 1 < CAP);
			if (ok)
				model[k] = step + 1;
		} else {
			assert_int_equal(keymap_remove(&m, k << 16 | k), model[k] != 0);
			model[k] = 0;
		}
		if (step % 1000 == 0)
			for (uint64_t j = 1; j < 256; j++)
				assert_int_equal(keymap_get(&m, j << 16 | j),
						 model[j] ? model[j] - 1 : KEYMAP_NONE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(basics),
		cmocka_unit_test(full),
		cmocka_unit_test(against_a_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
