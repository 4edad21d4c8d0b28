/*
 * test_oracle.c — `nncmp report --json` on every demo study against the metrics scikit-learn
 * computed when the study was made (demo-data/STUDY/oracle/metrics.json), and filter counts
 * against NumPy's. Exact counts, floats to 1e-9.
 */
#include "testutil.h"

#include <jansson.h>
#include <math.h>

#include "nncmp/filter.h"
#include "nncmp/study.h"

static const char *const studies[] = {"demo-data/digits", "demo-data/fortunes"};

static json_t *run_json(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	json_error_t je;
	json_t *v = json_loadf(p, 0, &je);
	int rc = pclose(p);
	if (!v || rc != 0)
		fail_msg("%s: exit %d, %s", cmd, rc, v ? "" : je.text);
	return v;
}

static json_t *oracle(const char *study)
{
	char path[512];
	snprintf(path, sizeof path, "%s/oracle/metrics.json", study);
	json_error_t je;
	json_t *o = json_load_file(path, 0, &je);
	if (!o)
		fail_msg("%s: %s", path, je.text);
	return o;
}

static void near(const char *what, json_t *got, json_t *want, double tol, bool relative)
{
	double g = json_number_value(got), w = json_number_value(want);
	if (json_is_null(want) && json_is_null(got))
		return;
	if (!json_is_number(got) || !json_is_number(want))
		fail_msg("%s: not numbers", what);
	double d = relative && w != 0 ? fabs(g / w - 1) : fabs(g - w);
	if (!(d <= tol))
		fail_msg("%s: got %.17g, want %.17g", what, g, w);
}

static void same_int(const char *what, json_t *got, json_t *want)
{
	if (!json_is_integer(got) || json_integer_value(got) != json_integer_value(want))
		fail_msg("%s: got %lld, want %lld", what, (long long)json_integer_value(got),
		         (long long)json_integer_value(want));
}

static void check_models(const char *study, json_t *got, json_t *want)
{
	json_t *gm = json_object_get(got, "models"), *wm = json_object_get(want, "models");
	assert_int_equal(json_array_size(gm), json_array_size(wm));
	char what[256];
	for (size_t m = 0; m < json_array_size(wm); m++) {
		json_t *g = json_array_get(gm, m), *w = json_array_get(wm, m);
		const char *name = json_string_value(json_object_get(w, "name"));
		assert_string_equal(json_string_value(json_object_get(g, "name")), name);
		static const char *const keys[] = {"accuracy", "macro_f1", "ece"};
		for (int k = 0; k < 3; k++) {
			if (!json_object_get(w, keys[k]))
				continue;
			snprintf(what, sizeof what, "%s %s %s", study, name, keys[k]);
			near(what, json_object_get(g, keys[k]), json_object_get(w, keys[k]), 1e-9,
			     false);
		}
		json_t *wk = json_object_get(w, "top_k");
		const char *k;
		json_t *v;
		json_object_foreach(wk, k, v)
		{
			snprintf(what, sizeof what, "%s %s top-%s", study, name, k);
			near(what, json_object_get(json_object_get(g, "top_k"), k), v, 1e-9, false);
		}
		json_t *gc = json_object_get(g, "confusion"), *wc = json_object_get(w, "confusion");
		assert_int_equal(json_array_size(gc), json_array_size(wc));
		for (size_t y = 0; y < json_array_size(wc); y++)
			for (size_t p = 0; p < json_array_size(json_array_get(wc, y)); p++) {
				snprintf(what, sizeof what, "%s %s confusion[%zu][%zu]", study,
				         name, y, p);
				same_int(what, json_array_get(json_array_get(gc, y), p),
				         json_array_get(json_array_get(wc, y), p));
			}
		json_t *gp = json_object_get(g, "per_class"), *wp = json_object_get(w, "per_class");
		for (size_t y = 0; y < json_array_size(wp); y++) {
			static const char *const pk[] = {"precision", "recall", "f1"};
			for (int t = 0; t < 3; t++) {
				snprintf(what, sizeof what, "%s %s class %zu %s", study, name, y,
				         pk[t]);
				near(what, json_object_get(json_array_get(gp, y), pk[t]),
				     json_object_get(json_array_get(wp, y), pk[t]), 1e-9, false);
			}
			snprintf(what, sizeof what, "%s %s class %zu support", study, name, y);
			same_int(what, json_object_get(json_array_get(gp, y), "support"),
			         json_object_get(json_array_get(wp, y), "support"));
		}
	}
}

