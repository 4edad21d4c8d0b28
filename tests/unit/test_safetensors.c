/*
 * test_safetensors.c — safetensors tensors against the values tools/make_safetensors_fixtures.py
 * wrote (tests/data/safetensors), hostile headers, sharded matrices, and a study that reads from
 * both.
 */
#include "testutil.h"

#include <jansson.h>
#include <math.h>

#include "nncmp/filter.h"
#include "nncmp/manifest.h"
#include "nncmp/npy.h"
#include "nncmp/safetensors.h"
#include "nncmp/study.h"
#include "nncmp/weights.h"

#define FIXTURES "tests/data/safetensors"

/* A JSON number, or "inf" / "-inf". */
static double json_value(const json_t *v)
{
	if (json_is_string(v))
		return json_string_value(v)[0] == '-' ? -INFINITY : INFINITY;
	return json_number_value(v);
}

/* Checks every element of a against rows (a JSON array of arrays) through all three readers. */
static void expect_rows(const struct npy *a, const json_t *rows, const char *what)
{
	assert_int_equal(a->rows, json_array_size(rows));
	size_t cols = a->cols;
	double *row = calloc(cols + 1, sizeof *row);
	float *all = calloc(a->rows * cols + 1, sizeof *all);
	npy_rows_f32(a, 0, a->rows, all);
	for (size_t i = 0; i < a->rows; i++) {
		const json_t *r = json_array_get(rows, i);
		assert_int_equal(cols, json_array_size(r));
		npy_row_f64(a, i, row);
		for (size_t j = 0; j < cols; j++) {
			double want = json_value(json_array_get(r, j));
			double got = npy_at(a, i, j);
			if (!(got == want) || !(row[j] == want) ||
			    !(all[i * cols + j] == (float)want))
				fail_msg("%s[%zu,%zu]: got %.17g / %.17g / %.9g, want %.17g", what,
				         i, j, got, row[j], (double)all[i * cols + j], want);
		}
	}
	free(row);
	free(all);
}

/* Every tensor the script wrote reads back as the values it wrote, shape and dtype included. */
static void test_fixtures(void **state)
{
	(void)state;
	json_error_t je;
	json_t *expected = json_load_file(FIXTURES "/expected.json", 0, &je);
	assert_non_null(expected);
	const char *file, *name;
	json_t *tensors, *t;
	int count = 0;
	json_object_foreach(expected, file, tensors)
	{
		if (strcmp(file, "study") == 0)
			continue;
		json_object_foreach(tensors, name, t)
		{
			char spec[512];
			snprintf(spec, sizeof spec, FIXTURES "/%s:%s", file, name);
			struct npy a;
			struct nn_err err = {{0}};
			if (npy_open_any(&a, spec, &err) != 0)
				fail_msg("%s: %s", spec, err.msg);
			assert_string_equal(a.path, spec);
			assert_true(npy_contiguous(&a));
			const json_t *shape = json_object_get(t, "shape");
			assert_int_equal(a.h.ndim, json_array_size(shape));
			for (int k = 0; k < a.h.ndim; k++)
				assert_int_equal(a.h.dims[k], json_integer_value(json_array_get(
				                                  shape, (size_t)k)));
			const char *dt = json_string_value(json_object_get(t, "dtype"));
			char buf[8];
			npy_dtype_str(&a.h, buf);
			static const char *const pairs[][2] = {
			    {"F16", "f2"}, {"BF16", "bf16"}, {"F32", "f4"}, {"F64", "f8"},
			    {"I8", "i1"},  {"I16", "i2"},    {"I32", "i4"}, {"I64", "i8"},
			    {"U8", "u1"},  {"U16", "u2"},    {"U32", "u4"}, {"U64", "u8"},
			    {"BOOL", "b1"}};
			bool found = false;
			for (size_t k = 0; k < sizeof pairs / sizeof *pairs; k++)
				if (strcmp(dt, pairs[k][0]) == 0) {
					assert_string_equal(buf, pairs[k][1]);
					found = true;
				}
			assert_true(found);
			expect_rows(&a, json_object_get(t, "rows"), spec);
			npy_close(&a);
			count++;
		}
	}
	assert_true(count >= 24);
	json_decref(expected);
}

