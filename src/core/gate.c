/* gate.c — the regression gate: one-sided McNemar for accuracy, paired bootstrap for macro-F1. */
#include "nncmp/gate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/metrics.h"
#include "nncmp/rng.h"

double gate_binom_upper(int64_t k, int64_t n)
{
	if (k <= 0 || n <= 0)
		return 1.0;
	if (k > n)
		return 0.0;
	/* above the mode, P(X >= k) is P(X <= n - k) by symmetry; below it, 1 - P(X <= k - 1) */
	if (2 * k >= n)
		return metrics_binom_lower(n - k, n);
	double p = 1.0 - metrics_binom_lower(k - 1, n);
	return p < 0 ? 0 : p;
}

/* One (truth, base, new) triple and how many instances share it. */
struct cell {
	uint64_t key;
	int32_t y, a, b;
	int64_t count;
};

static int key_cmp(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
	return (a > b) - (a < b);
}

static int dbl_cmp(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;
	return (a > b) - (a < b);
}

/* Macro-F1 from per-class true positives, predictions and support (metrics.h's rule). */
static double macro_f1(const int64_t *tp, const int64_t *pred, const int64_t *sup, size_t c)
{
	double sum = 0;
	size_t present = 0;
	for (size_t j = 0; j < c; j++)
		if (pred[j] + sup[j] > 0) {
			sum += 2.0 * (double)tp[j] / (double)(pred[j] + sup[j]);
			present++;
		}
	return present ? sum / (double)present : NAN;
}

/* Both models' macro-F1 over the cells weighted by w (the counts, or a replicate's draws). */
static void cells_f1(const struct cell *cells, const int64_t *w, size_t k, size_t c, int64_t *buf,
                     double *fa, double *fb)
{
	int64_t *tpa = buf, *pra = buf + c, *tpb = buf + 2 * c, *prb = buf + 3 * c,
	        *sup = buf + 4 * c;
	memset(buf, 0, 5 * c * sizeof *buf);
	for (size_t t = 0; t < k; t++) {
		int64_t x = w[t];
		if (!x)
			continue;
		const struct cell *e = &cells[t];
		sup[e->y] += x;
		pra[e->a] += x;
		prb[e->b] += x;
		tpa[e->y] += e->a == e->y ? x : 0;
		tpb[e->y] += e->b == e->y ? x : 0;
	}
	*fa = macro_f1(tpa, pra, sup, c);
	*fb = macro_f1(tpb, prb, sup, c);
}

void gate_compare(const struct study *s, size_t na, size_t nb, enum gate_metric metric,
                  double alpha, unsigned reps, uint64_t seed, struct gate_result *out)
{
	const struct model *ma = &s->models[na], *mb = &s->models[nb];
	size_t c = s->n_classes;
	*out = (struct gate_result){.metric = metric, .alpha = alpha, .upper = NAN, .seed = seed};
	uint64_t *keys = xcalloc(s->n ? s->n : 1, sizeof *keys);
	size_t n = 0;
	int64_t right_a = 0, right_b = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (study_removed(s, i))
			continue;
		int32_t y = s->labels[i], pa = model_pred(ma, i), pb = model_pred(mb, i);
		right_a += pa == y;
		right_b += pb == y;
		out->only_base += pa == y && pb != y;
		out->only_new += pb == y && pa != y;
		keys[n++] = ((uint64_t)y * c + (uint64_t)pa) * c + (uint64_t)pb;
	}
	out->n = n;
	if (metric == GATE_ACCURACY) {
		out->base_value = n ? (double)right_a / (double)n : NAN;
		out->new_value = n ? (double)right_b / (double)n : NAN;
		out->diff = out->new_value - out->base_value;
		out->p = gate_binom_upper(out->only_base, out->only_base + out->only_new);
		out->worse = n && out->diff < 0 && out->p < alpha;
		free(keys);
		return;
	}

	qsort(keys, n, sizeof *keys, key_cmp);
	struct cell *cells = xcalloc(n ? n : 1, sizeof *cells);
	int64_t *w = xcalloc(n ? n : 1, sizeof *w);
	size_t k = 0;
	for (size_t t = 0; t < n; t++) {
		if (k && cells[k - 1].key == keys[t]) {
			cells[k - 1].count++;
			continue;
		}
		uint64_t key = keys[t];
		cells[k] = (struct cell){.key = key,
		                         .b = (int32_t)(key % c),
		                         .a = (int32_t)(key / c % c),
		                         .y = (int32_t)(key / c / c),
		                         .count = 1};
		k++;
	}
	free(keys);
	for (size_t t = 0; t < k; t++)
		w[t] = cells[t].count;
	int64_t *buf = xcalloc(5 * (c ? c : 1), sizeof *buf);
	cells_f1(cells, w, k, c, buf, &out->base_value, &out->new_value);
	out->diff = out->new_value - out->base_value;
	out->reps = reps;
	if (n && reps) {
		/* resampling n instances only matters through how many draws land in each cell: a
		 * multinomial over the cells, drawn as successive binomials, is the same
		 * distribution */
		struct rng r;
		rng_seed(&r, seed);
		double *d = xcalloc(reps, sizeof *d);
		size_t ge = 0;
		for (unsigned t = 0; t < reps; t++) {
			int64_t left = (int64_t)n, mass = (int64_t)n;
			for (size_t e = 0; e < k; e++) {
				int64_t x = 0;
				if (left > 0)
					x = e + 1 == k ? left
					               : rng_binomial(&r, left,
					                              (double)cells[e].count /
					                                  (double)mass);
				w[e] = x;
				left -= x;
				mass -= cells[e].count;
			}
			double fa, fb;
			cells_f1(cells, w, k, c, buf, &fa, &fb);
			d[t] = fb - fa;
			ge += d[t] >= 0;
		}
		qsort(d, reps, sizeof *d, dbl_cmp);
		double pos = (1.0 - alpha) * (double)(reps - 1);
		size_t lo = (size_t)floor(pos), hi = lo + 1 < reps ? lo + 1 : lo;
		out->upper = d[lo] + (d[hi] - d[lo]) * (pos - (double)lo);
		out->p = (double)ge / (double)reps;
		free(d);
	} else {
		out->p = 1.0;
	}
	out->worse = n && out->diff < 0 && out->p < alpha;
	free(buf);
	free(w);
	free(cells);
}
