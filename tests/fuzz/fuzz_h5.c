/*
 * fuzz_h5.c — the HDF5 reader on a file image in memory (libhdf5's core driver): finding the
 * dataset, its type and shape checks, then reading rows through the block reader with every
 * accessor. The first input byte picks the dataset to ask for. libhdf5 itself is not built with
 * the sanitizers; what this catches is our handling of what it returns, and identifiers we leave
 * open (the object count must be 0 after each input). libhdf5 1.10 leaks a little memory on
 * some malformed files inside itself; tests/fuzz/lsan.supp keeps those from stopping the run.
 * h5_open_mem() runs libhdf5 only in a forked child (h5.h): a crash or hang of libhdf5 there is
 * an error, and the rows of what the child accepted are read by that child too, into a buffer
 * shared with this process; what runs here is the answer's and the rows' handling. The child's
 * limit is 3 s (a call), below the fuzzer's -timeout=5.
 */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/h5.h"
#include "nncmp/npy.h"

#include "fuzz_npy_touch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {NULL, "/p", "/g/probs", "p", "/x"};
	if (size < 1)
		return 0;
	h5_set_guard_seconds(3);
	const char *dataset = names[data[0] % 5];
	struct npy a;
	struct nn_err err;
	if (h5_open_mem(&a, data + 1, size - 1, "fuzz.h5", dataset, &err) == 0) {
		(void)fuzz_npy_touch(&a);
		(void)npy_read_failed(&a);
		npy_close(&a);
	}
	/* libhdf5 holds nothing open in this process, on every path (it never runs here) */
	if (H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL) != 0)
		abort();
	return 0;
}
