/*
 * neurons_block.c — what one block of rows adds to a worker's accumulators: counts, dead counts,
 * mean and variance, in the pass over a layer also min, max and the top-k lists, and the
 * histogram counts (neurons_hist.c).
 *
 * Mean and variance: within a block of rows each thread sums v − K and (v − K)² in double, with
 * the shift K the neuron's running mean rounded to float32 (a first value of the neuron before
 * there is one), so the sums do not cancel for large means; blocks are merged into (n, mean, m2)
 * with the parallel formula of Chan et al., and threads likewise. The inner loop runs over 8
 * neurons at a time with vector extensions (GCC and Clang) and is branch-free; a block is added
 * without looking for NaN/±Inf, and again with them masked out when its sums say it held one.
 */
#include "nncmp/neurons_internal.h"

#include <math.h>
#include <string.h>

typedef double v4d __attribute__((vector_size(32)));
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

#define GROUP 8 /* rows whose values go through the registers together */

/*
 * Adds rows[0..nr) to the block sums, and with `extremes` to min/max and hit[r] set when some
 * value of row r beats its neuron's top-k threshold. Returns whether any row did. The rows go in
 * groups, 8 neurons at a time, so the sums stay in registers across a group's rows: the compares
 * in float32 lanes, the sums of v − K and (v − K)² in two double lanes of 4.
 *
 * With `masked` false, nothing checks for NaN or ±Inf: the counts are the rows', a NaN is no
 * extreme (a compare with it is false), and a non-finite value makes its neuron's sums
 * non-finite, which neurons_block_run() sees and then adds the block again with `masked` true,
 * where non-finite values are left out (set to K, whose v − K is 0, and kept out of the counts
 * and extremes).
 */
static inline __attribute__((always_inline)) bool block_add(struct worker *w,
                                                            const float *const *rows, size_t nr,
                                                            bool extremes, bool masked,
                                                            uint8_t *hit_row)
{
	const size_t h = w->job->h, h8 = h & ~(size_t)7;
	bool any = false;
	for (size_t r0 = 0; r0 < nr; r0 += GROUP) {
		const size_t g = nr - r0 < GROUP ? nr - r0 : GROUP;
		const float *src[GROUP];
		float tail[GROUP][8];
		v8i hit[GROUP];
		for (size_t q = 0; q < g; q++) {
			hit[q] = (v8i){0};
			for (size_t l = 0; l < 8; l++)
				tail[q][l] = h8 + l < h ? rows[r0 + q][h8 + l] : 0;
		}
		/* the next group's rows, a line at a time: their addresses are not a stream */
		const size_t gn = nr - r0 - g < GROUP ? nr - r0 - g : GROUP;
		for (size_t j = 0; j < h; j += 8) {
			for (size_t q = 0; q < g; q++)
				src[q] = j < h8 ? rows[r0 + q] + j : tail[q];
			if (j % 16 == 0)
				for (size_t q = 0; q < gn; q++)
					__builtin_prefetch(rows[r0 + g + q] + j);
			v8f k, mn = {0}, mx = {0}, thr = {0};
			v8i c, dz;
			v4d s1a, s1b, s2a, s2b;
			memcpy(&k, w->shift + j, sizeof k);
			memcpy(&c, w->c + j, sizeof c);
			memcpy(&dz, w->dz + j, sizeof dz);
			memcpy(&s1a, w->s1 + j, sizeof s1a);
			memcpy(&s1b, w->s1 + j + 4, sizeof s1b);
			memcpy(&s2a, w->s2 + j, sizeof s2a);
			memcpy(&s2b, w->s2 + j + 4, sizeof s2b);
			if (extremes) {
				memcpy(&mn, w->mn + j, sizeof mn);
				memcpy(&mx, w->mx + j, sizeof mx);
				memcpy(&thr, w->thr + j, sizeof thr);
			}
			const v4d ka = {k[0], k[1], k[2], k[3]}, kb = {k[4], k[5], k[6], k[7]};
			for (size_t q = 0; q < g; q++) {
				v8f v;
				memcpy(&v, src[q], sizeof v);
				v8i fin = {-1, -1, -1, -1, -1, -1, -1, -1};
				if (masked) {
					fin = (v - v) ==
					      0; /* -1 where finite: NaN and ±Inf give NaN */
					v = (v8f)(((v8i)v & fin) | ((v8i)k & ~fin));
					c -= fin;
				}
				dz -= (v == 0) & fin;
				v4d a = {v[0], v[1], v[2], v[3]}, b = {v[4], v[5], v[6], v[7]};
				a -= ka;
				b -= kb;
				s1a += a;
				s1b += b;
				s2a += a * a;
				s2b += b * b;
				if (extremes) {
					v8i lt = (v < mn) & fin, gt = (v > mx) & fin;
					mn = (v8f)(((v8i)v & lt) | ((v8i)mn & ~lt));
					mx = (v8f)(((v8i)v & gt) | ((v8i)mx & ~gt));
					hit[q] |= (v > thr) & fin;
				}
			}
			if (!masked)
				c += (int32_t)g;
			memcpy(w->c + j, &c, sizeof c);
			memcpy(w->dz + j, &dz, sizeof dz);
			memcpy(w->s1 + j, &s1a, sizeof s1a);
			memcpy(w->s1 + j + 4, &s1b, sizeof s1b);
			memcpy(w->s2 + j, &s2a, sizeof s2a);
			memcpy(w->s2 + j + 4, &s2b, sizeof s2b);
			if (extremes) {
				memcpy(w->mn + j, &mn, sizeof mn);
				memcpy(w->mx + j, &mx, sizeof mx);
			}
		}
		for (size_t q = 0; extremes && q < g; q++) {
			uint64_t u[4];
			memcpy(u, &hit[q], sizeof u);
			hit_row[r0 + q] = (u[0] | u[1] | u[2] | u[3]) != 0;
			any |= hit_row[r0 + q];
		}
	}
	return any;
}