/* A 3-D tensor is shape[0] rows by the product of the rest; a scalar is 1 × 1, a vector n × 1. */
static void test_shapes(void **state)
{
	(void)state;
	struct npy a;
	struct nn_err err = {{0}};
	assert_int_equal(npy_open_any(&a, FIXTURES "/dtypes.safetensors:conv", &err), 0);
	assert_int_equal(a.h.ndim, 3);
	assert_int_equal(a.rows, 2);
	assert_int_equal(a.cols, 12);
	assert_int_equal(a.h.shape[1], 12);
	assert_int_equal(a.h.data_bytes, 24 * 4);
	assert_true(npy_at(&a, 1, 11) == 23.0 / 8 - 1);
	/* h.data_offset is the tensor's place in the file */
	assert_ptr_equal(a.data, (const uint8_t *)a.map + a.h.data_offset);
	npy_close(&a);
	assert_int_equal(npy_open_any(&a, FIXTURES "/dtypes.safetensors:scalar", &err), 0);
	assert_int_equal(a.h.ndim, 0);
	assert_int_equal(a.rows, 1);
	assert_int_equal(a.cols, 1);
	assert_true(npy_at(&a, 0, 0) == 2.75);
	npy_close(&a);
	assert_int_equal(npy_open_any(&a, FIXTURES "/dtypes.safetensors:empty", &err), 0);
	assert_int_equal(a.rows, 0);
	assert_int_equal(a.cols, 4);
	npy_close(&a);
	/* data at an odd offset reads the same */
	assert_int_equal(npy_open_any(&a, FIXTURES "/unaligned.safetensors:x", &err), 0);
	assert_int_equal((uintptr_t)a.data % 2, 1);
	npy_close(&a);
}

static void expect_open_error(const char *spec, const char *needle)
{
	struct npy a;
	struct nn_err err = {{0}};
	if (npy_open_any(&a, spec, &err) != -1)
		fail_msg("accepted: %s", spec);
	if (!strstr(err.msg, needle))
		fail_msg("%s: '%s' lacks '%s'", spec, err.msg, needle);
}

/* A bare path opens a file of one tensor; otherwise the message lists the tensors. */
static void test_names(void **state)
{
	(void)state;
	struct npy a;
	struct nn_err err = {{0}};
	assert_int_equal(npy_open_any(&a, FIXTURES "/single.safetensors", &err), 0);
	assert_string_equal(a.path, FIXTURES "/single.safetensors");
	assert_int_equal(a.rows, 3);
	assert_int_equal(a.cols, 4);
	npy_close(&a);
	expect_open_error(FIXTURES "/two.safetensors",
	                  FIXTURES "/two.safetensors: holds 2 tensors; name one as " FIXTURES
	                           "/two.safetensors:NAME (tensors: a, b)");
	expect_open_error(FIXTURES "/two.safetensors:c",
	                  FIXTURES "/two.safetensors: no tensor 'c' (tensors: a, b)");
	/* __metadata__ is not a tensor */
	expect_open_error(FIXTURES "/two.safetensors:__metadata__", "no tensor '__metadata__'");
	/* a long list is cut after 8 names, sorted */
	expect_open_error(FIXTURES "/dtypes.safetensors:nope",
	                  "no tensor 'nope' (tensors: BF16, BOOL, F16, F32, F64, I16, I32, I64, "
	                  "... 21 in all)");
	expect_open_error(FIXTURES "/dtypes.safetensors:fp8", "unsupported dtype 'F8_E4M3'");
	expect_open_error(FIXTURES "/two.safetensors:", "no tensor name after ':'");
	expect_open_error(FIXTURES "/nothere.safetensors:x",
	                  FIXTURES "/nothere.safetensors: No such file or directory");
	expect_open_error(FIXTURES "/nothere.safetensors", "No such file or directory");
	expect_open_error(FIXTURES, "is a directory, expected an npy file");
	/* an npy path is still an npy path */
	assert_int_equal(npy_open_any(&a, "tests/data/npy/f4_le_C.npy", &err), 0);
	assert_int_equal(a.cols, 4);
	npy_close(&a);
}

/* A safetensors file from a JSON header text and a data buffer, in memory. */
static size_t st_bytes(uint8_t *out, const char *json, const void *data, size_t data_len)
{
	size_t n = strlen(json);
	for (int k = 0; k < 8; k++)
		out[k] = (uint8_t)((uint64_t)n >> (8 * k));
	memcpy(out + 8, json, n);
	if (data_len)
		memcpy(out + 8 + n, data, data_len);
	return 8 + n + data_len;
}

/* Parses json with data_len bytes of buffer after it and expects a message holding needle. */
static void expect_header_error(const char *json, size_t data_len, const char *tensor,
                                const char *needle)
{
	uint8_t buf[4096];
	static const uint8_t zeros[256];
	assert_true(strlen(json) + 8 + data_len <= sizeof buf && data_len <= sizeof zeros);
	size_t len = st_bytes(buf, json, zeros, data_len);
	struct npy_header h;
	struct nn_err err = {{0}};
	if (safetensors_parse(buf, len, "x.safetensors", tensor, &h, &err) != -1)
		fail_msg("accepted: %s", json);
	if (!strstr(err.msg, needle))
		fail_msg("for %s: message '%s' lacks '%s'", json, err.msg, needle);
	if (strncmp(err.msg, "x.safetensors: ", 15) != 0)
		fail_msg("'%s' does not name the file first", err.msg);
	assert_null(strchr(err.msg, '\n'));
}

