/* metrics.c — per-model scores, pair agreement tables, kappa, McNemar, bootstrap interval, and
 * all of them at once for a report (metrics_study). */
#include "nncmp/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/rng.h"

/* idx == NULL means every instance. */
static inline size_t at(const uint32_t *idx, size_t k)
{
	return idx ? idx[k] : k;
}

static double safe_div(double a, double b)
{
	return b > 0 ? a / b : 0.0;
}

/*
 * The calibration bins' sums of confidences are summed per block of this many rows (positions
 * in idx), and the blocks' sums added in block order: metrics_study's threads, which take
 * blocks, then give the same doubles as metrics_model's one pass.
 */
#define METRICS_BLOCK 65536

/*
 * A block's sum of the confidences in one calibration bin. Float confidences of at least 2^-17
 * (every confidence of a valid row of up to 2^17 classes) are whole multiples of 2^-40, so they
 * are summed exactly as integers in those units (65536 of them stay below 2^57), without the
 * chain of floating-point additions through memory that was the pass's bottleneck; doubles and
 * smaller floats are summed as doubles.
 */
struct conf_sum {
	int64_t fixed;
	double rest;
};

static inline void conf_sum_add(struct conf_sum *cs, double conf, bool f32)
{
	if (f32 && conf >= 0x1p-17)
		cs->fixed += (int64_t)(conf * 0x1p40);
	else
		cs->rest += conf;
}

/* Adds a block's sums of confidences to the totals. */
static inline void conf_block_add(double *total, const struct conf_sum *part)
{
	for (int b = 0; b < ECE_BINS; b++)
		total[b] += (double)part[b].fixed * 0x1p-40 + part[b].rest;
}

/* The calibration bin of a confidence: ceil(conf · ECE_BINS) − 1 within [0, ECE_BINS), without a
 * libm call. */
static inline int ece_bin(double conf)
{
	double x = conf * ECE_BINS;
	long t = (long)x;                 /* truncated toward zero, */
	long b = t + (x > (double)t) - 1; /* so this is ceil(x) − 1 exactly */
	return b < 0 ? 0 : b >= ECE_BINS ? ECE_BINS - 1 : (int)b;
}

/* What metrics_model() counts in its one pass over the rows. */
struct model_pass {
	const uint8_t *status;
	int64_t *confusion;
	size_t c, used;
	int64_t correct, topk_hits[TOPK_MAX], bin_n[ECE_BINS], bin_correct[ECE_BINS];
	double bin_conf[ECE_BINS];
};

/*
 * The pass over rows idx[0..n) (every row without idx): confusion counts, and with probs the top-k
 * hits (a k not in use is 0) and the calibration bins. Inlined with constant id_size and val_size,
 * so that each copy reads its arrays directly: locals instead of struct fields, no libm call per
 * row.
 */
static inline __attribute__((always_inline)) void
model_pass(struct model_pass *ps, const struct study *s, const struct model *m, const uint32_t *idx,
           size_t n, bool probs, uint8_t id_size, uint8_t val_size, int32_t k0, int32_t k1,
           int32_t k2)
{
	const int32_t *labels = s->labels;
	const uint8_t *status = ps->status;
	int64_t correct = 0, *confusion = ps->confusion, h0 = 0, h1 = 0, h2 = 0;
	size_t used = 0, c = ps->c;
	for (size_t b0 = 0; b0 < n; b0 += METRICS_BLOCK) {
		size_t b1 = n - b0 < METRICS_BLOCK ? n : b0 + METRICS_BLOCK;
		struct conf_sum part[ECE_BINS] = {{0}};
		for (size_t k = b0; k < b1; k++) {
			size_t i = at(idx, k);
			if (status && status[i] == STATUS_REMOVED) /* study_removed(), read once */
				continue;
			used++;
			int32_t y = labels[i], p = model_id_at(m->d_pred, id_size, i);
			confusion[(size_t)y * c + (size_t)p]++;
			bool ok = y == p;
			correct += ok;
			if (!probs)
				continue;
			int32_t rk = model_id_at(m->d_rank, id_size, i);
			h0 += rk < k0;
			h1 += rk < k1;
			h2 += rk < k2;
			double conf = model_val_at(m->d_conf, val_size, i);
			int b = ece_bin(conf);
			ps->bin_n[b]++;
			ps->bin_correct[b] += ok;
			conf_sum_add(&part[b], conf, val_size == 4);
		}
		conf_block_add(ps->bin_conf, part);
	}
	ps->correct = correct;
	ps->used = used;
	ps->topk_hits[0] = h0;
	ps->topk_hits[1] = h1;
	ps->topk_hits[2] = h2;
}

