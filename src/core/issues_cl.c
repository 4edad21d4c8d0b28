/*
 * issues_cl.c — confident learning (Northcutt, Jiang & Chuang 2021; cleanlab's default
 * "prune_by_noise_rate"), streamed. The thresholds come from the derived p_label without a pass.
 * One pass over every row counts the confident joint and finds each row's argmax. The pruning
 * thresholds (the n_ij-th largest margin p_j - p_i among the instances labelled i) are then
 * found with bounded heaps from the misclassified rows alone: a correctly classified row has no
 * positive margin, so when a cell's heap fills with positive margins it is exact. Only a cell
 * that does not (rare) needs the other rows of its class. A last look at the misclassified rows
 * decides which are flagged.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nncmp/issues_internal.h"

/* cleanlab's tolerance: p_j >= t_j - 1e-6 counts as confident. */
#define CL_THRESHOLD_SLACK 1e-6
/* The passes run on up to this many threads, each over its own range of rows. */
#define CL_MAX_THREADS 8
/* Independent lanes in the row scan, so that the compiler can use vector instructions. */
#define CL_LANES 4

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

/*
 * Scans one row of probabilities p[c] (every p_j >= 0): *best, its argmax, and *guess, the
 * argmax among the confident columns (p_j >= t_j; c when there is none). First maxima win.
 * The maxima come from independent lanes (vector code), then their first columns.
 */
NN_VECTOR_CLONES
static void cl_row_scan(const double *p, const double *t, size_t c, size_t *best, size_t *guess)
{
	double top[CL_LANES], gtop[CL_LANES];
	for (size_t k = 0; k < CL_LANES; k++)
		top[k] = gtop[k] = -1;
	size_t j = 0;
	for (; j + CL_LANES <= c; j += CL_LANES)
		for (size_t k = 0; k < CL_LANES; k++) {
			double v = p[j + k], g = v >= t[j + k] ? v : -1;
			top[k] = v > top[k] ? v : top[k];
			gtop[k] = g > gtop[k] ? g : gtop[k];
		}
	for (size_t k = 0; j + k < c; k++) {
		double v = p[j + k], g = v >= t[j + k] ? v : -1;
		top[k] = v > top[k] ? v : top[k];
		gtop[k] = g > gtop[k] ? g : gtop[k];
	}
	double b = -1, gb = -1;
	for (size_t k = 0; k < CL_LANES; k++) {
		b = top[k] > b ? top[k] : b;
		gb = gtop[k] > gb ? gtop[k] : gb;
	}
	size_t bi = 0, gi = c;
	while (bi + 1 < c && p[bi] != b)
		bi++;
	if (gb >= 0)
		for (gi = 0; gi + 1 < c && !(p[gi] == gb && p[gi] >= t[gi]);)
			gi++;
	*best = bi;
	*guess = gi;
}

/* Which rows a pass reads, and what it does with them. */
enum cl_pass_kind {
	CL_JOINT,   /* every row: the argmax and the confident joint */
	CL_MARGINS, /* misclassified rows: their margins into the heaps */
	CL_REST,    /* correctly classified rows of the classes in `full`: the same */
	CL_FLAG,    /* misclassified rows: flagged when a margin reaches its cell's threshold */
};

/* One thread's share of a pass: rows [i0, i1), its own buffers, counts and heaps. */
struct cl_part {
	const struct prob_src *ps;
	size_t i0, i1;
	enum cl_pass_kind kind;
	const double *t;
	int32_t *sugg;
	uint8_t *flag;
	uint64_t *cj;        /* CL_JOINT: c × c */
	const size_t *ncell; /* cells of given class l are ncell[l] .. ncell[l+1]-1 */
	struct cell *cells;  /* CL_MARGINS, CL_REST: this part's heaps; CL_FLAG: the merged ones */
	const uint8_t *full; /* CL_REST: the classes whose cells need every row */
	struct nn_err err;
	int rc;
};

/* True when pass w reads row i (for CL_JOINT, every row not excluded). */
static bool cl_reads(const struct cl_part *w, size_t i)
{
	const struct prob_src *ps = w->ps;
	int32_t l = ps->labels[i];
	if (ps->exclude && ps->exclude[i])
		return false;
	switch (w->kind) {
	case CL_JOINT:
		return true;
	case CL_REST:
		return w->sugg[i] == l && w->full[l];
	case CL_MARGINS:
	case CL_FLAG:
		return w->sugg[i] != l && w->ncell[l] < w->ncell[l + 1];
	}
	return false;
}

