/*
 * test_weights.c — heat grids and snapshot comparison against NumPy (tests/data/weights, written
 * by tools/make_weight_fixtures.py), the layer matching of two models, and the `weights` and
 * `diff` subcommands on a small study made from the fixtures.
 */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <sys/wait.h>

#include "nncmp/weights.h"

#define DATA "tests/data/weights/"

static json_t *expected(void)
{
	json_error_t je;
	json_t *e = json_load_file(DATA "expected.json", 0, &je);
	if (!e)
		fail_msg(DATA "expected.json: %s", je.text);
	return e;
}

static void open_fixture(struct npy *a, const char *name)
{
	char path[512];
	snprintf(path, sizeof path, DATA "%s", name);
	struct nn_err err = {{0}};
	if (npy_open(a, path, &err) != 0)
		fail_msg("%s", err.msg);
}

/* got equals want to a relative 1e-12 (sums in another order); NaN matches null. */
static void near(const char *what, const char *key, double got, const json_t *want)
{
	if (json_is_null(want)) {
		if (!isnan(got))
			fail_msg("%s %s: got %.17g, want NaN", what, key, got);
		return;
	}
	double w = json_is_string(want) ? INFINITY : json_number_value(want);
	if (isinf(w) ? got != w : !(fabs(got - w) <= 1e-12 * fmax(1.0, fabs(w))))
		fail_msg("%s %s: got %.17g, want %.17g", what, key, got, w);
}

static void test_block_start(void **state)
{
	(void)state;
	/* floor(i·37/5) by hand: 0, 7.4, 14.8, 22.2, 29.6, 37 */
	size_t want[6] = {0, 7, 14, 22, 29, 37};
	for (size_t i = 0; i <= 5; i++)
		assert_int_equal(weights_block_start(37, 5, i), want[i]);
	assert_int_equal(weights_block_start(4, 4, 3), 3);
	assert_int_equal(weights_block_start(1000000007, 4096, 4096), 1000000007);
}

static void check_grid(const char *key, const struct weights_grid *g, json_t *w, bool peak)
{
	assert_int_equal(g->grid_rows, json_integer_value(json_object_get(w, "grid_rows")));
	assert_int_equal(g->grid_cols, json_integer_value(json_object_get(w, "grid_cols")));
	assert_int_equal(g->n_nonfinite, json_integer_value(json_object_get(w, "nonfinite")));
	static const char *const keys[] = {"min", "max", "mean", "std", "frac_zero"};
	double got[] = {g->min, g->max, g->mean, g->std, g->frac_zero};
	for (int k = 0; k < 5; k++)
		near(key, keys[k], got[k], json_object_get(w, keys[k]));
	near(key, "scale", g->scale, json_object_get(w, peak ? "peak_scale" : "mean_scale"));
	json_t *cells = json_object_get(w, peak ? "peak" : "mean_grid");
	for (size_t i = 0; i < g->grid_rows; i++)
		for (size_t j = 0; j < g->grid_cols; j++) {
			char what[128];
			snprintf(what, sizeof what, "%s %s cell", key, peak ? "peak" : "mean");
			json_t *wv = json_array_get(json_array_get(cells, i), j);
			double v = g->cell[i * g->grid_cols + j];
			if (peak && json_is_number(wv) && v != json_number_value(wv))
				fail_msg("%s (%zu, %zu): %.17g, want %.17g exactly", what, i, j, v,
				         json_number_value(wv));
			near(what, "", v, wv);
		}
}

