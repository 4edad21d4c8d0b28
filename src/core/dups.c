/* dups.c — near-duplicate pairs by cosine similarity, block by block with GEMM (dups.h). */
#include "nncmp/dups.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/image.h"
#include "nncmp/linalg.h"
#include "nncmp/matrices.h"

/* Floats in one block of rows, and the largest block: 2048 × 2048 products stay 16 MB. */
#define BLOCK_FLOATS (4u << 20)
#define BLOCK_MAX    2048

/* Where rows come from: a layer's activations, or a byte matrix of pixels. */
struct rows_src {
	const struct npy *act;
	const uint8_t *pix;  /* n × dim */
	const uint8_t *skip; /* pixels: 1 for a row with no readable image (left out) */
	size_t n, dim;
};

/* Reads rows idx[k0 .. k0+nb) as float32 into out (nb × dim). */
static void src_read(const struct rows_src *src, const uint32_t *idx, size_t k0, size_t nb,
                     float *out)
{
	if (src->act) {
		matrices_read_rows(src->act, idx, k0, nb, out);
		return;
	}
	for (size_t r = 0; r < nb; r++) {
		const uint8_t *p = src->pix + (size_t)(idx ? idx[k0 + r] : k0 + r) * src->dim;
		for (size_t j = 0; j < src->dim; j++)
			out[r * src->dim + j] = p[j];
	}
}

/* Row i as double, into out (dim). */
static void src_row_f64(const struct rows_src *src, size_t i, double *out)
{
	if (src->act) {
		npy_row_f64(src->act, i, out);
		return;
	}
	for (size_t j = 0; j < src->dim; j++)
		out[j] = src->pix[i * src->dim + j];
}

/* The heap of kept pairs: a min-heap under `better`, so the root is the worst one kept. */
struct heap {
	struct dups_pair *v;
	size_t n, cap; /* cap 0: unbounded (a growing array, made a heap of everything) */
	size_t alloc;
};

/* True when p ranks before q: more similar, then lower a, then lower b. */
static bool better(const struct dups_pair *p, const struct dups_pair *q)
{
	if (p->cosine != q->cosine)
		return p->cosine > q->cosine;
	return p->a != q->a ? p->a < q->a : p->b < q->b;
}

static void heap_sift_down(struct heap *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, w = i;
		if (l < h->n && better(&h->v[w], &h->v[l]))
			w = l;
		if (r < h->n && better(&h->v[w], &h->v[r]))
			w = r;
		if (w == i)
			return;
		struct dups_pair t = h->v[i];
		h->v[i] = h->v[w];
		h->v[w] = t;
		i = w;
	}
}

/* Offers a pair: kept while there is room, else in place of the worst kept when it is better. */
static void heap_offer(struct heap *h, struct dups_pair p)
{
	if (h->cap && h->n == h->cap) {
		if (!better(&p, &h->v[0]))
			return;
		h->v[0] = p;
		heap_sift_down(h, 0);
		return;
	}
	if (h->n == h->alloc) {
		h->alloc = h->alloc ? 2 * h->alloc : 64;
		if (h->cap && h->alloc > h->cap)
			h->alloc = h->cap;
		h->v = xreallocarray(h->v, h->alloc, sizeof *h->v);
	}
	size_t i = h->n++;
	h->v[i] = p;
	if (!h->cap)
		return; /* unbounded: sorted once at the end */
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (!better(&h->v[up], &h->v[i]))
			break;
		struct dups_pair t = h->v[i];
		h->v[i] = h->v[up];
		h->v[up] = t;
		i = up;
	}
}

static int pair_cmp(const void *x, const void *y)
{
	const struct dups_pair *p = x, *q = y;
	return better(p, q) ? -1 : better(q, p) ? 1 : 0;
}

/* Everything one search needs while it runs. */
struct search {
	const struct rows_src *src;
	const struct dups_opts *o;
	const int32_t *split; /* split id per instance (across_splits), else NULL */
	float *inv;           /* 1 / norm per instance; 0 for a row left out */
	size_t block;
	float thr;
	float *a, *b, *c; /* block × dim, block × dim, block × block */
	struct heap heap;
	size_t count;
	struct nn_progress *prog;
};

/* Reads and normalizes rows list[k0 .. k0+nb) into out. */
static void read_unit(struct search *sr, const uint32_t *list, size_t k0, size_t nb, float *out)
{
	size_t dim = sr->src->dim;
	src_read(sr->src, list, k0, nb, out);
	for (size_t r = 0; r < nb; r++) {
		float f = sr->inv[list[k0 + r]];
		float *row = out + r * dim;
		for (size_t j = 0; j < dim; j++)
			row[j] *= f;
	}
}

