/*
 * similarity.h — cross-model neuron correspondence (DeepCompare): the Pearson correlation between
 * every neuron of one layer and every neuron of another (of the same model or another one, over
 * the same instances), each neuron's best matches, and the linear CKA between the two layers
 * (Kornblith et al. 2019, "Similarity of neural network representations revisited").
 *
 * One pass over the activations in blocks of rows (the shifted-data algorithm of matrices.h, so
 * no separate pass for the means): each block is shifted by a close estimate of the column means
 * and the cross product Dxᵀ·Dy accumulated with one GEMM per block (for CKA also the Gram
 * matrices Dxᵀ·Dx and Dyᵀ·Dy, by SYRK); the centred matrices follow exactly at the end. Then
 *   r(i, j) = (Xcᵀ·Yc)ᵢⱼ / sqrt(M2x(i) · M2y(j))          (the (N−1) factors cancel)
 *   CKA     = ‖Ycᵀ·Xc‖²_F / (‖Xcᵀ·Xc‖_F · ‖Ycᵀ·Yc‖_F).
 * An instance with a non-finite activation in either layer is left out of everything (counted
 * in `skipped`). A neuron that is constant over the instances used has no correlation: its r is
 * NaN (as numpy.corrcoef gives), and it never appears among the matches. r is clipped to [−1, 1].
 * Blocks are multiplied in float32 and summed in double: r is good to about 1e-5 (6e-6 at most
 * on two 1M × 512 layers against a float64 reference; a float32 NumPy matmul of the whole
 * standardized matrices is off by 1.5e-3 there). Values are read as float32 before they are
 * centred, so float64 activations whose mean is large against their spread (1e5 ± 1e-3) lose
 * that precision; float16/32 sources, the common case, lose nothing.
 *
 * Memory: O(h1 · h2) (and h1² + h2² with CKA) beyond the blocks. Results are owned by the caller.
 */
#ifndef NNCMP_SIMILARITY_H
#define NNCMP_SIMILARITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/npy.h"
#include "nncmp/util.h"

struct similarity {
	size_t h1, h2;        /* neurons of x and of y */
	size_t used, skipped; /* instances used; left out for a non-finite activation */
	double *r;  /* h1 × h2 row-major: r[i·h2 + j] between neuron i of x and j of y */
	double cka; /* linear CKA; NaN when not asked for or undefined (a constant layer) */
};

/*
 * Correlates every neuron of x with every neuron of y (both N rows) over the instances idx[n]
 * (sorted; NULL: all N) and, when with_cka, computes their linear CKA. x and y may be the same
 * matrix. Returns 0, or -1 with err set (row counts differ, fewer than 2 usable instances,
 * cancelled); out needs no free then.
 */
int similarity_compute(const struct npy *x, const struct npy *y, const uint32_t *idx, size_t n,
                       bool with_cka, struct nn_progress *prog, struct similarity *out,
                       struct nn_err *err);
void similarity_free(struct similarity *s);

struct similarity_match {
	uint32_t neuron; /* of y */
	double r;
};

/*
 * The k neurons of y most correlated with neuron i of x, best first: by r, or by |r| when by_abs;
 * ties go to the lower index, NaN never matches. `skip` is a neuron of y to leave out (i itself
 * when x and y are the same layer), or SIZE_MAX. Writes at most k matches into out and returns
 * how many.
 */
size_t similarity_top(const struct similarity *s, size_t i, size_t k, bool by_abs, size_t skip,
                      struct similarity_match *out);

#endif
