/*
 * neurons_stats.c — a layer's per-neuron statistics, and the cache in front of them.
 *
 * One pass (neurons_pass.c runs it on threads) computes counts, mean and variance, min, max,
 * dead counts, the top-k lists and the histogram counts; the histogram's bins follow from the
 * layer's range once the pass is over (neurons_hist.c: a grid that only coarsens, so its counts
 * are re-binned exactly). The workers start at the grid of the layer's first block of rows, read
 * before the pass.
 */
#include "nncmp/neurons_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct topk_item {
	float val;
	uint32_t idx;
};

static int topk_cmp(const void *a, const void *b)
{
	const struct topk_item *x = a, *y = b;
	if (x->val != y->val)
		return x->val > y->val ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static void stats_alloc(struct neuron_stats *st, size_t n, size_t h, unsigned bins, unsigned k)
{
	memset(st, 0, sizeof *st);
	st->n = n;
	st->h = h;
	st->bins = bins;
	st->k = k;
	st->count = xcalloc(h, sizeof *st->count);
	st->dead = xcalloc(h, sizeof *st->dead);
	st->mean = xcalloc(h, sizeof *st->mean);
	st->m2 = xcalloc(h, sizeof *st->m2);
	st->min = xcalloc(h, sizeof *st->min);
	st->max = xcalloc(h, sizeof *st->max);
	st->hist = xcalloc(h, bins * sizeof *st->hist);
	st->top_idx = xcalloc(h, k * sizeof *st->top_idx);
	st->top_val = xcalloc(h, k * sizeof *st->top_val);
}

/* Folds the threads' pass-1 accumulators, in range order, into st. */
static void merge_moments(struct neuron_stats *st, struct worker *ws, unsigned t)
{
	size_t h = st->h;
	unsigned k = st->k;
	struct topk_item *items = xreallocarray(NULL, (size_t)t * k, sizeof *items);
	st->lo = INFINITY;
	st->hi = -INFINITY;
	for (size_t j = 0; j < h; j++) {
		uint64_t n = 0;
		double mean = 0, m2 = 0;
		double mn = INFINITY, mx = -INFINITY;
		size_t ni = 0;
		for (unsigned i = 0; i < t; i++) {
			struct worker *w = &ws[i];
			neurons_chan_merge(&n, &mean, &m2, w->n[j], w->mean[j], w->m2[j]);
			st->dead[j] += w->dead[j];
			mn = w->mn[j] < mn ? w->mn[j] : mn;
			mx = w->mx[j] > mx ? w->mx[j] : mx;
			for (unsigned q = 0; q < w->top_n[j]; q++)
				items[ni++] = (struct topk_item){w->top_val[j * k + q],
				                                 w->top_idx[j * k + q]};
		}
		st->count[j] = n;
		st->mean[j] = n ? mean : NAN;
		st->m2[j] = m2;
		st->min[j] = n ? mn : NAN;
		st->max[j] = n ? mx : NAN;
		if (n) {
			st->lo = mn < st->lo ? mn : st->lo;
			st->hi = mx > st->hi ? mx : st->hi;
		}
		qsort(items, ni, sizeof *items, topk_cmp);
		for (unsigned q = 0; q < k; q++) {
			st->top_idx[j * k + q] = q < ni ? items[q].idx : NEURONS_NO_INDEX;
			st->top_val[j * k + q] = q < ni ? items[q].val : NAN;
		}
	}
	if (st->lo > st->hi)
		st->lo = st->hi = NAN;
	free(items);
}

static int check_opts(const struct npy *act, const struct neurons_opts *opt, unsigned *bins,
                      unsigned *k, struct nn_err *err)
{
	*bins = opt && opt->bins ? opt->bins : NEURONS_BINS_DEFAULT;
	*k = opt && opt->k ? opt->k : NEURONS_TOPK_DEFAULT;
	if (*bins < NEURONS_BINS_MIN || *bins > NEURONS_BINS_MAX)
		return nn_err_set(err, "%u histogram bins: expected %d to %d", *bins,
		                  NEURONS_BINS_MIN, NEURONS_BINS_MAX);
	if (*k > NEURONS_TOPK_MAX)
		return nn_err_set(err, "top %u instances: at most %d", *k, NEURONS_TOPK_MAX);
	if (act->rows > UINT32_MAX)
		return nn_err_set(err, "%s: %zu rows, more than this version handles", act->path,
		                  act->rows);
	if (act->h.kind == NPY_BOOL)
		return nn_err_set(err, "%s: boolean activations are not supported", act->path);
	if (act->cols >= INT32_MAX / NEURONS_BINS_MAX - 1)
		return nn_err_set(err, "%s: %zu neurons, more than this version handles", act->path,
		                  act->cols);
	return 0;
}

/*
 * The range [min, max] of the finite values of the layer's first rows (at most `rows`), into
 * *lo, *hi; false when they could not be read or hold no finite value.
 */
static bool first_block_range(const struct npy *act, size_t rows, double *lo, double *hi)
{
	size_t nr = act->rows < rows ? act->rows : rows, h = act->cols;
	if (nr == 0 || h == 0)
		return false;
	float *buf = xreallocarray(NULL, nr * h, sizeof *buf);
	struct nn_err err;
	bool ok = npy_rows_f32_guarded(act, 0, nr, buf, &err) == 0;
	float mn = INFINITY, mx = -INFINITY;
	for (size_t q = 0; ok && q < nr * h; q++)
		if (isfinite(buf[q])) {
			mn = buf[q] < mn ? buf[q] : mn;
			mx = buf[q] > mx ? buf[q] : mx;
		}
	free(buf);
	*lo = mn;
	*hi = mx;
	return ok && mn <= mx;
}

int neurons_stats_compute(const struct npy *act, const struct neurons_opts *opt,
                          struct nn_progress *prog, struct neuron_stats *out, struct nn_err *err)
{
	unsigned bins, k;
	memset(out, 0, sizeof *out);
	if (check_opts(act, opt, &bins, &k, err) < 0)
		return -1;
	size_t n = act->rows, h = act->cols;
	unsigned t = neurons_auto_threads(n, h, opt ? opt->threads : 0);
	if (prog)
		atomic_store(&prog->total, n);

	struct job job;
	neurons_job_init(&job, act, PASS_MOMENTS, opt, prog);
	job.n_rows = n;
	job.k = k;
	/* the workers' histogram grid: the first block's (any grid if it has no finite value) */
	double flo = 0, fhi = 0;
	if (!first_block_range(act, job.block, &flo, &fhi))
		flo = fhi = 0;
	struct hist_grid start;
	neurons_hist_grid(flo, fhi, bins, &start);
	job.grid = &start;
	job.first_lo = (int64_t)floor(ldexp(flo, -start.fe));
	job.first_hi = (int64_t)floor(ldexp(fhi, -start.fe));
	struct worker *ws = xcalloc(t, sizeof *ws);
	for (unsigned i = 0; i < t; i++)
		neurons_worker_init(&ws[i], &job);
	bool ok = neurons_run_pass(ws, t, err);
	if (ok) {
		stats_alloc(out, n, h, bins, k);
		merge_moments(out, ws, t);
		if (isfinite(out->lo)) {
			struct hist_grid g;
			neurons_hist_grid(out->lo, out->hi, bins, &g);
			for (unsigned i = 0; ok && i < t; i++) {
				ok = neurons_hist_finish(&ws[i], &g);
				for (size_t q = 0; ok && q < h * bins; q++)
					out->hist[q] += ws[i].hist[q];
			}
			if (!ok)
				nn_err_set(err,
				           "%s: internal error: histogram slots coarser than the "
				           "layer's",
				           act->path);
		}
	}
	for (unsigned i = 0; i < t; i++)
		neurons_worker_free(&ws[i]);
	neurons_job_done(&job);
	free(ws);
	if (!ok) {
		neurons_stats_free(out);
		return -1;
	}
	return 0;
}

int neurons_stats(const struct npy *act, const struct neurons_opts *opt, struct nn_progress *prog,
                  struct neuron_stats *out, struct nn_err *err)
{
	unsigned bins, k;
	memset(out, 0, sizeof *out);
	if (check_opts(act, opt, &bins, &k, err) < 0)
		return -1;
	char *dir = opt && opt->cache_dir ? (opt->cache_dir[0] ? xstrdup(opt->cache_dir) : NULL)
	                                  : neurons_cache_dir();
	char *key = dir ? neurons_cache_key(act, bins, k, NULL) : NULL;
	if (key && neurons_cache_load(dir, key, out) == 0 && out->n == act->rows &&
	    out->h == act->cols) {
		out->from_cache = true;
		if (prog) {
			atomic_store(&prog->total, act->rows);
			atomic_store(&prog->done, act->rows);
		}
		free(key);
		free(dir);
		return 0;
	}
	neurons_stats_free(out);
	int rc = neurons_stats_compute(act, opt, prog, out, err);
	if (rc == 0 && key) {
		/* store only if the file did not change while it was read */
		char *after = neurons_cache_key(act, bins, k, NULL);
		if (after && strcmp(after, key) == 0)
			neurons_cache_store(dir, key, out);
		free(after);
	}
	free(key);
	free(dir);
	return rc;
}

void neurons_stats_free(struct neuron_stats *st)
{
	free(st->count);
	free(st->dead);
	free(st->mean);
	free(st->m2);
	free(st->min);
	free(st->max);
	free(st->hist);
	free(st->top_idx);
	free(st->top_val);
	memset(st, 0, sizeof *st);
}

double neurons_std(const struct neuron_stats *st, size_t j)
{
	return st->count[j] >= 2 ? sqrt(st->m2[j] / (double)(st->count[j] - 1)) : NAN;
}

double neurons_dead_frac(const struct neuron_stats *st, size_t j)
{
	return st->count[j] ? (double)st->dead[j] / (double)st->count[j] : NAN;
}