/* The pairs among the m instances of list (ascending). Returns 0, or -1 when cancelled. */
static int search_group(struct search *sr, const uint32_t *list, size_t m)
{
	size_t dim = sr->src->dim, B = sr->block;
	for (size_t i0 = 0; i0 < m; i0 += B) {
		size_t bi = m - i0 < B ? m - i0 : B;
		read_unit(sr, list, i0, bi, sr->a);
		for (size_t j0 = i0; j0 < m; j0 += B) {
			size_t bj = m - j0 < B ? m - j0 : B;
			const float *rhs = sr->a;
			if (j0 != i0) {
				read_unit(sr, list, j0, bj, sr->b);
				rhs = sr->b;
			}
			linalg_sgemm(false, true, bi, bj, dim, 1.0f, sr->a, dim, rhs, dim, 0.0f,
			             sr->c, bj);
			for (size_t r = 0; r < bi; r++) {
				const float *row = sr->c + r * bj;
				uint32_t ia = list[i0 + r];
				for (size_t q = j0 == i0 ? r + 1 : 0; q < bj; q++) {
					if (!(row[q] >= sr->thr))
						continue;
					uint32_t ib = list[j0 + q];
					if (sr->split && sr->split[ia] == sr->split[ib])
						continue;
					sr->count++;
					heap_offer(&sr->heap,
					           (struct dups_pair){ia, ib, (double)row[q]});
				}
			}
			if (!matrices_progress_add(sr->prog, bj))
				return -1;
		}
	}
	return 0;
}

/*
 * The norm pass: sets inv[i] to 1/‖row i‖ (float32), or 0 for a row that is all zero or not
 * finite (counted in res). Returns 0, or -1 when cancelled.
 */
static int norm_pass(const struct rows_src *src, size_t block, float *buf, float *inv,
                     struct nn_progress *prog, struct dups_result *res)
{
	for (size_t r0 = 0; r0 < src->n; r0 += block) {
		size_t nb = src->n - r0 < block ? src->n - r0 : block;
		src_read(src, NULL, r0, nb, buf);
		for (size_t r = 0; r < nb; r++) {
			const float *row = buf + r * src->dim;
			double ss = 0;
			for (size_t j = 0; j < src->dim; j++)
				ss += (double)row[j] * row[j];
			inv[r0 + r] = 0;
			if (src->skip && src->skip[r0 + r])
				continue;
			if (!matrices_finite(row, src->dim) || !isfinite(ss))
				res->nonfinite++;
			else if (ss == 0)
				res->zero++;
			else
				inv[r0 + r] = (float)(1.0 / sqrt(ss));
		}
		if (!matrices_progress_add(prog, nb))
			return -1;
	}
	return 0;
}

struct named {
	const char *name;
	uint32_t i;
};

static int named_cmp(const void *x, const void *y)
{
	const struct named *p = x, *q = y;
	int c = strcmp(p->name, q->name);
	return c ? c : (p->i > q->i) - (p->i < q->i);
}

/*
 * A small id per distinct split name, -1 where an instance has none (counted in res->no_split).
 * Returns a new array of n ids.
 */
static int32_t *split_ids(const struct study *s, struct dups_result *res)
{
	int32_t *id = xcalloc(s->n ? s->n : 1, sizeof *id);
	struct named *ord = xcalloc(s->n ? s->n : 1, sizeof *ord);
	size_t m = 0;
	for (size_t i = 0; i < s->n; i++) {
		id[i] = -1;
		if (s->splits[i])
			ord[m++] = (struct named){s->splits[i], (uint32_t)i};
		else
			res->no_split++;
	}
	qsort(ord, m, sizeof *ord, named_cmp);
	int32_t next = -1;
	for (size_t k = 0; k < m; k++) {
		if (k == 0 || strcmp(ord[k].name, ord[k - 1].name) != 0)
			next++;
		id[ord[k].i] = next;
	}
	free(ord);
	return id;
}

/*
 * The instances to compare, grouped: for each group g, list[start[g] .. start[g+1]) ascending.
 * One group per class with classes, else one. Instances left out (inv 0, no split) are in none.
 */
