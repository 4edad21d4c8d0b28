/* project.c — 2-D PCA of a layer's activations: blocked covariance, dsyevr, projection. */
#include "nncmp/project.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/linalg.h"
#include "nncmp/matrices.h"

/*
 * First pass: the Gram matrix of the shifted usable rows (upper triangle) into g and their column
 * sums into s1; *used counts the rows. Returns 0, or -1 when cancelled.
 */
static int gram_pass(const struct npy *act, const uint32_t *idx, size_t n, const double *shift,
                     struct nn_progress *prog, double *g, double *s1, size_t *used)
{
	size_t h = act->cols, block = matrices_block_rows(h);
	float *bx = xcalloc(block * h, sizeof *bx);
	float *tmp = xcalloc(h * h, sizeof *tmp);
	bool *ok = xcalloc(block, sizeof *ok);
	int rc = 0;
	for (size_t k0 = 0; k0 < n; k0 += block) {
		size_t b = n - k0 < block ? n - k0 : block;
		matrices_read_rows(act, idx, k0, b, bx);
		for (size_t r = 0; r < b; r++) {
			ok[r] = matrices_finite(bx + r * h, h);
			*used += ok[r];
		}
		matrices_shift_block(bx, b, h, shift, ok, s1, NULL);
		linalg_ssyrk_t(h, b, 1.0f, bx, h, 0.0f, tmp, h);
		for (size_t i = 0; i < h; i++)
			for (size_t j = i; j < h; j++)
				g[i * h + j] += tmp[i * h + j];
		if (!matrices_progress_add(prog, b)) {
			rc = -1;
			break;
		}
	}
	free(bx);
	free(tmp);
	free(ok);
	return rc;
}

/* Second pass: the coordinates of every selected row (NaN for unusable ones). */
static int points_pass(const struct npy *act, const uint32_t *idx, size_t n, const double *mean,
                       const double *axes, struct nn_progress *prog, float *points)
{
	size_t h = act->cols, block = matrices_block_rows(h);
	float *bx = xcalloc(block * h, sizeof *bx);
	float *v = xcalloc(h * 2, sizeof *v);
	bool *ok = xcalloc(block, sizeof *ok);
	for (size_t j = 0; j < h; j++) {
		v[j * 2] = (float)axes[j];
		v[j * 2 + 1] = (float)axes[h + j];
	}
	int rc = 0;
	for (size_t k0 = 0; k0 < n; k0 += block) {
		size_t b = n - k0 < block ? n - k0 : block;
		matrices_read_rows(act, idx, k0, b, bx);
		for (size_t r = 0; r < b; r++)
			ok[r] = matrices_finite(bx + r * h, h);
		matrices_shift_block(bx, b, h, mean, ok, NULL, NULL);
		float *pts = points + k0 * 2;
		linalg_sgemm(false, false, b, 2, h, 1.0f, bx, h, v, 2, 0.0f, pts, 2);
		for (size_t r = 0; r < b; r++)
			if (!ok[r])
				pts[r * 2] = pts[r * 2 + 1] = NAN;
		if (!matrices_progress_add(prog, b)) {
			rc = -1;
			break;
		}
	}
	free(bx);
	free(v);
	free(ok);
	return rc;
}

/* Flips the axis (h values) so that its largest-magnitude component is positive. */
static void fix_sign(double *axis, size_t h)
{
	size_t arg = 0;
	for (size_t j = 1; j < h; j++)
		if (fabs(axis[j]) > fabs(axis[arg]))
			arg = j;
	if (axis[arg] < 0)
		for (size_t j = 0; j < h; j++)
			axis[j] = -axis[j];
}

/* The top two eigenpairs of cov (h × h, destroyed) into p->variance and p->axes. */
static int top_axes(double *cov, size_t h, struct projection *p)
{
	size_t k = h < 2 ? h : 2;
	double w[2] = {0, 0}, *v = xcalloc(h * k, sizeof *v);
	if (linalg_eigh_top(h, cov, k, w, v) != 0) {
		free(v);
		return -1;
	}
	for (size_t c = 0; c < k; c++) {
		p->variance[c] = w[c] > 0 ? w[c] : 0; /* rounding can leave −1e-17 */
		for (size_t j = 0; j < h; j++)
			p->axes[c * h + j] = v[j * k + c];
		fix_sign(p->axes + c * h, h);
	}
	free(v);
	return 0;
}

int project_pca(const struct npy *act, const uint32_t *idx, size_t n, struct nn_progress *prog,
                struct projection *out, struct nn_err *err)
{
	memset(out, 0, sizeof *out);
	if (!idx)
		n = act->rows;
	size_t h = act->cols, cells;
	if (h == 0 || size_mul(h, h, &cells) != 0)
		return nn_err_set(err, "%s: %zu neurons cannot be projected", act->path, h);
	if (prog)
		atomic_store(&prog->total, 2 * n);
	double *shift = xcalloc(h, sizeof *shift), *s1 = xcalloc(h, sizeof *s1);
	double *cov = xcalloc(cells, sizeof *cov);
	out->mean = xcalloc(h, sizeof *out->mean);
	out->axes = xcalloc(2 * h, sizeof *out->axes);
	out->points = xcalloc(2 * n, sizeof *out->points);
	out->n = n;
	out->h = h;
	size_t used = 0;
	int rc = 0;
	matrices_shift(act, NULL, idx, n, shift, NULL);
	if (gram_pass(act, idx, n, shift, prog, cov, s1, &used) != 0) {
		rc = nn_err_set(err, "cancelled");
	} else if (npy_read_error(act, err) < 0) {
		rc = -1;
	} else if (used < 2) {
		rc = nn_err_set(err, "%s: %zu instance%s with finite activations, 2 needed",
		                act->path, used, used == 1 ? "" : "s");
	} else {
		/* centred: (G − s1·s1ᵀ/n) / (n − 1), upper triangle, which is all LAPACK reads */
		double total = 0, nu = (double)used;
		matrices_shift_finish(h, used, shift, s1, NULL, out->mean, NULL);
		for (size_t i = 0; i < h; i++)
			for (size_t j = i; j < h; j++)
				cov[i * h + j] = (cov[i * h + j] - s1[i] * s1[j] / nu) / (nu - 1);
		for (size_t j = 0; j < h; j++)
			total += cov[j * h + j];
		if (top_axes(cov, h, out) != 0)
			rc = nn_err_set(err, "%s: the eigenvalue solver did not converge",
			                act->path);
		for (size_t c = 0; c < 2; c++)
			out->explained[c] = total > 0 ? out->variance[c] / total : NAN;
	}
	if (rc == 0 && points_pass(act, idx, n, out->mean, out->axes, prog, out->points) != 0)
		rc = nn_err_set(err, "cancelled");
	out->used = used;
	out->skipped = n - used;
	free(shift);
	free(s1);
	free(cov);
	if (rc != 0)
		project_free(out);
	return rc;
}

void project_free(struct projection *p)
{
	free(p->points);
	free(p->axes);
	free(p->mean);
	memset(p, 0, sizeof *p);
}