static void test_hostile_headers(void **state)
{
	(void)state;
	/* the length word */
	struct npy_header h;
	struct nn_err err = {{0}};
	uint8_t buf[64] = {0};
	assert_int_equal(safetensors_parse(buf, 5, "x.safetensors", NULL, &h, &err), -1);
	assert_non_null(strstr(err.msg, "5 bytes, too short for a safetensors file"));
	buf[0] = 40; /* 40 bytes of header promised, 8 present */
	assert_int_equal(safetensors_parse(buf, 16, "x.safetensors", NULL, &h, &err), -1);
	assert_non_null(strstr(err.msg, "header length 40 is beyond the end of the file (8 bytes"));
	memset(buf, 0xff, 8); /* 2^64 - 1 */
	assert_int_equal(safetensors_parse(buf, 64, "x.safetensors", NULL, &h, &err), -1);
	assert_non_null(strstr(err.msg, "header length 18446744073709551615 is implausibly large"));
	memset(buf, 0, 8);
	buf[0] = 0x01, buf[1] = 0xe1, buf[2] = 0xf5, buf[3] = 0x05; /* 100000001 */
	assert_int_equal(safetensors_parse(buf, 64, "x.safetensors", NULL, &h, &err), -1);
	assert_non_null(strstr(err.msg, "100000001 is implausibly large"));

	/* the JSON */
	expect_header_error("", 0, NULL, "header is not valid JSON");
	expect_header_error("{\"a\": ", 0, NULL, "header is not valid JSON");
	expect_header_error("not json at all", 0, NULL, "header is not valid JSON");
	expect_header_error("[1, 2]", 0, NULL, "header is not a JSON object");
	expect_header_error("\"t\"", 0, "t", "header is not valid JSON");
	expect_header_error(
	    "{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
	    " \"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}",
	    4, "t", "not valid JSON: duplicate object key");
	expect_header_error("{}", 0, NULL, "holds no tensors");
	expect_header_error("{\"__metadata__\": {\"a\": \"b\"}}", 0, NULL, "holds no tensors");
	expect_header_error("{}", 0, "t", "no tensor 't' (tensors: none)");

	/* the entry */
	expect_header_error("{\"t\": 3}", 0, "t", "tensor 't' is not a JSON object");
	expect_header_error("{\"t\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "t",
	                    "tensor 't' has no \"dtype\" string");
	expect_header_error("{\"t\": {\"dtype\": 4, \"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
	                    "t", "no \"dtype\" string");
	expect_header_error("{\"t\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4, "t",
	                    "tensor 't' has no \"shape\" array");
	expect_header_error("{\"t\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4, "t",
	                    "tensor 't': \"data_offsets\" is not [begin, end]");
	expect_header_error(
	    "{\"t\": {\"dtype\": \"F8_E4M3\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 4, "t",
	    "tensor 't': unsupported dtype 'F8_E4M3'");
	expect_header_error(
	    "{\"t\": {\"dtype\": \"f32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "t",
	    "unsupported dtype 'f32'");

	/* the shape */
	expect_header_error(
	    "{\"t\": {\"dtype\": \"F32\", \"shape\": [-1, 2], \"data_offsets\": [0, "
	    "0]}}",
	    0, "t", "shape[0] is not a whole number >= 0");
	expect_header_error(
	    "{\"t\": {\"dtype\": \"F32\", \"shape\": [2, 2.5], \"data_offsets\": [0, "
	    "20]}}",
	    20, "t", "shape[1] is not a whole number >= 0");
	expect_header_error(
	    "{\"t\": {\"dtype\": \"F32\", \"shape\": [\"2\"], \"data_offsets\": [0, "
	    "8]}}",
	    8, "t", "shape[0] is not a whole number");
	expect_header_error("{\"t\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1], "
	                    "\"data_offsets\": [0, 4]}}",
	                    4, "t", "tensor 't' has 9 dimensions (at most 8)");
	expect_header_error("{\"t\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, "
	                    "4294967296], \"data_offsets\": [0, 4]}}",
	                    4, "t", "shape is too large");
	/* no overflow in the element count (0), but in the columns */
	expect_header_error("{\"t\": {\"dtype\": \"F32\", \"shape\": [0, 4294967296, 4294967296, "
	                    "4294967296], \"data_offsets\": [0, 0]}}",
	                    0, "t", "shape is too large");
	/* elements fit, bytes do not */
	expect_header_error("{\"t\": {\"dtype\": \"F64\", \"shape\": [4611686018427387904], "
	                    "\"data_offsets\": [0, 8]}}",
	                    8, "t", "shape is too large");
	expect_header_error("{\"t\": {\"dtype\": \"F32\", \"shape\": [99999999999999999999999], "
	                    "\"data_offsets\": [0, 4]}}",
	                    4, "t", "not valid JSON");

	/* the offsets */
	expect_header_error(
	    "{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 4]}}", 8, "t",
	    "tensor 't': data_offsets [8, 4] run backwards");
	expect_header_error("{\"t\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, "
	                    "12]}}",
	                    16, "t",
	                    "data_offsets [0, 12] span 12 bytes, but its shape of F32 needs 16");
	expect_header_error("{\"t\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, "
	                    "16]}}",
	                    8, "t", "data_offsets end 16 is beyond the data (8 bytes)");
	expect_header_error(
	    "{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 4, "t",
	    "end 8 is beyond the data (4 bytes)");
	expect_header_error("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, "
	                    "8]}}",
	                    8, "t", "\"data_offsets\" is not [begin, end]");
	expect_header_error("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, "
	                    "0]}}",
	                    8, "t", "\"data_offsets\" is not [begin, end]");
	expect_header_error("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": {}}}",
	                    8, "t", "\"data_offsets\" is not [begin, end]");
	expect_header_error("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": "
	                    "[18446744073709551612, 18446744073709551616]}}",
	                    8, "t", "not valid JSON");
}

