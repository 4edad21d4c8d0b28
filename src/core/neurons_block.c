/*
 * neurons_block.c — what one block of rows adds to a worker's accumulators: counts, dead counts,
 * mean and variance, in the pass over a layer also min, max and the top-k lists, and the
 * histogram counts (neurons_hist.c).
 *
 * Mean and variance: within a block of rows each thread sums v − K and (v − K)² in double, with
 * the shift K the neuron's running mean (a first value of the neuron before there is one), so
 * the sums do not cancel for large means; blocks are merged into (n, mean, m2) with the parallel
 * formula of Chan et al., and threads likewise. The inner loop runs over 4 neurons at a time with
 * vector extensions (GCC and Clang) and is branch-free: NaN/±Inf are masked out, not tested for.
 */
#include "nncmp/neurons_internal.h"

#include <math.h>
#include <string.h>

typedef double v4d __attribute__((vector_size(32)));
typedef int64_t v4l __attribute__((vector_size(32)));

#define GROUP 8 /* rows whose values go through the registers together */

/*
 * Adds rows[0..nr) to the block sums, and with `extremes` to min/max and hit[r] set when some
 * value of row r beats its neuron's top-k threshold. Returns whether any row did. The rows go in
 * groups, 4 neurons at a time, so the sums stay in registers across a group's rows.
 */
static inline __attribute__((always_inline)) bool
block_add(struct worker *w, const float *const *rows, size_t nr, bool extremes, uint8_t *hit_row)
{
	const size_t h = w->job->h, h4 = h & ~(size_t)3;
	bool any = false;
	for (size_t r0 = 0; r0 < nr; r0 += GROUP) {
		const size_t g = nr - r0 < GROUP ? nr - r0 : GROUP;
		const float *src[GROUP];
		float tail[GROUP][4];
		v4l hit[GROUP];
		for (size_t q = 0; q < g; q++) {
			hit[q] = (v4l){0, 0, 0, 0};
			for (size_t l = 0; l < 4; l++)
				tail[q][l] = h4 + l < h ? rows[r0 + q][h4 + l] : NAN;
		}
		/* the next group's rows, a line at a time: their addresses are not a stream */
		const size_t gn = nr - r0 - g < GROUP ? nr - r0 - g : GROUP;
		for (size_t j = 0; j < h; j += 4) {
			for (size_t q = 0; q < g; q++)
				src[q] = j < h4 ? rows[r0 + q] + j : tail[q];
			if (j % 16 == 0)
				for (size_t q = 0; q < gn; q++)
					__builtin_prefetch(rows[r0 + g + q] + j);
			v4d mn = {0, 0, 0, 0}, mx = mn, thr = mn;
			v4l c, dz;
			v4d k, s1, s2;
			memcpy(&c, w->c + j, sizeof c);
			memcpy(&dz, w->dz + j, sizeof dz);
			memcpy(&k, w->shift + j, sizeof k);
			memcpy(&s1, w->s1 + j, sizeof s1);
			memcpy(&s2, w->s2 + j, sizeof s2);
			if (extremes) {
				memcpy(&mn, w->mn + j, sizeof mn);
				memcpy(&mx, w->mx + j, sizeof mx);
				memcpy(&thr, w->thr + j, sizeof thr);
			}
			for (size_t q = 0; q < g; q++) {
				/* all in double from here: no shuffles between lane widths (and
				 * this form, unlike __builtin_convertvector, becomes one
				 * vcvtps2pd with GCC 12) */
				const float *p = src[q];
				v4d v = {p[0], p[1], p[2], p[3]};
				v4l fin = (v - v) == 0; /* -1 where finite: NaN and ±Inf give NaN */
				c -= fin;
				dz -= v == 0;
				v4d d = (v4d)((v4l)(v - k) & fin);
				s1 += d;
				s2 += d * d;
				if (extremes) {
					v4l lt = (v < mn) & fin, gt = (v > mx) & fin;
					mn = (v4d)(((v4l)v & lt) | ((v4l)mn & ~lt));
					mx = (v4d)(((v4l)v & gt) | ((v4l)mx & ~gt));
					hit[q] |= v > thr;
				}
			}
			memcpy(w->c + j, &c, sizeof c);
			memcpy(w->dz + j, &dz, sizeof dz);
			memcpy(w->s1 + j, &s1, sizeof s1);
			memcpy(w->s2 + j, &s2, sizeof s2);
			if (extremes) {
				memcpy(w->mn + j, &mn, sizeof mn);
				memcpy(w->mx + j, &mx, sizeof mx);
			}
		}
		for (size_t q = 0; extremes && q < g; q++) {
			hit_row[r0 + q] = (hit[q][0] | hit[q][1] | hit[q][2] | hit[q][3]) != 0;
			any |= hit_row[r0 + q];
		}
	}
	return any;
}

