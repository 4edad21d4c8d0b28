/* npy_header.c — the .npy header parser (npy.h: npy_parse_header, npy_dtype_str): magic,
 * version, the header dict's descr / fortran_order / shape, and the sizes they imply. Trusts
 * nothing in the file: every length is checked before it is used (fuzz_npy). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/npy.h"
#include "nncmp/util.h"

/* A header longer than this is refused: real ones are a few hundred bytes. */
#define NPY_HEADER_MAX (1u << 20)

struct cursor {
	const char *p, *end;
};

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int expect(struct cursor *c, char ch)
{
	skip_ws(c);
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return 0;
	}
	return -1;
}

/*
 * Reads a quoted Python string literal (no escapes occur in npy headers) into buf. A NUL inside
 * is refused: the C string would end there, and '<f4\0junk' would read as '<f4'.
 */
static int parse_str(struct cursor *c, char *buf, size_t bufsize)
{
	skip_ws(c);
	if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
		return -1;
	char q = *c->p++;
	size_t n = 0;
	while (c->p < c->end && *c->p != q) {
		if (n + 1 >= bufsize || *c->p == '\0')
			return -1;
		buf[n++] = *c->p++;
	}
	if (c->p >= c->end)
		return -1;
	c->p++;
	buf[n] = '\0';
	return 0;
}

static int parse_bool(struct cursor *c, bool *out)
{
	skip_ws(c);
	size_t left = (size_t)(c->end - c->p);
	if (left >= 4 && memcmp(c->p, "True", 4) == 0) {
		c->p += 4;
		*out = true;
		return 0;
	}
	if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
		c->p += 5;
		*out = false;
		return 0;
	}
	return -1;
}

/* Parses "(a, b, ...)" into dims; returns the number of dimensions or -1 (-2: too many). */
static int parse_shape(struct cursor *c, size_t dims[8])
{
	if (expect(c, '(') < 0)
		return -1;
	int nd = 0;
	for (;;) {
		skip_ws(c);
		if (c->p < c->end && *c->p == ')') {
			c->p++;
			return nd;
		}
		if (c->p >= c->end || *c->p < '0' || *c->p > '9')
			return -1;
		size_t v = 0;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
			unsigned d = (unsigned)(*c->p++ - '0');
			if (v > (SIZE_MAX - d) / 10)
				return -1;
			v = v * 10 + d;
		}
		if (c->p < c->end && *c->p == 'L') /* written by Python 2 */
			c->p++;
		if (nd == 8)
			return -2;
		dims[nd++] = v;
		skip_ws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (expect(c, ')') < 0)
			return -1;
		return nd;
	}
}

static int parse_descr(const char *d, struct npy_header *h)
{
	bool little_host = !nn_host_big_endian();
	char order = d[0];
	if (order != '<' && order != '>' && order != '|' && order != '=')
		return -1;
	char kind = d[1];
	char *end;
	long size = strtol(d + 2, &end, 10);
	if (d[2] < '0' || d[2] > '9' || *end != '\0')
		return -1;
	switch (kind) {
	case 'f':
		if (size != 2 && size != 4 && size != 8)
			return -1;
		h->kind = NPY_FLOAT;
		break;
	case 'i':
	case 'u':
		if (size != 1 && size != 2 && size != 4 && size != 8)
			return -1;
		h->kind = kind == 'i' ? NPY_INT : NPY_UINT;
		break;
	case 'b':
		if (size != 1)
			return -1;
		h->kind = NPY_BOOL;
		break;
	default:
		return -1;
	}
	h->itemsize = (unsigned)size;
	h->swap = size > 1 && ((order == '<' && !little_host) || (order == '>' && little_host));
	return 0;
}

int npy_parse_header(const uint8_t *buf, size_t len, const char *name, struct npy_header *h,
                     struct nn_err *err)
{
	memset(h, 0, sizeof *h);
	if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
		return nn_err_set(err, "%s: not an npy file (bad magic)", name);
	unsigned major = buf[6];
	size_t hlen, pre;
	if (major == 1) {
		hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
		pre = 10;
	} else if (major == 2 || major == 3) {
		if (len < 12)
			return nn_err_set(err, "%s: truncated npy header", name);
		hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
		       (size_t)buf[11] << 24;
		pre = 12;
	} else {
		return nn_err_set(err, "%s: npy format version %u is not supported (1–3 are)", name,
		                  major);
	}
	if (hlen > NPY_HEADER_MAX)
		return nn_err_set(err, "%s: npy header claims %zu bytes, implausibly long", name,
		                  hlen);
	if (pre + hlen > len)
		return nn_err_set(err, "%s: truncated npy header (%zu bytes promised, %zu present)",
		                  name, hlen, len - pre);
	h->data_offset = pre + hlen;

