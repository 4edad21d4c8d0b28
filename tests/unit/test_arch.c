/*
 * test_arch.c — graph.json parsing (containers skipped, inputs renumbered, every refusal with a
 * message naming the file), the folding of repeated blocks against expectations worked out by
 * hand, natural name order, and arch_load on a study without graph.json (layers from the files).
 */
#include "testutil.h"

#include "nncmp/arch.h"

/* A module entry: name, type, shape (JSON text), params, kernel (JSON or NULL). */
struct mod {
	const char *name, *type, *shape;
	int params;
	const char *kernel;
};

/* graph.json text for the modules m (leaf ones; inputs a chain), source src. */
static char *graph_text(const struct mod *m, size_t n, const char *src)
{
	size_t cap = 256 + n * 256, len = 0;
	char *buf = malloc(cap);
	len += (size_t)snprintf(buf + len, cap - len,
	                        "{\"format\": 1, \"source\": \"%s\", "
	                        "\"modules\": [",
	                        src);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(
		    buf + len, cap - len,
		    "%s{\"id\": %zu, \"name\": \"%s\", \"type\": \"%s\", \"shape\": %s, "
		    "\"params\": "
		    "%d, \"leaf\": true, \"inputs\": [%ld]%s%s}",
		    i ? ", " : "", i, m[i].name, m[i].type, m[i].shape, m[i].params, (long)i - 1,
		    m[i].kernel ? ", \"kernel\": " : "", m[i].kernel ? m[i].kernel : "");
	snprintf(buf + len, cap - len, "]}");
	return buf;
}

static void parse_ok(const char *text, struct arch *a)
{
	struct nn_err err = {{0}};
	if (arch_parse_graph(text, strlen(text), "g.json", a, &err) != 0)
		fail_msg("%s", err.msg);
}

/* The folding as "start:len×repeat" items, for comparing with a hand-worked expectation. */
static void assert_blocks(const struct arch *a, const char *want)
{
	char got[1024];
	size_t len = 0;
	got[0] = '\0';
	for (size_t b = 0; b < a->n_blocks; b++)
		len += (size_t)snprintf(got + len, sizeof got - len, "%s%zu:%zux%zu", b ? " " : "",
		                        a->blocks[b].start, a->blocks[b].len, a->blocks[b].repeat);
	if (strcmp(got, want) != 0)
		fail_msg("blocks: got \"%s\", want \"%s\"", got, want);
}

static void fold_of(const struct mod *m, size_t n, const char *want)
{
	char *t = graph_text(m, n, "order");
	struct arch a;
	parse_ok(t, &a);
	free(t);
	assert_int_equal(a.n_layers, n);
	arch_fold(&a);
	assert_blocks(&a, want);
	arch_free(&a);
}

#define CONV(nm)                                                                                   \
	{                                                                                          \
		nm, "Conv2d", "[6, 8, 8]", 330, "[3, 3]"                                           \
	}
#define BN(nm)                                                                                     \
	{                                                                                          \
		nm, "BatchNorm2d", "[6, 8, 8]", 12, NULL                                           \
	}
#define RELU(nm)                                                                                   \
	{                                                                                          \
		nm, "ReLU", "[6, 8, 8]", 0, NULL                                                   \
	}

static void test_fold_resnet_like(void **state)
{
	(void)state;
	/* stem and its ReLU, then three conv-bn-relu blocks: the ReLU before the blocks looks like
	 * each block's last layer, so a left-to-right search alone would fold "relu conv bn" from
	 * index 1; the block starts where module blocks.0 does, at index 2. */
	const struct mod m[] = {
	    {"stem", "Conv2d", "[6, 8, 8]", 60, "[3, 3]"},
	    RELU("act"),
	    CONV("blocks.0.conv"),
	    BN("blocks.0.bn"),
	    RELU("blocks.0.relu"),
	    CONV("blocks.1.conv"),
	    BN("blocks.1.bn"),
	    RELU("blocks.1.relu"),
	    CONV("blocks.2.conv"),
	    BN("blocks.2.bn"),
	    RELU("blocks.2.relu"),
	    {"pool", "MaxPool2d", "[6, 4, 4]", 0, "[2, 2]"},
	    {"fc", "Linear", "[3]", 99, NULL},
	};
	fold_of(m, sizeof m / sizeof *m, "0:1x1 1:1x1 2:3x3 11:1x1 12:1x1");
}