/* Every grid NumPy summarised, both summaries, C and Fortran order, float16, a 1-D bias. */
static void test_grid_fixtures(void **state)
{
	(void)state;
	json_t *e = expected();
	const char *key;
	json_t *w;
	int cases = 0;
	json_object_foreach(json_object_get(e, "grid"), key, w)
	{
		char name[64];
		size_t gr, gc;
		assert_int_equal(sscanf(key, "%63s %zu %zu", name, &gr, &gc), 3);
		struct npy a;
		open_fixture(&a, name);
		for (int peak = 0; peak < 2; peak++) {
			struct weights_grid g;
			struct nn_err err = {{0}};
			if (weights_grid(&a, gr, gc, peak ? WSUM_PEAK : WSUM_MEAN, &g, &err) != 0)
				fail_msg("%s: %s", key, err.msg);
			check_grid(key, &g, w, peak);
			if (a.h.ndim == 1)
				assert_int_equal(g.rows, 1);
			if (a.h.ndim == 4) { /* (out, in, kh, kw) is out x in*kh*kw */
				assert_int_equal(g.rows, 5);
				assert_int_equal(g.cols, 4 * 3 * 3);
			}
			weights_grid_free(&g);
		}
		npy_close(&a);
		cases++;
	}
	assert_int_equal(cases, 30);
	json_decref(e);
}

/* The planted tie (−3 and +3 in block (0, 0)) and the lone −3.5, read by hand. */
static void test_grid_peak_by_hand(void **state)
{
	(void)state;
	struct npy a;
	open_fixture(&a, "grid_w_F.npy");
	assert_true(a.h.fortran);
	struct weights_grid g;
	struct nn_err err;
	assert_int_equal(weights_grid(&a, 5, 7, WSUM_PEAK, &g, &err), 0);
	assert_true(g.cell[0] == 3.0);
	assert_true(g.cell[1 * 7 + 1] == -3.5);
	assert_int_equal(g.n_nonfinite, 2); /* a NaN and an infinity */
	assert_int_equal(g.n, 37 * 53 - 2);
	assert_true(g.cell_min == -3.5 && g.cell_max == 3.0);
	weights_grid_free(&g);
	npy_close(&a);
}

static void test_grid_refusals(void **state)
{
	(void)state;
	struct npy a;
	open_fixture(&a, "grid_w.npy");
	struct weights_grid g;
	struct nn_err err = {{0}};
	assert_int_equal(weights_grid(&a, 0, 5, WSUM_PEAK, &g, &err), -1);
	assert_non_null(strstr(err.msg, "grid_w.npy"));
	assert_null(g.cell);
	assert_int_equal(weights_grid(&a, 5, WEIGHTS_GRID_MAX + 1, WSUM_PEAK, &g, &err), -1);
	npy_close(&a);
}

static void check_diff(const char *key, const struct wdiff_layer *l, json_t *w)
{
	assert_int_equal(l->n, json_integer_value(json_object_get(w, "n")));
	assert_int_equal(l->n_nonfinite, json_integer_value(json_object_get(w, "nonfinite")));
	near(key, "l2", l->l2, json_object_get(w, "l2"));
	near(key, "norm_a", l->norm_a, json_object_get(w, "norm_a"));
	near(key, "norm_b", l->norm_b, json_object_get(w, "norm_b"));
	near(key, "relative", l->relative, json_object_get(w, "relative"));
	/* the largest |dw| and the edges are computed as NumPy does: exactly the same doubles */
	assert_true(l->max_abs_delta == json_number_value(json_object_get(w, "max_abs_delta")));
	json_t *edges = json_object_get(w, "bin_edges");
	assert_int_equal(json_array_size(edges), l->bins + 1);
	for (size_t j = 0; j <= l->bins; j++)
		if (l->bin_edges[j] != json_number_value(json_array_get(edges, j)))
			fail_msg("%s edge %zu: %.17g, want %.17g", key, j, l->bin_edges[j],
			         json_number_value(json_array_get(edges, j)));
	json_t *lc = json_object_get(w, "level_count"), *hist = json_object_get(w, "hist");
	size_t total = 0;
	for (int v = 0; v < WDIFF_LEVELS; v++) {
		assert_int_equal(l->level_count[v], json_integer_value(json_array_get(lc, v)));
		size_t sum = 0;
		for (size_t j = 0; j < l->bins; j++) {
			size_t h = l->hist[(size_t)v * l->bins + j];
			json_int_t want =
			    json_integer_value(json_array_get(json_array_get(hist, v), j));
			if ((json_int_t)h != want)
				fail_msg("%s level %d bin %zu: %zu, want %lld", key, v, j, h,
				         (long long)want);
			sum += h;
		}
		assert_int_equal(sum, l->level_count[v]);
		total += sum;
	}
	assert_int_equal(total, l->n);
}

