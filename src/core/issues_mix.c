/*
 * issues_mix.c — the mean and mix label-issue methods (issues.h): self-confidence on the mean of
 * the models' probabilities, or (mix) on a combination of the models and the labels of each
 * instance's nearest neighbours in the study's layers, whose weights are fitted to the given
 * labels (least summed Brier score), divided by each class's threshold. Both ways of fitting
 * weights see only the given labels; the models are out-of-fold and the vote leaves the
 * instance's own label out, so neither weight rewards memorising it.
 *
 * mix passes over the probabilities five times (the models' weights, the credibilities, the
 * sources' weights, the thresholds, the scores) besides the neighbour search, which is most
 * of its time. Memory beside the mapping: O(N·k) neighbour indices per layer kept, O(N) for
 * the rest.
 * Why these parts: README, "Label issues", and tools/triage_rules.py's figures.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/issues_internal.h"

/* A layer's neighbour vote is dropped when it agrees with the labels on more than this many
 * percentage points of the rows more than the models' argmax does (issues.h). */
#define MIX_GUARD_POINTS 10

/* Sources (models and the vote) whose weights are fitted by trying every face of the simplex:
 * 2^12 small systems at most. Past it the models get equal weights. */
#define MIX_SIMPLEX_MAX 12

/* One layer's neighbour lists (issues_knn_neighbours). */
struct mix_layer {
	uint32_t *nbr, *len;
};

/*
 * Instance i's neighbour vote in one layer: v(c) = the sum of pl[j] (the neighbour's
 * credibility) over its neighbours j labelled c, in neighbour order; Q = v / (their sum, in
 * neighbour order), or the label counts over the neighbours when that sum is 0. Adds Q(c) to q[c]
 * when q is not NULL (and marks the classes touched in seen[]), and returns Q's argmax (the lower
 * class on ties), or -1 when i has no neighbours. v receives scratch; it must hold c zeros and is
 * left so.
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

/*
 * Solves the n × n system A x = r (A row-major, overwritten; r receives x) by Gaussian
 * elimination with partial pivoting, the first largest pivot. False when a pivot is at most
 * 1e-12 times A's largest entry: singular for this purpose (two sources that are one).
 */
static bool solve_small(double *A, double *r, size_t n)
{
	double scale = 0;
	for (size_t e = 0; e < n * n; e++)
		scale = fabs(A[e]) > scale ? fabs(A[e]) : scale;
	for (size_t col = 0; col < n; col++) {
		size_t piv = col;
		for (size_t q = col + 1; q < n; q++)
			if (fabs(A[q * n + col]) > fabs(A[piv * n + col]))
				piv = q;
		if (!(fabs(A[piv * n + col]) > 1e-12 * scale))
			return false;
		for (size_t e = 0; piv != col && e < n; e++) {
			double t = A[col * n + e];
			A[col * n + e] = A[piv * n + e];
			A[piv * n + e] = t;
		}
		double t = r[col];
		r[col] = r[piv];
		r[piv] = t;
		for (size_t q = col + 1; q < n; q++) {
			double f = A[q * n + col] / A[col * n + col];
			for (size_t e = col; e < n; e++)
				A[q * n + e] -= f * A[col * n + e];
			r[q] -= f * r[col];
		}
	}
	for (size_t col = n; col-- > 0;) {
		double t = r[col];
		for (size_t e = col + 1; e < n; e++)
			t -= A[col * n + e] * r[e];
		r[col] = t / A[col * n + col];
	}
	return true;
}

/*
 * The weights a >= 0 with sum a = 1 that minimise a'Ga - 2b'a over m <= MIX_SIMPLEX_MAX sources
 * (G their Gram matrix, b their summed probability of the label: the summed Brier score of the
 * combination less a constant). A convex quadratic's minimum on the simplex is the minimum of
 * the affine hull of some face, so every face is tried (supports in increasing bit order): the
 * KKT system [2G_S 1; 1' 0][a; l] = [2b_S; 1], kept when no weight is negative; the least
 * objective wins, the first on ties. Some face always qualifies (a vertex: a = e_q).
 */
