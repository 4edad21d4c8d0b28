/*
 * test_filter.c — filter and sort expressions over a small study built by hand.
 *
 * The study has 8 instances, 4 classes and 3 models. Every expected answer below is worked out
 * from this table (and the arrays under it), never by running the code under test:
 *
 *   row label       cnn  mlp  knn  split  text              id   correct
 *    0  0 cat        0    0    0   train  "A Cat on a mat"   a0   3
 *    1  1 dog        1    1    1   test   "the dog barks"    a1   3
 *    2  2 sea lion   0    2    1   test   "Sea lion swims"   b2   1 (mlp)
 *    3  3 mlp        3    0    3   train  it's "mlp"         b3   2 (cnn, knn)
 *    4  0 cat        0    0    0   val    ""                 c4   3
 *    5  1 dog        2    3    0   test   "DOG and cat"      c5   0
 *    6  2 sea lion   2    2    2   train  a quiet sea\       d6   3
 *    7  0 cat        1    1    1   test   (none: NULL)       d7   0
 *
 * The class called "mlp" shares its name with a model, to test shadowing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/filter.h"

#define N 8
#define C 4

/* The study's strings are char * but never written through; -Wwrite-strings wants the cast. */
#define STR(s) ((char *)(s))

static char *classes[C] = {STR("cat"), STR("dog"), STR("sea lion"), STR("mlp")};
static int32_t labels[N] = {0, 1, 2, 3, 0, 1, 2, 0};
static char *splits[N] = {STR("train"), STR("test"), STR("test"),  STR("train"),
                          STR("val"),   STR("test"), STR("train"), STR("test")};
static char *texts[N] = {STR("A Cat on a mat"),
                         STR("the dog barks"),
                         STR("Sea lion swims"),
                         STR("it's \"mlp\""),
                         STR(""),
                         STR("DOG and cat"),
                         STR("a quiet sea\\"),
                         NULL};
static char *ids[N] = {STR("a0"), STR("a1"), STR("b2"), STR("b3"),
                       STR("c4"), STR("c5"), STR("d6"), STR("d7")};

/* cnn: probabilities; pred, conf, margin and p_label follow from them by hand. */
static float cnn_probs[N][C] = {
    {0.7f, 0.1f, 0.1f, 0.1f},     {0.2f, 0.6f, 0.1f, 0.1f},     {0.5f, 0.1f, 0.3f, 0.1f},
    {0.1f, 0.1f, 0.1f, 0.7f},     {0.25f, 0.25f, 0.25f, 0.25f}, {0.1f, 0.2f, 0.6f, 0.1f},
    {0.05f, 0.05f, 0.85f, 0.05f}, {0.1f, 0.8f, 0.05f, 0.05f},
};
static int32_t cnn_pred[N] = {0, 1, 0, 3, 0, 2, 2, 1};
static double cnn_conf[N] = {0.7, 0.6, 0.5, 0.7, 0.25, 0.6, 0.85, 0.8};
static double cnn_margin[N] = {0.6, 0.4, 0.2, 0.6, 0.0, 0.4, 0.8, 0.7};
static double cnn_p_label[N] = {0.7, 0.6, 0.3, 0.7, 0.25, 0.2, 0.85, 0.1};

/* mlp: logits. L = ln 3, so softmax([L,0,0,0]) = [1/2, 1/6, 1/6, 1/6], softmax of all zeros is
 * 1/4 each, and softmax([0,L,L,0]) = [1/8, 3/8, 3/8, 1/8]. */
#define L 1.0986123f
static float mlp_logits[N][C] = {
    {0, 0, 0, 0}, {0, L, 0, 0}, {0, 0, L, 0}, {L, 0, 0, 0},
    {L, 0, 0, 0}, {0, 0, 0, L}, {0, 0, L, 0}, {0, L, L, 0},
};
static int32_t mlp_pred[N] = {0, 1, 2, 0, 0, 3, 2, 1};
static double mlp_conf[N] = {0.25, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.375};
static double mlp_margin[N] = {0, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3, 0};
static double mlp_p_label[N] = {0.25, 0.5, 0.5, 1.0 / 6, 0.5, 1.0 / 6, 0.5, 0.125};

/* knn: predictions only. */
static int32_t knn_pred[N] = {0, 1, 1, 3, 0, 0, 2, 1};

/* cnn layers: fc1 (3 units, with NaN), "fc.2" (a dotted name; unit 0 = row, unit 1 = -row) and
 * head (weights only). */
static float fc1_act[N][3] = {
    {0, 1, -1},    {0.5f, 2, NAN}, {NAN, NAN, NAN}, {1.5f, 0, 3},
    {2.5f, -1, 0}, {3.5f, NAN, 1}, {-0.5f, 4, 2},   {1, 1, 1},
};
/* fc1 again as float64, read through npy_at rather than the float32 fast path */
static double fc1_f64[N][3] = {
    {0, 1, -1},   {0.5, 2, NAN}, {NAN, NAN, NAN}, {1.5, 0, 3},
    {2.5, -1, 0}, {3.5, NAN, 1}, {-0.5, 4, 2},    {1, 1, 1},
};
static float fc2_act[N][2] = {{0, 0},  {1, -1}, {2, -2}, {3, -3},
                              {4, -4}, {5, -5}, {6, -6}, {7, -7}};