/* block_add() compiled twice, so that neither has a test of `extremes` in its inner loop. */
HOT static bool block_add_all(struct worker *w, const float *const *rows, size_t nr,
                              uint8_t *hit_row)
{
	return block_add(w, rows, nr, true, hit_row);
}

HOT static bool block_add_moments(struct worker *w, const float *const *rows, size_t nr)
{
	return block_add(w, rows, nr, false, NULL);
}

/* Offers row `inst` to the top-k lists of the neurons whose threshold it beats. */
static void topk_row(struct worker *w, const float *row, uint32_t inst)
{
	const size_t h = w->job->h;
	const unsigned k = w->job->k;
	for (size_t j = 0; j < h; j++) {
		float v = row[j];
		if (!(v > w->thr[j]) || !isfinite(v))
			continue;
		float *val = w->top_val + j * k;
		uint32_t *idx = w->top_idx + j * k;
		unsigned slot = w->top_n[j];
		if (slot < k) {
			w->top_n[j]++;
		} else {
			/* the worst entry: lowest value, and of equal ones the latest */
			slot = 0;
			for (unsigned q = 1; q < k; q++)
				if (val[q] < val[slot] ||
				    (val[q] == val[slot] && idx[q] > idx[slot]))
					slot = q;
		}
		val[slot] = v;
		idx[slot] = inst;
		if (w->top_n[j] == k) {
			double worst = val[0];
			for (unsigned q = 1; q < k; q++)
				worst = val[q] < worst ? val[q] : worst;
			w->thr[j] = worst;
		}
	}
}

/* Folds the block sums into the running ones and clears them. */
static void block_flush(struct worker *w)
{
	const size_t h = w->job->h;
	for (size_t j = 0; j < h; j++) {
		w->dead[j] += (uint32_t)w->dz[j];
		uint32_t cb = (uint32_t)w->c[j];
		if (cb) {
			double mb = w->s1[j] / cb;
			double m2b = w->s2[j] - w->s1[j] * mb;
			neurons_chan_merge(&w->n[j], &w->mean[j], &w->m2[j], cb, mb + w->shift[j],
			                   m2b > 0 ? m2b : 0);
		}
		w->dz[j] = w->c[j] = 0;
		w->s1[j] = w->s2[j] = 0;
	}
}

/* Chooses the shifts for a block: the running mean, else the seed, else a first value. */
static void block_shift(struct worker *w, const float *const *rows, size_t nr)
{
	const size_t h = w->job->h;
	for (size_t j = 0; j < h; j++) {
		if (w->n[j]) {
			w->shift[j] = w->mean[j];
		} else if (w->job->seed && isfinite(w->job->seed[j])) {
			w->shift[j] = w->job->seed[j];
		} else {
			w->shift[j] = 0;
			for (size_t r = 0; r < nr; r++)
				if (isfinite(rows[r][j])) {
					w->shift[j] = rows[r][j];
					break;
				}
		}
	}
}

void neurons_block_run(struct worker *w, size_t pos, size_t nr)
{
	const struct job *job = w->job;
	block_shift(w, w->rowp, nr);
	bool hits = job->pass == PASS_MOMENTS ? block_add_all(w, w->rowp, nr, w->hit)
	                                      : block_add_moments(w, w->rowp, nr);
	block_flush(w);
	if (job->grid)
		neurons_hist_rows(w, nr);
	for (size_t r = 0; hits && r < nr; r++)
		if (w->hit[r])
			topk_row(w, w->rowp[r], (uint32_t)(pos + r));
}
