/*
 * test_matrices.c — subset means (by both of their paths), neuron correlation, CKA and PCA
 * against NumPy's values (tests/data/matrices, written by tools/make_matrix_fixtures.py), their
 * invariances, and the BLAS wrapper against hand-computed products.
 */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>

#include "nncmp/linalg.h"
#include "nncmp/matrices.h"
#include "nncmp/matrices_internal.h"
#include "nncmp/project.h"
#include "nncmp/similarity.h"

#define DATA "tests/data/matrices/"

static json_t *expected;

static int setup(void **state)
{
	(void)state;
	json_error_t je;
	expected = json_load_file(DATA "expected.json", 0, &je);
	if (!expected)
		fprintf(stderr, "expected.json: %s\n", je.text);
	linalg_init(2);
	return expected ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(expected);
	return 0;
}

static json_t *want(const char *path)
{
	json_t *v = expected;
	char buf[128];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *tok = strtok(buf, "."); tok; tok = strtok(NULL, "."))
		v = json_object_get(v, tok);
	if (!v)
		fail_msg("expected.json has no %s", path);
	return v;
}

/* A JSON number, or NaN for null. */
static double num(const json_t *v)
{
	return json_is_null(v) ? NAN : json_number_value(v);
}

static void assert_close(double got, double exp, double tol, const char *what, size_t i, size_t j)
{
	if (isnan(exp) ? !isnan(got) : !(fabs(got - exp) <= tol * (1 + fabs(exp))))
		fail_msg("%s[%zu][%zu]: got %.10g, want %.10g", what, i, j, got, exp);
}

/* Compares a rows × cols row-major matrix with a JSON array of arrays. */
static void assert_matrix(const double *got, size_t rows, size_t cols, const json_t *exp,
                          double tol, const char *what)
{
	assert_int_equal(json_array_size(exp), rows);
	for (size_t i = 0; i < rows; i++) {
		const json_t *row = json_array_get(exp, i);
		assert_int_equal(json_array_size(row), cols);
		for (size_t j = 0; j < cols; j++)
			assert_close(got[i * cols + j], num(json_array_get(row, j)), tol, what, i,
			             j);
	}
}

/* Compares n values with a JSON array. */
static void assert_vector(const double *got, size_t n, const json_t *exp, double tol,
                          const char *what)
{
	assert_int_equal(json_array_size(exp), n);
	for (size_t j = 0; j < n; j++)
		assert_close(got[j], num(json_array_get(exp, j)), tol, what, 0, j);
}

static void open_npy(struct npy *a, const char *name)
{
	char path[256];
	struct nn_err err = {{0}};
	snprintf(path, sizeof path, DATA "%s", name);
	if (npy_open(a, path, &err) != 0)
		fail_msg("%s", err.msg);
}

/* A JSON array of indices as a uint32 array (caller frees); *n gets its length. */
static uint32_t *json_indices(const json_t *arr, size_t *n)
{
	*n = json_array_size(arr);
	uint32_t *idx = xcalloc(*n, sizeof *idx);
	for (size_t k = 0; k < *n; k++)
		idx[k] = (uint32_t)json_integer_value(json_array_get(arr, k));
	return idx;
}

static int32_t *read_labels(size_t *n)
{
	struct npy l;
	open_npy(&l, "labels.npy");
	*n = l.rows;
	int32_t *g = xcalloc(l.rows, sizeof *g);
	for (size_t i = 0; i < l.rows; i++)
		g[i] = (int32_t)npy_at(&l, i, 0);
	npy_close(&l);
	return g;
}

static void class_subsets(struct matrices_subsets *s, const int32_t *labels, size_t n)
{
	const char *names[] = {"c0", "c1", "c2", "c3", "c4"};
	matrices_subsets_by_group(s, labels, 5, names, NULL, n);
}

/*
 * Compares the means, valid counts, sizes and orders of m with the fixture `key`: row r of m with
 * its row rows[r] (rows NULL: the same row, and as many rows).
 */
static void check_means_rows(const struct matrices_means *m, const char *key, const size_t *rows)
{
	char what[64], path[64];
	snprintf(what, sizeof what, "%s.means", key);
	const json_t *means = want(what);
	snprintf(path, sizeof path, "%s.valid", key);
	const json_t *valid = want(path);
	snprintf(path, sizeof path, "%s.size", key);
	const json_t *size = want(path);
	snprintf(path, sizeof path, "%s.order", key);
	const json_t *order = want(path);
	snprintf(path, sizeof path, "%s.nonfinite", key);
	if (!rows) {
		assert_int_equal(m->rows, json_array_size(means));
		assert_int_equal(m->nonfinite, json_integer_value(want(path)));
	}
	uint32_t *ord = xcalloc(m->cols, sizeof *ord);
	for (size_t r = 0; r < m->rows; r++) {
		size_t e = rows ? rows[r] : r;
		const json_t *mrow = json_array_get(means, e);
		assert_int_equal(json_array_size(mrow), m->cols);
		for (size_t j = 0; j < m->cols; j++)
			assert_close(m->mean[r * m->cols + j], num(json_array_get(mrow, j)), 1e-6,
			             what, r, j);
		assert_int_equal(m->size[r], json_integer_value(json_array_get(size, e)));
		for (size_t j = 0; j < m->cols; j++)
			assert_int_equal(
			    m->valid[r * m->cols + j],
			    json_integer_value(json_array_get(json_array_get(valid, e), j)));
		matrices_order(m, r, ord);
		for (size_t j = 0; j < m->cols; j++)
			assert_int_equal(ord[j], json_integer_value(
			                             json_array_get(json_array_get(order, e), j)));
	}
	free(ord);
}