static void test_fold_cases(void **state)
{
	(void)state;
	/* nothing repeats */
	const struct mod a[] = {CONV("c"), BN("b"), RELU("r")};
	fold_of(a, 3, "0:1x1 1:1x1 2:1x1");
	/* one layer four times: 4 × [ReLU], not 2 × [ReLU → ReLU] */
	const struct mod b[] = {RELU("r0"), RELU("r1"), RELU("r2"), RELU("r3")};
	fold_of(b, 4, "0:1x4");
	/* two runs back to back: 2 × [conv bn], then 3 × [relu] */
	const struct mod c[] = {CONV("x.0.c"), BN("x.0.b"), CONV("x.1.c"), BN("x.1.b"),
	                        RELU("r0"),    RELU("r1"),  RELU("r2")};
	fold_of(c, 7, "0:2x2 4:1x3");
	/* a changed shape, kernel or parameter count breaks the repetition */
	const struct mod d[] = {CONV("a"), {"b", "Conv2d", "[6, 4, 4]", 330, "[3, 3]"}};
	fold_of(d, 2, "0:1x1 1:1x1");
	const struct mod e[] = {CONV("a"), {"b", "Conv2d", "[6, 8, 8]", 330, "[1, 1]"}};
	fold_of(e, 2, "0:1x1 1:1x1");
	const struct mod f[] = {CONV("a"), {"b", "Conv2d", "[6, 8, 8]", 331, "[3, 3]"}};
	fold_of(f, 2, "0:1x1 1:1x1");
	/* a partial last repetition stays unfolded */
	const struct mod g[] = {CONV("l.0.c"), BN("l.0.b"), CONV("l.1.c"), BN("l.1.b"),
	                        CONV("l.2.c")};
	fold_of(g, 5, "0:2x2 4:1x1");
	/* empty */
	fold_of(NULL, 0, "");
}

static void test_parse_containers_inputs(void **state)
{
	(void)state;
	/* ids 0 (container), 1, 2 (container), 3, 4: layers are 1, 3, 4 → 0, 1, 2 */
	const char *t =
	    "{\"source\": \"fx\", \"model\": \"m\", \"params\": 77, \"modules\": ["
	    "{\"id\": 0, \"name\": \"seq\", \"type\": \"Sequential\", \"shape\": [4], \"params\": "
	    "9, "
	    "\"leaf\": false, \"inputs\": []},"
	    "{\"id\": 1, \"name\": \"seq.0\", \"type\": \"Linear\", \"shape\": [4], \"params\": 9, "
	    "\"inputs\": [-1]},"
	    "{\"id\": 2, \"name\": \"blk\", \"type\": \"Block\", \"shape\": [4], \"params\": 0, "
	    "\"leaf\": false},"
	    "{\"id\": 3, \"name\": \"blk.relu\", \"type\": \"ReLU\", \"shape\": [4], \"params\": "
	    "0, "
	    "\"inputs\": [1]},"
	    "{\"id\": 4, \"name\": \"add\", \"type\": \"Identity\", \"shape\": [4], \"params\": 0, "
	    "\"inputs\": [1, 3, -1], \"kernel\": [5]}]}";
	struct arch a;
	parse_ok(t, &a);
	assert_int_equal(a.source, ARCH_FX);
	assert_int_equal(a.params, 77);
	assert_int_equal(a.n_layers, 3);
	assert_string_equal(a.layers[0].name, "seq.0");
	assert_string_equal(a.layers[1].op, "ReLU");
	assert_int_equal(a.layers[0].n_inputs, 1);
	assert_int_equal(a.layers[0].inputs[0], -1);
	assert_int_equal(a.layers[1].inputs[0], 0);
	assert_int_equal(a.layers[2].n_inputs, 3);
	assert_int_equal(a.layers[2].inputs[0], 0);
	assert_int_equal(a.layers[2].inputs[1], 1);
	assert_int_equal(a.layers[2].inputs[2], -1);
	assert_int_equal(a.layers[2].nkernel, 1);
	assert_int_equal(a.layers[2].kernel[0], 5);
	assert_int_equal(a.layers[0].ndim, 1);
	assert_int_equal(a.layers[0].shape[0], 4);
	arch_free(&a);
	/* without "params" the total is the leaves' sum */
	parse_ok(
	    "{\"source\": \"order\", \"modules\": [{\"name\": \"a\", \"type\": \"L\", "
	    "\"shape\": [], \"params\": 5}, {\"name\": \"b\", \"type\": \"L\", \"shape\": [2], "
	    "\"params\": 6}]}",
	    &a);
	assert_int_equal(a.source, ARCH_ORDER);
	assert_int_equal(a.params, 11);
	assert_int_equal(a.layers[0].ndim, 0);
	arch_free(&a);
}