/* Every pair NumPy compared: float32, float16, Fortran (both, and mixed), bias vectors, and
 * identical layers, |dw| exactly on bin edges (float64), with 16, 5 and 1 bins. */
static void test_diff_fixtures(void **state)
{
	(void)state;
	json_t *e = expected();
	const char *key;
	json_t *w;
	int cases = 0;
	json_object_foreach(json_object_get(e, "diff"), key, w)
	{
		char na[64], nb[64];
		size_t bins;
		double decades;
		assert_int_equal(sscanf(key, "%63s %63s %zu %lf", na, nb, &bins, &decades), 4);
		struct npy a, b;
		open_fixture(&a, na);
		open_fixture(&b, nb);
		struct wdiff_layer l;
		struct nn_err err = {{0}};
		if (weights_diff_layer("fc", &a, &b, bins, decades, &l, &err) != 0)
			fail_msg("%s: %s", key, err.msg);
		check_diff(key, &l, w);
		assert_string_equal(l.name, "fc");
		if (a.h.ndim == 4) { /* the shape as stored; compared as out x in*kh*kw */
			assert_int_equal(l.ndim, 4);
			assert_int_equal(l.dims[0], 5);
			assert_int_equal(l.dims[1], 4);
			assert_int_equal(l.dims[3], 3);
			assert_int_equal(l.rows, 5);
			assert_int_equal(l.cols, 36);
		}
		weights_diff_layer_free(&l);
		npy_close(&a);
		npy_close(&b);
		cases++;
	}
	assert_int_equal(cases, 36);
	json_decref(e);
}

/* The planted cases, by hand: d = 0 for zeros on both sides, 2 for sign flips. */
static void test_diff_by_hand(void **state)
{
	(void)state;
	struct npy a, b;
	open_fixture(&a, "diff_a.npy");
	open_fixture(&b, "diff_b.npy");
	struct wdiff_layer l;
	struct nn_err err;
	assert_int_equal(weights_diff_layer("x", &a, &b, 16, 4, &l, &err), 0);
	assert_int_equal(l.n, 59); /* 60 weights, one NaN */
	assert_int_equal(l.n_nonfinite, 1);
	/* largest change: 1.5 -> -0.5; it falls in the closed last bin of level [1, 2] */
	assert_true(l.max_abs_delta == 2.0);
	assert_true(l.bin_edges[16] == 2.0 && l.bin_edges[0] == 0);
	assert_true(l.hist[3 * 16 + 15] >= 1);
	/* 3 zeros on both sides and 4 equal values: |dw| = 0, level 0, bin 0; 7 in all */
	assert_int_equal(l.hist[0], 7);
	weights_diff_layer_free(&l);

	/* identical layers: every edge 0, every weight in level 0, bin 0 */
	struct npy c;
	open_fixture(&c, "same.npy");
	assert_int_equal(weights_diff_layer("x", &a, &c, 5, 4, &l, &err), 0);
	assert_true(l.l2 == 0 && l.relative == 0 && l.max_abs_delta == 0);
	assert_int_equal(l.hist[0], 60);
	assert_int_equal(l.level_count[0], 60);
	weights_diff_layer_free(&l);
	npy_close(&c);
	npy_close(&a);
	npy_close(&b);
}