static void check_means(const struct matrices_means *m, const char *key)
{
	check_means_rows(m, key, NULL);
}

/* Per-class means of float32 and float16 layers, with a class whose only value is infinite. */
static void test_class_means(void **state)
{
	(void)state;
	size_t n;
	int32_t *labels = read_labels(&n);
	struct matrices_subsets s = {0};
	class_subsets(&s, labels, n);
	static const char *const files[][2] = {{"x.npy", "class_means_x"},
	                                       {"x16.npy", "class_means_x16"}};
	for (size_t f = 0; f < 2; f++) {
		struct npy x;
		open_npy(&x, files[f][0]);
		struct matrices_means m;
		struct nn_err err = {{0}};
		assert_int_equal(matrices_means(&x, &s, NULL, &m, &err), 0);
		assert_int_equal(m.rows, 5);
		assert_int_equal(m.cols, 6);
		check_means(&m, files[f][1]);
		assert_true(isnan(m.mean[4 * 6 + 0])); /* class 4 has no finite neuron-0 value */
		matrices_means_free(&m);
		npy_close(&x);
	}
	matrices_subsets_free(&s);
	free(labels);
}

/* Overlapping filter rows and a complement. */
static void test_filter_means(void **state)
{
	(void)state;
	size_t n1, n2;
	uint32_t *f1 = json_indices(want("f1"), &n1), *f2 = json_indices(want("f2"), &n2);
	uint32_t *rest = xcalloc(300, sizeof *rest);
	size_t nr = 0, k = 0;
	for (uint32_t i = 0; i < 300; i++) {
		if (k < n1 && f1[k] == i)
			k++;
		else
			rest[nr++] = i;
	}
	struct matrices_subsets s = {0};
	matrices_subsets_add(&s, "f1", f1, n1);
	matrices_subsets_add(&s, "f2", f2, n2);
	matrices_subsets_add(&s, "rest", rest, nr);
	struct npy x;
	open_npy(&x, "x.npy");
	struct matrices_means m;
	struct nn_err err = {{0}};
	assert_int_equal(matrices_means(&x, &s, NULL, &m, &err), 0);
	check_means(&m, "filter_means_x");
	matrices_means_free(&m);
	npy_close(&x);
	matrices_subsets_free(&s);
	free(f1);
	free(f2);
	free(rest);
}

/*
 * Both paths of the means on the same data, against the same fixtures: the class rows (a
 * partition) of a float32 layer read in place and of a float16 one converted, and the disjoint
 * rows f1 and its complement; overlapping rows go through the GEMM, and the partition path
 * refuses them.
 */
static void test_means_paths(void **state)
{
	(void)state;
	static const enum matrices_path paths[] = {MATRICES_GEMM, MATRICES_PARTITION};
	struct nn_err err = {{0}};
	struct matrices_means m;
	size_t n;
	int32_t *labels = read_labels(&n);
	struct matrices_subsets cls = {0};
	class_subsets(&cls, labels, n);
	static const char *const files[][2] = {{"x.npy", "class_means_x"},
	                                       {"x16.npy", "class_means_x16"}};
	for (size_t f = 0; f < 2; f++) {
		struct npy x;
		open_npy(&x, files[f][0]);
		for (size_t p = 0; p < 2; p++) {
			assert_int_equal(matrices_means_path(&x, &cls, paths[p], NULL, &m, &err),
			                 0);
			check_means(&m, files[f][1]);
			matrices_means_free(&m);
		}
		npy_close(&x);
	}

	size_t n1, n2;
	uint32_t *f1 = json_indices(want("f1"), &n1), *f2 = json_indices(want("f2"), &n2);
	uint32_t *rest = xcalloc(300, sizeof *rest);
	size_t nr = 0, k = 0;
	for (uint32_t i = 0; i < 300; i++) {
		if (k < n1 && f1[k] == i)
			k++;
		else
			rest[nr++] = i;
	}
	struct npy x;
	open_npy(&x, "x.npy");
	struct matrices_subsets pair = {0}, overlap = {0};
	matrices_subsets_add(&pair, "f1", f1, n1);
	matrices_subsets_add(&pair, "rest", rest, nr);
	static const size_t pair_rows[] = {0, 2}; /* f1 and rest in filter_means_x */
	for (size_t p = 0; p < 2; p++) {
		assert_int_equal(matrices_means_path(&x, &pair, paths[p], NULL, &m, &err), 0);
		check_means_rows(&m, "filter_means_x", pair_rows);
		matrices_means_free(&m);
	}
	matrices_subsets_add(&overlap, "f1", f1, n1);
	matrices_subsets_add(&overlap, "f2", f2, n2);
	matrices_subsets_add(&overlap, "rest", rest, nr);
	assert_int_equal(matrices_means_path(&x, &overlap, MATRICES_GEMM, NULL, &m, &err), 0);
	check_means(&m, "filter_means_x");
	matrices_means_free(&m);
	assert_int_equal(matrices_means_path(&x, &overlap, MATRICES_PARTITION, NULL, &m, &err), -1);
	assert_non_null(strstr(err.msg, "overlap"));
	assert_null(m.mean);

	matrices_subsets_free(&pair);
	matrices_subsets_free(&overlap);
	matrices_subsets_free(&cls);
	npy_close(&x);
	free(f1);
	free(f2);
	free(rest);
	free(labels);
}