/* block_add() compiled four times, so that none has a test of a flag in its inner loop. */
HOT static bool block_add_all(struct worker *w, const float *const *rows, size_t nr,
                              uint8_t *hit_row)
{
	return block_add(w, rows, nr, true, false, hit_row);
}

HOT static bool block_add_all_masked(struct worker *w, const float *const *rows, size_t nr,
                                     uint8_t *hit_row)
{
	return block_add(w, rows, nr, true, true, hit_row);
}

HOT static bool block_add_moments(struct worker *w, const float *const *rows, size_t nr)
{
	return block_add(w, rows, nr, false, false, NULL);
}

HOT static bool block_add_moments_masked(struct worker *w, const float *const *rows, size_t nr)
{
	return block_add(w, rows, nr, false, true, NULL);
}

/* Whether every neuron's block sums are finite: no NaN or ±Inf was added unmasked. */
static bool sums_finite(const struct worker *w)
{
	const size_t h = w->job->h;
	double z = 0;
	for (size_t j = 0; j < h; j++)
		z += (w->s1[j] - w->s1[j]) + (w->s2[j] - w->s2[j]); /* NaN once one is not finite */
	return z == 0;
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
			w->shift[j] = (float)w->mean[j];
		} else if (w->job->seed && isfinite(w->job->seed[j])) {
			w->shift[j] = (float)w->job->seed[j];
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
	const bool all = job->pass == PASS_MOMENTS;
	block_shift(w, w->rowp, nr);
	if (all) {
		memcpy(w->mn_save, w->mn, job->h * sizeof *w->mn);
		memcpy(w->mx_save, w->mx, job->h * sizeof *w->mx);
	}
	bool hits = all ? block_add_all(w, w->rowp, nr, w->hit) : block_add_moments(w, w->rowp, nr);
	if (!sums_finite(w)) { /* a NaN or ±Inf in the block: again, leaving them out */
		memset(w->c, 0, job->hp * sizeof *w->c);
		memset(w->dz, 0, job->hp * sizeof *w->dz);
		memset(w->s1, 0, job->hp * sizeof *w->s1);
		memset(w->s2, 0, job->hp * sizeof *w->s2);
		if (all) {
			memcpy(w->mn, w->mn_save, job->h * sizeof *w->mn);
			memcpy(w->mx, w->mx_save, job->h * sizeof *w->mx);
		}
		hits = all ? block_add_all_masked(w, w->rowp, nr, w->hit)
		           : block_add_moments_masked(w, w->rowp, nr);
	}
	block_flush(w);
	if (job->grid)
		neurons_hist_rows(w, nr);
	for (size_t r = 0; hits && r < nr; r++)
		if (w->hit[r])
			topk_row(w, w->rowp[r], (uint32_t)(pos + r));
}