static void refused(const char *text, const char *needle)
{
	struct arch a;
	struct nn_err err = {{0}};
	if (arch_parse_graph(text, strlen(text), "m/graph.json", &a, &err) == 0) {
		arch_free(&a);
		fail_msg("accepted: %s", text);
	}
	if (!strstr(err.msg, "m/graph.json") || !strstr(err.msg, needle))
		fail_msg("message \"%s\" lacks \"%s\" (input %s)", err.msg, needle, text);
	assert_null(strchr(err.msg, '\n'));
}

#define M0 "{\"name\": \"a\", \"type\": \"L\", \"shape\": [2], \"params\": 1}"

static void test_parse_refusals(void **state)
{
	(void)state;
	refused("", "line");
	refused("[1, 2]", "expected a JSON object");
	refused("{\"source\": \"fx\", \"source\": \"fx\", \"modules\": []}", "duplicate");
	refused("{\"modules\": []}", "source must be");
	refused("{\"source\": \"torch\", \"modules\": []}", "source must be");
	refused("{\"source\": \"fx\"}", "modules must be");
	refused("{\"source\": \"fx\", \"format\": 2, \"modules\": []}", "format must be 1");
	refused("{\"source\": \"fx\", \"params\": -1, \"modules\": []}", "params must be");
	refused("{\"source\": \"fx\", \"model\": 3, \"modules\": []}", "model must be");
	refused("{\"source\": \"fx\", \"modules\": [3]}", "modules[0] is not an object");
	refused(
	    "{\"source\": \"fx\", \"modules\": [{\"type\": \"L\", \"shape\": [], \"params\": 0}]}",
	    "modules[0]: name must be");
	refused(
	    "{\"source\": \"fx\", \"modules\": [{\"name\": \"\", \"type\": \"L\", \"shape\": [], "
	    "\"params\": 0}]}",
	    "name must be");
	refused("{\"source\": \"fx\", \"modules\": [{\"name\": \"a\\u0000b\", \"type\": \"L\", "
	        "\"shape\": [], \"params\": 0}]}",
	        "not allowed"); /* jansson refuses NUL before the parser sees it */
	refused(
	    "{\"source\": \"fx\", \"modules\": [{\"name\": \"a\", \"shape\": [], \"params\": 0}]}",
	    "type must be");
	refused("{\"source\": \"fx\", \"modules\": [{\"name\": \"a\", \"type\": \"L\", \"shape\": "
	        "[-1], "
	        "\"params\": 0}]}",
	        "shape must be");
	refused("{\"source\": \"fx\", \"modules\": [{\"name\": \"a\", \"type\": \"L\", \"shape\": "
	        "[1,1,1,1,1,1,1,1,1], \"params\": 0}]}",
	        "shape must be");
	refused(
	    "{\"source\": \"fx\", \"modules\": [{\"name\": \"a\", \"type\": \"L\", \"shape\": [1], "
	    "\"params\": 1.5}]}",
	    "params must be");
	refused(
	    "{\"source\": \"fx\", \"modules\": [{\"name\": \"a\", \"type\": \"L\", \"shape\": [1], "
	    "\"params\": 1, \"kernel\": [0]}]}",
	    "kernel must be");
	refused(
	    "{\"source\": \"fx\", \"modules\": [{\"name\": \"a\", \"type\": \"L\", \"shape\": [1], "
	    "\"params\": 1, \"leaf\": 1}]}",
	    "leaf must be");
	refused("{\"source\": \"fx\", \"modules\": [" M0 ", {\"id\": 5, \"name\": \"b\", \"type\": "
	        "\"L\", \"shape\": [1], \"params\": 1}]}",
	        "modules[1]: id must be 1");
	/* an input must be an earlier leaf: not itself, not later, not a container */
	refused(
	    "{\"source\": \"fx\", \"modules\": [{\"name\": \"a\", \"type\": \"L\", \"shape\": [1], "
	    "\"params\": 1, \"inputs\": [0]}]}",
	    "input 0 is not");
	refused("{\"source\": \"fx\", \"modules\": [" M0 ", {\"name\": \"b\", \"type\": \"L\", "
	        "\"shape\": [1], \"params\": 1, \"inputs\": [-2]}]}",
	        "input 0 is not");
	refused(
	    "{\"source\": \"fx\", \"modules\": [{\"name\": \"s\", \"type\": \"S\", \"shape\": [1], "
	    "\"params\": 1, \"leaf\": false}, {\"name\": \"b\", \"type\": \"L\", \"shape\": [1], "
	    "\"params\": 1, \"inputs\": [-1, 0]}]}",
	    "input 1 is not");
	refused(
	    "{\"source\": \"fx\", \"modules\": [{\"name\": \"a\", \"type\": \"L\", \"shape\": [1], "
	    "\"params\": 1, \"inputs\": 7}]}",
	    "inputs must be");
}

