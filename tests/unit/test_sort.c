/* test_sort.c — ordering instances by index, id and value expressions (expr_sort). */
#include "testutil.h"

#include <math.h>

#include "nncmp/filter.h"
#include "nncmp/keysort.h"
#include "nncmp/npy.h"
#include "nncmp/study.h"

static struct study *open_digits(void)
{
	struct nn_err err = {{0}};
	struct study *s = study_open("demo-data/digits", &err);
	if (!s)
		fail_msg("%s", err.msg);
	return s;
}

static uint32_t *all(const struct study *s)
{
	uint32_t *idx = xcalloc(s->n, sizeof *idx);
	for (size_t i = 0; i < s->n; i++)
		idx[i] = (uint32_t)(s->n - 1 - i); /* start reversed, so sorting has work to do */
	return idx;
}

static void test_values(void **state)
{
	(void)state;
	struct study *s = open_digits();
	uint32_t *idx = all(s);
	struct nn_err err = {{0}};
	size_t col;
	double *keys = NULL;
	assert_int_equal(expr_sort(s, idx, s->n, "conf(cnn)", &keys, &err, &col), 0);
	assert_non_null(keys);
	for (size_t k = 0; k < s->n; k++) {
		/* keys are the values of the sorted instances, highest first, ties by index */
		assert_true(keys[k] == model_conf(&s->models[0], idx[k]));
		if (k)
			assert_true(keys[k - 1] > keys[k] ||
			            (keys[k - 1] == keys[k] && idx[k - 1] < idx[k]));
	}
	free(keys);
	assert_int_equal(expr_sort(s, idx, s->n, "margin(cnn):asc", NULL, &err, &col), 0);
	for (size_t k = 1; k < s->n; k++)
		assert_true(model_margin(&s->models[0], idx[k - 1]) <=
		            model_margin(&s->models[0], idx[k]));
	free(idx);
	study_free(s);
}

static void test_index_and_id(void **state)
{
	(void)state;
	struct study *s = open_digits();
	uint32_t *idx = all(s);
	struct nn_err err = {{0}};
	size_t col;
	double *keys = (double *)&col; /* must come back NULL for index and id */
	assert_int_equal(expr_sort(s, idx, s->n, "index", &keys, &err, &col), 0);
	assert_null(keys);
	for (size_t k = 0; k < s->n; k++)
		assert_int_equal(idx[k], k);
	assert_int_equal(expr_sort(s, idx, s->n, "index:desc", NULL, &err, &col), 0);
	assert_int_equal(idx[0], s->n - 1);
	/* digit ids are "digit-NNNNN" in dataset order, so id order is index order */
	assert_int_equal(expr_sort(s, idx, s->n, "id", NULL, &err, &col), 0);
	for (size_t k = 1; k < s->n; k++)
		assert_true(strcmp(s->ids[idx[k - 1]], s->ids[idx[k]]) < 0);
	assert_int_equal(expr_sort(s, idx, s->n, "id:desc", NULL, &err, &col), 0);
	assert_int_equal(idx[0], s->n - 1);
	free(idx);
	study_free(s);
}

static void test_refusals(void **state)
{
	(void)state;
	struct study *s = open_digits();
	uint32_t *idx = all(s);
	struct nn_err err = {{0}};
	size_t col;
	assert_int_equal(expr_sort(s, idx, s->n, "cnn == gt", NULL, &err, &col), -1);
	assert_non_null(strstr(err.msg, "a condition, not a value"));
	assert_int_equal(expr_sort(s, idx, s->n, "conf(cnnn)", NULL, &err, &col), -1);
	assert_int_equal(col, 6);
	free(idx);
	study_free(s);
}

/*
 * The order and keys of expr_sort(key) against the previous path: the values read one instance
 * at a time through the mapping (expr_value on a fresh compile, whose act() nodes are not
 * gathered), checked against npy_at too, then ordered as expr_sort orders (index order, then a
 * stable sort by value). idx is the selection, in any order.
 */
static void check_against_mapping(const struct study *s, const uint32_t *sel, size_t n,
                                  const char *key, const char *expr, bool asc,
                                  const struct npy *act, size_t unit)
{
	struct nn_err err = {{0}};
	size_t col;
	uint32_t *got = xcalloc(n ? n : 1, sizeof *got), *want = xcalloc(n ? n : 1, sizeof *want);
	memcpy(got, sel, n * sizeof *got);
	memcpy(want, sel, n * sizeof *want);
	double *keys = NULL;
	if (expr_sort(s, got, n, key, &keys, &err, &col) != 0)
		fail_msg("%s: %s", key, err.msg);
	struct expr *e = expr_compile(s, expr, &err, &col);
	assert_non_null(e);
	keysort_index(want, n);
	double *v = xcalloc(n ? n : 1, sizeof *v);
	for (size_t k = 0; k < n; k++) {
		v[k] = expr_value(e, want[k]);
		if (act) {
			double a = npy_at(act, want[k], unit);
			assert_true(v[k] == a || (isnan(v[k]) && isnan(a)));
		}
	}
	keysort(want, v, n, !asc);
	for (size_t k = 0; k < n; k++) {
		if (got[k] != want[k])
			fail_msg("%s: rank %zu is %u, through the mapping %u", key, k, got[k],
			         want[k]);
		assert_true(keys[k] == v[k] || (isnan(keys[k]) && isnan(v[k])));
	}
	expr_free(e);
	free(keys);
	free(v);
	free(got);
	free(want);
}