static void simplex_lsq(const double *G, const double *b, size_t m, double *a)
{
	double best_f = INFINITY;
	double A[(MIX_SIMPLEX_MAX + 1) * (MIX_SIMPLEX_MAX + 1)], r[MIX_SIMPLEX_MAX + 1];
	double x[MIX_SIMPLEX_MAX];
	size_t idx[MIX_SIMPLEX_MAX];
	for (size_t q = 0; q < m; q++)
		a[q] = q == 0;
	for (unsigned long mask = 1; mask < 1ul << m; mask++) {
		size_t n = 0;
		for (size_t q = 0; q < m; q++)
			if (mask >> q & 1)
				idx[n++] = q;
		size_t w = n + 1;
		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; j < n; j++)
				A[i * w + j] = 2.0 * G[idx[i] * m + idx[j]];
			A[i * w + n] = 1.0;
			A[n * w + i] = 1.0;
			r[i] = 2.0 * b[idx[i]];
		}
		A[n * w + n] = 0.0;
		r[n] = 1.0;
		if (!solve_small(A, r, w))
			continue;
		bool neg = false;
		for (size_t i = 0; i < n; i++)
			neg |= r[i] < 0;
		if (neg)
			continue;
		memset(x, 0, m * sizeof *x);
		for (size_t i = 0; i < n; i++)
			x[idx[i]] = r[i];
		double f = 0;
		for (size_t i = 0; i < m; i++) {
			for (size_t j = 0; j < m; j++)
				f += x[i] * G[i * m + j] * x[j];
			f -= 2.0 * b[i] * x[i];
		}
		if (f < best_f) {
			best_f = f;
			memcpy(a, x, m * sizeof *a);
		}
	}
}

/* Model k's probabilities of rows i0 .. i0+nb-1 into out (nb × c doubles). */
static void model_rows(const struct prob_src *ps, size_t k, size_t i0, size_t nb, double *out,
                       struct prob_scratch *sc)
{
	struct prob_src one = *ps;
	one.nm = 1;
	one.m = ps->m + k;
	prob_src_rows(&one, i0, nb, out, sc);
}

/*
 * A pass over the instances not excluded, a block of rows at a time: every model's rows of the
 * block are read as doubles, and src[0..nm) point to the current row's. The progress is ticked
 * at the end of each block; a cancellation ends the pass with rc = -1.
 */
struct mix_rows {
	const struct prob_src *ps;
	struct prob_scratch *sc;
	double *mrows; /* nm × block × c */
	const double **src;
	size_t block, i0, nb, r;
	int *rc;
	struct nn_err *err;
};

static void mix_rows_start(struct mix_rows *it)
{
	it->i0 = 0;
	it->nb = 0;
	it->r = 0;
}

/* The next instance not excluded into *i, with src set; false at the end of the pass. */
static bool mix_rows_next(struct mix_rows *it, size_t *i)
{
	const struct prob_src *ps = it->ps;
	size_t n = ps->s->n, c = ps->c;
	for (;;) {
		if (it->r == it->nb) {
			if (it->nb) {
				*it->rc = issues_tick(ps->prog, it->nb, it->err);
				it->i0 += it->nb;
			}
			if (*it->rc != 0 || it->i0 >= n)
				return false;
			it->nb = n - it->i0 < it->block ? n - it->i0 : it->block;
			it->r = 0;
			for (size_t mk = 0; mk < ps->nm; mk++)
				model_rows(ps, mk, it->i0, it->nb, it->mrows + mk * it->block * c,
				           it->sc);
		}
		size_t r = it->r++;
		if (ps->exclude && ps->exclude[it->i0 + r])
			continue;
		for (size_t mk = 0; mk < ps->nm; mk++)
			it->src[mk] = it->mrows + (mk * it->block + r) * c;
		*i = it->i0 + r;
		return true;
	}
}

/* out[0..c) = sum over the m sources of a[q] src[q][0..c), in source order. */
static void combine_row(const double *const *src, const double *a, size_t m, size_t c, double *out)
{
	for (size_t j = 0; j < c; j++)
		out[j] = a[0] * src[0][j];
	for (size_t q = 1; q < m; q++)
		for (size_t j = 0; j < c; j++)
			out[j] += a[q] * src[q][j];
}

/* What the vote of an instance needs: the used layers, k, the labels and the credibilities. */
struct mix_voting {
	const struct mix_layer *ml;
	size_t used, k, c, nm, ns;
	const int32_t *lab;
	const double *cred;
	double *v, *q;
};

/*
 * Instance i's sources into src[0..ns): the models' rows (already there), or P0 alone past
 * MIX_SIMPLEX_MAX (ns = 2), then the vote Q: the mean of the used layers' votes, P0's row where
 * i has no neighbours. P0 = the models combined with alpha goes to p0, Q to qm.
 */
