/*
 * test_formats.c — the manifest's path expansion and long lines, the CSV matrix reader's header
 * decision and numbers, and reading a matrix through a reader (the path chunked HDF5 takes),
 * alone and as a shard. Oracles are written out by hand here; tests/formats/run.sh compares
 * whole studies written by NumPy and h5py.
 */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>

#include "nncmp/csvmat.h"
#include "nncmp/manifest.h"
#include "nncmp/npy.h"

static void test_expand(void **state)
{
	(void)state;
	setenv("NNCMP_T_DIR", "/data/x", 1);
	setenv("HOME", "/home/u", 1);
	struct manifest mf;
	struct nn_err err = {{0}};
	manifest_init(&mf);
	int rc = manifest_parse(&mf,
	                        "[study]\nlabels = ${NNCMP_T_DIR}/y0.npy, ~/y1.npy\n"
	                        "samples = ${NNCMP_T_DIR}${NNCMP_T_DIR}.jsonl\n"
	                        "classes = ~user/c.txt\n[model m]\nprobs = $HOME/p.npy\n",
	                        "t.ini", "/root", &err);
	if (rc)
		fail_msg("%s", err.msg);
	assert_int_equal(mf.labels_shards.n, 2);
	assert_string_equal(mf.labels_shards.v[0], "/data/x/y0.npy");
	assert_string_equal(mf.labels_shards.v[1], "/home/u/y1.npy");
	assert_string_equal(mf.samples, "/data/x/data/x.jsonl");
	assert_string_equal(mf.classes, "/root/~user/c.txt"); /* only ~ and ~/ expand */
	assert_string_equal(mf.models[0].src_path, "/root/$HOME/p.npy");
	manifest_free(&mf);

	static const char *const bad[][2] = {
	    {"[study]\nlabels = ${NNCMP_T_UNSET}/y.npy\n",
	     "t.ini:2: 'labels': environment variable ${NNCMP_T_UNSET} is not set"},
	    {"[study]\nlabels = y.npy\n[model m]\nprobs = a.npy, ${NNCMP_T_UNSET}\n",
	     "t.ini:4: 'probs': environment variable ${NNCMP_T_UNSET} is not set"},
	    {"[study]\nlabels = ${NNCMP_T_DIR\n", "t.ini:2: 'labels': '${' without a closing '}'"},
	    {"[study]\nlabels = ${}\n", "t.ini:2: 'labels': '${}' names no variable"},
	};
	unsetenv("NNCMP_T_UNSET");
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		manifest_init(&mf);
		assert_int_equal(manifest_parse(&mf, bad[k][0], "t.ini", "/root", &err), -1);
		assert_string_equal(err.msg, bad[k][1]);
		manifest_free(&mf);
	}
}

/* A line of 5000 characters: the value whole, its comment gone; continuation lines too. */
static void test_long_lines(void **state)
{
	(void)state;
	char *dir = malloc(5001);
	memset(dir, 'd', 5000);
	dir[0] = '/';
	dir[5000] = '\0';
	char *text = xasprintf("[study]\nlabels = %s/y.npy   ; a comment\n; %s\n[model m]\n"
	                       "probs = a.npy,\n    %s/b.npy ; more\n",
	                       dir, dir, dir);
	struct manifest mf;
	struct nn_err err = {{0}};
	manifest_init(&mf);
	int rc = manifest_parse(&mf, text, "t.ini", "/root", &err);
	if (rc)
		fail_msg("%s", err.msg);
	char *want = xasprintf("%s/y.npy", dir);
	assert_string_equal(mf.labels, want);
	assert_int_equal(mf.models[0].src_shards.n, 2);
	free(want);
	want = xasprintf("%s/b.npy", dir);
	assert_string_equal(mf.models[0].src_shards.v[1], want);
	free(want);
	manifest_free(&mf);
	free(text);
	/* a key that does not fit is still refused, naming the line */
	text = xasprintf("[study]\nlabels = y.npy\n[model m]\n%.250s = x\n", dir + 1);
	manifest_init(&mf);
	assert_int_equal(manifest_parse(&mf, text, "t.ini", "/root", &err), -1);
	assert_string_equal(err.msg, "t.ini:4: line longer than 199 characters");
	manifest_free(&mf);
	free(text);
	free(dir);
}

static void expect_rows(const struct npy *a, size_t rows, size_t cols, const float *want)
{
	assert_int_equal(a->rows, rows);
	assert_int_equal(a->cols, cols);
	float got[16];
	npy_rows_f32(a, 0, rows, got);
	for (size_t k = 0; k < rows * cols; k++)
		assert_true(got[k] == want[k]);
}

