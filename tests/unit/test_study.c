/* test_study.c — opening studies: convention, manifest, side files, and every refusal. */
#include "testutil.h"

#include <math.h>

#include "nncmp/study.h"

/*
 * A small valid study: 4 instances, classes cat/dog/bird.
 *   labels       0 1 2 1
 *   a (probs)    argmax 0 1 1 1  -> right on 0, 1, 3
 *   b (logits)   row 0 = (0, ln 2, 0) -> softmax (.25, .5, .25)
 *   c (pred)     2 1 2 0
 */
static const float probs_a[12] = {0.7f, 0.2f, 0.1f, 0.1f, 0.8f, 0.1f,
                                  0.2f, 0.5f, 0.3f, 0.3f, 0.3f, 0.4f};
static void write_good(const char *dir)
{
	int64_t labels[4] = {0, 1, 2, 1};
	tu_write_i64(dir, "labels.npy", labels, 4);
	tu_write_str(dir, "classes.txt", "cat\ndog\nbird\n");
	float pa[12];
	memcpy(pa, probs_a, sizeof pa);
	pa[9] = 0.3f, pa[10] = 0.6f, pa[11] = 0.1f; /* row 3 -> dog */
	tu_write_f32(dir, "models/a/probs.npy", pa, 4, 3);
	float lb[12] = {0, (float)M_LN2, 0, 1, 0, 0, 0, 0, 3, 0, 2, 0};
	tu_write_f32(dir, "models/b/logits.npy", lb, 4, 3);
	int64_t pc[4] = {2, 1, 2, 0};
	tu_write_i64(dir, "models/c/pred.npy", pc, 4);
	float act[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	tu_write_f32(dir, "models/a/act/fc1.npy", act, 4, 2);
	tu_write_f32(dir, "models/a/weights/fc1.npy", act, 2, 4);
	tu_write_f32(dir, "models/a/weights/fc2.npy", act, 4, 2);
	tu_write_str(dir, "samples.jsonl",
	             "{\"id\": \"x0\", \"text\": \"a cat\", \"split\": \"test\"}\n"
	             "{\"id\": 17, \"text\": \"a dog\"}\n"
	             "{\"id\": \"x2\", \"image\": \"img/2.png\", \"extra\": [1, 2]}\n"
	             "{}\n");
}

static void test_good_study(void **state)
{
	(void)state;
	const char *dir = tu_mkdtemp();
	write_good(dir);
	struct nn_err err = {{0}};
	struct study *s = study_open(dir, &err);
	if (!s)
		fail_msg("%s", err.msg);
	assert_int_equal(s->n, 4);
	assert_int_equal(s->n_classes, 3);
	assert_string_equal(s->classes[2], "bird");
	assert_int_equal(s->n_models, 3);
	assert_string_equal(s->models[0].name, "a");
	assert_string_equal(s->models[1].name, "b");
	assert_string_equal(s->models[2].name, "c");
	assert_int_equal(s->models[0].src, SRC_PROBS);
	assert_int_equal(s->models[1].src, SRC_LOGITS);
	assert_int_equal(s->models[2].src, SRC_PRED);
	const struct model *a = &s->models[0], *b = &s->models[1], *c = &s->models[2];
	int32_t want_a[4] = {0, 1, 1, 1}, want_b[4] = {1, 0, 2, 1}, want_c[4] = {2, 1, 2, 0};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(model_pred(a, i), want_a[i]);
		assert_int_equal(model_pred(b, i), want_b[i]);
		assert_int_equal(model_pred(c, i), want_c[i]);
	}
	/* a row 2: (.2, .5, .3), label bird: conf .5, margin .2, p_label .3, rank 1 */
	assert_float_equal(model_conf(a, 2), 0.5, 1e-7);
	assert_float_equal(model_margin(a, 2), 0.2, 1e-7);
	assert_float_equal(model_p_label(a, 2), 0.3, 1e-7);
	assert_int_equal(model_rank(a, 2), 1);
	/* b row 0: softmax(0, ln 2, 0) = (.25, .5, .25), label cat: rank 1 (ties: higher class
	 * index first, so cat (0) ranks after bird (2) -> rank 2) */
	assert_float_equal(model_conf(b, 0), 0.5, 1e-7);
	assert_float_equal(model_p_label(b, 0), 0.25, 1e-7);
	assert_float_equal(model_margin(b, 0), 0.25, 1e-7);
	assert_int_equal(model_rank(b, 0), 2);
	assert_null(c->d_conf);
	assert_int_equal(a->n_layers, 2);
	assert_string_equal(a->layers[0].name, "fc1");
	assert_non_null(a->layers[0].act_path);
	assert_non_null(a->layers[0].weights_path);
	assert_null(a->layers[1].act_path);
	assert_int_equal(a->layers[0].act.cols, 2);
	assert_string_equal(s->ids[0], "x0");
	assert_string_equal(s->ids[1], "17");
	assert_null(s->ids[3]);
	assert_string_equal(s->texts[1], "a dog");
	assert_null(s->texts[2]);
	assert_string_equal(s->images[2], "img/2.png");
	assert_string_equal(s->splits[0], "test");
	assert_int_equal(study_model_index(s, "b"), 1);
	assert_int_equal(study_model_index(s, "z"), -1);
	assert_int_equal(study_class_index(s, "dog"), 1);
	assert_int_equal(study_layer_index(a, "fc2"), 1);
	char buf[32];
	assert_string_equal(study_instance_id(s, 3, buf, sizeof buf), "3");
	/* issue score of instance 2 (label bird): a: (.5 + 1 - .3)/2 = .6; b: softmax(0,0,3)
	 * gives p_bird = conf = e^3/(2+e^3), so (conf + 1 - conf)/2 = .5; mean .55 */
	assert_float_equal(study_issue_score(s, 2), 0.55, 1e-7);
	study_free(s);
	tu_rm_rf(dir);
}

