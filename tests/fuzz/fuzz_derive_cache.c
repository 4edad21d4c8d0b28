/*
 * fuzz_derive_cache.c — the derived-data cache reader (derive_cache_load) on arbitrary bytes as
 * the cache file of a small study's model. What loads must hold values in range, and a load that
 * fails must not have crashed or read out of bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nncmp/derive_cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FN 4
#define FC 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[] = "/tmp/fuzz-dcache-XXXXXX";
	if (!mkdtemp(dir))
		return 0;
	int32_t labels[FN] = {0, 1, 2, 1}, pred[FN], rank[FN];
	double conf[FN], margin[FN], p_label[FN];
	struct model m = {.src = SRC_PROBS,
	                  .pred = pred,
	                  .rank = rank,
	                  .conf = conf,
	                  .margin = margin,
	                  .p_label = p_label};
	m.probs.cols = FC;
	struct study s = {.n = FN, .n_classes = FC, .labels = labels, .n_models = 1, .models = &m};
	const char *key = "k";
	char *path = derive_cache_path(dir, key);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, size, f);
		fclose(f);
		if (derive_cache_load(dir, key, &s, &m) == 0)
			for (size_t i = 0; i < FN; i++)
				if (pred[i] < 0 || pred[i] >= FC || rank[i] < 0 || rank[i] >= FC ||
				    !(conf[i] >= 0 && conf[i] <= 1) ||
				    !(p_label[i] >= 0 && p_label[i] <= 1))
					abort(); /* a value out of range got through */
	}
	unlink(path);
	free(path);
	rmdir(dir);
	return 0;
}