static void test_csv(void **state)
{
	(void)state;
	static const char *const digits[] = {"0", "1"};
	static const char *const words[] = {"cat", "dog"};
	static const float v[] = {0.25f, 0.75f, 1.0f, 0.0f};
	struct npy a;
	struct nn_err err = {{0}};
	/* a header of numbers is a header when it equals the class names... */
	const char *t = "0,1\n0.25,0.75\n1,0\n";
	assert_int_equal(csvmat_parse(&a, t, strlen(t), false, "p.csv", digits, 2, "c.txt", &err),
	                 0);
	expect_rows(&a, 2, 2, v);
	assert_int_equal(a.colnames.n, 2);
	npy_close(&a);
	/* ...and data otherwise */
	assert_int_equal(csvmat_parse(&a, t, strlen(t), false, "p.csv", NULL, 0, NULL, &err), 0);
	assert_int_equal(a.rows, 3);
	assert_int_equal(a.colnames.n, 0);
	npy_close(&a);
	/* TSV with spaces, CRLF, a quoted field, a BOM */
	t = "\xef\xbb\xbf"
	    "cat\tdog\r\n 0.25\t\"0.75\"\r\n1e0\t0\r\n";
	assert_int_equal(csvmat_parse(&a, t, strlen(t), true, "p.tsv", words, 2, "c.txt", &err), 0);
	expect_rows(&a, 2, 2, v);
	npy_close(&a);
	/* float32 rounding as strtof does it, not through double */
	t = "0.1,16777217\n";
	assert_int_equal(csvmat_parse(&a, t, strlen(t), false, "p.csv", NULL, 0, NULL, &err), 0);
	float got[2];
	npy_rows_f32(&a, 0, 1, got);
	assert_true(got[0] == strtof("0.1", NULL) && got[1] == 16777216.0f);
	npy_close(&a);

	static const char *const bad[][2] = {
	    {"cat,bird\n0,1\n", "p.csv: header column 2 is 'bird', but class 1 in c.txt is 'dog'"},
	    {"cat\n0\n", "p.csv: the header names 1 columns, but c.txt has 2 classes"},
	    {"0,1\n0,1,2\n", "p.csv: row 2 has 3 fields, expected 2 (as row 1)"},
	    {"0,1\nNaN,1\n", "p.csv: row 2, field 1: 'NaN' is not a finite number"},
	    {"0,1\n0x1p3,-inf\n", "p.csv: row 2, field 2: '-inf' is not a finite number"},
	    {"cat,dog\n", "p.csv: a header but no data rows"},
	    {"\n\n", "p.csv: no rows"},
	};
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		assert_int_equal(csvmat_parse(&a, bad[k][0], strlen(bad[k][0]), false, "p.csv",
		                              words, 2, "c.txt", &err),
		                 -1);
		assert_string_equal(err.msg, bad[k][1]);
	}
}

/* A reader over an int16 big-endian matrix in memory, failing on row 5. */
static const uint8_t be16[] = {0x00, 0x01, 0xff, 0xfe, 0x00, 0x03, 0x00, 0x04,
                               0x7f, 0xff, 0x80, 0x00, 0x00, 0x00, 0x00, 0x07,
                               0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00};
static int reads;
static int mem_read(void *ctx, size_t row0, size_t nrows, uint8_t *out)
{
	(void)ctx;
	reads++;
	if (row0 + nrows > 5)
		return -1;
	memcpy(out, be16 + row0 * 4, nrows * 4);
	return 0;
}
static int closed;
static void mem_close(void *ctx)
{
	(void)ctx;
	closed++;
}
static const struct npy_reader mem_reader = {mem_read, mem_close, NULL};

static void test_reader(void **state)
{
	(void)state;
	struct npy_header h = {.kind = NPY_INT, .itemsize = 2, .ndim = 2, .dims = {6, 2}};
	static const uint16_t one = 1;
	h.swap = *(const uint8_t *)&one != 0; /* the bytes are big-endian */
	h.shape[0] = 6, h.shape[1] = 2, h.data_bytes = 24;
	struct npy a;
	closed = 0;
	npy_open_reader(&a, &h, &mem_reader, NULL, "mem");
	assert_false(npy_contiguous(&a));
	assert_int_equal(a.storage, NPY_STORE_BLOCKS);
	assert_true(npy_at(&a, 0, 1) == -2 && npy_at(&a, 2, 0) == 32767 &&
	            npy_at(&a, 2, 1) == -32768);
	assert_true(npy_at(&a, 4, 0) == 256);
	float f[8];
	npy_rows_f32(&a, 1, 2, f);
	assert_true(f[0] == 3 && f[1] == 4 && f[2] == 32767 && f[3] == -32768);
	double d[2];
	npy_row_f64(&a, 3, d);
	assert_true(d[0] == 0 && d[1] == 7);
	assert_false(npy_read_failed(&a));
	assert_true(isnan(npy_at(&a, 5, 0))); /* row 5 fails: NaN, and the matrix says so */
	assert_true(npy_read_failed(&a));
	/* a damaged matrix is not read again: everything is NaN from now on */
	int before = reads;
	float g[2];
	npy_rows_f32(&a, 0, 1, g);
	assert_true(isnan(npy_at(&a, 0, 0)) && isnan(g[0]) && isnan(g[1]));
	assert_int_equal(reads, before);
	npy_close(&a);
	assert_int_equal(closed, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expand),
	    cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_csv),
	    cmocka_unit_test(test_reader),
	};
	return cmocka_run_group_tests_name("formats", tests, NULL, NULL);
}