static struct npy npy_f32(const void *data, size_t rows, size_t cols)
{
	struct npy a;
	memset(&a, 0, sizeof a);
	a.h.kind = NPY_FLOAT;
	a.h.itemsize = 4;
	a.h.swap = false;
	a.h.fortran = false;
	a.h.ndim = 2;
	a.h.shape[0] = rows;
	a.h.shape[1] = cols;
	a.h.data_bytes = rows * cols * 4;
	a.rows = rows;
	a.cols = cols;
	a.data = data;
	return a;
}

/* The study of the table above; with_samples false leaves out samples.jsonl (no ids, texts,
 * splits). Free with free_study. */
static struct study *make_study(bool with_samples)
{
	struct study *s = calloc(1, sizeof *s);
	s->name = STR("hand");
	s->n = N;
	s->n_classes = C;
	s->classes = classes;
	s->labels = labels;
	if (with_samples) {
		s->ids = ids;
		s->texts = texts;
		s->splits = splits;
	}
	s->n_models = 3;
	s->models = calloc(3, sizeof *s->models);
	struct model *m = &s->models[0];
	m->name = STR("cnn");
	m->src = SRC_PROBS;
	m->probs = npy_f32(cnn_probs, N, C);
	m->d_pred = cnn_pred;
	m->d_conf = cnn_conf;
	m->d_second = cnn_margin;
	m->d_p_label = cnn_p_label;
	m->n_layers = 4;
	m->layers = calloc(4, sizeof *m->layers);
	m->layers[0].name = STR("fc1");
	m->layers[0].act_path = STR("fc1.npy");
	m->layers[0].act = npy_f32(fc1_act, N, 3);
	m->layers[1].name = STR("fc.2");
	m->layers[1].act_path = STR("fc.2.npy");
	m->layers[1].act = npy_f32(fc2_act, N, 2);
	m->layers[2].name = STR("head");
	m->layers[2].weights_path = STR("head.npy");
	m->layers[3].name = STR("f64");
	m->layers[3].act_path = STR("f64.npy");
	m->layers[3].act = npy_f32(fc1_f64, N, 3);
	m->layers[3].act.h.itemsize = 8;
	m = &s->models[1];
	m->name = STR("mlp");
	m->src = SRC_LOGITS;
	m->probs = npy_f32(mlp_logits, N, C);
	m->d_pred = mlp_pred;
	m->d_conf = mlp_conf;
	m->d_second = mlp_margin;
	m->d_p_label = mlp_p_label;
	m = &s->models[2];
	m->name = STR("knn");
	m->src = SRC_PRED;
	m->d_pred = knn_pred;
	return s;
}

static void free_study(struct study *s)
{
	free(s->models[0].layers);
	free(s->models);
	free(s);
}

static struct study *full, *bare;

static int setup(void **state)
{
	(void)state;
	full = make_study(true);
	bare = make_study(false);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free_study(full);
	free_study(bare);
	return 0;
}

/* Writes the matching rows of text as "0 4 7" into out and returns how many there are. Also checks
 * that expr_select (evaluated in blocks) agrees with expr_match (evaluated row by row). */
static size_t rows_of(const struct study *s, const char *text, char *out, size_t size)
{
	struct nn_err err = {{0}};
	size_t col = 999;
	struct expr *e = expr_compile(s, text, &err, &col);
	if (!e) {
		print_error("expression: %s\nerror: %s at column %zu\n", text, err.msg, col);
		fail();
	}
	uint32_t *idx = calloc(s->n, sizeof *idx);
	size_t n = expr_select(e, s, idx), len = 0, k = 0;
	for (size_t i = 0; i < s->n; i++) {
		bool m = expr_match(e, i);
		if (m != (k < n && idx[k] == i))
			print_error("expression: %s\nrow %zu: expr_match %d, expr_select %d\n",
			            text, i, m, !m);
		assert_int_equal(m, k < n && idx[k] == i);
		k += m;
	}
	out[0] = '\0';
	for (k = 0; k < n && len < size; k++)
		len += (size_t)snprintf(out + len, size - len, "%s%u", k ? " " : "", idx[k]);
	free(idx);
	expr_free(e);
	return n;
}

static void check_rows_in(const struct study *s, const char *text, const char *want)
{
	char got[128];
	rows_of(s, text, got, sizeof got);
	if (strcmp(got, want) != 0)
		print_error("expression: %s\n", text);
	assert_string_equal(got, want);
}

static void check_rows(const char *text, const char *want)
{
	check_rows_in(full, text, want);
}

static void check_error_in(const struct study *s, const char *text, const char *msg, size_t col)
{
	struct nn_err err = {{0}};
	size_t got_col = 999;
	struct expr *e = expr_compile(s, text, &err, &got_col);
	if (e || strcmp(err.msg, msg) != 0 || got_col != col)
		print_error("expression: %s\n", text);
	assert_null(e);
	assert_string_equal(err.msg, msg);
	assert_int_equal(got_col, col);
}

static void check_error(const char *text, const char *msg, size_t col)
{
	check_error_in(full, text, msg, col);
}

static struct expr *compile_ok(const struct study *s, const char *text)
{
	struct nn_err err = {{0}};
	size_t col = 0;
	struct expr *e = expr_compile(s, text, &err, &col);
	if (!e)
		print_error("expression: %s\nerror: %s at column %zu\n", text, err.msg, col);
	assert_non_null(e);
	return e;
}