static void test_diff_refusals(void **state)
{
	(void)state;
	struct npy a, t, v;
	open_fixture(&a, "diff_a.npy");
	open_fixture(&t, "diff_t.npy");
	open_fixture(&v, "bias_a.npy");
	struct wdiff_layer l;
	struct nn_err err = {{0}};
	assert_int_equal(weights_diff_layer("x", &a, &t, 16, 4, &l, &err), -1);
	assert_non_null(strstr(err.msg, "diff_a.npy: shape (6, 10), but"));
	assert_non_null(strstr(err.msg, "diff_t.npy has (10, 6)"));
	assert_null(l.hist);
	assert_int_equal(weights_diff_layer("x", &a, &v, 16, 4, &l, &err), -1);
	assert_int_equal(weights_diff_layer("x", &a, &a, 0, 4, &l, &err), -1);
	assert_int_equal(weights_diff_layer("x", &a, &a, WDIFF_BINS_MAX + 1, 4, &l, &err), -1);
	assert_int_equal(weights_diff_layer("x", &a, &a, 16, 0, &l, &err), -1);
	assert_int_equal(weights_diff_layer("x", &a, &a, 16, NAN, &l, &err), -1);
	npy_close(&a);
	npy_close(&t);
	npy_close(&v);
}

/* A model made of fixture files: each entry "layer=file" or "layer=" for activations only. */
static void model_make(struct model *m, const char *name, const char *const *spec, size_t n)
{
	memset(m, 0, sizeof *m);
	m->name = xstrdup(name);
	m->n_layers = n;
	m->layers = xcalloc(n, sizeof *m->layers);
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(spec[i], '=');
		m->layers[i].name = xstrndup(spec[i], (size_t)(eq - spec[i]));
		if (eq[1]) {
			m->layers[i].weights_path = xasprintf(DATA "%s", eq + 1);
			open_fixture(&m->layers[i].weights, eq + 1);
		}
	}
}

static void model_drop(struct model *m)
{
	for (size_t i = 0; i < m->n_layers; i++) {
		free(m->layers[i].name);
		if (m->layers[i].weights_path)
			npy_close(&m->layers[i].weights);
		free(m->layers[i].weights_path);
	}
	free(m->layers);
	free(m->name);
}

static void test_models(void **state)
{
	(void)state;
	static const char *const sa[] = {
	    "fc1=diff_a.npy", "bias=bias_a.npy", "only_a=diff_a.npy", "shape=diff_a.npy",
	    "act=",           "half=diff_a.npy"};
	static const char *const sb[] = {"only_b=bias_b.npy", "half=",           "act=",
	                                 "shape=diff_t.npy",  "bias=bias_b.npy", "fc1=diff_b.npy"};
	struct model a, b;
	model_make(&a, "early", sa, 6);
	model_make(&b, "late", sb, 6);
	struct wdiff d;
	struct nn_err err = {{0}};
	assert_int_equal(weights_diff_models(&a, &b, NULL, 16, 4, &d, &err), 0);
	assert_int_equal(d.n_layers, 2); /* in A's order */
	assert_string_equal(d.layers[0].name, "fc1");
	assert_string_equal(d.layers[1].name, "bias");
	assert_int_equal(d.layers[1].ndim, 1);
	assert_int_equal(d.layers[1].rows, 1);
	assert_int_equal(d.layers[1].cols, 7);
	static const char *const skipped[][2] = {
	    {"only_a", "only in early"},
	    {"shape", "shape (6, 10) in early, (10, 6) in late"},
	    {"act", "no weights in either model"},
	    {"half", "no weights in late"},
	    {"only_b", "only in late"},
	};
	assert_int_equal(d.n_skipped, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(d.skipped[i].name, skipped[i][0]);
		assert_string_equal(d.skipped[i].reason, skipped[i][1]);
	}
	weights_diff_free(&d);

	assert_int_equal(weights_diff_models(&a, &b, "bias", 16, 4, &d, &err), 0);
	assert_int_equal(d.n_layers, 1);
	assert_int_equal(d.n_skipped, 0);
	weights_diff_free(&d);
	assert_int_equal(weights_diff_models(&a, &b, "only_b", 16, 4, &d, &err), 0);
	assert_int_equal(d.n_layers, 0);
	assert_int_equal(d.n_skipped, 1);
	weights_diff_free(&d);
	assert_int_equal(weights_diff_models(&a, &b, "nope", 16, 4, &d, &err), -1);
	assert_string_equal(err.msg, "no layer 'nope' in early or late");
	assert_int_equal(weights_diff_models(&a, &b, NULL, 0, 4, &d, &err), -1);

	/* conv kernels (out, in, kh, kw) compare with kernels of the same shape, not with their
	 * flattened out x in*kh*kw */
	struct model ca, cb;
	static const char *const sca[] = {"conv=conv_a.npy", "flat=conv_a.npy"};
	static const char *const scb[] = {"conv=conv_b.npy", "flat=diff_a.npy"};
	model_make(&ca, "a", sca, 2);
	model_make(&cb, "b", scb, 2);
	assert_int_equal(weights_diff_models(&ca, &cb, NULL, 16, 4, &d, &err), 0);
	assert_int_equal(d.n_layers, 1);
	assert_string_equal(d.layers[0].name, "conv");
	assert_int_equal(d.layers[0].ndim, 4);
	assert_int_equal(d.n_skipped, 1);
	assert_string_equal(d.skipped[0].reason, "shape (5, 4, 3, 3) in a, (6, 10) in b");
	weights_diff_free(&d);
	model_drop(&ca);
	model_drop(&cb);

	/* no comparable layer is not an error */
	struct model c;
	static const char *const sc[] = {"other=diff_a.npy"};
	model_make(&c, "c", sc, 1);
	assert_int_equal(weights_diff_models(&a, &c, "fc1", 16, 4, &d, &err), 0);
	assert_int_equal(d.n_layers, 0);
	weights_diff_free(&d);
	model_drop(&a);
	model_drop(&b);
	model_drop(&c);
}

