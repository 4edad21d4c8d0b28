/* fuzz_npy.c — the npy header parser, and element access through a mapped file of the input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nncmp/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct npy_header h;
	struct nn_err err;
	npy_parse_header(data, size, "fuzz.npy", &h, &err);
	/* through the file path too: mapping, size checks, and reading every element */
	char path[] = "/tmp/fuzz-npy-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	struct npy a;
	if (npy_open(&a, path, &err) == 0) {
		double sum = 0, row[64];
		for (size_t i = 0; i < a.rows && i < 256; i++) {
			for (size_t j = 0; j < a.cols && j < 64; j++)
				sum += npy_at(&a, i, j);
			if (a.cols <= 64)
				npy_row_f64(&a, i, row);
		}
		(void)sum;
		npy_close(&a);
	}
	unlink(path);
	return 0;
}
