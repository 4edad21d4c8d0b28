/*
 * test_rfield.c — receptive fields from graph.json: the recurrence on hand-checked chains, each
 * reason to fall back to the scaled cell, and the limits. The oracle comparison on random torch
 * CNNs (NumPy index propagation, autograd) is tests/cli/rfield_ref.py.
 */
#include "testutil.h"

#include "nncmp/arch.h"
#include "nncmp/rfield.h"

/* Parses graph.json text into *a; fails the test when it does not parse. */
static void parse(const char *json, struct arch *a)
{
	struct nn_err err = {{0}};
	if (arch_parse_graph(json, strlen(json), "t.json", a, &err) != 0)
		fail_msg("%s", err.msg);
}

#define CONV(name, c, h, w, k, s, p, d, in)                                                        \
	"{\"name\": \"" name "\", \"type\": \"Conv2d\", \"shape\": [" #c ", " #h ", " #w           \
	"], \"params\": 1, \"kernel\": [" #k ", " #k "], \"stride\": [" #s ", " #s                 \
	"], \"padding\": [" #p ", " #p "], \"dilation\": [" #d ", " #d "], \"inputs\": [" in "]}"

/*
 * 16×16 input; a 3×3 conv, padding 1 (16×16); a 2×2 max pool, stride 2 (8×8); a ReLU; a 3×3
 * conv dilated 2, padding 2 (8×8). By hand: jumps 1, 1, 2, 2; sizes 3, 4, 4, 4 + 2·2·2 = 12;
 * starts −1, −1, −1, −1 − 2·2 = −5.
 */
static const char chain[] =
    "{\"source\": \"fx\", \"input_shape\": [1, 16, 16], \"modules\": [" CONV(
        "c1", 4, 16, 16, 3, 1, 1, 1,
        "-1") ", {\"name\": \"pool\", \"type\": \"MaxPool2d\", \"shape\": [4, 8, 8], \"params\": "
              "0, \"kernel\": [2, 2], \"stride\": [2, 2], \"padding\": [0, 0], \"dilation\": "
              "[1, 1], \"inputs\": [0]}, {\"name\": \"act\", \"type\": \"ReLU\", \"shape\": [4, "
              "8, 8], \"params\": 0, \"inputs\": [1]}, " CONV("c2", 4, 8, 8, 3, 1, 2, 2,
                                                              "2") ", {\"name\": \"fc\", "
                                                                   "\"type\": \"Linear\", "
                                                                   "\"shape\": [10], "
                                                                   "\"params\": 1, \"inputs\": "
                                                                   "[3]}]}";

