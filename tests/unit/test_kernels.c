/*
 * test_kernels.c — the kernel map (kernels.h) and channel maxima (channels.h) against NumPy
 * (tests/data/kernels, written by tools/make_kernel_fixtures.py), and the `kernels`,
 * `neurons --channels` and `patches` subcommands on the fixture's study.
 */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <sys/wait.h>

#include "nncmp/channels.h"
#include "nncmp/kernels.h"

#define DATA  "tests/data/kernels/"
#define STUDY DATA "study"

static json_t *expected(void)
{
	json_error_t je;
	json_t *e = json_load_file(DATA "expected.json", 0, &je);
	if (!e)
		fail_msg(DATA "expected.json: %s", je.text);
	return e;
}

static void open_npy(struct npy *a, const char *rel)
{
	struct nn_err err = {{0}};
	if (npy_open(a, rel, &err) != 0)
		fail_msg("%s", err.msg);
}

/* A JSON oracle value: null is NaN, "inf" / "-inf" the infinities. */
static double jnum(const json_t *v)
{
	if (json_is_null(v))
		return NAN;
	if (json_is_string(v))
		return json_string_value(v)[0] == '-' ? -INFINITY : INFINITY;
	return json_number_value(v);
}

/* got equals want to a relative tol; NaN matches NaN, infinities match exactly. */
static void near(const char *what, size_t i, double got, double want, double tol)
{
	if (isnan(want)   ? !isnan(got)
	    : isinf(want) ? got != want
	                  : !(fabs(got - want) <= tol * fmax(1.0, fabs(want))))
		fail_msg("%s [%zu]: got %.17g, want %.17g", what, i, got, want);
}

static void check_map(const struct kernel_map *k, const json_t *want, const char *what)
{
	assert_int_equal(json_array_size(want), k->rows);
	for (size_t r = 0; r < k->rows; r++) {
		const json_t *row = json_array_get(want, r);
		assert_int_equal(json_array_size(row), k->cols);
		for (size_t c = 0; c < k->cols; c++)
			near(what, r * k->cols + c, kernels_map_at(k, r, c),
			     jnum(json_array_get(row, c)), 0);
	}
}

static void test_layout(void **state)
{
	(void)state;
	json_t *e = expected();
	struct npy a, b;
	open_npy(&a, STUDY "/models/a/weights/conv.npy");
	open_npy(&b, STUDY "/models/b/weights/conv.npy");
	struct kernel_map k;
	struct nn_err err = {{0}};
	assert_int_equal(kernels_map(&a, NULL, &k, &err), 0);
	const json_t *shape = json_object_get(e, "shape");
	assert_int_equal(k.out, json_integer_value(json_array_get(shape, 0)));
	assert_int_equal(k.in, json_integer_value(json_array_get(shape, 1)));
	assert_int_equal(k.kh, json_integer_value(json_array_get(shape, 2)));
	assert_int_equal(k.kw, json_integer_value(json_array_get(shape, 3)));
	assert_null(k.level);
	check_map(&k, json_object_get(e, "map_a"), "map_a");
	near("scale_a", 0, k.scale, jnum(json_object_get(e, "scale_a")), 1e-12);
	kernels_free(&k);

	assert_int_equal(kernels_map(&a, &b, &k, &err), 0);
	check_map(&k, json_object_get(e, "map_diff"), "map_diff");
	near("scale_diff", 0, k.scale, jnum(json_object_get(e, "scale_diff")), 1e-12);
	const json_t *lv = json_object_get(e, "levels");
	for (size_t r = 0; r < k.rows; r++)
		for (size_t c = 0; c < k.cols; c++) {
			size_t i = kernels_index(&k, c / k.kw, r / k.kh, r % k.kh, c % k.kw);
			assert_int_equal(k.level[i], json_integer_value(
			                                 json_array_get(json_array_get(lv, r), c)));
		}
	kernels_free(&k);
	npy_close(&b);

	/* not 4-D, and shapes that differ */
	open_npy(&b, STUDY "/models/a/weights/fc.npy");
	assert_int_equal(kernels_map(&b, NULL, &k, &err), -1);
	assert_non_null(strstr(err.msg, "fc.npy: 2-D weights"));
	assert_int_equal(kernels_map(&a, &b, &k, &err), -1);
	npy_close(&b);
	open_npy(&b, STUDY "/models/b/weights/conv_other.npy");
	assert_int_equal(kernels_map(&a, &b, &k, &err), -1);
	assert_non_null(strstr(err.msg, "conv_other.npy: a shape other than"));
	npy_close(&b);
	npy_close(&a);
	json_decref(e);
}