/* Writes the good study, applies `breakit`, and expects study_open to fail with `needle`. */
static void expect_error(void (*breakit)(const char *dir), const char *needle)
{
	const char *dir = tu_mkdtemp();
	write_good(dir);
	breakit(dir);
	struct nn_err err = {{0}};
	struct study *s = study_open(dir, &err);
	if (s)
		fail_msg("accepted a study that should fail with '%s'", needle);
	if (!strstr(err.msg, needle))
		fail_msg("message '%s' lacks '%s'", err.msg, needle);
	assert_null(strchr(err.msg, '\n'));
	tu_rm_rf(dir);
}

static void short_probs(const char *d)
{
	tu_write_f32(d, "models/a/probs.npy", probs_a, 3, 3);
}
static void wide_probs(const char *d)
{
	float p[8] = {.5f, .5f, .5f, .5f, .5f, .5f, .5f, .5f};
	tu_write_f32(d, "models/a/probs.npy", p, 4, 2);
}
static void nan_probs(const char *d)
{
	float p[12];
	memcpy(p, probs_a, sizeof p);
	p[4] = NAN;
	tu_write_f32(d, "models/a/probs.npy", p, 4, 3);
}
static void unnormalized(const char *d)
{
	float p[12];
	memcpy(p, probs_a, sizeof p);
	p[6] = 0.9f;
	tu_write_f32(d, "models/a/probs.npy", p, 4, 3);
}
static void negative_prob(const char *d)
{
	float p[12];
	memcpy(p, probs_a, sizeof p);
	p[0] = -0.1f, p[1] = 1.0f;
	tu_write_f32(d, "models/a/probs.npy", p, 4, 3);
}
static void inf_logits(const char *d)
{
	float l[12] = {0, 0, INFINITY, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	tu_write_f32(d, "models/b/logits.npy", l, 4, 3);
}
static void label_out_of_range(const char *d)
{
	int64_t l[4] = {0, 1, 5, 1};
	tu_write_i64(d, "labels.npy", l, 4);
}
static void label_negative(const char *d)
{
	int64_t l[4] = {0, -1, 2, 1};
	tu_write_i64(d, "labels.npy", l, 4);
}
static void label_fraction(const char *d)
{
	float l[4] = {0, 1.5f, 2, 1};
	tu_write_f32(d, "labels.npy", l, 4, 0);
}
static void label_nan(const char *d)
{
	float l[4] = {0, 1, NAN, 1};
	tu_write_f32(d, "labels.npy", l, 4, 0);
}
static void labels_empty(const char *d)
{
	tu_write_npy(d, "labels.npy", "<i8", "(0,)", "", 0);
}
static void labels_matrix(const char *d)
{
	int64_t l[4] = {0, 1, 2, 1};
	tu_write_npy(d, "labels.npy", "<i8", "(2, 2)", l, sizeof l);
}
static void labels_dir(const char *d)
{
	char p[512];
	snprintf(p, sizeof p, "%s/labels.npy", d);
	unlink(p);
	mkdir(p, 0755);
}
/* FIFOs: opening one for reading would block until a writer comes; it must be refused at once */
static void fifo_at(const char *d, const char *rel)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", d, rel);
	unlink(p);
	assert_int_equal(mkfifo(p, 0644), 0);
}
static void fifo_classes(const char *d)
{
	fifo_at(d, "classes.txt");
}
static void fifo_samples(const char *d)
{
	fifo_at(d, "samples.jsonl");
}
static void fifo_probs(const char *d)
{
	fifo_at(d, "models/a/probs.npy");
}
static void no_labels(const char *d)
{
	char p[512];
	snprintf(p, sizeof p, "%s/labels.npy", d);
	unlink(p);
}
static void dup_class(const char *d)
{
	tu_write_str(d, "classes.txt", "cat\ndog\ncat\n");
}
static void empty_class(const char *d)
{
	tu_write_str(d, "classes.txt", "cat\n\nbird\n");
}
static void no_models(const char *d)
{
	char p[512];
	snprintf(p, sizeof p, "rm -rf '%s/models'", d);
	assert_int_equal(system(p), 0);
}
static void model_without_source(const char *d)
{
	tu_write_str(d, "models/empty/README", "nothing here");
}
static void reserved_model(const char *d)
{
	int64_t pc[4] = {2, 1, 2, 0};
	tu_write_i64(d, "models/and/pred.npy", pc, 4);
}
static void pred_out_of_range(const char *d)
{
	int64_t pc[4] = {2, 1, 3, 0};
	tu_write_i64(d, "models/c/pred.npy", pc, 4);
}
static void act_rows(const char *d)
{
	float act[6] = {1, 2, 3, 4, 5, 6};
	tu_write_f32(d, "models/a/act/fc1.npy", act, 3, 2);
}
static void samples_short(const char *d)
{
	tu_write_str(d, "samples.jsonl", "{}\n{}\n{}\n");
}
static void samples_long(const char *d)
{
	tu_write_str(d, "samples.jsonl", "{}\n{}\n{}\n{}\n{}\n");
}
static void samples_bad_json(const char *d)
{
	tu_write_str(d, "samples.jsonl", "{}\n{\"id\": }\n{}\n{}\n");
}
static void samples_not_object(const char *d)
{
	tu_write_str(d, "samples.jsonl", "{}\n[1]\n{}\n{}\n");
}
static void samples_text_number(const char *d)
{
	tu_write_str(d, "samples.jsonl", "{}\n{\"text\": 3}\n{}\n{}\n");
}
static void samples_escape(const char *d)
{
	tu_write_str(d, "samples.jsonl", "{}\n{\"image\": \"img/../../etc/passwd\"}\n{}\n{}\n");
}
static void samples_absolute(const char *d)
{
	tu_write_str(d, "samples.jsonl", "{}\n{\"image\": \"/etc/passwd\"}\n{}\n{}\n");
}
static void samples_bad_utf8(const char *d)
{
	tu_write_str(d, "samples.jsonl", "{}\n{\"text\": \"caf\xe9\"}\n{}\n{}\n");
}

