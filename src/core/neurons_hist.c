/*
 * neurons_hist.c — per-neuron histograms over the layer's range, with bins equal to
 * numpy.histogram's in float64 (neurons_hist_edges): the fast float32 estimate is used only where
 * it is provably the same bin, and values within 1e-4 of a bin boundary are compared with the
 * edges (block_hist).
 */
#include "nncmp/neurons_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

/* The bin of finite x by comparison with the edges, walking from an estimate. */
static unsigned bin_exact(const struct binner *b, double x)
{
	const unsigned last = b->bins - 1;
	double f = (x - b->lo) * b->norm;
	f = f > 0 ? f : 0;
	unsigned i = f < last ? (unsigned)f : last;
	while (i > 0 && x < b->edge[i])
		i--;
	while (i < last && x >= b->edge[i + 1])
		i++;
	return i;
}

/*
 * Bins every finite value of rows[0..nr) into w->hist16 (non-finite ones into column h). The bin
 * is trunc((x − lo)·norm) in float32, 8 values at a time, unless that lands within b->eps of a
 * bin boundary: then, rarely, bin_exact() decides by comparing with the edges.
 */
HOT static void block_hist(struct worker *w, const float *const *rows, size_t nr)
{
	const struct binner *b = w->job->bin;
	const size_t h = w->job->h, h8 = h & ~(size_t)7, hs = h + 1;
	const unsigned bins = b->bins;
	uint16_t *hist = w->hist16;
	if (b->eps >= 1) {
		for (size_t r = 0; r < nr; r++)
			for (size_t j = 0; j < h; j++)
				if (isfinite(rows[r][j]))
					hist[bin_exact(b, rows[r][j]) * hs + j]++;
		return;
	}
	const float flo = (float)b->lo, fnorm = (float)b->norm, feps = (float)b->eps;
	const v8f lo = flo - (v8f){0}, norm = fnorm - (v8f){0}, eps = feps - (v8f){0};
	const v8f one_eps = 1 - eps;
	const v8i last = ((int)bins - 1) - (v8i){0}, ones = 1 - (v8i){0};
	const v8i lane = {0, 1, 2, 3, 4, 5, 6, 7}, sink = (int)h - (v8i){0};
	const v8i stride = (int)hs - (v8i){0};
	for (size_t r = 0; r < nr; r++) {
		const float *row = rows[r];
		float tail[8] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
		memcpy(tail, row + h8, (h - h8) * sizeof *tail);
		for (size_t j = 0; j < h; j += 8) {
			v8f v;
			memcpy(&v, j < h8 ? row + j : tail, sizeof v);
			v8i fin = (v - v) == 0;
			v8f f = (v - lo) * norm;
			f = (v8f)((v8i)f & fin);                  /* 0 where not finite */
			v8i fi = __builtin_convertvector(f, v8i); /* f >= 0: truncation is floor */
			v8f frac = f - __builtin_convertvector(fi, v8f);
			/* near a boundary other than lo (x == hi lands here too: f == bins) */
			v8i near = (((frac < eps) & (fi >= ones)) | (frac > one_eps)) & fin;
			v8i above = fi > last;
			v8i bin = (fi & ~above) | (last & above);
			uint64_t any[4];
			memcpy(any, &near, sizeof any);
			if (any[0] | any[1] | any[2] | any[3])
				for (int l = 0; l < 8; l++)
					if (near[l])
						bin[l] = (int)bin_exact(b, v[l]);
			v8i at = bin * stride + (((lane + (int)j) & fin) | (sink & ~fin));
			hist[at[0]]++;
			hist[at[1]]++;
			hist[at[2]]++;
			hist[at[3]]++;
			hist[at[4]]++;
			hist[at[5]]++;
			hist[at[6]]++;
			hist[at[7]]++;
		}
	}
}

/* Empties the 16-bit histogram counts into the 64-bit ones. */
void neurons_hist_flush(struct worker *w)
{
	const size_t h = w->job->h, hs = h + 1;
	const unsigned bins = w->job->bin->bins;
	for (unsigned q = 0; q < bins; q++)
		for (size_t j = 0; j < h; j++)
			w->hist[j * bins + q] += w->hist16[q * hs + j];
	memset(w->hist16, 0, bins * hs * sizeof *w->hist16);
	w->hist16_rows = 0;
}

/* Bins a block, emptying the 16-bit counts first when they could overflow. */
void neurons_hist_rows(struct worker *w, size_t nr)
{
	if (w->hist16_rows + nr > UINT16_MAX)
		neurons_hist_flush(w);
	block_hist(w, w->rowp, nr);
	w->hist16_rows += nr;
}

void neurons_binner_init(struct binner *b, const struct neuron_stats *st)
{
	b->bins = st->bins;
	neurons_hist_edges(st, b->edge);
	b->lo = b->edge[0];
	b->norm = st->bins / (b->edge[st->bins] - b->edge[0]);
	/*
	 * How far from a bin boundary (in bins) trunc((x − lo)·norm) in float32 is trusted. The
	 * product is off by at most 3 float32 roundings, 3·2⁻²⁴·bins ≈ 1.2e-5 bins at 64 bins; the
	 * edges (in double) by 2 ulps of the largest magnitude, at most 2⁻²⁰ bins since the data
	 * are float32 and lo < hi are two of them. 1e-4 bins leaves room. A constant layer
	 * (whose range NumPy widens by ±0.5, off the float32 grid) is binned exactly throughout.
	 */
	double mag = fmax(fabs(b->edge[0]), fabs(b->edge[st->bins]));
	double step = (b->edge[st->bins] - b->edge[0]) / st->bins;
	double bound = 3 * 0x1p-24 * st->bins + 4 * DBL_EPSILON * (mag / step);
	b->eps = st->lo < st->hi && bound < 1e-5 ? 1e-4 : 1;
}

void neurons_hist_edges(const struct neuron_stats *st, double *edges)
{
	double lo = st->lo, hi = st->hi;
	if (lo == hi) {
		lo -= 0.5;
		hi += 0.5;
	}
	/* numpy.linspace: i * step + start, and the last edge exactly stop */
	double step = (hi - lo) / st->bins;
	for (unsigned i = 0; i < st->bins; i++)
		edges[i] = (double)i * step + lo;
	edges[st->bins] = hi;
}