/* Checks the maxima read in blocks of 0 (the default), 1, 5 and N + 1 rows. */
static void check_chmax(const char *rel, const json_t *want)
{
	static const size_t blocks[] = {0, 1, 5, 13};
	for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++) {
		struct npy act, m;
		open_npy(&act, rel);
		struct nn_err err = {{0}};
		assert_int_equal(channels_max_open(&act, blocks[b], &m, &err), 0);
		assert_int_equal(m.rows, json_array_size(want));
		assert_int_equal(m.h.kind, NPY_FLOAT);
		assert_int_equal(m.h.itemsize, 4);
		assert_non_null(strstr(m.path, "(channel maxima)"));
		for (size_t i = 0; i < m.rows; i++) {
			const json_t *row = json_array_get(want, i);
			assert_int_equal(m.cols, json_array_size(row));
			for (size_t c = 0; c < m.cols; c++)
				near(rel, i * m.cols + c, npy_at(&m, i, c),
				     jnum(json_array_get(row, c)), 0);
		}
		npy_close(&m);
		npy_close(&act);
	}
}

static void test_channel_max(void **state)
{
	(void)state;
	json_t *e = expected();
	check_chmax(STUDY "/models/a/act/conv.npy", json_object_get(e, "chmax"));
	check_chmax(STUDY "/models/a/act/conv16.npy", json_object_get(e, "chmax16"));
	struct npy act, m;
	struct nn_err err = {{0}};
	open_npy(&act, STUDY "/models/a/act/fc.npy");
	assert_int_equal(channels_max_open(&act, 0, &m, &err), -1);
	assert_non_null(strstr(err.msg, "fc.npy: 2-D activations"));
	struct channel_hit *hits;
	size_t n;
	assert_int_equal(channels_top(&act, 0, 3, 0, &hits, &n, &err), -1);
	npy_close(&act);
	json_decref(e);
}

static void test_channel_top(void **state)
{
	(void)state;
	json_t *e = expected();
	struct npy act;
	open_npy(&act, STUDY "/models/a/act/conv.npy");
	struct nn_err err = {{0}};
	const json_t *chans = json_object_get(e, "channels");
	for (size_t c = 0; c < json_array_size(chans); c++) {
		const json_t *top = json_object_get(json_array_get(chans, c), "top");
		for (size_t k = 1; k <= act.rows + 2; k += 4) {
			struct channel_hit *hits;
			size_t n;
			assert_int_equal(channels_top(&act, c, k, k % 3, &hits, &n, &err), 0);
			size_t want_n = k < json_array_size(top) ? k : json_array_size(top);
			assert_int_equal(n, want_n);
			for (size_t i = 0; i < n; i++) {
				const json_t *t = json_array_get(top, i);
				assert_int_equal(hits[i].index,
				                 json_integer_value(json_object_get(t, "index")));
				near("top", i, hits[i].value, jnum(json_object_get(t, "value")), 0);
				assert_int_equal(hits[i].y,
				                 json_integer_value(json_object_get(t, "y")));
				assert_int_equal(hits[i].x,
				                 json_integer_value(json_object_get(t, "x")));
			}
			free(hits);
		}
	}
	struct channel_hit *hits;
	size_t n;
	assert_int_equal(channels_top(&act, 4, 1, 0, &hits, &n, &err), -1);
	assert_non_null(strstr(err.msg, "no channel 4"));
	npy_close(&act);
	json_decref(e);
}