static void test_names(void **state)
{
	(void)state;
	check_rows("gt == cat", "0 4 7");  /* labels 0 */
	check_rows("gt == dog", "1 5");    /* labels 1 */
	check_rows("cnn == dog", "1 7");   /* cnn predicts 1 */
	check_rows("knn == dog", "1 2 7"); /* knn predicts 1 */
	check_rows("split == \"test\"", "1 2 5 7");
	check_rows("text ~ \"cat\"", "0 5"); /* "A Cat on a mat", "DOG and cat" */
	check_rows("id == \"b2\"", "2");
	check_rows("id ~ \"D\"", "6 7"); /* d6, d7 */
	check_rows("index >= 6", "6 7");
	check_rows("correct == 3", "0 1 4 6"); /* see the table */
	check_rows("correct == 2", "3");
	check_rows("correct == 1", "2");
	check_rows("correct == 0", "5 7");
	/* right is the same count under the word the instance table heads it with */
	check_rows("right == 3", "0 1 4 6");
	check_rows("right >= 2", "0 1 3 4 6");
	check_rows("right == 0", "5 7");
	/* issue = mean over cnn and mlp of (conf + 1 - p_label) / 2: rows 0 1 4 6 give 0.5 for
	 * both; row 2 (0.6 + 0.5) / 2 = 0.55, row 3 (0.5 + 0.667) / 2, row 5 (0.7 + 0.667) / 2, row
	 * 7 (0.85 + 0.625) / 2 */
	check_rows("issue > 0.52", "2 3 5 7");
	check_rows("issue < 0.51", "0 1 4 6");
}

static void test_functions(void **state)
{
	(void)state;
	check_rows("conf(cnn) > 0.65", "0 3 6 7");      /* 0.7 0.7 0.85 0.8 */
	check_rows("margin(cnn) < 0.3", "2 4");         /* 0.2 and 0 */
	check_rows("conf(mlp) < 0.4", "0 7");           /* 1/4 and 3/8 */
	check_rows("margin(mlp) > 0.3", "1 2 3 4 5 6"); /* 1/3 except rows 0 and 7 */
	check_rows("conf('cnn') > 0.65", "0 3 6 7");    /* a quoted model name */
	/* p() over probabilities, the class by name, quoted name, id and a class value */
	check_rows("p(cnn, cat) >= 0.5", "0 2");         /* column 0: 0.7 and 0.5 */
	check_rows("p(cnn, \"sea lion\") > 0.5", "5 6"); /* column 2: 0.6, 0.85 */
	check_rows("p(cnn, 3) > 0.5", "3");              /* column 3: 0.7 */
	check_rows("p(cnn, gt) < 0.28", "4 5 7");        /* p_label 0.25 0.2 0.1 */
	check_rows("p( cnn , dog ) > 0.55", "1 7");      /* column 1: 0.6 0.8 */
	/* p() over logits takes the softmax: column 0 is 1/2 on rows 3 and 4, at most 1/4 elsewhere
	 */
	check_rows("p(mlp, cat) > 0.4", "3 4");
	check_rows("p(mlp, dog) > 0.3", "1 7"); /* 1/2 and 3/8 */
	/* act(): the layer is what lies between the first and the last dot */
	check_rows("act(cnn.fc1.0) > 1", "3 4 5");      /* 1.5 2.5 3.5; row 2 is NaN */
	check_rows("act( cnn.fc1.2 ) >= 1", "3 5 6 7"); /* 3 1 2 1 */
	check_rows("act(cnn.fc.2.1) < -5", "6 7");      /* -6 -7 */
	check_rows("act(cnn.fc.2.0) == 2", "2");
	/* the same numbers stored as float64 */
	check_rows("act(cnn.f64.0) > 1", "3 4 5");
	check_rows("act(cnn.f64.1) > 0", "0 1 6 7");
}

static void test_operators(void **state)
{
	(void)state;
	check_rows("gt = cat", "0 4 7");
	check_rows("gt != cat", "1 2 3 5 6");
	check_rows("index < 2", "0 1");
	check_rows("index <= 2", "0 1 2");
	check_rows("index > 5", "6 7");
	check_rows("index >= 5", "5 6 7");
	check_rows("index != 5", "0 1 2 3 4 6 7");
	/* ~ is a case-insensitive substring; the empty string matches every present text */
	check_rows("text ~ \"SEA\"", "2 6");
	check_rows("text ~ \"\"", "0 1 2 3 4 5 6");
	/* ~ on a class matches its name: class 2 is "sea lion" */
	check_rows("gt ~ \"LION\"", "2 6");
	check_rows("gt == cat and index > 0", "4 7");
	check_rows("gt == cat && index > 0", "4 7");
	check_rows("gt == cat AND index > 0", "4 7");
	check_rows("gt == cat or gt == dog", "0 1 4 5 7");
	check_rows("gt == cat || gt == dog", "0 1 4 5 7");
	check_rows("gt == cat Or gt == dog", "0 1 4 5 7");
	check_rows("not gt == cat", "1 2 3 5 6");
	check_rows("!(gt == cat)", "1 2 3 5 6");
	check_rows("NOT gt == cat", "1 2 3 5 6");
	check_rows("!gt == cat", "1 2 3 5 6");
	/* strings order byte-wise: "test" < "train" < "val" */
	check_rows("split < \"train\"", "1 2 5 7");
	check_rows("split > \"train\"", "4");
	check_rows("split <= \"test\"", "1 2 5 7");
	check_rows("split >= \"train\"", "0 3 4 6");
	check_rows("split != \"test\"", "0 3 4 6");
	check_rows("\"test\" == split", "1 2 5 7");
	/* a class against a class compares ids: cnn 0 1 0 3 0 2 2 1, mlp 0 1 2 0 0 3 2 1 */
	check_rows("cnn == mlp", "0 1 4 6 7");
	check_rows("cnn != mlp", "2 3 5");
	/* a class against a number compares its id */
	check_rows("gt < 2", "0 1 4 5 7");
	check_rows("gt == 2", "2 6");
	check_rows("3 == gt", "3");
	check_rows("\"dog\" == gt", "1 5");
	/* conditions compare with each other: cnn right y y n y y n y n, mlp right y y y n y n y n
	 */
	check_rows("(cnn == gt) == (mlp == gt)", "0 1 4 5 6 7");
	check_rows("(cnn == gt) != (mlp == gt)", "2 3");
	/* unary minus */
	check_rows("index > -1", "0 1 2 3 4 5 6 7");
	check_rows("index > - 1", "0 1 2 3 4 5 6 7");
	check_rows("-index < -6", "7");
	check_rows("--index >= 7", "7");
	check_rows("conf(cnn) > -conf(mlp)", "0 1 2 3 4 5 6 7");
}

