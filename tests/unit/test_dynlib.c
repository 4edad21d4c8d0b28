/*
 * test_dynlib.c — libraries loaded on first use (dynlib.h). The sonames the build found for
 * libhdf5, libzip, OpenBLAS and LAPACKE load and hold functions h5.c, npz.c and linalg.c call.
 * This binary links h5.c, npz.c and linalg.c built with sonames that do not exist (Makefile:
 * ABSENT_OBJ): opening an HDF5 file or an
 * npz archive, alone or as a study's file, is then an error that names the file and the library
 * (the same on a second try), while a study of npy files opens as usual.
 */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>

#include "nncmp/dynlib.h"
#include "nncmp/h5.h"
#include "nncmp/npz.h"
#include "nncmp/study.h"

/* Asserts that msg starts with want (dlerror()'s own text follows, worded by the libc). */
static void assert_prefix(const char *msg, const char *want)
{
	if (strncmp(msg, want, strlen(want)) != 0)
		fail_msg("message '%s' does not start with '%s'", msg, want);
}

static void test_build_sonames(void **state)
{
	(void)state;
	void *h5open = NULL, *h5fopen = NULL, *zipopen = NULL, *sgemm = NULL, *dsyevr = NULL;
	const struct dynlib_sym hs[] = {{"H5open", &h5open}, {"H5Fopen", &h5fopen}};
	const struct dynlib_sym zs[] = {{"zip_open_from_source", &zipopen}};
	const struct dynlib_sym bs[] = {{"cblas_sgemm", &sgemm}};
	const struct dynlib_sym ls[] = {{"LAPACKE_dsyevr", &dsyevr}};
	struct dynlib h5 = {.soname = NNCMP_HDF5_SONAME, .what = "libhdf5", .syms = hs, .nsyms = 2};
	struct dynlib zip = {.soname = NNCMP_ZIP_SONAME, .what = "libzip", .syms = zs, .nsyms = 1};
	struct dynlib blas = {.soname = NNCMP_BLAS_SONAME,
	                      .what = "libopenblas",
	                      .syms = bs,
	                      .nsyms = 1,
	                      .global = true};
	struct dynlib lapacke = {
	    .soname = NNCMP_LAPACKE_SONAME, .what = "liblapacke", .syms = ls, .nsyms = 1};
	struct nn_err err = {{0}};
	if (dynlib_load(&h5, "x.h5", &err) < 0 || dynlib_load(&zip, "x.npz", &err) < 0 ||
	    dynlib_load(&blas, "x", &err) < 0 || dynlib_load(&lapacke, "x", &err) < 0)
		fail_msg("%s", err.msg);
	assert_non_null(h5open);
	assert_non_null(h5fopen);
	assert_non_null(zipopen);
	assert_non_null(sgemm);
	assert_non_null(dsyevr);
}

static void test_missing_symbol(void **state)
{
	(void)state;
	double (*cosine)(double) = NULL;
	void *none = NULL;
	const struct dynlib_sym good[] = {{"cos", &cosine}};
	const struct dynlib_sym bad[] = {{"cos", &cosine}, {"nncmp_no_such_symbol", &none}};
	struct dynlib lg = {.soname = "libm.so.6", .what = "libm", .syms = good, .nsyms = 1};
	struct dynlib lb = {.soname = "libm.so.6", .what = "libm", .syms = bad, .nsyms = 2};
	struct nn_err err = {{0}};
	assert_int_equal(dynlib_load(&lg, "x", &err), 0);
	assert_true(cosine(0.0) == 1.0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(dynlib_load(&lb, "x.dat", &err), -1);
		assert_string_equal(err.msg, "x.dat: libm (libm.so.6) could not be loaded: no "
		                             "symbol nncmp_no_such_symbol");
	}
	assert_null(none);
}

static void test_h5_absent(void **state)
{
	(void)state;
	struct npy a;
	struct nn_err err = {{0}};
	for (int i = 0; i < 2; i++) {
		assert_int_equal(h5_open(&a, "tests/badinput/h5/hang.h5", NULL, &err), -1);
		assert_prefix(err.msg,
		              "tests/badinput/h5/hang.h5: libhdf5 (libnncmp-absent-hdf5.so.0) "
		              "could not be loaded: libnncmp-absent-hdf5.so.0: ");
	}
	const uint8_t img[16] = "\x89HDF\r\n\x1a\n";
	assert_int_equal(h5_open_mem(&a, img, sizeof img, "mem.h5", "/p", &err), -1);
	assert_prefix(err.msg,
	              "mem.h5:/p: libhdf5 (libnncmp-absent-hdf5.so.0) could not be loaded");
}

static void test_npz_absent(void **state)
{
	(void)state;
	struct npy a;
	struct nn_err err = {{0}};
	const uint8_t img[22] = "PK\x05\x06";
	assert_int_equal(npz_open_mem(&a, img, sizeof img, "mem.npz", NULL, &err), -1);
	assert_prefix(err.msg, "mem.npz: libzip (libnncmp-absent-zip.so.0) could not be loaded: ");
}

/* A study whose model's probs are an HDF5 file: its error names that file and libhdf5. */
static void test_study_absent(void **state)
{
	(void)state;
	const char *dir = tu_mkdtemp();
	const int64_t labels[2] = {0, 1};
	const float probs[4] = {0.75f, 0.25f, 0.25f, 0.75f};
	tu_write_i64(dir, "labels.npy", labels, 2);
	tu_write_f32(dir, "models/npy/probs.npy", probs, 2, 2);
	struct nn_err err = {{0}};
	struct study *s = study_open(dir, &err);
	if (!s)
		fail_msg("%s", err.msg);
	assert_int_equal(s->n_models, 1);
	study_free(s);
	size_t len;
	char *h5 = file_read_all("tests/fuzz/seeds/fuzz_h5/chunked_gzip.bin", 1 << 20, &len, &err);
	assert_non_null(h5);
	tu_write(dir, "models/h5/probs.h5", h5 + 1,
	         len - 1); /* the seed's first byte: the fuzzer's */
	free(h5);
	assert_null(study_open(dir, &err));
	char *want =
	    xasprintf("%s/models/h5/probs.h5: libhdf5 (libnncmp-absent-hdf5.so.0) could not "
	              "be loaded",
	              dir);
	if (!strstr(err.msg, want))
		fail_msg("message '%s' lacks '%s'", err.msg, want);
	free(want);
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_sonames), cmocka_unit_test(test_missing_symbol),
	    cmocka_unit_test(test_h5_absent),     cmocka_unit_test(test_npz_absent),
	    cmocka_unit_test(test_study_absent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
