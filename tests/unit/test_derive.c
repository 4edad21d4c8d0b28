/*
 * test_derive.c — the float32 fast path of the study's derived values (derive_row_f32, vector
 * lanes) against the plain per-row definition (derive_row) on rows made to be hard: ties for
 * the maximum and for p_label, rows shorter and longer than the lanes, zeros; and the rows it
 * must refuse (NaN, infinities, negatives, sums off 1).
 */
#include "testutil.h"

#include <math.h>

#include "nncmp/derive.h"
#include "nncmp/rng.h"

/*
 * A probability row of c floats with deliberate ties (for the maximum, placed apart, and for
 * p_label when tie_label), summing to 1 within float rounding.
 */
static void make_row(struct rng *r, float *row, size_t c, int32_t label, bool tie_label)
{
	static const double pool[] = {0.0, 0.125, 0.25, 0.5, 1.0};
	double raw[100], sum = 0;
	for (size_t j = 0; j < c; j++) {
		uint64_t u = rng_next(r);
		raw[j] = u % 3 == 0 ? pool[(u >> 8) % 5] : rng_uniform(r);
	}
	if (c > 2 && rng_next(r) % 4 == 0)
		raw[c - 1] = raw[0] = raw[0] > raw[c - 1] ? raw[0] : raw[c - 1];
	if (tie_label && c > 1)
		raw[((size_t)label + 1) % c] = raw[label];
	for (size_t j = 0; j < c; j++)
		sum += raw[j];
	if (sum == 0) {
		raw[label] = 1;
		sum = 1;
	}
	for (size_t j = 0; j < c; j++)
		row[j] = (float)(raw[j] / sum);
}

typedef int (*row_f32_fn)(const float *, size_t, int32_t, int32_t *, double *, double *, double *,
                          int32_t *, float *);

/* Checks fast (derive_row_f32 or its portable path) against derive_row on hard rows; rows of
 * every tenth repetition are scaled to sum near the tolerance's edge. */
static void check_fast_path(row_f32_fn fast_fn)
{
	/* below, at and past one, two and more blocks of eight, with and without a tail */
	static const size_t sizes[] = {1,  2,  3,  4,  5,  7,  8,  9,  10, 15, 16, 17, 23, 24,
	                               25, 31, 32, 33, 40, 41, 47, 48, 49, 64, 65, 99, 100};
	struct rng r;
	rng_seed(&r, 20261123);
	float row[100];
	double d[100];
	size_t checked = 0;
	for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
		size_t c = sizes[s];
		for (int rep = 0; rep < 4000; rep++) {
			int32_t label = (int32_t)(rng_next(&r) % c);
			make_row(&r, row, c, label, rep % 5 == 0);
			if (rep % 10 == 3) { /* 1 +- (0.0099 .. 0.0101): both sides of the edge */
				double edge = 1.0 + (rep % 20 < 10 ? 1 : -1) *
				                        (0.0099 + 0.0002 * rng_uniform(&r));
				for (size_t j = 0; j < c; j++)
					row[j] = (float)(row[j] * edge);
			}
			for (size_t j = 0; j < c; j++)
				d[j] = row[j];
			int32_t p1, p2, r1, r2;
			double c1, c2, m1, m2, l1, l2;
			float s2;
			const char *why = NULL;
			int ref = derive_row(d, c, false, label, &p1, &c1, &m1, &l1, &r1, &why);
			int fast = fast_fn(row, c, label, &p2, &c2, &m2, &l2, &r2, &s2);
			if (ref != 0) {
				assert_int_equal(fast,
				                 -1); /* a row off by the sum goes the slow way */
				continue;
			}
			if (fast != 0)
				continue; /* allowed: derive_row then decides, and accepted it */
			checked++;
			if (p1 != p2 || c1 != c2 || m1 != m2 || l1 != l2 || r1 != r2)
				fail_msg(
				    "c %zu label %d: pred %d/%d conf %g/%g margin %g/%g p_label "
				    "%g/%g rank %d/%d",
				    c, label, p1, p2, c1, c2, m1, m2, l1, l2, r1, r2);
			/* the runner-up, which a float model stores: the largest value but one copy
			 * of the first maximum, and the margin is its difference in double */
			double second = 0;
			for (size_t j = 0; j < c; j++)
				if (j != (size_t)p1 && d[j] > second)
					second = d[j];
			if ((double)s2 != second || (c > 1 && (double)c2 - (double)s2 != m1))
				fail_msg("c %zu label %d: runner-up %g, want %g (margin %g)", c,
				         label, (double)s2, second, m1);
		}
	}
	assert_true(checked > 60000); /* nearly every row took the fast path */
}

static void test_fast_path_equals_definition(void **state)
{
	(void)state;
	check_fast_path(derive_row_f32); /* AVX2 where the CPU has it */
	check_fast_path(derive_row_f32_portable);
}

static void check_refuses(row_f32_fn fn)
{
	float row[12] = {0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.05f, 0.05f, 0.0f};
	int32_t p, rk;
	double cf, m, pl;
	float sc;
	assert_int_equal(fn(row, 12, 3, &p, &cf, &m, &pl, &rk, &sc), 0);
	const float bad[] = {NAN, INFINITY, -0.25f, 0.5f};
	for (size_t b = 0; b < sizeof bad / sizeof *bad; b++)
		for (size_t at = 0; at < 12; at += 5) { /* in a full lane and in the tail */
			float saved = row[at];
			row[at] = bad[b];
			assert_int_equal(fn(row, 12, 3, &p, &cf, &m, &pl, &rk, &sc), -1);
			row[at] = saved;
		}
}

static void test_refuses(void **state)
{
	(void)state;
	check_refuses(derive_row_f32);
	check_refuses(derive_row_f32_portable);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fast_path_equals_definition),
	    cmocka_unit_test(test_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