static void test_refusals(void **state)
{
	(void)state;
	expect_error(short_probs, "models/a/probs.npy: 3 rows, but ");
	expect_error(short_probs, "labels.npy has 4");
	expect_error(wide_probs, "models/a/probs.npy: 2 columns, but ");
	expect_error(wide_probs, "classes.txt names 3 classes");
	expect_error(nan_probs, "models/a/probs.npy: row 1: NaN");
	expect_error(unnormalized, "models/a/probs.npy: row 2: row does not sum to 1");
	expect_error(negative_prob, "row 0: negative probability");
	expect_error(inf_logits, "models/b/logits.npy: row 0: infinite value");
	expect_error(label_out_of_range,
	             "labels.npy: row 2 holds class 5, but there are 3 classes");
	expect_error(label_negative, "labels.npy: row 1 holds -1, not a class id");
	expect_error(label_fraction, "row 1 holds 1.5, not a class id");
	expect_error(label_nan, "row 2 holds nan, not a class id");
	expect_error(labels_empty, "labels.npy: no instances");
	expect_error(labels_matrix, "shape (2, 2), expected a vector");
	expect_error(labels_dir, "labels.npy: is a directory");
	expect_error(no_labels, "not a study");
	expect_error(fifo_classes, "classes.txt: not a regular file");
	expect_error(fifo_samples, "samples.jsonl: not a regular file");
	expect_error(fifo_probs, "probs.npy: not a regular file");
	expect_error(dup_class, "classes.txt:3: class 'cat' is listed twice");
	expect_error(empty_class, "classes.txt:2: empty class name");
	expect_error(no_models, "no models");
	expect_error(model_without_source,
	             "models/empty: no probs, logits or pred file (.npy, .npz, .h5");
	expect_error(reserved_model, "model name 'and' is reserved");
	expect_error(pred_out_of_range, "models/c/pred.npy: row 2 holds class 3");
	expect_error(act_rows, "models/a/act/fc1.npy: 3 rows, but ");
	expect_error(samples_short, "samples.jsonl: 3 lines, but ");
	expect_error(samples_long, "samples.jsonl: more than the 4 lines");
	expect_error(samples_bad_json, "samples.jsonl:2:");
	expect_error(samples_not_object, "samples.jsonl:2: expected a JSON object");
	expect_error(samples_text_number, "samples.jsonl:2: \"text\" must be a string");
	expect_error(samples_escape, "leaves the study directory");
	expect_error(samples_absolute, "leaves the study directory");
	expect_error(samples_bad_utf8, "samples.jsonl:2:");
}

