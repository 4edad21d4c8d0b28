/*
 * kernels.h — a convolution layer's (out, in, kh, kw) weights laid out as CNNComparator draws
 * them: one column of tiles per output kernel, one kh × kw tile per input channel, so the map is
 * (in·kh) rows × (out·kw) columns and map[c·kh + y][o·kw + x] = W[o][c][y][x]. With a second
 * snapshot B of the same shape the values are B − A, and each weight carries its relative-change
 * level as weights.h defines it (d = 2|a − b| / (|a| + |b|), levels wdiff_level_edges).
 *
 * The weights are read from the memory-mapped npy one output kernel (one matrix row) at a time,
 * as float64. The result owns a copy of the values (out·in·kh·kw doubles: a conv layer's weights
 * are small) and is released with kernels_free(); it does not point into the study.
 */
#ifndef NNCMP_KERNELS_H
#define NNCMP_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "nncmp/npy.h"
#include "nncmp/util.h"

/* level[] value of a weight whose a or b is NaN or infinite */
#define KERNELS_LEVEL_NONE 255

struct kernel_map {
	size_t out, in, kh, kw;
	size_t rows, cols; /* the drawn map: in·kh × out·kw */
	/* W (or B − A) in the stored (out, in, kh, kw) C order: v[((o·in + c)·kh + y)·kw + x] */
	double *v;
	/* with B: the level of d per weight, same order; 0..WDIFF_LEVELS-1 or KERNELS_LEVEL_NONE.
	 * NULL without B. */
	uint8_t *level;
	/* the symmetric colour bound: the 99th percentile of |v| over finite v (numpy.percentile's
	 * linear interpolation), the largest |v| when that is 0; 0 when all are 0 or non-finite */
	double scale;
};

/*
 * Lays out a (4-D) and, when b is not NULL, B − A with its levels. Returns 0, or -1 with err set
 * when a is not 4-D, b's shape differs, or the layer is empty. On failure *out needs no free.
 */
int kernels_map(const struct npy *a, const struct npy *b, struct kernel_map *out,
                struct nn_err *err);
/* The value at (row, col) of the drawn map (row < rows, col < cols). */
double kernels_map_at(const struct kernel_map *k, size_t row, size_t col);
/* Index into v / level of weight (o, c, y, x). */
size_t kernels_index(const struct kernel_map *k, size_t o, size_t c, size_t y, size_t x);
void kernels_free(struct kernel_map *k);

#endif
