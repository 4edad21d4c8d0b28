/*
 * neurons_subset.c — sums over a filter's subset S and over the rest R, from one pass over the
 * smaller of the two and the layer's statistics, and the separation score d.
 */
#include "nncmp/neurons_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void subset_alloc(struct neuron_subset *ss, size_t h, unsigned bins, bool hist)
{
	memset(ss, 0, sizeof *ss);
	ss->h = h;
	ss->bins = bins;
	ss->count_in = xcalloc(h, sizeof *ss->count_in);
	ss->count_out = xcalloc(h, sizeof *ss->count_out);
	ss->dead_in = xcalloc(h, sizeof *ss->dead_in);
	ss->dead_out = xcalloc(h, sizeof *ss->dead_out);
	ss->mean_in = xcalloc(h, sizeof *ss->mean_in);
	ss->mean_out = xcalloc(h, sizeof *ss->mean_out);
	ss->m2_in = xcalloc(h, sizeof *ss->m2_in);
	ss->m2_out = xcalloc(h, sizeof *ss->m2_out);
	if (hist)
		ss->hist_in = xcalloc(h, bins * sizeof *ss->hist_in);
}

/*
 * The sums of the part not read, from the layer's and the part read: count and dead by
 * subtraction, mean and m2 by inverting the parallel formula. The derived part is the larger
 * one, so its mean (mean + (mean − mean_read)·n_read/n_rest) amplifies no rounding error.
 */
static void derive_rest(uint64_t n, double mean, double m2, uint64_t nr, double mr, double m2r,
                        uint64_t *no, double *mo, double *m2o)
{
	*no = n - nr;
	if (*no == 0) {
		*mo = NAN;
		*m2o = 0;
		return;
	}
	if (nr == 0) {
		*mo = mean;
		*m2o = m2;
		return;
	}
	double nd = (double)n, nrd = (double)nr, nod = (double)*no;
	*mo = mean + (mean - mr) * (nrd / nod);
	double delta = mr - *mo;
	double v = m2 - m2r - delta * delta * (nrd * nod / nd);
	*m2o = v > 0 ? v : 0;
}

int neurons_subset(const struct npy *act, const struct neuron_stats *all, const uint32_t *idx,
                   size_t n_idx, bool want_hist, const struct neurons_opts *opt,
                   struct nn_progress *prog, struct neuron_subset *out, struct nn_err *err)
{
	size_t n = act->rows, h = act->cols;
	memset(out, 0, sizeof *out);
	if (all->n != n || all->h != h)
		return nn_err_set(err, "%s: statistics of a %zu×%zu matrix, but it is %zu×%zu",
		                  act->path, all->n, all->h, n, h);
	for (size_t q = 0; q < n_idx; q++)
		if (idx[q] >= n || (q && idx[q] <= idx[q - 1]))
			return nn_err_set(err,
			                  "subset of %s: indices must increase and be below %zu",
			                  act->path, n);
	/* read S, or R when that is fewer rows */
	bool read_in = n_idx <= n - n_idx;
	uint32_t *rest = NULL;
	const uint32_t *rows = idx;
	size_t n_rows = n_idx;
	if (!read_in) {
		rest = xreallocarray(NULL, n - n_idx ? n - n_idx : 1, sizeof *rest);
		n_rows = 0;
		for (size_t i = 0, q = 0; i < n; i++) {
			if (q < n_idx && idx[q] == i)
				q++;
			else
				rest[n_rows++] = (uint32_t)i;
		}
		rows = rest;
	}
	if (prog)
		atomic_store(&prog->total, n_rows);

