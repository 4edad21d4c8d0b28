/*
 * npz.h — one array of a NumPy .npz archive (numpy.savez / savez_compressed), as a struct npy.
 *
 * The archive is read with libzip from a read-only mapping of the whole file. A member is named
 * as numpy names it ("probs" for probs.npy; the exact member name works too), or left out when
 * the archive holds one member. A stored (uncompressed) member is used in place: its npy image
 * is the mapping at the member's data offset, which libzip reports as where it reads the data
 * from (checked against the bytes libzip returns), so nothing is copied and `storage` is
 * NPY_STORE_MAPPED. Its CRC is then not checked (that would read the whole member). A deflated
 * member is decompressed once, CRC checked, into an anonymous mapping (NPY_STORE_INFLATED); its
 * declared size must be plausible for its compressed size (at most 1100 times, the bound of
 * deflate) so that a forged size cannot make us map terabytes.
 *
 * Data inside a stored member is often not aligned to its element size (the zip header before it
 * has an odd length); the npy reader does not need alignment, the in-place float32 fast paths
 * test for it and take the converting path instead.
 */
#ifndef NNCMP_NPZ_H
#define NNCMP_NPZ_H

#include <stddef.h>
#include <stdint.h>

#include "nncmp/npy.h"
#include "nncmp/util.h"

/*
 * Opens array `member` (NULL: the only one) of the .npz at path. Returns 0, or -1 with err naming
 * "path:member" and the problem; on failure *a needs no close.
 */
int npz_open(struct npy *a, const char *path, const char *member, struct nn_err *err);
/* The same from len bytes in memory (copied), for the fuzzer; name stands for the file. */
int npz_open_mem(struct npy *a, const uint8_t *buf, size_t len, const char *name,
                 const char *member, struct nn_err *err);

#endif
