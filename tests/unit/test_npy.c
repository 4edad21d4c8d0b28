/* test_npy.c — the npy reader against files NumPy wrote (tests/data/npy), and hostile headers. */
#include "testutil.h"

#include <jansson.h>
#include <math.h>

#include "nncmp/npy.h"

/* Every fixture NumPy wrote reads back as the values NumPy itself reads. */
static void test_numpy_fixtures(void **state)
{
	(void)state;
	json_error_t je;
	json_t *expected = json_load_file("tests/data/npy/expected.json", 0, &je);
	assert_non_null(expected);
	const char *name;
	json_t *rows;
	int files = 0;
	json_object_foreach(expected, name, rows)
	{
		char path[512];
		snprintf(path, sizeof path, "tests/data/npy/%s", name);
		struct npy a;
		struct nn_err err = {{0}};
		if (npy_open(&a, path, &err) != 0)
			fail_msg("%s: %s", name, err.msg);
		assert_int_equal(a.rows, json_array_size(rows));
		double row[16];
		for (size_t i = 0; i < a.rows; i++) {
			json_t *r = json_array_get(rows, i);
			assert_int_equal(a.cols, json_array_size(r));
			npy_row_f64(&a, i, row);
			for (size_t j = 0; j < a.cols; j++) {
				json_t *v = json_array_get(r, j);
				double want =
				    json_is_string(v)
				        ? (json_string_value(v)[0] == '-' ? -INFINITY : INFINITY)
				        : json_number_value(v);
				double got = npy_at(&a, i, j);
				if (!(got == want) || !(row[j] == want))
					fail_msg("%s[%zu,%zu]: got %.17g / %.17g, want %.17g", name,
					         i, j, got, row[j], want);
			}
		}
		npy_close(&a);
		files++;
	}
	assert_true(files >= 40);
	json_decref(expected);
}

/* The block reader agrees with the element reader on every fixture, for any row window. */
static void test_rows_f32(void **state)
{
	(void)state;
	json_error_t je;
	json_t *expected = json_load_file("tests/data/npy/expected.json", 0, &je);
	assert_non_null(expected);
	const char *name;
	json_t *rows;
	json_object_foreach(expected, name, rows)
	{
		char path[512];
		snprintf(path, sizeof path, "tests/data/npy/%s", name);
		struct npy a;
		struct nn_err err;
		assert_int_equal(npy_open(&a, path, &err), 0);
		float out[64];
		for (size_t r0 = 0; r0 < a.rows; r0++)
			for (size_t nr = 1; r0 + nr <= a.rows; nr++) {
				npy_rows_f32(&a, r0, nr, out);
				for (size_t r = 0; r < nr; r++)
					for (size_t j = 0; j < a.cols; j++)
						if (out[r * a.cols + j] !=
						    (float)npy_at(&a, r0 + r, j))
							fail_msg("%s rows %zu+%zu [%zu,%zu]", name,
							         r0, nr, r, j);
			}
		npy_close(&a);
	}
	json_decref(expected);
}

/* bfloat16 is the top half of a float32: 0x3fc0 is 1.5, 0xc020 is -2.5. */
static void test_bfloat16(void **state)
{
	(void)state;
	static const uint16_t bits[4] = {0x3fc0, 0xc020, 0x0000, 0x7f80};
	struct npy a = {0};
	a.h.kind = NPY_BFLOAT;
	a.h.itemsize = 2;
	a.h.ndim = 2;
	a.rows = 2;
	a.cols = 2;
	a.data = (const uint8_t *)bits;
	float out[4];
	npy_rows_f32(&a, 0, 2, out);
	assert_true(out[0] == 1.5f && out[1] == -2.5f && out[2] == 0.0f && isinf(out[3]));
	assert_true(npy_at(&a, 0, 1) == -2.5);
	char dt[8];
	assert_string_equal(npy_dtype_str(&a.h, dt), "bf16");
}

static void test_fixture_metadata(void **state)
{
	(void)state;
	struct npy a;
	struct nn_err err;
	assert_int_equal(npy_open(&a, "tests/data/npy/f8_be_F.npy", &err), 0);
	assert_true(a.h.fortran);
	assert_int_equal(a.h.itemsize, 8);
	assert_int_equal(a.rows, 3);
	assert_int_equal(a.cols, 4);
	npy_close(&a);
	assert_int_equal(npy_open(&a, "tests/data/npy/vector_i8.npy", &err), 0);
	assert_int_equal(a.h.ndim, 1);
	assert_int_equal(a.rows, 5);
	assert_int_equal(a.cols, 1);
	npy_close(&a);
}

/* Parses header text wrapped in a v1 preamble; returns the parser's result, message in err. */
static int parse_dict(const char *dict, struct npy_header *h, struct nn_err *err)
{
	char buf[1024];
	size_t n = strlen(dict);
	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	buf[8] = (char)(n & 0xff);
	buf[9] = (char)(n >> 8);
	memcpy(buf + 10, dict, n);
	return npy_parse_header((const uint8_t *)buf, 10 + n, "x.npy", h, err);
}

static void expect_header_error(const char *dict, const char *needle)
{
	struct npy_header h;
	struct nn_err err = {{0}};
	if (parse_dict(dict, &h, &err) != -1)
		fail_msg("accepted: %s", dict);
	if (!strstr(err.msg, needle))
		fail_msg("for %s: message '%s' lacks '%s'", dict, err.msg, needle);
	assert_non_null(strstr(err.msg, "x.npy"));
}

