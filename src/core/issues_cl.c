/*
 * issues_cl.c — confident learning (Northcutt, Jiang & Chuang 2021) as cleanlab 2.9's
 * find_label_issues computes it by default (filter_by="prune_by_noise_rate", frac_noise 1,
 * min_examples_per_class 1; tools/bench_triage.py's cleanlab_default writes the same steps in
 * NumPy), streamed. The thresholds come from the derived p_label without a pass. One pass over
 * every row counts the confident joint and finds each row's argmax. The pruning sets (for every
 * label i and class j, the n_ij instances labelled i of largest margin p_j - p_i, ties to the
 * lower index) are then found with bounded heaps from the misclassified rows alone: a correctly
 * classified row has no positive margin, so when a cell's heap fills with positive margins it
 * is exact. Only a cell that does not (rare) needs the other rows of its class. A
 * misclassified row is flagged when it is in one of its class's heaps (read off the heaps) and
 * p_label + 1e-6 is not its first maximum (noted during the first pass): the probabilities are
 * read once in full and once for the misclassified rows.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nncmp/issues_internal.h"

/* cleanlab's tolerance: p_j >= t_j - 1e-6 counts as confident; its least threshold 2e-6. */
#define CL_THRESHOLD_SLACK 1e-6
#define CL_THRESHOLD_MIN   2e-6
/* cleanlab's tolerance for the label: not flagged when p_label + 1e-6 is the first maximum. */
#define CL_LABEL_SLACK 1e-6
/* The passes run on up to this many threads, each over its own range of rows. */
#define CL_MAX_THREADS 8
/* Models whose rows the joint's pass averages in registers (more: a block at a time). */
#define CL_FUSED_MODELS 64
/* Independent lanes in the row scan: one vector of four doubles (GCC and Clang extensions). */
#define CL_LANES 4
typedef double cl_v4d __attribute__((vector_size(4 * sizeof(double))));
typedef int64_t cl_v4l __attribute__((vector_size(4 * sizeof(int64_t))));

/* A margin p_j - p_i and its row: larger margins first, then lower rows (a total order). */
struct mrow {
	double m;
	size_t i;
};

static bool mrow_before(struct mrow a, struct mrow b)
{
	return a.m > b.m || (a.m == b.m && a.i < b.i);
}

/* One off-diagonal cell (i, j) to prune: a min-heap of the n_ij first rows by margin. */
struct cell {
	int32_t j;
	size_t cap, size;
	struct mrow *heap;
};

static void heap_push(struct cell *h, struct mrow v)
{
	if (h->size < h->cap) {
		size_t k = h->size++;
		while (k > 0 && mrow_before(h->heap[(k - 1) / 2], v)) {
			h->heap[k] = h->heap[(k - 1) / 2];
			k = (k - 1) / 2;
		}
		h->heap[k] = v;
		return;
	}
	if (!mrow_before(v, h->heap[0]))
		return;
	size_t k = 0, n = h->size;
	for (;;) {
		size_t a = 2 * k + 1, b = a + 1, m = k;
		struct mrow mv = v;
		if (a < n && mrow_before(mv, h->heap[a]))
			m = a, mv = h->heap[a];
		if (b < n && mrow_before(mv, h->heap[b]))
			m = b;
		if (m == k)
			break;
		h->heap[k] = h->heap[m];
		k = m;
	}
	h->heap[k] = v;
}

/* NumPy's pairwise sum of a[0 .. n) for n <= 8192 (8 accumulators over blocks of 128). */
static double np_pairwise(const double *a, size_t n)
{
	if (n < 8) {
		double r = 0;
		for (size_t i = 0; i < n; i++)
			r += a[i];
		return r;
	}
	if (n <= 128) {
		double r[8];
		for (size_t k = 0; k < 8; k++)
			r[k] = a[k];
		size_t i = 8;
		for (; i < n - n % 8; i += 8)
			for (size_t k = 0; k < 8; k++)
				r[k] += a[i + k];
		double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
		for (; i < n; i++)
			res += a[i];
		return res;
	}
	size_t n2 = n / 2;
	n2 -= n2 % 8;
	return np_pairwise(a, n2) + np_pairwise(a + n2, n - n2);
}

/*
 * The sum NumPy's np.sum gives for a contiguous float64 array (blocks of 8192, its buffer,
 * each summed pairwise, added in order): cleanlab's calibration divides by it, and a
 * calibrated value of exactly k + 1/2 rounds to even, so the last bit matters.
 */
