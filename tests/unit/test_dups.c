/*
 * test_dups.c — near-duplicate search against the pairs NumPy finds by brute force
 * (tests/data/dups, written by tools/make_dups_fixtures.py): the same set of pairs, most similar
 * first, cosines to 1e-5, for activations (float32 and float16) and pixels, within a class or
 * any, across splits or not, at several block sizes; the top-K heap; cancellation; bad input.
 */
#include "testutil.h"

#include <jansson.h>
#include <math.h>

#include "nncmp/dups.h"
#include "nncmp/linalg.h"
#include "nncmp/study.h"

#define DATA "tests/data/dups"

static json_t *expected;
static struct study *study;

static int setup(void **state)
{
	(void)state;
	json_error_t je;
	expected = json_load_file(DATA "/expected.json", 0, &je);
	if (!expected) {
		fprintf(stderr, "expected.json: %s\n", je.text);
		return -1;
	}
	struct nn_err err = {{0}};
	study = study_open(DATA, &err);
	if (!study)
		fprintf(stderr, "%s\n", err.msg);
	linalg_init(2);
	return study ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(expected);
	study_free(study);
	return 0;
}

static const struct model *model_m(void)
{
	int mi = study_model_index(study, "m");
	assert_true(mi >= 0);
	return &study->models[mi];
}

static const struct npy *layer(const char *name)
{
	const struct model *m = model_m();
	int li = study_layer_index(m, name);
	assert_true(li >= 0);
	return &m->layers[li].act;
}

/* Options for one expected configuration. */
static struct dups_opts opts_for(const json_t *cfg)
{
	const char *src = json_string_value(json_object_get(cfg, "source"));
	struct dups_opts o = {0};
	o.act = strcmp(src, "pixels") == 0 ? NULL : layer(src);
	o.side = 8;
	o.classes = json_is_true(json_object_get(cfg, "any_class")) ? NULL : model_m();
	o.across_splits = json_is_true(json_object_get(cfg, "across_splits"));
	o.threshold = json_real_value(json_object_get(cfg, "threshold"));
	return o;
}

static void describe(const json_t *cfg, char *buf, size_t size)
{
	snprintf(buf, size, "%s %s %s %.3f", json_string_value(json_object_get(cfg, "source")),
	         json_is_true(json_object_get(cfg, "any_class")) ? "any" : "same",
	         json_is_true(json_object_get(cfg, "across_splits")) ? "across" : "all",
	         json_real_value(json_object_get(cfg, "threshold")));
}

/* Checks r against cfg's first `top` pairs (0: all). */
static void check_result(const json_t *cfg, const struct dups_result *r, size_t top,
                         const char *what)
{
	const json_t *want = json_object_get(cfg, "pairs");
	size_t count = (size_t)json_integer_value(json_object_get(cfg, "count"));
	size_t n = top && top < count ? top : count;
	if (r->count != count || r->n_pairs != n)
		fail_msg("%s: count %zu kept %zu, want %zu and %zu", what, r->count, r->n_pairs,
		         count, n);
	static const char *const keys[] = {"zero", "nonfinite", "no_split", "no_image"};
	size_t got[] = {r->zero, r->nonfinite, r->no_split, r->no_image};
	for (int k = 0; k < 4; k++)
		if (got[k] != (size_t)json_integer_value(json_object_get(cfg, keys[k])))
			fail_msg("%s: %s %zu, want %lld", what, keys[k], got[k],
			         (long long)json_integer_value(json_object_get(cfg, keys[k])));
	/*
	 * The same pairs with the same cosines, most similar first. Pairs whose cosines tie to
	 * rounding (exact copies at 1) may come in either order, so each kept pair is looked up,
	 * and with a top-K cut (decided in float32) it must be about as similar as the K-th
	 * expected.
	 */
	double kth = n ? json_real_value(json_array_get(json_array_get(want, n - 1), 2)) : 0;
	for (size_t k = 0; k < n; k++) {
		const struct dups_pair *g = &r->pairs[k];
		if (k && g->cosine > r->pairs[k - 1].cosine)
			fail_msg("%s: pair %zu is more similar than pair %zu", what, k, k - 1);
		size_t w = 0;
		for (; w < count; w++) {
			const json_t *p = json_array_get(want, w);
			if (json_integer_value(json_array_get(p, 0)) == g->a &&
			    json_integer_value(json_array_get(p, 1)) == g->b)
				break;
		}
		if (w == count)
			fail_msg("%s: pair (%u, %u) is not a near-duplicate", what, g->a, g->b);
		double c = json_real_value(json_array_get(json_array_get(want, w), 2));
		if (!(fabs(g->cosine - c) <= 1e-5) || !(c >= kth - 1e-5))
			fail_msg("%s: pair (%u, %u) has cosine %.9f, want %.9f (K-th: %.9f)", what,
			         g->a, g->b, g->cosine, c, kth);
	}
}

