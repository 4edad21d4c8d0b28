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
	double *row = xcalloc(c, sizeof *row);
	for (size_t i = 0; i < n; i++) {
		npy_row_f64(&m->probs, i, row);
		if (derive_row(row, c, m->src == SRC_LOGITS, s->labels[i], &m->pred[i], &m->conf[i],
		               &m->margin[i], &m->p_label[i], &m->rank[i], &j->why) < 0) {
			j->bad_row = i;
			j->rc = -1;
			break;
		}
	}
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
