/*
 * fuzz_npz.c — the npz reader (libzip over a mapping) on bytes in memory: finding the member,
 * the data offset of a stored one, inflating a deflated one, the npy header inside, then reading
 * every element through every accessor. The first input byte picks the member to ask for.
 */
#include <stdlib.h>
#include <string.h>

#include "nncmp/npy.h"
#include "nncmp/npz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads a little of everything through every accessor. */
static double touch(const struct npy *a)
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {NULL, "probs", "a", "arr_0", "x.npy"};
	if (size < 1)
		return 0;
	const char *member = names[data[0] % 5];
	struct npy a;
	struct nn_err err;
	if (npz_open_mem(&a, data + 1, size - 1, "fuzz.npz", member, &err) == 0) {
		(void)touch(&a);
		npy_close(&a);
	}
	return 0;
}
