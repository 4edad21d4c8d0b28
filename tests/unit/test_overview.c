/*
 * test_overview.c — overview.h (Bäuerle's label -> prediction overview) on a study built by
 * hand. The expected rows are worked out from this table, never by running the code:
 *
 *   i  label  pred  conf - p_label  IIES = (1 + that) / 2  bin floor(10 * (conf - p_label))
 *   0  0      0     0               right
 *   1  0      1     0.65            0.825                  6
 *   2  0      2     0.25            0.625                  2
 *   3  1      2     0.25            0.625                  2
 *   4  1      1     0               right
 *   5  2      0     0.45            0.725                  4
 *   6  2      1     0.85            0.925                  8
 *   7  2      0     0.45            0.725                  4
 *
 * Rows: label 2 (3 errors: ->0 x2 {5, 7}, ->1 x1 {6}), label 0 (2: ->1 {1}, ->2 {2}, a tie
 * of counts in class order), label 1 (1: ->2 {3}).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/overview.h"

#define N      8
#define C      3
#define STR(s) ((char *)(s))

static char *classes[C] = {STR("a"), STR("b"), STR("c")};
static int32_t labels[N] = {0, 0, 0, 1, 1, 2, 2, 2};
static int32_t pred[N] = {0, 1, 2, 2, 1, 0, 1, 0};
static double conf[N] = {0.8, 0.75, 0.55, 0.6, 0.8, 0.7, 0.9, 0.6};
static double p_label[N] = {0.8, 0.1, 0.3, 0.35, 0.8, 0.25, 0.05, 0.15};

static struct model model;
static struct study study;

static void setup_study(void)
{
	memset(&model, 0, sizeof model);
	model.name = STR("m");
	model.src = SRC_PROBS;
	model.d_pred = pred;
	model.d_conf = conf;
	model.d_p_label = p_label;
	memset(&study, 0, sizeof study);
	study.name = STR("hand");
	study.n = N;
	study.n_classes = C;
	study.classes = classes;
	study.labels = labels;
	study.n_models = 1;
	study.models = &model;
}

static void check_cell(const struct overview_cell *c, int32_t p, size_t n, const uint32_t *idx,
                       int bin)
{
	assert_int_equal(c->pred, p);
	assert_int_equal(c->n, n);
	for (size_t k = 0; k < n; k++)
		assert_int_equal(c->idx[k], idx[k]);
	for (int b = 0; b < OVERVIEW_BINS; b++)
		assert_true(c->hist[b] == (b == bin ? (double)n : 0.0));
}

static void test_rows(void **state)
{
	(void)state;
	setup_study();
	struct overview o;
	struct nn_err err = {{0}};
	assert_int_equal(overview_compute(&study, 0, NULL, &o, &err), 0);
	assert_int_equal(o.n_errors, 6);
	assert_int_equal(o.n_settled, 0);
	assert_int_equal(o.n_rows, 3);
	assert_int_equal(o.rows[0].label, 2);
	assert_int_equal(o.rows[0].errors, 3);
	assert_int_equal(o.rows[0].n_cells, 2);
	check_cell(&o.rows[0].cells[0], 0, 2, (const uint32_t[]){5, 7}, 4);
	check_cell(&o.rows[0].cells[1], 1, 1, (const uint32_t[]){6}, 8);
	assert_int_equal(o.rows[1].label, 0);
	assert_int_equal(o.rows[1].errors, 2);
	assert_int_equal(o.rows[1].n_cells, 2);
	check_cell(&o.rows[1].cells[0], 1, 1, (const uint32_t[]){1}, 6);
	check_cell(&o.rows[1].cells[1], 2, 1, (const uint32_t[]){2}, 2);
	assert_int_equal(o.rows[2].label, 1);
	assert_int_equal(o.rows[2].errors, 1);
	assert_int_equal(o.rows[2].n_cells, 1);
	check_cell(&o.rows[2].cells[0], 2, 1, (const uint32_t[]){3}, 2);
	overview_free(&o);
	assert_int_equal(o.n_rows, 0);
	overview_free(&o); /* twice is allowed */
}

/* Decisions: 5 kept and 6 removed leave; 1 skipped stays (skipped is undecided). Label 2 keeps
 * one error (7), tying label 1, which comes first by class order. */
static void test_settled(void **state)
{
	(void)state;
	setup_study();
	uint8_t status[N] = {0};
	status[5] = STATUS_KEPT;
	status[6] = STATUS_REMOVED;
	status[1] = STATUS_SKIPPED;
	status[0] = STATUS_RELABELLED; /* right anyway: counts as settled, not as an error */
	study.status = status;
	struct overview o;
	struct nn_err err = {{0}};
	assert_int_equal(overview_compute(&study, 0, NULL, &o, &err), 0);
	assert_int_equal(o.n_settled, 3);
	assert_int_equal(o.n_errors, 4);
	assert_int_equal(o.n_rows, 3);
	assert_int_equal(o.rows[0].label, 0);
	assert_int_equal(o.rows[0].errors, 2);
	assert_int_equal(o.rows[1].label, 1);
	assert_int_equal(o.rows[2].label, 2);
	check_cell(&o.rows[2].cells[0], 0, 1, (const uint32_t[]){7}, 4);
	overview_free(&o);
	study.status = NULL;
}

/* A prediction-only model: every error has IIES 1, the last bin. */
static void test_pred_only(void **state)
{
	(void)state;
	setup_study();
	model.src = SRC_PRED;
	model.d_conf = model.d_p_label = NULL;
	struct overview o;
	struct nn_err err = {{0}};
	assert_int_equal(overview_compute(&study, 0, NULL, &o, &err), 0);
	check_cell(&o.rows[0].cells[0], 0, 2, (const uint32_t[]){5, 7}, OVERVIEW_BINS - 1);
	overview_free(&o);
	assert_int_equal(overview_compute(&study, 1, NULL, &o, &err), -1);
	assert_int_equal(o.n_rows, 0);
}

/* Every prediction right: no rows. */
static void test_none(void **state)
{
	(void)state;
	setup_study();
	model.d_pred = labels;
	model.src = SRC_PRED;
	struct overview o;
	struct nn_err err = {{0}};
	assert_int_equal(overview_compute(&study, 0, NULL, &o, &err), 0);
	assert_int_equal(o.n_rows, 0);
	assert_int_equal(o.n_errors, 0);
	overview_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rows),
	    cmocka_unit_test(test_settled),
	    cmocka_unit_test(test_pred_only),
	    cmocka_unit_test(test_none),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
