/* shards.c — several files read as one matrix, their rows concatenated in order (npy.h). */
#include "nncmp/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes a shape as numpy prints it: "(3, 4)", "(5,)", "()". */
static const char *shape_str(const struct npy_header *h, char *buf, size_t size)
{
	size_t used = (size_t)snprintf(buf, size, "(");
	for (int k = 0; k < h->ndim && used < size; k++)
		used +=
		    (size_t)snprintf(buf + used, size - used, "%s%zu", k ? ", " : "", h->dims[k]);
	if (used < size)
		snprintf(buf + used, size - used, "%s)", h->ndim == 1 ? "," : "");
	return buf;
}

/* Checks shard s against the first; returns 0, or -1 with err naming s. */
static int shard_check(const struct npy *s, const char *spec, const struct npy *first,
                       const char *first_spec, struct nn_err *err)
{
	char d1[8], d2[8], s1[160], s2[160];
	if (s->h.ndim == 0)
		return nn_err_set(err, "%s: a scalar cannot be a shard of a matrix", spec);
	if (s == first)
		return 0;
	if (s->h.kind != first->h.kind || s->h.itemsize != first->h.itemsize)
		return nn_err_set(err, "%s: dtype %s, but the first shard %s has %s", spec,
		                  npy_dtype_str(&s->h, d1), first_spec,
		                  npy_dtype_str(&first->h, d2));
	if (s->h.swap != first->h.swap)
		return nn_err_set(err, "%s: byte order differs from the first shard %s", spec,
		                  first_spec);
	bool same = s->h.ndim == first->h.ndim;
	for (int k = 1; same && k < s->h.ndim; k++)
		same = s->h.dims[k] == first->h.dims[k];
	if (!same)
		return nn_err_set(err,
		                  "%s: shape %s, but the first shard %s has %s (shards may differ "
		                  "only in the first dimension)",
		                  spec, shape_str(&s->h, s1, sizeof s1), first_spec,
		                  shape_str(&first->h, s2, sizeof s2));
	return 0;
}

int npy_open_shards(struct npy *a, const char *const *specs, size_t n, const char *name,
                    struct nn_err *err)
{
	memset(a, 0, sizeof *a);
	if (n == 1)
		return npy_open_any(a, specs[0], err);
	if (n == 0)
		return nn_err_set(err, "%s: no files", name);
	if (n > NPY_MAX_SHARDS)
		return nn_err_set(err, "%s: %zu shards, more than %d", name, n, NPY_MAX_SHARDS);
	struct npy *sh = xcalloc(n, sizeof *sh);
	size_t *start = xcalloc(n + 1, sizeof *start);
	size_t rows = 0, opened = 0;
	int rc = 0;
	for (size_t k = 0; k < n && rc == 0; k++) {
		if (npy_open_any(&sh[k], specs[k], err) < 0) {
			rc = -1;
			break;
		}
		opened++;
		size_t elems;
		rc = shard_check(&sh[k], specs[k], &sh[0], specs[0], err);
		if (rc == 0 &&
		    (rows > SIZE_MAX - sh[k].rows || size_mul(sh[k].rows, sh[k].cols, &elems) < 0 ||
		     start[k] > SIZE_MAX - elems))
			rc = nn_err_set(err, "%s: too many rows in all", specs[k]);
		if (rc == 0) {
			rows += sh[k].rows;
			start[k + 1] = start[k] + elems;
		}
	}
	size_t bytes = 0;
	if (rc == 0 && size_mul(start[n], sh[0].h.itemsize, &bytes) < 0)
		rc = nn_err_set(err, "%s: too large in all", name);
	if (rc < 0) {
		for (size_t k = 0; k < opened; k++)
			npy_close(&sh[k]);
		free(sh);
		free(start);
		return -1;
	}
	a->h = sh[0].h;
	a->h.fortran = false; /* the whole is read in C order; each shard keeps its own layout */
	a->h.dims[0] = rows;
	a->h.shape[0] = rows;
	a->h.data_offset = 0;
	a->h.data_bytes = bytes;
	a->rows = rows;
	a->cols = sh[0].cols;
	a->data = NPY_SHARDED_DATA;
	a->path = xstrdup(name);
	a->n_shards = n;
	a->shards = sh;
	a->shard_start = start;
	return 0;
}
