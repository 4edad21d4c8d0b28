/* weights.c — weight heatmap grids and snapshot comparison, streamed one row at a time. */
#include "nncmp/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double wdiff_level_edges[WDIFF_LEVELS + 1] = {0.0, 0.1, 0.5, 1.0, 2.0};

/*
 * A matrix read as a sequence of lines, each contiguous in the file when it can be: the rows of
 * a C-order matrix, the columns of a Fortran-order one (then `transposed`). `v` is a private view
 * of the same mapping with the shape of the lines; it is never closed.
 */
struct lines {
	struct npy v;
	bool transposed;
	size_t rows, cols; /* the logical matrix; a vector is 1 × n */
	size_t n_lines, len;
};

static void lines_init(struct lines *L, const struct npy *a, bool allow_transpose)
{
	L->v = *a;
	L->v.map = NULL;
	L->v.path = NULL;
	L->transposed = false;
	if (a->h.ndim <= 1) {
		/* a vector is contiguous whatever its order flag says */
		L->rows = 1;
		L->cols = a->rows * a->cols;
		L->v.rows = 1;
		L->v.cols = L->cols;
		L->v.h.fortran = false;
	} else {
		L->rows = a->rows;
		L->cols = a->cols;
		if (a->h.fortran && (a->rows == 1 || a->cols == 1)) {
			L->v.h.fortran = false; /* both orders lay the elements out alike */
		} else if (a->h.fortran && allow_transpose) {
			L->transposed = true;
			L->v.rows = a->cols;
			L->v.cols = a->rows;
			L->v.h.fortran = false;
		}
	}
	L->n_lines = L->v.rows;
	L->len = L->v.cols;
}

size_t weights_block_start(size_t n, size_t g, size_t i)
{
	/* i·n / g without overflowing: i ≤ g ≤ WEIGHTS_GRID_MAX, and n is split as q·g + r */
	size_t q = n / g, r = n % g;
	return i * q + i * r / g;
}

/* Count, mean and sum of squared deviations, merged by Chan's parallel algorithm. */
struct moments {
	size_t n;
	double mean, m2;
};

