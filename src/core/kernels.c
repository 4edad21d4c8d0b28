/* kernels.c — a conv layer's weights as CNNComparator's kernel map (kernels.h). */
#include "nncmp/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/weights.h"

/* wdiff_level, or KERNELS_LEVEL_NONE where either weight is not finite. */
static uint8_t change_level(double x, double y)
{
	return isfinite(x) && isfinite(y) ? (uint8_t)wdiff_level(x, y) : KERNELS_LEVEL_NONE;
}

int kernels_map(const struct npy *a, const struct npy *b, struct kernel_map *out,
                struct nn_err *err)
{
	memset(out, 0, sizeof *out);
	const char *name = a->path ? a->path : "weights";
	if (a->h.ndim != 4)
		return nn_err_set(err, "%s: %d-D weights, not a convolution's (out, in, kh, kw)",
		                  name, a->h.ndim);
	if (b) {
		bool same = b->h.ndim == 4;
		for (int k = 0; same && k < 4; k++)
			same = a->h.dims[k] == b->h.dims[k];
		if (!same)
			return nn_err_set(err, "%s: a shape other than %s's (%zu, %zu, %zu, %zu)",
			                  b->path ? b->path : "b", name, a->h.dims[0], a->h.dims[1],
			                  a->h.dims[2], a->h.dims[3]);
	}
	size_t o = a->h.dims[0], c = a->h.dims[1], kh = a->h.dims[2], kw = a->h.dims[3];
	if (!o || !c || !kh || !kw)
		return nn_err_set(err, "%s: an empty layer (%zu, %zu, %zu, %zu)", name, o, c, kh,
		                  kw);
	/* npy_open checked that the file holds these bytes, so the product does not overflow */
	size_t row = a->cols, n = o * row;
	out->out = o;
	out->in = c;
	out->kh = kh;
	out->kw = kw;
	out->rows = c * kh;
	out->cols = o * kw;
	out->v = xcalloc(n, sizeof *out->v);
	double *rb = b ? xcalloc(row, sizeof *rb) : NULL;
	if (b)
		out->level = xcalloc(n, sizeof *out->level);
	for (size_t i = 0; i < o; i++) {
		double *ra = out->v + i * row;
		npy_row_f64(a, i, ra);
		if (!b)
			continue;
		npy_row_f64(b, i, rb);
		for (size_t j = 0; j < row; j++) {
			out->level[i * row + j] = change_level(ra[j], rb[j]);
			ra[j] = rb[j] - ra[j];
		}
	}
	free(rb);
	out->scale = weights_colour_scale(out->v, n);
	return 0;
}

size_t kernels_index(const struct kernel_map *k, size_t o, size_t c, size_t y, size_t x)
{
	return ((o * k->in + c) * k->kh + y) * k->kw + x;
}

double kernels_map_at(const struct kernel_map *k, size_t row, size_t col)
{
	return k->v[kernels_index(k, col / k->kw, row / k->kh, row % k->kh, col % k->kw)];
}

void kernels_free(struct kernel_map *k)
{
	free(k->v);
	free(k->level);
	memset(k, 0, sizeof *k);
}