static void test_header_errors(void **state)
{
	(void)state;
	expect_header_error("{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }",
	                    "unsupported dtype '<c8'");
	expect_header_error("{'descr': '<f3', 'fortran_order': False, 'shape': (3,), }",
	                    "unsupported dtype");
	expect_header_error("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }",
	                    "structured");
	expect_header_error("{'descr': '<f4', 'fortran_order': True, 'shape': (3, 4, 5), }",
	                    "3-dimensional array in Fortran order");
	expect_header_error("{'descr': '<f4', 'fortran_order': False, "
	                    "'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1)}",
	                    "too many dimensions");
	expect_header_error("{'descr': '<f4', 'shape': (3,), }", "lacks 'fortran_order'");
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}",
	                    "unexpected or repeated key 'x'");
	expect_header_error("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
	                    "'shape': (3,)}",
	                    "repeated");
	expect_header_error("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (3,)}",
	                    "fortran_order");
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,)}", "shape");
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3,", "shape");
	expect_header_error("[1, 2]", "expected a dict");
	/* 2^62 × 2^62 elements overflow size_t */
	expect_header_error("{'descr': '<f4', 'fortran_order': False, "
	                    "'shape': (4611686018427387904, 4611686018427387904)}",
	                    "too large");
	expect_header_error("{'descr': '<f4', 'fortran_order': False, "
	                    "'shape': (99999999999999999999999,)}",
	                    "shape");
}

/* More than 2 dimensions: rows are the first, columns the product of the rest (C order). */
static void test_many_dims(void **state)
{
	(void)state;
	struct npy_header h;
	struct nn_err err = {{0}};
	assert_int_equal(
	    parse_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (16, 8, 3, 3), }", &h,
	               &err),
	    0);
	assert_int_equal(h.ndim, 4);
	assert_int_equal(h.shape[0], 16);
	assert_int_equal(h.shape[1], 72);
	assert_int_equal(h.dims[3], 3);
	assert_int_equal(h.data_bytes, 16 * 72 * 4);
}

static void test_preamble_errors(void **state)
{
	(void)state;
	struct npy_header h;
	struct nn_err err = {{0}};
	assert_int_equal(
	    npy_parse_header((const uint8_t *)"PK\x03\x04zzzzzzzz", 12, "x.npy", &h, &err), -1);
	assert_non_null(strstr(err.msg, "bad magic"));
	assert_int_equal(
	    npy_parse_header((const uint8_t *)"\x93NUMPY\x04\x00\x10\x00", 10, "x.npy", &h, &err),
	    -1);
	assert_non_null(strstr(err.msg, "version 4"));
	/* header length beyond the bytes present */
	assert_int_equal(
	    npy_parse_header((const uint8_t *)"\x93NUMPY\x01\x00\xff\x00{", 11, "x.npy", &h, &err),
	    -1);
	assert_non_null(strstr(err.msg, "truncated"));
	/* a version 2 header claiming 4 GiB */
	assert_int_equal(npy_parse_header((const uint8_t *)"\x93NUMPY\x02\x00\xff\xff\xff\xff", 12,
	                                  "x.npy", &h, &err),
	                 -1);
	assert_non_null(strstr(err.msg, "implausibly long"));
}

/* Files whose header lies about the data: too short, too long, claiming terabytes. */
static void test_lying_files(void **state)
{
	(void)state;
	const char *dir = tu_mkdtemp();
	float v[6] = {1, 2, 3, 4, 5, 6};
	tu_write_npy(dir, "short.npy", "<f4", "(2, 4)", v, sizeof v);
	tu_write_npy(dir, "long.npy", "<f4", "(1, 4)", v, sizeof v);
	tu_write_npy(dir, "huge.npy", "<f4", "(1000000000, 1000000)", v, sizeof v);
	tu_write_str(dir, "empty.npy", "");
	tu_write_str(dir, "text.npy", "hello, I am not an array\n");
	mkdir("/tmp/nncmp-dir.npy", 0755);
	static const struct {
		const char *file, *needle;
	} cases[] = {
	    {"short.npy", "header promises 32 data bytes"},
	    {"long.npy", "but the file holds 24"},
	    {"huge.npy", "header promises 4000000000000000 data bytes"},
	    {"empty.npy", "empty file"},
	    {"text.npy", "bad magic"},
	    {"missing.npy", "No such file"},
	};
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, cases[k].file);
		struct npy a;
		struct nn_err err = {{0}};
		assert_int_equal(npy_open(&a, path, &err), -1);
		if (!strstr(err.msg, cases[k].needle) || !strstr(err.msg, cases[k].file))
			fail_msg("%s: '%s' lacks '%s'", cases[k].file, err.msg, cases[k].needle);
	}
	struct npy a;
	struct nn_err err = {{0}};
	assert_int_equal(npy_open(&a, dir, &err), -1);
	assert_non_null(strstr(err.msg, "is a directory"));
	tu_rm_rf(dir);
	rmdir("/tmp/nncmp-dir.npy");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_numpy_fixtures),  cmocka_unit_test(test_rows_f32),
	    cmocka_unit_test(test_bfloat16),        cmocka_unit_test(test_fixture_metadata),
	    cmocka_unit_test(test_header_errors),   cmocka_unit_test(test_many_dims),
	    cmocka_unit_test(test_preamble_errors), cmocka_unit_test(test_lying_files),
	};
	return cmocka_run_group_tests_name("npy", tests, NULL, NULL);
}
