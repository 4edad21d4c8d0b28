/*
 * test_npy_scan.c — npy_count_nonfinite counts exactly the NaN and infinite values, in every
 * float dtype, both byte orders, C and Fortran order, one file or shards, on one chunk or many
 * (several threads); bfloat16 through a safetensors file. The oracle is the C library's isnan/isinf
 * on the values as the row reader (npy_row_f64, a separate code path that widens half floats) gives
 * them; the elements are random bit patterns, so every kind of NaN, infinity, subnormal and largest
 * finite value occurs.
 */
#include "testutil.h"

#include <math.h>

#include "nncmp/npy.h"
#include "nncmp/rng.h"

static void write_file(const char *dir, const char *rel, const char *descr, bool fortran,
                       size_t rows, size_t cols, const uint8_t *data, size_t len)
{
	char dict[256], *buf = malloc(256 + len);
	int n = snprintf(dict, sizeof dict,
	                 "{'descr': '%s', 'fortran_order': %s, 'shape': (%zu, %zu), }", descr,
	                 fortran ? "True" : "False", rows, cols);
	size_t total = 10 + (size_t)n + 1, pad = (64 - total % 64) % 64, hlen = (size_t)n + pad + 1;
	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	buf[8] = (char)(hlen & 0xff);
	buf[9] = (char)(hlen >> 8);
	memcpy(buf + 10, dict, (size_t)n);
	memset(buf + 10 + n, ' ', pad);
	buf[10 + n + pad] = '\n';
	memcpy(buf + 10 + hlen, data, len);
	tu_write(dir, rel, buf, 10 + hlen + len);
	free(buf);
}

/* Random elements of `size` bytes, written in the order of descr's '<' or '>'. */
static uint8_t *random_elements(struct rng *r, size_t n, size_t size, bool big)
{
	uint8_t *p = malloc(n * size);
	for (size_t i = 0; i < n; i++) {
		uint64_t v = rng_next(r);
		if (i % 7 == 0) /* make specials common: all exponent bits set */
			v |= size == 2 ? 0x7c00u : size == 4 ? 0x7f800000u : 0x7ff0000000000000u;
		if (i % 21 == 0) /* and some with a zero mantissa: infinities */
			v &= size == 2 ? 0xfc00u : size == 4 ? 0xff800000u : 0xfff0000000000000u;
		for (size_t b = 0; b < size; b++)
			p[i * size + (big ? size - 1 - b : b)] = (uint8_t)(v >> (8 * b));
	}
	return p;
}

static void oracle(const struct npy *a, size_t *nan, size_t *inf)
{
	double *row = malloc(a->cols * sizeof *row);
	*nan = *inf = 0;
	for (size_t i = 0; i < a->rows; i++) {
		npy_row_f64(a, i, row);
		for (size_t j = 0; j < a->cols; j++) {
			*nan += isnan(row[j]) != 0;
			*inf += isinf(row[j]) != 0;
		}
	}
	free(row);
}

static void check_case(const char *descr, bool fortran, size_t rows, size_t cols)
{
	struct rng r;
	rng_seed(&r, rows * 31 + cols);
	const char *dir = tu_mkdtemp();
	size_t size = (size_t)(descr[2] - '0');
	uint8_t *data = random_elements(&r, rows * cols, size, descr[0] == '>');
	write_file(dir, "m.npy", descr, fortran, rows, cols, data, rows * cols * size);
	free(data);
	char path[512];
	snprintf(path, sizeof path, "%s/m.npy", dir);
	struct npy a;
	struct nn_err err = {0};
	assert_int_equal(npy_open(&a, path, &err), 0);
	size_t nan, inf, want_nan, want_inf;
	assert_int_equal(npy_count_nonfinite(&a, &nan, &inf, &err), 0);
	oracle(&a, &want_nan, &want_inf);
	if (nan != want_nan || inf != want_inf)
		fail_msg("%s fortran=%d %zux%zu: %zu NaN %zu inf, want %zu %zu", descr, fortran,
		         rows, cols, nan, inf, want_nan, want_inf);
	assert_true(want_nan > 0 && want_inf > 0); /* the case tests something */
	npy_close(&a);
	tu_rm_rf(dir);
}