/*
 * An all-finite float32 layer is multiplied straight from the mapping; the same values as float64
 * (copied block by block) and a direct sum in double agree with it.
 */
static void test_means_direct(void **state)
{
	(void)state;
	struct npy x;
	open_npy(&x, "x.npy");
	size_t n;
	int32_t *labels = read_labels(&n);
	float *v = xcalloc(300 * 6, sizeof *v);
	double *d = xcalloc(300 * 6, sizeof *d), want_mean[5 * 6] = {0};
	int32_t *lab = xcalloc(300, sizeof *lab);
	size_t m = 0, count[5] = {0};
	for (size_t i = 0; i < 300; i++) {
		npy_rows_f32(&x, i, 1, v + m * 6);
		if (!matrices_finite(v + m * 6, 6))
			continue;
		lab[m] = labels[i];
		count[lab[m]]++;
		for (size_t j = 0; j < 6; j++)
			d[m * 6 + j] = v[m * 6 + j];
		m++;
	}
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < 6; j++)
			want_mean[lab[i] * 6 + j] += d[i * 6 + j] / (double)count[lab[i]];
	const char *dir = tu_mkdtemp();
	tu_write_f32(dir, "f4.npy", v, m, 6);
	char shape[32];
	snprintf(shape, sizeof shape, "(%zu, 6)", m);
	tu_write_npy(dir, "f8.npy", "<f8", shape, d, m * 6 * sizeof *d);
	struct matrices_subsets s = {0};
	class_subsets(&s, lab, m);
	for (int f = 0; f < 2; f++) {
		char path[512];
		struct npy a;
		struct nn_err err = {{0}};
		snprintf(path, sizeof path, "%s/%s", dir, f ? "f8.npy" : "f4.npy");
		assert_int_equal(npy_open(&a, path, &err), 0);
		struct matrices_means mm;
		assert_int_equal(matrices_means(&a, &s, NULL, &mm, &err), 0);
		assert_int_equal(mm.nonfinite, 0);
		for (size_t c = 0; c < 4 * 6; c++) /* class 4's only instance had an infinity */
			assert_close(mm.mean[c], want_mean[c], 1e-6, f ? "f8" : "f4", c / 6, c % 6);
		for (size_t j = 0; j < 6; j++)
			assert_true(isnan(mm.mean[4 * 6 + j]) && mm.size[4] == 0);
		matrices_means_free(&mm);
		npy_close(&a);
	}
	matrices_subsets_free(&s);
	tu_rm_rf(dir);
	free(v);
	free(d);
	free(lab);
	free(labels);
	npy_close(&x);
}

/* Unsorted or out-of-range index lists are refused with a message. */
static void test_bad_subsets(void **state)
{
	(void)state;
	struct npy x;
	open_npy(&x, "x.npy");
	struct matrices_subsets s = {0};
	uint32_t bad[] = {3, 2};
	matrices_subsets_add(&s, "oops", bad, 2);
	struct matrices_means m;
	struct nn_err err = {{0}};
	assert_int_equal(matrices_means(&x, &s, NULL, &m, &err), -1);
	assert_non_null(strstr(err.msg, "not sorted"));
	matrices_subsets_free(&s);
	uint32_t far[] = {300};
	matrices_subsets_add(&s, "far", far, 1);
	assert_int_equal(matrices_means(&x, &s, NULL, &m, &err), -1);
	assert_non_null(strstr(err.msg, "out of range"));
	matrices_subsets_free(&s);
	npy_close(&x);
}

/* Ties keep index order, NaN goes last (hand-made means). */
static void test_order(void **state)
{
	(void)state;
	double mean[] = {1, 3, NAN, 3, -1, 2};
	struct matrices_means m = {.rows = 1, .cols = 6, .mean = mean};
	uint32_t ord[6];
	matrices_order(&m, 0, ord);
	uint32_t exp[] = {1, 3, 5, 0, 4, 2};
	for (size_t j = 0; j < 6; j++)
		assert_int_equal(ord[j], exp[j]);
}

static void check_top(const struct similarity *sim, const char *key, size_t k, bool by_abs)
{
	const json_t *exp = want(key);
	struct similarity_match m[8];
	for (size_t i = 0; i < sim->h1; i++) {
		const json_t *row = json_array_get(exp, i);
		size_t got = similarity_top(sim, i, k, by_abs, SIZE_MAX, m);
		assert_int_equal(got, json_array_size(row));
		for (size_t t = 0; t < got; t++) {
			const json_t *e = json_array_get(row, t);
			assert_int_equal(m[t].neuron, json_integer_value(json_array_get(e, 0)));
			assert_close(m[t].r, num(json_array_get(e, 1)), 1e-6, key, i, t);
		}
	}
}