static void mix_sources(const struct mix_voting *mv, size_t i, const double **src,
                        const double *alpha, double *p0, double *qm)
{
	combine_row(src, alpha, mv->nm, mv->c, p0);
	mix_votes(mv->ml, mv->used, i, mv->k, mv->lab, mv->cred, p0, mv->c, mv->v, mv->q);
	for (size_t j = 0; j < mv->c; j++)
		qm[j] = mv->q[j] / (double)mv->used;
	if (mv->ns == 2)
		src[0] = p0;
	src[mv->ns - 1] = qm;
}

/* Adds row i's terms (src[q] . src[q'] and src[q][y]) to the m sources' Gram matrix G and b. */
static void gram_row(const double *const *src, size_t m, size_t c, int32_t y, double *G, double *b)
{
	for (size_t q = 0; q < m; q++) {
		for (size_t q2 = q; q2 < m; q2++) {
			double d = 0;
			for (size_t j = 0; j < c; j++)
				d += src[q][j] * src[q2][j];
			G[q * m + q2] += d;
		}
		b[q] += src[q][y];
	}
}

/* G's lower triangle from its upper one. */
static void gram_fill(double *G, size_t m)
{
	for (size_t q = 0; q < m; q++)
		for (size_t q2 = 0; q2 < q; q2++)
			G[q * m + q2] = G[q2 * m + q];
}