static void test_not_found(void **state)
{
	(void)state;
	struct nn_err err = {{0}};
	assert_null(study_open("/nonexistent/study", &err));
	assert_string_equal(err.msg, "/nonexistent/study: No such file or directory");
}

static void test_manifest(void **state)
{
	(void)state;
	const char *dir = tu_mkdtemp();
	write_good(dir);
	/* a manifest elsewhere naming files by relative path, models in its own order */
	tu_write_str(dir, "m/study.ini",
	             "; comment\n[study]\nname = My study\nlabels = ../labels.npy\n"
	             "classes = ../classes.txt\n\n[model zeta]\npred = ../models/c/pred.npy\n"
	             "[model alpha]\nprobs = ../models/a/probs.npy\nact.fc1 = "
	             "../models/a/act/fc1.npy\nweights.fc1 = ../models/a/weights/fc1.npy\n");
	char path[512];
	snprintf(path, sizeof path, "%s/m/study.ini", dir);
	struct nn_err err = {{0}};
	struct study *s = study_open(path, &err);
	if (!s)
		fail_msg("%s", err.msg);
	assert_string_equal(s->name, "My study");
	assert_int_equal(s->n_models, 2);
	assert_string_equal(s->models[0].name, "zeta");
	assert_string_equal(s->models[1].name, "alpha");
	assert_int_equal(s->models[1].n_layers, 1);
	assert_null(s->texts);
	study_free(s);
	/* a directory holding study.ini: the manifest rules over the convention */
	snprintf(path, sizeof path, "%s/m", dir);
	s = study_open(path, &err);
	assert_non_null(s);
	assert_int_equal(s->n_models, 2);
	study_free(s);
	tu_rm_rf(dir);
}

