/*
 * project.h — 2-D projection of a layer's activations (ActiVis) by principal component analysis,
 * the data behind the TUI's scatter plot and `nncmp project`.
 *
 * Two passes over the activations in blocks of rows: the covariance matrix Xcᵀ·Xc / (n−1) by one
 * SYRK per block of shifted rows (H × H, in double; the shifted-data algorithm of matrices.h, so
 * no separate pass for the means), then, after LAPACK's dsyevr found its two largest eigenpairs,
 * each instance's coordinates (x − mean)·V. Sign convention, so that results are reproducible:
 * each axis is flipped so that its component of largest magnitude (the first such on a tie) is
 * positive.
 * Instances with a non-finite activation are left out of the means and the covariance and get
 * NaN coordinates (counted in `skipped`). A layer with one neuron has a second axis of zeros; a
 * layer that is constant over the instances has explained ratios of NaN. Values are read as
 * float32 before centring (see similarity.h on float64 sources).
 *
 * Memory: O(H²) beyond the blocks, plus the n points. Results are owned by the caller.
 */
#ifndef NNCMP_PROJECT_H
#define NNCMP_PROJECT_H

#include <stddef.h>
#include <stdint.h>

#include "nncmp/npy.h"
#include "nncmp/util.h"

struct projection {
	size_t n;             /* points: one per selected instance, in selection order */
	size_t h;             /* neurons of the layer */
	size_t used, skipped; /* instances in the PCA; with a non-finite activation */
	float *points;        /* n × 2 row-major; NaN for skipped instances */
	double variance[2];   /* the two largest eigenvalues of the covariance (sample, n−1) */
	double explained[2];  /* variance[k] / total variance */
	double *axes;         /* 2 × h row-major: the principal axes, unit length */
	double *mean;         /* h column means the points are centred with */
};

/*
 * PCA of the rows idx[n] (sorted; NULL: all rows) of act, and their 2-D coordinates. Returns 0,
 * or -1 with err set (fewer than 2 usable instances, LAPACK failure, cancelled).
 */
int project_pca(const struct npy *act, const uint32_t *idx, size_t n, struct nn_progress *prog,
                struct projection *out, struct nn_err *err);
void project_free(struct projection *p);

#endif
