/* similarity.c — neuron correlation between two layers and their linear CKA, by blocked GEMM. */
#include "nncmp/similarity.h"

#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/fault.h"
#include "nncmp/linalg.h"
#include "nncmp/matrices.h"

/* What one pass over both layers accumulates, all in double. */
struct sums {
	size_t used;
	double *kx, *ky;   /* shifts */
	double *s1x, *s2x; /* Σd, Σd² per neuron of x */
	double *s1y, *s2y;
	double *cross; /* h1 × h2: Σ dx·dyᵀ */
	double *gx;    /* h1 × h1 upper triangle: Σ dx·dxᵀ (CKA only) */
	double *gy;
};

/*
 * The pass runs on the BLAS threads (linalg_parallel()), each with its own buffers and sums. The
 * rows go in spans of SPAN_ROWS, dealt out in turn (span s to thread s mod T), so the result
 * depends on T but not on timing. A span is read and shifted in chunks small enough to stay in
 * cache, and its products accumulate in float32 (GEMM and SYRK with beta = 1) over the whole
 * span, then are added to the thread's double sums: float32 error grows with the rows summed, so
 * SPAN_ROWS bounds it (4096 shifted rows: below 1e-6 in r on the bench study and on adversarial
 * data, see tools/sim_precision.py). The threads' sums are added in thread order at the end.
 */
#define SPAN_ROWS   4096
#define CHUNK_ROWS  512
#define MAX_THREADS 16                  /* OpenBLAS's buffers for concurrent callers are finite */
#define PARTS_BYTES ((size_t)512 << 20) /* the threads' products together, at most */

struct part {
	struct sums s;
	float *bx, *by, *fxy, *fxx, *fyy; /* one chunk of rows; the span's float32 products */
	float *f1x, *f2x, *f1y, *f2y;     /* one chunk's float32 sums (the in-place path) */
	bool *ok;
	bool faulted;
	const void *fault_addr;
};

struct pass {
	const struct npy *x, *y;
	const uint32_t *idx;
	size_t n, chunk;
	unsigned threads;
	struct nn_progress *prog;
	const double *kx, *ky;
	const float *dx, *dy;   /* the rows in place (direct()), or NULL */
	const float *kfx, *kfy; /* the shifts in float32, for the in-place path */
	struct part *parts;
	atomic_bool stop;
};

/* acc += tmp over the upper triangle of an n × n matrix. */
static void add_upper(const float *tmp, size_t n, double *acc)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i; j < n; j++)
			acc[i * n + j] += tmp[i * n + j];
}

static void add_all(const float *tmp, size_t n, double *acc)
{
	for (size_t c = 0; c < n; c++)
		acc[c] += tmp[c];
}

/* The rows of a as float32 where they lie, when they are stored so (one mapped source, native
 * float32, C order); else NULL and they are read through npy_rows_f32(). */
static const float *direct(const struct npy *a)
{
	if (!npy_contiguous(a) || a->h.kind != NPY_FLOAT || a->h.itemsize != 4 || a->h.swap ||
	    (a->h.fortran && a->cols > 1))
		return NULL;
	return (const float *)(const void *)a->data;
}

#define VEC 16 /* fixed inner trip count: vectorized at -O2 */

/* dst = src − k, f1 += dst, f2 += dst² (float32, elementwise). */
static void shift_copy(const float *restrict src, float *restrict dst, size_t cols,
                       const float *restrict k, float *restrict f1, float *restrict f2)
{
	size_t j = 0;
	for (; j + VEC <= cols; j += VEC)
		for (size_t t = 0; t < VEC; t++) {
			float d = src[j + t] - k[j + t];
			dst[j + t] = d;
			f1[j + t] += d;
			f2[j + t] += d * d;
		}
	for (; j < cols; j++) {
		float d = src[j] - k[j];
		dst[j] = d;
		f1[j] += d;
		f2[j] += d * d;
	}
}

static void flush_sums(float *f1, float *f2, size_t cols, double *s1, double *s2)
{
	for (size_t j = 0; j < cols; j++) {
		s1[j] += f1[j];
		s2[j] += f2[j];
	}
	memset(f1, 0, cols * sizeof *f1);
	memset(f2, 0, cols * sizeof *f2);
}

