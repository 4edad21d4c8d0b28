/*
 * fuzz_safetensors.c — the safetensors header parser on bytes in memory, then the whole path
 * through a file of the input: mapping, the checks, and reading every element of the tensor.
 * The first input byte picks which tensor to ask for: the only one, or a few likely names.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nncmp/npy.h"
#include "nncmp/safetensors.h"

#include "fuzz_npy_touch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {NULL, "t", "a", "probs", "__metadata__"};
	if (size < 1)
		return 0;
	const char *tensor = names[data[0] % 5];
	data++;
	size--;
	struct npy_header h;
	struct nn_err err;
	safetensors_parse(data, size, "fuzz.safetensors", tensor, &h, &err);

	char path[] = "/tmp/fuzz-st-XXXXXX.safetensors";
	int fd = mkstemps(path, 12);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	struct npy a;
	if (safetensors_open(&a, path, tensor, &err) == 0) {
		(void)fuzz_npy_touch(&a);
		/* the tensor twice, as shards: rows concatenated, blocks split at the seam */
		struct npy s;
		const char *specs[2] = {a.path, a.path};
		if (a.h.ndim > 0 && npy_open_shards(&s, specs, 2, "both", &err) == 0) {
			(void)fuzz_npy_touch(&s);
			npy_close(&s);
		}
		npy_close(&a);
	}
	unlink(path);
	return 0;
}
