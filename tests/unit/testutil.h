/*
 * testutil.h — helpers for the unit tests: a scratch directory, writing files, and writing small
 * .npy files byte by byte (the header format as NumPy's format.py documents it), so that tests
 * can build studies without Python.
 */
#ifndef NNCMP_TESTUTIL_H
#define NNCMP_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tu_dir[256];

/* Makes a fresh scratch directory and returns its path. */
static inline const char *tu_mkdtemp(void)
{
	snprintf(tu_dir, sizeof tu_dir, "/tmp/nncmp-test-XXXXXX");
	assert_non_null(mkdtemp(tu_dir));
	return tu_dir;
}

static inline void tu_rm_rf(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Writes len bytes to dir/rel, creating parent directories. */
static inline void tu_write(const char *dir, const char *rel, const void *data, size_t len)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	for (char *p = path + strlen(dir) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static inline void tu_write_str(const char *dir, const char *rel, const char *text)
{
	tu_write(dir, rel, text, strlen(text));
}

/* Builds a version 1.0 npy header for descr and shape text such as "(3, 4)", padded to 64. */
static inline size_t tu_npy_header(char *out, const char *descr, const char *shape)
{
	char dict[256];
	int n = snprintf(dict, sizeof dict,
	                 "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
	size_t total = 10 + (size_t)n + 1;
	size_t pad = (64 - total % 64) % 64;
	size_t hlen = (size_t)n + pad + 1;
	memcpy(out, "\x93NUMPY\x01\x00", 8);
	out[8] = (char)(hlen & 0xff);
	out[9] = (char)(hlen >> 8);
	memcpy(out + 10, dict, (size_t)n);
	memset(out + 10 + n, ' ', pad);
	out[10 + n + pad] = '\n';
	return 10 + hlen;
}

/* Writes a little-endian npy of the given descr ("<f4", "<i8", ...) from raw element bytes. */
static inline void tu_write_npy(const char *dir, const char *rel, const char *descr,
                                const char *shape, const void *data, size_t data_len)
{
	char *buf = malloc(512 + data_len);
	size_t h = tu_npy_header(buf, descr, shape);
	memcpy(buf + h, data, data_len);
	tu_write(dir, rel, buf, h + data_len);
	free(buf);
}

static inline void tu_write_f32(const char *dir, const char *rel, const float *v, size_t rows,
                                size_t cols)
{
	char shape[64];
	if (cols == 0)
		snprintf(shape, sizeof shape, "(%zu,)", rows);
	else
		snprintf(shape, sizeof shape, "(%zu, %zu)", rows, cols);
	tu_write_npy(dir, rel, "<f4", shape, v, rows * (cols ? cols : 1) * sizeof(float));
}

static inline void tu_write_i64(const char *dir, const char *rel, const int64_t *v, size_t n)
{
	char shape[64];
	snprintf(shape, sizeof shape, "(%zu,)", n);
	tu_write_npy(dir, rel, "<i8", shape, v, n * sizeof(int64_t));
}

#endif
