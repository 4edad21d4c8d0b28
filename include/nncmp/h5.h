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
 * on Debian, but it runs only in children here (below); reads from worker threads take turns
 * per dataset.
 *
 * A dataset may not claim more than 1100 times the bytes it stores (the bound of deflate) plus
 * about 70 KB (1 GB for a dataset never written: fill value only), nor be cut into more chunks
 * than it stores bytes plus 65536, so a forged shape cannot make reads allocate gigabytes or walk
 * millions of chunks. (libhdf5 1.10 itself reads past a chunk that inflates to less than its
 * size; the first rule keeps the cases fuzz_h5 found out, not every such file.)
 *
 * Hostile files: libhdf5 1.10 crashes or hangs on some crafted files (a NULL read in
 * H5F__accum_read, an overflow in H5D__select_read, endless loops: fuzz_h5 found them), so
 * libhdf5 never runs in this process. Every open forks a child (guard.h: no core dumps, an 8 GiB
 * address space, 30 s for the open and for each later call, killed after it) that opens the file,
 * checks the dataset's type, shape, layout and filters (every filter must be one libhdf5 can
 * decode), walks the chunk index chunk by chunk (each stored chunk inside the file, as many as
 * H5Dget_num_chunks says), and reads a blocked dataset of at most 64 MiB (NNCMP_H5_VERIFY_MB)
 * once whole, so that its damaged chunk is an error of the open. It answers with the header: a
 * contiguous dataset is then mapped here at the offset it found and the child ends; a dataset
 * read in blocks keeps its child, which does every read (H5Dread into a buffer shared with this
 * process, copied out under a lock; a chunk cache of 32 MiB in the child). A chunk that cannot
 * be decoded is an error of the pass that reads it ("FILE:/DS: row R cannot be read (a damaged
 * chunk)", npy_read_error()), and so is a chunk that crashes or hangs libhdf5: the child dies or
 * is killed, and every later read of that dataset fails at once with that message. One child
 * per open blocked dataset lives as long as the dataset is open. What stays trusted: what
 * libhdf5 does inside the child short of a crash (wrong values from a forged file are possible),
 * and that a mapped file does not change under the mapping (fault.h guards the readers).
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