static void test_chain(void **state)
{
	(void)state;
	struct arch a;
	parse(chain, &a);
	struct rfield rf;
	rfield_compute(&a, "c1", 16, 16, &rf);
	assert_true(rf.exact);
	assert_int_equal(rf.size[0], 3);
	assert_int_equal(rf.start[1], -1);
	rfield_free(&rf);
	rfield_compute(&a, "pool", 8, 8, &rf);
	assert_true(rf.exact);
	assert_int_equal(rf.size[1], 4);
	assert_int_equal(rf.jump[1], 2);
	assert_int_equal(rf.start[0], -1);
	rfield_free(&rf);
	rfield_compute(&a, "c2", 8, 8, &rf);
	if (!rf.exact)
		fail_msg("%s", rf.why);
	assert_int_equal(rf.size[0], 12);
	assert_int_equal(rf.size[1], 12);
	assert_int_equal(rf.jump[0], 2);
	assert_int_equal(rf.start[0], -5);
	assert_int_equal(rf.in[0], 16);
	/* position (3, 4): span x 3..14, y 1..12, all inside; its box on a 32×48 image doubles x
	 * and triples y */
	double frac[4];
	long in_box[4];
	rfield_region(&rf, 3, 4, frac, in_box);
	assert_int_equal(in_box[0], 3);
	assert_int_equal(in_box[1], 1);
	assert_int_equal(in_box[2], 15);
	assert_int_equal(in_box[3], 13);
	assert_true(frac[2] == 15.0 / 16.0);
	int box[4];
	rfield_box(&rf, 3, 4, 32, 48, box);
	assert_int_equal(box[0], 6);
	assert_int_equal(box[1], 3);
	assert_int_equal(box[2], 30);
	assert_int_equal(box[3], 39);
	/*
	 * Position (0, 0): the span is −5..6, clipped 0..6; c2's taps at c2 rows −2, 0, 2 (the
	 * first in the padding) reach pool rows 0 and 2, c1 rows 0..1 and 4..5, input rows 0..6:
	 * nothing to tighten. Position (7, 7): taps 5, 7, 9 → pool rows 5, 7 → input 9..15.
	 */
	rfield_region(&rf, 0, 0, frac, in_box);
	assert_int_equal(in_box[0], 0);
	assert_int_equal(in_box[2], 7);
	rfield_region(&rf, 7, 7, frac, in_box);
	assert_int_equal(in_box[1], 9);
	assert_int_equal(in_box[3], 16);
	rfield_free(&rf);
	/* the Linear cannot be followed; nor activations of another size */
	rfield_compute(&a, "fc", 1, 1, &rf);
	assert_false(rf.exact);
	assert_string_equal(rf.why, "fc (Linear) is neither a 2-D convolution, a pooling nor an "
	                            "elementwise layer");
	rfield_compute(&a, "c2", 4, 4, &rf);
	assert_false(rf.exact);
	assert_string_equal(rf.why, "the activations are 4×4, but graph.json's c2 is 8×8");
	rfield_compute(&a, "nope", 4, 4, &rf);
	assert_string_equal(rf.why, "graph.json has no module nope");
	/* the scaled cell: cell (1, 2) of 4×4 on an 8×8 image */
	rfield_region(&rf, 1, 2, frac, NULL);
	assert_true(frac[0] == 0.5 && frac[1] == 0.25 && frac[2] == 0.75 && frac[3] == 0.5);
	rfield_box(&rf, 1, 2, 8, 8, box);
	assert_int_equal(box[0], 4);
	assert_int_equal(box[3], 4);
	arch_free(&a);
}

/* Reasons to fall back, each in one graph. */
static void expect_scaled(const char *json, const char *layer, size_t h, size_t w, const char *why)
{
	struct arch a;
	parse(json, &a);
	struct rfield rf;
	rfield_compute(&a, layer, h, w, &rf);
	if (rf.exact)
		fail_msg("exact for %s", json);
	if (!strstr(rf.why, why))
		fail_msg("'%s' lacks '%s'", rf.why, why);
	rfield_free(&rf);
	arch_free(&a);
}

