/*
 * fuzz_csvmat.c — the CSV/TSV matrix reader on bytes in memory: libcsv's records, the header
 * decision against class names, the number checks, the float32 image it builds and reopens,
 * and reading it back. The first input byte picks the separator and the class names given.
 */
#include <stdlib.h>
#include <string.h>

#include "nncmp/csvmat.h"
#include "nncmp/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const digits[] = {"0", "1", "2"};
	static const char *const words[] = {"a", "b"};
	if (size < 1)
		return 0;
	unsigned pick = data[0];
	const char *const *names = (pick >> 1) % 3 == 1   ? digits
	                           : (pick >> 1) % 3 == 2 ? words
	                                                  : NULL;
	size_t n_names = names == digits ? 3 : names == words ? 2 : 0;
	struct npy a;
	struct nn_err err;
	if (csvmat_parse(&a, (const char *)data + 1, size - 1, pick & 1, "fuzz.csv", names, n_names,
	                 "classes.txt", &err) == 0) {
		float row[64];
		double sum = 0;
		for (size_t i = 0; i < a.rows && i < 256; i++) {
			if (a.cols <= 64)
				npy_rows_f32(&a, i, 1, row);
			sum += npy_at(&a, i, 0);
		}
		(void)sum;
		npy_close(&a);
	}
	return 0;
}