/* Rows [r0, r0+b) shifted into the part's chunk, in one pass over the mapping: each row is
 * checked, then copied minus its shift while its sums are taken. */
static void load_direct(const struct pass *ps, struct part *pt, size_t r0, size_t b)
{
	bool same = ps->x == ps->y;
	size_t h1 = ps->x->cols, h2 = ps->y->cols;
	for (size_t r = 0; r < b; r++) {
		size_t row = ps->idx ? ps->idx[r0 + r] : r0 + r;
		const float *sx = ps->dx + row * h1, *sy = same ? sx : ps->dy + row * h2;
		bool ok = matrices_finite(sx, h1) && (same || matrices_finite(sy, h2));
		pt->s.used += ok;
		if (!ok) {
			memset(pt->bx + r * h1, 0, h1 * sizeof *pt->bx);
			if (!same)
				memset(pt->by + r * h2, 0, h2 * sizeof *pt->by);
			continue;
		}
		shift_copy(sx, pt->bx + r * h1, h1, ps->kfx, pt->f1x, pt->f2x);
		if (!same)
			shift_copy(sy, pt->by + r * h2, h2, ps->kfy, pt->f1y, pt->f2y);
	}
	flush_sums(pt->f1x, pt->f2x, h1, pt->s.s1x, pt->s.s2x);
	if (!same)
		flush_sums(pt->f1y, pt->f2y, h2, pt->s.s1y, pt->s.s2y);
}

/* Rows [r0, r0+b) into the part's sums (b <= SPAN_ROWS); *first says whether beta is 0. */
static void sum_chunk(const struct pass *ps, struct part *pt, size_t r0, size_t b, bool first)
{
	bool same = ps->x == ps->y;
	size_t h1 = ps->x->cols, h2 = ps->y->cols;
	if (ps->dx && (same || ps->dy)) {
		load_direct(ps, pt, r0, b);
	} else {
		matrices_read_rows(ps->x, ps->idx, r0, b, pt->bx);
		if (!same)
			matrices_read_rows(ps->y, ps->idx, r0, b, pt->by);
		for (size_t r = 0; r < b; r++) {
			pt->ok[r] = matrices_finite(pt->bx + r * h1, h1) &&
			            (same || matrices_finite(pt->by + r * h2, h2));
			pt->s.used += pt->ok[r];
		}
		matrices_shift_block(pt->bx, b, h1, ps->kx, pt->ok, pt->s.s1x, pt->s.s2x);
		if (!same)
			matrices_shift_block(pt->by, b, h2, ps->ky, pt->ok, pt->s.s1y, pt->s.s2y);
	}
	float beta = first ? 0.0f : 1.0f;
	if (same) /* a layer against itself: Xᵀ·X is symmetric, half the work */
		linalg_ssyrk_t(h1, b, 1.0f, pt->bx, h1, beta, pt->fxy, h1);
	else
		linalg_sgemm(true, false, h1, h2, b, 1.0f, pt->bx, h1, pt->by, h2, beta, pt->fxy,
		             h2);
	if (pt->s.gx) {
		linalg_ssyrk_t(h1, b, 1.0f, pt->bx, h1, beta, pt->fxx, h1);
		linalg_ssyrk_t(h2, b, 1.0f, pt->by, h2, beta, pt->fyy, h2);
	}
}

/* Thread t's spans. A fault on a mapping stops it (and, through stop, the others). */
static void pass_thread(void *arg, unsigned t)
{
	struct pass *ps = arg;
	struct part *pt = &ps->parts[t];
	size_t h1 = ps->x->cols, h2 = ps->y->cols;
	struct fault_guard g;
	fault_push(&g);
	if (sigsetjmp(g.env, 1) != 0) {
		pt->faulted = true;
		pt->fault_addr = g.addr;
		atomic_store(&ps->stop, true);
		return;
	}
	for (size_t k0 = (size_t)t * SPAN_ROWS; k0 < ps->n; k0 += (size_t)ps->threads * SPAN_ROWS) {
		if (atomic_load_explicit(&ps->stop, memory_order_relaxed))
			break;
		size_t end = ps->n - k0 < SPAN_ROWS ? ps->n : k0 + SPAN_ROWS;
		for (size_t r0 = k0; r0 < end; r0 += ps->chunk)
			sum_chunk(ps, pt, r0, end - r0 < ps->chunk ? end - r0 : ps->chunk,
			          r0 == k0);
		if (ps->x == ps->y)
			add_upper(pt->fxy, h1, pt->s.cross);
		else
			add_all(pt->fxy, h1 * h2, pt->s.cross);
		if (pt->s.gx) {
			add_upper(pt->fxx, h1, pt->s.gx);
			add_upper(pt->fyy, h2, pt->s.gy);
		}
		if (!matrices_progress_add(ps->prog, end - k0))
			atomic_store(&ps->stop, true);
	}
	fault_pop(&g);
}