static void test_precedence(void **state)
{
	(void)state;
	/* and binds tighter than or: cat rows {0 4 7} or (dog and index > 4) {5} */
	check_rows("gt == cat or gt == dog and index > 4", "0 4 5 7");
	check_rows("gt == dog and index > 4 or gt == cat", "0 4 5 7");
	/* parentheses override: (cat or dog) {0 1 4 5 7} and index > 4 */
	check_rows("(gt == cat or gt == dog) and index > 4", "5 7");
	/* not binds tighter than and: (not cat) {1 2 3 5 6} and index > 4 */
	check_rows("not gt == cat and index > 4", "5 6");
	check_rows("not (gt == cat and index > 4)", "0 1 2 3 4 5 6");
	check_rows("not not gt == cat", "0 4 7");
	check_rows("gt == cat and index > 0 or index == 3", "3 4 7");
	check_rows("((gt == cat))", "0 4 7");
	check_rows("(gt) == (cat)", "0 4 7");
}

static void test_shadowing(void **state)
{
	(void)state;
	/* mlp is a model and a class; the bare name is the model (predictions 0 1 2 0 0 3 2 1) */
	check_rows("gt == mlp", "0 1 2 4 6");
	/* quoted, it is the class (label 3) */
	check_rows("gt == \"mlp\"", "3");
	check_rows("gt == 'mlp'", "3");
	check_rows("mlp == 3", "5");
	check_rows("mlp ~ 'mlp'", "5"); /* the model's prediction is class mlp */
	check_rows("gt ~ 'mlp'", "3");
	/* p(mlp, mlp): the class is mlp's prediction, so this is conf(mlp): 1/2 on rows 1-6 */
	check_rows("p(mlp, mlp) > 0.4", "1 2 3 4 5 6");
	/* p(mlp, "mlp"): column 3 of the softmax: 1/4 on row 0, 1/2 on row 5, less elsewhere */
	check_rows("p(mlp, \"mlp\") > 0.2", "0 5");
	/* a class name with a space needs quotes */
	check_rows("gt == \"sea lion\"", "2 6");
	check_error("gt == sea lion", "unknown name 'sea'", 7);
}

static void test_nan(void **state)
{
	(void)state;
	/* act(cnn.fc1.1) is 1 2 NaN 0 -1 NaN 4 1 */
	check_rows("act(cnn.fc1.1) > 0", "0 1 6 7");
	check_rows("not act(cnn.fc1.1) > 0", "2 3 4 5");
	check_rows("act(cnn.fc1.1) <= 0", "3 4");
	check_rows("act(cnn.fc1.1) != 1", "1 3 4 6");
	check_rows("act(cnn.fc1.1) == act(cnn.fc1.1)", "0 1 3 4 6 7");
	check_rows("not act(cnn.fc1.1) == act(cnn.fc1.1)", "2 5");
	/* act(cnn.fc1.0) is 0 0.5 NaN 1.5 2.5 3.5 -0.5 1: negated below 0 where it is above 0 */
	check_rows("-act(cnn.fc1.0) < 0", "1 3 4 5 7");
	/* the whole of row 2 is NaN */
	check_rows("act(cnn.fc1.0) < 100 or act(cnn.fc1.1) < 100 or act(cnn.fc1.2) < 100",
	           "0 1 3 4 5 6 7");
	struct expr *e = compile_ok(full, "act(cnn.fc1.2)");
	assert_true(isnan(expr_value(e, 2)));
	assert_false(expr_match(e, 2));
	expr_free(e);
}

static void test_missing_samples(void **state)
{
	(void)state;
	check_error_in(bare, "text ~ \"x\"", "the study has no texts", 1);
	check_error_in(bare, "gt == cat and split == \"test\"", "the study has no splits", 15);
	/* without ids, id is the index as text */
	check_rows_in(bare, "id == \"3\"", "3");
	check_rows_in(bare, "id ~ \"7\"", "7");
	/* row 7 has no text: it fails every comparison, so not ... holds */
	check_rows("not text ~ \"zzz\"", "0 1 2 3 4 5 6 7");
	check_rows("text == \"\"", "4");
	check_rows("text != \"\"", "0 1 2 3 5 6");
	check_rows("not text != \"\"", "4 7");
}

