/*
 * test_filter_text.c — the expressions nncmp writes (filter_text.c) on a study built by hand:
 * class literals and quoted strings round-trip through the compiler to exactly the instances
 * meant, for class names with spaces, quotes, backslashes, reserved words in any case, a model's
 * name, non-ASCII letters, control characters and digits.
 *
 * One instance per class (instance i has label i). Model "mlp" predicts the label except on
 * 1 and 2 (predicts 0); model "cnn" predicts the label except on 2 and 3 (predicts 0).
 * So: both right {0, 4..11}, only mlp right {3}, only cnn right {1}, both wrong {2},
 * they disagree on {1, 3}.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/filter.h"

#define C      12
#define STR(s) ((char *)(s))

static char *classes[C] = {
    STR("cat"),
    STR("sea lion"),
    STR("say \"hi\""),
    STR("and"),
    STR("mlp"),
    STR("\xc3\x9cn\xc3\xaf"
        "code"),
    STR("back\\slash"),
    STR("tab\there"),
    STR("9"),
    STR("8"),
    STR("GT"),
    STR("11"),
};
/* what filter_class_literal must give for each */
static const char *const want_lit[C] = {
    "cat",
    "\"sea lion\"",
    "\"say \\\"hi\\\"\"",
    "\"and\"",
    "\"mlp\"",
    "\"\xc3\x9cn\xc3\xaf"
    "code\"",
    "\"back\\\\slash\"",
    "7",
    "\"9\"",
    "\"8\"",
    "\"GT\"",
    "11",
};
static int32_t labels[C] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static int32_t mlp_pred[C] = {0, 0, 0, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static int32_t cnn_pred[C] = {0, 1, 0, 0, 4, 5, 6, 7, 8, 9, 10, 11};
static char *texts[C] = {STR("a \"quoted\" word"), STR("back\\slash"), STR("plain")};
static uint8_t status[C];

static struct model models[2];
static struct study study;

static int setup(void **state)
{
	(void)state;
	models[0] = (struct model){.name = STR("mlp"), .src = SRC_PRED, .d_pred = mlp_pred};
	models[1] = (struct model){.name = STR("cnn"), .src = SRC_PRED, .d_pred = cnn_pred};
	study.name = STR("hand");
	study.n = C;
	study.n_classes = C;
	study.classes = classes;
	study.labels = labels;
	study.n_models = 2;
	study.models = models;
	return 0;
}

/* The instances text selects, as "0 4 7", or "error: MSG". */
static void select_text(const char *text, char *out, size_t size)
{
	struct nn_err err = {{0}};
	size_t col = 0;
	struct expr *e = expr_compile_condition(&study, text, &err, &col);
	if (!e) {
		snprintf(out, size, "error: %.100s", err.msg);
		return;
	}
	uint32_t idx[C];
	size_t n = expr_select(e, &study, idx);
	expr_free(e);
	out[0] = '\0';
	for (size_t k = 0; k < n; k++)
		snprintf(out + strlen(out), size - strlen(out), "%s%u", k ? " " : "", idx[k]);
}

static void test_class_literals(void **state)
{
	(void)state;
	for (int c = 0; c < C; c++) {
		char *lit = filter_class_literal(&study, c);
		assert_string_equal(lit, want_lit[c]);
		/* and it names exactly that class */
		char *f = xasprintf("gt == %s", lit), got[64], want[16];
		select_text(f, got, sizeof got);
		snprintf(want, sizeof want, "%d", c);
		assert_string_equal(got, want);
		free(f);
		free(lit);
	}
}

static void test_bare_names(void **state)
{
	(void)state;
	assert_true(filter_bare_name(&study, "cat"));
	assert_true(filter_bare_name(&study, "a-b.c_1"));
	assert_false(filter_bare_name(&study, "mlp"));   /* a model */
	assert_false(filter_bare_name(&study, "NOT"));   /* a keyword, any case */
	assert_false(filter_bare_name(&study, "Given")); /* a built-in name, any case */
	assert_false(filter_bare_name(&study, "1abc"));
	assert_false(filter_bare_name(&study, "-x"));
	assert_false(filter_bare_name(&study, ""));
	assert_false(filter_bare_name(&study, "a b"));
	assert_false(filter_bare_name(&study, "\xc3\x9c")); /* UTF-8 is quoted, to be safe */
	assert_true(filter_reserved("conf", false));
	assert_true(filter_reserved("Decided", true));
	assert_false(filter_reserved("Decided", false));
	/* keywords are read in any case: a model called "And" could never be named */
	assert_true(filter_reserved("And", false));
	assert_true(filter_reserved("OR", false));
	assert_false(filter_reserved("android", false));
	assert_true(filter_name_char('-', false));
	assert_false(filter_name_char('-', true));
	assert_true(filter_name_char(0xc3, true));
}

static void test_quote(void **state)
{
	(void)state;
	char *q = filter_quote("a \"quoted\" word");
	assert_string_equal(q, "\"a \\\"quoted\\\" word\"");
	char *f = xasprintf("text ~ %s", q), got[64];
	study.texts = texts;
	texts[3] = NULL;
	select_text(f, got, sizeof got);
	assert_string_equal(got, "0");
	free(f);
	free(q);
	q = filter_quote("back\\slash");
	f = xasprintf("text ~ %s", q);
	select_text(f, got, sizeof got);
	assert_string_equal(got, "1");
	free(f);
	free(q);
	study.texts = NULL;
}

static void test_and(void **state)
{
	(void)state;
	char *f = filter_and("", "gt == 1");
	assert_string_equal(f, "gt == 1");
	free(f);
	f = filter_and("  ", "gt == 1");
	assert_string_equal(f, "gt == 1");
	free(f);
	f = filter_and("a or b", "c");
	assert_string_equal(f, "(a or b) and c");
	free(f);
	f = filter_and("a", "");
	assert_string_equal(f, "a");
	free(f);
}

static void test_agreement(void **state)
{
	(void)state;
	static const struct {
		enum filter_outcome o;
		int cls;
		const char *text, *rows;
	} cases[] = {
	    {OUTCOME_ANY, -1, "", NULL},
	    {OUTCOME_BOTH_RIGHT, -1, "mlp == gt and cnn == gt", "0 4 5 6 7 8 9 10 11"},
	    {OUTCOME_ONLY_A, -1, "mlp == gt and cnn != gt", "3"},
	    {OUTCOME_ONLY_B, -1, "mlp != gt and cnn == gt", "1"},
	    {OUTCOME_BOTH_WRONG, -1, "mlp != gt and cnn != gt", "2"},
	    {OUTCOME_DISAGREE, -1, "mlp != cnn", "1 3"},
	    {OUTCOME_ANY, 1, "gt == \"sea lion\"", "1"},
	    {OUTCOME_ONLY_B, 1, "gt == \"sea lion\" and mlp != gt and cnn == gt", "1"},
	    {OUTCOME_ONLY_B, 2, "gt == \"say \\\"hi\\\"\" and mlp != gt and cnn == gt", ""},
	    {OUTCOME_BOTH_WRONG, 2, "gt == \"say \\\"hi\\\"\" and mlp != gt and cnn != gt", "2"},
	    {OUTCOME_ONLY_A, 3, "gt == \"and\" and mlp == gt and cnn != gt", "3"},
	};
	char got[64];
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		char *f = filter_agreement(&study, 0, 1, cases[k].o, cases[k].cls);
		assert_string_equal(f, cases[k].text);
		if (cases[k].rows) {
			select_text(f, got, sizeof got);
			assert_string_equal(got, cases[k].rows);
		}
		free(f);
	}
	/* with removed instances, the cells leave them out, as the table's counts do */
	memset(status, 0, sizeof status);
	status[0] = STATUS_REMOVED;
	study.status = status;
	study.n_removed = 1;
	char *f = filter_agreement(&study, 0, 1, OUTCOME_BOTH_RIGHT, -1);
	assert_string_equal(f, "mlp == gt and cnn == gt and not removed");
	select_text(f, got, sizeof got);
	assert_string_equal(got, "4 5 6 7 8 9 10 11");
	free(f);
	f = filter_agreement(&study, 0, 1, OUTCOME_ANY, -1);
	assert_string_equal(f, "");
	free(f);
	study.status = NULL;
	study.n_removed = 0;
}

