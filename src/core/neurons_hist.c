/*
 * neurons_hist.c — per-neuron histograms in the same pass as the statistics, on a grid of slots
 * whose width is a power of two.
 *
 * The bins cannot be the layer's [min, max] cut in equal parts (numpy.histogram's default
 * edges) without a second pass: those edges are known only once every value has been seen, and
 * any summary taken before (a finer histogram) straddles them, so the values near each edge must
 * be seen again; with 512 neurons nearly every row holds such a value. Instead the bins are
 * aligned to a grid that can only coarsen as values arrive, which makes re-binning exact:
 *
 * - A slot of exponent e is [s·2^e, (s+1)·2^e) for an integer s; the slot of a float32 value v is
 *   floor(v·2^−e), exact in float arithmetic (a multiplication by a power of two). Two slots of
 *   exponent e make one of e+1 (s ↦ floor(s/2)), so counts per slot can be re-binned to a coarser
 *   exponent with no value seen again.
 * - The layer's grid (neurons_hist_grid) is a function of its range [lo, hi] alone: the smallest
 *   e, no finer than 2^−22 of the largest magnitude (and 2^−100), at which the range spans at
 *   most 6·bins slots; then bins of k slots each, k the smallest that puts [lo, hi] into `bins`
 *   bins aligned to multiples of k (so bin b is [(a+b)·k·2^e, (a+b+1)·k·2^e), a = floor(s_lo/k)).
 *   The bins are half-open, and hi lies below the last edge; the range fills 88% of them on
 *   average and at least 68% (k is 4 to 7 at the default 32 bins, over 20,000 random ranges),
 *   and their edges are round numbers.
 * - Each worker counts its values in a window of 12·bins slots, starting at the exponent the
 *   layer's first block gives (a subset of the layer: never coarser than the layer's). A value
 *   outside the window moves the window, or coarsens it when the worker's own values no longer
 *   fit, which they can only do when the layer's grid is coarser still. At the end the counts go
 *   to the layer's bins by integer division (neurons_hist_finish).
 *
 * The subset pass (neurons_subset.c) starts at the layer's grid itself.
 */
#include "nncmp/neurons_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

#define FE_MIN   -100 /* the finest slot, 2^-100: a layer of values below ~1e-30 has one bin */
#define SLOT_MAX (INT64_C(1) << 23) /* |slot| < SLOT_MAX at an exponent fe_floor() allows */

/* For each 8-bit mask, the lanes whose bit is set, first: a shuffle packs them to the front. */
static v8i pack_table[256];
static pthread_once_t pack_once = PTHREAD_ONCE_INIT;

static void pack_init(void)
{
	for (unsigned m = 0; m < 256; m++) {
		v8i p = {0};
		int n = 0;
		for (int l = 0; l < 8; l++)
			if (m >> l & 1)
				p[n++] = l;
		pack_table[m] = p;
	}
}

/* The slots a worker's window holds, and the most the layer's range may span (the grid's rule). */
size_t neurons_hist_window(unsigned bins)
{
	return 12 * (size_t)bins; /* 2 × the rule's: a grid's bins (at most 7·bins slots) fit */
}

static int64_t slot_limit(unsigned bins)
{
	return 6 * (int64_t)bins;
}

/* floor(a / b) for b > 0. */
static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return q - (a % b != 0 && a < 0);
}

/* floor(a / 2^d) for d >= 0. */
static int64_t shr(int64_t a, int d)
{
	if (d >= 63)
		return a < 0 ? -1 : 0;
	return a >= 0 ? a >> d : -((-(a + 1)) >> d) - 1;
}

/* The slot of finite v at exponent fe (exact: v·2^−fe is exact in double). */
static int64_t slot_of(double v, int fe)
{
	return (int64_t)floor(ldexp(v, -fe));
}

/* The finest exponent allowed where the largest magnitude is m: slots stay below 2^23. */
static int fe_floor(double m)
{
	int fe = m > 0 ? ilogb(m) - 22 : FE_MIN;
	return fe < FE_MIN ? FE_MIN : fe;
}

void neurons_hist_grid(double lo, double hi, unsigned bins, struct hist_grid *g)
{
	int fe = fe_floor(fmax(fabs(lo), fabs(hi)));
	int64_t sl = slot_of(lo, fe), sh = slot_of(hi, fe);
	while (sh - sl + 1 > slot_limit(bins)) {
		fe++;
		sl = shr(sl, 1);
		sh = shr(sh, 1);
	}
	int64_t k = 1;
	while (floordiv(sh, k) - floordiv(sl, k) > (int64_t)bins - 1)
		k++;
	g->bins = bins;
	g->fe = fe;
	g->k = k;
	g->anchor = floordiv(sl, k);
}