static void test_type_errors(void **state)
{
	(void)state;
	check_error("text == 3", "cannot compare text with a number", 6);
	check_error("3 < split", "cannot compare a number with split", 3);
	check_error("gt == split", "cannot compare gt with split", 4);
	check_error("conf(cnn) ~ \"x\"",
	            "'~' needs text or a class on its left, but conf(cnn) is a number", 11);
	check_error("text ~ gt", "'~' needs a quoted string on its right, found 'gt'", 8);
	check_error("gt and index > 1", "expected a condition, but gt is a class", 1);
	check_error("index > 1 or conf(cnn)", "expected a condition, but conf(cnn) is a number",
	            14);
	check_error("not conf(cnn)", "expected a condition, but conf(cnn) is a number", 5);
	check_error("-text", "cannot negate text", 1);
	check_error("-gt", "cannot negate gt", 1);
	check_error("(index > 1) < (index > 2)", "conditions compare only with '==' and '!='", 13);
	check_error("(index > 1) == 3", "cannot compare a condition with a number", 13);
	check_error("gt == \"zebra\"", "unknown class 'zebra'", 7);
	check_error("text", "cannot sort by text", 1);
	check_error("\"abc\"", "cannot sort by a string", 1);
	check_error("index < 3 < 5", "comparisons do not chain: join them with 'and'", 11);
	check_error("p(cnn, index) > 0", "p() needs a class, but index is a number", 8);
	check_error("p(cnn, 4) > 0", "no class 4 (class ids are 0 to 3)", 8);
	check_error("p(cnn, 1.5) > 0", "no class 1.5 (class ids are 0 to 3)", 8);
	check_error("p(cnn, -1) > 0", "no class -1 (class ids are 0 to 3)", 8);
	check_error("p(cnn, \"zebra\") > 0", "unknown class 'zebra'", 8);
	check_error("p(cnn, split) > 0", "p() needs a class, but split is a string", 8);
}

static void test_unknown_names(void **state)
{
	(void)state;
	check_error("gt == dgo", "unknown name 'dgo'", 7);
	check_error("conf(cnn) > 0.5 and cnnn", "unknown name 'cnnn'", 21);
	check_error("GT == cat", "unknown name 'GT'", 1); /* names are case-sensitive */
	check_error("conf(cnnn) > 0.5", "unknown model 'cnnn' (models: cnn, mlp, knn)", 6);
	check_error("margin(\"x y\") > 0.5", "unknown model 'x y' (models: cnn, mlp, knn)", 8);
	check_error("conf(knn) > 0.5", "model 'knn' has only predictions", 6);
	check_error("margin(knn) > 0.5", "model 'knn' has only predictions", 8);
	check_error("p(knn, cat) > 0.5", "model 'knn' has only predictions", 3);
	check_error("foo(cnn)", "unknown function 'foo' (functions: conf, margin, p, act)", 1);
	check_error("cnn(1) > 2", "unknown function 'cnn' (functions: conf, margin, p, act)", 1);
	check_error("conf > 1", "conf is a function: write conf(model)", 1);
	check_error("act > 1", "act is a function: write act(model.layer.unit)", 1);
	check_error("act(cnn.fc9.0) > 0",
	            "model 'cnn' has no layer 'fc9' (layers: fc1, fc.2, head, f64)", 9);
	check_error("act(cnn.head.0) > 0", "layer 'head' of model 'cnn' has no activations", 9);
	check_error("act(cnn.fc1.3) > 0", "unit 3 is out of range: layer 'fc1' has 3 units", 13);
	check_error("act(cnn.fc1.99999999999999999999999) > 0",
	            "unit 99999999999999999999999 is out of range: layer 'fc1' has 3 units", 13);
	check_error("act(cnn.fc1.x) > 0", "act() unit 'x' is not a whole number", 13);
	check_error("act(cnn.fc1.-1) > 0", "act() unit '-1' is not a whole number", 13);
	check_error("act(cnn.fc1) > 0", "act() needs model.layer.unit, such as act(cnn.fc1.0)", 5);
	check_error("act() > 0", "act() needs model.layer.unit, such as act(cnn.fc1.0)", 5);
	check_error("act(.fc1.0) > 0", "act() needs model.layer.unit, such as act(cnn.fc1.0)", 5);
	check_error("act(cnn..0) > 0", "act() needs model.layer.unit, such as act(cnn.fc1.0)", 5);
	check_error("act(cnn.fc1.) > 0", "act() needs model.layer.unit, such as act(cnn.fc1.0)", 5);
	check_error("act(rnn.fc1.0) > 0", "unknown model 'rnn' (models: cnn, mlp, knn)", 5);
	check_error("act(knn.x.0) > 0", "model 'knn' has no layers", 9);
	check_error("act(cnn.fc1.0 > 0", "unclosed '('", 4);
	/* columns count characters, not bytes: é is two bytes */
	check_error("gt == cat or text ~ \"café\" or gt == zèbre", "unknown name 'zèbre'", 37);
}

static void test_syntax(void **state)
{
	(void)state;
	check_error("", "empty expression", 0);
	check_error("  \t\n ", "empty expression", 0);
	check_error("gt == cat)", "unexpected ')'", 10);
	check_error("(gt == cat", "unclosed '('", 1);
	check_error("(gt == cat cat", "expected ')', found 'cat'", 12);
	check_error("gt ==", "unexpected end of expression", 6);
	check_error("gt == == cat", "expected a value, found '=='", 7);
	check_error("gt == cat &", "unexpected '&' (write '&&' or 'and')", 11);
	check_error("gt == cat | gt == dog", "unexpected '|' (write '||' or 'or')", 11);
	check_error("gt == cat and", "unexpected end of expression", 14);
	check_error("text ~ \"abc", "unterminated string", 8);
	check_error("text ~ \"abc\\", "unterminated string", 8);
	check_error("text ~ \"a\\qb\"", "unknown escape '\\q' (only \\\" \\' \\\\ are known)", 10);
	check_error("index > 1e", "malformed number '1e'", 9);
	check_error("index > 1.2.3", "malformed number '1.2.3'", 9);
	check_error("index > 3abc", "malformed number '3abc'", 9);
	check_error("gt == cat $", "unexpected '$'", 11);
	check_error("gt == cat \x01", "unexpected control character 0x01", 11);
	check_error("conf(cnn", "expected ')', found the end", 9);
	check_error("conf(cnn cat)", "expected ')', found 'cat'", 10);
	check_error("p(cnn cat)", "expected ',' and a class, found 'cat'", 7);
	check_error("conf()", "conf() needs a model name, found ')'", 6);
	check_error("gt cat", "unexpected 'cat'", 4);
	check_error(")", "expected a value, found ')'", 1);
	check_error("not", "unexpected end of expression", 4);
	check_error("index > 5 -3", "unexpected '-'", 11);
	check_error("conf(\"cnn) > 0", "unterminated string", 6);
	check_error("\"zebra\" == gt", "unknown class 'zebra'", 1);
	check_error("text ~ \"\\é\"", "unknown escape '\\é' (only \\\" \\' \\\\ are known)", 9);
}