/* Correlation matrix, top matches and CKA of x and y; neuron 5 of x is constant (NaN row). */
static void test_correlation(void **state)
{
	(void)state;
	struct npy x, y;
	open_npy(&x, "x.npy");
	open_npy(&y, "y.npy");
	struct similarity sim;
	struct nn_err err = {{0}};
	assert_int_equal(similarity_compute(&x, &y, NULL, 0, true, NULL, &sim, &err), 0);
	assert_int_equal(sim.used, json_integer_value(want("corr_xy.used")));
	assert_int_equal(sim.skipped, 300 - sim.used);
	assert_matrix(sim.r, 6, 4, want("corr_xy.r"), 1e-6, "corr_xy");
	check_top(&sim, "corr_xy.top3", 3, false);
	check_top(&sim, "corr_xy.top2_abs", 2, true);
	struct similarity_match m[4];
	assert_int_equal(similarity_top(&sim, 5, 4, false, SIZE_MAX, m), 0);
	assert_int_equal(similarity_top(&sim, 1, 4, true, 3, m), 3); /* skip leaves 3 */
	assert_close(sim.cka, json_number_value(want("cka.xy")), 1e-6, "cka", 0, 0);
	similarity_free(&sim);
	npy_close(&x);
	npy_close(&y);
}

/*
 * The long pair: 13000 rows are four spans of similarity.c's pass, dealt out to two threads (the
 * last span partial), with means up to 1e3 against unit spread and non-finite rows; all rows,
 * a subset (gaps and a long run), and xl against itself (the SYRK path). Then the same with one
 * BLAS thread, which must agree to rounding. NumPy float64 values: make_matrix_fixtures.py.
 */
static void test_correlation_long(void **state)
{
	(void)state;
	struct npy x, y;
	open_npy(&x, "xl.npy");
	open_npy(&y, "yl.npy");
	struct similarity sim, one;
	struct nn_err err = {{0}};
	assert_int_equal(linalg_threads(), 2);
	assert_int_equal(similarity_compute(&x, &y, NULL, 0, true, NULL, &sim, &err), 0);
	assert_int_equal(sim.used, json_integer_value(want("corr_long.used")));
	assert_int_equal(sim.skipped, 13000 - sim.used);
	assert_matrix(sim.r, 5, 3, want("corr_long.r"), 1e-6, "corr_long");
	assert_close(sim.cka, json_number_value(want("corr_long.cka")), 1e-6, "cka_long", 0, 0);
	linalg_init(1);
	assert_int_equal(similarity_compute(&x, &y, NULL, 0, true, NULL, &one, &err), 0);
	linalg_init(2);
	assert_int_equal(one.used, sim.used);
	for (size_t c = 0; c < 15; c++)
		assert_close(one.r[c], sim.r[c], 1e-6, "one thread", c, 0);
	assert_close(one.cka, sim.cka, 1e-6, "one thread cka", 0, 0);
	similarity_free(&one);
	similarity_free(&sim);

	size_t nf;
	uint32_t *f = json_indices(want("corr_long_sub.idx"), &nf);
	assert_int_equal(similarity_compute(&x, &y, f, nf, true, NULL, &sim, &err), 0);
	assert_int_equal(sim.used, json_integer_value(want("corr_long_sub.used")));
	assert_int_equal(sim.used + sim.skipped, nf);
	assert_matrix(sim.r, 5, 3, want("corr_long_sub.r"), 1e-6, "corr_long_sub");
	assert_close(sim.cka, json_number_value(want("corr_long_sub.cka")), 1e-6, "cka_sub", 0, 0);
	similarity_free(&sim);
	free(f);

	assert_int_equal(similarity_compute(&x, &x, NULL, 0, true, NULL, &sim, &err), 0);
	assert_int_equal(sim.used, json_integer_value(want("corr_long_self.used")));
	assert_matrix(sim.r, 5, 5, want("corr_long_self.r"), 1e-6, "corr_long_self");
	for (size_t i = 0; i < 5; i++)
		for (size_t j = 0; j < 5; j++)
			assert_true(sim.r[i * 5 + j] == sim.r[j * 5 + i]); /* mirrored exactly */
	assert_true(sim.cka == 1.0);
	similarity_free(&sim);
	npy_close(&x);
	npy_close(&y);
}

/* Over a subset of instances (runs and gaps), and with a float16 layer. */
static void test_correlation_subset_f16(void **state)
{
	(void)state;
	struct npy x, x16, y;
	open_npy(&x, "x.npy");
	open_npy(&x16, "x16.npy");
	open_npy(&y, "y.npy");
	size_t n1;
	uint32_t *f1 = json_indices(want("f1"), &n1);
	struct similarity sim;
	struct nn_err err = {{0}};
	assert_int_equal(similarity_compute(&x, &y, f1, n1, true, NULL, &sim, &err), 0);
	assert_int_equal(sim.used, json_integer_value(want("corr_xy_f1.used")));
	assert_int_equal(sim.used + sim.skipped, n1);
	assert_matrix(sim.r, 6, 4, want("corr_xy_f1.r"), 1e-6, "corr_xy_f1");
	assert_close(sim.cka, json_number_value(want("cka.xy_f1")), 1e-6, "cka_f1", 0, 0);
	similarity_free(&sim);
	assert_int_equal(similarity_compute(&x16, &y, NULL, 0, true, NULL, &sim, &err), 0);
	assert_matrix(sim.r, 6, 4, want("corr_x16y.r"), 1e-6, "corr_x16y");
	assert_close(sim.cka, json_number_value(want("cka.x16y")), 1e-6, "cka_x16", 0, 0);
	similarity_free(&sim);
	free(f1);
	npy_close(&x);
	npy_close(&x16);
	npy_close(&y);
}

