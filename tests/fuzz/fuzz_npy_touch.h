/*
 * fuzz_npy_touch.h — for the fuzz harnesses of matrix readers (npy, safetensors, npz, HDF5):
 * reads a little of an opened matrix through every accessor, so that what a reader accepted is
 * also read, not only parsed.
 */
#ifndef NNCMP_FUZZ_NPY_TOUCH_H
#define NNCMP_FUZZ_NPY_TOUCH_H

#include "nncmp/npy.h"

static inline double fuzz_npy_touch(const struct npy *a)
{
	double sum = 0, row[64];
	float block[4 * 64];
	for (size_t i = 0; i < a->rows && i < 256; i++) {
		for (size_t j = 0; j < a->cols && j < 64; j++)
			sum += npy_at(a, i, j);
		if (a->cols <= 64) {
			npy_row_f64(a, i, row);
			size_t nr = a->rows - i < 4 ? a->rows - i : 4;
			npy_rows_f32(a, i, nr, block);
		}
	}
	return sum;
}

#endif