static double np_sum(const double *a, size_t n)
{
	double r = 0;
	for (size_t i = 0; i < n; i += 8192)
		r += np_pairwise(a + i, n - i < 8192 ? n - i : 8192);
	return r;
}

/* A sort key and its column. */
struct keyed {
	double key;
	size_t j;
};

/* Ascending by key, then by column: NumPy's stable argsort. */
static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	return x->key < y->key ? -1 : x->key > y->key ? 1 : (x->j > y->j) - (x->j < y->j);
}

/*
 * Rounds v[0 .. c) to integers out[] whose sum is v's, rounded, as cleanlab's
 * round_preserving_row_totals does: each to nearest (ties to even), then, while the total is
 * off, moves by one the entries that rounding moved most the other way (adding: the largest
 * v - rounded first, the higher column on ties; taking away: the smallest first, the lower
 * column on ties), at most every entry per round. order is c scratch entries.
 */
static void round_keeping_total(const double *v, size_t c, int64_t *out, struct keyed *order)
{
	double want = nearbyint(np_pairwise(v, c)), sum = 0;
	for (size_t j = 0; j < c; j++) {
		out[j] = (int64_t)nearbyint(v[j]);
		sum += (double)out[j];
	}
	while (fabs(sum - want) > 1e-6) {
		int64_t step = want > sum ? 1 : -1;
		double gap = fabs(want - sum);
		size_t m = gap < (double)c ? (size_t)gap : c;
		for (size_t j = 0; j < c; j++)
			order[j] = (struct keyed){v[j] - (double)out[j], j};
		qsort(order, c, sizeof *order, keyed_cmp);
		for (size_t k = 0; k < m; k++)
			out[order[step > 0 ? c - 1 - k : k].j] += step;
		sum = 0;
		for (size_t j = 0; j < c; j++)
			sum += (double)out[j];
	}
}

/*
 * From the confident joint cj (c × c, its diagonal at least 1) and the label counts cnt to the
 * number of instances to prune in every cell, prune (c × c, the diagonal 0), as cleanlab does:
 * each row scaled to its label count, the whole to N, each row rounded keeping its total (the
 * calibrated joint; *estimated, its off-diagonal sum, is cleanlab's num_label_issues
 * "off_diagonal_calibrated"); then a class whose diagonal rounded to 0 keeps one instance, the
 * difference taken evenly from the other nonzero cells of its row, and truncated.
 */
static void cl_prune_counts(const uint64_t *cj, const uint64_t *cnt, size_t c, int64_t *prune,
                            size_t *estimated)
{
	double *cal = xmalloc(c * c * sizeof *cal);
	struct keyed *order = xmalloc(c * sizeof *order);
	uint64_t n = 0;
	for (size_t i = 0; i < c; i++) {
		uint64_t rs = 0;
		for (size_t j = 0; j < c; j++)
			rs += cj[i * c + j];
		double d = rs ? (double)rs : 1e-100;
		for (size_t j = 0; j < c; j++)
			cal[i * c + j] = (double)cj[i * c + j] / d * (double)cnt[i];
		n += cnt[i];
	}
	double total = np_sum(cal, c * c);
	total = total > 1e-100 ? total : 1e-100;
	for (size_t e = 0; e < c * c; e++)
		cal[e] = cal[e] / total * (double)n;
	int64_t off = 0;
	for (size_t i = 0; i < c; i++) {
		int64_t *r = prune + i * c;
		round_keeping_total(cal + i * c, c, r, order);
		size_t nonzero = 0;
		for (size_t j = 0; j < c; j++) {
			nonzero += r[j] != 0;
			off += j != i ? r[j] : 0;
		}
		double diag = (double)r[i], raised = diag > 1 ? diag : 1;
		double others = nonzero > 2 ? (double)(nonzero - 1) : 1;
		double take = (raised - diag) / others;
		for (size_t j = 0; j < c; j++) {
			double x = (double)r[j] - take;
			r[j] = j == i || !(x > 0) ? 0 : (int64_t)x;
		}
	}
	*estimated = off > 0 ? (size_t)off : 0;
	free(cal);
	free(order);
}