static void test_name_cmp(void **state)
{
	(void)state;
	assert_true(arch_name_cmp("b.2", "b.10") < 0);
	assert_true(arch_name_cmp("b.10", "b.2") > 0);
	assert_true(arch_name_cmp("layer1.0.conv1", "layer1.0.conv2") < 0);
	assert_true(arch_name_cmp("a", "a.0") < 0);
	assert_true(arch_name_cmp("fc", "fc") == 0);
	assert_true(arch_name_cmp("b.02", "b.2") == 0);
	assert_true(arch_name_cmp("conv", "fc") < 0);
}

static void test_load_from_layers(void **state)
{
	(void)state;
	const char *dir = tu_mkdtemp();
	int64_t lab[2] = {0, 1};
	float p[4] = {0.75f, 0.25f, 0.25f, 0.75f};
	tu_write_i64(dir, "labels.npy", lab, 2);
	tu_write_f32(dir, "models/m/probs.npy", p, 2, 2);
	float act[2 * 3 * 2 * 2] = {0};
	tu_write_npy(dir, "models/m/act/block.10.npy", "<f4", "(2, 3, 2, 2)", act, sizeof act);
	tu_write_npy(dir, "models/m/act/block.2.npy", "<f4", "(2, 3, 2, 2)", act, sizeof act);
	float w[3 * 3 * 3 * 3] = {0};
	tu_write_npy(dir, "models/m/weights/block.2.npy", "<f4", "(3, 3, 3, 3)", w, sizeof w);
	tu_write_npy(dir, "models/m/weights/block.10.npy", "<f4", "(3, 3, 3, 3)", w, sizeof w);
	float fc[2 * 12] = {0};
	tu_write_npy(dir, "models/m/weights/fc.npy", "<f4", "(2, 12)", fc, sizeof fc);
	struct nn_err err = {{0}};
	struct study *s = study_open(dir, &err);
	if (!s)
		fail_msg("%s", err.msg);
	struct arch a;
	assert_int_equal(arch_load(s, &s->models[0], &a, &err), 0);
	assert_int_equal(a.source, ARCH_LAYERS);
	assert_string_equal(arch_source_name(a.source), "layers");
	assert_int_equal(a.n_layers, 3);
	assert_string_equal(a.layers[0].name, "block.2"); /* natural order: 2 before 10 */
	assert_string_equal(a.layers[1].name, "block.10");
	assert_string_equal(a.layers[0].op, "Conv2d");
	assert_int_equal(a.layers[0].nkernel, 2);
	assert_int_equal(a.layers[0].kernel[1], 3);
	assert_int_equal(a.layers[0].ndim, 3);
	assert_int_equal(a.layers[0].shape[0], 3);
	assert_int_equal(a.layers[0].shape[2], 2);
	assert_int_equal(a.layers[0].params, 81);
	assert_true(a.layers[0].activations && a.layers[0].weights);
	assert_int_equal(a.layers[0].act_cols, 12); /* 3×2×2 read as one row per instance */
	assert_string_equal(a.layers[2].op, "Linear");
	assert_int_equal(a.layers[2].act_cols, 0);
	assert_int_equal(a.layers[2].shape[0], 2);
	assert_false(a.layers[2].activations);
	assert_int_equal(a.params, 81 + 81 + 24);
	assert_blocks(&a, "0:1x2 2:1x1");
	arch_free(&a);
	/* a graph.json, once there, is what is read; a bad one is an error naming it */
	tu_write_str(dir, "models/m/graph.json",
	             "{\"source\": \"order\", \"modules\": [{\"name\": "
	             "\"block.2\", \"type\": \"Conv2d\", \"shape\": [3, 2, 2], "
	             "\"params\": 84}]}");
	assert_int_equal(arch_load(s, &s->models[0], &a, &err), 0);
	assert_int_equal(a.source, ARCH_ORDER);
	assert_int_equal(a.n_layers, 1);
	assert_true(a.layers[0].activations && a.layers[0].weights);
	assert_string_equal(a.model, "m");
	arch_free(&a);
	tu_write_str(dir, "models/m/graph.json", "{\"source\": 1}");
	assert_int_equal(arch_load(s, &s->models[0], &a, &err), -1);
	assert_non_null(strstr(err.msg, "models/m/graph.json: source must be"));
	study_free(s);
	tu_rm_rf(dir);
}

