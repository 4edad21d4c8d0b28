/* classdist.c — VAC-CNN's class distance, an order and an MDS layout of the classes. */
#include "nncmp/classdist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/derive.h"
#include "nncmp/linalg.h"

static int pair_cmp(const void *pa, const void *pb)
{
	const struct class_pair *a = pa, *b = pb;
	if (a->d != b->d)
		return a->d < b->d ? -1 : 1;
	if (a->i != b->i)
		return a->i < b->i ? -1 : 1;
	return (a->j > b->j) - (a->j < b->j);
}

/* A class and its first coordinate, sorted to give the order. */
struct order_key {
	double x;
	size_t k;
};

static int order_cmp(const void *pa, const void *pb)
{
	const struct order_key *a = pa, *b = pb;
	if (a->x != b->x)
		return a->x < b->x ? -1 : 1;
	return (a->k > b->k) - (a->k < b->k);
}

/* Classical MDS of the c × c distances d into layout (c × 2). Returns 0 or -1. */
static int mds(const double *d, size_t c, double *layout)
{
	memset(layout, 0, c * 2 * sizeof *layout);
	if (c < 2)
		return 0;
	double *b = xcalloc(c * c, sizeof *b), *row = xcalloc(c, sizeof *row);
	double all = 0;
	for (size_t i = 0; i < c; i++) {
		for (size_t j = 0; j < c; j++)
			row[i] += d[i * c + j] * d[i * c + j];
		row[i] /= (double)c;
		all += row[i];
	}
	all /= (double)c;
	/* B = −½ J D² J: double centring of the squared distances (D is symmetric) */
	for (size_t i = 0; i < c; i++)
		for (size_t j = 0; j < c; j++)
			b[i * c + j] = -0.5 * (d[i * c + j] * d[i * c + j] - row[i] - row[j] + all);
	double w[2];
	double *vec = xcalloc(c * 2, sizeof *vec);
	int rc = linalg_eigh_top(c, b, 2, w, vec);
	if (rc == 0)
		for (size_t k = 0; k < 2; k++) {
			size_t big = 0;
			for (size_t i = 1; i < c; i++)
				if (fabs(vec[i * 2 + k]) > fabs(vec[big * 2 + k]))
					big = i;
			double sign = vec[big * 2 + k] < 0 ? -1.0 : 1.0;
			double scale = w[k] > 0 ? sqrt(w[k]) : 0.0;
			for (size_t i = 0; i < c; i++)
				layout[i * 2 + k] = sign * vec[i * 2 + k] * scale;
		}
	free(vec);
	free(b);
	free(row);
	return rc;
}

int class_dist_compute(const struct study *s, size_t mi, struct class_dist *out, struct nn_err *err)
{
	const struct model *m = &s->models[mi];
	size_t c = s->n_classes;
	*out = (struct class_dist){.c = c};
	double *d0 = xcalloc(c * c, sizeof *d0), *p = xcalloc(c, sizeof *p);
	out->support = xcalloc(c, sizeof *out->support);
	for (size_t i = 0; i < s->n; i++) {
		if (study_removed(s, i))
			continue;
		size_t y = (size_t)s->labels[i];
		derive_model_row(m, i, c, p);
		for (size_t j = 0; j < c; j++)
			d0[y * c + j] += 1.0 - p[j];
		out->support[y]++;
	}
	for (size_t i = 0; i < c; i++)
		for (size_t j = 0; j < c; j++)
			d0[i * c + j] =
			    out->support[i] ? d0[i * c + j] / (double)out->support[i] : NAN;
	out->d = xcalloc(c * c, sizeof *out->d);
	for (size_t i = 0; i < c; i++)
		for (size_t j = 0; j < c; j++) {
			double a = d0[i * c + j], b = d0[j * c + i], v;
			if (i == j)
				v = 0;
			else if (out->support[i] && out->support[j])
				v = (a + b) / 2;
			else if (out->support[i])
				v = a;
			else if (out->support[j])
				v = b;
			else
				v = 1;
			out->d[i * c + j] = v;
		}
	free(d0);
	free(p);

	out->layout = xcalloc(c * 2 > 0 ? c * 2 : 1, sizeof *out->layout);
	if (mds(out->d, c, out->layout) < 0) {
		class_dist_free(out);
		return nn_err_set(err, "%s: the MDS eigen-decomposition did not converge", m->name);
	}
	struct order_key *keys = xcalloc(c ? c : 1, sizeof *keys);
	for (size_t k = 0; k < c; k++)
		keys[k] = (struct order_key){out->layout[k * 2], k};
	qsort(keys, c, sizeof *keys, order_cmp);
	out->order = xcalloc(c ? c : 1, sizeof *out->order);
	for (size_t k = 0; k < c; k++)
		out->order[k] = keys[k].k;
	free(keys);

	out->n_pairs = c * (c - (c > 0)) / 2;
	out->pairs = xcalloc(out->n_pairs ? out->n_pairs : 1, sizeof *out->pairs);
	size_t k = 0;
	for (size_t i = 0; i < c; i++)
		for (size_t j = i + 1; j < c; j++)
			out->pairs[k++] = (struct class_pair){i, j, out->d[i * c + j]};
	qsort(out->pairs, out->n_pairs, sizeof *out->pairs, pair_cmp);
	return 0;
}

void class_dist_free(struct class_dist *cd)
{
	free(cd->d);
	free(cd->order);
	free(cd->layout);
	free(cd->support);
	free(cd->pairs);
	*cd = (struct class_dist){0};
}
