/*
 * test_fault.c — a mapped matrix truncated in place under a reader (fault.h): the neurons
 * passes on two threads and the guarded row readers fail with "PATH changed on disk while open;
 * reopen the study" instead of dying of SIGBUS, a guarded read says which mapping faulted, and
 * afterwards the same calls on an intact file give the values computed here directly.
 */
#include "testutil.h"

#include <math.h>
#include <setjmp.h>
#include <signal.h>

#include "nncmp/fault.h"
#include "nncmp/neurons.h"
#include "nncmp/npy.h"

#define ROWS 4000
#define COLS 64

static float *values(void)
{
	float *v = malloc(sizeof(float) * ROWS * COLS);
	assert_non_null(v);
	for (size_t i = 0; i < (size_t)ROWS * COLS; i++)
		v[i] = (float)((i * 2654435761u) % 1000) / 100.0f - 3.0f;
	return v;
}

static void test_truncated_under_a_pass(void **state)
{
	(void)state;
	fault_install(); /* here: cmocka installs its own SIGBUS handler around each test */
	char *dir = xstrdup(tu_mkdtemp());
	float *v = values();
	tu_write_f32(dir, "act.npy", v, ROWS, COLS);
	char *path = path_join(dir, "act.npy");
	struct npy a;
	struct nn_err err = {{0}};
	assert_int_equal(npy_open(&a, path, &err), 0);
	assert_int_equal(truncate(path, 200), 0); /* rewritten in place, shorter */
	struct neurons_opts opt = {.threads = 2, .block_rows = 64, .cache_dir = ""};
	struct neuron_stats st;
	assert_int_equal(neurons_stats_compute(&a, &opt, NULL, &st, &err), -1);
	char *want = xasprintf("%s changed on disk while open; reopen the study", path);
	assert_string_equal(err.msg, want);
	free(want);

	/* the guarded readers of one row say the same */
	double row64[COLS];
	float row32[COLS];
	uint32_t order[COLS];
	memset(&err, 0, sizeof err);
	assert_int_equal(npy_row_f64_guarded(&a, ROWS - 1, row64, &err), -1);
	want = xasprintf("%s changed on disk while open; reopen the study", path);
	assert_string_equal(err.msg, want);
	memset(&err, 0, sizeof err);
	assert_int_equal(neurons_profile_guarded(&a, ROWS - 1, row32, order, &err), -1);
	assert_string_equal(err.msg, want);
	free(want);

	/* a guarded read of the last row: caught, and put down to its file */
	struct fault_guard g;
	volatile float got = 0;
	fault_push(&g);
	if (sigsetjmp(g.env, 1) == 0) {
		got = ((const volatile float *)(const void *)a.data)[(size_t)ROWS * COLS - 1];
		fault_pop(&g);
		fail_msg("no fault reading past the end of a truncated file (read %g)", got);
	}
	const uint8_t *addr = g.addr;
	assert_true(addr >= (const uint8_t *)a.map && addr < (const uint8_t *)a.map + a.map_len);
	char buf[1024];
	assert_non_null(fault_map_path(g.addr, buf, sizeof buf));
	assert_string_equal(buf, path);
	npy_close(&a);
	assert_null(fault_map_path(addr, buf, sizeof buf)); /* unmapped: forgotten */

	/* the same pass on an intact file: the means, computed here in double */
	tu_write_f32(dir, "act.npy", v, ROWS, COLS);
	assert_int_equal(npy_open(&a, path, &err), 0);
	if (neurons_stats_compute(&a, &opt, NULL, &st, &err) != 0)
		fail_msg("%s", err.msg);
	for (size_t j = 0; j < COLS; j++) {
		double sum = 0;
		for (size_t i = 0; i < ROWS; i++)
			sum += v[i * COLS + j];
		assert_int_equal(st.count[j], ROWS);
		if (fabs(st.mean[j] - sum / ROWS) > 1e-9)
			fail_msg("neuron %zu: mean %.12g, want %.12g", j, st.mean[j], sum / ROWS);
	}
	neurons_stats_free(&st);
	/* and the guarded row readers read it as stored */
	assert_int_equal(npy_row_f64_guarded(&a, ROWS - 1, row64, &err), 0);
	assert_int_equal(neurons_profile_guarded(&a, ROWS - 1, row32, order, &err), 0);
	for (size_t j = 0; j < COLS; j++) {
		assert_true(row64[j] == (double)v[(size_t)(ROWS - 1) * COLS + j]);
		assert_true(row32[j] == v[(size_t)(ROWS - 1) * COLS + j]);
	}
	for (size_t j = 1; j < COLS; j++) /* most positive first, ties by index */
		assert_true(row32[order[j - 1]] > row32[order[j]] ||
		            (row32[order[j - 1]] == row32[order[j]] && order[j - 1] < order[j]));
	npy_close(&a);
	free(path);
	free(v);
	tu_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_truncated_under_a_pass),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
