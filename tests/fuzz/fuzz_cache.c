/*
 * fuzz_cache.c — the neuron statistics cache reader (neurons_cache_decode) on arbitrary bytes,
 * with and without an expected key, and through a file (neurons_cache_load). What decodes must
 * encode back to the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nncmp/neurons.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct neuron_stats st;
	struct nn_err err;
	if (neurons_cache_decode(data, size, NULL, &st, &err) == 0) {
		/* the key is the bytes after magic, version and length */
		size_t klen = (size_t)data[12] | (size_t)data[13] << 8 | (size_t)data[14] << 16 |
		              (size_t)data[15] << 24;
		char *key = malloc(klen + 1);
		memcpy(key, data + 16, klen);
		key[klen] = '\0';
		uint8_t *buf;
		size_t len;
		neurons_cache_encode(&st, key, &buf, &len);
		if (strlen(key) == klen && (len != size || memcmp(buf, data, size) != 0))
			abort(); /* decode and encode disagree */
		for (size_t j = 0; j < st.h; j++)
			(void)neurons_std(&st, j);
		free(buf);
		free(key);
		neurons_stats_free(&st);
	}
	if (neurons_cache_decode(data, size, "nncmp-neurons v1", &st, &err) == 0)
		neurons_stats_free(&st);
	/* through a file, as the cache directory holds it */
	char dir[] = "/tmp/fuzz-cache-XXXXXX";
	if (!mkdtemp(dir))
		return 0;
	const char *key = "k";
	char *path = neurons_cache_path(dir, key);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, size, f);
		fclose(f);
		if (neurons_cache_load(dir, key, &st) == 0)
			neurons_stats_free(&st);
	}
	unlink(path);
	free(path);
	rmdir(dir);
	return 0;
}