static void test_fallbacks(void **state)
{
	(void)state;
	/* no input_shape */
	expect_scaled(
	    "{\"source\": \"fx\", \"modules\": [" CONV("c", 1, 6, 6, 3, 1, 0, 1, "-1") "]}", "c", 6,
	    6, "graph.json gives no (C, H, W) input_shape");
	/* a shape the kernel does not give: a functional step graph.json does not see */
	expect_scaled("{\"source\": \"fx\", \"input_shape\": [1, 8, 8], \"modules\": [" CONV(
	                  "c", 1, 3, 3, 3, 1, 0, 1, "-1") "]}",
	              "c", 3, 3,
	              "c's output is 3×3 in graph.json, but its 8×8 input and kernel give 6×6");
	/* no stride recorded (an older exporter) */
	expect_scaled("{\"source\": \"fx\", \"input_shape\": [1, 8, 8], \"modules\": [{\"name\": "
	              "\"c\", \"type\": \"Conv2d\", \"shape\": [1, 6, 6], \"params\": 1, "
	              "\"kernel\": [3, 3], \"inputs\": [-1]}]}",
	              "c", 6, 6, "graph.json lacks c's kernel, stride, padding or dilation");
	/* a module called twice */
	expect_scaled(
	    "{\"source\": \"order\", \"input_shape\": [1, 8, 8], \"modules\": [" CONV(
	        "c", 1, 8, 8, 3, 1, 1, 1, "-1") ", " CONV("c", 1, 8, 8, 3, 1, 1, 1, "0") "]}",
	    "c", 8, 8, "c runs 2 times in graph.json");
	/* a ReLU that changes the size cannot be elementwise */
	expect_scaled("{\"source\": \"fx\", \"input_shape\": [1, 8, 8], \"modules\": [{\"name\": "
	              "\"r\", \"type\": \"ReLU\", \"shape\": [1, 4, 4], \"params\": 0, \"inputs\": "
	              "[-1]}]}",
	              "r", 4, 4, "r (ReLU) changes the size from 8×8 to 4×4");
	/* branches of different spacing cannot be united */
	expect_scaled("{\"source\": \"fx\", \"input_shape\": [1, 8, 8], \"modules\": [" CONV(
	                  "a", 1, 4, 4, 2, 2, 0, 1, "-1") ", " CONV("b", 1, 4, 4, 5, 1, 0, 1,
	                                                            "-1") ", {\"name\": \"r\", "
	                                                                  "\"type\": \"ReLU\", "
	                                                                  "\"shape\": [1, 4, 4], "
	                                                                  "\"params\": 0, "
	                                                                  "\"inputs\": [0, 1]}]}",
	              "r", 4, 4, "the inputs of r differ in size or spacing");
	/* strides of 2^20, 2^20 and 2 over a huge input: a spacing past 2^40, refused before it
	 * overflows */
	expect_scaled("{\"source\": \"fx\", \"input_shape\": [1, 1099511627776, 1], \"modules\": "
	              "[{\"name\": \"a\", \"type\": \"Conv2d\", \"shape\": [1, 1048576, 1], "
	              "\"params\": 1, \"kernel\": [1, 1], \"stride\": [1048576, 1], \"padding\": "
	              "[0, 0], \"dilation\": [1, 1], \"inputs\": [-1]}, {\"name\": \"b\", "
	              "\"type\": \"Conv2d\", \"shape\": [1, 1, 1], \"params\": 1, \"kernel\": "
	              "[1, 1], \"stride\": [1048576, 1], \"padding\": [0, 0], \"dilation\": "
	              "[1, 1], \"inputs\": [0]}, {\"name\": \"c\", \"type\": \"Conv2d\", "
	              "\"shape\": [1, 1, 1], \"params\": 1, \"kernel\": [1, 1], \"stride\": [2, "
	              "1], \"padding\": [0, 0], \"dilation\": [1, 1], \"inputs\": [1]}]}",
	              "c", 1, 1, "c: the receptive field is too large");
}

/* A huge input reached through a cheap layer: no index carrying, the clipped span instead. */
static void test_large(void **state)
{
	(void)state;
	struct arch a;
	parse("{\"source\": \"fx\", \"input_shape\": [1, 1099511627776, 3], \"modules\": "
	      "[{\"name\": \"a\", \"type\": \"Conv2d\", \"shape\": [1, 1048576, 3], \"params\": 1, "
	      "\"kernel\": [3, 3], \"stride\": [1048576, 1], \"padding\": [1, 1], \"dilation\": "
	      "[1, 1], \"inputs\": [-1]}]}",
	      &a);
	struct rfield rf;
	rfield_compute(&a, "a", 1048576, 3, &rf);
	if (!rf.exact)
		fail_msg("%s", rf.why);
	assert_false(rf.tight[0]);
	assert_true(rf.tight[1]);
	double frac[4];
	long in_box[4];
	rfield_region(&rf, 1048575, 0, frac, in_box);
	/* rows 1048575·2^20 − 1 .. +1 */
	assert_int_equal(in_box[1], 1048575L * 1048576L - 1);
	assert_int_equal(in_box[3], 1048575L * 1048576L + 2);
	assert_int_equal(in_box[0], 0); /* column 0: the tap at −1 is in the padding */
	assert_int_equal(in_box[2], 2);
	rfield_free(&rf);
	arch_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain),
	    cmocka_unit_test(test_fallbacks),
	    cmocka_unit_test(test_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