/* --- the subcommands ----------------------------------------------------------------------- */

static void copy_fixture(const char *dir, const char *rel, const char *name)
{
	char path[512];
	snprintf(path, sizeof path, DATA "%s", name);
	size_t len;
	struct nn_err err;
	char *buf = file_read_all(path, 1 << 20, &len, &err);
	assert_non_null(buf);
	tu_write(dir, rel, buf, len);
	free(buf);
}

/* A study of 2 instances with models a, b (weights) and c (none). */
static const char *make_study(void)
{
	const char *dir = tu_mkdtemp();
	int64_t labels[2] = {0, 1};
	tu_write_i64(dir, "labels.npy", labels, 2);
	int64_t pred[2] = {0, 0};
	for (int m = 0; m < 3; m++) {
		char rel[64];
		snprintf(rel, sizeof rel, "models/%c/pred.npy", 'a' + m);
		tu_write_i64(dir, rel, pred, 2);
	}
	copy_fixture(dir, "models/a/weights/fc.npy", "diff_a.npy");
	copy_fixture(dir, "models/b/weights/fc.npy", "diff_b_F.npy");
	copy_fixture(dir, "models/a/weights/bias.npy", "bias_a.npy");
	copy_fixture(dir, "models/b/weights/bias.npy", "bias_b.npy");
	copy_fixture(dir, "models/b/weights/extra.npy", "grid_w.npy");
	return dir;
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

static void test_cli(void **state)
{
	(void)state;
	const char *dir = make_study();
	char args[1024];
	json_t *j;
	json_t *e = expected();

	snprintf(args, sizeof args, "diff %s --models a b --json", dir);
	assert_int_equal(run(args, &j), 0);
	assert_string_equal(json_string_value(json_object_get(j, "a")), "a");
	json_t *layers = json_object_get(j, "layers");
	assert_int_equal(json_array_size(layers), 2);
	json_t *fc = json_array_get(layers, 1);
	assert_string_equal(json_string_value(json_object_get(fc, "name")), "fc");
	json_t *want = json_object_get(json_object_get(e, "diff"), "diff_a.npy diff_b_F.npy 16 4");
	near("cli", "l2", json_number_value(json_object_get(fc, "l2")),
	     json_object_get(want, "l2"));
	json_t *lv = json_array_get(json_object_get(fc, "levels"), 3);
	assert_true(json_number_value(json_object_get(lv, "lo")) == 1.0);
	assert_true(json_equal(json_object_get(lv, "hist"),
	                       json_array_get(json_object_get(want, "hist"), 3)));
	assert_int_equal(json_array_size(json_object_get(fc, "bin_edges")), 17);
	json_t *sk = json_array_get(json_object_get(j, "skipped"), 0);
	assert_string_equal(json_string_value(json_object_get(sk, "name")), "extra");
	assert_string_equal(json_string_value(json_object_get(sk, "reason")), "only in b");
	json_decref(j);

	/* no comparable layers: exit 0, an empty list */
	snprintf(args, sizeof args, "diff %s --models a c --json", dir);
	assert_int_equal(run(args, &j), 0);
	assert_int_equal(json_array_size(json_object_get(j, "layers")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "skipped")), 2);
	json_decref(j);
	snprintf(args, sizeof args, "diff %s --models a c", dir);
	assert_int_equal(run(args, NULL), 0);
	snprintf(args, sizeof args, "diff --models a b %s --bins 5 --layer fc", dir);
	assert_int_equal(run(args, NULL), 0);
	/* usage and bad input */
	snprintf(args, sizeof args, "diff %s --models a zz", dir);
	assert_int_equal(run(args, NULL), 2);
	snprintf(args, sizeof args, "diff %s --models a", dir);
	assert_int_equal(run(args, NULL), 2);
	snprintf(args, sizeof args, "diff %s --models a b --bins 0", dir);
	assert_int_equal(run(args, NULL), 2);
	snprintf(args, sizeof args, "diff %s --models a b --layer nope", dir);
	assert_int_equal(run(args, NULL), 2);

	snprintf(args, sizeof args, "weights %s --model b --layer extra --grid 5x7 --json", dir);
	assert_int_equal(run(args, &j), 0);
	want = json_object_get(json_object_get(e, "grid"), "grid_w.npy 5 7");
	near("cli", "std", json_number_value(json_object_get(j, "std")),
	     json_object_get(want, "std"));
	near("cli", "scale", json_number_value(json_object_get(j, "scale")),
	     json_object_get(want, "peak_scale"));
	json_t *g = json_object_get(j, "grid");
	assert_int_equal(json_array_size(g), 5);
	assert_true(json_number_value(json_array_get(json_array_get(g, 1), 1)) == -3.5);
	json_t *rs = json_object_get(j, "row_starts");
	assert_int_equal(json_integer_value(json_array_get(rs, 4)), 29);
	json_decref(j);
	snprintf(args, sizeof args, "weights %s --model a --layer bias --json --summary mean", dir);
	assert_int_equal(run(args, &j), 0);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "shape"), 0)), 7);
	assert_int_equal(json_array_size(json_array_get(json_object_get(j, "grid"), 0)), 7);
	json_decref(j);
	snprintf(args, sizeof args, "weights %s --model a --layer fc", dir);
	assert_int_equal(run(args, NULL), 0);
	snprintf(args, sizeof args, "weights %s --model a", dir); /* two layers: which? */
	assert_int_equal(run(args, NULL), 2);
	snprintf(args, sizeof args, "weights %s --model c", dir);
	assert_int_equal(run(args, NULL), 2);
	snprintf(args, sizeof args, "weights %s --model a --layer fc --grid 0x3", dir);
	assert_int_equal(run(args, NULL), 2);
	snprintf(args, sizeof args, "weights %s --model a --layer fc --summary max", dir);
	assert_int_equal(run(args, NULL), 2);
	json_decref(e);
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_block_start),
	    cmocka_unit_test(test_grid_fixtures),
	    cmocka_unit_test(test_grid_peak_by_hand),
	    cmocka_unit_test(test_grid_refusals),
	    cmocka_unit_test(test_diff_fixtures),
	    cmocka_unit_test(test_diff_by_hand),
	    cmocka_unit_test(test_diff_refusals),
	    cmocka_unit_test(test_models),
	    cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