/* The part's buffers and zeroed sums (x == y shares the y side with x). */
static void part_init(struct part *pt, size_t h1, size_t h2, size_t chunk, bool same, bool cka)
{
	pt->bx = xcalloc(chunk * h1, sizeof *pt->bx);
	pt->by = same ? pt->bx : xcalloc(chunk * h2, sizeof *pt->by);
	pt->fxy = xcalloc(h1 * h2, sizeof *pt->fxy);
	pt->ok = xcalloc(chunk, sizeof *pt->ok);
	pt->f1x = xcalloc(2 * (h1 + h2), sizeof *pt->f1x);
	pt->f2x = pt->f1x + h1;
	pt->f1y = pt->f2x + h1;
	pt->f2y = pt->f1y + h2;
	pt->s.s1x = xcalloc(h1, sizeof *pt->s.s1x);
	pt->s.s2x = xcalloc(h1, sizeof *pt->s.s2x);
	pt->s.s1y = same ? pt->s.s1x : xcalloc(h2, sizeof *pt->s.s1y);
	pt->s.s2y = same ? pt->s.s2x : xcalloc(h2, sizeof *pt->s.s2y);
	pt->s.cross = xcalloc(h1 * h2, sizeof *pt->s.cross);
	if (cka) {
		pt->fxx = xcalloc(h1 * h1, sizeof *pt->fxx);
		pt->fyy = xcalloc(h2 * h2, sizeof *pt->fyy);
		pt->s.gx = xcalloc(h1 * h1, sizeof *pt->s.gx);
		pt->s.gy = xcalloc(h2 * h2, sizeof *pt->s.gy);
	}
}

static void part_free(struct part *pt)
{
	if (pt->by != pt->bx)
		free(pt->by);
	free(pt->bx);
	free(pt->fxy);
	free(pt->fxx);
	free(pt->fyy);
	free(pt->ok);
	free(pt->f1x);
	if (pt->s.s1y != pt->s.s1x) {
		free(pt->s.s1y);
		free(pt->s.s2y);
	}
	free(pt->s.s1x);
	free(pt->s.s2x);
	free(pt->s.cross);
	free(pt->s.gx);
	free(pt->s.gy);
}

static void add_into(double *acc, const double *v, size_t n)
{
	for (size_t c = 0; c < n; c++)
		acc[c] += v[c];
}

/* The pass: shifted blocks, their cross product and (for CKA) Gram matrices. Returns 0, -1 when
 * cancelled, or -2 with err set when a mapping faulted. */