int issues_mix(const struct prob_src *ps, const struct layer *const *layers, size_t nl, size_t k,
               uint8_t *flag, double *score, int32_t *sugg, size_t *mixed, size_t *dropped,
               double *weight, double *model_w, struct nn_err *err)
{
	const struct study *s = ps->s;
	size_t n = s->n, c = ps->c, nm = ps->nm, block = issues_block_rows(c);
	const int32_t *lab = ps->labels;
	const uint8_t *ex = ps->exclude;
	*mixed = *dropped = 0;
	*weight = 0;
	for (size_t q = 0; q < nm; q++)
		model_w[q] = 1.0 / (double)nm; /* the mean's */
	if (nl == 0) {
		if (ps->prog)
			atomic_store(&ps->prog->total, n);
		return issues_mean_pick(ps, flag, score, sugg, err);
	}
	/* the sources: the models, then the vote; the models' mean and the vote past the limit */
	bool fit_models = nm > 1 && nm <= MIX_SIMPLEX_MAX;
	size_t ns = nm + 1 <= MIX_SIMPLEX_MAX ? nm + 1 : 2;
	double *cred = xcalloc(n ? n : 1, sizeof *cred);
	double *mrows = xmalloc(nm * block * c * sizeof *mrows);
	double *p0 = xmalloc((c ? c : 1) * sizeof *p0), *qm = xmalloc((c ? c : 1) * sizeof *qm);
	double *p2 = xmalloc((c ? c : 1) * sizeof *p2);
	double *v = xcalloc(c ? c : 1, sizeof *v), *q = xcalloc(c ? c : 1, sizeof *q);
	double *tsum = xcalloc(c ? c : 1, sizeof *tsum);
	size_t *tcnt = xcalloc(c ? c : 1, sizeof *tcnt);
	const double **src = xcalloc(nm + 1, sizeof *src);
	double *alpha = xcalloc(nm, sizeof *alpha), beta[MIX_SIMPLEX_MAX] = {0};
	double G[MIX_SIMPLEX_MAX * MIX_SIMPLEX_MAX], b[MIX_SIMPLEX_MAX];
	struct mix_layer *ml = xcalloc(nl, sizeof *ml);
	struct prob_scratch sc;
	prob_scratch_init(&sc, ps, block);
	size_t used = 0, kept = 0, agree_p = 0;
	int rc = 0;
	if (ps->prog)
		atomic_store(&ps->prog->total, (nl + 5) * n);

	struct mix_rows it = {
	    .ps = ps, .sc = &sc, .mrows = mrows, .src = src, .block = block, .rc = &rc, .err = err};
	size_t i;

	/* the models' weights alpha: their convex combination P0 of least summed Brier score */
	memset(G, 0, sizeof G);
	memset(b, 0, sizeof b);
	if (fit_models) {
		for (mix_rows_start(&it); mix_rows_next(&it, &i);)
			gram_row(src, nm, c, lab[i], G, b);
		gram_fill(G, nm);
		simplex_lsq(G, b, nm, alpha);
	} else {
		for (size_t mk = 0; mk < nm; mk++)
			alpha[mk] = 1.0 / (double)nm;
		rc = issues_tick(ps->prog, n, err);
	}

	/* each instance's credibility as a neighbour, P0[i, y_i] / max P0[i]; how often argmax P0
	 * is the label (the guard) */
	for (mix_rows_start(&it); mix_rows_next(&it, &i);) {
		combine_row(src, alpha, nm, c, p0);
		size_t best = prob_row_argmax(p0, c, c);
		double mx = p0[0];
		for (size_t j = 1; j < c; j++)
			mx = p0[j] > mx ? p0[j] : mx;
		cred[i] = mx > 0 ? p0[lab[i]] / mx : 0;
		agree_p += (int32_t)best == lab[i];
		kept++;
	}

	/* each layer's neighbours; the guard drops a vote that agrees with the labels far more
	 * often than the models do (activations of a model trained on these very labels) */
	for (size_t l = 0; l < nl && rc == 0; l++) {
		struct mix_layer *m = &ml[used];
		m->nbr = xmalloc((n ? n : 1) * k * sizeof *m->nbr);
		m->len = xcalloc(n ? n : 1, sizeof *m->len);
		rc = issues_knn_neighbours(s, layers[l], ex, k, ps->prog, m->nbr, m->len, err);
		size_t agree_u = 0;
		for (size_t e = 0; e < n && rc == 0; e++)
			if (!(ex && ex[e]))
				agree_u += mix_vote(m, e, k, lab, cred, v, NULL) == lab[e];
		if (rc == 0 && agree_u > agree_p &&
		    100 * (agree_u - agree_p) > MIX_GUARD_POINTS * kept) {
			free(m->nbr);
			free(m->len);
			memset(m, 0, sizeof *m);
			(*dropped)++;
		} else
			used++;
	}
	if (rc == 0 && !used) {
		/* every layer dropped: the mean method (model_w is the mean's) */
		rc = issues_tick(ps->prog, 2 * n, err);
		if (rc == 0)
			rc = issues_mean_pick(ps, flag, score, sugg, err);
		goto done;
	}

	/* the sources' weights beta: the convex combination P' of the models and the vote of
	 * least summed Brier score on the given labels */
	struct mix_voting mv = {.ml = ml,
	                        .used = used,
	                        .k = k,
	                        .c = c,
	                        .nm = nm,
	                        .ns = ns,
	                        .lab = lab,
	                        .cred = cred,
	                        .v = v,
	                        .q = q};
	memset(G, 0, sizeof G);
	memset(b, 0, sizeof b);
	for (mix_rows_start(&it); mix_rows_next(&it, &i);) {
		mix_sources(&mv, i, src, alpha, p0, qm);
		gram_row(src, ns, c, lab[i], G, b);
	}
	gram_fill(G, ns);
	if (rc == 0)
		simplex_lsq(G, b, ns, beta);

	/* each class's threshold t_c: the mean P'[i, c] over the instances labelled c */
	for (mix_rows_start(&it); mix_rows_next(&it, &i);) {
		mix_sources(&mv, i, src, alpha, p0, qm);
		combine_row(src, beta, ns, c, p2);
		tsum[lab[i]] += p2[lab[i]];
		tcnt[lab[i]]++;
	}
	for (size_t j = 0; j < c; j++) {
		double t = tcnt[j] ? tsum[j] / (double)tcnt[j] : 0;
		tsum[j] = t > 0 ? t : 1.0;
	}

	/* S = P' / t: flagged where argmax S is not the label, score 1 - S[i, y_i], suggested
	 * argmax S (the runner-up when that is the label) */
	for (mix_rows_start(&it); mix_rows_next(&it, &i);) {
		mix_sources(&mv, i, src, alpha, p0, qm);
		combine_row(src, beta, ns, c, p2);
		for (size_t j = 0; j < c; j++)
			p2[j] /= tsum[j];
		size_t best = prob_row_argmax(p2, c, c);
		size_t other = prob_row_argmax(p2, c, best);
		score[i] = 1.0 - p2[lab[i]];
		flag[i] = (int32_t)best != lab[i];
		sugg[i] = (int32_t)best == lab[i] && c > 1 ? (int32_t)other : (int32_t)best;
	}
	*mixed = used;
	*weight = beta[ns - 1];
	for (size_t mk = 0; mk < nm; mk++)
		model_w[mk] = ns == 2 ? alpha[mk] * beta[0] : beta[mk];
done:
	for (size_t u = 0; u < nl; u++) {
		free(ml[u].nbr);
		free(ml[u].len);
	}
	free(ml);
	free(cred);
	free(mrows);
	free(p0);
	free(qm);
	free(p2);
	free(v);
	free(q);
	free(tsum);
	free(tcnt);
	free(src);
	free(alpha);
	prob_scratch_free(&sc);
	return rc;
}
