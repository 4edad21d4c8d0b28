/*
 * test_keysort.c — the radix sort against qsort with an explicit comparator (the order the
 * rankings and column sorts promise): by key, highest or lowest first, NaN last, -0.0 equal to
 * 0.0, equal keys in their input order. Sizes on both sides of the insertion-sort cut-off.
 */
#include "testutil.h"

#include <math.h>

#include "nncmp/keysort.h"
#include "nncmp/rng.h"
#include "nncmp/util.h"

struct item {
	double key;
	uint32_t idx;
	size_t pos; /* input position: the stable tie-break */
};

static bool desc_order;

static int cmp_item(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	bool an = isnan(a->key), bn = isnan(b->key);
	if (an != bn)
		return an ? 1 : -1;
	if (!an && a->key != b->key)
		return (a->key > b->key) == desc_order ? -1 : 1;
	return (a->pos > b->pos) - (a->pos < b->pos);
}

/* A key from a small pool, so that ties, zeros of both signs, infinities and NaN all occur. */
static double pool_key(struct rng *r)
{
	static const double pool[] = {0.0,     -0.0,  1.0,  -1.0, 0.5,  1e-300,
	                              -1e-300, 1e300, 0.25, 2.0,  -3.5, 1.0 / 3.0};
	uint64_t u = rng_next(r);
	switch (u % 8) {
	case 0:
		return NAN;
	case 1:
		return u % 16 < 8 ? INFINITY : -INFINITY;
	case 2:
	case 3:
		return pool[(u >> 8) % (sizeof pool / sizeof *pool)];
	default:
		return rng_uniform(r) * 2 - 0.7;
	}
}

static void check_size(size_t n, bool desc, uint64_t seed)
{
	struct rng r;
	rng_seed(&r, seed);
	uint32_t *idx = xmalloc((n ? n : 1) * sizeof *idx);
	double *keys = xmalloc((n ? n : 1) * sizeof *keys);
	struct item *want = xmalloc((n ? n : 1) * sizeof *want);
	for (size_t k = 0; k < n; k++) {
		idx[k] = (uint32_t)(rng_next(&r) % 1000000);
		keys[k] = pool_key(&r);
		want[k] = (struct item){keys[k], idx[k], k};
	}
	desc_order = desc;
	qsort(want, n, sizeof *want, cmp_item);
	keysort(idx, keys, n, desc);
	for (size_t k = 0; k < n; k++) {
		if (idx[k] != want[k].idx)
			fail_msg("n %zu %s: position %zu holds %u, want %u (key %g)", n,
			         desc ? "desc" : "asc", k, idx[k], want[k].idx, want[k].key);
		if (isnan(want[k].key))
			assert_true(isnan(keys[k]));
		else
			assert_true(keys[k] == want[k].key); /* -0.0 may come back as 0.0 */
	}
	free(idx);
	free(keys);
	free(want);
}

static void test_matches_qsort(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 2, 3, 17, 64, 65, 100, 1000, 4096, 100003};
	for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
		check_size(sizes[s], true, 1000 + s);
		check_size(sizes[s], false, 2000 + s);
	}
}

/* Keys that agree on their high bits (scores in [0, 1]) skip digits; the order must not care. */
static void test_narrow_keys(void **state)
{
	(void)state;
	size_t n = 50000;
	uint32_t *idx = xmalloc(n * sizeof *idx);
	double *keys = xmalloc(n * sizeof *keys);
	for (size_t k = 0; k < n; k++) {
		idx[k] = (uint32_t)k;
		keys[k] =
		    (double)((k * 7919) % 1000) / 1000.0; /* 1000 distinct values, many ties */
	}
	keysort(idx, keys, n, true);
	for (size_t k = 1; k < n; k++) {
		assert_true(keys[k - 1] >= keys[k]);
		if (keys[k - 1] == keys[k])
			assert_true(idx[k - 1] < idx[k]); /* input order was index order */
	}
	free(idx);
	free(keys);
}

static void test_index(void **state)
{
	(void)state;
	size_t n = 70000;
	uint32_t *idx = xmalloc(n * sizeof *idx);
	for (size_t k = 0; k < n; k++)
		idx[k] = (uint32_t)((k * 40503u) % 4000000u);
	keysort_index(idx, n);
	for (size_t k = 1; k < n; k++)
		assert_true(idx[k - 1] <= idx[k]);
	uint32_t few[] = {9, 3, 3, 0, UINT32_MAX, 7};
	keysort_index(few, 6);
	uint32_t want[] = {0, 3, 3, 7, 9, UINT32_MAX};
	assert_memory_equal(few, want, sizeof want);
	free(idx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_matches_qsort),
	    cmocka_unit_test(test_narrow_keys),
	    cmocka_unit_test(test_index),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
