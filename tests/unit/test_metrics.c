/* test_metrics.c — statistics against SciPy's values and hand-counted tables. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/metrics.h"
#include "nncmp/rng.h"

static void assert_rel(double got, double want, double tol)
{
	if (want == 0 ? got != 0 : fabs(got / want - 1) > tol)
		fail_msg("got %.17g, want %.17g", got, want);
}

/* Values printed by scipy.stats.binomtest(k, n, 0.5).pvalue (SciPy 1.10). */
static void test_binom_test_scipy(void **state)
{
	(void)state;
	static const struct {
		int64_t k, n;
		double p;
	} cases[] = {
	    {0, 1, 1.0},
	    {3, 20, 0.0025768280029296875},
	    {7, 10, 0.34375},
	    {10, 20, 1.0},
	    {18, 40, 0.6358280026288412},
	    {0, 100, 1.5777218104420236e-30},
	    {40, 100, 0.05688793364098088},
	    {4000, 10000, 1.7404316412268293e-89},
	    {499500, 1000000, 0.31779469136333},
	    {499000, 1000000, 0.045608299865389515},
	    /* within 1e-7 of d = pmf(k), terms next to n - k join the other tail: more than twice
	     * P(X <= k) (which is 0.9997606346355469 here), and capped at 1 below */
	    {49999998, 100000000, 0.9999202115457169},
	    {49999999, 100000000, 1.0},
	    {12499999, 25000000, 1.0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		assert_rel(metrics_binom_test(cases[i].k, cases[i].n), cases[i].p, 1e-9);
	assert_rel(metrics_binom_test(0, 0), 1.0, 0);
	/* far tails underflow to 0, as SciPy's do */
	assert_true(metrics_binom_test(480000, 1000000) < 1e-300);
	/* and a tail that underflows at its first term ends there: this took 10^9 pmf calls */
	assert_true(metrics_binom_test(1000000000, 4000000000) == 0.0);
	assert_true(metrics_binom_test(3000000000, 4000000000) == 0.0);
}

/* scipy.stats.binom.pmf values. */
static void test_binom_pmf_scipy(void **state)
{
	(void)state;
	assert_rel(metrics_binom_pmf(3, 10, 0.3), 0.26682793199999977, 1e-12);
	assert_rel(metrics_binom_pmf(500000, 1000000, 0.5), 0.0007978843613317499, 1e-10);
	assert_rel(metrics_binom_pmf(0, 10, 0.5), 1.0 / 1024, 1e-15);
	assert_true(metrics_binom_pmf(11, 10, 0.5) == 0);
}

/* The sampler's mean and variance match n·p and n·p·q for both of its algorithms. */
static void test_binomial_sampler(void **state)
{
	(void)state;
	static const struct {
		int64_t n;
		double p;
	} cases[] = {{20, 0.1}, {1000, 0.3}, {1000000, 0.02}, {50, 0.9}};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		struct rng r;
		rng_seed(&r, 42 + c);
		double n = (double)cases[c].n, p = cases[c].p, sum = 0, sq = 0;
		const int reps = 200000;
		for (int t = 0; t < reps; t++) {
			double x = (double)rng_binomial(&r, cases[c].n, p);
			assert_true(x >= 0 && x <= n);
			sum += x;
			sq += x * x;
		}
		double mean = sum / reps, var = sq / reps - mean * mean;
		double sd_mean = sqrt(n * p * (1 - p) / reps);
		if (fabs(mean - n * p) > 5 * sd_mean)
			fail_msg("n=%g p=%g: mean %g, want %g", n, p, mean, n * p);
		assert_rel(var, n * p * (1 - p), 0.03);
	}
}

/*
 * 8 instances, 2 classes, three prediction-only models; tables counted by hand.
 *   labels 0 0 0 0 1 1 1 1
 *   a      0 0 1 1 1 1 0 0   right: 0 1 4 5
 *   b      0 1 0 1 1 0 1 0   right: 0 2 4 6
 *   c      0 0 0 0 0 0 0 0   right: 0 1 2 3
 */
static struct study *tiny_study(void)
{
	static const int32_t labels[8] = {0, 0, 0, 0, 1, 1, 1, 1};
	static const int32_t pa[8] = {0, 0, 1, 1, 1, 1, 0, 0}, pb[8] = {0, 1, 0, 1, 1, 0, 1, 0},
	                     pc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
	struct study *s = xcalloc(1, sizeof *s);
	s->n = 8;
	s->n_classes = 2;
	s->labels = xcalloc(8, sizeof *s->labels);
	memcpy(s->labels, labels, sizeof labels);
	s->n_models = 3;
	s->models = xcalloc(3, sizeof *s->models);
	const int32_t *preds[3] = {pa, pb, pc};
	for (int m = 0; m < 3; m++) {
		s->models[m].src = SRC_PRED;
		s->models[m].d_pred = xcalloc(8, sizeof(int32_t));
		memcpy(s->models[m].d_pred, preds[m], 8 * sizeof(int32_t));
	}
	return s;
}

static void free_tiny(struct study *s)
{
	for (int m = 0; m < 3; m++)
		free(s->models[m].d_pred);
	free(s->models);
	free(s->labels);
	free(s);
}

static void test_model_table(void **state)
{
	(void)state;
	struct study *s = tiny_study();
	struct model_metrics mm;
	metrics_model(s, 0, NULL, 0, &mm);
	/* a: confusion [[2, 2], [2, 2]] */
	assert_int_equal(mm.confusion[0], 2);
	assert_int_equal(mm.confusion[1], 2);
	assert_int_equal(mm.confusion[2], 2);
	assert_int_equal(mm.correct, 4);
	assert_rel(mm.accuracy, 0.5, 0);
	assert_false(mm.has_probs);
	assert_true(isnan(mm.ece));
	assert_int_equal(mm.n_topk, 0);
	metrics_model_free(&mm);
	/* c predicts only class 0: precision of class 1 is 0 (no predictions), recall 0, F1 0;
	 * class 0: precision 4/8, recall 1, F1 2·4/(8+4) = 2/3; macro-F1 1/3 */
	metrics_model(s, 2, NULL, 0, &mm);
	assert_rel(mm.per_class[0].precision, 0.5, 1e-15);
	assert_rel(mm.per_class[0].f1, 2.0 / 3, 1e-15);
	assert_rel(mm.per_class[1].precision, 0, 0);
	assert_rel(mm.macro_f1, 1.0 / 3, 1e-15);
	assert_int_equal(mm.per_class[1].support, 4);
	metrics_model_free(&mm);
	/* on the subset {4, 5, 6, 7} (all class 1), a is right on 4 and 5 */
	uint32_t idx[4] = {4, 5, 6, 7};
	metrics_model(s, 0, idx, 4, &mm);
	assert_int_equal(mm.n, 4);
	assert_rel(mm.accuracy, 0.5, 0);
	assert_int_equal(mm.confusion[2], 2);
	assert_int_equal(mm.confusion[3], 2);
	/* macro-F1 runs over the classes present in truth or predictions, as scikit-learn's:
	 * f1_score([1,1,1,1], [1,1,0,0], average="macro") = 0.3333333333333333 (sklearn 1.2.1),
	 * not the mean over both classes counting an absent class as 0 — here the same, but see
	 * the one-class subset below */
	assert_rel(mm.macro_f1, 1.0 / 3, 1e-15);
	metrics_model_free(&mm);
	/* subset {4, 5} (class 1 only, a right on both): only class 1 is present, so macro-F1 is
	 * 1 (f1_score([1,1], [1,1], average="macro") = 1.0); averaging over all classes gave 0.5 */
	uint32_t two[2] = {4, 5};
	metrics_model(s, 0, two, 2, &mm);
	assert_rel(mm.macro_f1, 1.0, 0);
	metrics_model_free(&mm);
	/* an empty subset: rates are undefined, not 0 */
	metrics_model(s, 0, idx, 0, &mm);
	assert_true(isnan(mm.accuracy) && isnan(mm.macro_f1));
	metrics_model_free(&mm);
	free_tiny(s);
}

static void test_pair_table(void **state)
{
	(void)state;
	struct study *s = tiny_study();
	struct pair_metrics pm;
	metrics_pair(s, 0, 1, NULL, 0, 2000, 7, &pm);
	/* a right {0,1,4,5}, b right {0,2,4,6}: both {0,4}, only a {1,5}, only b {2,6},
	 * neither {3,7}; per class 0: both 1, only a 1, only b 1, neither 1 */
	assert_int_equal(pm.all.both_correct, 2);
	assert_int_equal(pm.all.only_a, 2);
	assert_int_equal(pm.all.only_b, 2);
	assert_int_equal(pm.all.both_wrong, 2);
	assert_int_equal(pm.per_class[0].both_correct, 1);
	assert_int_equal(pm.per_class[1].only_b, 1);
	/* predictions equal at 0, 3, 4, 7 -> agreement 1/2; marginals a (4, 4), b (4, 4):
	 * expected agreement 1/2, so kappa = 1 - (1/2)/(1/2) = 0 */
	assert_rel(pm.agreement, 0.5, 0);
	assert_true(fabs(pm.kappa) < 1e-15);
	assert_rel(pm.mcnemar_p, 1.0, 0);
	assert_rel(pm.acc_diff, 0, 0);
	assert_true(pm.ci_lo <= 0 && pm.ci_hi >= 0);
	assert_true(pm.ci_lo >= -1 && pm.ci_hi <= 1);
	metrics_pair_free(&pm);
	/* a vs c: c right {0,1,2,3}: both {0,1}, only a {4,5}, only c {2,3}, neither {6,7};
	 * predictions equal where a predicts 0: {0,1,6,7} -> 1/2; marginals a (4,4), c (8,0):
	 * expected agreement (4·8 + 4·0)/64 = 1/2 -> kappa 0 */
	metrics_pair(s, 0, 2, NULL, 0, 0, 1, &pm);
	assert_int_equal(pm.all.only_a, 2);
	assert_int_equal(pm.all.only_b, 2);
	assert_true(isnan(pm.ci_lo));
	metrics_pair_free(&pm);
	int64_t hist[4];
	metrics_n_correct(s, NULL, 0, hist);
	/* right counts per instance: 0:3, 1:2, 2:2, 3:1, 4:2, 5:1, 6:1, 7:0 */
	assert_int_equal(hist[0], 1);
	assert_int_equal(hist[1], 3);
	assert_int_equal(hist[2], 3);
	assert_int_equal(hist[3], 1);
	free_tiny(s);
}

/* Same seed, same interval, and it holds the point estimate. */
static void test_bootstrap_reproducible(void **state)
{
	(void)state;
	struct study *s = tiny_study();
	struct pair_metrics p1, p2, p3;
	metrics_pair(s, 0, 2, NULL, 0, 5000, 3, &p1);
	metrics_pair(s, 0, 2, NULL, 0, 5000, 3, &p2);
	metrics_pair(s, 0, 2, NULL, 0, 5000, 4, &p3);
	assert_true(p1.ci_lo == p2.ci_lo && p1.ci_hi == p2.ci_hi);
	assert_true(p1.ci_lo <= p1.acc_diff && p1.acc_diff <= p1.ci_hi);
	metrics_pair_free(&p1);
	metrics_pair_free(&p2);
	metrics_pair_free(&p3);
	free_tiny(s);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* numpy.percentile (linear) over a sorted copy: the oracle of the bootstrap's selection. */
static double sorted_percentile(const double *v, size_t n, double q)
{
	double *c = malloc(n * sizeof *c);
	memcpy(c, v, n * sizeof *c);
	qsort(c, n, sizeof *c, cmp_dbl);
	double pos = q / 100.0 * (double)(n - 1);
	size_t lo = (size_t)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
	double r = c[lo] + (c[hi] - c[lo]) * (pos - (double)lo);
	free(c);
	return r;
}

/*
 * The interval is numpy.percentile's 2.5 and 97.5 of the replicates' differences, drawn as
 * metrics.c documents (b's "only b right" count, then a's from the rest): recomputed here with
 * the same draws and a sort, for small and large rep counts and tables with many ties (the
 * bootstrap selects the order statistics instead of sorting; a wrong selection differs).
 */
static void test_bootstrap_percentiles(void **state)
{
	(void)state;
	const unsigned reps_list[] = {1, 2, 3, 4, 5, 7, 40, 41, 399, 1000, 2001};
	const int64_t tables[][3] = {{10, 1, 1},   {100, 0, 5}, {100, 7, 0},         {1000, 30, 31},
	                             {50, 25, 25}, {3, 1, 1},   {100000, 900, 1200}, {20, 0, 0}};
	for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
		for (size_t q = 0; q < sizeof reps_list / sizeof *reps_list; q++) {
			size_t n = (size_t)tables[t][0];
			unsigned reps = reps_list[q];
			struct agreement ag = {.only_b = tables[t][1], .only_a = tables[t][2]};
			uint64_t seed = 11 + t * 100 + q;
			double lo, hi;
			metrics_pair_bootstrap(&ag, n, reps, seed, &lo, &hi);
			struct rng r;
			rng_seed(&r, seed);
			double pb = (double)ag.only_b / (double)n,
			       pa = (double)ag.only_a / (double)n;
			double *d = malloc(reps * sizeof *d);
			for (unsigned k = 0; k < reps; k++) {
				int64_t xb = rng_binomial(&r, (int64_t)n, pb);
				double rest = 1.0 - pb;
				int64_t xa = rest > 0 ? rng_binomial(&r, (int64_t)n - xb,
				                                     fmin(1.0, pa / rest))
				                      : 0;
				d[k] = (double)(xb - xa) / (double)n;
			}
			double want_lo = sorted_percentile(d, reps, 2.5);
			double want_hi = sorted_percentile(d, reps, 97.5);
			if (lo != want_lo || hi != want_hi)
				fail_msg(
				    "table %zu, %u reps: [%.17g, %.17g], sorted [%.17g, %.17g]", t,
				    reps, lo, hi, want_lo, want_hi);
			free(d);
		}
}

/* The interval from the counts alone is metrics_pair's (the TUI computes it on its worker). */
static void test_bootstrap_from_counts(void **state)
{
	(void)state;
	struct study *s = tiny_study();
	struct pair_metrics pm;
	metrics_pair(s, 0, 1, NULL, 0, 3000, 9, &pm);
	double lo, hi;
	metrics_pair_bootstrap(&pm.all, pm.n, 3000, 9, &lo, &hi);
	assert_true(lo == pm.ci_lo && hi == pm.ci_hi);
	metrics_pair_bootstrap(&pm.all, pm.n, 0, 9, &lo, &hi);
	assert_true(isnan(lo) && isnan(hi));
	metrics_pair_free(&pm);
	/* report's order of pairs: (0,1) (0,2) (0,3) (1,2) (1,3) (2,3) */
	assert_int_equal(metrics_pair_index(4, 0, 1), 0);
	assert_int_equal(metrics_pair_index(4, 0, 3), 2);
	assert_int_equal(metrics_pair_index(4, 3, 0), 2);
	assert_int_equal(metrics_pair_index(4, 1, 2), 3);
	assert_int_equal(metrics_pair_index(4, 2, 3), 5);
	free_tiny(s);
}

/* A removed instance (study_removed) leaves every table; its count leaves n. */
static void test_removed_left_out(void **state)
{
	(void)state;
	struct study *s = tiny_study();
	uint8_t status[8] = {0};
	status[1] = STATUS_REMOVED; /* a right on it, b wrong, c right */
	status[6] = STATUS_REMOVED; /* a wrong, b right, c wrong */
	s->status = status;
	struct model_metrics mm;
	metrics_model(s, 0, NULL, 0, &mm);
	/* a without rows 1 and 6: confusion [[1, 2], [1, 2]], right 3 of 6 */
	assert_int_equal(mm.n, 6);
	assert_int_equal(mm.correct, 3);
	assert_int_equal(mm.confusion[0], 1);
	assert_int_equal(mm.confusion[1], 2);
	assert_int_equal(mm.confusion[2], 1);
	assert_int_equal(mm.confusion[3], 2);
	assert_rel(mm.accuracy, 0.5, 0);
	metrics_model_free(&mm);
	uint32_t idx[3] = {4, 5, 6};
	metrics_model(s, 0, idx, 3, &mm);
	assert_int_equal(mm.n, 2);
	assert_rel(mm.accuracy, 1.0, 0);
	metrics_model_free(&mm);
	struct pair_metrics pm;
	metrics_pair(s, 0, 1, NULL, 0, 0, 1, &pm);
	/* both {0,4}, only a {5}, only b {2}, neither {3,7} */
	assert_int_equal(pm.n, 6);
	assert_int_equal(pm.all.both_correct, 2);
	assert_int_equal(pm.all.only_a, 1);
	assert_int_equal(pm.all.only_b, 1);
	assert_int_equal(pm.all.both_wrong, 2);
	metrics_pair_free(&pm);
	int64_t hist[4];
	metrics_n_correct(s, NULL, 0, hist);
	/* right counts without rows 1 and 6: 0:3, 2:2, 3:1, 4:2, 5:1, 7:0 */
	assert_int_equal(hist[0], 1);
	assert_int_equal(hist[1], 2);
	assert_int_equal(hist[2], 2);
	assert_int_equal(hist[3], 1);
	s->status = NULL;
	free_tiny(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_binom_test_scipy),
	    cmocka_unit_test(test_binom_pmf_scipy),
	    cmocka_unit_test(test_binomial_sampler),
	    cmocka_unit_test(test_model_table),
	    cmocka_unit_test(test_pair_table),
	    cmocka_unit_test(test_removed_left_out),
	    cmocka_unit_test(test_bootstrap_reproducible),
	    cmocka_unit_test(test_bootstrap_from_counts),
	    cmocka_unit_test(test_bootstrap_percentiles),
	};
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