/* Runs the binary; returns its exit status and, when out is not NULL, its stdout as JSON. */
static int run(const char *args, json_t **out)
{
	char cmd[1024];
	const char *bin = getenv("NNCMP") ? getenv("NNCMP") : "./nncmp";
	snprintf(cmd, sizeof cmd, "%s %s 2>/dev/null", bin, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	json_error_t je;
	json_t *v = out ? json_loadf(p, 0, &je) : NULL;
	char sink[4096];
	while (fread(sink, 1, sizeof sink, p) > 0)
		;
	int rc = pclose(p);
	if (out) {
		if (!v)
			fail_msg("%s: no JSON: %s", cmd, je.text);
		*out = v;
	}
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void test_cli_kernels(void **state)
{
	(void)state;
	json_t *e = expected(), *j;
	assert_int_equal(run("kernels " STUDY " --model a --layer conv --vs b --json", &j), 0);
	assert_string_equal(json_string_value(json_object_get(j, "values")), "b-a");
	assert_true(json_equal(json_object_get(j, "shape"), json_object_get(e, "shape")));
	near("scale", 0, json_number_value(json_object_get(j, "scale")),
	     jnum(json_object_get(e, "scale_diff")), 1e-12);
	/* kernels[o].tiles[c][y][x] is map[c·kh + y][o·kw + x] */
	const json_t *ks = json_object_get(j, "kernels"), *map = json_object_get(e, "map_diff"),
	             *lv = json_object_get(e, "levels");
	size_t kh = 2, kw = 3, checked = 0;
	for (size_t o = 0; o < json_array_size(ks); o++) {
		const json_t *k = json_array_get(ks, o);
		assert_int_equal(json_integer_value(json_object_get(k, "out")), o);
		const json_t *tiles = json_object_get(k, "tiles"),
		             *levels = json_object_get(k, "levels");
		for (size_t c = 0; c < json_array_size(tiles); c++)
			for (size_t y = 0; y < kh; y++)
				for (size_t x = 0; x < kw; x++) {
					const json_t *row = json_array_get(map, c * kh + y);
					double got = json_number_value(json_array_get(
					    json_array_get(json_array_get(tiles, c), y), x));
					near("tiles", checked, got,
					     jnum(json_array_get(row, o * kw + x)), 0);
					assert_int_equal(
					    json_integer_value(json_array_get(
					        json_array_get(json_array_get(levels, c), y), x)),
					    json_integer_value(json_array_get(
					        json_array_get(lv, c * kh + y), o * kw + x)));
					checked++;
				}
	}
	assert_int_equal(checked, 36);
	json_decref(j);
	assert_int_equal(run("kernels " STUDY " --model a --layer conv --json", &j), 0);
	assert_null(json_object_get(json_array_get(json_object_get(j, "kernels"), 0), "levels"));
	json_decref(j);
	assert_int_equal(run("kernels " STUDY " --model a --layer conv --vs b", NULL), 0);
	assert_int_equal(run("kernels " STUDY " --model a --layer fc", NULL), 2);
	assert_int_equal(run("kernels " STUDY " --model a --layer conv_other --vs b", NULL), 2);
	assert_int_equal(run("kernels " STUDY " --model a --layer conv --vs zz", NULL), 2);
	assert_int_equal(run("kernels " STUDY " --model a", NULL), 2);
	json_decref(e);
}

static void test_cli_channels(void **state)
{
	(void)state;
	json_t *e = expected(), *j;
	const json_t *chans = json_object_get(e, "channels");
	assert_int_equal(run("neurons " STUDY
	                     " --model a --layer conv --channels --filter 'gt == 1' --json",
	                     &j),
	                 0);
	assert_true(json_is_true(json_object_get(j, "channels")));
	const json_t *ns = json_object_get(j, "neurons");
	assert_int_equal(json_array_size(ns), json_array_size(chans));
	double last = INFINITY;
	for (size_t r = 0; r < json_array_size(ns); r++) {
		const json_t *n = json_array_get(ns, r);
		size_t c = (size_t)json_integer_value(json_object_get(n, "index"));
		const json_t *w = json_array_get(chans, c);
		double d = json_number_value(json_object_get(n, "d"));
		near("d", c, d, jnum(json_object_get(w, "d")), 1e-9);
		near("std", c, json_number_value(json_object_get(n, "std")),
		     jnum(json_object_get(w, "std")), 1e-9);
		near("min", c, json_number_value(json_object_get(n, "min")),
		     jnum(json_object_get(w, "min")), 0);
		assert_int_equal(json_integer_value(json_object_get(n, "nan")),
		                 json_integer_value(json_object_get(w, "nan")));
		assert_true(fabs(d) <= last); /* ranked by |d| */
		last = fabs(d);
	}
	json_decref(j);
	assert_int_equal(run("neurons " STUDY " --model a --layer conv --channels --json", &j), 0);
	const json_t *first = json_array_get(json_object_get(j, "neurons"), 0);
	size_t c = (size_t)json_integer_value(json_object_get(first, "index"));
	near("mean", c, json_number_value(json_object_get(first, "mean_in")),
	     jnum(json_object_get(json_array_get(chans, c), "mean")), 1e-9);
	json_decref(j);
	assert_int_equal(run("neurons " STUDY " --model a --layer fc --channels", NULL), 2);
	json_decref(e);
}

static void test_cli_patches(void **state)
{
	(void)state;
	json_t *e = expected(), *j;
	const json_t *chans = json_object_get(e, "channels");
	for (size_t c = 0; c < json_array_size(chans); c++) {
		char args[512];
		snprintf(args, sizeof args,
		         "patches " STUDY " --model a --layer conv --channel %zu --top 20 --json",
		         c);
		assert_int_equal(run(args, &j), 0);
		const json_t *want = json_object_get(json_array_get(chans, c), "top");
		const json_t *got = json_object_get(j, "patches");
		assert_int_equal(json_array_size(got), json_array_size(want));
		for (size_t i = 0; i < json_array_size(got); i++) {
			const json_t *g = json_array_get(got, i), *w = json_array_get(want, i);
			assert_int_equal(json_integer_value(json_object_get(g, "index")),
			                 json_integer_value(json_object_get(w, "index")));
			assert_int_equal(json_integer_value(json_object_get(g, "y")),
			                 json_integer_value(json_object_get(w, "y")));
			assert_int_equal(json_integer_value(json_object_get(g, "x")),
			                 json_integer_value(json_object_get(w, "x")));
			const json_t *box = json_object_get(w, "box");
			assert_true(json_equal(json_object_get(g, "box"), box));
			double wv = jnum(json_object_get(w, "value"));
			if (isfinite(wv))
				near("value", i, json_number_value(json_object_get(g, "value")), wv,
				     0);
			else
				assert_true(json_is_null(json_object_get(g, "value")));
			if (!json_is_null(box))
				assert_true(json_equal(json_object_get(g, "image_size"),
				                       json_object_get(w, "image_size")));
		}
		json_decref(j);
	}
	assert_int_equal(run("patches " STUDY " --model a --layer conv --channel 1 --top 3", NULL),
	                 0);
	assert_int_equal(run("patches " STUDY " --model a --layer conv --channel 4", NULL), 2);
	assert_int_equal(run("patches " STUDY " --model a --layer fc --channel 0", NULL), 2);
	assert_int_equal(run("patches " STUDY " --model a --layer conv", NULL), 2);
	assert_int_equal(run("patches " STUDY " --model a --layer conv --channel 0 --top 0", NULL),
	                 2);
	json_decref(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layout),       cmocka_unit_test(test_channel_max),
	    cmocka_unit_test(test_channel_top),  cmocka_unit_test(test_cli_kernels),
	    cmocka_unit_test(test_cli_channels), cmocka_unit_test(test_cli_patches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