static int sum_pass(const struct npy *x, const struct npy *y, const uint32_t *idx, size_t n,
                    struct nn_progress *prog, struct sums *p, struct nn_err *err)
{
	bool same = x == y, cka = p->gx != NULL;
	size_t h1 = x->cols, h2 = y->cols, big = h1 > h2 ? h1 : h2;
	size_t chunk = matrices_block_rows(big);
	if (chunk > CHUNK_ROWS)
		chunk = CHUNK_ROWS;
	int bt = linalg_threads();
	size_t spans = (n + SPAN_ROWS - 1) / SPAN_ROWS;
	unsigned threads = bt > 1 ? (unsigned)bt : 1;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	if (threads > spans)
		threads = spans ? (unsigned)spans : 1;
	/* each thread has its own products (12 bytes a cell: float32 and double): wide layers get
	 * fewer threads, so that all of them hold at most PARTS_BYTES (one thread always runs) */
	size_t cells = h1 * h2 + (cka ? h1 * h1 + h2 * h2 : 0);
	while (threads > 1 && threads * cells * 12 > PARTS_BYTES)
		threads--;
	struct pass ps = {.x = x,
	                  .y = y,
	                  .idx = idx,
	                  .n = n,
	                  .chunk = chunk,
	                  .threads = threads,
	                  .prog = prog,
	                  .kx = p->kx,
	                  .ky = p->ky};
	ps.dx = direct(x);
	ps.dy = direct(y);
	float *kf = xcalloc(h1 + h2, sizeof *kf);
	for (size_t j = 0; j < h1; j++)
		kf[j] = (float)p->kx[j];
	for (size_t j = 0; j < h2; j++)
		kf[h1 + j] = (float)p->ky[j];
	ps.kfx = kf;
	ps.kfy = kf + h1;
	ps.parts = xcalloc(threads, sizeof *ps.parts);
	for (unsigned t = 0; t < threads; t++)
		part_init(&ps.parts[t], h1, h2, chunk, same, cka);
	linalg_parallel(threads, pass_thread, &ps);
	int rc = 0;
	for (unsigned t = 0; t < threads; t++) {
		struct part *pt = &ps.parts[t];
		if (pt->faulted && rc == 0) {
			char path[PATH_MAX];
			const char *f = fault_map_path(pt->fault_addr, path, sizeof path);
			rc = -2;
			nn_err_set(err, FAULT_CHANGED, f ? f : x->path ? x->path : "a mapped file");
		}
		p->used += pt->s.used;
		add_into(p->s1x, pt->s.s1x, h1);
		add_into(p->s2x, pt->s.s2x, h1);
		if (!same) {
			add_into(p->s1y, pt->s.s1y, h2);
			add_into(p->s2y, pt->s.s2y, h2);
		}
		add_into(p->cross, pt->s.cross, h1 * h2);
		if (cka) {
			add_into(p->gx, pt->s.gx, h1 * h1);
			add_into(p->gy, pt->s.gy, h2 * h2);
		}
		part_free(pt);
	}
	free(ps.parts);
	free(kf);
	if (rc == 0 && atomic_load(&ps.stop))
		rc = -1;
	return rc;
}

/*
 * ‖G − s·sᵀ/n‖²_F for a Gram matrix given by its upper triangle: the centred Gram's squared
 * Frobenius norm.
 */
static double centred_gram_norm2(const double *g, const double *s, size_t h, size_t n)
{
	double sum = 0;
	for (size_t i = 0; i < h; i++)
		for (size_t j = i; j < h; j++) {
			double v = g[i * h + j] - s[i] * s[j] / (double)n;
			sum += (i == j ? 1 : 2) * v * v;
		}
	return sum;
}

static void sums_free(struct sums *p)
{
	free(p->kx);
	free(p->s1x);
	free(p->s2x);
	if (p->ky != p->kx) {
		free(p->ky);
		free(p->s1y);
		free(p->s2y);
	}
	free(p->cross);
	free(p->gx);
	free(p->gy);
}