/* Names from the file reach messages clipped and without control characters. */
static void test_message_hygiene(void **state)
{
	(void)state;
	expect_header_error("{\"a\\u001b[31m\": 1}", 0, NULL,
	                    "tensor 'a?[31m' is not a JSON object");
	expect_header_error("{\"t\": {\"dtype\": \"\\u001b]0;x\\u0007\", \"shape\": [], "
	                    "\"data_offsets\": [0, 4]}}",
	                    4, "t", "unsupported dtype '?]0;x?'");
	char json[512], want[128];
	char name[201];
	memset(name, 'n', 200);
	name[200] = '\0';
	snprintf(json, sizeof json, "{\"%s\": 1, \"b\": 2}", name);
	snprintf(want, sizeof want, "(tensors: b, %.60s...)", name);
	expect_header_error(json, 0, "zz", want);
	/* a valid scalar, and a requested name with an escape in it */
	expect_header_error(
	    "{\"t\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]}}", 4, "\x1b[2J",
	    "no tensor '?[2J'");
}

/* The parser fills the header as npy_parse_header would, data_offset counted in the file. */
static void test_parse_fields(void **state)
{
	(void)state;
	uint8_t buf[512];
	static const uint8_t data[24] = {0};
	const char *json =
	    "{\"__metadata__\": {\"k\": \"v\"}, \"w\": {\"dtype\": \"BF16\", \"shape\": "
	    "[2, 3], \"data_offsets\": [4, 16]}, \"u\": {\"dtype\": \"U16\", \"shape\": "
	    "[2], \"data_offsets\": [0, 4]}}";
	size_t len = st_bytes(buf, json, data, 16);
	struct npy_header h;
	struct nn_err err = {{0}};
	assert_int_equal(safetensors_parse(buf, len, "f", "w", &h, &err), 0);
	assert_int_equal(h.kind, NPY_BFLOAT);
	assert_int_equal(h.itemsize, 2);
	assert_false(h.fortran);
	assert_int_equal(h.ndim, 2);
	assert_int_equal(h.shape[0], 2);
	assert_int_equal(h.shape[1], 3);
	assert_int_equal(h.data_bytes, 12);
	assert_int_equal(h.data_offset, 8 + strlen(json) + 4);
	assert_int_equal(safetensors_parse(buf, len, "f", "u", &h, &err), 0);
	assert_int_equal(h.kind, NPY_UINT);
	assert_int_equal(h.data_offset, 8 + strlen(json));
	/* trailing bytes that no tensor claims are allowed */
	assert_int_equal(safetensors_parse(buf, len + 8, "f", "u", &h, &err), 0);
}

/* Files that are not safetensors files at all. */
static void test_file_errors(void **state)
{
	(void)state;
	const char *dir = tu_mkdtemp();
	char spec[512];
	tu_write(dir, "empty.safetensors", "", 0);
	snprintf(spec, sizeof spec, "%s/empty.safetensors:x", dir);
	expect_open_error(spec, "empty.safetensors: empty file, expected a safetensors file");
	snprintf(spec, sizeof spec, "%s/d.safetensors", dir);
	mkdir(spec, 0755);
	expect_open_error(spec, "d.safetensors: is a directory, expected a safetensors file");
	uint8_t buf[256];
	size_t len = st_bytes(
	    buf, "{\"t\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}",
	    "0123456789abcdef", 16);
	tu_write(dir, "cut.safetensors", buf, len - 1); /* one byte short */
	snprintf(spec, sizeof spec, "%s/cut.safetensors:t", dir);
	expect_open_error(spec,
	                  "cut.safetensors: tensor 't': data_offsets end 16 is beyond the data "
	                  "(15 bytes)");
	tu_write(dir, "ok.safetensors", buf, len);
	snprintf(spec, sizeof spec, "%s/ok.safetensors:t", dir);
	struct npy a;
	struct nn_err err = {{0}};
	assert_int_equal(npy_open_any(&a, spec, &err), 0);
	assert_int_equal(a.rows, 4);
	npy_close(&a);
	tu_write(dir, "npy.safetensors", "\x93NUMPY\x01\x00", 8);
	snprintf(spec, sizeof spec, "%s/npy.safetensors", dir);
	expect_open_error(spec, "npy.safetensors: safetensors header length 379676406402707 is "
	                        "implausibly large");
	tu_rm_rf(dir);
}

