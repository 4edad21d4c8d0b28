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

/* ---- metrics_study against the tables one by one ---- */

/* Equal as doubles bit for bit, or both NaN. */
static void assert_same(double got, double want, const char *what)
{
	if (!(isnan(got) && isnan(want)) && memcmp(&got, &want, sizeof got) != 0)
		fail_msg("%s: metrics_study %.17g, the table alone %.17g", what, got, want);
}

/*
 * A study of n rows and c classes with models in every storage: kind 0 has 1-byte ids and float
 * confidences (the fast path), kind 1 2-byte ids and doubles, kind 2 only predictions (int32).
 * Predictions are right about 60% of the time; confidences include values below 2^-17 (summed
 * as doubles), 1, and bin edges k/15 (as float and as double).
 */
static struct study *random_study(size_t n, size_t c, size_t nm, const int *kinds, uint64_t seed)
{
	struct rng r;
	rng_seed(&r, seed);
	struct study *s = xcalloc(1, sizeof *s);
	s->n = n;
	s->n_classes = c;
	s->labels = xcalloc(n, sizeof *s->labels);
	for (size_t i = 0; i < n; i++)
		s->labels[i] = (int32_t)(rng_next(&r) % c);
	s->n_models = nm;
	s->models = xcalloc(nm, sizeof *s->models);
	for (size_t m = 0; m < nm; m++) {
		struct model *md = &s->models[m];
		int kind = kinds[m];
		md->id_size = kind == 0 ? 1 : kind == 1 ? 2 : 4;
		md->val_size = kind == 0 ? 4 : 8;
		md->src = kind == 2 ? SRC_PRED : SRC_PROBS;
		md->d_pred = xcalloc(n, md->id_size);
		if (kind != 2) {
			md->d_rank = xcalloc(n, md->id_size);
			md->d_conf = xcalloc(n, md->val_size);
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t u = rng_next(&r);
			int32_t p = u % 10 < 6 ? s->labels[i] : (int32_t)((u >> 8) % c);
			int32_t rk = p == s->labels[i] ? 0 : (int32_t)(1 + (u >> 20) % (c - 1));
			double conf = rng_uniform(&r);
			switch ((u >> 40) % 8) {
			case 0:
				conf = 1.0;
				break;
			case 1:
				conf = (double)((u >> 44) % 16) / 15.0;
				break;
			case 2:
				conf = 1e-7 * conf;
				break;
			default:
				break;
			}
			if (kind == 0) {
				((uint8_t *)md->d_pred)[i] = (uint8_t)p;
				((uint8_t *)md->d_rank)[i] = (uint8_t)rk;
				((float *)md->d_conf)[i] = (float)conf;
			} else if (kind == 1) {
				((uint16_t *)md->d_pred)[i] = (uint16_t)p;
				((uint16_t *)md->d_rank)[i] = (uint16_t)rk;
				((double *)md->d_conf)[i] = conf;
			} else {
				((int32_t *)md->d_pred)[i] = p;
			}
		}
	}
	return s;
}

static void free_random_study(struct study *s)
{
	for (size_t m = 0; m < s->n_models; m++) {
		free(s->models[m].d_pred);
		free(s->models[m].d_rank);
		free(s->models[m].d_conf);
	}
	free(s->models);
	free(s->labels);
	free(s->status);
	free(s);
}

/* Every field of metrics_study's results against metrics_model's, metrics_pair's and
 * metrics_n_correct's on the same rows. */
static void check_study(const struct study *s, const uint32_t *idx, size_t n_idx, unsigned threads)
{
	size_t nm = s->n_models, c = s->n_classes, np = 0;
	size_t *ab = xcalloc(nm * nm * 2 + 2, sizeof *ab);
	for (size_t a = 0; a < nm; a++) /* every pair, some of them the other way round */
		for (size_t b = a + 1; b < nm; b++, np++) {
			ab[2 * np] = (a + b) % 2 ? a : b;
			ab[2 * np + 1] = (a + b) % 2 ? b : a;
		}
	ab[2 * np] = ab[2 * np + 1] = nm - 1; /* and a model against itself, as the TUI may ask */
	np++;
	struct model_metrics *mm = xcalloc(nm, sizeof *mm);
	struct pair_metrics *pm = xcalloc(np + 1, sizeof *pm);
	int64_t *hist = xcalloc(nm + 1, sizeof *hist), *want_hist = xcalloc(nm + 1, sizeof *hist);
	metrics_study(s, idx, n_idx, ab, np, 200, 77, threads, mm, pm, hist);
	for (size_t m = 0; m < nm; m++) {
		struct model_metrics w;
		metrics_model(s, m, idx, n_idx, &w);
		assert_int_equal(mm[m].n, w.n);
		assert_int_equal(mm[m].c, w.c);
		assert_int_equal(mm[m].correct, w.correct);
		assert_int_equal(mm[m].has_probs, w.has_probs);
		assert_int_equal(mm[m].n_topk, w.n_topk);
		assert_memory_equal(mm[m].topk_k, w.topk_k, sizeof w.topk_k);
		for (size_t t = 0; t < w.n_topk; t++)
			assert_same(mm[m].topk[t], w.topk[t], "top-k");
		assert_same(mm[m].accuracy, w.accuracy, "accuracy");
		assert_same(mm[m].macro_f1, w.macro_f1, "macro F1");
		assert_same(mm[m].ece, w.ece, "ECE");
		assert_memory_equal(mm[m].confusion, w.confusion, c * c * sizeof *w.confusion);
		for (size_t j = 0; j < c; j++) {
			assert_int_equal(mm[m].per_class[j].support, w.per_class[j].support);
			assert_same(mm[m].per_class[j].precision, w.per_class[j].precision,
			            "precision");
			assert_same(mm[m].per_class[j].recall, w.per_class[j].recall, "recall");
			assert_same(mm[m].per_class[j].f1, w.per_class[j].f1, "F1");
		}
		metrics_model_free(&w);
		metrics_model_free(&mm[m]);
	}
	for (size_t p = 0; p < np; p++) {
		struct pair_metrics w;
		size_t a = ab[2 * p], b = ab[2 * p + 1];
		metrics_pair(s, a, b, idx, n_idx, 200, 77 + metrics_pair_index(nm, a, b), &w);
		assert_int_equal(pm[p].a, a);
		assert_int_equal(pm[p].b, b);
		assert_int_equal(pm[p].n, w.n);
		assert_memory_equal(&pm[p].all, &w.all, sizeof w.all);
		assert_memory_equal(pm[p].per_class, w.per_class, c * sizeof *w.per_class);
		assert_same(pm[p].agreement, w.agreement, "agreement");
		assert_same(pm[p].kappa, w.kappa, "kappa");
		assert_same(pm[p].mcnemar_p, w.mcnemar_p, "McNemar");
		assert_same(pm[p].acc_diff, w.acc_diff, "accuracy difference");
		assert_same(pm[p].ci_lo, w.ci_lo, "interval, low");
		assert_same(pm[p].ci_hi, w.ci_hi, "interval, high");
		assert_int_equal(pm[p].boot_reps, w.boot_reps);
		metrics_pair_free(&w);
		metrics_pair_free(&pm[p]);
	}
	metrics_n_correct(s, idx, n_idx, want_hist);
	assert_memory_equal(hist, want_hist, (nm + 1) * sizeof *hist);
	free(hist);
	free(want_hist);
	free(mm);
	free(pm);
	free(ab);
}