static size_t make_groups(const struct study *s, const struct dups_opts *o, const float *inv,
                          const int32_t *split, uint32_t **list, size_t **start)
{
	size_t ng = o->classes ? s->n_classes : 1;
	size_t *st = xcalloc(ng + 1, sizeof *st);
	uint32_t *l = xcalloc(s->n ? s->n : 1, sizeof *l);
	for (int pass = 0; pass < 2; pass++) {
		size_t *fill = NULL;
		if (pass == 1) {
			for (size_t g = 0; g < ng; g++)
				st[g + 1] += st[g];
			fill = xcalloc(ng, sizeof *fill);
		}
		for (size_t i = 0; i < s->n; i++) {
			if (inv[i] == 0 || (split && split[i] < 0))
				continue;
			size_t g = 0;
			if (o->classes) {
				int32_t pc = model_pred(o->classes, i);
				if (pc < 0 || (size_t)pc >= ng)
					continue;
				g = (size_t)pc;
			}
			if (pass == 0)
				st[g + 1]++;
			else
				l[st[g] + fill[g]++] = (uint32_t)i;
		}
		free(fill);
	}
	*list = l;
	*start = st;
	return ng;
}

/* Recomputes the kept pairs' cosines in double from the stored rows, then sorts them. */
static void refine(const struct rows_src *src, struct dups_pair *p, size_t n)
{
	double *x = xcalloc(src->dim, sizeof *x), *y = xcalloc(src->dim, sizeof *y);
	for (size_t k = 0; k < n; k++) {
		src_row_f64(src, p[k].a, x);
		src_row_f64(src, p[k].b, y);
		double xy = 0, xx = 0, yy = 0;
		for (size_t j = 0; j < src->dim; j++) {
			xy += x[j] * y[j];
			xx += x[j] * x[j];
			yy += y[j] * y[j];
		}
		double c = xy / sqrt(xx * yy);
		if (isfinite(c))
			p[k].cosine = c > 1 ? 1 : c < -1 ? -1 : c;
	}
	free(x);
	free(y);
	if (n > 1) /* p is NULL when no pair was kept, and qsort's pointer must not be */
		qsort(p, n, sizeof *p, pair_cmp);
}

/* Chooses rows per block from the vector length and the caller's wish. */
static size_t pick_block(size_t dim, size_t want)
{
	size_t b = want ? want : BLOCK_FLOATS / (dim ? dim : 1);
	if (b > BLOCK_MAX)
		b = BLOCK_MAX;
	return b ? b : 1;
}

/* The search over src once its rows can be read; base is progress already made (pixels). */
static int search_run(const struct study *s, const struct dups_opts *o, const struct rows_src *src,
                      size_t base, struct nn_progress *prog, struct dups_result *res,
                      struct nn_err *err)
{
	struct search sr = {.src = src, .o = o, .prog = prog};
	sr.block = pick_block(src->dim, o->block);
	sr.thr = (float)o->threshold;
	sr.inv = xcalloc(src->n ? src->n : 1, sizeof *sr.inv);
	sr.a = xcalloc(sr.block * src->dim, sizeof *sr.a);
	sr.b = xcalloc(sr.block * src->dim, sizeof *sr.b);
	sr.c = xcalloc(sr.block * sr.block, sizeof *sr.c);
	sr.heap.cap = o->top;
	int32_t *split = NULL;
	uint32_t *list = NULL;
	size_t *start = NULL, ng = 0;
	if (prog)
		atomic_store(&prog->total, base + src->n);
	int rc = norm_pass(src, sr.block, sr.a, sr.inv, prog, res);
	if (rc == 0) {
		if (o->across_splits)
			sr.split = split = split_ids(s, res);
		ng = make_groups(s, o, sr.inv, split, &list, &start);
		size_t total = base + src->n;
		for (size_t g = 0; g < ng; g++) {
			size_t m = start[g + 1] - start[g];
			for (size_t i0 = 0; i0 < m; i0 += sr.block)
				total += m - i0;
		}
		if (prog)
			atomic_store(&prog->total, total);
	}
	for (size_t g = 0; rc == 0 && g < ng; g++)
		rc = search_group(&sr, list + start[g], start[g + 1] - start[g]);
	if (rc == 0) {
		res->count = sr.count;
		res->n_pairs = sr.heap.n;
		res->pairs = sr.heap.v;
		sr.heap.v = NULL;
		refine(src, res->pairs, res->n_pairs);
	} else {
		rc = nn_err_set(err, "cancelled");
	}
	free(sr.heap.v);
	free(sr.inv);
	free(sr.a);
	free(sr.b);
	free(sr.c);
	free(split);
	free(list);
	free(start);
	return rc;
}

