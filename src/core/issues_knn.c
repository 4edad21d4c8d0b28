/*
 * issues_knn.c — the knn label-issue score: the labels of an instance's k nearest neighbours by
 * cosine similarity of a layer's activations. Blocked: a block of queries against every block of
 * candidates by one SGEMM each, a top-k list per query, so memory is O(N·k + block²) beside the
 * mapping (and O(block·H) for the rows being multiplied). The neighbour lists also feed the
 * mix method (issues_mix.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/issues_internal.h"
#include "nncmp/linalg.h"

#define KNN_BLOCK 512

struct nb {
	float sim;
	uint32_t idx;
};

/* True when a ranks before b: more similar, then the lower index. */
static bool nb_before(float sim, uint32_t idx, const struct nb *b)
{
	return sim > b->sim || (sim == b->sim && idx < b->idx);
}

/* Inserts (sim, idx) into the sorted list top[0..*len) of at most k entries. */
static void nb_insert(struct nb *top, size_t *len, size_t k, float sim, uint32_t idx)
{
	if (*len == k && !nb_before(sim, idx, &top[k - 1]))
		return;
	size_t p = *len < k ? (*len)++ : k - 1;
	while (p > 0 && nb_before(sim, idx, &top[p - 1])) {
		top[p] = top[p - 1];
		p--;
	}
	top[p] = (struct nb){sim, idx};
}

/*
 * Reads rows [r0, r0+nb) and scales each to unit length; ok[r] tells whether row r has a
 * direction at all. A row of zeros (a dead ReLU row, common over sparse inputs) or with a
 * non-finite value has no cosine with anything: it is left as zeros with ok[r] = false, and the
 * caller gives it no neighbours and makes it no one's neighbour (were it scored as similarity 0,
 * "ties to the lower index" would give it instances 0..k-1 as neighbours). The scale is applied
 * in double: 1/|x| of a tiny row can exceed FLT_MAX.
 */
static void read_unit_rows(const struct npy *a, size_t r0, size_t nb, float *out, bool *ok)
{
	size_t h = a->cols;
	npy_rows_f32(a, r0, nb, out);
	for (size_t r = 0; r < nb; r++) {
		float *x = out + r * h;
		double ss = 0;
		for (size_t j = 0; j < h; j++)
			ss += (double)x[j] * x[j];
		ok[r] = ss > 0 && isfinite(ss);
		double inv = ok[r] ? 1.0 / sqrt(ss) : 0.0;
		for (size_t j = 0; j < h; j++)
			x[j] = ok[r] ? (float)((double)x[j] * inv) : 0.0f;
	}
}

int issues_knn_neighbours(const struct study *s, const struct layer *ly, const uint8_t *exclude,
                          size_t k, struct nn_progress *prog, uint32_t *nbr, uint32_t *len,
                          struct nn_err *err)
{
	const struct npy *a = &ly->act;
	size_t n = s->n, h = a->cols;
	if (a->rows != n)
		return nn_err_set(err, "%s: %zu rows, but the study has %zu instances", a->path,
		                  a->rows, n);
	if (h == 0)
		return nn_err_set(err, "%s: 0 columns", a->path);
	struct nb *top = xmalloc(KNN_BLOCK * k * sizeof *top);
	size_t *tl = xmalloc(KNN_BLOCK * sizeof *tl);
	float *q = xmalloc(KNN_BLOCK * h * sizeof *q), *kb = xmalloc(KNN_BLOCK * h * sizeof *kb);
	float *sim = xmalloc(KNN_BLOCK * KNN_BLOCK * sizeof *sim);
	bool qok[KNN_BLOCK], kok[KNN_BLOCK];
	int rc = 0;
	for (size_t q0 = 0; q0 < n && rc == 0; q0 += KNN_BLOCK) {
		size_t nq = n - q0 < KNN_BLOCK ? n - q0 : KNN_BLOCK;
		read_unit_rows(a, q0, nq, q, qok);
		memset(tl, 0, nq * sizeof *tl);
		for (size_t k0 = 0; k0 < n; k0 += KNN_BLOCK) {
			size_t nk = n - k0 < KNN_BLOCK ? n - k0 : KNN_BLOCK;
			const float *kr = q;
			const bool *krok = qok;
			if (k0 != q0) {
				read_unit_rows(a, k0, nk, kb, kok);
				kr = kb;
				krok = kok;
			}
			linalg_sgemm(false, true, nq, nk, h, 1.0f, q, h, kr, h, 0.0f, sim, nk);
			for (size_t r = 0; r < nq; r++) {
				if ((exclude && exclude[q0 + r]) || !qok[r])
					continue; /* no direction: no neighbours */
				for (size_t e = 0; e < nk; e++) {
					size_t j = k0 + e;
					if (j == q0 + r || (exclude && exclude[j]) || !krok[e])
						continue;
					float v = sim[r * nk + e];
					nb_insert(top + r * k, &tl[r], k, isnan(v) ? -INFINITY : v,
					          (uint32_t)j);
				}
			}
		}
		for (size_t r = 0; r < nq; r++) {
			len[q0 + r] = (uint32_t)tl[r];
			for (size_t e = 0; e < tl[r]; e++)
				nbr[(q0 + r) * k + e] = top[r * k + e].idx;
		}
		rc = issues_tick(prog, nq, err);
	}
	free(top);
	free(tl);
	free(q);
	free(kb);
	free(sim);
	return rc;
}

int issues_knn(const struct study *s, const struct layer *ly, const int32_t *labels,
               const uint8_t *exclude, size_t k, struct nn_progress *prog, uint8_t *flag,
               double *score, int32_t *sugg, struct nn_err *err)
{
	size_t n = s->n, c = s->n_classes;
	uint32_t *nbr = xmalloc((n ? n : 1) * k * sizeof *nbr);
	uint32_t *len = xcalloc(n ? n : 1, sizeof *len);
	if (prog)
		atomic_store(&prog->total, n);
	int rc = issues_knn_neighbours(s, ly, exclude, k, prog, nbr, len, err);
	uint32_t *votes = xcalloc(c, sizeof *votes);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (exclude && exclude[i])
			continue;
		const uint32_t *nb = nbr + i * k;
		size_t differ = 0;
		int32_t best = labels[i];
		for (size_t e = 0; e < len[i]; e++) {
			int32_t l = labels[nb[e]];
			differ += l != labels[i];
			votes[l]++;
		}
		for (size_t e = 0; e < len[i]; e++) {
			int32_t l = labels[nb[e]];
			if (votes[l] > votes[best] || (votes[l] == votes[best] && l < best))
				best = l;
		}
		for (size_t e = 0; e < len[i]; e++)
			votes[labels[nb[e]]] = 0;
		score[i] = len[i] ? (double)differ / (double)len[i] : 0;
		flag[i] = 2 * differ > len[i];
		sugg[i] = best;
	}
	free(nbr);
	free(len);
	free(votes);
	return rc;
}
