/*
 * issues_cl.c — confident learning (Northcutt, Jiang & Chuang 2021; cleanlab's default
 * "prune_by_noise_rate"), streamed: the thresholds come from the derived p_label without a pass,
 * then one pass counts the confident joint, one finds every pruning threshold with bounded heaps
 * (their sizes sum to at most N), and a last pass over only the instances whose argmax is not
 * their label decides which are flagged.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nncmp/issues_internal.h"

/* cleanlab's tolerance: p_j >= t_j - 1e-6 counts as confident. */
#define CL_THRESHOLD_SLACK 1e-6
/* The two full passes run on up to this many threads, each over its own range of rows. */
#define CL_MAX_THREADS 8

/* One off-diagonal cell (i, j) to prune: a min-heap of the n_ij largest margins p_j - p_i. */
struct cell {
	int32_t j;
	size_t cap, size;
	double *heap;
};

static void heap_push(struct cell *h, double v)
{
	if (h->size < h->cap) {
		size_t k = h->size++;
		while (k > 0 && h->heap[(k - 1) / 2] > v) {
			h->heap[k] = h->heap[(k - 1) / 2];
			k = (k - 1) / 2;
		}
		h->heap[k] = v;
		return;
	}
	if (v <= h->heap[0])
		return;
	size_t k = 0, n = h->size;
	for (;;) {
		size_t a = 2 * k + 1, b = a + 1, m = k;
		double mv = v;
		if (a < n && h->heap[a] < mv)
			m = a, mv = h->heap[a];
		if (b < n && h->heap[b] < mv)
			m = b;
		if (m == k)
			break;
		h->heap[k] = h->heap[m];
		k = m;
	}
	h->heap[k] = v;
}

/*
 * Calibrates row i of the confident joint to sum to cnt (cleanlab: C[i][j] / rowsum · cnt) and
 * rounds it preserving the total: floors, then one more for the largest remainders (the lower
 * column first on ties).
 */
static void calibrate_row(const uint64_t *cj, size_t c, uint64_t cnt, uint64_t *out, double *v)
{
	uint64_t rs = 0, fl = 0;
	for (size_t j = 0; j < c; j++)
		rs += cj[j];
	for (size_t j = 0; j < c; j++) {
		v[j] = rs ? (double)cj[j] / (double)rs * (double)cnt : 0;
		out[j] = (uint64_t)floor(v[j]);
		v[j] -= floor(v[j]);
		fl += out[j];
	}
	for (uint64_t rem = cnt > fl ? cnt - fl : 0; rem > 0; rem--) {
		size_t best = c;
		for (size_t j = 0; j < c; j++)
			if (v[j] >= 0 && (best == c || v[j] > v[best]))
				best = j;
		if (best == c)
			break;
		out[best]++;
		v[best] = -1; /* each entry gets at most one */
	}
}

/* One thread's share of a pass: rows [i0, i1), its own buffers, counts and heaps. */
struct cl_part {
	const struct prob_src *ps;
	size_t i0, i1;
	int pass; /* 1: the confident joint and argmax; 2: the pruning heaps */
	const double *t;
	int32_t *sugg;
	uint64_t *cj;        /* pass 1: c × c */
	const size_t *ncell; /* pass 2: cells of given class l are ncell[l] .. ncell[l+1]-1 */
	struct cell *cells;  /* pass 2: this part's heaps */
	struct nn_err err;
	int rc;
};

