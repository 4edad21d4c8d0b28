/*
 * test_saliency.c — saliency.h's normalisation, L1 and SSIM against the NumPy reference
 * (tests/saliency/saliency_ref.py, itself checked against scikit-image's structural_similarity);
 * the cases and expected values are in saliency_oracle.h, written by that script.
 */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>

#include "nncmp/saliency.h"
#include "saliency_oracle.h"

static void test_normalise(void **state)
{
	(void)state;
	const double m[4] = {0.5, 2, 1, 0};
	double out[4];
	saliency_normalise(m, 4, out);
	assert_float_equal(out[0], 0.25, 0);
	assert_float_equal(out[1], 1, 0);
	assert_float_equal(out[2], 0.5, 0);
	assert_float_equal(out[3], 0, 0);
	/* a map whose maximum is 0 stays 0; a negative maximum gives 0 too, not a flipped map */
	const double z[3] = {0, 0, 0}, neg[3] = {-1, -2, -0.5};
	saliency_normalise(z, 3, out);
	for (int k = 0; k < 3; k++)
		assert_float_equal(out[k], 0, 0);
	saliency_normalise(neg, 3, out);
	for (int k = 0; k < 3; k++)
		assert_float_equal(out[k], 0, 0);
	/* in place */
	double inplace[2] = {3, 6};
	saliency_normalise(inplace, 2, inplace);
	assert_float_equal(inplace[0], 0.5, 0);
	assert_float_equal(inplace[1], 1, 0);
}

static void test_against_numpy(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof sal_cases / sizeof *sal_cases; c++) {
		const struct sal_case *k = &sal_cases[c];
		size_t n = k->h * k->w;
		double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
		assert_non_null(a);
		assert_non_null(b);
		saliency_normalise(k->a, n, a);
		saliency_normalise(k->b, n, b);
		double l1 = saliency_l1(a, b, n), ssim = saliency_ssim(a, b, k->h, k->w);
		if (fabs(l1 - k->l1) > 1e-12)
			fail_msg("%s: l1 %.17g, NumPy %.17g", k->name, l1, k->l1);
		if (isnan(k->ssim)) {
			if (!isnan(ssim))
				fail_msg("%s: ssim %.17g, want NaN (smaller than 7x7)", k->name,
				         ssim);
		} else if (fabs(ssim - k->ssim) > 1e-12) {
			fail_msg("%s: ssim %.17g, NumPy %.17g", k->name, ssim, k->ssim);
		}
		free(a);
		free(b);
	}
}

/* SSIM of a map with itself is 1 and is symmetric; L1 of a map with itself is 0. */
static void test_identities(void **state)
{
	(void)state;
	const struct sal_case *k = &sal_cases[0];
	size_t n = k->h * k->w;
	assert_float_equal(saliency_ssim(k->a, k->a, k->h, k->w), 1, 1e-12);
	assert_float_equal(saliency_l1(k->a, k->a, n), 0, 0);
	assert_float_equal(saliency_ssim(k->a, k->b, k->h, k->w),
	                   saliency_ssim(k->b, k->a, k->h, k->w), 1e-15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalise),
	    cmocka_unit_test(test_against_numpy),
	    cmocka_unit_test(test_identities),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
