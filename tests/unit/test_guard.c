/*
 * test_guard.c — a check run in a forked child (guard.h): its result and message come back, a
 * crash or a hang becomes an error naming the signal or the time; and HDF5 files that crash
 * libhdf5 1.10 (tests/badinput/h5, found by fuzz_h5) are errors of h5_open() and h5_open_mem(),
 * and one on which it loops is an error after the child's time. A guarded server (guard_serve)
 * answers calls through its shared buffer, and its crash or hang in a call is an error of that
 * call and of every later one; a dataset read in blocks is read by its child only (libhdf5 has
 * no file open in this process).
 */
#include "testutil.h"

#include <hdf5.h>
#include <signal.h>
#include <string.h>

#include "nncmp/guard.h"
#include "nncmp/h5.h"

static int fn_ok(void *arg, struct nn_err *err)
{
	(void)err;
	return *(int *)arg == 7 ? 0 : -1;
}

static int fn_fail(void *arg, struct nn_err *err)
{
	(void)arg;
	return nn_err_set(err, "x.h5: the child says no");
}

static int fn_segv(void *arg, struct nn_err *err)
{
	(void)arg;
	(void)err;
	raise(SIGSEGV);
	return 0;
}

static int fn_hang(void *arg, struct nn_err *err)
{
	(void)arg;
	(void)err;
	for (;;)
		pause();
	return 0;
}

static void test_guard(void **state)
{
	(void)state;
	struct nn_err err = {{0}};
	int seven = 7, six = 6;
	assert_int_equal(guard_run(fn_ok, &seven, "x.h5", "libhdf5", 5, &err), 0);
	assert_int_equal(guard_run(fn_ok, &six, "x.h5", "libhdf5", 5, &err), -1);
	assert_string_equal(err.msg, "check failed");
	assert_int_equal(guard_run(fn_fail, NULL, "x.h5", "libhdf5", 5, &err), -1);
	assert_string_equal(err.msg, "x.h5: the child says no");
	assert_int_equal(guard_run(fn_segv, NULL, "x.h5", "libhdf5", 5, &err), -1);
	assert_string_equal(err.msg, "x.h5: libhdf5 crashed reading the file (Segmentation fault), "
	                             "not a valid file");
	assert_int_equal(guard_run(fn_hang, NULL, "x.h5", "libhdf5", 1, &err), -1);
	assert_string_equal(
	    err.msg, "x.h5: libhdf5 did not finish reading the file in 1 s, not a usable file");
}

/* The server's open: 0 and "ready" in the buffer, or the child's message when *arg is 0. */
static int srv_init(void *arg, const void *req, uint8_t *buf, size_t cap, struct nn_err *err)
{
	assert_null(req);
	if (!*(int *)arg)
		return nn_err_set(err, "x.h5: the child says no");
	memcpy(buf, "ready", cap < 6 ? cap : 6);
	return 0;
}

/* A call: req[0] 'c' copies req[1..] into the buffer, 'f' fails, 's' crashes, 'h' hangs. */
static int srv_call(void *arg, const void *req, uint8_t *buf, size_t cap, struct nn_err *err)
{
	(void)arg;
	const char *q = req;
	if (q[0] == 'f')
		return nn_err_set(err, "x.h5: row 3 cannot be read");
	if (q[0] == 's')
		raise(SIGSEGV);
	while (q[0] == 'h')
		pause();
	memcpy(buf, q + 1, cap < GUARD_REQ_BYTES - 1 ? cap : GUARD_REQ_BYTES - 1);
	return 0;
}