static void *cl_part_run(void *arg)
{
	struct cl_part *w = arg;
	const struct prob_src *ps = w->ps;
	size_t c = ps->c;
	const int32_t *lab = ps->labels;
	const uint8_t *ex = ps->exclude;
	double *rows = xmalloc(ISSUES_BLOCK_ROWS * c * sizeof *rows);
	float *tmp = xmalloc(ISSUES_BLOCK_ROWS * c * sizeof *tmp + c * sizeof(double));
	for (size_t i0 = w->i0; i0 < w->i1 && w->rc == 0; i0 += ISSUES_BLOCK_ROWS) {
		size_t nb = w->i1 - i0 < ISSUES_BLOCK_ROWS ? w->i1 - i0 : ISSUES_BLOCK_ROWS;
		prob_src_rows(ps, i0, nb, rows, tmp);
		for (size_t r = 0; r < nb; r++) {
			size_t i = i0 + r;
			if (ex && ex[i])
				continue;
			const double *p = rows + r * c;
			size_t l = (size_t)lab[i];
			if (w->pass == 2) {
				for (size_t k = w->ncell[l]; k < w->ncell[l + 1]; k++)
					heap_push(&w->cells[k], p[w->cells[k].j] - p[l]);
				continue;
			}
			size_t best = 0, guess = c;
			for (size_t j = 0; j < c; j++) {
				if (p[j] > p[best])
					best = j;
				if (p[j] >= w->t[j] && (guess == c || p[j] > p[guess]))
					guess = j;
			}
			w->sugg[i] = (int32_t)best;
			if (guess < c)
				w->cj[l * c + guess]++;
		}
		w->rc = issues_tick(ps->prog, nb, &w->err);
	}
	free(rows);
	free(tmp);
	return NULL;
}

/*
 * Runs pass `pass` over every row on nt threads (parts[0 .. nt), set up by the caller but for
 * their ranges); a part whose thread cannot start runs here. Returns 0, or -1 with err set.
 */
static int cl_pass(struct cl_part *parts, size_t nt, size_t n, int pass, struct nn_err *err)
{
	pthread_t tid[CL_MAX_THREADS];
	bool started[CL_MAX_THREADS] = {false};
	for (size_t k = 0; k < nt; k++) {
		parts[k].i0 = n * k / nt;
		parts[k].i1 = n * (k + 1) / nt;
		parts[k].pass = pass;
		parts[k].rc = 0;
		if (k > 0)
			started[k] = pthread_create(&tid[k], NULL, cl_part_run, &parts[k]) == 0;
	}
	for (size_t k = 0; k < nt; k++)
		if (!started[k])
			cl_part_run(&parts[k]);
	int rc = 0;
	for (size_t k = 0; k < nt; k++) {
		if (started[k])
			pthread_join(tid[k], NULL);
		if (parts[k].rc && rc == 0) {
			*err = parts[k].err;
			rc = -1;
		}
	}
	return rc;
}

int issues_cl(const struct prob_src *ps, uint8_t *flag, double *score, int32_t *sugg,
              struct nn_err *err)
{
	const struct study *s = ps->s;
	size_t n = s->n, c = ps->c;
	const int32_t *lab = ps->labels;
	const uint8_t *ex = ps->exclude;
	double *rows = xmalloc(ISSUES_BLOCK_ROWS * c * sizeof *rows);
	float *tmp = xmalloc(ISSUES_BLOCK_ROWS * c * sizeof *tmp + c * sizeof(double));
	uint64_t *cnt = xcalloc(c, sizeof *cnt), *cj = xcalloc(c * c, sizeof *cj);
	uint64_t *prune = xcalloc(c * c, sizeof *prune);
	double *t = xcalloc(c, sizeof *t), *v = xcalloc(c, sizeof *v);
	size_t *ncell = xcalloc(c + 1, sizeof *ncell);
	struct cell *cells = NULL;
	double *heaps = NULL;
	struct cl_part *parts = NULL;
	int rc = 0;
	if (ps->prog)
		atomic_store(&ps->prog->total, 3 * n);

	/* thresholds: the mean p_label per given class, summed in index order */
	for (size_t i = 0; i < n; i++) {
		if (ex && ex[i])
			continue;
		double pl = prob_src_p_label(ps, i, rows, tmp);
		score[i] = 1.0 - pl;
		t[lab[i]] += pl;
		cnt[lab[i]]++;
	}
	for (size_t j = 0; j < c; j++)
		t[j] = cnt[j] ? t[j] / (double)cnt[j] - CL_THRESHOLD_SLACK : NAN;

