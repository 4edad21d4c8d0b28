/*
 * issues_mix.c — the mean and mix label-issue methods (issues.h): self-confidence on the mean of
 * the models' probabilities, with (mix) the labels of each instance's nearest neighbours in the
 * study's layers mixed in. Memory beside the mapping: O(N·k) neighbour indices per layer kept,
 * O(N) for the rest.
 */
#include <stdlib.h>
#include <string.h>

#include "nncmp/issues_internal.h"

/* A layer's neighbour vote is dropped when it agrees with the labels on more than this many
 * percentage points of the rows more than the models' argmax does (issues.h). */
#define MIX_GUARD_POINTS 10

/* One layer's neighbour lists (issues_knn_neighbours). */
struct mix_layer {
	uint32_t *nbr, *len;
};

/*
 * Instance i's neighbour vote in one layer: v(c) = the sum of P[j, y_j] over its neighbours j
 * labelled c, in neighbour order; Q = v / (their sum, in neighbour order), or the label counts
 * over the neighbours when that sum is 0. Adds Q(c) to q[c] when q is not NULL (and marks the
 * classes touched in seen[]), and returns Q's argmax (the lower class on ties), or -1 when i has
 * no neighbours. v receives scratch; it must hold c zeros and is left so.
 */
static int32_t mix_vote(const struct mix_layer *ml, size_t i, size_t k, const int32_t *lab,
                        const double *pl, double *v, double *q)
{
	const uint32_t *nb = ml->nbr + i * k;
	size_t len = ml->len[i];
	if (len == 0)
		return -1;
	double sum = 0;
	for (size_t e = 0; e < len; e++) {
		v[lab[nb[e]]] += pl[nb[e]];
		sum += pl[nb[e]];
	}
	if (!(sum > 0))
		for (size_t e = 0; e < len; e++)
			v[lab[nb[e]]] += 1.0; /* every v was 0: the counts */
	double div = sum > 0 ? sum : (double)len;
	int32_t best = -1;
	double bq = 0;
	for (size_t e = 0; e < len; e++) {
		int32_t l = lab[nb[e]];
		if (v[l] < 0)
			continue; /* this class was done: v is set to -1 below */
		double qv = v[l] / div;
		if (best < 0 || qv > bq || (qv == bq && l < best))
			best = l, bq = qv;
		if (q)
			q[l] += qv;
		v[l] = -1;
	}
	for (size_t e = 0; e < len; e++)
		v[lab[nb[e]]] = 0;
	return best;
}

/*
 * The sum over the used layers of instance i's vote Q into q[0..c) (its probability row p for a
 * layer in which it has no neighbours: no vote); v is mix_vote()'s scratch.
 */
static void mix_votes(const struct mix_layer *ml, size_t used, size_t i, size_t k,
                      const int32_t *lab, const double *pl, const double *p, size_t c, double *v,
                      double *q)
{
	memset(q, 0, c * sizeof *q);
	for (size_t u = 0; u < used; u++)
		if (mix_vote(&ml[u], i, k, lab, pl, v, q) < 0)
			for (size_t j = 0; j < c; j++)
				q[j] += p[j];
}