/*
 * CKA(X, X) = 1 (the same matrix, and a copy opened separately); CKA is invariant to an
 * orthogonal transform (xq = x·Q·2.5) and to isotropic scaling (3·x, written here).
 */
static void test_cka_properties(void **state)
{
	(void)state;
	struct npy x, x2, xq, y, x3;
	open_npy(&x, "x.npy");
	open_npy(&x2, "x.npy");
	open_npy(&xq, "xq.npy");
	open_npy(&y, "y.npy");
	const char *dir = tu_mkdtemp();
	float *v = xcalloc(300 * 6, sizeof *v);
	npy_rows_f32(&x, 0, 300, v);
	for (size_t c = 0; c < 300 * 6; c++)
		v[c] *= 3.0f;
	tu_write_f32(dir, "x3.npy", v, 300, 6);
	char path[512];
	snprintf(path, sizeof path, "%s/x3.npy", dir);
	struct nn_err err = {{0}};
	assert_int_equal(npy_open(&x3, path, &err), 0);

	struct similarity s;
	assert_int_equal(similarity_compute(&x, &x, NULL, 0, true, NULL, &s, &err), 0);
	assert_true(s.cka == 1.0);
	for (size_t i = 0; i < 5; i++)
		assert_close(s.r[i * 6 + i], 1.0, 1e-6, "diag", i, i);
	assert_true(isnan(s.r[5 * 6 + 5]));
	for (size_t i = 0; i < 6; i++)
		for (size_t j = 0; j < 6; j++)
			assert_close(s.r[i * 6 + j], s.r[j * 6 + i], 1e-7, "symmetric", i, j);
	struct similarity_match m[6];
	size_t got = similarity_top(&s, 0, 6, false, 0, m);
	assert_int_equal(got, 4); /* itself and the constant neuron are left out */
	for (size_t t = 0; t < got; t++)
		assert_true(m[t].neuron != 0 && m[t].neuron != 5);
	similarity_free(&s);

	assert_int_equal(similarity_compute(&x, &x2, NULL, 0, true, NULL, &s, &err), 0);
	assert_close(s.cka, 1.0, 1e-6, "cka(x, copy of x)", 0, 0);
	similarity_free(&s);

	double base;
	assert_int_equal(similarity_compute(&x, &y, NULL, 0, true, NULL, &s, &err), 0);
	base = s.cka;
	similarity_free(&s);
	assert_int_equal(similarity_compute(&xq, &y, NULL, 0, true, NULL, &s, &err), 0);
	assert_close(s.cka, base, 1e-5, "cka(xQ, y)", 0, 0);
	assert_close(s.cka, json_number_value(want("cka.xqy")), 1e-6, "cka(xQ, y) numpy", 0, 0);
	similarity_free(&s);
	assert_int_equal(similarity_compute(&x3, &y, NULL, 0, true, NULL, &s, &err), 0);
	assert_close(s.cka, base, 1e-6, "cka(3x, y)", 0, 0);
	similarity_free(&s);
	assert_int_equal(similarity_compute(&y, &x, NULL, 0, true, NULL, &s, &err), 0);
	assert_close(s.cka, base, 1e-6, "cka(y, x)", 0, 0);
	similarity_free(&s);

	free(v);
	npy_close(&x);
	npy_close(&x2);
	npy_close(&xq);
	npy_close(&y);
	npy_close(&x3);
	tu_rm_rf(dir);
}

static void check_pca(const struct projection *p, const char *key)
{
	char path[64];
	snprintf(path, sizeof path, "%s.used", key);
	assert_int_equal(p->used, json_integer_value(want(path)));
	snprintf(path, sizeof path, "%s.axes", key);
	assert_matrix(p->axes, 2, p->h, want(path), 1e-5, path);
	snprintf(path, sizeof path, "%s.mean", key);
	assert_vector(p->mean, p->h, want(path), 1e-7, path);
	snprintf(path, sizeof path, "%s.variance", key);
	assert_vector(p->variance, 2, want(path), 1e-6, path);
	snprintf(path, sizeof path, "%s.explained", key);
	assert_vector(p->explained, 2, want(path), 1e-6, path);
	snprintf(path, sizeof path, "%s.points", key);
	double *pts = xcalloc(2 * p->n, sizeof *pts);
	for (size_t k = 0; k < 2 * p->n; k++)
		pts[k] = p->points[k];
	assert_matrix(pts, p->n, 2, want(path), 2e-6, path);
	free(pts);
}