/* Sets out up for model m over n rows of a study of c classes: its arrays, its k of top-k. */
static void model_begin(struct model_metrics *out, const struct model *m, size_t n, size_t c)
{
	memset(out, 0, sizeof *out);
	out->n = n;
	out->c = c;
	out->confusion = xcalloc(c * c, sizeof *out->confusion);
	out->per_class = xcalloc(c, sizeof *out->per_class);
	out->has_probs = model_has_probs(m);
	static const int ks[TOPK_MAX] = {2, 3, 5};
	for (int t = 0; t < TOPK_MAX; t++)
		if ((size_t)ks[t] < c && out->has_probs)
			out->topk_k[out->n_topk++] = ks[t];
}

/* The k of top-k in use, 0 for the others (no rank is below 0). */
static int32_t topk_k(const struct model_metrics *out, size_t t)
{
	return t < out->n_topk ? out->topk_k[t] : 0;
}

/* The scores from the counts of a pass (ps; its confusion is out's): rates, ECE, per class. */
static void model_finish(struct model_metrics *out, const struct model_pass *ps)
{
	size_t c = out->c, n = ps->used; /* removed instances left the metrics */
	out->correct = ps->correct;
	out->n = n;
	/* an empty subset has no accuracy (NaN), not an accuracy of 0 */
	out->accuracy = n ? (double)out->correct / (double)n : NAN;
	out->ece = NAN;
	if (out->has_probs && n) {
		double e = 0;
		for (int b = 0; b < ECE_BINS; b++)
			if (ps->bin_n[b]) {
				double bn = (double)ps->bin_n[b];
				e += bn / (double)n *
				     fabs((double)ps->bin_correct[b] / bn - ps->bin_conf[b] / bn);
			}
		out->ece = e;
	}
	for (size_t t = 0; t < out->n_topk; t++)
		out->topk[t] = n ? (double)ps->topk_hits[t] / (double)n : NAN;

	double f1_sum = 0;
	size_t present = 0;
	for (size_t j = 0; j < c; j++) {
		int64_t tp = out->confusion[j * c + j], support = 0, predicted = 0;
		for (size_t k = 0; k < c; k++) {
			support += out->confusion[j * c + k];
			predicted += out->confusion[k * c + j];
		}
		struct class_scores *cs = &out->per_class[j];
		cs->support = support;
		cs->precision = safe_div((double)tp, (double)predicted);
		cs->recall = safe_div((double)tp, (double)support);
		/* scikit-learn: F = 2·tp / (2·tp + fp + fn), 0 when the denominator is 0 */
		cs->f1 = safe_div(2.0 * (double)tp, (double)(predicted + support));
		/* scikit-learn's macro average runs over the classes present in the truth or the
		 * predictions: on a subset of one class, absent classes must not count as F1 = 0 */
		if (support + predicted > 0) {
			f1_sum += cs->f1;
			present++;
		}
	}
	out->macro_f1 = present ? f1_sum / (double)present : NAN;
}

void metrics_model(const struct study *s, size_t mi, const uint32_t *idx, size_t n_idx,
                   struct model_metrics *out)
{
	const struct model *m = &s->models[mi];
	size_t n = idx ? n_idx : s->n, c = s->n_classes;
	model_begin(out, m, n, c);
	struct model_pass ps = {.status = s->status, .confusion = out->confusion, .c = c};
	const int32_t k0 = topk_k(out, 0), k1 = topk_k(out, 1), k2 = topk_k(out, 2);
	/* one copy of the loop per storage of the model's arrays (study.h), each with its reads
	 * inlined: the hot loop of the TUI's tables on a selection */
	if (!out->has_probs)
		model_pass(&ps, s, m, idx, n, false, m->id_size, 8, k0, k1, k2);
	else if (m->id_size == 1 && m->val_size == 4)
		model_pass(&ps, s, m, idx, n, true, 1, 4, k0, k1, k2);
	else if (m->id_size == 1)
		model_pass(&ps, s, m, idx, n, true, 1, 8, k0, k1, k2);
	else if (m->id_size == 2 && m->val_size == 4)
		model_pass(&ps, s, m, idx, n, true, 2, 4, k0, k1, k2);
	else
		model_pass(&ps, s, m, idx, n, true, m->id_size, m->val_size, k0, k1, k2);
	model_finish(out, &ps);
}

void metrics_model_free(struct model_metrics *mm)
{
	free(mm->confusion);
	free(mm->per_class);
	memset(mm, 0, sizeof *mm);
}

int metrics_correct_count(const struct study *s, size_t i)
{
	int k = 0;
	for (size_t m = 0; m < s->n_models; m++)
		k += model_pred(&s->models[m], i) == s->labels[i];
	return k;
}