/*
 * Scans one row of probabilities p[c] (every p_j >= 0): *best, its argmax (the first maximum),
 * and *guess, the class it counts in in the confident joint (confident: p_j >= tc_j): its only
 * confident class, the argmax when several are confident (cleanlab's rule, even when the argmax
 * itself is not), c when none is. The maximum and the confident count (and the sum of the
 * confident columns, which is the column when there is one) come from CL_LANES independent
 * lanes, written as vectors: GCC at -O2 kept the lanes of the plain-array loop in memory and
 * ran it scalar, which cost more than reading the probabilities. Every lane operation is exact
 * (a maximum, sums of small integers), so the result does not depend on the lanes.
 */
NN_VECTOR_CLONES
static void cl_row_scan(const double *p, const double *tc, size_t c, size_t *best, size_t *guess)
{
	const cl_v4d one = {1, 1, 1, 1}, step = {CL_LANES, CL_LANES, CL_LANES, CL_LANES};
	cl_v4d top = {-1, -1, -1, -1}, ncf = {0, 0, 0, 0}, jcf = ncf, at = ncf;
	cl_v4d jv = {0, 1, 2, 3}; /* the lanes' columns as doubles: no integer conversion */
	size_t j = 0;
	for (; j + CL_LANES <= c; j += CL_LANES, jv += step) {
		cl_v4d v, t;
		memcpy(&v, p + j, sizeof v);
		memcpy(&t, tc + j, sizeof t);
		cl_v4l gt = v > top, cf = v >= t; /* all ones where true */
		top = (cl_v4d)(((cl_v4l)v & gt) | ((cl_v4l)top & ~gt));
		at = (cl_v4d)(((cl_v4l)jv & gt) | ((cl_v4l)at & ~gt)); /* where top was first met */
		ncf += (cl_v4d)((cl_v4l)one & cf);
		jcf += (cl_v4d)((cl_v4l)jv & cf);
	}
	double tl[CL_LANES], nl[CL_LANES], jl[CL_LANES], al[CL_LANES];
	memcpy(tl, &top, sizeof tl);
	memcpy(al, &at, sizeof al);
	memcpy(nl, &ncf, sizeof nl);
	memcpy(jl, &jcf, sizeof jl);
	double jd = (double)j;
	for (size_t k = 0; j + k < c; k++) {
		double v = p[j + k];
		bool cf = v >= tc[j + k];
		al[k] = v > tl[k] ? jd + (double)k : al[k];
		tl[k] = v > tl[k] ? v : tl[k];
		nl[k] += cf ? 1.0 : 0.0;
		jl[k] += cf ? jd + (double)k : 0.0;
	}
	double b = -1, nc = 0, jc = 0;
	for (size_t k = 0; k < CL_LANES; k++) {
		b = tl[k] > b ? tl[k] : b;
		nc += nl[k];
		jc += jl[k];
	}
	/* the first maximum: the least column where a lane holding it first met it (a lane met
	 * its maximum first where it rose to it); when none rose above -1, the first column
	 * equal to b, or the last */
	double first = (double)c;
	for (size_t k = 0; k < CL_LANES; k++)
		if (tl[k] == b && tl[k] > -1 && al[k] < first)
			first = al[k];
	size_t bi = 0;
	if (first < (double)c)
		bi = (size_t)first;
	else
		while (bi + 1 < c && p[bi] != b)
			bi++;
	*best = bi;
	*guess = nc > 1.5 ? bi : nc > 0.5 ? (size_t)jc : c;
}

typedef float cl_v4f __attribute__((vector_size(4 * sizeof(float))));

/*
 * cl_row_scan over the mean of nm float32 rows f[m][0 .. c) (prob_src_rows's mean: summed in
 * model order, divided by nm) read once, without a division per value: the lanes compare the
 * sums S, and ts holds the sums at which each class becomes confident (prob_sum_at_least of its
 * threshold). The first maximum of the sums is the mean's when no other sum reaches the least
 * sum whose mean equals the maximum's (else -1: a tie, or two sums whose means are equal).
 * *beyond receives cl_beyond_label for label l, from the maximum alone: the first maximum is
 * above p_l + 1e-6, or equal to it in a lower column. Returns -1 without a result when a sum is
 * NaN, none is above -1 or that test fails (the general rules then need the row), else 0.
 */