/* Axes, variances, explained ratios and points of NumPy's eigh with the same sign rule. */
static void test_pca(void **state)
{
	(void)state;
	struct npy x, x16, y;
	open_npy(&x, "x.npy");
	open_npy(&x16, "x16.npy");
	open_npy(&y, "y.npy");
	struct projection p;
	struct nn_err err = {{0}};
	assert_int_equal(project_pca(&x, NULL, 0, NULL, &p, &err), 0);
	assert_int_equal(p.skipped, 3);
	check_pca(&p, "pca_x");
	project_free(&p);
	assert_int_equal(project_pca(&x16, NULL, 0, NULL, &p, &err), 0);
	check_pca(&p, "pca_x16");
	project_free(&p);
	assert_int_equal(project_pca(&y, NULL, 0, NULL, &p, &err), 0);
	check_pca(&p, "pca_y");
	project_free(&p);
	size_t n1;
	uint32_t *f1 = json_indices(want("f1"), &n1);
	assert_int_equal(project_pca(&x, f1, n1, NULL, &p, &err), 0);
	assert_int_equal(p.n, n1);
	check_pca(&p, "pca_x_f1");
	project_free(&p);
	free(f1);
	npy_close(&x);
	npy_close(&x16);
	npy_close(&y);
}

/*
 * Many blocks: x and y tiled 20 times (6000 rows, two blocks of 4096 and the rest) give the same
 * class means, correlations, CKA and PCA as the 300-row originals, whose values NumPy computed
 * (duplicating every instance changes none of these, and the (n−1) of the covariance scales
 * only the variances).
 */
static void test_many_blocks(void **state)
{
	(void)state;
	enum { REP = 20, N = 300 };
	struct npy x, y, bx, by;
	open_npy(&x, "x.npy");
	open_npy(&y, "y.npy");
	size_t n;
	int32_t *labels = read_labels(&n);
	float *vx = xcalloc(REP * N * 6, sizeof *vx), *vy = xcalloc(REP * N * 4, sizeof *vy);
	int32_t *big_labels = xcalloc(REP * N, sizeof *big_labels);
	for (size_t r = 0; r < REP; r++) {
		npy_rows_f32(&x, 0, N, vx + r * N * 6);
		npy_rows_f32(&y, 0, N, vy + r * N * 4);
		memcpy(big_labels + r * N, labels, N * sizeof *labels);
	}
	const char *dir = tu_mkdtemp();
	tu_write_f32(dir, "bx.npy", vx, REP * N, 6);
	tu_write_f32(dir, "by.npy", vy, REP * N, 4);
	char path[512];
	struct nn_err err = {{0}};
	snprintf(path, sizeof path, "%s/bx.npy", dir);
	assert_int_equal(npy_open(&bx, path, &err), 0);
	snprintf(path, sizeof path, "%s/by.npy", dir);
	assert_int_equal(npy_open(&by, path, &err), 0);

	struct matrices_subsets s = {0};
	class_subsets(&s, big_labels, REP * N);
	for (enum matrices_path p = MATRICES_AUTO; p <= MATRICES_PARTITION; p++) {
		struct matrices_means m;
		assert_int_equal(matrices_means_path(&bx, &s, p, NULL, &m, &err), 0);
		assert_matrix(m.mean, 5, 6, want("class_means_x.means"), 1e-5, "tiled means");
		assert_int_equal(m.nonfinite, REP * 3);
		matrices_means_free(&m);
	}
	matrices_subsets_free(&s);

	struct similarity sim;
	assert_int_equal(similarity_compute(&bx, &by, NULL, 0, true, NULL, &sim, &err), 0);
	assert_int_equal(sim.skipped, REP * 4);
	assert_matrix(sim.r, 6, 4, want("corr_xy.r"), 1e-5, "tiled corr");
	assert_close(sim.cka, json_number_value(want("cka.xy")), 1e-5, "tiled cka", 0, 0);
	similarity_free(&sim);

	struct projection p;
	assert_int_equal(project_pca(&bx, NULL, 0, NULL, &p, &err), 0);
	assert_matrix(p.axes, 2, 6, want("pca_x.axes"), 1e-5, "tiled axes");
	assert_vector(p.explained, 2, want("pca_x.explained"), 1e-5, "tiled explained");
	const json_t *pts = want("pca_x.points");
	for (size_t i = 0; i < REP * N; i += 97)
		for (size_t c = 0; c < 2; c++)
			assert_close(p.points[i * 2 + c],
			             num(json_array_get(json_array_get(pts, i % N), c)), 1e-5,
			             "tiled points", i, c);
	project_free(&p);

	npy_close(&bx);
	npy_close(&by);
	npy_close(&x);
	npy_close(&y);
	free(vx);
	free(vy);
	free(big_labels);
	free(labels);
	tu_rm_rf(dir);
}

/*
 * The shifted sums give NumPy's means and a two-pass M2 (in double) with the sample's shift; with
 * a poor shift (0, or far off) float32 cancellation costs digits of M2, which is why the shift
 * is taken from a sample.
 */
