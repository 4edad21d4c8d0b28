/*
 * matrices.h — the subset × neuron matrix (ActiVis): the mean activation of every neuron of a
 * layer over each of R subsets of instances (classes, filters, a filter and its complement),
 * computed as one GEMM Sᵀ·A per block of rows (S the block's R × b indicator matrix) and divided
 * by the subset sizes; when no instance is in two subsets (one subset per class, a filter and
 * its complement), as the same sums taken row by row, which is several times faster (see
 * matrices.c). Also the streaming helpers that similarity.h and project.h share.
 *
 * Activation matrices are never copied whole: they are read in blocks of rows through
 * npy_rows_f32(), so heap memory is O(block × H + R × H) beyond the caller's index lists.
 * Non-finite activations (NaN, ±Inf) are left out of the means and counted: each mean is over the
 * finite values of its neuron in its subset (its `valid` count).
 *
 * Progress is reported, and cancellation asked for, through util.h's struct nn_progress
 * (NULL: none): the functions set its total (rows, counting every pass), add to its done after
 * each block, and stop with the message "cancelled" at the next block once its cancel is set.
 *
 * Results are owned by the caller and released with the matching _free(); they borrow nothing.
 * BLAS goes through linalg.h, so these functions may run on a worker thread (see linalg.h).
 */
#ifndef NNCMP_MATRICES_H
#define NNCMP_MATRICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/npy.h"
#include "nncmp/util.h"

/* R subsets of the instances 0..N-1, each a strictly increasing list of indices (owned). */
struct matrices_subsets {
	size_t n;
	char **names;   /* n names (owned) */
	uint32_t **idx; /* n lists */
	size_t *count;  /* their lengths */
};

/* Appends a subset named name (copied) whose count indices are copied from idx. */
void matrices_subsets_add(struct matrices_subsets *s, const char *name, const uint32_t *idx,
                          size_t count);
/*
 * One subset per group id 0..n_groups-1 (named names[g]): the instances of the selection sel
 * (n_sel sorted indices, or every instance 0..n_sel-1 when sel is NULL) whose group[i] is g.
 * Instances with a group outside 0..n_groups-1 are left out.
 */
void matrices_subsets_by_group(struct matrices_subsets *s, const int32_t *group, size_t n_groups,
                               const char *const *names, const uint32_t *sel, size_t n_sel);
void matrices_subsets_free(struct matrices_subsets *s);

struct matrices_means {
	size_t rows, cols; /* R subsets × H neurons */
	double *mean;      /* rows × cols row-major; NaN where a subset has no finite value */
	size_t *size;      /* rows: instances in each subset */
	size_t *valid;     /* rows × cols: how many finite values each mean is over */
	size_t nonfinite;  /* non-finite activations met in instances that belong to a subset */
};

/*
 * Mean activation of every neuron of act (N × H) over every subset. Returns 0, or -1 with err
 * set (an index list that is unsorted or out of range, or cancelled); out needs no free then.
 */
int matrices_means(const struct npy *act, const struct matrices_subsets *subsets,
                   struct nn_progress *prog, struct matrices_means *out, struct nn_err *err);
void matrices_means_free(struct matrices_means *m);

/*
 * Writes the neuron indices 0..cols-1 into order[cols], sorted by the means of row `row`,
 * highest first; ties keep index order (a stable sort) and NaN means come last.
 */
void matrices_order(const struct matrices_means *m, size_t row, uint32_t *order);

/* ---- streaming helpers shared by similarity.c and project.c ---- */

/* Rows per block for a matrix of `cols` columns: 4096, fewer for very wide layers (≤ 16 MB). */
size_t matrices_block_rows(size_t cols);

/* Reads rows idx[k0 .. k0+nb) of a (rows k0 .. k0+nb when idx is NULL) as float32 into out
 * (nb × a->cols, row-major); runs of consecutive indices are read in one call. */
void matrices_read_rows(const struct npy *a, const uint32_t *idx, size_t k0, size_t nb, float *out);

/* True when all n values are finite. */
bool matrices_finite(const float *v, size_t n);

/* Adds rows to prog->done (prog may be NULL); returns false when cancel is set. */
bool matrices_progress_add(struct nn_progress *prog, size_t rows);

/*
 * One pass instead of two for the correlation, CKA and covariance: the "shifted data" algorithm.
 * With a shift k close to each column's mean, the sums of d = x − k and of products of such d
 * lose nothing to cancellation even in float32, and the centred quantities follow exactly:
 *   mean = k + Σd/n,   M2 = Σd² − (Σd)²/n,   Σ(x − x̄)(y − ȳ) = Σ dx·dy − Σdx·Σdy/n.
 * matrices_shift() takes k as the column means of up to 4096 selected rows spread evenly over
 * the selection (idx[n], or 0..n-1 when idx is NULL), using rows whose values are all finite in
 * x and, when y is not NULL, in y, so the shift is within about σ/64 of the mean whatever the
 * order of the instances; it is rounded to float32, the precision blocks are shifted in. Returns
 * how many rows it used (0: k stays 0).
 */
size_t matrices_shift(const struct npy *x, const struct npy *y, const uint32_t *idx, size_t n,
                      double *kx, double *ky);

/*
 * Shifts a block in place: rows whose ok flag is set become x − (float)k, in float32, and their
 * values and squares are added into s1 and s2 (summed in float32 within the block, then added in
 * double; either may be NULL); the other rows become zeros, so they add nothing to a product.
 */
void matrices_shift_block(float *block, size_t rows, size_t cols, const double *k, const bool *ok,
                          double *s1, double *s2);

/* The column means and sums of squared deviations from n rows' Σd and Σd² (see above). */
void matrices_shift_finish(size_t cols, size_t n, const double *k, const double *s1,
                           const double *s2, double *mean, double *m2);

#endif