int similarity_compute(const struct npy *x, const struct npy *y, const uint32_t *idx, size_t n,
                       bool with_cka, struct nn_progress *prog, struct similarity *out,
                       struct nn_err *err)
{
	memset(out, 0, sizeof *out);
	if (x->rows != y->rows)
		return nn_err_set(err, "%s has %zu rows but %s has %zu", x->path, x->rows, y->path,
		                  y->rows);
	if (!idx)
		n = x->rows;
	size_t h1 = x->cols, h2 = y->cols, cells, big = h1 > h2 ? h1 : h2;
	if (size_mul(h1, h2, &cells) != 0 || size_mul(big, big, &(size_t){0}) != 0)
		return nn_err_set(err, "%zu × %zu neurons is too large", h1, h2);
	bool same = x == y;
	if (prog)
		atomic_store(&prog->total, n);
	struct sums p = {0};
	p.kx = xcalloc(h1, sizeof *p.kx);
	p.s1x = xcalloc(h1, sizeof *p.s1x);
	p.s2x = xcalloc(h1, sizeof *p.s2x);
	p.ky = same ? p.kx : xcalloc(h2, sizeof *p.ky);
	p.s1y = same ? p.s1x : xcalloc(h2, sizeof *p.s1y);
	p.s2y = same ? p.s2x : xcalloc(h2, sizeof *p.s2y);
	p.cross = xcalloc(cells, sizeof *p.cross);
	if (with_cka && !same) {
		p.gx = xcalloc(h1 * h1, sizeof *p.gx);
		p.gy = xcalloc(h2 * h2, sizeof *p.gy);
	}
	matrices_shift(x, same ? NULL : y, idx, n, p.kx, p.ky);
	int rc = sum_pass(x, y, idx, n, prog, &p, err);
	if (rc == -1)
		rc = nn_err_set(err, "cancelled");
	else if (rc != 0)
		rc = -1;
	else if (npy_read_error(x, err) < 0 || npy_read_error(y, err) < 0)
		rc = -1;
	else if (p.used < 2)
		rc = nn_err_set(err,
		                "%s, %s: %zu instance%s with finite activations in both, 2 needed",
		                x->path, y->path, p.used, p.used == 1 ? "" : "s");
	if (rc == 0 && same) /* the pass summed the upper triangle */
		for (size_t i = 0; i < h1; i++)
			for (size_t j = i + 1; j < h1; j++)
				p.cross[j * h1 + i] = p.cross[i * h1 + j];
	if (rc == 0) {
		double *m2x = xcalloc(h1, sizeof *m2x), *m2y = xcalloc(h2, sizeof *m2y);
		matrices_shift_finish(h1, p.used, p.kx, p.s1x, p.s2x, NULL, m2x);
		matrices_shift_finish(h2, p.used, p.ky, p.s1y, p.s2y, NULL, m2y);
		double num = 0, nu = (double)p.used;
		for (size_t i = 0; i < h1; i++)
			for (size_t j = 0; j < h2; j++) {
				double c = p.cross[i * h2 + j] - p.s1x[i] * p.s1y[j] / nu;
				double d = m2x[i] * m2y[j];
				double v = d > 0 ? c / sqrt(d) : NAN;
				num += c * c;
				p.cross[i * h2 + j] = v > 1 ? 1 : v < -1 ? -1 : v;
			}
		out->cka = NAN;
		if (with_cka && same) {
			out->cka = num > 0 ? 1.0 : NAN; /* Xcᵀ·Xc is all three matrices */
		} else if (with_cka) {
			double den = sqrt(centred_gram_norm2(p.gx, p.s1x, h1, p.used)) *
			             sqrt(centred_gram_norm2(p.gy, p.s1y, h2, p.used));
			out->cka = den > 0 ? num / den : NAN;
		}
		out->h1 = h1;
		out->h2 = h2;
		out->used = p.used;
		out->skipped = n - p.used;
		out->r = p.cross;
		p.cross = NULL;
		free(m2x);
		free(m2y);
	}
	sums_free(&p);
	return rc;
}

void similarity_free(struct similarity *s)
{
	free(s->r);
	memset(s, 0, sizeof *s);
}

/* True when match a ranks before b. */
static bool better(double ka, uint32_t ia, double kb, uint32_t ib)
{
	return ka > kb || (ka == kb && ia < ib);
}

size_t similarity_top(const struct similarity *s, size_t i, size_t k, bool by_abs, size_t skip,
                      struct similarity_match *out)
{
	size_t got = 0;
	const double *row = s->r + i * s->h2;
	for (size_t j = 0; j < s->h2 && k; j++) {
		double v = row[j];
		if (isnan(v) || j == skip)
			continue;
		double key = by_abs ? fabs(v) : v;
		if (got == k) {
			double last = by_abs ? fabs(out[k - 1].r) : out[k - 1].r;
			if (!better(key, (uint32_t)j, last, out[k - 1].neuron))
				continue;
			got--;
		}
		/* insertion into the sorted prefix, k is small */
		size_t pos = got;
		while (pos > 0) {
			double prev = by_abs ? fabs(out[pos - 1].r) : out[pos - 1].r;
			if (!better(key, (uint32_t)j, prev, out[pos - 1].neuron))
				break;
			out[pos] = out[pos - 1];
			pos--;
		}
		out[pos] = (struct similarity_match){(uint32_t)j, v};
		got++;
	}
	return got;
}