static void test_lexer(void **state)
{
	(void)state;
	check_rows("index > .5e1", "6 7");
	check_rows("index < 2E0", "0 1");
	check_rows("index >= 1e+0 and index <= 10e-1", "1");
	check_rows("index == 3.", "3");
	check_rows("index==3", "3");
	check_rows("\tindex\n==\r3 ", "3");
	check_rows("text ~ 'CAT'", "0 5");
	check_rows("text ~ 'it\\'s'", "3");
	check_rows("text ~ \"\\\"mlp\\\"\"", "3");
	check_rows("text ~ '\\\\'", "6"); /* the backslash of "a quiet sea\" */
	check_rows("text ~ \"'\"", "3");
	check_rows("gt == cat aNd index > 0", "4 7");
	/* a name takes '-' and '.', so the minus needs a space after one */
	check_error("index-1 > 0", "unknown name 'index-1'", 1);
}

static void test_sort_keys(void **state)
{
	(void)state;
	struct expr *e = compile_ok(full, "conf(cnn)");
	assert_false(expr_is_bool(e));
	assert_true(expr_value(e, 6) == 0.85);
	expr_free(e);
	e = compile_ok(full, "gt");
	assert_false(expr_is_bool(e));
	assert_true(expr_value(e, 2) == 2.0);
	expr_free(e);
	e = compile_ok(full, "cnn");
	assert_true(expr_value(e, 3) == 3.0);
	expr_free(e);
	e = compile_ok(full, "cat");
	assert_true(expr_value(e, 5) == 0.0);
	expr_free(e);
	e = compile_ok(full, "act(cnn.fc1.0)");
	assert_false(expr_is_bool(e));
	assert_true(expr_value(e, 4) == 2.5);
	assert_true(isnan(expr_value(e, 2)));
	expr_free(e);
	/* as a filter, a sort key keeps the rows where it is neither 0 nor NaN */
	check_rows("act(cnn.fc1.0)", "1 3 4 5 6 7");
	e = compile_ok(full, "-index");
	assert_true(expr_value(e, 3) == -3.0);
	expr_free(e);
	e = compile_ok(full, "(margin(cnn))");
	assert_false(expr_is_bool(e));
	assert_true(expr_value(e, 7) == 0.7);
	expr_free(e);
	e = compile_ok(full, "p(mlp, cat)");
	assert_true(fabs(expr_value(e, 3) - 0.5) < 1e-6);
	assert_true(fabs(expr_value(e, 7) - 0.125) < 1e-6);
	expr_free(e);
	e = compile_ok(full, "correct");
	assert_true(expr_value(e, 0) == 3.0);
	assert_true(expr_value(e, 2) == 1.0);
	expr_free(e);
	e = compile_ok(full, "issue");
	assert_true(fabs(expr_value(e, 7) - 0.7375) < 1e-9); /* (0.85 + 0.625) / 2 */
	expr_free(e);
	e = compile_ok(full, "0.25");
	assert_false(expr_is_bool(e));
	assert_true(expr_value(e, 1) == 0.25);
	expr_free(e);
	e = compile_ok(full, "gt == cat");
	assert_true(expr_is_bool(e));
	assert_true(expr_value(e, 0) == 1.0);
	assert_true(expr_value(e, 1) == 0.0);
	assert_true(expr_match(e, 4));
	assert_false(expr_match(e, 5));
	expr_free(e);
}

static void test_select_null(void **state)
{
	(void)state;
	uint32_t out[N];
	assert_int_equal(expr_select(NULL, full, out), N);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(out[i], i);
	assert_true(expr_match(NULL, 3));
	assert_true(expr_is_bool(NULL));
	expr_free(NULL);
	/* NULL err and err_col are allowed */
	assert_null(expr_compile(full, "gt ==", NULL, NULL));
}

/* "(" * n + inner + ")" * n, or prefix * n + inner; caller frees. */
static char *repeat(const char *prefix, size_t n, const char *inner, const char *suffix)
{
	size_t pl = strlen(prefix), il = strlen(inner), sl = strlen(suffix);
	char *s = malloc(n * (pl + sl) + il + 1), *t = s;
	for (size_t k = 0; k < n; k++, t += pl)
		memcpy(t, prefix, pl);
	memcpy(t, inner, il);
	t += il;
	for (size_t k = 0; k < n; k++, t += sl)
		memcpy(t, suffix, sl);
	*t = '\0';
	return s;
}

