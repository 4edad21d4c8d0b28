/* safetensors.c — validating a safetensors header (jansson) and mapping one of its tensors. */
#include "nncmp/safetensors.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NAME_CLIP 60 /* bytes of a tensor name or dtype quoted in a message */
#define LIST_MAX  8  /* tensor names listed in a message */

struct st_dtype {
	const char *name;
	enum npy_kind kind;
	unsigned itemsize;
};

static const struct st_dtype st_dtypes[] = {
    {"F16", NPY_FLOAT, 2}, {"BF16", NPY_BFLOAT, 2}, {"F32", NPY_FLOAT, 4}, {"F64", NPY_FLOAT, 8},
    {"I8", NPY_INT, 1},    {"I16", NPY_INT, 2},     {"I32", NPY_INT, 4},   {"I64", NPY_INT, 8},
    {"U8", NPY_UINT, 1},   {"U16", NPY_UINT, 2},    {"U32", NPY_UINT, 4},  {"U64", NPY_UINT, 8},
    {"BOOL", NPY_BOOL, 1},
};

static const char metadata_key[] = "__metadata__";

/*
 * Copies outside text into out for a message: control characters become '?', and text longer
 * than NAME_CLIP bytes is cut at a character boundary and ends in "...".
 */
static const char *clip(const char *s, char out[NAME_CLIP + 4])
{
	size_t n = 0;
	for (; s[n] && n < NAME_CLIP; n++) {
		unsigned char c = (unsigned char)s[n];
		out[n] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (s[n]) {
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The tensor names of the header (not __metadata__), sorted; *n their count. Caller frees. */
static const char **tensor_names(json_t *root, size_t *n)
{
	const char **v = xcalloc(json_object_size(root) + 1, sizeof *v);
	const char *key;
	json_t *val;
	*n = 0;
	json_object_foreach(root, key, val)
	{
		if (strcmp(key, metadata_key) != 0)
			v[(*n)++] = key;
	}
	qsort(v, *n, sizeof *v, cmp_str);
	return v;
}

/* Writes "a, b, c" (at most LIST_MAX names, then "... N in all") into buf. */
static void list_names(json_t *root, char *buf, size_t size)
{
	size_t n;
	const char **v = tensor_names(root, &n);
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && i < LIST_MAX && used < size; i++) {
		char c[NAME_CLIP + 4];
		int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", clip(v[i], c));
		used += w > 0 ? (size_t)w : 0;
	}
	if (n > LIST_MAX && used < size)
		snprintf(buf + used, size - used, ", ... %zu in all", n);
	if (n == 0)
		snprintf(buf, size, "none");
	free(v);
}

/* Reads a JSON integer ≥ 0 that fits size_t; returns 0, or -1. */
static int get_size(json_t *v, size_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	unsigned long long u = (unsigned long long)json_integer_value(v);
	if (u > SIZE_MAX)
		return -1;
	*out = (size_t)u;
	return 0;
}

/* Fills h from the tensor's entry; `buffer` is the size of the byte buffer after the header. */
static int parse_entry(json_t *t, const char *file, const char *name, size_t data_start,
                       size_t buffer, struct npy_header *h, struct nn_err *err)
{
	char nm[NAME_CLIP + 4], c[NAME_CLIP + 4];
	clip(name, nm);
	if (!json_is_object(t))
		return nn_err_set(err, "%s: tensor '%s' is not a JSON object", file, nm);
	json_t *dt = json_object_get(t, "dtype");
	if (!json_is_string(dt))
		return nn_err_set(err, "%s: tensor '%s' has no \"dtype\" string", file, nm);
	const struct st_dtype *d = NULL;
	for (size_t i = 0; i < sizeof st_dtypes / sizeof *st_dtypes; i++)
		if (strcmp(json_string_value(dt), st_dtypes[i].name) == 0)
			d = &st_dtypes[i];
	if (!d)
		return nn_err_set(err,
		                  "%s: tensor '%s': unsupported dtype '%s' (supported: F16 BF16 "
		                  "F32 F64 I8 I16 I32 I64 U8 U16 U32 U64 BOOL)",
		                  file, nm, clip(json_string_value(dt), c));
	h->kind = d->kind;
	h->itemsize = d->itemsize;
	/* the format is little-endian: a big-endian host reads it swapped */
	static const uint16_t one = 1;
	h->swap = d->itemsize > 1 && *(const uint8_t *)&one == 0;
	h->fortran = false;

	json_t *shape = json_object_get(t, "shape");
	if (!json_is_array(shape))
		return nn_err_set(err, "%s: tensor '%s' has no \"shape\" array", file, nm);
	size_t nd = json_array_size(shape);
	if (nd > NPY_MAX_DIMS)
		return nn_err_set(err, "%s: tensor '%s' has %zu dimensions (at most %d)", file, nm,
		                  nd, NPY_MAX_DIMS);
	size_t count = 1;
	for (size_t k = 0; k < nd; k++) {
		if (get_size(json_array_get(shape, k), &h->dims[k]) < 0)
			return nn_err_set(err,
			                  "%s: tensor '%s': shape[%zu] is not a whole number >= 0",
			                  file, nm, k);
		if (size_mul(count, h->dims[k], &count) < 0)
			return nn_err_set(err, "%s: tensor '%s': shape is too large", file, nm);
	}
	h->ndim = (int)nd;
	h->shape[0] = nd >= 1 ? h->dims[0] : 1;
	h->shape[1] = 1;
	for (size_t k = 1; k < nd; k++)
		if (size_mul(h->shape[1], h->dims[k], &h->shape[1]) < 0) /* when dims[0] is 0 */
			return nn_err_set(err, "%s: tensor '%s': shape is too large", file, nm);
	if (size_mul(count, h->itemsize, &h->data_bytes) < 0)
		return nn_err_set(err, "%s: tensor '%s': shape is too large", file, nm);

	json_t *off = json_object_get(t, "data_offsets");
	size_t begin, end;
	if (!json_is_array(off) || json_array_size(off) != 2 ||
	    get_size(json_array_get(off, 0), &begin) < 0 ||
	    get_size(json_array_get(off, 1), &end) < 0)
		return nn_err_set(err,
		                  "%s: tensor '%s': \"data_offsets\" is not [begin, end] (whole "
		                  "numbers >= 0)",
		                  file, nm);
	if (begin > end)
		return nn_err_set(err, "%s: tensor '%s': data_offsets [%zu, %zu] run backwards",
		                  file, nm, begin, end);
	if (end - begin != h->data_bytes)
		return nn_err_set(err,
		                  "%s: tensor '%s': data_offsets [%zu, %zu] span %zu bytes, but "
		                  "its shape of %s needs %zu",
		                  file, nm, begin, end, end - begin, d->name, h->data_bytes);
	if (end > buffer)
		return nn_err_set(err,
		                  "%s: tensor '%s': data_offsets end %zu is beyond the data "
		                  "(%zu bytes)",
		                  file, nm, end, buffer);
	h->data_offset = data_start + begin;
	return 0;
}

int safetensors_parse(const uint8_t *buf, size_t len, const char *file, const char *tensor,
                      struct npy_header *h, struct nn_err *err)
{
	memset(h, 0, sizeof *h);
	if (len < 8)
		return nn_err_set(err, "%s: %zu bytes, too short for a safetensors file", file,
		                  len);
	uint64_t n = 0;
	for (int k = 7; k >= 0; k--)
		n = n << 8 | buf[k];
	if (n > SAFETENSORS_HEADER_MAX)
		return nn_err_set(err,
		                  "%s: safetensors header length %llu is implausibly large (the "
		                  "limit is %u)",
		                  file, (unsigned long long)n, SAFETENSORS_HEADER_MAX);
	if (n > len - 8)
		return nn_err_set(err,
		                  "%s: safetensors header length %llu is beyond the end of the "
		                  "file (%zu bytes follow it)",
		                  file, (unsigned long long)n, len - 8);
	json_error_t je;
	json_t *root = json_loadb((const char *)buf + 8, (size_t)n, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		char c[NAME_CLIP + 4];
		return nn_err_set(err, "%s: safetensors header is not valid JSON: %s (byte %d)",
		                  file, clip(je.text, c), je.position);
	}
	int rc = 0;
	char names[LIST_MAX * (NAME_CLIP + 6) + 32];
	if (!json_is_object(root)) {
		rc = nn_err_set(err, "%s: safetensors header is not a JSON object", file);
	} else if (tensor) {
		json_t *t =
		    strcmp(tensor, metadata_key) == 0 ? NULL : json_object_get(root, tensor);
		char nm[NAME_CLIP + 4];
		if (!t) {
			list_names(root, names, sizeof names);
			rc = nn_err_set(err, "%s: no tensor '%s' (tensors: %s)", file,
			                clip(tensor, nm), names);
		} else {
			rc = parse_entry(t, file, tensor, 8 + (size_t)n, len - 8 - (size_t)n, h,
			                 err);
		}
	} else {
		size_t count;
		const char **v = tensor_names(root, &count);
		if (count == 1) {
			rc = parse_entry(json_object_get(root, v[0]), file, v[0], 8 + (size_t)n,
			                 len - 8 - (size_t)n, h, err);
		} else {
			list_names(root, names, sizeof names);
			rc = count == 0 ? nn_err_set(err, "%s: holds no tensors", file)
			                : nn_err_set(err,
			                             "%s: holds %zu tensors; name one as "
			                             "%s:NAME (tensors: %s)",
			                             file, count, file, names);
		}
		free(v);
	}
	json_decref(root);
	return rc;
}

int safetensors_open(struct npy *a, const char *path, const char *tensor, struct nn_err *err)
{
	memset(a, 0, sizeof *a);
	void *map;
	size_t size;
	if (npy_map_file(path, "a safetensors file", &map, &size, err) < 0)
		return -1;
	if (safetensors_parse(map, size, path, tensor, &a->h, err) < 0) {
		npy_unmap(map, size);
		return -1;
	}
	a->map = map;
	a->map_len = size;
	a->data = (const uint8_t *)map + a->h.data_offset;
	a->rows = a->h.ndim == 0 ? 1 : a->h.shape[0];
	a->cols = a->h.ndim >= 2 ? a->h.shape[1] : 1;
	a->path = tensor ? xasprintf("%s:%s", path, tensor) : xstrdup(path);
	return 0;
}
