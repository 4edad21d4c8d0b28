/*
 * fuzz_npz.c — the npz reader (libzip over a mapping) on bytes in memory: finding the member,
 * the data offset of a stored one, inflating a deflated one, the npy header inside, then reading
 * every element through every accessor. The first input byte picks the member to ask for.
 */
#include <stdlib.h>
#include <string.h>

#include "nncmp/npy.h"
#include "nncmp/npz.h"

#include "fuzz_npy_touch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {NULL, "probs", "a", "arr_0", "x.npy"};
	if (size < 1)
		return 0;
	const char *member = names[data[0] % 5];
	struct npy a;
	struct nn_err err;
	if (npz_open_mem(&a, data + 1, size - 1, "fuzz.npz", member, &err) == 0) {
		(void)fuzz_npy_touch(&a);
		npy_close(&a);
	}
	return 0;
}