static void test_shift(void **state)
{
	(void)state;
	struct npy x;
	open_npy(&x, "x.npy");
	float *v = xcalloc(300 * 6, sizeof *v), *blk = xcalloc(300 * 6, sizeof *blk);
	npy_rows_f32(&x, 0, 300, v);
	bool ok[300];
	size_t used = 0;
	for (size_t i = 0; i < 300; i++)
		used += ok[i] = matrices_finite(v + i * 6, 6);
	double m2_ref[6] = {0}, mean_ref[6] = {0};
	for (size_t i = 0; i < 300; i++)
		for (size_t j = 0; ok[i] && j < 6; j++)
			mean_ref[j] += v[i * 6 + j] / (double)used;
	for (size_t i = 0; i < 300; i++)
		for (size_t j = 0; ok[i] && j < 6; j++)
			m2_ref[j] += (v[i * 6 + j] - mean_ref[j]) * (v[i * 6 + j] - mean_ref[j]);
	double sample[6];
	assert_int_equal(matrices_shift(&x, NULL, NULL, 300, sample, NULL), used);
	double zero[6] = {0}, far[6] = {8, -5, 3, 4, 13, 3}; /* a few σ off */
	const double *shifts[] = {zero, sample, far};
	for (size_t t = 0; t < 3; t++) {
		double s1[6] = {0}, s2[6] = {0}, mean[6], m2[6];
		memcpy(blk, v, 300 * 6 * sizeof *v);
		matrices_shift_block(blk, 300, 6, shifts[t], ok, s1, s2);
		for (size_t j = 0; j < 6; j++)
			assert_true(blk[7 * 6 + j] == 0); /* row 7 has a NaN: zeroed */
		matrices_shift_finish(6, used, shifts[t], s1, s2, mean, m2);
		assert_vector(mean, 6, want("pca_x.mean"), t == 1 ? 1e-7 : 1e-4, "shifted mean");
		for (size_t j = 0; j < 6; j++)
			assert_close(m2[j], m2_ref[j], t == 1 ? 1e-6 : 1e-3, "shifted m2", t, j);
	}
	assert_true(sample[5] == 0.5); /* a constant neuron's shift is exact */
	free(v);
	free(blk);
	npy_close(&x);
}

/* Progress counts every pass's rows; a set cancel stops the work with "cancelled". */
static void test_progress_cancel(void **state)
{
	(void)state;
	struct npy x, y;
	open_npy(&x, "x.npy");
	open_npy(&y, "y.npy");
	struct nn_err err = {{0}};
	struct nn_progress prog;
	atomic_init(&prog.done, 0);
	atomic_init(&prog.total, 0);
	atomic_init(&prog.cancel, false);
	struct projection p;
	assert_int_equal(project_pca(&x, NULL, 0, &prog, &p, &err), 0);
	assert_int_equal(atomic_load(&prog.total), 600); /* two passes */
	assert_int_equal(atomic_load(&prog.done), 600);
	project_free(&p);
	atomic_store(&prog.done, 0);
	atomic_store(&prog.cancel, true);
	assert_int_equal(project_pca(&x, NULL, 0, &prog, &p, &err), -1);
	assert_string_equal(err.msg, "cancelled");
	assert_null(p.points);
	struct similarity sim;
	assert_int_equal(similarity_compute(&x, &y, NULL, 0, true, &prog, &sim, &err), -1);
	assert_string_equal(err.msg, "cancelled");
	assert_null(sim.r);
	struct matrices_subsets s = {0};
	uint32_t all[300];
	for (uint32_t i = 0; i < 300; i++)
		all[i] = i;
	matrices_subsets_add(&s, "all", all, 300);
	struct matrices_means m;
	assert_int_equal(matrices_means(&x, &s, &prog, &m, &err), -1);
	assert_null(m.mean);
	atomic_store(&prog.cancel, false);
	atomic_store(&prog.done, 0);
	assert_int_equal(matrices_means(&x, &s, &prog, &m, &err), 0);
	assert_int_equal(atomic_load(&prog.done), 300);
	matrices_means_free(&m);
	matrices_subsets_free(&s);
	npy_close(&x);
	npy_close(&y);
}

/* Too few usable rows, or layers of different lengths, are errors with a message. */
static void test_errors(void **state)
{
	(void)state;
	const char *dir = tu_mkdtemp();
	float v[] = {1, NAN, 2, 3, INFINITY, 4};
	tu_write_f32(dir, "a.npy", v, 3, 2);
	tu_write_f32(dir, "b.npy", v, 2, 3);
	char path[512];
	struct npy a, b, x;
	struct nn_err err = {{0}};
	snprintf(path, sizeof path, "%s/a.npy", dir);
	assert_int_equal(npy_open(&a, path, &err), 0);
	snprintf(path, sizeof path, "%s/b.npy", dir);
	assert_int_equal(npy_open(&b, path, &err), 0);
	open_npy(&x, "x.npy");
	struct projection p;
	assert_int_equal(project_pca(&a, NULL, 0, NULL, &p, &err), -1);
	assert_non_null(strstr(err.msg, "1 instance with finite activations"));
	struct similarity s;
	assert_int_equal(similarity_compute(&a, &b, NULL, 0, false, NULL, &s, &err), -1);
	assert_non_null(strstr(err.msg, "rows"));
	assert_int_equal(similarity_compute(&x, &a, NULL, 0, false, NULL, &s, &err), -1);
	npy_close(&a);
	npy_close(&b);
	npy_close(&x);
	tu_rm_rf(dir);
}

