/* derive.c — per-instance predictions and scores from probabilities, one thread per model. */
#include "nncmp/derive.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int derive_row(double *p, size_t c, bool logits, int32_t label, int32_t *pred, double *conf,
               double *margin, double *p_label, int32_t *rank, const char **why)
{
	for (size_t j = 0; j < c; j++)
		if (!isfinite(p[j])) {
			*why = isnan(p[j]) ? "NaN" : "infinite value";
			return -1;
		}
	if (logits) {
		double mx = p[0];
		for (size_t j = 1; j < c; j++)
			if (p[j] > mx)
				mx = p[j];
		double sum = 0;
		for (size_t j = 0; j < c; j++) {
			p[j] = exp(p[j] - mx);
			sum += p[j];
		}
		for (size_t j = 0; j < c; j++)
			p[j] /= sum;
	} else {
		double sum = 0;
		for (size_t j = 0; j < c; j++) {
			if (p[j] < 0) {
				*why = "negative probability";
				return -1;
			}
			sum += p[j];
		}
		if (fabs(sum - 1.0) > PROB_SUM_TOLERANCE) {
			*why = "row does not sum to 1 (use logits.npy for unnormalized scores)";
			return -1;
		}
	}
	size_t best = 0;
	for (size_t j = 1; j < c; j++)
		if (p[j] > p[best])
			best = j;
	double second = -1;
	for (size_t j = 0; j < c; j++)
		if (j != best && p[j] > second)
			second = p[j];
	double pl = p[label];
	/* scikit-learn's top_k ranks by a reversed stable argsort: among equal scores the higher
	 * class index comes first */
	int32_t r = 0;
	for (size_t j = 0; j < c; j++)
		if (p[j] > pl || (p[j] == pl && j > (size_t)label))
			r++;
	*pred = (int32_t)best;
	*conf = p[best];
	*margin = c > 1 ? p[best] - second : p[best];
	*p_label = pl;
	*rank = r;
	return 0;
}

struct job {
	struct study *s;
	struct model *m;
	size_t bad_row;
	const char *why;
	int rc;
};

/*
 * The common case in one pass: a row of float32 probabilities. Computes exactly what derive_row
 * does (the same double values, first maximum wins, the same ranks and sum) and returns 0, or -1
 * when the row has a problem, so that derive_row can run on it and name the problem.
 */
static int derive_row_f32(const float *r, size_t c, int32_t label, int32_t *pred, double *conf,
                          double *margin, double *p_label, int32_t *rank)
{
	double pl = r[label], sum = 0, best = r[0], second = -1;
	size_t bi = 0;
	int32_t rk = 0;
	bool bad = false;
	for (size_t j = 0; j < c; j++) {
		double v = r[j];
		bad |= !(v >= 0 && v <= 1.0 + PROB_SUM_TOLERANCE); /* NaN, Inf and negatives too */
		sum += v;
		if (j && v > best) {
			second = best;
			best = v;
			bi = j;
		} else if (j && v > second) {
			second = v;
		}
		rk += v > pl || (v == pl && j > (size_t)label);
	}
	if (bad || fabs(sum - 1.0) > PROB_SUM_TOLERANCE)
		return -1;
	*pred = (int32_t)bi;
	*conf = best;
	*margin = c > 1 ? best - second : best;
	*p_label = pl;
	*rank = rk;
	return 0;
}

static void *derive_one(void *arg)
{
	struct job *j = arg;
	const struct study *s = j->s;
	struct model *m = j->m;
	size_t n = s->n, c = m->probs.cols;
	m->pred = xcalloc(n, sizeof *m->pred);
	m->conf = xcalloc(n, sizeof *m->conf);
	m->margin = xcalloc(n, sizeof *m->margin);
	m->p_label = xcalloc(n, sizeof *m->p_label);
	m->rank = xcalloc(n, sizeof *m->rank);
	if (c == 0) { /* refused at open; never index an empty row */
		j->why = "0 columns";
		j->rc = -1;
		return NULL;
	}
	const struct npy_header *h = &m->probs.h;
	bool f32 = m->src == SRC_PROBS && h->kind == NPY_FLOAT && h->itemsize == 4;
	/* float32 probabilities are read a block of rows at a time (in place when they can be) */
	size_t block = f32 ? 4096 / c + 1 : 0;
	float *buf = f32 ? xcalloc(block * c, sizeof *buf) : NULL;
	bool in_place = f32 && npy_contiguous(&m->probs) && !h->swap && !h->fortran &&
	                (uintptr_t)m->probs.data % sizeof(float) == 0;
	double *row = xcalloc(c, sizeof *row);
	for (size_t i0 = 0; i0 < n; i0 += block ? block : 1) {
		size_t nb = block ? (n - i0 < block ? n - i0 : block) : 1;
		const float *rows = NULL;
		if (f32 && in_place)
			rows = (const float *)(const void *)m->probs.data + i0 * c;
		else if (f32) {
			npy_rows_f32(&m->probs, i0, nb, buf);
			rows = buf;
		}
		for (size_t k = 0; k < nb; k++) {
			size_t i = i0 + k;
			if (rows &&
			    derive_row_f32(rows + k * c, c, s->labels[i], &m->pred[i], &m->conf[i],
			                   &m->margin[i], &m->p_label[i], &m->rank[i]) == 0)
				continue;
			npy_row_f64(&m->probs, i, row);
			if (derive_row(row, c, m->src == SRC_LOGITS, s->labels[i], &m->pred[i],
			               &m->conf[i], &m->margin[i], &m->p_label[i], &m->rank[i],
			               &j->why) < 0) {
				j->bad_row = i;
				j->rc = -1;
				goto out;
			}
		}
	}
out:
	free(buf);
	free(row);
	return NULL;
}

int derive_models(struct study *s, struct nn_err *err)
{
	size_t nm = s->n_models;
	struct job *jobs = xcalloc(nm, sizeof *jobs);
	pthread_t *tids = xcalloc(nm, sizeof *tids);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t width = cpus > 0 ? (size_t)cpus : 1;
	for (size_t k = 0; k < nm; k++) {
		jobs[k].s = s;
		jobs[k].m = &s->models[k];
	}
	/* in waves of `width` threads; a model whose thread cannot start runs here */
	for (size_t base = 0; base < nm; base += width) {
		size_t end = base + width < nm ? base + width : nm;
		bool *started = xcalloc(end - base, sizeof *started);
		for (size_t k = base; k < end; k++) {
			if (s->models[k].src == SRC_PRED)
				continue;
			started[k - base] =
			    pthread_create(&tids[k], NULL, derive_one, &jobs[k]) == 0;
			if (!started[k - base])
				derive_one(&jobs[k]);
		}
		for (size_t k = base; k < end; k++)
			if (started[k - base])
				pthread_join(tids[k], NULL);
		free(started);
	}
	int rc = 0;
	for (size_t k = 0; k < nm && rc == 0; k++)
		if (jobs[k].rc < 0)
			rc = nn_err_set(err, "%s: row %zu: %s", s->models[k].src_path,
			                jobs[k].bad_row, jobs[k].why);
	free(jobs);
	free(tids);
	return rc;
}
