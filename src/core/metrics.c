/* metrics.c — per-model scores, pair agreement tables, kappa, McNemar, bootstrap interval. */
#include "nncmp/metrics.h"

#include <math.h>
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
	for (size_t k = 0; k < n; k++) {
		size_t i = at(idx, k);
		if (status &&
		    status[i] == STATUS_REMOVED) /* study_removed(), s->status read once */
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
		double conf = model_val_at(m->d_conf, val_size, i), x = conf * ECE_BINS;
		long t = (long)x;                 /* truncated toward zero, */
		long b = t + (x > (double)t) - 1; /* so this is ceil(x) − 1 exactly */
		b = b < 0 ? 0 : b >= ECE_BINS ? ECE_BINS - 1 : b;
		ps->bin_n[b]++;
		ps->bin_correct[b] += ok;
		ps->bin_conf[b] += conf;
	}
	ps->correct = correct;
	ps->used = used;
	ps->topk_hits[0] = h0;
	ps->topk_hits[1] = h1;
	ps->topk_hits[2] = h2;
}

void metrics_model(const struct study *s, size_t mi, const uint32_t *idx, size_t n_idx,
                   struct model_metrics *out)
{
	const struct model *m = &s->models[mi];
	size_t n = idx ? n_idx : s->n, c = s->n_classes;
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

	struct model_pass ps = {.status = s->status, .confusion = out->confusion, .c = c};
	const int32_t k0 = out->n_topk > 0 ? out->topk_k[0] : 0,
	              k1 = out->n_topk > 1 ? out->topk_k[1] : 0,
	              k2 = out->n_topk > 2 ? out->topk_k[2] : 0;
	/* one copy of the loop per storage of the model's arrays (study.h), each with its reads
	 * inlined: the hot loop of a reopened `report` */
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
	int64_t *bin_n = ps.bin_n, *bin_correct = ps.bin_correct, *topk_hits = ps.topk_hits;
	double *bin_conf = ps.bin_conf;
	int64_t correct = ps.correct;
	size_t used = ps.used;
	out->correct = correct;
	n = used; /* removed instances left the metrics */
	out->n = n;
	/* an empty subset has no accuracy (NaN), not an accuracy of 0 */
	out->accuracy = n ? (double)out->correct / (double)n : NAN;
	out->ece = NAN;
	if (out->has_probs && n) {
		double e = 0;
		for (int b = 0; b < ECE_BINS; b++)
			if (bin_n[b]) {
				double bn = (double)bin_n[b];
				e += bn / (double)n *
				     fabs((double)bin_correct[b] / bn - bin_conf[b] / bn);
			}
		out->ece = e;
	}
	for (size_t t = 0; t < out->n_topk; t++)
		out->topk[t] = n ? (double)topk_hits[t] / (double)n : NAN;

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

void metrics_pair(const struct study *s, size_t a, size_t b, const uint32_t *idx, size_t n_idx,
                  unsigned reps, uint64_t seed, struct pair_metrics *out)
{
	size_t n = idx ? n_idx : s->n, c = s->n_classes;
	const struct model *ma = &s->models[a], *mb = &s->models[b];
	memset(out, 0, sizeof *out);
	out->a = a;
	out->b = b;
	out->n = n;
	out->per_class = xcalloc(c, sizeof *out->per_class);
	int64_t *marg_a = xcalloc(c, sizeof *marg_a), *marg_b = xcalloc(c, sizeof *marg_b);
	int64_t agree = 0;
	size_t used = 0;
	/* counts per true class of the four outcomes, indexed by (a wrong)·2 + (b wrong): no branch
	 * on how the models did (they are right at random as far as the predictor can tell) */
	int64_t(*cnt)[4] = xcalloc(c ? c : 1, sizeof *cnt);
	struct pair_pass pp = {.cnt = cnt, .marg_a = marg_a, .marg_b = marg_b};
	if (ma->id_size == 1 && mb->id_size == 1) /* one copy per storage, its reads inlined */
		pair_pass(&pp, s, ma->d_pred, mb->d_pred, idx, n, 1, 1);
	else
		pair_pass(&pp, s, ma->d_pred, mb->d_pred, idx, n, ma->id_size, mb->id_size);
	agree = pp.agree;
	used = pp.used;
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
	free(cnt);
	n = used; /* removed instances left the metrics */
	out->n = n;
	double dn = (double)n;
	out->agreement = n ? (double)agree / dn : NAN;
	/* kappa = 1 − observed disagreement / disagreement expected from the marginals */
	double expected_agree = 0;
	for (size_t j = 0; j < c; j++)
		expected_agree += (double)marg_a[j] * (double)marg_b[j];
	double exp_dis = n ? dn - expected_agree / dn : 0.0;
	out->kappa = exp_dis > 0 ? 1.0 - (dn - (double)agree) / exp_dis : NAN;
	free(marg_a);
	free(marg_b);
	out->mcnemar_p = metrics_binom_test(out->all.only_a < out->all.only_b ? out->all.only_a
	                                                                      : out->all.only_b,
	                                    out->all.only_a + out->all.only_b);
	out->acc_diff = n ? (double)(out->all.only_b - out->all.only_a) / dn : NAN;
	out->boot_reps = reps;
	metrics_pair_bootstrap(&out->all, n, reps, seed, &out->ci_lo, &out->ci_hi);
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
