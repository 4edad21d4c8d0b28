/*
 * h5.h — one dataset of an HDF5 file (as h5py writes them), as a struct npy.
 *
 * The file is opened read-only with libhdf5 and the dataset's type and shape are checked: IEEE
 * floats of 2, 4 or 8 bytes, integers of 1, 2, 4 or 8 bytes, h5py's booleans (an enum of int8
 * FALSE = 0, TRUE = 1), either byte order, 0 to NPY_MAX_DIMS dimensions: the dtypes the npy
 * reader takes. A contiguous dataset without filters whose storage is allocated is used in place:
 * the file is mapped and `data` points at the dataset's offset (H5Dget_offset), NPY_STORE_MAPPED.
 * Any other (chunked, compressed, compact, external) is read in row blocks through libhdf5 as the
 * file's raw bytes (npy.h's reader, NPY_STORE_BLOCKS), so the npy reader converts it exactly as it
 * converts an npy file, and never more than a block is in the heap. libhdf5 is built thread-safe
 * on Debian; reads from worker threads go through its own lock.
 *
 * A dataset may not claim more than 1100 times the bytes it stores (the bound of deflate) plus
 * about 70 KB (1 GB for a dataset never written: fill value only), nor be cut into more chunks
 * than it stores bytes plus 65536, so a forged shape cannot make reads allocate gigabytes or walk
 * millions of chunks. (libhdf5 1.10 itself reads past a chunk that inflates to less than its
 * size; the first rule keeps the cases fuzz_h5 found out, not every such file.)
 *
 * Hostile files: libhdf5 1.10 crashes or hangs on some crafted files (a NULL read in
 * H5F__accum_read, an overflow in H5D__select_read, endless loops: fuzz_h5 found them), so every
 * open first runs in a forked child (guard.h) with a time limit (30 s), no core dumps and an 8 GiB
 * address space: the file is opened, the dataset's type, shape, layout and filters checked (every
 * filter must be one libhdf5 can decode), the chunk index walked chunk by chunk (each stored chunk
 * inside the file, as many as H5Dget_num_chunks says), and a dataset read in blocks that holds at
 * most 64 MiB (NNCMP_H5_VERIFY_MB) is read once whole, every chunk decoded (about 10-20 ms per MB
 * of gzip data: 64 MiB bounds the cost). Only when the child reports success is the file opened in
 * the process. A crash, a hang or a failed check is a one-line error naming the file. What stays
 * trusted: that the file does not change between the check and its use, and the chunks of a dataset
 * over the verify size, which are decoded by libhdf5 in this process (a chunk whose decoding fails
 * is an error of the pass that reads it, npy_read_failed(); one that crashes libhdf5 is not
 * caught), and what libhdf5 does that does not crash the child (the open is repeated here). Mapped
 * (contiguous) datasets are never read by libhdf5.
 *
 * A dataset is named by its path ("/cnn/fc1"; the leading '/' may be left out), or left out
 * when the file holds one dataset.
 */
#ifndef NNCMP_H5_H
#define NNCMP_H5_H

#include <stddef.h>
#include <stdint.h>

#include "nncmp/npy.h"
#include "nncmp/util.h"

/*
 * Opens dataset `dataset` (NULL: the only one) of the HDF5 file at path. Returns 0, or -1 with
 * err naming "path:dataset" and the problem; on failure *a needs no close.
 */
int h5_open(struct npy *a, const char *path, const char *dataset, struct nn_err *err);
/*
 * The same from an image in memory (read through libhdf5's core driver; never mapped), for the
 * fuzzer. Reading it through a then works as for a blocked dataset.
 */
int h5_open_mem(struct npy *a, const uint8_t *buf, size_t len, const char *name,
                const char *dataset, struct nn_err *err);
/* The child's time limit in seconds (0: the default, 30), for the fuzz harness. */
void h5_set_guard_seconds(unsigned seconds);

#endif