struct job {
	const struct npy *x, *y;
	struct similarity sim;
	struct projection proj;
	int rc;
};

static void *run_job(void *arg)
{
	struct job *j = arg;
	struct nn_err err;
	j->rc = similarity_compute(j->x, j->y, NULL, 0, true, NULL, &j->sim, &err);
	j->rc |= project_pca(j->x, NULL, 0, NULL, &j->proj, &err);
	return NULL;
}

/* Two threads computing at once (BLAS calls serialized by linalg's lock) get the same results as
 * one alone. */
static void test_concurrent(void **state)
{
	(void)state;
	struct npy x, y;
	open_npy(&x, "x.npy");
	open_npy(&y, "y.npy");
	struct job solo = {&x, &y, {0}, {0}, 0}, jobs[4];
	run_job(&solo);
	assert_int_equal(solo.rc, 0);
	pthread_t t[4];
	for (int k = 0; k < 4; k++) {
		jobs[k] = (struct job){k % 2 ? &y : &x, k % 2 ? &x : &y, {0}, {0}, 0};
		assert_int_equal(pthread_create(&t[k], NULL, run_job, &jobs[k]), 0);
	}
	for (int k = 0; k < 4; k++) {
		pthread_join(t[k], NULL);
		assert_int_equal(jobs[k].rc, 0);
		if (k % 2 == 0) {
			assert_true(jobs[k].sim.cka == solo.sim.cka);
			assert_memory_equal(jobs[k].sim.r, solo.sim.r, 6 * 4 * sizeof(double));
			assert_memory_equal(jobs[k].proj.points, solo.proj.points,
			                    300 * 2 * sizeof(float));
		} else {
			assert_close(jobs[k].sim.cka, solo.sim.cka, 1e-6, "cka(y, x)", 0, 0);
		}
		similarity_free(&jobs[k].sim);
		project_free(&jobs[k].proj);
	}
	similarity_free(&solo.sim);
	project_free(&solo.proj);
	npy_close(&x);
	npy_close(&y);
}

/* The wrapper's products and eigenpairs against hand-computed values. */
static void test_linalg(void **state)
{
	(void)state;
	/* A = [1 2 3; 4 5 6] (2×3), B = [1 0; 0 1; 1 1] (3×2): A·B = [4 5; 10 11] */
	float a[] = {1, 2, 3, 4, 5, 6}, b[] = {1, 0, 0, 1, 1, 1}, c[4];
	linalg_sgemm(false, false, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2);
	assert_true(c[0] == 4 && c[1] == 5 && c[2] == 10 && c[3] == 11);
	/* Aᵀ·A (3×3) = [17 22 27; 22 29 36; 27 36 45]; beta = 1 adds to what is there */
	double ad[] = {1, 2, 3, 4, 5, 6}, cd[9];
	for (size_t k = 0; k < 9; k++)
		cd[k] = 1;
	linalg_dgemm(true, false, 3, 3, 2, 1.0, ad, 3, ad, 3, 1.0, cd, 3);
	double exp[] = {18, 23, 28, 23, 30, 37, 28, 37, 46};
	for (size_t k = 0; k < 9; k++)
		assert_true(cd[k] == exp[k]);
	/* A·Aᵀ with B transposed = [14 32; 32 77] */
	linalg_sgemm(false, true, 2, 2, 3, 1.0f, a, 3, a, 3, 0.0f, c, 2);
	assert_true(c[0] == 14 && c[1] == 32 && c[2] == 32 && c[3] == 77);
	/* [[2 1 0] [1 2 0] [0 0 1]]: eigenvalues 3, 1, 1; top two 3 then 1 */
	double s[] = {2, 1, 0, 1, 2, 0, 0, 0, 1}, w[2], v[6];
	assert_int_equal(linalg_eigh_top(3, s, 2, w, v), 0);
	assert_close(w[0], 3, 1e-12, "w", 0, 0);
	assert_close(w[1], 1, 1e-12, "w", 1, 0);
	assert_close(fabs(v[0]), M_SQRT1_2, 1e-12, "v", 0, 0);
	assert_close(v[0] * v[2], 0.5, 1e-12, "v", 1, 0); /* (1, 1)/√2 up to sign */
	assert_true(linalg_threads() >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_class_means),
	    cmocka_unit_test(test_filter_means),
	    cmocka_unit_test(test_means_paths),
	    cmocka_unit_test(test_means_direct),
	    cmocka_unit_test(test_bad_subsets),
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_correlation),
	    cmocka_unit_test(test_correlation_subset_f16),
	    cmocka_unit_test(test_correlation_long),
	    cmocka_unit_test(test_cka_properties),
	    cmocka_unit_test(test_pca),
	    cmocka_unit_test(test_many_blocks),
	    cmocka_unit_test(test_shift),
	    cmocka_unit_test(test_progress_cancel),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_concurrent),
	    cmocka_unit_test(test_linalg),
	};
	return cmocka_run_group_tests_name("matrices", tests, setup, teardown);
}