/* graph = PATH and saliency.LAYER = PATH: through ~ and ${VAR}, the first saliency key used */
static void test_manifest_graph_saliency(void **state)
{
	(void)state;
	const char *dir = tu_mkdtemp();
	write_good(dir);
	float maps[4 * 2 * 3];
	for (size_t k = 0; k < sizeof maps / sizeof *maps; k++)
		maps[k] = (float)k / 24.0f;
	tu_write_npy(dir, "far/maps/a.npy", "<f4", "(4, 2, 3)", maps, sizeof maps);
	tu_write_str(dir, "home/g/a.json", "{\"source\": \"order\", \"modules\": []}");
	tu_write_str(dir, "m/study.ini",
	             "[study]\nlabels = ../labels.npy\n[model a]\nprobs = ../models/a/probs.npy\n"
	             "graph = ~/g/a.json\nsaliency.conv9 = ${NNCMP_TEST_FAR}/maps/a.npy\n"
	             "saliency.conv1 = nowhere.npy\n[model b]\nlogits = ../models/b/logits.npy\n");
	char home[512], far[512], path[512];
	snprintf(home, sizeof home, "%s/home", dir);
	snprintf(far, sizeof far, "%s/far", dir);
	snprintf(path, sizeof path, "%s/m/study.ini", dir);
	char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	setenv("HOME", home, 1);
	setenv("NNCMP_TEST_FAR", far, 1);
	struct nn_err err = {{0}};
	struct study *s = study_open(path, &err);
	if (old_home)
		setenv("HOME", old_home, 1);
	free(old_home);
	unsetenv("NNCMP_TEST_FAR");
	if (!s)
		fail_msg("%s", err.msg);
	const struct model *a = &s->models[0], *b = &s->models[1];
	char want[600];
	snprintf(want, sizeof want, "%s/g/a.json", home);
	assert_string_equal(a->graph_path, want);
	snprintf(want, sizeof want, "%s/maps/a.npy", far);
	assert_string_equal(a->saliency_path, want);
	assert_string_equal(a->saliency_layer, "conv9");
	assert_int_equal(a->saliency.h.dims[1], 2);
	assert_int_equal(a->saliency.h.dims[2], 3);
	/* the second key is not opened (nowhere.npy does not exist), only warned about */
	assert_int_equal(s->warnings.n, 1);
	assert_non_null(strstr(s->warnings.v[0], "nowhere.npy: ignored"));
	assert_null(b->graph_path);
	assert_null(b->saliency_path);
	study_free(s);
	tu_rm_rf(dir);
}

static void expect_manifest_error(const char *ini, const char *needle)
{
	const char *dir = tu_mkdtemp();
	write_good(dir);
	tu_write_str(dir, "study.ini", ini);
	struct nn_err err = {{0}};
	struct study *s = study_open(dir, &err);
	if (s)
		fail_msg("accepted: %s", ini);
	if (!strstr(err.msg, needle))
		fail_msg("'%s' lacks '%s'", err.msg, needle);
	tu_rm_rf(dir);
}

