/* test_sort.c — ordering instances by index, id and value expressions (expr_sort). */
#include "testutil.h"

#include <math.h>

#include "nncmp/filter.h"
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
		assert_true(keys[k] == s->models[0].conf[idx[k]]);
		if (k)
			assert_true(keys[k - 1] > keys[k] ||
			            (keys[k - 1] == keys[k] && idx[k - 1] < idx[k]));
	}
	free(keys);
	assert_int_equal(expr_sort(s, idx, s->n, "margin(cnn):asc", NULL, &err, &col), 0);
	for (size_t k = 1; k < s->n; k++)
		assert_true(s->models[0].margin[idx[k - 1]] <= s->models[0].margin[idx[k]]);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_index_and_id),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests_name("sort", tests, NULL, NULL);
}