/* Sorts by act() read in blocks (expr_gather) give the orders and keys of the mapping's. */
static void test_act_gathered(void **state)
{
	(void)state;
	struct study *s = open_digits();
	uint32_t *idx = all(s);
	size_t tried = 0;
	for (size_t m = 0; m < s->n_models; m++)
		for (size_t l = 0; l < s->models[m].n_layers; l++) {
			const struct layer *la = &s->models[m].layers[l];
			if (!la->act_path)
				continue;
			for (size_t unit = 0; unit < la->act.cols; unit += la->act.cols / 3 + 1) {
				char e[256], k[300];
				snprintf(e, sizeof e, "act(%s.%s.%zu)", s->models[m].name, la->name,
				         unit);
				snprintf(k, sizeof k, "%s:asc", e);
				check_against_mapping(s, idx, s->n, e, e, false, &la->act, unit);
				check_against_mapping(s, idx, s->n / 3, k, e, true, &la->act, unit);
				tried++;
			}
		}
	assert_true(tried >= 3);
	free(idx);
	study_free(s);

	/* a generated layer: 20,011 x 37 (rows not a multiple of a block, an odd width), with
	 * NaN, infinities and many equal values, sorted whole, by a scattered subset, by a
	 * negated unit, and again once its pages are mapped (the mapping path) */
	const char *dir = tu_mkdtemp();
	const size_t n = 20011, h = 37;
	int64_t *lab = xcalloc(n, sizeof *lab);
	float *p = xcalloc(n * 2, sizeof *p), *a = xcalloc(n * h, sizeof *a);
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < n; i++) {
		lab[i] = (int64_t)(i % 2);
		p[2 * i] = 0.25f;
		p[2 * i + 1] = 0.75f;
		for (size_t j = 0; j < h; j++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			float f = (float)(x % 1000) / 16.0f - 20.0f;
			a[i * h + j] = x % 97 == 0   ? NAN
			               : x % 89 == 0 ? INFINITY
			               : x % 83 == 0 ? -INFINITY
			                             : f;
		}
	}
	tu_write_i64(dir, "labels.npy", lab, n);
	tu_write_f32(dir, "models/a/probs.npy", p, n, 2);
	tu_write_f32(dir, "models/a/act/big.npy", a, n, h);
	uint32_t *sub = xcalloc(n, sizeof *sub);
	size_t ns = 0;
	for (size_t i = n; i-- > 0;)
		if (i % 7 == 3 || i % 1013 < 40)
			sub[ns++] = (uint32_t)i;
	idx = xcalloc(n, sizeof *idx);
	for (size_t i = 0; i < n; i++)
		idx[i] = (uint32_t)((i * 7919) % n);
	const struct {
		const uint32_t *sel;
		size_t n;
		const char *key, *expr;
		bool asc;
		size_t unit; /* of a bare act(), else SIZE_MAX */
	} cases[] = {
	    {idx, n, "act(a.big.0)", "act(a.big.0)", false, 0},
	    {idx, n, "act(a.big.36):asc", "act(a.big.36)", true, 36},
	    {sub, ns, "act(a.big.17)", "act(a.big.17)", false, 17},
	    {sub, ns, "-act(a.big.3)", "-act(a.big.3)", false, SIZE_MAX},
	    {idx, 0, "act(a.big.5)", "act(a.big.5)", false, 5},
	};
	/* each case on a fresh opening, so that the gather finds no page mapped (pread), and once
	 * more after every page was read through the mapping (the mapping's path) */
	for (size_t c = 0; c <= sizeof cases / sizeof cases[0]; c++) {
		struct nn_err err = {{0}};
		s = study_open(dir, &err);
		if (!s)
			fail_msg("%s", err.msg);
		const struct npy *act = &s->models[0].layers[0].act;
		if (c == sizeof cases / sizeof cases[0]) {
			volatile double sink = 0; /* every row's page into the page table */
			for (size_t i = 0; i < n; i++)
				sink += npy_at(act, i, 0);
			check_against_mapping(s, idx, n, "act(a.big.9)", "act(a.big.9)", false, act,
			                      9);
		} else {
			check_against_mapping(
			    s, cases[c].sel, cases[c].n, cases[c].key, cases[c].expr, cases[c].asc,
			    cases[c].unit == SIZE_MAX ? NULL : act, cases[c].unit);
		}
		study_free(s);
	}
	free(sub);
	free(idx);
	free(lab);
	free(p);
	free(a);
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_index_and_id),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_act_gathered),
	};
	return cmocka_run_group_tests_name("sort", tests, NULL, NULL);
}