	struct cursor c = {(const char *)buf + pre, (const char *)buf + pre + hlen};
	bool have_descr = false, have_order = false, have_shape = false;
	size_t dims[8];
	int nd = 0;
	if (expect(&c, '{') < 0)
		return nn_err_set(err, "%s: malformed npy header (expected a dict)", name);
	for (;;) {
		skip_ws(&c);
		if (c.p < c.end && *c.p == '}') {
			c.p++;
			break;
		}
		char key[32], val[32];
		if (parse_str(&c, key, sizeof key) < 0 || expect(&c, ':') < 0)
			return nn_err_set(err, "%s: malformed npy header", name);
		if (strcmp(key, "descr") == 0 && !have_descr) {
			skip_ws(&c);
			if (c.p < c.end && *c.p == '[')
				return nn_err_set(err, "%s: structured dtypes are not supported",
				                  name);
			if (parse_str(&c, val, sizeof val) < 0)
				return nn_err_set(err, "%s: malformed npy header (descr)", name);
			if (parse_descr(val, h) < 0)
				return nn_err_set(
				    err,
				    "%s: unsupported dtype '%s' (supported: f2 f4 f8, "
				    "i1-i8, u1-u8, b1)",
				    name, val);
			have_descr = true;
		} else if (strcmp(key, "fortran_order") == 0 && !have_order) {
			if (parse_bool(&c, &h->fortran) < 0)
				return nn_err_set(err, "%s: malformed npy header (fortran_order)",
				                  name);
			have_order = true;
		} else if (strcmp(key, "shape") == 0 && !have_shape) {
			nd = parse_shape(&c, dims);
			if (nd == -2)
				return nn_err_set(err, "%s: too many dimensions", name);
			if (nd < 0)
				return nn_err_set(err, "%s: malformed npy header (shape)", name);
			have_shape = true;
		} else {
			return nn_err_set(err, "%s: unexpected or repeated key '%s' in npy header",
			                  name, key);
		}
		skip_ws(&c);
		if (c.p < c.end && *c.p == ',') {
			c.p++;
			continue;
		}
		if (expect(&c, '}') < 0)
			return nn_err_set(err, "%s: malformed npy header", name);
		break;
	}
	if (!have_descr || !have_order || !have_shape)
		return nn_err_set(err, "%s: npy header lacks '%s'", name,
		                  !have_descr   ? "descr"
		                  : !have_order ? "fortran_order"
		                                : "shape");
	if (nd > 2 && h->fortran)
		return nn_err_set(
		    err,
		    "%s: %d-dimensional array in Fortran order (only up to 2 dimensions "
		    "are supported in that order)",
		    name, nd);
	h->ndim = nd;
	memcpy(h->dims, dims, (size_t)nd * sizeof *dims);
	h->shape[0] = nd >= 1 ? dims[0] : 1;
	h->shape[1] = 1;
	for (int k = 1; k < nd; k++)
		if (size_mul(h->shape[1], dims[k], &h->shape[1]) < 0)
			return nn_err_set(err, "%s: npy shape is too large", name);
	size_t count;
	if (size_mul(h->shape[0], h->shape[1], &count) < 0 ||
	    size_mul(count, h->itemsize, &h->data_bytes) < 0 ||
	    h->data_bytes > SIZE_MAX - h->data_offset)
		return nn_err_set(err, "%s: npy shape (%zu, %zu) is too large", name, h->shape[0],
		                  h->shape[1]);
	return 0;
}

const char *npy_dtype_str(const struct npy_header *h, char buf[8])
{
	if (h->kind == NPY_BFLOAT) {
		snprintf(buf, 8, "bf16");
		return buf;
	}
	char k = h->kind == NPY_FLOAT  ? 'f'
	         : h->kind == NPY_INT  ? 'i'
	         : h->kind == NPY_UINT ? 'u'
	                               : 'b';
	snprintf(buf, 8, "%c%u", k, h->itemsize);
	return buf;
}
