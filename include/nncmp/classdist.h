/*
 * classdist.h — how far apart a model holds the classes (VAC-CNN's Algorithm 1), their order,
 * a 2-D layout, and the pairs it separates least.
 *
 * For model m, with P its probabilities (logits through a softmax, as at open; a prediction-only
 * model as one-hot rows of its predictions):
 *   D0[i][j] = mean over the instances labelled i of (1 − P[j]) for j ≠ i, 0 on the diagonal;
 *   D = (D0 + D0ᵀ)/2. A class no (kept) instance is labelled with has no row of D0: the
 *   defined direction D0[j][i] stands for both, and 1 (the largest distance) when neither is.
 * Instances a journal decision removed are left out; gt is the corrected label.
 * order: the classes sorted along the first axis of the layout (ties by class index), so that
 * near classes sit together. layout: classical MDS of D (B = −½·J·D²·J, the two largest
 * eigenpairs, coordinates v·√max(λ, 0)); each axis's sign is fixed so that its entry of largest
 * magnitude (the first on ties) is positive. closest: the pairs i < j by increasing D, ties by
 * (i, j).
 *
 * Everything in struct class_dist is owned by it until class_dist_free.
 */
#ifndef NNCMP_CLASSDIST_H
#define NNCMP_CLASSDIST_H

#include <stddef.h>
#include <stdint.h>

#include "nncmp/study.h"

struct class_pair {
	size_t i, j; /* i < j */
	double d;
};

struct class_dist {
	size_t c;
	double *d;                /* c × c, symmetric, row-major */
	size_t *order;            /* c class indices */
	double *layout;           /* c × 2: x, y of each class */
	int64_t *support;         /* c: instances labelled with each class */
	size_t n_pairs;           /* c·(c−1)/2 */
	struct class_pair *pairs; /* every pair, closest first */
};

/* Computes model mi's class distances into out. Returns 0, or -1 with err set (LAPACK failed). */
int class_dist_compute(const struct study *s, size_t mi, struct class_dist *out,
                       struct nn_err *err);
void class_dist_free(struct class_dist *cd);

#endif
