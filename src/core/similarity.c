/* similarity.c — neuron correlation between two layers and their linear CKA, by blocked GEMM. */
#include "nncmp/similarity.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

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

/* acc += tmp over the upper triangle of an n × n matrix. */
static void add_upper(const float *tmp, size_t n, double *acc)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i; j < n; j++)
			acc[i * n + j] += tmp[i * n + j];
}

/* The pass: shifted blocks, their cross product and (for CKA) Gram matrices. Returns 0, or -1
 * when cancelled. */
static int sum_pass(const struct npy *x, const struct npy *y, const uint32_t *idx, size_t n,
                    struct nn_progress *prog, struct sums *p)
{
	bool same = x == y;
	size_t h1 = x->cols, h2 = y->cols, big = h1 > h2 ? h1 : h2;
	size_t block = matrices_block_rows(big);
	float *bx = xcalloc(block * h1, sizeof *bx);
	float *by = same ? bx : xcalloc(block * h2, sizeof *by);
	float *tmp = xcalloc(p->gx ? big * big : h1 * h2, sizeof *tmp);
	bool *ok = xcalloc(block, sizeof *ok);
	int rc = 0;
	for (size_t k0 = 0; k0 < n; k0 += block) {
		size_t b = n - k0 < block ? n - k0 : block;
		matrices_read_rows(x, idx, k0, b, bx);
		if (!same)
			matrices_read_rows(y, idx, k0, b, by);
		for (size_t r = 0; r < b; r++) {
			ok[r] = matrices_finite(bx + r * h1, h1) &&
			        (same || matrices_finite(by + r * h2, h2));
			p->used += ok[r];
		}
		matrices_shift_block(bx, b, h1, p->kx, ok, p->s1x, p->s2x);
		if (!same)
			matrices_shift_block(by, b, h2, p->ky, ok, p->s1y, p->s2y);
		linalg_sgemm(true, false, h1, h2, b, 1.0f, bx, h1, by, h2, 0.0f, tmp, h2);
		for (size_t c = 0; c < h1 * h2; c++)
			p->cross[c] += tmp[c];
		if (p->gx) {
			linalg_ssyrk_t(h1, b, 1.0f, bx, h1, 0.0f, tmp, h1);
			add_upper(tmp, h1, p->gx);
			linalg_ssyrk_t(h2, b, 1.0f, by, h2, 0.0f, tmp, h2);
			add_upper(tmp, h2, p->gy);
		}
		if (!matrices_progress_add(prog, b)) {
			rc = -1;
			break;
		}
	}
	free(bx);
	if (!same)
		free(by);
	free(tmp);
	free(ok);
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
	int rc = 0;
	if (sum_pass(x, y, idx, n, prog, &p) != 0)
		rc = nn_err_set(err, "cancelled");
	else if (npy_read_error(x, err) < 0 || npy_read_error(y, err) < 0)
		rc = -1;
	else if (p.used < 2)
		rc = nn_err_set(err,
		                "%s, %s: %zu instance%s with finite activations in both, 2 needed",
		                x->path, y->path, p.used, p.used == 1 ? "" : "s");
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