static void test_deep_nesting(void **state)
{
	(void)state;
	char *s = repeat("(", 200, "index > 1", ")");
	check_rows(s, "2 3 4 5 6 7");
	free(s);
	/* the 201st parenthesis is one too many */
	s = repeat("(", 201, "index > 1", ")");
	check_error(s, "expression nested too deeply (more than 200 levels)", 201);
	free(s);
	s = repeat("(", 100000, "", "");
	check_error(s, "expression nested too deeply (more than 200 levels)", 201);
	free(s);
	/* 200 nots cancel out */
	s = repeat("not ", 200, "index > 1", "");
	check_rows(s, "2 3 4 5 6 7");
	free(s);
	s = repeat("not ", 300, "index > 1", "");
	check_error(s, "expression nested too deeply (more than 200 levels)", 801);
	free(s);
	s = repeat("-", 300, "1", "");
	check_error(s, "expression nested too deeply (more than 200 levels)", 201);
	free(s);
	/* conditions nested on the right of == (measuring this tree once took exponential time):
	 * x == (x == x) is x == true, which is x; 190 of them give x back */
	s = repeat("(index > 1) == (", 190, "index > 1", ")");
	check_rows(s, "2 3 4 5 6 7");
	free(s);
	s = repeat("p(cnn, (", 150, "gt", "))");
	check_error(s, "expression nested too deeply (more than 200 levels)", 8 + 8 * 100);
	free(s);
}

static void test_long_expressions(void **state)
{
	(void)state;
	/* about 80 KiB: 4000 clauses that match nothing, then one that matches row 3 */
	char *s = repeat("index == 99999 or ", 4500, "index == 3", "");
	assert_true(strlen(s) > 65536);
	check_rows(s, "3");
	free(s);
	s = repeat("index >= 0 and ", 5000, "gt == cat", "");
	check_rows(s, "0 4 7");
	free(s);
	/* a long unknown name is cut in the message */
	s = repeat("a", 70000, "", "");
	check_error(s,
	            "unknown name '"
	            "aaaaaaaaaa"
	            "aaaaaaaaaa"
	            "aaaaaaaaaa"
	            "aaaaaaaaaa"
	            "...'",
	            1);
	free(s);
	s = repeat("x", 70000, "\"", "");
	char *t = repeat("text ~ \"", 1, s, "");
	check_rows(t, "");
	free(t);
	free(s);
	/* a long UTF-8 name is cut at a character boundary: byte 40 is inside the 20th é */
	s = repeat("é", 30, "", "");
	t = repeat("a", 1, s, "");
	check_error(t, "unknown name 'aééééééééééééééééééé...'", 1);
	free(t);
	free(s);
	/* a long number */
	s = repeat("0", 70000, "3", "");
	t = repeat("index == ", 1, s, "");
	check_rows(t, "3");
	free(t);
	free(s);
}

/*
 * 1000 rows, so expr_select works through several blocks and a partial last one. Row i has label
 * i % 4, cnn confidence (i % 10) / 10, text "x" when i % 3 == 0 and "y" otherwise, and fc1
 * activations (i, 1 for even i and NaN for odd i).
 */
#define BIG 1000
static int32_t big_labels[BIG], big_pred[BIG];
static double big_conf[BIG];
static char *big_texts[BIG];
static float big_act[BIG][2];

static void test_many_rows(void **state)
{
	(void)state;
	struct study *s = make_study(false);
	struct model *m = &s->models[0];
	for (size_t i = 0; i < BIG; i++) {
		big_labels[i] = (int32_t)(i % 4);
		big_pred[i] = 0;
		big_conf[i] = (double)(i % 10) / 10.0;
		big_texts[i] = STR(i % 3 == 0 ? "x" : "y");
		big_act[i][0] = (float)i;
		big_act[i][1] = i % 2 ? NAN : 1.0f;
	}
	s->n = BIG;
	s->labels = big_labels;
	s->texts = big_texts;
	s->n_models = 1;
	m->d_pred = big_pred;
	m->d_conf = big_conf;
	m->d_second = big_conf;
	m->probs.rows = BIG;
	m->layers[0].act = npy_f32(big_act, BIG, 2);
	char buf[128];
	/* i % 4 == 0 */
	assert_int_equal(rows_of(s, "gt == cat", buf, sizeof buf), 250);
	/* plus i % 10 == 9, all odd, so never a multiple of 4 */
	assert_int_equal(rows_of(s, "gt == cat or conf(cnn) >= 0.9", buf, sizeof buf), 350);
	/* 300 rows below 300, 75 of them multiples of 4 */
	assert_int_equal(rows_of(s, "not gt == cat and index < 300", buf, sizeof buf), 225);
	/* multiples of 12: 0, 12, ..., 996 */
	assert_int_equal(rows_of(s, "gt == cat and text ~ 'x'", buf, sizeof buf), 84);
	/* 334 multiples of 3, 250 rows of dog, 83 both (i % 12 == 9: 9, 21, ..., 993) */
	assert_int_equal(rows_of(s, "text ~ 'x' or gt == dog", buf, sizeof buf), 501);
	/* both true on 84 rows; both false on 1000 - 250 - 334 + 84 = 500 */
	assert_int_equal(rows_of(s, "(gt == cat) == (text ~ 'x')", buf, sizeof buf), 584);
	/* across the first block boundary */
	assert_int_equal(rows_of(s, "index >= 255 and index <= 257", buf, sizeof buf), 3);
	assert_string_equal(buf, "255 256 257");
	assert_int_equal(rows_of(s, "-index > -3", buf, sizeof buf), 3);
	assert_string_equal(buf, "0 1 2");
	/* even rows are 1, odd rows NaN */
	assert_int_equal(rows_of(s, "act(cnn.fc1.1) == 1", buf, sizeof buf), 500);
	assert_int_equal(rows_of(s, "not act(cnn.fc1.1) == 1", buf, sizeof buf), 500);
	assert_int_equal(rows_of(s, "act(cnn.fc1.1) != 1", buf, sizeof buf), 0);
	/* 990..999, and dog below 8: 1 and 5 */
	assert_int_equal(
	    rows_of(s, "act(cnn.fc1.0) >= 990 or gt == dog and index < 8", buf, sizeof buf), 12);
	/* a sort key as a filter: conf is 0 on every tenth row */
	assert_int_equal(rows_of(s, "conf(cnn)", buf, sizeof buf), 900);
	assert_int_equal(rows_of(s, "act(cnn.fc1.1)", buf, sizeof buf), 500);
	/* every row is decided by the first operand */
	assert_int_equal(rows_of(s, "index >= 0 or text ~ 'x'", buf, sizeof buf), 1000);
	assert_int_equal(rows_of(s, "index < 0 and text ~ 'x'", buf, sizeof buf), 0);
	free_study(s);
}