/* Shards: rows concatenated, reads that cross a boundary split, element views through them. */
static void test_shards(void **state)
{
	(void)state;
	const char *dir = tu_mkdtemp();
	/* a 7 × 3 matrix: value 10·row + col, in shards of 2, 0, 1 and 4 rows */
	float v[21];
	for (int i = 0; i < 21; i++)
		v[i] = (float)(10 * (i / 3) + i % 3);
	tu_write_f32(dir, "s0.npy", v, 2, 3);
	tu_write_f32(dir, "s1.npy", v, 0, 3);
	tu_write_f32(dir, "s2.npy", v + 6, 1, 3);
	tu_write_f32(dir, "s3.npy", v + 9, 4, 3);
	char p[4][512];
	const char *specs[4];
	for (int k = 0; k < 4; k++) {
		snprintf(p[k], sizeof p[k], "%s/s%d.npy", dir, k);
		specs[k] = p[k];
	}
	struct npy a;
	struct nn_err err = {{0}};
	assert_int_equal(npy_open_shards(&a, specs, 4, "all", &err), 0);
	assert_string_equal(a.path, "all");
	assert_false(npy_contiguous(&a));
	assert_ptr_equal(a.data, NPY_SHARDED_DATA);
	assert_null(a.map);
	assert_int_equal(a.n_shards, 4);
	assert_int_equal(a.rows, 7);
	assert_int_equal(a.cols, 3);
	assert_int_equal(a.h.ndim, 2);
	assert_int_equal(a.h.dims[0], 7);
	assert_int_equal(a.h.shape[0], 7);
	assert_int_equal(a.h.data_bytes, 21 * 4);
	for (size_t i = 0; i < 7; i++)
		for (size_t j = 0; j < 3; j++)
			assert_true(npy_at(&a, i, j) == (double)(10 * i + j));
	/* every window of rows, crossing 0, 1 or 2 boundaries */
	float out[21];
	for (size_t r0 = 0; r0 <= 7; r0++)
		for (size_t nr = 0; r0 + nr <= 7; nr++) {
			memset(out, 0xff, sizeof out);
			npy_rows_f32(&a, r0, nr, out);
			for (size_t k = 0; k < nr * 3; k++)
				if (out[k] != (float)(10 * (r0 + k / 3) + k % 3))
					fail_msg("rows %zu+%zu [%zu] = %g", r0, nr, k,
					         (double)out[k]);
		}
	double row[3];
	npy_row_f64(&a, 2, row);
	assert_true(row[0] == 20 && row[2] == 22);
	/* a view that reshapes the whole into one row (as weights.c does for vectors) */
	struct npy view = a;
	view.rows = 1;
	view.cols = 21;
	double flat[21];
	npy_row_f64(&view, 0, flat);
	float flat32[21];
	npy_rows_f32(&view, 0, 1, flat32);
	for (int i = 0; i < 21; i++)
		assert_true(flat[i] == v[i] && flat32[i] == v[i] &&
		            npy_at(&view, 0, (size_t)i) == v[i]);
	npy_close(&a);

	/* one spec is that source itself */
	assert_int_equal(npy_open_shards(&a, specs, 1, "one", &err), 0);
	assert_true(npy_contiguous(&a));
	assert_int_equal(a.rows, 2);
	npy_close(&a);
	tu_rm_rf(dir);
}

/* Shards of other dtypes and layouts: float16 and Fortran order convert per shard. */
static void test_shard_layouts(void **state)
{
	(void)state;
	const char *specs[] = {"tests/data/npy/f2_le_C.npy", "tests/data/npy/f2_le_F.npy",
	                       "tests/data/npy/f2_le_C.npy"};
	struct npy a, one;
	struct nn_err err = {{0}};
	assert_int_equal(npy_open_shards(&a, specs, 3, "f2", &err), 0);
	assert_int_equal(npy_open(&one, specs[0], &err), 0);
	assert_int_equal(a.rows, 3 * one.rows);
	float out[36];
	npy_rows_f32(&a, 1, 7, out);
	for (size_t r = 0; r < 7; r++)
		for (size_t j = 0; j < 4; j++) {
			double want = npy_at(&one, (r + 1) % 3, j);
			assert_true(out[r * 4 + j] == (float)want);
			assert_true(npy_at(&a, r + 1, j) == want);
		}
	npy_close(&one);
	npy_close(&a);
}