void neurons_hist_edges(const struct neuron_stats *st, double *edges)
{
	if (!(st->lo <= st->hi)) {
		for (unsigned i = 0; i <= st->bins; i++)
			edges[i] = NAN;
		return;
	}
	struct hist_grid g;
	neurons_hist_grid(st->lo, st->hi, st->bins, &g);
	for (unsigned i = 0; i <= st->bins; i++)
		edges[i] = ldexp((double)((g.anchor + (int64_t)i) * g.k), g.fe);
}

/* Adds the 16-bit counts into the 32-bit ones and clears them. */
static void flush16(struct worker *w)
{
	const size_t h = w->job->h, hs = h + 1, nb = w->nb;
	for (size_t s = 0; s < nb; s++)
		for (size_t j = 0; j < h; j++)
			w->s32[j * nb + s] += w->s16[s * hs + j];
	memset(w->s16, 0, nb * hs * sizeof *w->s16);
	w->s16_rows = 0;
}

/* Sets the window to exponent fe and first slot base (used by init and by refit). */
static void window_set(struct worker *w, int fe, int64_t base)
{
	w->fe = fe;
	w->fbase = base;
	w->inv = ldexpf(1.0f, -fe);
}

void neurons_hist_worker_init(struct worker *w, const struct hist_grid *start, int64_t first_lo,
                              int64_t first_hi)
{
	const size_t h = w->job->h;
	w->nb = neurons_hist_window(start->bins);
	w->s16 = xcalloc(w->nb * (h + 1), sizeof *w->s16);
	w->s32 = xcalloc(h * w->nb, sizeof *w->s32);
	w->s_tmp = xcalloc(w->nb, sizeof *w->s_tmp);
	w->s_at = xcalloc(h + 8, sizeof *w->s_at);
	pthread_once(&pack_once, pack_init);
	w->hist = xcalloc(h * start->bins, sizeof *w->hist);
	int64_t span = first_hi - first_lo + 1;
	window_set(w, start->fe, first_lo - ((int64_t)w->nb - span) / 2);
}

/*
 * Makes finite x fit the window: flushes the counts, then moves the window over the slots in use
 * and x's, coarsening first when they do not fit at this exponent (or x's magnitude needs
 * coarser slots), and re-bins the counts. Both only happen when the layer's grid is at least as
 * coarse, since the worker's values are the layer's.
 */
static void window_refit(struct worker *w, double x)
{
	const size_t h = w->job->h, nb = w->nb;
	flush16(w);
	int fe = w->fe > fe_floor(fabs(x)) ? w->fe : fe_floor(fabs(x));
	int64_t lo = slot_of(x, fe), hi = lo;
	for (size_t j = 0; j < h; j++)
		for (size_t s = 0; s < nb; s++)
			if (w->s32[j * nb + s]) {
				int64_t at = shr(w->fbase + (int64_t)s, fe - w->fe);
				lo = at < lo ? at : lo;
				hi = at > hi ? at : hi;
			}
	while (hi - lo + 1 > (int64_t)nb) {
		fe++;
		lo = shr(lo, 1);
		hi = shr(hi, 1);
	}
	int64_t base = lo - ((int64_t)nb - (hi - lo + 1)) / 2;
	uint32_t *tmp = w->s_tmp;
	for (size_t j = 0; j < h; j++) {
		uint32_t *row = w->s32 + j * nb;
		memset(tmp, 0, nb * sizeof *tmp);
		for (size_t s = 0; s < nb; s++)
			if (row[s])
				tmp[shr(w->fbase + (int64_t)s, fe - w->fe) - base] += row[s];
		memcpy(row, tmp, nb * sizeof *tmp);
	}
	window_set(w, fe, base);
}

/* Counts the 8 values at v (neurons j..j+7; lanes past h are 0) one by one, moving the window as
 * needed. */
static void count_lanes(struct worker *w, const float *v, size_t j)
{
	const size_t hs = w->job->h + 1;
	for (size_t l = 0; l < 8; l++) {
		if (!isfinite(v[l]) || v[l] == 0)
			continue; /* zeros are counted from the dead counts */
		/* (the magnitude first: at a far too fine exponent the slot overflows) */
		int64_t s = 0;
		if (w->fe < fe_floor(fabs(v[l])) || (s = slot_of(v[l], w->fe)) < w->fbase ||
		    s >= w->fbase + (int64_t)w->nb) {
			window_refit(w, v[l]);
			s = slot_of(v[l], w->fe);
		}
		w->s16[(size_t)(s - w->fbase) * hs + j + l]++;
	}
}