/* Studies with nothing in them, or with odd models. */
static void test_odd_studies(void **state)
{
	(void)state;
	struct study *s = make_study(false);
	/* twelve models with long names: the list in the message is cut */
	struct model many[12];
	char names[12][48];
	memset(many, 0, sizeof many);
	for (int k = 0; k < 12; k++) {
		snprintf(names[k], sizeof names[k], "model_with_a_rather_long_name_%02d", k);
		many[k].name = names[k];
		many[k].d_pred = cnn_pred;
	}
	struct model *saved = s->models;
	s->models = many;
	s->n_models = 12;
	struct nn_err err;
	size_t col;
	assert_null(expr_compile(s, "conf(x)", &err, &col));
	/* each name takes 32 bytes and 2 for the comma; the list keeps 6 bytes for ", ..." and the
	 * end in its 240: after six names it holds 202 bytes, and a seventh would need 242 */
	assert_string_equal(err.msg, "unknown model 'x' (models: model_with_a_rather_long_name_00, "
	                             "model_with_a_rather_long_name_01, "
	                             "model_with_a_rather_long_name_02, "
	                             "model_with_a_rather_long_name_03, "
	                             "model_with_a_rather_long_name_04, "
	                             "model_with_a_rather_long_name_05, ...)");
	s->n_models = 0;
	check_error_in(s, "conf(x)", "unknown model 'x' (the study has no models)", 6);
	check_rows_in(s, "correct == 0", "0 1 2 3 4 5 6 7");
	s->models = saved;
	s->n_models = 3;
	/* a model with probabilities whose matrix is missing */
	struct npy probs = s->models[1].probs;
	s->models[1].probs.data = NULL;
	check_error_in(s, "p(mlp, cat) > 0", "model 'mlp' has no usable probabilities", 3);
	s->models[1].probs = probs;
	/* no classes at all */
	s->n_classes = 0;
	s->models[0].probs.cols = 0;
	check_error_in(s, "p(cnn, 0) > 0", "no class 0: the study has no classes", 8);
	free_study(s);
}

/* given, gt and the decision words once a journal's decisions are applied (set by hand here,
 * as journal_apply leaves them: row 1 relabelled dog -> cat, row 4 kept, row 6 removed). */
static void test_decisions(void **state)
{
	(void)state;
	struct study *s = make_study(false);
	int32_t now[N], given_l[N];
	uint8_t status[N] = {0};
	memcpy(now, labels, sizeof now);
	memcpy(given_l, labels, sizeof given_l);
	now[1] = 0;
	status[1] = STATUS_RELABELLED;
	status[4] = STATUS_KEPT;
	status[6] = STATUS_REMOVED;
	/* before any journal: given is gt, and no instance is decided */
	check_rows_in(s, "given != gt", "");
	check_rows_in(s, "decided", "");
	s->labels = now;
	s->given = given_l;
	s->status = status;
	check_rows_in(s, "given != gt", "1");
	check_rows_in(s, "gt == cat", "0 1 4 7");
	check_rows_in(s, "given == cat", "0 4 7");
	check_rows_in(s, "decided", "1 4 6");
	check_rows_in(s, "relabelled", "1");
	check_rows_in(s, "kept", "4");
	check_rows_in(s, "removed", "6");
	check_rows_in(s, "not decided and gt == dog", "5");
	check_rows_in(s, "relabelled or removed", "1 6");
	/* conditions, not values */
	check_error_in(s, "decided > 1", "cannot compare a condition with a number", 9);
	s->given = NULL; /* the study does not own these */
	s->status = NULL;
	s->labels = labels;
	free_study(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),        cmocka_unit_test(test_decisions),
	    cmocka_unit_test(test_functions),    cmocka_unit_test(test_operators),
	    cmocka_unit_test(test_precedence),   cmocka_unit_test(test_shadowing),
	    cmocka_unit_test(test_nan),          cmocka_unit_test(test_missing_samples),
	    cmocka_unit_test(test_type_errors),  cmocka_unit_test(test_unknown_names),
	    cmocka_unit_test(test_syntax),       cmocka_unit_test(test_lexer),
	    cmocka_unit_test(test_sort_keys),    cmocka_unit_test(test_select_null),
	    cmocka_unit_test(test_deep_nesting), cmocka_unit_test(test_long_expressions),
	    cmocka_unit_test(test_many_rows),    cmocka_unit_test(test_odd_studies),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