/* The weights grid (which views a vector as one row) agrees on shards and on one whole file. */
static void test_shard_weights(void **state)
{
	(void)state;
	const char *dir = tu_mkdtemp();
	float v[21];
	for (int i = 0; i < 21; i++)
		v[i] = (float)((i * 7) % 11) - 5.5f;
	tu_write_f32(dir, "all.npy", v, 7, 3);
	tu_write_f32(dir, "m0.npy", v, 3, 3);
	tu_write_f32(dir, "m1.npy", v + 9, 4, 3);
	tu_write_f32(dir, "vall.npy", v, 21, 0);
	tu_write_f32(dir, "v0.npy", v, 5, 0);
	tu_write_f32(dir, "v1.npy", v + 5, 16, 0);
	static const char *const sets[2][3] = {{"all.npy", "m0.npy", "m1.npy"},
	                                       {"vall.npy", "v0.npy", "v1.npy"}};
	for (int k = 0; k < 2; k++) {
		char p[3][512];
		const char *parts[2] = {p[1], p[2]};
		for (int f = 0; f < 3; f++)
			snprintf(p[f], sizeof p[f], "%s/%s", dir, sets[k][f]);
		struct npy whole, sh;
		struct nn_err err = {{0}};
		assert_int_equal(npy_open(&whole, p[0], &err), 0);
		assert_int_equal(npy_open_shards(&sh, parts, 2, "w", &err), 0);
		struct weights_grid g1, g2;
		assert_int_equal(weights_grid(&whole, 5, 2, WSUM_MEAN, &g1, &err), 0);
		assert_int_equal(weights_grid(&sh, 5, 2, WSUM_MEAN, &g2, &err), 0);
		assert_int_equal(g1.rows, g2.rows);
		assert_int_equal(g1.cols, g2.cols);
		for (size_t c = 0; c < g1.grid_rows * g1.grid_cols; c++)
			assert_true(g1.cell[c] == g2.cell[c]);
		assert_true(g1.mean == g2.mean && g1.std == g2.std && g1.n == g2.n);
		struct wdiff_layer d;
		assert_int_equal(weights_diff_layer("w", &whole, &sh, 8, 3, &d, &err), 0);
		assert_int_equal(d.n, 21);
		assert_true(d.l2 == 0);
		weights_diff_layer_free(&d);
		weights_grid_free(&g1);
		weights_grid_free(&g2);
		npy_close(&whole);
		npy_close(&sh);
	}
	tu_rm_rf(dir);
}

static void expect_shard_error(const char *const *specs, size_t n, const char *needle)
{
	struct npy a;
	struct nn_err err = {{0}};
	if (npy_open_shards(&a, specs, n, "whole", &err) != -1)
		fail_msg("accepted shards starting %s", specs[0]);
	if (!strstr(err.msg, needle))
		fail_msg("'%s' lacks '%s'", err.msg, needle);
}

static void test_shard_errors(void **state)
{
	(void)state;
	const char *cols[] = {"tests/data/npy/f4_le_C.npy", "tests/data/npy/vector_i8.npy"};
	const char *f4 = "tests/data/npy/f4_le_C.npy";
	const char *dt[] = {f4, "tests/data/npy/f8_le_C.npy"};
	expect_shard_error(dt, 2,
	                   "tests/data/npy/f8_le_C.npy: dtype f8, but the first shard "
	                   "tests/data/npy/f4_le_C.npy has f4");
	const char *order[] = {f4, "tests/data/npy/f4_be_C.npy"};
	expect_shard_error(order, 2, "f4_be_C.npy: byte order differs from the first shard");
	const char *shape[] = {f4, FIXTURES "/dtypes.safetensors:conv"};
	expect_shard_error(shape, 2,
	                   "dtypes.safetensors:conv: shape (2, 3, 4), but the first shard "
	                   "tests/data/npy/f4_le_C.npy has (3, 4) (shards may differ only in the "
	                   "first dimension)");
	expect_shard_error(cols, 2, "vector_i8.npy: dtype i8");
	const char *vec[] = {"tests/data/npy/vector_i8.npy", "tests/data/npy/i8_le_C.npy"};
	expect_shard_error(vec, 2, "i8_le_C.npy: shape (3, 4), but the first shard");
	const char *scalar[] = {FIXTURES "/dtypes.safetensors:scalar", f4};
	expect_shard_error(scalar, 2, "dtypes.safetensors:scalar: a scalar cannot be a shard");
	const char *missing[] = {f4, f4, "tests/data/npy/nothere.npy"};
	expect_shard_error(missing, 3, "nothere.npy: No such file or directory");
	expect_shard_error(missing, 0, "whole: no files");
}