static void test_confusion_cell(void **state)
{
	(void)state;
	char got[64];
	/* truth 2, predicted 0 by mlp: {2}; by cnn: {2}; truth 1 predicted 0: by mlp {1}, by
	 * either {1} */
	char *f = filter_confusion_cell(&study, 2, 0, 0, -1);
	assert_string_equal(f, "gt == \"say \\\"hi\\\"\" and mlp == cat");
	select_text(f, got, sizeof got);
	assert_string_equal(got, "2");
	free(f);
	f = filter_confusion_cell(&study, 1, 0, 1, -1);
	select_text(f, got, sizeof got);
	assert_string_equal(got, "");
	free(f);
	f = filter_confusion_cell(&study, 1, 0, 0, 1);
	assert_string_equal(f, "gt == \"sea lion\" and (mlp == cat or cnn == cat)");
	select_text(f, got, sizeof got);
	assert_string_equal(got, "1");
	free(f);
	f = filter_confusion_cell(&study, 7, 7, 0, -1);
	assert_string_equal(f, "gt == 7 and mlp == 7");
	select_text(f, got, sizeof got);
	assert_string_equal(got, "7");
	free(f);
}

static void test_condition(void **state)
{
	(void)state;
	char got[128];
	select_text("index", got, sizeof got);
	assert_non_null(strstr(got, "error: a value, not a condition"));
	select_text("index > 9", got, sizeof got);
	assert_string_equal(got, "10 11");
	select_text("gt == nosuch", got, sizeof got);
	assert_non_null(strstr(got, "error: unknown name 'nosuch'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_class_literals), cmocka_unit_test(test_bare_names),
	    cmocka_unit_test(test_quote),          cmocka_unit_test(test_and),
	    cmocka_unit_test(test_agreement),      cmocka_unit_test(test_confusion_cell),
	    cmocka_unit_test(test_condition),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