int issues_mix(const struct prob_src *ps, const struct layer *const *layers, size_t nl, size_t k,
               uint8_t *flag, double *score, int32_t *sugg, size_t *mixed, size_t *dropped,
               double *weight, struct nn_err *err)
{
	const struct study *s = ps->s;
	size_t n = s->n, c = ps->c, block = issues_block_rows(c);
	const int32_t *lab = ps->labels;
	const uint8_t *ex = ps->exclude;
	double *pl = xcalloc(n ? n : 1, sizeof *pl);
	double *rows = xmalloc(block * c * sizeof *rows);
	double *v = xcalloc(c ? c : 1, sizeof *v), *q = xcalloc(c ? c : 1, sizeof *q);
	struct mix_layer *ml = xcalloc(nl ? nl : 1, sizeof *ml);
	struct prob_scratch sc;
	prob_scratch_init(&sc, ps, block);
	size_t used = 0, kept = 0, agree_p = 0;
	int rc = 0;
	*mixed = *dropped = 0;
	*weight = 0;
	if (ps->prog)
		atomic_store(&ps->prog->total, (nl + (nl ? 3 : 1)) * n);

	/* P[i, y_i] for the votes, and how often the models' argmax is the label (the guard) */
	for (size_t i0 = 0; nl && i0 < n && rc == 0; i0 += block) {
		size_t nb = n - i0 < block ? n - i0 : block;
		prob_src_rows(ps, i0, nb, rows, &sc);
		for (size_t r = 0; r < nb; r++) {
			size_t i = i0 + r;
			if (ex && ex[i])
				continue;
			const double *p = rows + r * c;
			size_t best = prob_row_argmax(p, c, c);
			pl[i] = p[lab[i]];
			agree_p += (int32_t)best == lab[i];
			kept++;
		}
		rc = issues_tick(ps->prog, nb, err);
	}

	/* each layer's neighbours; the guard drops a vote that agrees with the labels far more
	 * often than the models do (activations of a model trained on these very labels) */
	for (size_t l = 0; l < nl && rc == 0; l++) {
		struct mix_layer *m = &ml[used];
		m->nbr = xmalloc((n ? n : 1) * k * sizeof *m->nbr);
		m->len = xcalloc(n ? n : 1, sizeof *m->len);
		rc = issues_knn_neighbours(s, layers[l], ex, k, ps->prog, m->nbr, m->len, err);
		size_t agree_u = 0;
		for (size_t i = 0; i < n && rc == 0; i++)
			if (!(ex && ex[i]))
				agree_u += mix_vote(m, i, k, lab, pl, v, NULL) == lab[i];
		if (rc == 0 && agree_u > agree_p &&
		    100 * (agree_u - agree_p) > MIX_GUARD_POINTS * kept) {
			free(m->nbr);
			free(m->len);
			memset(m, 0, sizeof *m);
			(*dropped)++;
		} else
			used++;
	}

	/*
	 * The weight w of the vote in P' = (1 - w) P + w Q: the one whose P' predicts the given
	 * labels with the least squared error (Brier score) summed over the instances, in closed
	 * form: with a = P - onehot(y) and d = Q - P, sum |a + w d|^2 is least at w = -sum a.d /
	 * sum |d|^2, clipped to [0, 1] (0 when Q = P everywhere). P (out-of-fold models) and Q
	 * (the neighbours' labels, not the instance's own) both predict a label without seeing it,
	 * so the weight is chosen on the given labels, per study: a weak neighbour space (the
	 * hidden layer of a text MLP) gets a low weight, a strong one a high weight.
	 */
	double ad = 0, dd = 0;
	for (size_t i0 = 0; used && i0 < n && rc == 0; i0 += block) {
		size_t nb = n - i0 < block ? n - i0 : block;
		prob_src_rows(ps, i0, nb, rows, &sc);
		for (size_t r = 0; r < nb; r++) {
			size_t i = i0 + r;
			if (ex && ex[i])
				continue;
			const double *p = rows + r * c;
			mix_votes(ml, used, i, k, lab, pl, p, c, v, q);
			double rad = 0, rdd = 0;
			for (size_t j = 0; j < c; j++) {
				double d = q[j] / (double)used - p[j];
				rad += (p[j] - ((int32_t)j == lab[i])) * d;
				rdd += d * d;
			}
			ad += rad;
			dd += rdd;
		}
		rc = issues_tick(ps->prog, nb, err);
	}
	if (nl && !used && rc == 0)
		rc = issues_tick(ps->prog, n, err); /* every layer dropped: no weight to choose */
	double w = dd > 0 ? -ad / dd : 0;
	w = w > 1 ? 1 : w > 0 ? w : 0;

	/* P' = (1 - w) P + w (the mean of the layers' Q); score 1 - P'[i, y_i]; P' = P without a
	 * vote (the mean method), in the shared fused pass */
	if (!used && rc == 0)
		rc = issues_mean_pick(ps, flag, score, sugg, err);
	for (size_t i0 = 0; used && i0 < n && rc == 0; i0 += block) {
		size_t nb = n - i0 < block ? n - i0 : block;
		prob_src_rows(ps, i0, nb, rows, &sc);
		for (size_t r = 0; r < nb; r++) {
			size_t i = i0 + r;
			if (ex && ex[i])
				continue;
			double *p = rows + r * c;
			if (used) {
				mix_votes(ml, used, i, k, lab, pl, p, c, v, q);
				for (size_t j = 0; j < c; j++)
					p[j] = (1.0 - w) * p[j] + w * (q[j] / (double)used);
			}
			size_t best = prob_row_argmax(p, c, c);
			size_t other = prob_row_argmax(p, c, best);
			score[i] = 1.0 - p[lab[i]];
			flag[i] = (int32_t)best != lab[i];
			sugg[i] = (int32_t)best == lab[i] && c > 1 ? (int32_t)other : (int32_t)best;
		}
		rc = issues_tick(ps->prog, nb, err);
	}
	*mixed = used;
	*weight = w;
	for (size_t u = 0; u < nl; u++) {
		free(ml[u].nbr);
		free(ml[u].len);
	}
	free(ml);
	free(pl);
	free(rows);
	free(v);
	free(q);
	prob_scratch_free(&sc);
	return rc;
}