void metrics_n_correct(const struct study *s, const uint32_t *idx, size_t n_idx, int64_t *hist)
{
	size_t n = idx ? n_idx : s->n, nm = s->n_models;
	memset(hist, 0, (nm + 1) * sizeof *hist);
	const int32_t *labels = s->labels;
	const uint8_t *status = s->status;
	const struct model *md = s->models;
	bool bytes = nm == 3 && md[0].id_size == 1 && md[1].id_size == 1 && md[2].id_size == 1;
	const uint8_t *p0 = bytes ? md[0].d_pred : NULL, *p1 = bytes ? md[1].d_pred : NULL,
	              *p2 = bytes ? md[2].d_pred : NULL;
	for (size_t k = 0; k < n; k++) {
		size_t i = at(idx, k);
		if (status && status[i] == STATUS_REMOVED)
			continue;
		int32_t y = labels[i];
		if (bytes) /* the common case, unrolled and read directly: metrics_correct_count()
		            */
			hist[(p0[i] == y) + (p1[i] == y) + (p2[i] == y)]++;
		else if (nm == 3)
			hist[(model_pred(&md[0], i) == y) + (model_pred(&md[1], i) == y) +
			     (model_pred(&md[2], i) == y)]++;
		else
			hist[metrics_correct_count(s, i)]++;
	}
}

