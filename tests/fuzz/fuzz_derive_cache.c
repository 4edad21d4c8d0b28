/*
 * fuzz_derive_cache.c — the derived-data cache reader (derive_cache_load) on damaged cache files
 * of a small study's model. The input's first byte picks the model's value size (bit 0: double,
 * else float) and whether the rest is the whole file (bit 1) or edits of a good file that
 * derive_cache_store wrote: records of 4 bytes, an operation (0: XOR, 1: set, 2: truncate), a
 * little-endian 16-bit offset and a byte. What loads must hold values in range, a load that fails
 * must leave the model as it was, and nothing may crash or read out of bounds.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nncmp/derive_cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FN 4
#define FC 3

/* Applies the edit records in data[0..size) to the file at path. */
static void edit(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_RDWR);
	if (fd < 0)
		return;
	for (size_t k = 0; k + 4 <= size; k += 4) {
		off_t at = (off_t)(data[k + 1] | data[k + 2] << 8);
		uint8_t b = data[k + 3], c = 0;
		switch (data[k] % 3) {
		case 0:
			if (pread(fd, &c, 1, at) == 1) {
				c ^= b;
				(void)!pwrite(fd, &c, 1, at);
			}
			break;
		case 1:
			(void)!pwrite(fd, &b, 1, at);
			break;
		default:
			(void)!ftruncate(fd, at);
		}
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char dir[] = "/tmp/fuzz-dcache-XXXXXX";
	if (!mkdtemp(dir))
		return 0;
	int32_t labels[FN] = {0, 1, 2, 1};
	struct model m = {.src = SRC_PROBS};
	m.probs.cols = FC;
	struct study s = {.n = FN, .n_classes = FC, .labels = labels, .n_models = 1, .models = &m};
	uint8_t val = data[0] & 1 ? 8 : 4;
	model_derived_alloc(&m, FN, 1, val, true);
	for (size_t i = 0; i < FN; i++) { /* a good model: p = (0.5, 0.25, 0.25) permuted */
		model_set_pred(&m, i, (int32_t)(i % FC));
		model_set_rank(&m, i, labels[i] == (int32_t)(i % FC) ? 0 : 1);
		model_set_p_label(&m, i, labels[i] == (int32_t)(i % FC) ? 0.5 : 0.25);
		model_set_values(&m, i, 0.5, 0.25, 0.25);
	}
	const char *key = "k";
	char *path = derive_cache_path(dir, key);
	if (data[0] & 2) {
		FILE *f = fopen(path, "wb");
		if (f) {
			fwrite(data + 1, 1, size - 1, f);
			fclose(f);
		}
	} else if (derive_cache_store(dir, key, &s, &m) == 0) {
		edit(path, data + 1, size - 1);
	}
	const void *before = m.d_pred;
	if (derive_cache_load(dir, key, &s, &m) == 0) {
		for (size_t i = 0; i < FN; i++) {
			double c = model_conf(&m, i), mg = model_margin(&m, i),
			       pl = model_p_label(&m, i);
			if (model_pred(&m, i) < 0 || model_pred(&m, i) >= FC ||
			    model_rank(&m, i) < 0 || model_rank(&m, i) >= FC ||
			    !(c >= 0 && c <= 1) || !(pl >= 0 && pl <= 1) || !(mg >= 0 && mg <= 1))
				abort(); /* a value out of range got through */
		}
	} else if (m.d_pred != before || m.d_map) {
		abort(); /* a miss changed the model */
	}
	model_derived_free(&m);
	unlink(path);
	free(path);
	rmdir(dir);
	return 0;
}