static void test_dtypes_and_orders(void **state)
{
	(void)state;
	static const char *const descr[] = {"<f2", ">f2", "<f4", ">f4", "<f8", ">f8"};
	for (size_t d = 0; d < 6; d++)
		for (int f = 0; f < 2; f++)
			check_case(descr[d], f, 301, 37);
}

static void test_many_chunks(void **state)
{
	(void)state;
	check_case("<f4", false, 3001, 1000); /* 3M elements: several chunks, several threads */
	check_case(">f8", true, 1500, 1001);
}

static void expect_oracle(const struct npy *a)
{
	size_t nan, inf, wn, wi;
	struct nn_err err = {0};
	assert_int_equal(npy_count_nonfinite(a, &nan, &inf, &err), 0);
	oracle(a, &wn, &wi);
	assert_int_equal(nan, wn);
	assert_int_equal(inf, wi);
	assert_true(wn > 0 && wi > 0);
}

static void test_shards_bf16_and_integers(void **state)
{
	(void)state;
	struct rng r;
	rng_seed(&r, 5);
	const char *dir = tu_mkdtemp();
	uint8_t *d0 = random_elements(&r, 100 * 9, 4, false),
	        *d1 = random_elements(&r, 50 * 9, 4, false);
	write_file(dir, "a.npy", "<f4", false, 100, 9, d0, 100 * 9 * 4);
	write_file(dir, "b.npy", "<f4", false, 50, 9, d1, 50 * 9 * 4);
	free(d0);
	free(d1);
	char p0[512], p1[512];
	snprintf(p0, sizeof p0, "%s/a.npy", dir);
	snprintf(p1, sizeof p1, "%s/b.npy", dir);
	const char *specs[] = {p0, p1};
	struct npy a;
	struct nn_err err = {0};
	assert_int_equal(npy_open_shards(&a, specs, 2, "a.npy, b.npy", &err), 0);
	assert_int_equal(a.rows, 150);
	expect_oracle(&a);
	npy_close(&a);

	/* bfloat16 comes from safetensors: the 8-byte header length, the JSON header, the data */
	uint8_t *bf = random_elements(&r, 64 * 8, 2, false);
	for (size_t i = 0; i < 64 * 8; i += 7) /* bfloat16's exponent is float32's: 0x7f80 */
		bf[2 * i + 1] = (uint8_t)(bf[2 * i + 1] | 0x7f), bf[2 * i] |= 0x80;
	for (size_t i = 0; i < 64 * 8; i += 21)
		bf[2 * i] = 0x80, bf[2 * i + 1] = 0x7f; /* +inf */
	char head[128];
	int hl = snprintf(head, sizeof head,
	                  "{\"t\":{\"dtype\":\"BF16\",\"shape\":[64,8],\"data_offsets\":[0,%d]}}",
	                  64 * 8 * 2);
	size_t flen = 8 + (size_t)hl + 64 * 8 * 2;
	uint8_t *file = calloc(1, flen);
	for (int b = 0; b < 8; b++)
		file[b] = (uint8_t)((uint64_t)hl >> (8 * b));
	memcpy(file + 8, head, (size_t)hl);
	memcpy(file + 8 + hl, bf, 64 * 8 * 2);
	tu_write(dir, "w.safetensors", file, flen);
	free(file);
	free(bf);
	char ps[512];
	snprintf(ps, sizeof ps, "%s/w.safetensors", dir);
	if (npy_open_any(&a, ps, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(a.h.kind, NPY_BFLOAT);
	expect_oracle(&a);
	npy_close(&a);

	/* integers have no NaN, whatever their bits */
	int64_t ints[12];
	for (size_t i = 0; i < 12; i++)
		ints[i] = -1;
	tu_write_i64(dir, "i.npy", ints, 12);
	char pi[512];
	snprintf(pi, sizeof pi, "%s/i.npy", dir);
	assert_int_equal(npy_open(&a, pi, &err), 0);
	size_t nan, inf;
	assert_int_equal(npy_count_nonfinite(&a, &nan, &inf, &err), 0);
	assert_int_equal(nan + inf, 0);
	npy_close(&a);
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dtypes_and_orders),
	    cmocka_unit_test(test_many_chunks),
	    cmocka_unit_test(test_shards_bf16_and_integers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
