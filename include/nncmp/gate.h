/*
 * gate.h — is a new model significantly worse than a base model on the same instances?
 *
 * accuracy: McNemar's exact test, one-sided. Of the n discordant instances (one model right, the
 * other wrong), only_base are right for base alone; under H0 (equally accurate) only_base ~
 * Binomial(n, 1/2), and p = P(X >= only_base), the chance of base winning at least that many.
 * macro_f1: a paired bootstrap of macro-F1(new) − macro-F1(base) (metrics.h's macro average over
 * the classes present in the truth or that model's predictions): each replicate resamples the
 * instances with replacement, both models on the same draw; p = the fraction of replicates whose
 * difference is >= 0, upper = their 100·(1 − alpha) percentile (numpy.percentile's linear rule).
 * Either way, new is worse when its value is below base's and p < alpha. Instances a journal
 * decision removed are left out.
 */
#ifndef NNCMP_GATE_H
#define NNCMP_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/study.h"

enum gate_metric { GATE_ACCURACY, GATE_MACRO_F1 };

#define GATE_BOOT_REPS 10000

struct gate_result {
	enum gate_metric metric;
	double alpha;
	size_t n;                     /* instances compared */
	double base_value, new_value; /* accuracy or macro-F1 */
	double diff;                  /* new − base */
	int64_t only_base, only_new;  /* discordant counts (both metrics) */
	double p;                     /* one-sided p-value as above */
	double upper;                 /* macro_f1: the bootstrap bound; NaN for accuracy */
	unsigned reps;                /* macro_f1: bootstrap replicates */
	uint64_t seed;
	bool worse;
};

/*
 * Compares model nb (new) with model na (base). reps and seed drive the macro-F1 bootstrap
 * (the same seed gives the same p and bound); O(n log n + reps · cells), cells the distinct
 * (truth, base, new) triples, at most n.
 */
void gate_compare(const struct study *s, size_t na, size_t nb, enum gate_metric metric,
                  double alpha, unsigned reps, uint64_t seed, struct gate_result *out);

/* One-sided exact binomial tail P(X >= k), X ~ Binomial(n, 1/2); 1 when k <= 0. */
double gate_binom_upper(int64_t k, int64_t n);

#endif