	/* the confident joint, and every instance's argmax */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = cpus > 1 ? (size_t)cpus : 1;
	nt = nt > CL_MAX_THREADS ? CL_MAX_THREADS : nt;
	nt = n / nt < 4 * ISSUES_BLOCK_ROWS ? 1 : nt; /* small studies: one thread */
	parts = xcalloc(nt, sizeof *parts);
	for (size_t k = 0; k < nt; k++) {
		parts[k] = (struct cl_part){.ps = ps, .t = t, .sugg = sugg};
		parts[k].cj = k ? xcalloc(c * c, sizeof *cj) : cj;
	}
	rc = cl_pass(parts, nt, n, 1, err);
	for (size_t k = 1; k < nt; k++) {
		for (size_t e = 0; e < c * c; e++)
			cj[e] += parts[k].cj[e];
		free(parts[k].cj);
	}
	if (rc)
		goto out;

	/* calibrate, round, and lay out one heap per off-diagonal cell to prune */
	size_t total = 0;
	for (size_t i = 0; i < c; i++) {
		if (cj[i * c + i] < 1)
			cj[i * c + i] = 1;
		calibrate_row(cj + i * c, c, cnt[i], prune + i * c, v);
		for (size_t j = 0; j < c; j++)
			if (j != i && prune[i * c + j]) {
				ncell[i + 1]++;
				total += prune[i * c + j];
			}
		ncell[i + 1] += ncell[i];
	}
	/* each part fills heaps of its own; part 0's then take in the others' values */
	size_t nc = ncell[c] ? ncell[c] : 1;
	cells = xcalloc(nt * nc, sizeof *cells);
	heaps = xmalloc(nt * (total ? total : 1) * sizeof *heaps);
	for (size_t w = 0; w < nt; w++) {
		for (size_t i = 0, k = 0, off = w * (total ? total : 1); i < c; i++)
			for (size_t j = 0; j < c; j++)
				if (j != i && prune[i * c + j]) {
					cells[w * nc + k] = (struct cell){
					    (int32_t)j, prune[i * c + j], 0, heaps + off};
					off += prune[i * c + j];
					k++;
				}
		parts[w].ncell = ncell;
		parts[w].cells = cells + w * nc;
	}

	/* the n_ij-th largest margin p_j - p_i among the instances labelled i */
	rc = cl_pass(parts, nt, n, 2, err);
	if (rc)
		goto out;
	for (size_t w = 1; w < nt; w++)
		for (size_t k = 0; k < ncell[c]; k++)
			for (size_t e = 0; e < cells[w * nc + k].size; e++)
				heap_push(&cells[k], cells[w * nc + k].heap[e]);

	/* flagged: a margin reaches its cell's threshold, and argmax is not the label */
	for (size_t i0 = 0; i0 < n && rc == 0; i0 += ISSUES_BLOCK_ROWS) {
		size_t end = n - i0 < ISSUES_BLOCK_ROWS ? n : i0 + ISSUES_BLOCK_ROWS;
		for (size_t i = i0; i < end; i++) {
			if ((ex && ex[i]) || sugg[i] == lab[i])
				continue;
			size_t l = (size_t)lab[i];
			if (ncell[l] == ncell[l + 1])
				continue;
			prob_src_rows(ps, i, 1, rows, tmp);
			for (size_t k = ncell[l]; k < ncell[l + 1] && !flag[i]; k++)
				flag[i] = cells[k].size == cells[k].cap &&
				          rows[cells[k].j] - rows[l] >= cells[k].heap[0];
		}
		rc = issues_tick(ps->prog, end - i0, err);
	}
out:
	free(rows);
	free(tmp);
	free(cnt);
	free(cj);
	free(prune);
	free(t);
	free(v);
	free(ncell);
	free(cells);
	free(heaps);
	free(parts);
	return rc;
}