static void test_serve(void **state)
{
	(void)state;
	struct nn_err err = {{0}};
	int no = 0, yes = 1;
	assert_null(guard_serve(srv_init, srv_call, &no, 64, "x.h5", "libhdf5", 5, &err));
	assert_string_equal(err.msg, "x.h5: the child says no");
	for (int how = 0; how < 2; how++) {
		struct guard_srv *s =
		    guard_serve(srv_init, srv_call, &yes, 64, "x.h5", "libhdf5", 1, &err);
		assert_non_null(s);
		char out[32] = "";
		guard_srv_answer(s, out, 6);
		assert_string_equal(out, "ready");
		for (int k = 0; k < 100; k++) { /* the answer of each call, not of an earlier one */
			char q[16];
			snprintf(q, sizeof q, "c%d", k);
			memset(out, 'x', sizeof out);
			assert_int_equal(guard_call(s, q, strlen(q) + 1, out, 8, &err), 0);
			assert_string_equal(out, q + 1);
		}
		assert_int_equal(guard_call(s, "f", 1, out, 8, &err), -1);
		assert_string_equal(err.msg, "x.h5: row 3 cannot be read");
		assert_int_equal(guard_call(s, "c1", 3, out, 8, &err), 0); /* it lives on */
		const char *want =
		    how == 0 ? "x.h5: libhdf5 crashed reading the file (Segmentation fault), not a "
		               "valid file"
		             : "x.h5: libhdf5 did not finish reading the file in 1 s, not a usable "
		               "file";
		assert_int_equal(guard_call(s, how == 0 ? "s" : "h", 1, out, 8, &err), -1);
		assert_string_equal(err.msg, want);
		/* dead: every later call fails at once with the same message */
		memset(&err, 0, sizeof err);
		assert_int_equal(guard_call(s, "c1", 3, out, 8, &err), -1);
		assert_string_equal(err.msg, want);
		guard_srv_stop(s);
	}
	guard_srv_stop(NULL);
}

/* Reads a whole file into a new buffer. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t *buf = malloc(1 << 16);
	*len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	return buf;
}

static void test_h5_crashers(void **state)
{
	(void)state;
	for (int k = 1; k <= 3; k++) {
		char path[64], want[256];
		snprintf(path, sizeof path, "tests/badinput/h5/accum_read_%d.h5", k);
		struct npy a;
		struct nn_err err = {{0}};
		assert_int_equal(h5_open(&a, path, "/p", &err), -1);
		snprintf(
		    want, sizeof want,
		    "%s:/p: libhdf5 crashed reading the file (Segmentation fault), not a valid "
		    "file",
		    path);
		assert_string_equal(err.msg, want);
		size_t len;
		uint8_t *buf = slurp(path, &len);
		assert_int_equal(h5_open_mem(&a, buf, len, "mem.h5", "/p", &err), -1);
		assert_string_equal(err.msg, "mem.h5:/p: libhdf5 crashed reading the file "
		                             "(Segmentation fault), not a valid file");
		free(buf);
	}
	struct npy a;
	struct nn_err err = {{0}};
	assert_int_equal(h5_open(&a, "tests/badinput/h5/chunk_past_end.h5", "/g/probs", &err), -1);
	assert_string_equal(err.msg,
	                    "tests/badinput/h5/chunk_past_end.h5:/g/probs: a chunk of "
	                    "4278193152 bytes at offset 5048 lies past the end of the file "
	                    "(5334 bytes)");
}

/* A file on which libhdf5 1.10 loops (fuzz_h5 found it): an error after the child's time. */
static void test_h5_hang(void **state)
{
	(void)state;
	struct npy a;
	struct nn_err err = {{0}};
	h5_set_guard_seconds(2);
	assert_int_equal(h5_open(&a, "tests/badinput/h5/hang.h5", NULL, &err), -1);
	h5_set_guard_seconds(0);
	assert_string_equal(err.msg,
	                    "tests/badinput/h5/hang.h5: libhdf5 did not finish reading the "
	                    "file in 2 s, not a usable file");
}

/*
 * A chunked, deflated dataset (the h5py seed of fuzz_h5) read in blocks: the values come from
 * its child, and libhdf5 holds no file or object open in this process, before or after reading.
 */
static void test_h5_in_child(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = slurp("tests/fuzz/seeds/fuzz_h5/chunked_gzip.bin", &len);
	setenv("NNCMP_H5_VERIFY_MB", "0", 1); /* not read whole at the open */
	struct npy a;
	struct nn_err err = {{0}};
	assert_int_equal(h5_open_mem(&a, buf + 1, len - 1, "mem.h5", "/p", &err), 0);
	unsetenv("NNCMP_H5_VERIFY_MB");
	assert_int_equal(a.storage, NPY_STORE_BLOCKS);
	assert_int_equal(a.rows, 2);
	assert_int_equal(a.cols, 2);
	float v[4];
	npy_rows_f32(&a, 0, 2, v);
	assert_true(v[0] == 0.75f && v[1] == 0.25f && v[2] == 0.25f && v[3] == 0.75f);
	assert_true(npy_at(&a, 1, 0) == 0.25);
	assert_false(npy_read_failed(&a));
	assert_int_equal(H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
	npy_close(&a);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_guard),       cmocka_unit_test(test_h5_crashers),
	    cmocka_unit_test(test_h5_hang),     cmocka_unit_test(test_serve),
	    cmocka_unit_test(test_h5_in_child),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
