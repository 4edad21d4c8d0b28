/* test_gate.c — gate's binomial tail against SciPy, and classes / gate / calibration on a study
 * small enough to work out by hand; the PNG encoder against libsixel's decoder. */
#include "testutil.h"

#include <math.h>

#include "nncmp/calibration.h"
#include "nncmp/classdist.h"
#include "nncmp/gate.h"
#include "nncmp/image.h"
#include "nncmp/study.h"

static void assert_rel(double got, double want, double tol)
{
	if (want == 0 ? got != 0 : fabs(got / want - 1) > tol)
		fail_msg("got %.17g, want %.17g", got, want);
}

/* scipy.stats.binomtest(k, n, 0.5, alternative='greater').pvalue (SciPy 1.10). */
static void test_binom_upper_scipy(void **state)
{
	(void)state;
	static const struct {
		int64_t k, n;
		double p;
	} cases[] = {
	    {1, 1, 0.5},
	    {3, 3, 0.125},
	    {173, 176, 9.488074589622872e-48},
	    {36, 39, 1.8044374883174896e-08},
	    {5, 10, 0.623046875},
	    {6, 10, 0.376953125},
	    {7, 20, 0.9423408508300781},
	    {13, 20, 0.13158798217773438},
	    {600, 1000, 1.364232078032988e-10},
	    {520, 1000, 0.10872414660207046},
	    {50100, 100000, 0.26457864704009904},
	    {0, 5, 1.0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		assert_rel(gate_binom_upper(cases[i].k, cases[i].n), cases[i].p, 1e-9);
	assert_rel(gate_binom_upper(0, 0), 1.0, 0);
	/* far tails, each ended at its first term (these took 10^9 pmf calls) */
	assert_true(gate_binom_upper(3000000000, 4000000000) == 0.0);
	assert_true(gate_binom_upper(1000000000, 4000000000) == 1.0);
}

/*
 * Labels 0 0 1 1; model a's probabilities below. D0[0][1] = mean(1 - P1 | label 0) =
 * (0.9 + 0.5)/2 = 0.7, D0[1][0] = (0.7 + 0.6)/2 = 0.65, D = 0.675: two points 0.675 apart,
 * at ±0.3375 on the first axis (class 0 positive: the first of two equal magnitudes), 0 on the
 * second; the order along the first axis is 1, 0.
 */
static struct study *tiny(char **dir)
{
	static const int64_t labels[] = {0, 0, 1, 1};
	static const float pa[] = {0.9f, 0.1f, 0.5f, 0.5f, 0.3f, 0.7f, 0.4f, 0.6f};
	static const int64_t pred_b[] = {0, 1, 0, 0};
	*dir = xstrdup(tu_mkdtemp());
	tu_write_i64(*dir, "labels.npy", labels, 4);
	tu_write_f32(*dir, "models/a/probs.npy", pa, 4, 2);
	tu_write_i64(*dir, "models/b/pred.npy", pred_b, 4);
	struct nn_err err = {{0}};
	struct study *s = study_open(*dir, &err);
	if (!s)
		fail_msg("%s", err.msg);
	return s;
}

static void test_classes_by_hand(void **state)
{
	(void)state;
	char *dir;
	struct study *s = tiny(&dir);
	struct class_dist cd;
	struct nn_err err = {{0}};
	assert_int_equal(class_dist_compute(s, 0, &cd, &err), 0);
	assert_rel(cd.d[1], 0.675, 1e-6);
	assert_rel(cd.d[2], 0.675, 1e-6);
	assert_true(cd.d[0] == 0 && cd.d[3] == 0);
	assert_rel(cd.layout[0], 0.3375, 1e-6);
	assert_rel(cd.layout[2], -0.3375, 1e-6);
	assert_true(fabs(cd.layout[1]) < 1e-9 && fabs(cd.layout[3]) < 1e-9);
	assert_int_equal(cd.order[0], 1);
	assert_int_equal(cd.order[1], 0);
	assert_int_equal(cd.n_pairs, 1);
	class_dist_free(&cd);
	/* b predicts only: one-hot rows. Label 0 predicted 0, 1; label 1 predicted 0, 0:
	 * D0[0][1] = (1 + 0)/2, D0[1][0] = (0 + 0)/2, D = 0.25 */
	assert_int_equal(class_dist_compute(s, 1, &cd, &err), 0);
	assert_rel(cd.d[1], 0.25, 1e-12);
	class_dist_free(&cd);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

static void test_gate_by_hand(void **state)
{
	(void)state;
	char *dir;
	struct study *s = tiny(&dir);
	/* a predicts 0 0 1 1 (right 4), b predicts 0 1 0 0 (right 1): only a right on 3, p = 1/8 */
	struct gate_result g;
	gate_compare(s, 0, 1, GATE_ACCURACY, 0.2, 0, 1, &g);
	assert_int_equal(g.only_base, 3);
	assert_int_equal(g.only_new, 0);
	assert_rel(g.p, 0.125, 1e-12);
	assert_rel(g.diff, -0.75, 1e-12);
	assert_true(g.worse);
	gate_compare(s, 0, 1, GATE_ACCURACY, 0.1, 0, 1, &g);
	assert_false(g.worse);
	/* macro-F1: a 1; b: class 0 tp 1, predicted 3, support 2 -> 0.4; class 1 tp 0 -> 0;
	 * sklearn's mean 0.2 */
	gate_compare(s, 0, 1, GATE_MACRO_F1, 0.05, 2000, 7, &g);
	assert_rel(g.base_value, 1.0, 1e-12);
	assert_rel(g.new_value, 0.2, 1e-12);
	struct gate_result h;
	gate_compare(s, 0, 1, GATE_MACRO_F1, 0.05, 2000, 7, &h);
	assert_true(g.p == h.p && g.upper == h.upper);
	gate_compare(s, 0, 0, GATE_MACRO_F1, 0.05, 500, 7, &h);
	assert_false(h.worse);
	assert_rel(h.p, 1.0, 0);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

/* conf of a: 0.9 0.5 0.7 0.6, all right; 2 bins: 0.5 -> bin 0, the rest bin 1. */
static void test_calibration_by_hand(void **state)
{
	(void)state;
	char *dir;
	struct study *s = tiny(&dir);
	struct calibration cb;
	assert_int_equal(calibration_compute(s, 0, 2, &cb), 0);
	assert_int_equal(cb.count[0], 1);
	assert_int_equal(cb.count[1], 3);
	assert_rel(cb.mean_conf[1], (0.9 + 0.7 + 0.6) / 3, 1e-6);
	assert_rel(cb.ece, 0.25 * 0.5 + 0.75 * (1 - (0.9 + 0.7 + 0.6) / 3), 1e-6);
	calibration_free(&cb);
	assert_int_equal(calibration_compute(s, 1, 2, &cb), -1);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

/* What image_png_data_uri writes, libsixel's loader (image_load) reads back pixel for pixel. */
static void test_png_round_trip(void **state)
{
	(void)state;
	uint8_t px[5 * 3 * 3];
	for (size_t i = 0; i < sizeof px; i++)
		px[i] = (uint8_t)(i * 37 + 11);
	struct image img = {.w = 5, .h = 3, .rgb = px};
	struct nn_err err = {{0}};
	char *uri = image_png_data_uri(&img, &err);
	assert_non_null(uri);
	const char *pre = "data:image/png;base64,";
	assert_int_equal(strncmp(uri, pre, strlen(pre)), 0);
	/* decode the base64 by hand */
	const char *b = uri + strlen(pre);
	size_t n = strlen(b);
	uint8_t *bin = xmalloc(n);
	size_t len = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n && b[i] != '='; i++) {
		const char *tab =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const char *p = strchr(tab, b[i]);
		assert_non_null(p);
		acc = acc << 6 | (uint32_t)(p - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			bin[len++] = (uint8_t)(acc >> bits);
		}
	}
	char *dir = xstrdup(tu_mkdtemp());
	tu_write(dir, "x.png", bin, len);
	char *path = xasprintf("%s/x.png", dir);
	struct image back;
	if (image_load(path, &back, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(back.w, 5);
	assert_int_equal(back.h, 3);
	assert_memory_equal(back.rgb, px, sizeof px);
	image_free(&back);
	free(path);
	free(bin);
	free(uri);
	tu_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_binom_upper_scipy), cmocka_unit_test(test_classes_by_hand),
	    cmocka_unit_test(test_gate_by_hand),      cmocka_unit_test(test_calibration_by_hand),
	    cmocka_unit_test(test_png_round_trip),
	};
	return cmocka_run_group_tests_name("gate", tests, NULL, NULL);
}