static void check_pairs(const char *study, json_t *got, json_t *want)
{
	json_t *gp = json_object_get(got, "pairs"), *wp = json_object_get(want, "pairs");
	assert_int_equal(json_array_size(gp), json_array_size(wp));
	char what[256];
	size_t n = (size_t)json_integer_value(json_object_get(want, "n"));
	for (size_t k = 0; k < json_array_size(wp); k++) {
		json_t *g = json_array_get(gp, k), *w = json_array_get(wp, k);
		assert_string_equal(json_string_value(json_object_get(g, "a")),
		                    json_string_value(json_object_get(w, "a")));
		assert_string_equal(json_string_value(json_object_get(g, "b")),
		                    json_string_value(json_object_get(w, "b")));
		static const char *const counts[] = {"both_correct", "only_a", "only_b",
		                                     "both_wrong"};
		for (int c = 0; c < 4; c++) {
			snprintf(what, sizeof what, "%s pair %zu %s", study, k, counts[c]);
			same_int(what, json_object_get(g, counts[c]),
			         json_object_get(w, counts[c]));
			json_t *gpc = json_object_get(g, "per_class"),
			       *wpc = json_object_get(w, "per_class");
			for (size_t y = 0; y < json_array_size(wpc); y++)
				same_int(what, json_object_get(json_array_get(gpc, y), counts[c]),
				         json_object_get(json_array_get(wpc, y), counts[c]));
		}
		snprintf(what, sizeof what, "%s pair %zu", study, k);
		near(what, json_object_get(g, "agreement"), json_object_get(w, "agreement"), 1e-9,
		     false);
		near(what, json_object_get(g, "kappa"), json_object_get(w, "kappa"), 1e-9, false);
		near(what, json_object_get(g, "mcnemar_p"), json_object_get(w, "mcnemar_p"), 1e-9,
		     true);
		near(what, json_object_get(g, "acc_diff"), json_object_get(w, "acc_diff"), 1e-9,
		     false);
		/* two bootstraps of 10000 replicates: their percentiles differ by Monte Carlo
		 * error, a few steps of 1/n */
		json_t *gci = json_object_get(g, "acc_diff_ci"),
		       *wci = json_object_get(w, "acc_diff_ci_bootstrap");
		for (size_t e = 0; e < 2; e++)
			near(what, json_array_get(gci, e), json_array_get(wci, e),
			     4.0 / (double)n + 0.002, false);
	}
	json_t *gn = json_object_get(got, "n_correct"), *wn = json_object_get(want, "n_correct");
	assert_int_equal(json_array_size(gn), json_array_size(wn));
	for (size_t k = 0; k < json_array_size(wn); k++)
		same_int("n_correct", json_array_get(gn, k), json_array_get(wn, k));
}

static void test_report_matches_sklearn(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof studies / sizeof *studies; i++) {
		char cmd[512];
		const char *bin = getenv("NNCMP") ? getenv("NNCMP") : "./nncmp";
		snprintf(cmd, sizeof cmd, "%s report %s --json", bin, studies[i]);
		json_t *got = run_json(cmd), *want = oracle(studies[i]);
		same_int("n", json_object_get(got, "n"), json_object_get(want, "n"));
		assert_true(
		    json_equal(json_object_get(got, "classes"), json_object_get(want, "classes")));
		check_models(studies[i], got, want);
		check_pairs(studies[i], got, want);
		json_decref(got);
		json_decref(want);
	}
}

static void test_filters_match_numpy(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof studies / sizeof *studies; i++) {
		struct nn_err err = {{0}};
		struct study *s = study_open(studies[i], &err);
		if (!s)
			fail_msg("%s", err.msg);
		json_t *want = oracle(studies[i]);
		json_t *filters = json_object_get(want, "filters");
		assert_true(json_array_size(filters) >= 8);
		uint32_t *idx = xcalloc(s->n, sizeof *idx);
		for (size_t k = 0; k < json_array_size(filters); k++) {
			json_t *f = json_array_get(filters, k);
			const char *text = json_string_value(json_object_get(f, "expr"));
			size_t col;
			struct expr *e = expr_compile(s, text, &err, &col);
			if (!e)
				fail_msg("%s: %s: %s", studies[i], text, err.msg);
			size_t n = expr_select(e, s, idx);
			if ((json_int_t)n != json_integer_value(json_object_get(f, "count")))
				fail_msg(
				    "%s: %s: %zu matches, NumPy counted %lld", studies[i], text, n,
				    (long long)json_integer_value(json_object_get(f, "count")));
			expr_free(e);
		}
		free(idx);
		json_decref(want);
		study_free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_report_matches_sklearn),
	    cmocka_unit_test(test_filters_match_numpy),
	};
	return cmocka_run_group_tests_name("oracle", tests, NULL, NULL);
}
