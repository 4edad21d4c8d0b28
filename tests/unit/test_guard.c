/*
 * test_guard.c — a check run in a forked child (guard.h): its result and message come back, a
 * crash or a hang becomes an error naming the signal or the time; and HDF5 files that crash
 * libhdf5 1.10 (tests/badinput/h5, found by fuzz_h5) are errors of h5_open() and h5_open_mem(),
 * and one on which it loops is an error after the child's time.
 */
#include "testutil.h"

#include <signal.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_guard),
	    cmocka_unit_test(test_h5_crashers),
	    cmocka_unit_test(test_h5_hang),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
