/*
 * weights.h — a layer's weights summarised for a heatmap, and two snapshots of a model compared
 * layer by layer (CNNComparator).
 *
 * Both read the memory-mapped matrices of a study (struct npy) one row at a time, as float64
 * (every dtype widens exactly), so extra memory is O(one row) plus what the result holds: never a
 * copy of the matrix. A Fortran-order matrix is read along its columns, which are contiguous in
 * the file; results do not depend on the storage order. A 1-D weight vector (n,), a bias, is
 * treated as one row, 1 × n. NaN and infinite values are left out of every figure and counted.
 *
 * Results are owned by the caller and released with weights_grid_free() / weights_diff_free();
 * they point into nothing the study owns, so they outlive it. The functions are reentrant.
 */
#ifndef NNCMP_WEIGHTS_H
#define NNCMP_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>

#include "nncmp/npy.h"
#include "nncmp/study.h"
#include "nncmp/util.h"

/*
 * How a grid cell summarises its block of weights. PEAK (the default) is the finite weight of
 * largest magnitude, with its sign (ties: the larger value): a strong connection never fades
 * from the picture, where the mean of a block of mixed-sign weights tends to 0. MEAN is the block
 * average, which is linear and so suits overlaying averaged activations.
 */
enum weights_summary { WSUM_PEAK, WSUM_MEAN };

/* Grids are at most this many cells along each side. */
#define WEIGHTS_GRID_MAX 4096

struct weights_grid {
	size_t rows, cols;           /* the matrix as summarised ((n,) is 1 × n) */
	size_t grid_rows, grid_cols; /* min(requested, rows) × min(requested, cols) */
	enum weights_summary summary;
	double *cell; /* grid_rows × grid_cols, row-major; NaN for a block without finite values */
	/*
	 * The symmetric colour bound: colour v by v / scale clipped to [−1, 1]. It is the 99th
	 * percentile of |cell| (linear interpolation, as numpy.percentile), or the largest |cell|
	 * when that is 0; 0 only when every cell is 0 or NaN. Taken over the cells, not the raw
	 * weights, so that it matches what is drawn whatever the summary and block size.
	 */
	double scale;
	double cell_min, cell_max; /* range of the finite cells (NaN when none) */
	/* Statistics of the finite weights (NaN when none): */
	double min, max, mean, std; /* std: population (ddof 0), as numpy.std */
	double frac_zero;           /* exact zeros / finite weights */
	size_t n;                   /* finite weights */
	size_t n_nonfinite;
};

/*
 * First row (or column) of block i when n items are cut into g blocks: floor(i·n / g). Blocks
 * differ in size by at most one; block g−1 ends at n. The TUI maps activations with it.
 */
size_t weights_block_start(size_t n, size_t g, size_t i);

/*
 * Summarises w into at most max_rows × max_cols cells (each 1..WEIGHTS_GRID_MAX) and computes its
 * statistics in one pass. Returns 0, or -1 with err set (empty matrix, bad grid size). On failure
 * *out needs no free.
 */
int weights_grid(const struct npy *w, size_t max_rows, size_t max_cols, enum weights_summary how,
                 struct weights_grid *out, struct nn_err *err);
void weights_grid_free(struct weights_grid *g);

/*
 * Snapshot comparison. Relative change of a weight from x (in A) to y (in B):
 * d(x, y) = 2|x − y| / (|x| + |y|), 0 when x = y = 0, so d is in [0, 2]: 2 means a sign flip or a
 * weight that appeared or vanished. Weights are split into WDIFF_LEVELS levels of d, bounded by
 * wdiff_level_edges: [0, 0.1), [0.1, 0.5), [0.5, 1), [1, 2].
 *
 * The histogram of |Δw| = |x − y| has `bins` bins per level with edges e[0..bins]: e[0] = 0 and
 * e[j] = top · 10^(−decades · (bins − j) / (bins − 1)) for j ≥ 1, where top is the layer's
 * largest |Δw|. So bins 1..bins−1 are log-spaced over `decades` decades below the largest change
 * (a change of 0.1 % of another is as visible as the other), bin 0 = [0, e[1]) gathers unchanged
 * and negligible weights, and the last bin is closed. A value goes in the bin j with
 * e[j] ≤ |Δw| < e[j+1]. When top is 0 (identical layers) every edge is 0 and every weight is in
 * bin 0. The edges depend on the layer, which is why each result carries its own.
 */
#define WDIFF_LEVELS 4
extern const double wdiff_level_edges[WDIFF_LEVELS + 1];
/* The level of d(x, y) = 2|x − y| / (|x| + |y|) (0 when both are 0): its wdiff_level_edges
 * interval. x and y must be finite. */
int wdiff_level(double x, double y);
/* The 99th percentile of |v| over the finite v (NumPy's linear interpolation), or the largest
 * |v| when that is 0: the colour scale of weight heat maps. */
double weights_colour_scale(const double *v, size_t n);
#define WDIFF_BINS_DEFAULT    16
#define WDIFF_BINS_MAX        1000
#define WDIFF_DECADES_DEFAULT 4.0

struct wdiff_layer {
	char *name;                /* owned copy */
	int ndim;                  /* as stored (equal in A and B); a scalar counts as 1 */
	size_t dims[NPY_MAX_DIMS]; /* the shape as stored (ndim entries) */
	size_t rows, cols;         /* as summarised: (n,) is 1 × n */
	char dtype_a[8], dtype_b[8];
	size_t n;           /* pairs compared (both values finite) */
	size_t n_nonfinite; /* pairs left out */
	double l2;          /* ||A − B|| (Frobenius) */
	double norm_a, norm_b;
	/* l2 / norm_a; 0 when both are 0, +infinity when only norm_a is */
	double relative;
	double max_abs_delta;
	size_t level_count[WDIFF_LEVELS];
	size_t bins;
	double *bin_edges; /* bins + 1 */
	size_t *hist;      /* WDIFF_LEVELS × bins, level-major */
};

struct wdiff_skip {
	char *name;   /* owned */
	char *reason; /* owned, one line, e.g. "only in cnn" or "shape 64 × 256 in a, 64 × 128 in b"
	               */
};

struct wdiff {
	size_t n_layers;
	struct wdiff_layer *layers;
	size_t n_skipped;
	struct wdiff_skip *skipped;
};

/*
 * Compares two weight matrices of equal shape (two passes: the first finds top, the second fills
 * the histogram). `name` is copied into out. Returns 0, or -1 with err set when the shapes
 * differ or bins / decades are out of range (1..WDIFF_BINS_MAX, > 0). On failure *out needs no
 * free.
 */
int weights_diff_layer(const char *name, const struct npy *a, const struct npy *b, size_t bins,
                       double decades, struct wdiff_layer *out, struct nn_err *err);
void weights_diff_layer_free(struct wdiff_layer *l);

/*
 * Compares every layer with weights in both models (in A's layer order), or only `layer` when it
 * is not NULL. Layers in one model only, without weights in one of them, or of different shapes
 * are listed in skipped with the reason (A's layers first, then B's). No comparable layer is not
 * an error: the result is then empty. Returns -1 with err set only for bad bins / decades or
 * when `layer` is named but exists in neither model.
 */
int weights_diff_models(const struct model *a, const struct model *b, const char *layer,
                        size_t bins, double decades, struct wdiff *out, struct nn_err *err);
void weights_diff_free(struct wdiff *d);
/* Whether weights_diff_models(a, b, NULL, ...) has a layer to compare: a layer name with weights
 * of the same shape in both (a check of the headers only, nothing read). */
bool weights_comparable(const struct model *a, const struct model *b);

#endif