/* Checks what every search needs; returns 0 or -1 with err set. */
static int check_opts(const struct study *s, const struct dups_opts *o, struct nn_err *err)
{
	if (!(o->threshold >= -1 && o->threshold <= 1))
		return nn_err_set(err, "threshold %g is not a cosine between -1 and 1",
		                  o->threshold);
	if (o->across_splits && !s->splits)
		return nn_err_set(err, "%s: no \"split\" in samples.jsonl, so no splits to compare",
		                  s->name);
	if (o->act && o->act->rows != s->n)
		return nn_err_set(err, "%s: %zu rows, but the study has %zu instances",
		                  o->act->path, o->act->rows, s->n);
	if (s->n > UINT32_MAX)
		return nn_err_set(err, "%s: %zu instances, at most %u supported", s->name, s->n,
		                  UINT32_MAX);
	return 0;
}

/*
 * Instance i's image fitted into side × side (aspect kept, centred on black) into row (3·side²
 * bytes). Returns 0, or -1 with err set when the instance has no image or it cannot be read.
 */
static int pixel_row(const struct study *s, size_t i, int side, uint8_t *row, struct nn_err *err)
{
	char *path = image_path(s, i, err);
	if (!path)
		return -1;
	struct image img, fit;
	int rc = image_load(path, &img, err);
	free(path);
	if (rc != 0)
		return -1;
	rc = image_fit(&img, side, side, &fit);
	image_free(&img);
	if (rc != 0)
		return nn_err_set(err, "instance %zu: an empty image", i);
	memset(row, 0, (size_t)side * (size_t)side * 3);
	int x0 = (side - fit.w) / 2, y0 = (side - fit.h) / 2;
	for (int y = 0; y < fit.h; y++)
		memcpy(row + ((size_t)(y0 + y) * (size_t)side + (size_t)x0) * 3,
		       fit.rgb + (size_t)y * (size_t)fit.w * 3, (size_t)fit.w * 3);
	image_free(&fit);
	return 0;
}

/* Reads every image into pix (n × 3·side²); a missing or unreadable one is flagged in skip. */
static int pixel_load(const struct study *s, int side, uint8_t *pix, uint8_t *skip,
                      struct nn_progress *prog, struct dups_result *res)
{
	size_t dim = (size_t)side * (size_t)side * 3;
	for (size_t i = 0; i < s->n; i++) {
		struct nn_err e = {{0}};
		if (pixel_row(s, i, side, pix + i * dim, &e) != 0) {
			skip[i] = 1;
			res->no_image++;
			if (!res->first_bad[0] && s->images[i])
				snprintf(res->first_bad, sizeof res->first_bad, "%s", e.msg);
		}
		if ((i + 1) % 256 == 0 || i + 1 == s->n)
			if (!matrices_progress_add(prog, (i % 256) + 1))
				return -1;
	}
	return 0;
}

int dups_find(const struct study *s, const struct dups_opts *o, struct nn_progress *prog,
              struct dups_result *res, struct nn_err *err)
{
	memset(res, 0, sizeof *res);
	if (check_opts(s, o, err) != 0)
		return -1;
	if (o->act) {
		struct rows_src src = {.act = o->act, .n = s->n, .dim = o->act->cols};
		int rc = search_run(s, o, &src, 0, prog, res, err);
		if (rc == 0)
			rc = npy_read_error(o->act, err);
		if (rc != 0)
			dups_free(res);
		return rc;
	}
	int side = o->side ? o->side : DUPS_DEFAULT_SIDE;
	if (side < 1 || side > 1024)
		return nn_err_set(err, "image size %d is not from 1 to 1024", side);
	if (!s->images)
		return nn_err_set(err, "%s: no \"image\" in samples.jsonl, so no pixels to compare",
		                  s->name);
	size_t dim = (size_t)side * (size_t)side * 3, bytes;
	if (size_mul(s->n, dim, &bytes) != 0)
		return nn_err_set(err, "%s: %zu images of %d x %d are too many", s->name, s->n,
		                  side, side);
	struct rows_src src = {.n = s->n, .dim = dim};
	uint8_t *pix = xmalloc(bytes ? bytes : 1), *skip = xcalloc(s->n ? s->n : 1, 1);
	src.pix = pix;
	src.skip = skip;
	if (prog)
		atomic_store(&prog->total, 2 * s->n);
	int rc = pixel_load(s, side, pix, skip, prog, res);
	if (rc != 0)
		rc = nn_err_set(err, "cancelled");
	else if (s->n && res->no_image == s->n)
		rc = nn_err_set(err, "no image could be read (the first: %s)", res->first_bad);
	else
		rc = search_run(s, o, &src, s->n, prog, res, err);
	free(pix);
	free(skip);
	if (rc != 0)
		dups_free(res);
	return rc;
}

void dups_free(struct dups_result *res)
{
	free(res->pairs);
	memset(res, 0, sizeof *res);
}