NN_VECTOR_CLONES
static int cl_mean_scan(const float *const *f, size_t nm, const double *ts, size_t c, size_t l,
                        size_t *best, size_t *guess, bool *beyond)
{
	const cl_v4d one = {1, 1, 1, 1}, step = {CL_LANES, CL_LANES, CL_LANES, CL_LANES};
	cl_v4d top = {-1, -1, -1, -1}, sec = top, ncf = {0, 0, 0, 0}, jcf = ncf, at = ncf;
	cl_v4d jv = {0, 1, 2, 3};
	cl_v4l nan = {0, 0, 0, 0};
	size_t j = 0;
	for (; j + CL_LANES <= c; j += CL_LANES, jv += step) {
		cl_v4f x;
		memcpy(&x, f[0] + j, sizeof x);
		cl_v4d v = __builtin_convertvector(x, cl_v4d), t;
		for (size_t m = 1; m < nm; m++) {
			memcpy(&x, f[m] + j, sizeof x);
			v += __builtin_convertvector(x, cl_v4d);
		}
		memcpy(&t, ts + j, sizeof t);
		nan |= v != v;
		cl_v4l gt = v > top, cf = v >= t;
		cl_v4d lo = (cl_v4d)(((cl_v4l)top & gt) | ((cl_v4l)v & ~gt)); /* min(v, top) */
		cl_v4l up = lo > sec;
		sec = (cl_v4d)(((cl_v4l)lo & up) | ((cl_v4l)sec & ~up));
		top = (cl_v4d)(((cl_v4l)v & gt) | ((cl_v4l)top & ~gt));
		at = (cl_v4d)(((cl_v4l)jv & gt) | ((cl_v4l)at & ~gt)); /* where top was first met */
		ncf += (cl_v4d)((cl_v4l)one & cf);
		jcf += (cl_v4d)((cl_v4l)jv & cf);
	}
	double tl[CL_LANES], sl[CL_LANES], nl[CL_LANES], jl[CL_LANES], al[CL_LANES];
	memcpy(tl, &top, sizeof tl);
	memcpy(sl, &sec, sizeof sl);
	memcpy(al, &at, sizeof al);
	memcpy(nl, &ncf, sizeof nl);
	memcpy(jl, &jcf, sizeof jl);
	bool any_nan = nan[0] | nan[1] | nan[2] | nan[3];
	double jd = (double)j;
	for (size_t k = 0; j + k < c; k++) {
		double v = f[0][j + k];
		for (size_t m = 1; m < nm; m++)
			v += f[m][j + k];
		any_nan |= v != v;
		bool cf = v >= ts[j + k];
		double lo = v > tl[k] ? tl[k] : v;
		sl[k] = lo > sl[k] ? lo : sl[k];
		al[k] = v > tl[k] ? jd + (double)k : al[k];
		tl[k] = v > tl[k] ? v : tl[k];
		nl[k] += cf ? 1.0 : 0.0;
		jl[k] += cf ? jd + (double)k : 0.0;
	}
	double b = -1, nc = 0, jc = 0;
	for (size_t k = 0; k < CL_LANES; k++) {
		b = tl[k] > b ? tl[k] : b;
		nc += nl[k];
		jc += jl[k];
	}
	double first = (double)c;
	size_t kb = CL_LANES;
	for (size_t k = 0; k < CL_LANES; k++)
		if (tl[k] == b && tl[k] > -1 && al[k] < first) {
			first = al[k];
			kb = k;
		}
	if (any_nan || !(first < (double)c))
		return -1;
	double run = -1; /* the largest sum but the maximum's own */
	for (size_t k = 0; k < CL_LANES; k++) {
		run = k != kb && tl[k] > run ? tl[k] : run;
		run = sl[k] > run ? sl[k] : run;
	}
	double nmd = (double)nm, qb = nm > 1 ? b / nmd : b;
	if (nm > 1 && !(run < prob_sum_at_least(qb, nmd)))
		return -1;
	double pl = f[0][l];
	for (size_t m = 1; m < nm; m++)
		pl += f[m][l];
	pl = nm > 1 ? pl / nmd : pl;
	double lb = pl + CL_LABEL_SLACK;
	if (!(lb > pl))
		return -1;
	*best = (size_t)first;
	*guess = nc > 1.5 ? *best : nc > 0.5 ? (size_t)jc : c;
	*beyond = qb > lb || (qb == lb && *best < l);
	return 0;
}

/* Column j of the mean of nm float32 rows, as prob_src_rows makes it. */
static double cl_mean_at(const float *const *f, size_t nm, size_t j)
{
	double v = f[0][j];
	for (size_t m = 1; m < nm; m++)
		v += f[m][j];
	return nm > 1 ? v / (double)nm : v;
}