static void *cl_part_run(void *arg)
{
	struct cl_part *w = arg;
	const struct prob_src *ps = w->ps;
	size_t c = ps->c, block = issues_block_rows(c);
	double *rows = xmalloc(block * c * sizeof *rows);
	struct prob_scratch sc;
	prob_scratch_init(&sc, ps, block);
	for (size_t i0 = w->i0; i0 < w->i1 && w->rc == 0; i0 += block) {
		size_t nb = w->i1 - i0 < block ? w->i1 - i0 : block;
		if (w->kind == CL_JOINT)
			prob_src_rows(ps, i0, nb, rows, &sc);
		for (size_t r = 0; r < nb; r++) {
			size_t i = i0 + r;
			if (!cl_reads(w, i))
				continue;
			size_t l = (size_t)ps->labels[i];
			const double *p = rows + r * c;
			if (w->kind != CL_JOINT) { /* a few rows: one at a time */
				prob_src_rows(ps, i, 1, rows, &sc);
				p = rows;
			}
			if (w->kind == CL_JOINT) {
				size_t best, guess;
				cl_row_scan(p, w->t, c, &best, &guess);
				w->sugg[i] = (int32_t)best;
				if (guess < c)
					w->cj[l * c + guess]++;
			} else if (w->kind == CL_FLAG) {
				for (size_t k = w->ncell[l]; k < w->ncell[l + 1] && !w->flag[i];
				     k++)
					w->flag[i] = w->cells[k].size == w->cells[k].cap &&
					             p[w->cells[k].j] - p[l] >= w->cells[k].heap[0];
			} else {
				for (size_t k = w->ncell[l]; k < w->ncell[l + 1]; k++)
					heap_push(&w->cells[k], p[w->cells[k].j] - p[l]);
			}
		}
		w->rc = issues_tick(ps->prog, nb, &w->err);
	}
	free(rows);
	prob_scratch_free(&sc);
	return NULL;
}

/*
 * Runs a pass of the given kind over every row on nt threads (parts[0 .. nt), set up by the
 * caller but for their ranges); a part whose thread cannot start runs here. Returns 0, or -1
 * with err set.
 */
static int cl_pass(struct cl_part *parts, size_t nt, size_t n, enum cl_pass_kind kind,
                   struct nn_err *err)
{
	pthread_t tid[CL_MAX_THREADS];
	bool started[CL_MAX_THREADS] = {false};
	for (size_t k = 0; k < nt; k++) {
		parts[k].i0 = n * k / nt;
		parts[k].i1 = n * (k + 1) / nt;
		parts[k].kind = kind;
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

/* Moves every part's heap values into part 0's heaps (nc cells a part) and empties them. */
static void cl_merge_heaps(struct cell *cells, size_t nt, size_t nc, size_t used)
{
	for (size_t w = 1; w < nt; w++)
		for (size_t k = 0; k < used; k++) {
			struct cell *h = &cells[w * nc + k];
			for (size_t e = 0; e < h->size; e++)
				heap_push(&cells[k], h->heap[e]);
			h->size = 0;
		}
}

int issues_cl(const struct prob_src *ps, uint8_t *flag, double *score, int32_t *sugg,
              size_t *estimated, struct nn_err *err)
{
	const struct study *s = ps->s;
	size_t n = s->n, c = ps->c;
	const int32_t *lab = ps->labels;
	const uint8_t *ex = ps->exclude;
	double *row = xmalloc(c * sizeof *row);
	struct prob_scratch sc;
	prob_scratch_init(&sc, ps, 1);
	uint64_t *cnt = xcalloc(c, sizeof *cnt), *cj = xcalloc(c * c, sizeof *cj);
	uint64_t *prune = xcalloc(c * c, sizeof *prune);
	double *t = xcalloc(c, sizeof *t), *v = xcalloc(c, sizeof *v);
	size_t *ncell = xcalloc(c + 1, sizeof *ncell);
	uint8_t *full = xcalloc(c, sizeof *full);
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
		double pl = prob_src_p_label(ps, i, row, &sc);
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
	nt = n / nt < 4 * issues_block_rows(c) ? 1 : nt; /* small studies: one thread */
	parts = xcalloc(nt, sizeof *parts);
	for (size_t k = 0; k < nt; k++) {
		parts[k] =
		    (struct cl_part){.ps = ps, .t = t, .sugg = sugg, .flag = flag, .full = full};
		parts[k].cj = k ? xcalloc(c * c, sizeof *cj) : cj;
	}
	rc = cl_pass(parts, nt, n, CL_JOINT, err);
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
	*estimated = total; /* cleanlab's num_label_issues("off_diagonal_calibrated") */
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

	/* the n_ij-th largest margin p_j - p_i among the instances labelled i: from the
	 * misclassified rows when they fill the heap with positive margins, else from all */
	rc = cl_pass(parts, nt, n, CL_MARGINS, err);
	if (rc)
		goto out;
	cl_merge_heaps(cells, nt, nc, ncell[c]);
	bool any_full = false;
	for (size_t i = 0; i < c; i++)
		for (size_t k = ncell[i]; k < ncell[i + 1]; k++)
			if (cells[k].size < cells[k].cap || !(cells[k].heap[0] > 0)) {
				full[i] = 1;
				any_full = true;
			}
	if (any_full) {
		if (ps->prog)
			atomic_store(&ps->prog->total, 4 * n);
		rc = cl_pass(parts, nt, n, CL_REST, err);
		if (rc)
			goto out;
		cl_merge_heaps(cells, nt, nc, ncell[c]);
	}

	/* flagged: a margin reaches its cell's threshold, and argmax is not the label */
	for (size_t w = 0; w < nt; w++)
		parts[w].cells = cells;
	rc = cl_pass(parts, nt, n, CL_FLAG, err);
out:
	free(row);
	prob_scratch_free(&sc);
	free(cnt);
	free(cj);
	free(prune);
	free(t);
	free(v);
	free(ncell);
	free(full);
	free(cells);
	free(heaps);
	free(parts);
	return rc;
}
