/*
 * test_spread.c — metrics_class_spread: per-class recall across models, by hand.
 *
 *   class  support  recall m0  m1    m2    min (model)  max (model)  spread
 *   0      10       0.5        0.9   0.5   0.5 (m0)     0.9 (m1)     0.4
 *   1      0        -          -     -     NaN          NaN          last
 *   2      4        0.25       0.25  0.75  0.25 (m0)    0.75 (m2)    0.5
 *   3      5        0.9        0.5   0.9   0.5 (m1)     0.9 (m0)     0.4  (the same doubles as
 *                                                                          class 0's: by id)
 *   4      2        1          1     1     1 (m0)       1 (m0)       0
 * Order: 2, 0, 3, 4, 1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "nncmp/metrics.h"

#define M 3
#define C 5

static void test_spread(void **state)
{
	(void)state;
	static const double recall[M][C] = {
	    {0.5, NAN, 0.25, 0.9, 1}, {0.9, NAN, 0.25, 0.5, 1}, {0.5, NAN, 0.75, 0.9, 1}};
	static const int64_t support[C] = {10, 0, 4, 5, 2};
	struct class_scores per[M][C];
	struct model_metrics mm[M];
	memset(mm, 0, sizeof mm);
	for (size_t m = 0; m < M; m++) {
		for (size_t c = 0; c < C; c++)
			per[m][c] = (struct class_scores){0, recall[m][c], 0, support[c]};
		mm[m].c = C;
		mm[m].per_class = per[m];
	}
	struct class_spread sp[C];
	metrics_class_spread(mm, M, C, sp);
	static const size_t order[C] = {2, 0, 3, 4, 1};
	static const size_t at_lo[C] = {0, 0, 1, 0, 0}, at_hi[C] = {2, 1, 0, 0, 0};
	static const double lo[C] = {0.25, 0.5, 0.5, 1, NAN}, hi[C] = {0.75, 0.9, 0.9, 1, NAN};
	for (size_t k = 0; k < C; k++) {
		assert_int_equal(sp[k].c, order[k]);
		assert_int_equal(sp[k].support, support[order[k]]);
		if (isnan(lo[k])) {
			assert_true(isnan(sp[k].lo) && isnan(sp[k].hi));
			continue;
		}
		assert_true(sp[k].lo == lo[k]);
		assert_true(sp[k].hi == hi[k]);
		assert_int_equal(sp[k].at_lo, at_lo[k]);
		assert_int_equal(sp[k].at_hi, at_hi[k]);
	}
}

/* No models: every class is without support. */
static void test_no_models(void **state)
{
	(void)state;
	struct class_spread sp[2];
	metrics_class_spread(NULL, 0, 2, sp);
	assert_int_equal(sp[0].c, 0);
	assert_int_equal(sp[1].c, 1);
	assert_true(isnan(sp[0].lo));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spread),
	    cmocka_unit_test(test_no_models),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