/* Loader's Stirling error ln(n!) − ln(√(2πn)(n/e)^n). */
static double stirlerr(double n)
{
	const double S0 = 1.0 / 12, S1 = 1.0 / 360, S2 = 1.0 / 1260, S3 = 1.0 / 1680,
	             S4 = 1.0 / 1188;
	if (n <= 15.0)
		return lgamma(n + 1.0) - (n + 0.5) * log(n) + n - 0.5 * log(2 * M_PI);
	double nn = n * n;
	if (n > 500)
		return (S0 - S1 / nn) / n;
	if (n > 80)
		return (S0 - (S1 - S2 / nn) / nn) / n;
	if (n > 35)
		return (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n;
	return (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n;
}

/* Loader's deviance term x·ln(x/np) + np − x, without cancellation when x ≈ np. */
static double bd0(double x, double np)
{
	if (fabs(x - np) < 0.1 * (x + np)) {
		double v = (x - np) / (x + np), s = (x - np) * v, ej = 2 * x * v;
		v *= v;
		for (int j = 1; j < 1000; j++) {
			ej *= v;
			double s1 = s + ej / (2 * j + 1);
			if (s1 == s)
				return s1;
			s = s1;
		}
		return s;
	}
	return x * log(x / np) + np - x;
}

double metrics_binom_pmf(int64_t x, int64_t n, double p)
{
	if (x < 0 || x > n)
		return 0.0;
	double q = 1.0 - p;
	if (x == 0)
		return exp((double)n * log(q));
	if (x == n)
		return exp((double)n * log(p));
	double dx = (double)x, dn = (double)n;
	double lc = stirlerr(dn) - stirlerr(dx) - stirlerr(dn - dx) - bd0(dx, dn * p) -
	            bd0(dn - dx, dn * q);
	double lf = log(2 * M_PI) + log(dx) + log1p(-dx / dn);
	return exp(lc - 0.5 * lf);
}

double metrics_binom_lower(int64_t m, int64_t n)
{
	/* t <= (not <) sum·1e-17: an underflowed tail would otherwise take every term down to 0 */
	double sum = 0;
	for (int64_t j = m; j >= 0; j--) {
		double t = metrics_binom_pmf(j, n, 0.5);
		sum += t;
		if (t <= sum * 1e-17)
			break;
	}
	return sum;
}

double metrics_binom_test(int64_t k, int64_t n)
{
	if (n <= 0)
		return 1.0;
	int64_t m = k < n - k ? k : n - k;
	if (2 * m == n)
		return 1.0;
	/*
	 * scipy.stats.binomtest's two-sided rule: the other tail holds every term above the mode
	 * no larger than d = pmf(m) times 1 + 1e-7, found by scipy's binary search for the last
	 * x >= n/2 with pmf(x) >= d·(1 + 1e-7). Mostly that tail is the mirror of P(X <= m), but
	 * for n in the tens of millions the tolerance takes in terms next to n - m as well.
	 */
	double d = metrics_binom_pmf(m, n, 0.5), dr = d * (1 + 1e-7);
	int64_t lo = n - n / 2, hi = n, ix = -1; /* lo = ceil(n/2) */
	while (lo < hi && ix < 0) {
		int64_t mid = lo + (hi - lo) / 2;
		double v = metrics_binom_pmf(mid, n, 0.5);
		if (v > dr)
			lo = mid + 1;
		else if (v < dr)
			hi = mid - 1;
		else
			ix = mid;
	}
	if (ix < 0)
		ix = metrics_binom_pmf(lo, n, 0.5) >= dr ? lo : lo - 1;
	int64_t y = n - ix + (metrics_binom_pmf(ix, n, 0.5) == dr);
	/* P(X > n - y) is P(X <= y - 1) by symmetry */
	double lower = metrics_binom_lower(m, n);
	double p = lower + (y - 1 == m ? lower : metrics_binom_lower(y - 1, n));
	return p > 1.0 ? 1.0 : p;
}

/* Moves the k-th smallest of v[0..n) (finite values) to v[k], the smaller ones before it and
 * the others after it (Hoare's selection, the median of three as the pivot). */
static void select_kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		double a = v[lo], b = v[mid], c = v[hi];
		double pivot = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
		size_t i = lo, j = hi;
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				double t = v[i];
				v[i] = v[j];
				v[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		/* now v[lo..j] <= pivot <= v[i..hi], and what lies between equals the pivot */
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return;
	}
}

/*
 * numpy.percentile's default (linear) interpolation, by selection instead of a sort: the same
 * two order statistics, so the same value. Reorders v.
 */
static double percentile(double *v, size_t n, double q)
{
	double pos = q / 100.0 * (double)(n - 1);
	size_t lo = (size_t)floor(pos);
	size_t hi = lo + 1 < n ? lo + 1 : lo;
	double f = pos - (double)lo;
	select_kth(v, n, lo);
	double a = v[lo], b = a;
	if (hi != lo) { /* the next order statistic: the least of those after v[lo] */
		b = v[hi];
		for (size_t t = hi + 1; t < n; t++)
			b = v[t] < b ? v[t] : b;
	}
	return a + (b - a) * f;
}

/*
 * Bootstrap of acc_b − acc_a. Resampling n instances with replacement only matters through how
 * many of the draws fall in "only b right" and "only a right", so each replicate draws those two
 * counts from their multinomial: exactly the instance bootstrap's distribution, in O(reps).
 */
void metrics_pair_bootstrap(const struct agreement *ag, size_t n, unsigned reps, uint64_t seed,
                            double *lo, double *hi)
{
	if (!reps || !n) {
		*lo = *hi = NAN;
		return;
	}
	struct rng r;
	rng_seed(&r, seed);
	double pb = (double)ag->only_b / (double)n, pa = (double)ag->only_a / (double)n;
	double *d = xcalloc(reps, sizeof *d);
	for (unsigned t = 0; t < reps; t++) {
		int64_t xb = rng_binomial(&r, (int64_t)n, pb);
		double rest = 1.0 - pb;
		int64_t xa = rest > 0 ? rng_binomial(&r, (int64_t)n - xb, fmin(1.0, pa / rest)) : 0;
		d[t] = (double)(xb - xa) / (double)n;
	}
	*lo = percentile(d, reps, 2.5);
	*hi = percentile(d, reps, 97.5);
	free(d);
}

/* What metrics_pair() counts in its pass over the rows. */
struct pair_pass {
	int64_t (*cnt)[4], *marg_a, *marg_b, agree;
	size_t used;
};

/*
 * The pass over rows idx[0..n) (every row without idx) of the predictions pa and pb (sa and sb
 * bytes each, study.h): the four outcomes per true class, the agreement and the marginals.
 * Inlined with constant sizes, like model_pass(), and with the arrays in locals: the counts'
 * stores cannot then make the compiler read the models' fields again on every row.
 */
static inline __attribute__((always_inline)) void pair_pass(struct pair_pass *pp,
                                                            const struct study *s, const void *pa,
                                                            const void *pb, const uint32_t *idx,
                                                            size_t n, uint8_t sa, uint8_t sb)
{
	const int32_t *labels = s->labels;
	const uint8_t *status = s->status;
	int64_t(*cnt)[4] = pp->cnt, *marg_a = pp->marg_a, *marg_b = pp->marg_b, agree = 0;
	size_t used = 0;
	for (size_t k = 0; k < n; k++) {
		size_t i = at(idx, k);
		if (status &&
		    status[i] == STATUS_REMOVED) /* study_removed(), s->status read once */
			continue;
		used++;
		int32_t y = labels[i], ya = model_id_at(pa, sa, i), yb = model_id_at(pb, sb, i);
		cnt[y][(ya != y) * 2 + (yb != y)]++;
		agree += ya == yb;
		marg_a[ya]++;
		marg_b[yb]++;
	}
	pp->agree = agree;
	pp->used = used;
}

/*
 * The pair's results from its counts over n rows: cnt[y][(a wrong)·2 + (b wrong)] per true class
 * y, the marginals of the two predictions and how often they agree; then the bootstrap.
 */
static void pair_finish(struct pair_metrics *out, size_t c, const int64_t (*cnt)[4],
                        const int64_t *marg_a, const int64_t *marg_b, int64_t agree, size_t n,
                        unsigned reps, uint64_t seed)
{
	for (size_t j = 0; j < c; j++) {
		struct agreement *g = &out->per_class[j];
		g->both_correct = cnt[j][0];
		g->only_a = cnt[j][1];
		g->only_b = cnt[j][2];
		g->both_wrong = cnt[j][3];
		out->all.both_correct += g->both_correct;
		out->all.only_a += g->only_a;
		out->all.only_b += g->only_b;
		out->all.both_wrong += g->both_wrong;
	}
	out->n = n; /* removed instances left the metrics */
	double dn = (double)n;
	out->agreement = n ? (double)agree / dn : NAN;
	/* kappa = 1 − observed disagreement / disagreement expected from the marginals */
	double expected_agree = 0;
	for (size_t j = 0; j < c; j++)
		expected_agree += (double)marg_a[j] * (double)marg_b[j];
	double exp_dis = n ? dn - expected_agree / dn : 0.0;
	out->kappa = exp_dis > 0 ? 1.0 - (dn - (double)agree) / exp_dis : NAN;
	out->mcnemar_p = metrics_binom_test(out->all.only_a < out->all.only_b ? out->all.only_a
	                                                                      : out->all.only_b,
	                                    out->all.only_a + out->all.only_b);
	out->acc_diff = n ? (double)(out->all.only_b - out->all.only_a) / dn : NAN;
	out->boot_reps = reps;
	metrics_pair_bootstrap(&out->all, n, reps, seed, &out->ci_lo, &out->ci_hi);
}

static void pair_begin(struct pair_metrics *out, size_t a, size_t b, size_t n, size_t c)
{
	memset(out, 0, sizeof *out);
	out->a = a;
	out->b = b;
	out->n = n;
	out->per_class = xcalloc(c, sizeof *out->per_class);
}

void metrics_pair(const struct study *s, size_t a, size_t b, const uint32_t *idx, size_t n_idx,
                  unsigned reps, uint64_t seed, struct pair_metrics *out)
{
	size_t n = idx ? n_idx : s->n, c = s->n_classes;
	const struct model *ma = &s->models[a], *mb = &s->models[b];
	pair_begin(out, a, b, n, c);
	int64_t *marg_a = xcalloc(c, sizeof *marg_a), *marg_b = xcalloc(c, sizeof *marg_b);
	/* counts per true class of the four outcomes, indexed by (a wrong)·2 + (b wrong): no branch
	 * on how the models did (they are right at random as far as the predictor can tell) */
	int64_t(*cnt)[4] = xcalloc(c ? c : 1, sizeof *cnt);
	struct pair_pass pp = {.cnt = cnt, .marg_a = marg_a, .marg_b = marg_b};
	if (ma->id_size == 1 && mb->id_size == 1) /* one copy per storage, its reads inlined */
		pair_pass(&pp, s, ma->d_pred, mb->d_pred, idx, n, 1, 1);
	else
		pair_pass(&pp, s, ma->d_pred, mb->d_pred, idx, n, ma->id_size, mb->id_size);
	pair_finish(out, c, (const int64_t(*)[4])cnt, marg_a, marg_b, pp.agree, pp.used, reps,
	            seed);
	free(cnt);
	free(marg_a);
	free(marg_b);
}

size_t metrics_pair_index(size_t n_models, size_t a, size_t b)
{
	size_t lo = a < b ? a : b, hi = a < b ? b : a, k = 0;
	for (size_t m = 0; m < lo; m++)
		k += n_models - 1 - m;
	return k + (hi - lo - 1);
}

void metrics_pair_free(struct pair_metrics *pm)
{
	free(pm->per_class);
	memset(pm, 0, sizeof *pm);
}

/* ---- metrics_study: every table of a report from one pass over the rows ---- */

/* The outcome counts have 2^models cells per true class: up to this many models, and at most
 * STUDY_MAX_CELLS cells; beyond, each table takes its own pass. */
#define STUDY_MAX_MODELS 8
#define STUDY_MAX_CELLS  (1u << 20)
#define STUDY_MAX_PAIRS  (STUDY_MAX_MODELS * (STUDY_MAX_MODELS - 1) / 2)
#define STUDY_THREADS    8
/* The threads past the first count into confusion matrices of their own: at most this much. */
#define STUDY_EXTRA_BYTES ((size_t)64 << 20)

/*
 * One thread's counts: per model those of model_pass (its confusion matrix its own, or the
 * result's for the first thread), per true class y the rows by which models are wrong
 * (outcome[y << nm | w], bit m of w set when model m is wrong), and per pair of models (in
 * metrics_pair_index order) the rows where their predictions agree.
 */
struct study_acc {
	struct model_pass mp[STUDY_MAX_MODELS];
	int64_t *outcome, agree[STUDY_MAX_PAIRS];
	size_t used;
};

struct study_work {
	const struct study *s;
	const uint32_t *idx;
	size_t n, nm, n_blocks, n_acc;
	const size_t *ab; /* the pairs asked for, n_pairs of them */
	size_t n_pairs;
	unsigned reps;
	uint64_t seed;
	bool fused, fast; /* one pass for all; every model 1-byte ids, float values, probs */
	int32_t topk[STUDY_MAX_MODELS][TOPK_MAX];
	struct conf_sum *part; /* per block, per model, the ECE_BINS sums of confidences */
	struct study_acc *acc;
	struct model_metrics *mm;
	struct pair_metrics *pm;
	int64_t *n_correct;
	atomic_size_t next, slot;
};

/*
 * One model's reads and counts in study_block, kept in locals. Within a block the calibration
 * bins count rows and right rows in one word each (rows << 32 | right; a block has fewer than
 * 2^32 rows): one update through memory per row instead of two.
 */
struct study_model {
	const void *pred, *rank, *conf;
	uint8_t id_size, val_size;
	bool probs;
	int64_t *confusion, correct, hits[TOPK_MAX];
	int32_t k[TOPK_MAX];
	uint64_t bins[ECE_BINS];
	struct conf_sum *part;
};

/* Model sm's prediction for row i of true class y, counted; sets its bit in *wrong when wrong. */
static inline __attribute__((always_inline)) int32_t study_row(struct study_model *sm, size_t i,
                                                               int32_t y, size_t c, bool fast,
                                                               unsigned bit, unsigned *wrong)
{
	int32_t p =
	    fast ? (int32_t)((const uint8_t *)sm->pred)[i] : model_id_at(sm->pred, sm->id_size, i);
	sm->confusion[(size_t)y * c + (size_t)p]++;
	bool ok = p == y;
	sm->correct += ok;
	*wrong |= (unsigned)!ok << bit;
	if (!fast && !sm->probs)
		return p;
	int32_t rk =
	    fast ? (int32_t)((const uint8_t *)sm->rank)[i] : model_id_at(sm->rank, sm->id_size, i);
	sm->hits[0] += rk < sm->k[0];
	sm->hits[1] += rk < sm->k[1];
	sm->hits[2] += rk < sm->k[2];
	double conf =
	    fast ? (double)((const float *)sm->conf)[i] : model_val_at(sm->conf, sm->val_size, i);
	int b = ece_bin(conf);
	sm->bins[b] += (uint64_t)1 << 32 | ok;
	conf_sum_add(&sm->part[b], conf, fast || sm->val_size == 4);
	return p;
}

/*
 * Rows [b0, b1) of idx into acc, the block's sums of confidences into part (nm × ECE_BINS):
 * model_pass and pair_pass for every model and pair at once. Inlined with constant nm and fast
 * for 2–4 models of 1-byte ids and float values (every model's arrays read directly, as
 * model_pass's fastest copy), so that the models' work on a row is straight-line code and their
 * counts' chains through memory overlap; other studies take a copy with both known at run time.
 */
static inline __attribute__((always_inline)) void study_block(struct study_acc *acc,
                                                              const struct study_work *w, size_t b0,
                                                              size_t b1, struct conf_sum *part,
                                                              size_t nm, bool fast)
{
	const struct study *s = w->s;
	const int32_t *labels = s->labels;
	const uint8_t *status = s->status;
	const uint32_t *idx = w->idx;
	size_t c = s->n_classes, used = 0;
	int64_t *outcome = acc->outcome, agree[STUDY_MAX_PAIRS] = {0};
	struct study_model sm[STUDY_MAX_MODELS];
	for (size_t m = 0; m < nm; m++) {
		const struct model *md = &s->models[m];
		sm[m] = (struct study_model){.pred = md->d_pred,
		                             .rank = md->d_rank,
		                             .conf = md->d_conf,
		                             .id_size = md->id_size,
		                             .val_size = md->val_size,
		                             .probs = model_has_probs(md),
		                             .confusion = acc->mp[m].confusion,
		                             .part = part + m * ECE_BINS};
		for (size_t t = 0; t < TOPK_MAX; t++)
			sm[m].k[t] = w->topk[m][t];
	}
	for (size_t k = b0; k < b1; k++) {
		size_t i = at(idx, k);
		if (status && status[i] == STATUS_REMOVED) /* study_removed(), read once */
			continue;
		used++;
		int32_t y = labels[i], p[STUDY_MAX_MODELS];
		unsigned wrong = 0;
		/* one call per model, so that a constant nm leaves straight-line code */
#define STUDY_ROW(m)                                                                               \
	if (nm > (m))                                                                              \
		p[m] = study_row(&sm[m], i, y, c, fast, m, &wrong);
		STUDY_ROW(0)
		STUDY_ROW(1)
		STUDY_ROW(2)
		STUDY_ROW(3)
		STUDY_ROW(4)
		STUDY_ROW(5)
		STUDY_ROW(6)
		STUDY_ROW(7)
#undef STUDY_ROW
		outcome[(size_t)y << nm | wrong]++;
		size_t q = 0;
		for (size_t a = 0; a < nm; a++)
			for (size_t b = a + 1; b < nm; b++)
				agree[q++] += p[a] == p[b];
	}
	acc->used += used;
	for (size_t q = 0; q < nm * (nm - 1) / 2; q++)
		acc->agree[q] += agree[q];
	for (size_t m = 0; m < nm; m++) {
		struct model_pass *mp = &acc->mp[m];
		mp->correct += sm[m].correct;
		for (size_t t = 0; t < TOPK_MAX; t++)
			mp->topk_hits[t] += sm[m].hits[t];
		for (int b = 0; b < ECE_BINS; b++) {
			mp->bin_n[b] += (int64_t)(sm[m].bins[b] >> 32);
			mp->bin_correct[b] += (int64_t)(sm[m].bins[b] & 0xffffffffu);
		}
	}
}

/* The first pass: blocks of rows taken in turn, each thread into its own counts. */
static void *study_pass_worker(void *arg)
{
	struct study_work *w = arg;
	size_t me = atomic_fetch_add(&w->slot, 1);
	if (me >= w->n_acc)
		return NULL;
	struct study_acc *acc = &w->acc[me];
	size_t nm = w->nm;
	for (size_t k; (k = atomic_fetch_add(&w->next, 1)) < w->n_blocks;) {
		size_t b0 = k * METRICS_BLOCK,
		       b1 = w->n - b0 < METRICS_BLOCK ? w->n : b0 + METRICS_BLOCK;
		struct conf_sum *part = w->part + k * nm * ECE_BINS;
		if (w->fast && nm == 2)
			study_block(acc, w, b0, b1, part, 2, true);
		else if (w->fast && nm == 3)
			study_block(acc, w, b0, b1, part, 3, true);
		else if (w->fast && nm == 4)
			study_block(acc, w, b0, b1, part, 4, true);
		else
			study_block(acc, w, b0, b1, part, nm, false);
	}
	return NULL;
}

/*
 * The second pass, over the tables: with the first pass, each model's and pair's results from
 * the merged counts (the pairs' bootstraps are its cost); without, each table's own pass (and
 * the n_correct histogram), as report ran them before.
 */
static void *study_table_worker(void *arg)
{
	struct study_work *w = arg;
	const struct study *s = w->s;
	size_t nm = w->nm, c = s->n_classes, n_idx = w->idx ? w->n : 0;
	size_t total = nm + w->n_pairs + !w->fused;
	for (size_t k; (k = atomic_fetch_add(&w->next, 1)) < total;) {
		if (k >= nm + w->n_pairs) {
			metrics_n_correct(s, w->idx, n_idx, w->n_correct);
			continue;
		}
		if (k < nm) {
			if (w->fused)
				model_finish(&w->mm[k], &w->acc[0].mp[k]);
			else
				metrics_model(s, k, w->idx, n_idx, &w->mm[k]);
			continue;
		}
		size_t p = k - nm, a = w->ab[2 * p], b = w->ab[2 * p + 1];
		/* the pair's place among all pairs seeds its bootstrap, named or not */
		size_t place = metrics_pair_index(nm, a < b ? a : b, a < b ? b : a);
		if (!w->fused || a == b) { /* a model against itself has no place among pairs */
			metrics_pair(s, a, b, w->idx, n_idx, w->reps, w->seed + place, &w->pm[p]);
			continue;
		}
		pair_begin(&w->pm[p], a, b, w->n, c);
		int64_t(*cnt)[4] = xcalloc(c ? c : 1, sizeof *cnt);
		int64_t *marg_a = xcalloc(c ? c : 1, sizeof *marg_a),
		        *marg_b = xcalloc(c ? c : 1, sizeof *marg_b);
		const int64_t *outcome = w->acc[0].outcome;
		for (size_t y = 0; y < c; y++)
			for (unsigned m = 0; m < 1u << nm; m++)
				cnt[y][(m >> a & 1) * 2 + (m >> b & 1)] += outcome[y << nm | m];
		/* the marginals are the confusion matrices' column sums */
		const int64_t *ca = w->mm[a].confusion, *cb = w->mm[b].confusion;
		for (size_t y = 0; y < c; y++)
			for (size_t j = 0; j < c; j++) {
				marg_a[j] += ca[y * c + j];
				marg_b[j] += cb[y * c + j];
			}
		pair_finish(&w->pm[p], c, (const int64_t(*)[4])cnt, marg_a, marg_b,
		            w->acc[0].agree[place], w->acc[0].used, w->reps, w->seed + place);
		free(cnt);
		free(marg_a);
		free(marg_b);
	}
	return NULL;
}

/* Runs fn(w) on nt threads, this one among them (it also does what a failed start left). */
static void study_run(size_t nt, void *(*fn)(void *), struct study_work *w)
{
	pthread_t tids[STUDY_THREADS];
	bool started[STUDY_THREADS] = {false};
	atomic_store(&w->next, 0);
	atomic_store(&w->slot, 0);
	for (size_t t = 1; t < nt; t++)
		started[t] = pthread_create(&tids[t], NULL, fn, w) == 0;
	fn(w);
	for (size_t t = 1; t < nt; t++)
		if (started[t])
			pthread_join(tids[t], NULL);
}

/* Adds thread acc's counts into the first thread's. */
static void study_merge(struct study_acc *into, const struct study_acc *acc, size_t nm, size_t c)
{
	for (size_t m = 0; m < nm; m++) {
		struct model_pass *t = &into->mp[m];
		const struct model_pass *f = &acc->mp[m];
		for (size_t j = 0; j < c * c; j++)
			t->confusion[j] += f->confusion[j];
		t->correct += f->correct;
		for (size_t k = 0; k < TOPK_MAX; k++)
			t->topk_hits[k] += f->topk_hits[k];
		for (int b = 0; b < ECE_BINS; b++) {
			t->bin_n[b] += f->bin_n[b];
			t->bin_correct[b] += f->bin_correct[b];
		}
	}
	for (size_t j = 0; j < c << nm; j++)
		into->outcome[j] += acc->outcome[j];
	for (size_t q = 0; q < nm * (nm - 1) / 2; q++)
		into->agree[q] += acc->agree[q];
	into->used += acc->used;
}

void metrics_study(const struct study *s, const uint32_t *idx, size_t n_idx, const size_t *ab,
                   size_t n_pairs, unsigned reps, uint64_t seed, unsigned threads,
                   struct model_metrics *mm, struct pair_metrics *pm, int64_t *n_correct)
{
	size_t nm = s->n_models, c = s->n_classes, n = idx ? n_idx : s->n;
	struct study_work w = {.s = s,
	                       .idx = idx,
	                       .n = n,
	                       .nm = nm,
	                       .ab = ab,
	                       .n_pairs = n_pairs,
	                       .reps = reps,
	                       .seed = seed,
	                       .mm = mm,
	                       .pm = pm,
	                       .n_correct = n_correct};
	size_t nt = threads < 1 ? 1 : threads > STUDY_THREADS ? STUDY_THREADS : threads;
	w.fused = nm >= 1 && nm <= STUDY_MAX_MODELS && c <= STUDY_MAX_CELLS >> nm;
	if (w.fused) {
		w.fast = true;
		for (size_t m = 0; m < nm; m++) {
			model_begin(&mm[m], &s->models[m], n, c);
			for (size_t t = 0; t < TOPK_MAX; t++)
				w.topk[m][t] = topk_k(&mm[m], t);
			w.fast &= mm[m].has_probs && s->models[m].id_size == 1 &&
			          s->models[m].val_size == 4;
		}
		w.n_blocks = (n + METRICS_BLOCK - 1) / METRICS_BLOCK;
		size_t extra = nm * c * c * sizeof(int64_t), fit = STUDY_EXTRA_BYTES / (extra + 1);
		w.n_acc = nt < w.n_blocks ? nt : w.n_blocks ? w.n_blocks : 1;
		w.n_acc = w.n_acc - 1 < fit ? w.n_acc : fit + 1;
		w.acc = xcalloc(w.n_acc, sizeof *w.acc);
		w.part = xcalloc(w.n_blocks * nm * ECE_BINS + 1, sizeof *w.part);
		for (size_t t = 0; t < w.n_acc; t++) {
			for (size_t m = 0; m < nm; m++)
				w.acc[t].mp[m].confusion =
				    t ? xcalloc(c * c + 1, sizeof(int64_t)) : mm[m].confusion;
			w.acc[t].outcome = xcalloc((c << nm) + 1, sizeof(int64_t));
		}
		study_run(w.n_acc, study_pass_worker, &w);
		for (size_t t = 1; t < w.n_acc; t++) {
			study_merge(&w.acc[0], &w.acc[t], nm, c);
			for (size_t m = 0; m < nm; m++)
				free(w.acc[t].mp[m].confusion);
			free(w.acc[t].outcome);
		}
		for (size_t k = 0; k < w.n_blocks; k++) /* in block order, as metrics_model */
			for (size_t m = 0; m < nm; m++)
				conf_block_add(w.acc[0].mp[m].bin_conf,
				               w.part + (k * nm + m) * ECE_BINS);
		for (size_t m = 0; m < nm; m++)
			w.acc[0].mp[m].used = w.acc[0].used;
		memset(n_correct, 0, (nm + 1) * sizeof *n_correct);
		for (size_t y = 0; y < c; y++)
			for (unsigned m = 0; m < 1u << nm; m++)
				n_correct[nm - (size_t)__builtin_popcount(m)] +=
				    w.acc[0].outcome[y << nm | m];
	}
	size_t tables = nm + n_pairs + !w.fused;
	study_run(nt < tables ? nt : tables, study_table_worker, &w);
	if (w.fused) {
		free(w.acc[0].outcome);
		free(w.acc);
		free(w.part);
	}
}