static void test_manifest_errors(void **state)
{
	(void)state;
	expect_manifest_error("[study]\nlabels = labels.npy\nlables = x\n",
	                      "study.ini:3: unknown key 'lables' in [study]");
	expect_manifest_error("[study]\nlabels = labels.npy\n[modle a]\nprobs = x\n",
	                      "study.ini:4: unknown section [modle a]");
	expect_manifest_error(
	    "[study]\nlabels = labels.npy\n[model a]\nprobs = models/a/probs.npy\n"
	    "[model b]\npred = models/c/pred.npy\n[model a]\npred = x\n",
	    "study.ini:7: model 'a' is defined twice (first at line 3)");
	expect_manifest_error("[study]\nlabels = labels.npy\n[model a]\nact.x = y\n",
	                      "[model a] names none of probs, logits, pred");
	expect_manifest_error("[study]\nclasses = classes.txt\n", "[study] does not name 'labels'");
	expect_manifest_error("[study]\nlabels = labels.npy\nthis line is not ini\n",
	                      "study.ini:3: not 'key = value'");
	expect_manifest_error("[study]\nlabels = labels.npy\n[model a]\nprobs = nothere.npy\n",
	                      "nothere.npy: No such file or directory");
	expect_manifest_error("", "empty manifest");
	char longline[400];
	memset(longline, 'x', sizeof longline);
	/* long values are fine (test_formats.c); a line inih must read whole still is refused */
	memcpy(longline, "[study]\n", 8);
	longline[sizeof longline - 1] = '\0';
	expect_manifest_error(longline, "study.ini:2: line longer than 199 characters");
	expect_manifest_error(
	    "[study]\nlabels = labels.npy\n[model a]\nprobs = models/a/probs.npy\n"
	    "logits = models/b/logits.npy\n",
	    "more than one of probs, logits, pred");
}

static void test_labels_csv(void **state)
{
	(void)state;
	const char *dir = tu_mkdtemp();
	write_good(dir);
	char p[512];
	snprintf(p, sizeof p, "%s/labels.npy", dir);
	unlink(p);
	/* header with a label column holding names, quoted cells included */
	tu_write_str(dir, "labels.csv", "id,label\nx0,cat\n\"x,1\",dog\nx2,\"bird\"\nx3,1\n");
	struct nn_err err = {{0}};
	struct study *s = study_open(dir, &err);
	if (!s)
		fail_msg("%s", err.msg);
	assert_int_equal(s->n, 4);
	int32_t want[4] = {0, 1, 2, 1};
	for (int i = 0; i < 4; i++)
		assert_int_equal(s->labels[i], want[i]);
	study_free(s);
	/* one column of ids, no header */
	tu_write_str(dir, "labels.csv", "0\n1\n2\n1\n");
	s = study_open(dir, &err);
	assert_non_null(s);
	assert_int_equal(s->labels[2], 2);
	study_free(s);
	/* names without classes.txt: classes are the sorted names, with a warning */
	snprintf(p, sizeof p, "%s/classes.txt", dir);
	unlink(p);
	tu_write_str(dir, "labels.csv", "label\ncat\ndog\nbird\ndog\n");
	s = study_open(dir, &err);
	if (!s)
		fail_msg("%s", err.msg);
	assert_string_equal(s->classes[0], "bird");
	assert_string_equal(s->classes[2], "dog");
	assert_int_equal(s->labels[0], 1);
	assert_int_equal(s->warnings.n, 1);
	study_free(s);
	/* refusals */
	tu_write_str(dir, "labels.csv", "a,b\n1,2\n");
	assert_null(study_open(dir, &err));
	assert_non_null(strstr(err.msg, "no 'label' column"));
	tu_write_str(dir, "labels.csv", "label\n0\n\"1\n");
	assert_null(study_open(dir, &err));
	assert_non_null(strstr(err.msg, "labels.csv: malformed CSV"));
	tu_rm_rf(dir);
}

static void test_default_classes(void **state)
{
	(void)state;
	const char *dir = tu_mkdtemp();
	write_good(dir);
	char p[512];
	snprintf(p, sizeof p, "%s/classes.txt", dir);
	unlink(p);
	struct nn_err err = {{0}};
	struct study *s = study_open(dir, &err);
	if (!s)
		fail_msg("%s", err.msg);
	assert_int_equal(s->n_classes, 3);
	assert_string_equal(s->classes[1], "1");
	study_free(s);
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_study),      cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_not_found),       cmocka_unit_test(test_manifest),
	    cmocka_unit_test(test_manifest_errors), cmocka_unit_test(test_labels_csv),
	    cmocka_unit_test(test_default_classes), cmocka_unit_test(test_manifest_graph_saliency),
	};
	return cmocka_run_group_tests_name("study", tests, NULL, NULL);
}