/*
 * Counts every finite non-zero value of rows[0..nr) in its slot of w's window (s16, slot-major so
 * that a row's mostly equal slots hit neighbouring counters); zeros are the dead counts, added
 * to their bin at the end (neurons_hist_finish), which spares a ReLU layer's many zeros their
 * increments. 8 values at a time in float32: q = v·2^−fe is exact, and floor(q) is its slot; the
 * counters of a row's values are packed into w->s_at, then incremented in one loop. A vector
 * with a value outside the window (or beyond ±2^23 slots, where the exponent must grow), or
 * whose q underflowed, is counted lane by lane (count_lanes), which may move the window for the
 * vectors after it.
 */
HOT static void block_slots(struct worker *w, const float *const *rows, size_t nr)
{
	const size_t h = w->job->h, h8 = h & ~(size_t)7, hs = h + 1;
	const v8i lane = {0, 1, 2, 3, 4, 5, 6, 7};
	const v8i stride = (int)hs - (v8i){0};
	v8f inv, wlo, whi;
	v8i base;
#define WINDOW_LOAD()                                                                              \
	do {                                                                                       \
		inv = w->inv - (v8f){0};                                                           \
		wlo = (float)(w->fbase > 1 - SLOT_MAX ? w->fbase : 1 - SLOT_MAX) - (v8f){0};       \
		whi = (float)(w->fbase + (int64_t)w->nb < SLOT_MAX ? w->fbase + (int64_t)w->nb     \
		                                                   : SLOT_MAX) -                   \
		      (v8f){0};                                                                    \
		base = (int32_t)w->fbase - (v8i){0};                                               \
	} while (0)
	WINDOW_LOAD();
	uint16_t *s16 = w->s16;
	int32_t *ats = w->s_at;
	for (size_t r = 0; r < nr; r++) {
		const float *row = rows[r];
		float tail[8] = {0, 0, 0, 0, 0, 0, 0, 0};
		memcpy(tail, row + h8, (h - h8) * sizeof *tail);
		size_t n = 0;
		for (size_t j = 0; j < h; j += 8) {
			v8f v;
			memcpy(&v, j < h8 ? row + j : tail, sizeof v);
			v8i keep = ((v - v) == 0) & (v != 0); /* finite and not 0 */
			v8f q = v * inv;
			v8i in = (q >= wlo) & (q < whi);
			v8i odd = keep & (~in | (q == 0));
			uint64_t any[4];
			memcpy(any, &odd, sizeof any);
			if (any[0] | any[1] | any[2] | any[3]) {
				for (size_t i = 0; i < n; i++) /* before the window moves */
					s16[ats[i]]++;
				n = 0;
				float lanes[8];
				memcpy(lanes, &v, sizeof lanes);
				count_lanes(w, lanes, j);
				WINDOW_LOAD();
				continue;
			}
			v8f qm = (v8f)((v8i)q & keep);
			v8i fi = __builtin_convertvector(qm, v8i);
			fi += (v8i)(__builtin_convertvector(fi, v8f) > qm); /* trunc to floor */
			v8i at = (fi - base) * stride + (lane + (int)j);
			unsigned m = 0;
			for (int l = 0; l < 8; l++)
				m |= (unsigned)(keep[l] & 1) << l;
			v8i packed = __builtin_shuffle(at, pack_table[m]);
			memcpy(ats + n, &packed, sizeof packed);
			n += (size_t)__builtin_popcount(m);
		}
		for (size_t i = 0; i < n; i++)
			s16[ats[i]]++;
	}
#undef WINDOW_LOAD
}

void neurons_hist_rows(struct worker *w, size_t nr)
{
	if (w->s16_rows + nr > UINT16_MAX)
		flush16(w);
	block_slots(w, w->rowp, nr);
	w->s16_rows += nr;
}

bool neurons_hist_finish(struct worker *w, const struct hist_grid *g)
{
	const size_t h = w->job->h, nb = w->nb;
	const unsigned bins = g->bins;
	int d = g->fe - w->fe;
	if (d < 0)
		return false; /* the worker's slots are coarser than the layer's: cannot happen */
	flush16(w);
	const int64_t zero = floordiv(0, g->k) - g->anchor; /* the bin of 0 */
	for (size_t j = 0; j < h; j++) {
		if (w->dead[j]) /* a layer with zeros has 0 in its range */
			w->hist[j * bins + (size_t)(zero < 0       ? 0
			                            : zero >= bins ? bins - 1
			                                           : zero)] += w->dead[j];
		for (size_t s = 0; s < nb; s++) {
			uint32_t c = w->s32[j * nb + s];
			if (!c)
				continue;
			int64_t b = floordiv(shr(w->fbase + (int64_t)s, d), g->k) - g->anchor;
			/* outside only if the file changed between two passes */
			b = b < 0 ? 0 : b >= (int64_t)bins ? (int64_t)bins - 1 : b;
			w->hist[j * bins + (size_t)b] += c;
		}
	}
	return true;
}