/* True when p_label + 1e-6 is not p's first maximum (cleanlab's last condition to flag). */
static bool cl_beyond_label(const double *p, size_t c, size_t l)
{
	double b = p[l] + CL_LABEL_SLACK;
	for (size_t j = 0; j < c; j++)
		if (j != l && (p[j] > b || (j < l && p[j] == b)))
			return true;
	return false;
}

/* Which rows a pass reads, and what it does with them. */
enum cl_pass_kind {
	CL_JOINT,   /* every row: the argmax and the confident joint */
	CL_MARGINS, /* misclassified rows: their margins into the heaps */
	CL_REST,    /* correctly classified rows of the classes in `full`: the same */
};

/* Bits of cl_part.mark, a byte per row. */
enum {
	CL_BEYOND = 1, /* p_label + 1e-6 is not the first maximum */
	CL_IN = 2
}; /* the row is in one of its class's heaps */

/* One thread's share of a pass: rows [i0, i1), its own buffers, counts and heaps. */
struct cl_part {
	const struct prob_src *ps;
	size_t i0, i1;
	enum cl_pass_kind kind;
	const double *tc; /* the confidence thresholds t_j - 1e-6 */
	const double *ts; /* the sums of nm values whose mean reaches tc (NULL: none found) */
	int32_t *sugg;
	uint8_t *mark;       /* CL_JOINT sets CL_BEYOND of the misclassified rows */
	uint64_t *cj;        /* CL_JOINT: c × c */
	const size_t *ncell; /* cells of given class l are ncell[l] .. ncell[l+1]-1 */
	struct cell *cells;  /* CL_MARGINS, CL_REST: this part's heaps */
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
	/* the joint from float32 rows in place: each row's mean made and scanned in registers,
	 * and made again as a row only for a misclassified row */
	bool in_place = c > 0 && ps->nm <= CL_FUSED_MODELS;
	const float *base[CL_FUSED_MODELS], *f[CL_FUSED_MODELS];
	for (size_t k = 0; in_place && k < ps->nm; k++) {
		in_place = probs_in_place(ps->m[k]);
		base[k] = in_place ? (const float *)(const void *)ps->m[k]->probs.data : NULL;
	}
	bool fused = in_place && w->kind == CL_JOINT && w->ts;
	for (size_t i0 = w->i0; i0 < w->i1 && w->rc == 0; i0 += block) {
		size_t nb = w->i1 - i0 < block ? w->i1 - i0 : block;
		bool have_rows = false;
		for (size_t r = 0; r < nb; r++) {
			size_t i = i0 + r;
			if (!cl_reads(w, i))
				continue;
			size_t l = (size_t)ps->labels[i];
			size_t best, guess;
			bool scanned = false, beyond = false;
			if (fused) {
				for (size_t k = 0; k < ps->nm; k++)
					f[k] = base[k] + i * c;
				scanned = cl_mean_scan(f, ps->nm, w->ts, c, l, &best, &guess,
				                       &beyond) == 0;
			}
			double *p = rows + r * c;
			if (w->kind != CL_JOINT && in_place) { /* the cells' columns only */
				for (size_t k = 0; k < ps->nm; k++)
					f[k] = base[k] + i * c;
				double pl = cl_mean_at(f, ps->nm, l);
				for (size_t k = w->ncell[l]; k < w->ncell[l + 1]; k++)
					heap_push(
					    &w->cells[k],
					    (struct mrow){
					        cl_mean_at(f, ps->nm, (size_t)w->cells[k].j) - pl,
					        i});
				continue;
			}
			if (w->kind != CL_JOINT) { /* a few rows: one at a time */
				prob_src_rows(ps, i, 1, rows, &sc);
				p = rows;
			} else if (!fused && !have_rows) { /* the block's mean rows */
				prob_src_rows(ps, i0, nb, rows, &sc);
				have_rows = true;
			} else if (fused && !scanned) { /* this row's */
				prob_src_rows(ps, i, 1, p, &sc);
			}
			if (w->kind == CL_JOINT) {
				if (!scanned)
					cl_row_scan(p, w->tc, c, &best, &guess);
				w->sugg[i] = (int32_t)best;
				if (guess < c)
					w->cj[l * c + guess]++;
				if (best != l && (scanned ? beyond : cl_beyond_label(p, c, l)))
					w->mark[i] = CL_BEYOND;
			} else {
				for (size_t k = w->ncell[l]; k < w->ncell[l + 1]; k++)
					heap_push(&w->cells[k],
					          (struct mrow){p[w->cells[k].j] - p[l], i});
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
	int64_t *prune = xcalloc(c * c, sizeof *prune);
	double *t = xcalloc(c, sizeof *t);
	size_t *ncell = xcalloc(c + 1, sizeof *ncell);
	uint8_t *full = xcalloc(c, sizeof *full);
	struct cell *cells = NULL;
	struct mrow *heaps = NULL;
	struct cl_part *parts = NULL;
	uint8_t *mark = xcalloc(n ? n : 1, sizeof *mark);
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
	for (size_t j = 0; j < c; j++) { /* cleanlab: 2 for a class nobody has, at least 2e-6 */
		t[j] = cnt[j] ? t[j] / (double)cnt[j] : 2.0;
		t[j] = (t[j] > CL_THRESHOLD_MIN ? t[j] : CL_THRESHOLD_MIN) - CL_THRESHOLD_SLACK;
	}
	/* the same thresholds on the sums of the models' values, for the fused scan */
	double *ts = xmalloc((c ? c : 1) * sizeof *ts);
	bool have_ts = true;
	for (size_t j = 0; j < c; j++) {
		ts[j] = ps->nm > 1 ? prob_sum_at_least(t[j], (double)ps->nm) : t[j];
		have_ts &= !isnan(ts[j]);
	}

	/* the confident joint, and every instance's argmax */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = cpus > 1 ? (size_t)cpus : 1;
	nt = nt > CL_MAX_THREADS ? CL_MAX_THREADS : nt;
	nt = n / nt < 4 * issues_block_rows(c) ? 1 : nt; /* small studies: one thread */
	parts = xcalloc(nt, sizeof *parts);
	for (size_t k = 0; k < nt; k++) {
		parts[k] =
		    (struct cl_part){.ps = ps, .tc = t, .sugg = sugg, .mark = mark, .full = full};
		parts[k].ts = have_ts ? ts : NULL;
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

	/* calibrate, round, and lay out one heap per off-diagonal cell to prune (none in a class
	 * of at most one instance) */
	for (size_t i = 0; i < c; i++)
		if (cj[i * c + i] < 1)
			cj[i * c + i] = 1;
	cl_prune_counts(cj, cnt, c, prune, estimated);
	size_t total = 0;
	for (size_t i = 0; i < c; i++) {
		for (size_t j = 0; j < c; j++)
			if (cnt[i] > 1 && prune[i * c + j] > 0) {
				ncell[i + 1]++;
				total += (size_t)prune[i * c + j];
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
				if (cnt[i] > 1 && prune[i * c + j] > 0) {
					cells[w * nc + k] = (struct cell){
					    (int32_t)j, (size_t)prune[i * c + j], 0, heaps + off};
					off += (size_t)prune[i * c + j];
					k++;
				}
		parts[w].ncell = ncell;
		parts[w].cells = cells + w * nc;
	}

	/* the n_ij first instances labelled i by margin p_j - p_i (ties to the lower row): from
	 * the misclassified rows when they fill the heap with positive margins, else from all */
	rc = cl_pass(parts, nt, n, CL_MARGINS, err);
	if (rc)
		goto out;
	cl_merge_heaps(cells, nt, nc, ncell[c]);
	bool any_full = false;
	for (size_t i = 0; i < c; i++)
		for (size_t k = ncell[i]; k < ncell[i + 1]; k++)
			if (cells[k].size < cells[k].cap || !(cells[k].heap[0].m > 0)) {
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

	/* flagged: a misclassified row in a cell's first n_ij (the merged heaps hold exactly those,
	 * and a row only enters the heaps of its own class), and p_label + 1e-6 is not its first
	 * maximum */
	for (size_t k = 0; k < ncell[c]; k++)
		for (size_t e = 0; e < cells[k].size; e++)
			mark[cells[k].heap[e].i] |= CL_IN;
	for (size_t i = 0; i < n; i++) {
		size_t l = (size_t)lab[i];
		if (!(ex && ex[i]) && sugg[i] != lab[i] && ncell[l] < ncell[l + 1])
			flag[i] = mark[i] == (CL_BEYOND | CL_IN);
	}
	rc = issues_tick(ps->prog, n, err);
out:
	free(row);
	prob_scratch_free(&sc);
	free(cnt);
	free(cj);
	free(prune);
	free(t);
	free(ts);
	free(ncell);
	free(full);
	free(cells);
	free(heaps);
	free(parts);
	free(mark);
	return rc;
}