/* A study.ini that reads probabilities and a layer from safetensors and two layers in shards. */
static void test_study(void **state)
{
	(void)state;
	json_error_t je;
	json_t *expected = json_load_file(FIXTURES "/expected.json", 0, &je);
	assert_non_null(expected);
	json_t *ex = json_object_get(expected, "study");
	struct nn_err err = {{0}};
	struct study *s = study_open(FIXTURES "/study", &err);
	if (!s)
		fail_msg("%s", err.msg);
	assert_int_equal(s->n, 10);
	assert_int_equal(s->n_classes, 3);
	assert_int_equal(s->n_models, 2);
	const struct model *a = &s->models[0], *b = &s->models[1];
	assert_string_equal(a->src_path, FIXTURES "/study/out.safetensors:probs");
	assert_int_equal(a->probs.rows, 10);
	assert_int_equal(a->probs.cols, 3);
	expect_rows(&a->probs, json_object_get(ex, "probs"), "probs");
	expect_rows(&b->probs, json_object_get(ex, "logits"), "logits");
	/* the derived predictions are the argmax of what was read */
	const json_t *pr = json_object_get(ex, "probs");
	for (size_t i = 0; i < 10; i++) {
		const json_t *r = json_array_get(pr, i);
		int best = 0;
		for (int c = 1; c < 3; c++)
			if (json_real_value(json_array_get(r, (size_t)c)) >
			    json_real_value(json_array_get(r, (size_t)best)))
				best = c;
		assert_int_equal(model_pred(a, i), best);
	}
	assert_int_equal(a->n_layers, 3);
	static const char *const names[] = {"fc1", "fc2", "fc3"};
	static const size_t cols[] = {4, 6, 4}, shards[] = {0, 3, 3};
	for (int l = 0; l < 3; l++) {
		int li = study_layer_index(a, names[l]);
		assert_true(li >= 0);
		const struct layer *ly = &a->layers[li];
		assert_int_equal(ly->act.rows, 10);
		assert_int_equal(ly->act.cols, cols[l]);
		assert_int_equal(ly->act.n_shards, shards[l]);
		expect_rows(&ly->act, json_object_get(ex, names[l]), names[l]);
	}
	const struct layer *fc2 = &a->layers[study_layer_index(a, "fc2")];
	assert_string_equal(fc2->act_path, FIXTURES "/study/fc2-000.npy .. " FIXTURES
	                                            "/study/fc2-002.npy (3 shards)");
	assert_int_equal(fc2->act.h.ndim, 3);
	assert_int_equal(fc2->act.h.dims[0], 10);
	/* values on both sides of the shard boundaries (rows 3|4 and 6|7) */
	const json_t *e2 = json_object_get(ex, "fc2");
	static const size_t edge[] = {3, 4, 6, 7};
	for (int k = 0; k < 4; k++)
		for (size_t j = 0; j < 6; j++)
			assert_true(
			    npy_at(&fc2->act, edge[k], j) ==
			    json_real_value(json_array_get(json_array_get(e2, edge[k]), j)));
	float block[6 * 6];
	npy_rows_f32(&fc2->act, 2, 6, block); /* rows 2..7 cross both boundaries */
	for (size_t r = 0; r < 6; r++)
		for (size_t j = 0; j < 6; j++)
			assert_true(block[r * 6 + j] == (float)json_real_value(json_array_get(
			                                    json_array_get(e2, r + 2), j)));
	/* a filter on a sharded float32 layer: its in-place fast path once read through
	 * NPY_SHARDED_DATA and crashed; every column against npy_at */
	uint32_t idx[10];
	for (size_t j = 0; j < 6; j++) {
		char text[64];
		snprintf(text, sizeof text, "act(a.fc2.%zu) > 0", j);
		size_t col;
		struct expr *e = expr_compile(s, text, &err, &col);
		assert_non_null(e);
		size_t n = expr_select(e, s, idx), want = 0;
		for (size_t i = 0; i < 10; i++)
			want += npy_at(&fc2->act, i, j) > 0;
		assert_int_equal(n, want);
		expr_free(e);
	}
	study_free(s);
	json_decref(expected);
}

/* Writes a study with a 4-row f32 layer split how `act` says, and the bf16 probs in st.bin. */
static void write_study(const char *dir, const char *act)
{
	int64_t labels[4] = {0, 1, 1, 0};
	tu_write_i64(dir, "labels.npy", labels, 4);
	float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	tu_write_f32(dir, "x0.npy", x, 1, 3);
	tu_write_f32(dir, "x1.npy", x + 3, 3, 3);
	tu_write_f32(dir, "x2.npy", x, 3, 2);
	/* bf16 probabilities: 0x3f40 is 0.75, 0x3e80 is 0.25 */
	static const uint16_t p[8] = {0x3f40, 0x3e80, 0x3e80, 0x3f40,
	                              0x3e80, 0x3f40, 0x3f40, 0x3e80};
	uint8_t buf[256];
	size_t len =
	    st_bytes(buf,
	             "{\"p\": {\"dtype\": \"BF16\", \"shape\": [4, 2], \"data_offsets\": [0, "
	             "16]}, \"i\": {\"dtype\": \"I32\", \"shape\": [4], \"data_offsets\": "
	             "[16, 32]}}",
	             p, sizeof p);
	static const int32_t pred[4] = {0, 1, 0, 0};
	memcpy(buf + len, pred, sizeof pred);
	len += sizeof pred;
	tu_write(dir, "st.safetensors", buf, len);
	char ini[512];
	snprintf(ini, sizeof ini,
	         "[study]\nlabels = labels.npy\n[model a]\nprobs = st.safetensors:p\nact.x = %s\n"
	         "[model b]\npred = st.safetensors:i\n",
	         act);
	tu_write_str(dir, "study.ini", ini);
}

static struct study *open_written(const char *act, struct nn_err *err)
{
	const char *dir = tu_mkdtemp();
	write_study(dir, act);
	struct study *s = study_open(dir, err);
	tu_rm_rf(dir);
	return s;
}