static void moments_merge(struct moments *acc, const struct moments *b)
{
	if (b->n == 0)
		return;
	if (acc->n == 0) {
		*acc = *b;
		return;
	}
	double n = (double)(acc->n + b->n);
	double delta = b->mean - acc->mean;
	acc->mean += delta * (double)b->n / n;
	acc->m2 += b->m2 + delta * delta * (double)acc->n * (double)b->n / n;
	acc->n += b->n;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

double weights_colour_scale(const double *v, size_t n)
{
	double *abs_v = xcalloc(n ? n : 1, sizeof *abs_v);
	size_t m = 0;
	for (size_t k = 0; k < n; k++)
		if (isfinite(v[k]))
			abs_v[m++] = fabs(v[k]);
	double s = 0;
	if (m) {
		qsort(abs_v, m, sizeof *abs_v, cmp_double);
		double pos = 0.99 * (double)(m - 1);
		size_t lo = (size_t)pos;
		double t = pos - (double)lo;
		s = lo + 1 < m ? abs_v[lo] + (abs_v[lo + 1] - abs_v[lo]) * t : abs_v[lo];
		if (s == 0)
			s = abs_v[m - 1];
	}
	free(abs_v);
	return s;
}

int weights_grid(const struct npy *w, size_t max_rows, size_t max_cols, enum weights_summary how,
                 struct weights_grid *out, struct nn_err *err)
{
	memset(out, 0, sizeof *out);
	const char *name = w->path ? w->path : "weights";
	if (max_rows < 1 || max_cols < 1 || max_rows > WEIGHTS_GRID_MAX ||
	    max_cols > WEIGHTS_GRID_MAX)
		return nn_err_set(err, "%s: a grid of %zu x %zu cells (each side 1..%d)", name,
		                  max_rows, max_cols, WEIGHTS_GRID_MAX);
	struct lines L;
	lines_init(&L, w, true);
	if (L.rows == 0 || L.cols == 0)
		return nn_err_set(err, "%s: an empty matrix (%zu x %zu)", name, L.rows, L.cols);

	size_t gr = max_rows < L.rows ? max_rows : L.rows;
	size_t gc = max_cols < L.cols ? max_cols : L.cols;
	size_t ncell = gr * gc;
	double *cell = xcalloc(ncell, sizeof *cell);
	size_t *count = xcalloc(ncell, sizeof *count);
	double *buf = xcalloc(L.len, sizeof *buf);
	/* blocks along the line index and along a line, and how a (line, position) pair of
	 * blocks is laid out in the row-major grid */
	size_t g_line = L.transposed ? gc : gr, g_pos = L.transposed ? gr : gc;
	size_t stride_line = L.transposed ? 1 : gc, stride_pos = L.transposed ? gc : 1;

	struct moments total = {0};
	double lo = INFINITY, hi = -INFINITY;
	size_t zeros = 0, nonfinite = 0;
	size_t bl = 0, line_end = weights_block_start(L.n_lines, g_line, 1);
	for (size_t k = 0; k < L.n_lines; k++) {
		while (k >= line_end)
			line_end = weights_block_start(L.n_lines, g_line, ++bl + 1);
		npy_row_f64(&L.v, k, buf);
		struct moments lm = {0};
		double sum = 0;
		for (size_t bp = 0; bp < g_pos; bp++) {
			size_t p0 = weights_block_start(L.len, g_pos, bp);
			size_t p1 = weights_block_start(L.len, g_pos, bp + 1);
			size_t c = bl * stride_line + bp * stride_pos;
			for (size_t p = p0; p < p1; p++) {
				double v = buf[p];
				if (!isfinite(v)) {
					nonfinite++;
					continue;
				}
				lm.n++;
				sum += v;
				zeros += v == 0;
				if (v < lo)
					lo = v;
				if (v > hi)
					hi = v;
				if (how == WSUM_MEAN) {
					cell[c] += v;
				} else {
					double a = fabs(v), b = fabs(cell[c]);
					if (count[c] == 0 || a > b || (a == b && v > cell[c]))
						cell[c] = v;
				}
				count[c]++;
			}
		}
		if (lm.n) {
			lm.mean = sum / (double)lm.n;
			for (size_t p = 0; p < L.len; p++)
				if (isfinite(buf[p]))
					lm.m2 += (buf[p] - lm.mean) * (buf[p] - lm.mean);
		}
		moments_merge(&total, &lm);
	}
	free(buf);

	double cmin = INFINITY, cmax = -INFINITY;
	for (size_t c = 0; c < ncell; c++) {
		if (count[c] == 0)
			cell[c] = NAN;
		else if (how == WSUM_MEAN)
			cell[c] /= (double)count[c];
		if (count[c]) {
			cmin = cell[c] < cmin ? cell[c] : cmin;
			cmax = cell[c] > cmax ? cell[c] : cmax;
		}
	}
	free(count);

	out->rows = L.rows;
	out->cols = L.cols;
	out->grid_rows = gr;
	out->grid_cols = gc;
	out->summary = how;
	out->cell = cell;
	out->scale = weights_colour_scale(cell, ncell);
	out->cell_min = cmin <= cmax ? cmin : NAN;
	out->cell_max = cmin <= cmax ? cmax : NAN;
	out->n = total.n;
	out->n_nonfinite = nonfinite;
	if (total.n) {
		out->min = lo;
		out->max = hi;
		out->mean = total.mean;
		out->std = sqrt(total.m2 / (double)total.n);
		out->frac_zero = (double)zeros / (double)total.n;
	} else {
		out->min = out->max = out->mean = out->std = out->frac_zero = NAN;
	}
	return 0;
}

void weights_grid_free(struct weights_grid *g)
{
	free(g->cell);
	g->cell = NULL;
}

int wdiff_level(double x, double y)
{
	double den = fabs(x) + fabs(y);
	if (den == 0)
		return 0;
	double d = 2 * fabs(x - y) / den;
	int l = 0;
	while (l < WDIFF_LEVELS - 1 && d >= wdiff_level_edges[l + 1])
		l++;
	return l;
}

/* The bin j (0..bins−1) with e[j] ≤ v < e[j+1]; the last bin is closed. */
static size_t bin_of(const double *e, size_t bins, double v)
{
	size_t lo = 0, hi = bins - 1; /* e[lo] ≤ v always, since e[0] = 0 ≤ v */
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;
		if (e[mid] <= v)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* The shape as stored, e.g. "(8, 3, 3, 3)" or "(10,)". */
static void format_shape(const struct npy *a, char *buf, size_t size)
{
	if (a->h.ndim <= 1) {
		snprintf(buf, size, "(%zu,)", a->rows * a->cols);
		return;
	}
	size_t used = 0;
	for (int k = 0; k < a->h.ndim && used < size; k++) {
		int w = snprintf(buf + used, size - used, "%s%zu%s", k ? ", " : "(", a->h.dims[k],
		                 k + 1 == a->h.ndim ? ")" : "");
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* Equal shapes as stored: (8, 3, 3, 3) and (8, 27) hold the same count but are not the same. */
static bool same_shape(const struct npy *a, const struct npy *b)
{
	int na = a->h.ndim < 1 ? 1 : a->h.ndim, nb = b->h.ndim < 1 ? 1 : b->h.ndim;
	if (na != nb || a->rows != b->rows || a->cols != b->cols)
		return false;
	for (int k = 0; k < a->h.ndim && na > 2; k++)
		if (a->h.dims[k] != b->h.dims[k])
			return false;
	return true;
}

int weights_diff_layer(const char *name, const struct npy *a, const struct npy *b, size_t bins,
                       double decades, struct wdiff_layer *out, struct nn_err *err)
{
	memset(out, 0, sizeof *out);
	if (bins < 1 || bins > WDIFF_BINS_MAX)
		return nn_err_set(err, "%zu histogram bins (1..%d)", bins, WDIFF_BINS_MAX);
	if (!(decades > 0 && decades <= 300))
		return nn_err_set(err, "a histogram over %g decades (more than 0, at most 300)",
		                  decades);
	if (!same_shape(a, b)) {
		char sa[64], sb[64];
		format_shape(a, sa, sizeof sa);
		format_shape(b, sb, sizeof sb);
		return nn_err_set(err, "%s: shape %s, but %s has %s", a->path ? a->path : name, sa,
		                  b->path ? b->path : name, sb);
	}
	/* read both along columns only when both are Fortran-order; otherwise both by rows */
	bool both_fortran = a->h.fortran && b->h.fortran;
	struct lines la, lb;
	lines_init(&la, a, both_fortran);
	lines_init(&lb, b, both_fortran);
	if (la.transposed != lb.transposed) {
		lines_init(&la, a, false);
		lines_init(&lb, b, false);
	}
	double *xa = xcalloc(la.len ? la.len : 1, sizeof *xa);
	double *xb = xcalloc(la.len ? la.len : 1, sizeof *xb);

	/* pass 1: norms, the largest change, levels */
	double ss_d = 0, ss_a = 0, ss_b = 0, top = 0;
	for (size_t k = 0; k < la.n_lines; k++) {
		npy_row_f64(&la.v, k, xa);
		npy_row_f64(&lb.v, k, xb);
		double ld = 0, lsa = 0, lsb = 0; /* per line, then summed: less rounding */
		for (size_t p = 0; p < la.len; p++) {
			double x = xa[p], y = xb[p];
			if (!isfinite(x) || !isfinite(y)) {
				out->n_nonfinite++;
				continue;
			}
			double dw = fabs(x - y);
			ld += dw * dw;
			lsa += x * x;
			lsb += y * y;
			if (dw > top)
				top = dw;
			out->level_count[wdiff_level(x, y)]++;
			out->n++;
		}
		ss_d += ld;
		ss_a += lsa;
		ss_b += lsb;
	}

	double *e = xcalloc(bins + 1, sizeof *e);
	for (size_t j = 1; j <= bins; j++)
		e[j] = j == bins
		           ? top
		           : top * pow(10.0, -decades * (double)(bins - j) / (double)(bins - 1));
	size_t *hist = xcalloc(WDIFF_LEVELS * bins, sizeof *hist);

	/* pass 2: the histogram, now that its edges are known */
	for (size_t k = 0; k < la.n_lines; k++) {
		npy_row_f64(&la.v, k, xa);
		npy_row_f64(&lb.v, k, xb);
		for (size_t p = 0; p < la.len; p++) {
			double x = xa[p], y = xb[p];
			if (!isfinite(x) || !isfinite(y))
				continue;
			size_t j = top > 0 ? bin_of(e, bins, fabs(x - y)) : 0;
			hist[(size_t)wdiff_level(x, y) * bins + j]++;
		}
	}
	free(xa);
	free(xb);

	out->name = xstrdup(name);
	out->ndim = a->h.ndim < 1 ? 1 : a->h.ndim;
	if (a->h.ndim >= 1)
		memcpy(out->dims, a->h.dims, (size_t)a->h.ndim * sizeof *out->dims);
	else
		out->dims[0] = 1;
	out->rows = la.rows;
	out->cols = la.cols;
	npy_dtype_str(&a->h, out->dtype_a);
	npy_dtype_str(&b->h, out->dtype_b);
	out->l2 = sqrt(ss_d);
	out->norm_a = sqrt(ss_a);
	out->norm_b = sqrt(ss_b);
	out->relative =
	    out->norm_a > 0 ? out->l2 / out->norm_a : (out->l2 == 0 ? 0.0 : (double)INFINITY);
	out->max_abs_delta = top;
	out->bins = bins;
	out->bin_edges = e;
	out->hist = hist;
	return 0;
}

void weights_diff_layer_free(struct wdiff_layer *l)
{
	free(l->name);
	free(l->bin_edges);
	free(l->hist);
	memset(l, 0, sizeof *l);
}

static void add_skip(struct wdiff *d, const char *name, char *reason)
{
	d->skipped = xreallocarray(d->skipped, d->n_skipped + 1, sizeof *d->skipped);
	d->skipped[d->n_skipped].name = xstrdup(name);
	d->skipped[d->n_skipped].reason = reason;
	d->n_skipped++;
}

/* Compares layer `name` of a (index ia) and b (index ib, −1 when absent from either). */
static int diff_one(const struct model *a, int ia, const struct model *b, int ib, const char *name,
                    size_t bins, double decades, struct wdiff *d, struct nn_err *err)
{
	if (ia < 0 || ib < 0) {
		add_skip(d, name, xasprintf("only in %s", ia < 0 ? b->name : a->name));
		return 0;
	}
	const struct layer *la = &a->layers[ia], *lb = &b->layers[ib];
	if (!la->weights_path || !lb->weights_path) {
		add_skip(
		    d, name,
		    !la->weights_path && !lb->weights_path
		        ? xstrdup("no weights in either model")
		        : xasprintf("no weights in %s", !la->weights_path ? a->name : b->name));
		return 0;
	}
	if (!same_shape(&la->weights, &lb->weights)) {
		char sa[64], sb[64];
		format_shape(&la->weights, sa, sizeof sa);
		format_shape(&lb->weights, sb, sizeof sb);
		add_skip(d, name, xasprintf("shape %s in %s, %s in %s", sa, a->name, sb, b->name));
		return 0;
	}
	struct wdiff_layer l;
	if (weights_diff_layer(name, &la->weights, &lb->weights, bins, decades, &l, err) < 0)
		return -1;
	d->layers = xreallocarray(d->layers, d->n_layers + 1, sizeof *d->layers);
	d->layers[d->n_layers++] = l;
	return 0;
}

int weights_diff_models(const struct model *a, const struct model *b, const char *layer,
                        size_t bins, double decades, struct wdiff *out, struct nn_err *err)
{
	memset(out, 0, sizeof *out);
	if (bins < 1 || bins > WDIFF_BINS_MAX)
		return nn_err_set(err, "%zu histogram bins (1..%d)", bins, WDIFF_BINS_MAX);
	if (!(decades > 0 && decades <= 300))
		return nn_err_set(err, "a histogram over %g decades (more than 0, at most 300)",
		                  decades);
	int rc = 0;
	if (layer) {
		int ia = study_layer_index(a, layer), ib = study_layer_index(b, layer);
		if (ia < 0 && ib < 0)
			return nn_err_set(err, "no layer '%s' in %s or %s", layer, a->name,
			                  b->name);
		rc = diff_one(a, ia, b, ib, layer, bins, decades, out, err);
	} else {
		for (size_t i = 0; rc == 0 && i < a->n_layers; i++) {
			const char *name = a->layers[i].name;
			rc = diff_one(a, (int)i, b, study_layer_index(b, name), name, bins, decades,
			              out, err);
		}
		for (size_t i = 0; rc == 0 && i < b->n_layers; i++)
			if (study_layer_index(a, b->layers[i].name) < 0)
				rc = diff_one(a, -1, b, (int)i, b->layers[i].name, bins, decades,
				              out, err);
	}
	if (rc < 0)
		weights_diff_free(out);
	return rc;
}

bool weights_comparable(const struct model *a, const struct model *b)
{
	for (size_t i = 0; i < a->n_layers; i++) {
		const struct layer *la = &a->layers[i];
		int j = study_layer_index(b, la->name);
		if (la->weights_path && j >= 0 && b->layers[j].weights_path &&
		    same_shape(&la->weights, &b->layers[j].weights))
			return true;
	}
	return false;
}

void weights_diff_free(struct wdiff *d)
{
	for (size_t i = 0; i < d->n_layers; i++)
		weights_diff_layer_free(&d->layers[i]);
	for (size_t i = 0; i < d->n_skipped; i++) {
		free(d->skipped[i].name);
		free(d->skipped[i].reason);
	}
	free(d->layers);
	free(d->skipped);
	memset(d, 0, sizeof *d);
}