static void run_all(bool pixels, size_t block, size_t top)
{
	const json_t *cfgs = json_object_get(expected, "configs");
	assert_true(json_array_size(cfgs) > 0);
	for (size_t i = 0; i < json_array_size(cfgs); i++) {
		const json_t *cfg = json_array_get(cfgs, i);
		if (pixels !=
		    (strcmp(json_string_value(json_object_get(cfg, "source")), "pixels") == 0))
			continue;
		char what[128];
		describe(cfg, what, sizeof what);
		struct dups_opts o = opts_for(cfg);
		o.block = block;
		o.top = top;
		struct dups_result r;
		struct nn_err err = {{0}};
		if (dups_find(study, &o, NULL, &r, &err) != 0)
			fail_msg("%s: %s", what, err.msg);
		check_result(cfg, &r, top, what);
		dups_free(&r);
	}
}

static void test_all_default_block(void **state)
{
	(void)state;
	run_all(false, 0, 0);
}

/* Blocks that cut the classes at every place: pairs that straddle blocks must be found. */
static void test_all_small_blocks(void **state)
{
	(void)state;
	static const size_t blocks[] = {1, 7, 32};
	for (size_t k = 0; k < sizeof blocks / sizeof *blocks; k++)
		run_all(false, blocks[k], 0);
}

/* The heap keeps exactly the most similar pairs, in order, and counts the rest. */
static void test_top(void **state)
{
	(void)state;
	run_all(false, 5, 3);
	run_all(false, 0, 1);
}

/* Images fitted into 8 × 8 (a 4 × 4 one enlarged by 2); no image and a black one left out. */
static void test_pixels(void **state)
{
	(void)state;
	run_all(true, 0, 0);
	run_all(true, 7, 0);
	run_all(true, 0, 2);
}

static void test_progress_and_cancel(void **state)
{
	(void)state;
	struct dups_opts o = {
	    .act = layer("fc"), .classes = model_m(), .threshold = 0.995, .block = 16};
	struct nn_progress prog;
	atomic_init(&prog.done, 0);
	atomic_init(&prog.total, 0);
	atomic_init(&prog.cancel, false);
	struct dups_result r;
	struct nn_err err = {{0}};
	assert_int_equal(dups_find(study, &o, &prog, &r, &err), 0);
	assert_true(atomic_load(&prog.total) > study->n);
	assert_int_equal(atomic_load(&prog.done), atomic_load(&prog.total));
	dups_free(&r);
	atomic_store(&prog.cancel, true);
	assert_int_equal(dups_find(study, &o, &prog, &r, &err), -1);
	assert_string_equal(err.msg, "cancelled");
	assert_null(r.pairs);
}

static void test_bad_input(void **state)
{
	(void)state;
	struct dups_result r;
	struct nn_err err = {{0}};
	struct dups_opts o = {.act = layer("fc"), .threshold = 1.5};
	assert_int_equal(dups_find(study, &o, NULL, &r, &err), -1);
	assert_non_null(strstr(err.msg, "threshold"));
	/* a matrix of another row count */
	const char *dir = tu_mkdtemp();
	float v[6] = {1, 0, 0, 1, 1, 1};
	tu_write_f32(dir, "x.npy", v, 3, 2);
	char path[512];
	snprintf(path, sizeof path, "%s/x.npy", dir);
	struct npy a;
	assert_int_equal(npy_open(&a, path, &err), 0);
	o = (struct dups_opts){.act = &a, .threshold = 0.9};
	assert_int_equal(dups_find(study, &o, NULL, &r, &err), -1);
	assert_non_null(strstr(err.msg, "3 rows"));
	npy_close(&a);
	/* across splits in a study without splits */
	float w[6] = {1, 0, 1, 0, 0, 1};
	int64_t lab[3] = {0, 0, 1};
	tu_write_i64(dir, "labels.npy", lab, 3);
	float probs[6] = {1, 0, 1, 0, 0, 1};
	tu_write_f32(dir, "models/m/probs.npy", probs, 3, 2);
	tu_write_f32(dir, "models/m/act/fc.npy", w, 3, 2);
	struct study *s = study_open(dir, &err);
	assert_non_null(s);
	o = (struct dups_opts){
	    .act = &s->models[0].layers[0].act, .threshold = 0.9, .across_splits = true};
	assert_int_equal(dups_find(s, &o, NULL, &r, &err), -1);
	assert_non_null(strstr(err.msg, "split"));
	/* rows 0 and 1 are equal: cosine 1 exactly */
	o.across_splits = false;
	o.classes = &s->models[0];
	assert_int_equal(dups_find(s, &o, NULL, &r, &err), 0);
	assert_int_equal(r.n_pairs, 1);
	assert_int_equal(r.pairs[0].a, 0);
	assert_int_equal(r.pairs[0].b, 1);
	assert_true(fabs(r.pairs[0].cosine - 1.0) < 1e-12);
	dups_free(&r);
	study_free(s);
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_default_block),
	    cmocka_unit_test(test_all_small_blocks),
	    cmocka_unit_test(test_top),
	    cmocka_unit_test(test_pixels),
	    cmocka_unit_test(test_progress_and_cancel),
	    cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