static void test_study_sources(void **state)
{
	(void)state;
	struct nn_err err = {{0}};
	/* bf16 probabilities and integer predictions from one safetensors file */
	struct study *s = open_written("x0.npy, x1.npy", &err);
	if (!s)
		fail_msg("%s", err.msg);
	assert_int_equal(s->models[0].probs.h.kind, NPY_BFLOAT);
	assert_true(model_conf(&s->models[0], 0) == 0.75);
	assert_int_equal(model_pred(&s->models[0], 1), 1);
	assert_int_equal(model_pred(&s->models[1], 1), 1);
	assert_int_equal(model_pred(&s->models[1], 2), 0);
	assert_int_equal(s->models[0].layers[0].act.n_shards, 2);
	assert_true(npy_at(&s->models[0].layers[0].act, 3, 2) == 12);
	study_free(s);
	/* continuation lines, and a trailing comma alone */
	assert_non_null(s = open_written("x0.npy,\n  x1.npy", &err));
	assert_int_equal(s->models[0].layers[0].act.rows, 4);
	study_free(s);
	assert_non_null(s = open_written("x0.npy,\n  x1.npy,", &err));
	study_free(s);
	assert_non_null(s = open_written("x1.npy,\n  x0.npy ; a comment", &err));
	assert_true(npy_at(&s->models[0].layers[0].act, 3, 0) == 1);
	study_free(s);
	/* a list of one is that file */
	assert_null(s = open_written("x1.npy,", &err));
	assert_non_null(strstr(err.msg, "x1.npy: 3 rows, but"));
	/* refusals name the shard at fault, or the whole */
	assert_null(open_written("x0.npy, x2.npy", &err));
	assert_non_null(strstr(err.msg, "x2.npy: shape (3, 2), but the first shard"));
	assert_null(open_written("x0.npy, x0.npy", &err));
	assert_non_null(strstr(err.msg, "x0.npy .. "));
	assert_non_null(strstr(err.msg, "x0.npy (2 shards): 2 rows, but "));
	assert_null(open_written("x0.npy, , x1.npy", &err));
	assert_non_null(strstr(err.msg, "study.ini:5: 'act.x' lists an empty file name"));
	assert_null(open_written("x0.npy\n  x1.npy", &err));
	assert_non_null(strstr(err.msg, "'act.x' is given twice (to continue a list"));
	assert_null(open_written("st.safetensors", &err));
	assert_non_null(strstr(err.msg, "st.safetensors: holds 2 tensors"));
	assert_null(open_written("st.safetensors:q", &err));
	assert_non_null(strstr(err.msg, "st.safetensors: no tensor 'q' (tensors: i, p)"));
}

/* The manifest splits lists; a value naming an existing file is one file, commas and all. */
static void test_manifest_lists(void **state)
{
	(void)state;
	const char *dir = tu_mkdtemp();
	tu_write_str(dir, "a,b.npy", "x");
	struct manifest mf;
	struct nn_err err = {{0}};
	manifest_init(&mf);
	char text[512];
	snprintf(text, sizeof text,
	         "[study]\nlabels = l.npy\n[model m]\nlogits = p0.npy , p1.npy,p2.npy\n"
	         "act.f = a,b.npy\nweights.f = w.safetensors:fc.weight,\n\t/abs/w2.npy\n");
	assert_int_equal(manifest_parse(&mf, text, "t.ini", dir, &err), 0);
	const struct manifest_model *mm = &mf.models[0];
	assert_int_equal(mm->src, SRC_LOGITS);
	assert_int_equal(mm->src_shards.n, 3);
	char want[600];
	snprintf(want, sizeof want, "%s/p1.npy", dir);
	assert_string_equal(mm->src_shards.v[1], want);
	snprintf(want, sizeof want, "%s/p0.npy .. %s/p2.npy (3 shards)", dir, dir);
	assert_string_equal(mm->src_path, want);
	snprintf(want, sizeof want, "%s/a,b.npy", dir);
	assert_string_equal(mm->layers[0].act, want);
	assert_int_equal(mm->layers[0].act_shards.n, 0);
	assert_int_equal(mm->layers[0].weights_shards.n, 2);
	snprintf(want, sizeof want, "%s/w.safetensors:fc.weight", dir);
	assert_string_equal(mm->layers[0].weights_shards.v[0], want);
	assert_string_equal(mm->layers[0].weights_shards.v[1], "/abs/w2.npy");
	manifest_free(&mf);
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixtures),        cmocka_unit_test(test_shapes),
	    cmocka_unit_test(test_names),           cmocka_unit_test(test_hostile_headers),
	    cmocka_unit_test(test_message_hygiene), cmocka_unit_test(test_parse_fields),
	    cmocka_unit_test(test_file_errors),     cmocka_unit_test(test_shards),
	    cmocka_unit_test(test_shard_layouts),   cmocka_unit_test(test_shard_weights),
	    cmocka_unit_test(test_shard_errors),    cmocka_unit_test(test_study),
	    cmocka_unit_test(test_study_sources),   cmocka_unit_test(test_manifest_lists),
	};
	return cmocka_run_group_tests_name("safetensors", tests, NULL, NULL);
}