/* A layer's label and the stage rule (arch_layer_label, arch_new_stage): the strings `nncmp arch`
 * and the TUI's A draw, worked out by hand from the modules. */
static void test_label_and_stages(void **state)
{
	(void)state;
	const struct mod m[] = {{"stem", "Conv2d", "[6, 8, 8]", 168, "[3, 3]"},
	                        CONV("b.0.conv"),
	                        RELU("b.0.relu"),
	                        CONV("b.1.conv"),
	                        RELU("b.1.relu"),
	                        {"pool", "MaxPool2d", "[6, 4, 4]", 0, "[2, 2]"},
	                        {"fc", "Linear", "[10]", 970, NULL}};
	char *t = graph_text(m, sizeof m / sizeof *m, "order");
	struct arch a;
	parse_ok(t, &a);
	free(t);
	arch_fold(&a);
	char buf[256];
	assert_string_equal(arch_layer_label(&a.layers[0], true, true, buf, sizeof buf),
	                    "Conv2d 3\xc3\x97"
	                    "3 6 6\xc3\x97"
	                    "8\xc3\x97"
	                    "8 (168)");
	assert_string_equal(arch_layer_label(&a.layers[5], true, false, buf, sizeof buf),
	                    "MaxPool2d 2x2 6x4x4");
	a.layers[6].activations = true;
	a.layers[6].act_cols = 10;
	a.layers[6].weights = true;
	assert_string_equal(arch_layer_label(&a.layers[6], true, false, buf, sizeof buf),
	                    "Linear 10 (970) [A W]");
	assert_string_equal(arch_layer_label(&a.layers[6], false, false, buf, sizeof buf),
	                    "Linear 10 (970)");
	a.layers[0].activations = true;
	a.layers[0].act_cols = 6; /* a pooled copy of 6 × 8 × 8 */
	assert_string_equal(arch_layer_marks(&a.layers[0], buf, sizeof buf), "[A(6)]");
	assert_string_equal(arch_layer_marks(&a.layers[1], buf, sizeof buf), "");
	/* stem | 2 × [conv → relu] | pool (same block after a repeat) | fc (another size) */
	assert_blocks(&a, "0:1x1 1:2x2 5:1x1 6:1x1");
	assert_true(arch_new_stage(&a, 0));
	assert_true(arch_new_stage(&a, 1));  /* a repeated block */
	assert_true(arch_new_stage(&a, 2));  /* after one */
	assert_true(arch_new_stage(&a, 3));  /* [10] after 6 × 4 × 4 */
	assert_true(arch_new_stage(&a, 99)); /* past the end */
	arch_free(&a);
	/* conv1 → conv2 of one spatial size share a stage; a pooled size starts one */
	const struct mod n[] = {CONV("c1"),
	                        {"c2", "Conv2d", "[8, 8, 8]", 440, "[3, 3]"},
	                        {"p", "MaxPool2d", "[8, 4, 4]", 0, "[2, 2]"}};
	t = graph_text(n, 3, "order");
	parse_ok(t, &a);
	free(t);
	arch_fold(&a);
	assert_blocks(&a, "0:1x1 1:1x1 2:1x1");
	assert_true(arch_new_stage(&a, 0));
	assert_false(arch_new_stage(&a, 1));
	assert_true(arch_new_stage(&a, 2));
	arch_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fold_resnet_like),
	    cmocka_unit_test(test_fold_cases),
	    cmocka_unit_test(test_parse_containers_inputs),
	    cmocka_unit_test(test_parse_refusals),
	    cmocka_unit_test(test_name_cmp),
	    cmocka_unit_test(test_load_from_layers),
	    cmocka_unit_test(test_label_and_stages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