	struct hist_grid g;
	bool hist = want_hist && isfinite(all->lo);
	if (hist)
		neurons_hist_grid(all->lo, all->hi, all->bins, &g);
	struct job job;
	neurons_job_init(&job, act, PASS_SUBSET, opt, prog);
	job.rows = rows;
	job.n_rows = n_rows;
	job.seed = all->mean;
	if (hist) { /* the window over the layer's bins */
		job.grid = &g;
		job.first_lo = g.anchor * g.k;
		job.first_hi = (g.anchor + (int64_t)g.bins) * g.k - 1;
	}
	unsigned t = neurons_auto_threads(n_rows, h, opt ? opt->threads : 0);
	struct worker *ws = xcalloc(t, sizeof *ws);
	for (unsigned i = 0; i < t; i++)
		neurons_worker_init(&ws[i], &job);
	bool ok = neurons_run_pass(ws, t, err);
	for (unsigned i = 0; ok && hist && i < t; i++)
		if (!neurons_hist_finish(&ws[i], &g)) {
			nn_err_set(err,
			           "%s: internal error: histogram slots coarser than the layer's",
			           act->path);
			ok = false;
		}
	if (ok) {
		subset_alloc(out, h, all->bins, want_hist);
		out->n_in = n_idx;
		out->n_out = n - n_idx;
		for (size_t j = 0; j < h; j++) {
			uint64_t cnt = 0, dead = 0;
			double mean = 0, m2 = 0;
			for (unsigned i = 0; i < t; i++) {
				neurons_chan_merge(&cnt, &mean, &m2, ws[i].n[j], ws[i].mean[j],
				                   ws[i].m2[j]);
				dead += ws[i].dead[j];
			}
			uint64_t *cr = read_in ? out->count_in : out->count_out;
			uint64_t *co = read_in ? out->count_out : out->count_in;
			double *mr = read_in ? out->mean_in : out->mean_out;
			double *mo = read_in ? out->mean_out : out->mean_in;
			double *m2r = read_in ? out->m2_in : out->m2_out;
			double *m2o = read_in ? out->m2_out : out->m2_in;
			cr[j] = cnt;
			mr[j] = cnt ? mean : NAN;
			m2r[j] = m2;
			derive_rest(all->count[j], all->mean[j], all->m2[j], cnt, mean, m2, &co[j],
			            &mo[j], &m2o[j]);
			out->dead_in[j] = read_in ? dead : all->dead[j] - dead;
			out->dead_out[j] = all->dead[j] - out->dead_in[j];
			/* the shifted sums leave a residue (mean 2e-16, std 3e-8) where every value
			 * is exactly 0; such a side is exactly 0 */
			if (out->count_in[j] && out->dead_in[j] == out->count_in[j])
				out->mean_in[j] = out->m2_in[j] = 0;
			if (out->count_out[j] && out->dead_out[j] == out->count_out[j])
				out->mean_out[j] = out->m2_out[j] = 0;
		}
		if (hist) {
			size_t cells = h * all->bins;
			for (size_t q = 0; q < cells; q++) {
				uint64_t sum = 0;
				for (unsigned i = 0; i < t; i++)
					sum += ws[i].hist[q];
				out->hist_in[q] = read_in ? sum : all->hist[q] - sum;
			}
		}
	}
	for (unsigned i = 0; i < t; i++)
		neurons_worker_free(&ws[i]);
	neurons_job_done(&job);
	free(ws);
	free(rest);
	return ok ? 0 : -1;
}

void neurons_subset_free(struct neuron_subset *ss)
{
	free(ss->count_in);
	free(ss->count_out);
	free(ss->dead_in);
	free(ss->dead_out);
	free(ss->mean_in);
	free(ss->mean_out);
	free(ss->m2_in);
	free(ss->m2_out);
	free(ss->hist_in);
	memset(ss, 0, sizeof *ss);
}

double neurons_d(const struct neuron_subset *ss, size_t j)
{
	uint64_t ns = ss->count_in[j], nr = ss->count_out[j];
	if (ns == 0 || nr == 0 || ns + nr <= 2)
		return NAN;
	double pooled = sqrt((ss->m2_in[j] + ss->m2_out[j]) / (double)(ns + nr - 2));
	if (pooled == 0)
		return 0;
	return (ss->mean_in[j] - ss->mean_out[j]) / pooled;
}
