/* channels.c — spatial maxima of an (N, C, H, W) layer's channels (channels.h). */
#include "nncmp/channels.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK_FLOATS (1u << 18) /* about 1 MiB of float32 per block of rows */

int channels_check(const struct npy *act, struct nn_err *err)
{
	const char *name = act->path ? act->path : "activations";
	if (act->h.ndim != 4)
		return nn_err_set(err,
		                  "%s: %d-D activations, not a spatial layer's (N, C, H, W); "
		                  "export it unflattened",
		                  name, act->h.ndim);
	for (int k = 0; k < 4; k++)
		if (act->h.dims[k] == 0)
			return nn_err_set(err, "%s: an empty layer (%zu, %zu, %zu, %zu)", name,
			                  act->h.dims[0], act->h.dims[1], act->h.dims[2],
			                  act->h.dims[3]);
	return 0;
}

/* Rows per block: `want`, or about BLOCK_FLOATS values, at least one row. */
static size_t block_rows(const struct npy *act, size_t want)
{
	size_t r = want ? want : BLOCK_FLOATS / act->cols;
	return r < 1 ? 1 : r > act->rows ? act->rows : r;
}

/* The largest non-NaN value of v[0..n) and its first position; NaN and 0 when all are NaN. */
static float nanmax(const float *v, size_t n, size_t *at)
{
	float m = NAN;
	*at = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] > m || (isnan(m) && !isnan(v[i]))) {
			m = v[i];
			*at = i;
		}
	return m;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* A version 1.0 npy header for an n × c float32 C-order matrix in this machine's byte order. */
static size_t npy_header_f32(char *buf, size_t size, size_t n, size_t c)
{
	const uint16_t one = 1;
	const char order = *(const uint8_t *)&one ? '<' : '>';
	char dict[160];
	int len = snprintf(dict, sizeof dict,
	                   "{'descr': '%cf4', 'fortran_order': False, 'shape': (%zu, %zu), }",
	                   order, n, c);
	size_t total = 10 + (size_t)len + 1;
	total = (total + 63) / 64 * 64;
	if (total > size)
		return 0;
	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	size_t hl = total - 10;
	buf[8] = (char)(hl & 0xff);
	buf[9] = (char)(hl >> 8);
	memcpy(buf + 10, dict, (size_t)len);
	memset(buf + 10 + len, ' ', total - 10 - (size_t)len - 1);
	buf[total - 1] = '\n';
	return total;
}

int channels_max_open(const struct npy *act, size_t want_rows, struct npy *out, struct nn_err *err)
{
	memset(out, 0, sizeof *out);
	if (channels_check(act, err) < 0)
		return -1;
	const char *name = act->path ? act->path : "activations";
	size_t n = act->h.dims[0], c = act->h.dims[1], hw = act->h.dims[2] * act->h.dims[3];
	const char *dir = getenv("TMPDIR");
	char *tmp = xasprintf("%s/nncmp-channels-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(tmp);
	if (fd < 0) {
		nn_err_set(err, "%s: cannot make a temporary file in %s: %s", name,
		           dir && *dir ? dir : "/tmp", strerror(errno));
		free(tmp);
		return -1;
	}
	int rc = -1;
	char head[256];
	size_t hl = npy_header_f32(head, sizeof head, n, c);
	size_t br = block_rows(act, want_rows);
	float *in = xcalloc(br * act->cols, sizeof *in);
	float *mx = xcalloc(br * c, sizeof *mx);
	bool ok = hl > 0 && write_full(fd, head, hl) == 0;
	for (size_t r0 = 0; ok && r0 < n; r0 += br) {
		size_t nr = n - r0 < br ? n - r0 : br;
		if (npy_rows_f32_guarded(act, r0, nr, in, err) < 0)
			goto done;
		for (size_t i = 0; i < nr; i++)
			for (size_t ch = 0; ch < c; ch++) {
				size_t at;
				mx[i * c + ch] = nanmax(in + i * act->cols + ch * hw, hw, &at);
			}
		ok = write_full(fd, mx, nr * c * sizeof *mx) == 0;
	}
	if (!ok) {
		nn_err_set(err, "%s: cannot write the channel maxima to %s: %s", name, tmp,
		           strerror(errno ? errno : ENOSPC));
		goto done;
	}
	if (npy_open(out, tmp, err) < 0)
		goto done;
	free(out->path);
	out->path = xasprintf("%s (channel maxima)", name);
	rc = 0;
done:
	close(fd);
	unlink(tmp); /* the mapping keeps the data; nothing is left behind */
	free(tmp);
	free(in);
	free(mx);
	return rc;
}

/* True when hit a ranks before hit b: higher value, then lower index. */
static bool before(const struct channel_hit *a, const struct channel_hit *b)
{
	return a->value > b->value || (a->value == b->value && a->index < b->index);
}

int channels_top(const struct npy *act, size_t c, size_t k, size_t want_rows,
                 struct channel_hit **hits, size_t *n, struct nn_err *err)
{
	*hits = NULL;
	*n = 0;
	if (channels_check(act, err) < 0)
		return -1;
	const char *name = act->path ? act->path : "activations";
	size_t rows = act->h.dims[0], nc = act->h.dims[1], w = act->h.dims[3];
	size_t hw = act->h.dims[2] * w;
	if (c >= nc)
		return nn_err_set(err, "%s: no channel %zu (the layer has %zu, 0 to %zu)", name, c,
		                  nc, nc - 1);
	if (k < 1)
		return nn_err_set(err, "%s: a top of 0 instances", name);
	if (k > rows)
		k = rows;
	size_t br = block_rows(act, want_rows);
	float *in = xcalloc(br * act->cols, sizeof *in);
	struct channel_hit *top = xcalloc(k, sizeof *top);
	size_t m = 0;
	for (size_t r0 = 0; r0 < rows; r0 += br) {
		size_t nr = rows - r0 < br ? rows - r0 : br;
		if (npy_rows_f32_guarded(act, r0, nr, in, err) < 0) {
			free(in);
			free(top);
			return -1;
		}
		for (size_t i = 0; i < nr; i++) {
			size_t at;
			float v = nanmax(in + i * act->cols + c * hw, hw, &at);
			if (isnan(v))
				continue;
			struct channel_hit h = {(uint32_t)(r0 + i), v, (uint32_t)(at / w),
			                        (uint32_t)(at % w)};
			if (m == k && !before(&h, &top[k - 1]))
				continue;
			size_t j = m < k ? m++ : k - 1; /* insertion into the sorted top list */
			while (j > 0 && before(&h, &top[j - 1])) {
				top[j] = top[j - 1];
				j--;
			}
			top[j] = h;
		}
	}
	free(in);
	if (m == 0) {
		free(top);
		top = NULL;
	}
	*hits = top;
	*n = m;
	return 0;
}
