/*
 * safetensors.h — one tensor of a safetensors file, memory-mapped as a struct npy.
 *
 * The format: an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping each tensor
 * name to {"dtype", "shape", "data_offsets": [begin, end]} (plus an optional "__metadata__"
 * object), then the byte buffer the offsets count from; data is little-endian and C order.
 *
 * The header is outside input and is checked before anything is read through it: the length
 * against the file and a 100 MB limit, the JSON (parsed with jansson, duplicate keys refused),
 * the dtype (F16 BF16 F32 F64 I8 I16 I32 I64 U8 U16 U32 U64 BOOL), the shape (0 to 8
 * dimensions, each ≥ 0, sizes overflow-checked) and the offsets (begin ≤ end, end − begin equal
 * to the shape's bytes, end within the buffer). Only the tensor asked for is validated; the others
 * may hold dtypes this reader does not know.
 *
 * The struct npy it fills reads like an npy file's (npy.h): rows = shape[0], columns the product
 * of the other dimensions, bfloat16 as NPY_BFLOAT, `data` pointing into a mapping of the whole
 * file and h.data_offset the tensor's offset in the file. npy_close() releases it.
 */
#ifndef NNCMP_SAFETENSORS_H
#define NNCMP_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "nncmp/npy.h"
#include "nncmp/util.h"

/* A header longer than this is refused (the limit of the reference implementation). */
#define SAFETENSORS_HEADER_MAX 100000000u

/*
 * Parses the header of a safetensors file held in buf (len bytes: the whole file) and fills *h
 * for tensor `tensor`, or for the only tensor when tensor is NULL. Returns 0, or -1 with err
 * saying what is wrong, prefixed with `file`.
 */
int safetensors_parse(const uint8_t *buf, size_t len, const char *file, const char *tensor,
                      struct npy_header *h, struct nn_err *err);

/*
 * Maps the file at path and opens tensor `tensor` in it (NULL: the file must hold exactly one).
 * a->path becomes "PATH:TENSOR" (or PATH). Returns 0, or -1 with err naming the file; on failure
 * *a needs no close.
 */
int safetensors_open(struct npy *a, const char *path, const char *tensor, struct nn_err *err);

#endif
