/*
 * metrics.h — the comparison tables: per model, per pair of models, and across all models.
 *
 * Every function works on the whole study (idx == NULL) or on a subset given as n_idx instance
 * indices, so that the TUI's panes can follow the active filter. Rates over an empty subset are
 * NaN (undefined), not 0. Instances a journal decision removed (study_removed) leave every table,
 * and each result's n counts the instances it used. Macro averages run over the classes present in
 * the truth or the predictions of the subset, as scikit-learn's do. Results are plain structs whose
 * arrays the caller owns and releases with the matching *_free. Confusion matrices have ground
 * truth in rows and predictions in columns (scikit-learn's convention).
 */
#ifndef NNCMP_METRICS_H
#define NNCMP_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/study.h"

#define ECE_BINS  15
#define TOPK_MAX  3
#define BOOT_REPS 10000

struct class_scores {
	double precision, recall, f1;
	int64_t support;
};

struct model_metrics {
	size_t n, c;
	int64_t correct;
	double accuracy, macro_f1;
	int64_t *confusion;             /* c × c, row = truth */
	struct class_scores *per_class; /* c entries */
	bool has_probs;
	double ece; /* NaN without probabilities (or for an empty subset) */
	size_t n_topk;
	int topk_k[TOPK_MAX]; /* k = 2, 3, 5 where k < c */
	double topk[TOPK_MAX];
};

/* The four outcomes of a pair of models on instances of one ground-truth class (or all). */
struct agreement {
	int64_t both_correct, only_a, only_b, both_wrong;
};

struct pair_metrics {
	size_t a, b; /* model indices, a < b */
	size_t n;
	struct agreement all;
	struct agreement *per_class; /* c entries */
	double agreement;            /* fraction where the predictions are equal */
	double kappa;                /* Cohen's kappa of the two predictions; NaN when undefined */
	double mcnemar_p;            /* exact two-sided McNemar on only_a vs only_b */
	double acc_diff;             /* accuracy of b minus accuracy of a */
	double ci_lo, ci_hi;         /* bootstrap 95% interval of acc_diff */
	unsigned boot_reps;
};

void metrics_model(const struct study *s, size_t m, const uint32_t *idx, size_t n_idx,
                   struct model_metrics *out);
void metrics_model_free(struct model_metrics *mm);

/* seed makes the bootstrap reproducible; reps = 0 skips it (ci_lo = ci_hi = NaN). */
void metrics_pair(const struct study *s, size_t a, size_t b, const uint32_t *idx, size_t n_idx,
                  unsigned reps, uint64_t seed, struct pair_metrics *out);
void metrics_pair_free(struct pair_metrics *pm);
/*
 * The bootstrap 95% interval of acc_b − acc_a that metrics_pair computes, from the pair's
 * outcome counts over n instances (its `all` and `n`): reps replicates from seed, O(reps) and
 * independent of n. *lo = *hi = NaN when reps or n is 0.
 */
void metrics_pair_bootstrap(const struct agreement *all, size_t n, unsigned reps, uint64_t seed,
                            double *lo, double *hi);
/* Where the pair (a, b), in either order, stands among a study's pairs as `nncmp report` lists
 * them ((0,1), (0,2), ..., (1,2), ...): report seeds that pair's bootstrap with seed + this. */
size_t metrics_pair_index(size_t n_models, size_t a, size_t b);

/*
 * The spread of per-class recall across models (VAC-CNN): for every class, the lowest and the
 * highest recall among the n_models results mm (all over the same instances) and the first
 * model (lowest index) that has each. support is the class's count in the truth; lo and hi are
 * NaN when it is 0.
 */
struct class_spread {
	size_t c;
	int64_t support;
	double lo, hi;
	size_t at_lo, at_hi;
};
/*
 * Writes the n_classes spreads into out, the classes where the models diverge most first:
 * hi − lo descending, ties by class id ascending, classes without support last (by id).
 */
void metrics_class_spread(const struct model_metrics *mm, size_t n_models, size_t n_classes,
                          struct class_spread *out);

/*
 * Every table of a report, over rows idx[0..n_idx) (every row without idx), on up to threads
 * threads: each model's metrics into mm[0..n_models), the n_pairs pairs (ab[2k], ab[2k + 1])
 * into pm[k] (the bootstrap's seed is seed + the pair's metrics_pair_index; a may be b), and the
 * n_correct histogram (n_models + 1 entries). The values are metrics_model's, metrics_pair's and
 * metrics_n_correct's, bit for bit; for up to 8 models (and c · 2^models within 2^20) they come
 * from one pass over the rows instead of one per table.
 */
void metrics_study(const struct study *s, const uint32_t *idx, size_t n_idx, const size_t *ab,
                   size_t n_pairs, unsigned reps, uint64_t seed, unsigned threads,
                   struct model_metrics *mm, struct pair_metrics *pm, int64_t *n_correct);

/* hist[k] = how many instances exactly k models predict correctly; hist has n_models+1 entries. */
void metrics_n_correct(const struct study *s, const uint32_t *idx, size_t n_idx, int64_t *hist);
/* How many models predict instance i correctly. */
int metrics_correct_count(const struct study *s, size_t i);

/* Exact two-sided binomial test of k successes in n trials with p = 1/2 (McNemar's exact test). */
double metrics_binom_test(int64_t k, int64_t n);
/* Binomial(n, p) probability of exactly x, accurate for large n (Loader's saddle-point form). */
double metrics_binom_pmf(int64_t x, int64_t n, double p);
/*
 * P(X <= m) for X ~ Binomial(n, 1/2), m at most one past n/2: summed from m downward, where the
 * terms shrink, until they no longer count or are 0 (a far tail underflows at its first term),
 * so it costs about the tail's width, not m terms.
 */
double metrics_binom_lower(int64_t m, int64_t n);

#endif