static void test_study_as_tables(void **state)
{
	(void)state;
	/* more rows than three blocks of METRICS_BLOCK (65536), so that threads share them */
	const size_t n = 3 * 65536 + 1234;
	static const int fast3[3] = {0, 0, 0}, mixed5[5] = {0, 1, 2, 0, 1}, fast2[2] = {0, 0},
	                 fast4[4] = {0, 0, 0, 0}, many9[9] = {0, 1, 2, 0, 1, 2, 0, 1, 2};
	struct {
		size_t c, nm;
		const int *kinds;
	} cases[] = {{7, 3, fast3},
	             {100, 2, fast2},
	             {3, 4, fast4},
	             {300, 5, mixed5},
	             {5, 9, many9} /* beyond STUDY_MAX_MODELS: a pass per table */};
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		struct study *s =
		    random_study(n, cases[k].c, cases[k].nm, cases[k].kinds, 1000 + k);
		for (unsigned t = 1; t <= 3; t++)
			check_study(s, NULL, 0, t);
		/* removed rows, then a subset that holds some of them, and an empty one */
		s->status = xcalloc(n, 1);
		for (size_t i = 0; i < n; i += 7)
			s->status[i] = STATUS_REMOVED;
		check_study(s, NULL, 0, 2);
		uint32_t *idx = xcalloc(n, sizeof *idx);
		size_t n_idx = 0;
		for (size_t i = 0; i < n; i += 1 + i % 3)
			idx[n_idx++] = (uint32_t)i;
		check_study(s, idx, n_idx, 2);
		check_study(s, idx, 0, 2);
		check_study(s, idx, 100, 1);
		free(idx);
		free_random_study(s);
	}
}

/*
 * The ECE of a fast-path model against the definition summed in long double: the confidences'
 * exact fixed-point sums (and the doubles for those below 2^-17) must not lose what plain
 * summation would keep.
 */
static void test_study_ece_exact(void **state)
{
	(void)state;
	const size_t n = 2 * 65536 + 99;
	static const int kinds[2] = {0, 1};
	struct study *s = random_study(n, 10, 2, kinds, 4242);
	for (size_t m = 0; m < 2; m++) {
		long double conf[ECE_BINS] = {0};
		int64_t cnt[ECE_BINS] = {0}, ok[ECE_BINS] = {0};
		const struct model *md = &s->models[m];
		for (size_t i = 0; i < n; i++) {
			double v = model_val_at(md->d_conf, md->val_size, i);
			int b = (int)ceil(v * ECE_BINS) - 1;
			b = b < 0 ? 0 : b >= ECE_BINS ? ECE_BINS - 1 : b;
			cnt[b]++;
			ok[b] += model_pred(md, i) == s->labels[i];
			conf[b] += v;
		}
		long double e = 0;
		for (int b = 0; b < ECE_BINS; b++)
			if (cnt[b])
				e += (long double)cnt[b] / n *
				     fabsl((long double)ok[b] / cnt[b] - conf[b] / cnt[b]);
		struct model_metrics mm[2];
		struct pair_metrics pm;
		int64_t hist[3];
		size_t ab[2] = {0, 1};
		metrics_study(s, NULL, 0, ab, 1, 0, 1, 2, mm, &pm, hist);
		assert_rel(mm[m].ece, (double)e, 1e-13);
		metrics_model_free(&mm[0]);
		metrics_model_free(&mm[1]);
		metrics_pair_free(&pm);
	}
	free_random_study(s);
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
	    cmocka_unit_test(test_study_as_tables),
	    cmocka_unit_test(test_study_ece_exact),
	    cmocka_unit_test(test_bootstrap_reproducible),
	    cmocka_unit_test(test_bootstrap_from_counts),
	    cmocka_unit_test(test_bootstrap_percentiles),
	};
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
