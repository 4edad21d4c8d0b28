/*
 * test_issues.c — label-issue scores against an independent NumPy implementation
 * (tools/make_issue_fixtures.py → tests/data/issues/NAME.json): counts, flagged sets, the whole
 * rank order (the flagged instances, then the rest) and suggestions exactly, scores to 1e-9, the
 * estimated number of errors (knn: float32 similarities, so near-ties may differ on a few
 * instances; mix: only at the instances the oracle lists as near ties); then precision and
 * recall of every method against the errors injected into the demo studies
 * (demo-data/STUDY/oracle/injected.json), with floors a broken method cannot meet.
 */
#include "testutil.h"

#include <jansson.h>
#include <math.h>

#include "nncmp/issues.h"
#include "nncmp/issues_internal.h"
#include "nncmp/linalg.h"
#include "nncmp/rng.h"
#include "nncmp/study.h"

static json_t *load_json(const char *path)
{
	json_error_t je;
	json_t *v = json_load_file(path, 0, &je);
	if (!v)
		fail_msg("%s: %s (run tools/make_issue_fixtures.py)", path, je.text);
	return v;
}

static struct study *open_study(const char *path)
{
	struct nn_err err = {{0}};
	struct study *s = study_open(path, &err);
	if (!s)
		fail_msg("%s: %s", path, err.msg);
	return s;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Runs one fixture case and compares it with its expectation. */
static void check_case(const struct study *s, json_t *c, const char *file, size_t ci)
{
	const char *method = json_string_value(json_object_get(c, "method"));
	json_t *model = json_object_get(c, "model"), *ex = json_object_get(c, "exclude");
	json_t *lab = json_object_get(c, "labels"), *want = json_object_get(c, "expect");
	int m = issue_method_parse(method);
	assert_true(m >= 0);
	size_t n = s->n;
	uint8_t *exclude = NULL;
	int32_t *labels = NULL;
	struct issue_opts o = {.model = -1,
	                       .k = (size_t)json_integer_value(json_object_get(c, "k"))};
	if (json_is_string(model)) {
		o.model = study_model_index(s, json_string_value(model));
		assert_true(o.model >= 0);
	}
	if (json_is_array(ex)) {
		exclude = calloc(n, 1);
		size_t k;
		json_t *v;
		json_array_foreach(ex, k, v) exclude[json_integer_value(v)] = 1;
		o.exclude = exclude;
	}
	if (json_is_object(lab)) {
		labels = malloc(n * sizeof *labels);
		memcpy(labels, s->labels, n * sizeof *labels);
		const char *key;
		json_t *v;
		json_object_foreach(lab, key, v) labels[atoi(key)] = (int32_t)json_integer_value(v);
		o.labels = labels;
	}
	if (json_is_string(json_object_get(c, "layer")))
		o.layer = json_string_value(json_object_get(c, "layer"));
	struct issue_list l;
	struct nn_err err = {{0}};
	if (issues_rank(s, (enum issue_method)m, &o, NULL, &l, &err) != 0)
		fail_msg("%s case %zu (%s): %s", file, ci, method, err.msg);
	bool knn = m == ISSUE_KNN, mix = m == ISSUE_MIX;
	uint8_t *near = calloc(n, 1); /* mix: the oracle's near ties */
	json_t *nt = json_object_get(want, "near_ties");
	for (size_t k = 0; k < json_array_size(nt); k++)
		near[json_integer_value(json_array_get(nt, k))] = 1;
	uint8_t *differs = calloc(n, 1);
	size_t want_count = (size_t)json_integer_value(json_object_get(want, "count"));
	json_t *flagged = json_object_get(want, "flagged"), *order = json_object_get(want, "order");
	json_t *sugg = json_object_get(want, "suggested"),
	       *scores = json_object_get(want, "scores");
	size_t kept = 0;
	for (size_t i = 0; i < n; i++)
		kept += !(exclude && exclude[i]);
	assert_int_equal(l.n, kept);
	/* scores of every instance */
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *w = json_array_get(scores, i);
		if (json_is_null(w)) {
			assert_true(isnan(l.all_scores[i]));
			continue;
		}
		double d = fabs(l.all_scores[i] - json_real_value(w));
		if (!(d <= 1e-9)) {
			differs[i] = 1;
			if (!knn && !(mix && near[i]))
				fail_msg("%s case %zu (%s): score of %zu: %.17g, NumPy %.17g", file,
				         ci, method, i, l.all_scores[i], json_real_value(w));
			off++;
		}
	}
	if (knn) {
		/* float32 cosine similarities: a near-tie may pick another neighbour */
		if (off > n / 50 + 1)
			fail_msg("%s case %zu (knn): %zu of %zu scores differ", file, ci, off, n);
		long d = (long)l.count - (long)want_count;
		assert_true(labs(d) <= (long)(n / 50 + 1));
	} else if (mix && off) {
		/* another neighbour at a near tie: the instances whose scores agree keep their
		 * relative order, and the rest of the list is as the oracle says */
		json_t *ranked = json_object_get(want, "ranked");
		assert_true(labs((long)l.count - (long)want_count) <= (long)off);
		size_t r = 0;
		for (size_t w = 0; w < json_array_size(ranked); w++) {
			uint32_t i = (uint32_t)json_integer_value(json_array_get(ranked, w));
			if (differs[i])
				continue;
			while (r < l.n && differs[l.index[r]])
				r++;
			assert_true(r < l.n);
			assert_int_equal(l.index[r], i);
			r++;
		}
	} else {
		if (l.count != want_count)
			fail_msg("%s case %zu (%s, model %s): count %zu, NumPy %zu", file, ci,
			         method, json_is_string(model) ? json_string_value(model) : "all",
			         l.count, want_count);
		uint32_t *set = malloc((l.count ? l.count : 1) * sizeof *set);
		memcpy(set, l.index, l.count * sizeof *set);
		qsort(set, l.count, sizeof *set, cmp_u32);
		for (size_t r = 0; r < l.count; r++) {
			assert_int_equal(set[r], json_integer_value(json_array_get(flagged, r)));
			assert_int_equal(l.index[r], json_integer_value(json_array_get(order, r)));
			assert_int_equal(l.suggested[r],
			                 json_integer_value(json_array_get(sugg, r)));
		}
		free(set);
		/* the whole list: the unflagged instances follow in rank order (--top K > count),
		 * exactly for the self-confidence methods; iies, margin and consensus give
		 * unflagged instances near-equal scores (iies: (p + 1 - p) / 2 is 0.5 give or take
		 * an ulp of p, and a softmax may differ from NumPy's by one), so there only
		 * near-equal scores may trade places */
		json_t *ranked = json_object_get(want, "ranked");
		json_t *rsugg = json_object_get(want, "ranked_suggested");
		bool exact = m == ISSUE_CL || m == ISSUE_MEAN || m == ISSUE_MIX;
		assert_int_equal(json_array_size(ranked), l.n);
		int32_t *want_sugg = calloc(n, sizeof *want_sugg);
		for (size_t r = 0; r < l.n; r++)
			want_sugg[json_integer_value(json_array_get(ranked, r))] =
			    (int32_t)json_integer_value(json_array_get(rsugg, r));
		for (size_t r = 0; r < l.n; r++) {
			uint32_t w = (uint32_t)json_integer_value(json_array_get(ranked, r));
			bool same =
			    exact ? l.index[r] == w : fabs(l.score[r] - l.all_scores[w]) <= 1e-9;
			if (!same)
				fail_msg("%s case %zu (%s): rank %zu is %u, NumPy %u", file, ci,
				         method, r, l.index[r], w);
			assert_int_equal(l.suggested[r], want_sugg[l.index[r]]);
		}
		free(want_sugg);
		assert_int_equal(l.estimated,
		                 json_integer_value(json_object_get(want, "estimated")));
	}
	if (mix) {
		assert_int_equal(l.layers_mixed,
		                 json_integer_value(json_object_get(want, "layers_mixed")));
		assert_int_equal(l.layers_dropped,
		                 json_integer_value(json_object_get(want, "layers_dropped")));
		assert_float_equal(l.mix_weight,
		                   json_number_value(json_object_get(want, "mix_weight")), 1e-12);
		/* the weights of the models used, in study order (NaN for the others) */
		json_t *mw = json_object_get(want, "model_weights");
		size_t used = 0;
		for (size_t q = 0; q < s->n_models; q++)
			if (!isnan(l.model_weights[q]))
				assert_float_equal(l.model_weights[q],
				                   json_number_value(json_array_get(mw, used++)),
				                   1e-12);
		assert_int_equal(used, json_array_size(mw));
	}
	free(near);
	free(differs);
	/* the ranked list: every kept instance once, scores matching all_scores */
	uint8_t *seen = calloc(n, 1);
	for (size_t r = 0; r < l.n; r++) {
		assert_false(seen[l.index[r]]);
		assert_false(exclude && exclude[l.index[r]]);
		seen[l.index[r]] = 1;
		assert_true(l.score[r] == l.all_scores[l.index[r]]);
	}
	free(seen);
	issue_list_free(&l);
	free(exclude);
	free(labels);
}

static void run_fixture(const char *file)
{
	json_t *root = load_json(file);
	struct study *s = open_study(json_string_value(json_object_get(root, "study")));
	json_t *cases = json_object_get(root, "cases");
	assert_true(json_array_size(cases) > 0);
	for (size_t k = 0; k < json_array_size(cases); k++)
		check_case(s, json_array_get(cases, k), file, k);
	study_free(s);
	json_decref(root);
}

static void test_oracle_small(void **state)
{
	(void)state;
	run_fixture("tests/data/issues/small.json");
}

static void test_oracle_digits(void **state)
{
	(void)state;
	run_fixture("tests/data/issues/demo_digits.json");
}

static void test_oracle_fortunes(void **state)
{
	(void)state;
	run_fixture("tests/data/issues/demo_fortunes.json");
}

/* Confident learning's thresholds come from correctly classified rows in one cell here. */
static void test_oracle_skewed(void **state)
{
	(void)state;
	run_fixture("tests/data/issues/skewed.json");
}

/*
 * Each of cleanlab's rules changes the flagged set here: the class counted when several are
 * confident, the rounding, one instance kept per class, exact prune counts on equal margins,
 * and the 1e-6 for the label (tools/make_issue_fixtures.py, write_clrules).
 */
static void test_oracle_clrules(void **state)
{
	(void)state;
	run_fixture("tests/data/issues/clrules.json");
}

/*
 * mix's weights with 12 models (fitted on every face of the simplex, one model a copy of another
 * and one uniform) and with 13 (past the limit: equal weights): the fixtures' expectations, and
 * that the weights are a convex combination, the copy and the uniform model getting none.
 */
static void test_oracle_many(void **state)
{
	(void)state;
	run_fixture("tests/data/issues/many12.json");
	run_fixture("tests/data/issues/many13.json");
	struct study *s = open_study("tests/data/issues/many12");
	struct issue_opts o = {.model = -1};
	struct issue_list l;
	struct nn_err err = {{0}};
	assert_int_equal(issues_rank(s, ISSUE_MIX, &o, NULL, &l, &err), 0);
	double sum = l.mix_weight;
	for (size_t q = 0; q < s->n_models; q++) {
		assert_true(l.model_weights[q] >= 0);
		sum += l.model_weights[q];
	}
	assert_true(fabs(sum - 1.0) < 1e-12);
	assert_true(l.model_weights[0] > 0.5);
	assert_true(l.model_weights[1] == 0.0 && l.model_weights[2] == 0.0);
	issue_list_free(&l);
	study_free(s);
}

/*
 * A ReLU layer with rows of zeros and a row with a NaN: the fixture's expectations, and, said
 * directly, that such a row has no neighbours (knn: score 0; mix: P0 is its vote) and
 * is no one's neighbour (every other row's knn vote is the same as on the layer without them).
 */
static void test_oracle_sparse(void **state)
{
	(void)state;
	run_fixture("tests/data/issues/sparse.json");
	static const size_t dead[] = {3, 5, 20, 33, 40, 44}; /* SPARSE_DEAD, SPARSE_NAN */
	struct study *s = open_study("tests/data/issues/sparse");
	struct issue_opts o = {.model = -1};
	struct issue_list knn, mix, mean;
	struct nn_err err = {{0}};
	assert_int_equal(issues_rank(s, ISSUE_KNN, &o, NULL, &knn, &err), 0);
	assert_int_equal(issues_rank(s, ISSUE_MIX, &o, NULL, &mix, &err), 0);
	assert_int_equal(issues_rank(s, ISSUE_MEAN, &o, NULL, &mean, &err), 0);
	assert_int_equal(mix.layers_mixed, 1);
	/* mix: a dead row has no vote, so with one model its P' is P and S = P / t: its
	 * 1 - score over the mean's 1 - score is 1 / t of its label, the same for every dead row
	 * of that label (the study has two such pairs) */
	double ratio[3] = {NAN, NAN, NAN};
	size_t pairs = 0;
	for (size_t d = 0; d < sizeof dead / sizeof *dead; d++) {
		size_t i = dead[d];
		assert_true(knn.all_scores[i] == 0.0);
		double r = (1.0 - mix.all_scores[i]) / (1.0 - mean.all_scores[i]);
		int32_t y = s->labels[i];
		if (!isnan(ratio[y])) {
			assert_true(fabs(r - ratio[y]) <= 1e-12 * fabs(r));
			pairs++;
		}
		ratio[y] = r;
	}
	assert_true(pairs >= 2);
	/* excluding the dead rows changes no other row's neighbours */
	uint8_t *ex = calloc(s->n, 1);
	for (size_t d = 0; d < sizeof dead / sizeof *dead; d++)
		ex[dead[d]] = 1;
	struct issue_list knn2;
	o.exclude = ex;
	assert_int_equal(issues_rank(s, ISSUE_KNN, &o, NULL, &knn2, &err), 0);
	for (size_t i = 0; i < s->n; i++)
		if (!ex[i])
			assert_true(knn2.all_scores[i] == knn.all_scores[i]);
	issue_list_free(&knn2);
	free(ex);
	issue_list_free(&knn);
	issue_list_free(&mix);
	issue_list_free(&mean);
	study_free(s);
}

static void test_names(void **state)
{
	(void)state;
	for (int m = 0; m < ISSUE_METHOD_COUNT; m++)
		assert_int_equal(issue_method_parse(issue_method_name((enum issue_method)m)), m);
	assert_int_equal(issue_method_parse("cleanlab"), -1);
	struct study *s = open_study("tests/data/issues/small");
	assert_int_equal(issue_method_default(s), ISSUE_MIX);
	study_free(s);
}

static void test_errors(void **state)
{
	(void)state;
	struct study *s = open_study("tests/data/issues/small");
	struct issue_list l;
	struct nn_err err = {{0}};
	struct issue_opts o = {.model = study_model_index(s, "vote")};
	assert_int_equal(issues_rank(s, ISSUE_CL, &o, NULL, &l, &err), -1);
	assert_non_null(strstr(err.msg, "only predictions"));
	assert_null(l.index);
	o.model = 7;
	assert_int_equal(issues_rank(s, ISSUE_MARGIN, &o, NULL, &l, &err), -1);
	o.model = -1;
	o.layer = "a.nosuch";
	assert_int_equal(issues_rank(s, ISSUE_KNN, &o, NULL, &l, &err), -1);
	assert_non_null(strstr(err.msg, "a.nosuch"));
	assert_int_equal(issues_rank(s, ISSUE_MIX, &o, NULL, &l, &err), -1);
	assert_non_null(strstr(err.msg, "a.nosuch"));
	assert_null(l.index);
	/* a prediction-only model still counts in consensus */
	o = (struct issue_opts){.model = study_model_index(s, "vote")};
	assert_int_equal(issues_rank(s, ISSUE_CONSENSUS, &o, NULL, &l, &err), 0);
	issue_list_free(&l);
	/* knn is refused when N² × neurons is over ISSUES_KNN_MAX_WORK unless forced (nothing is
	 * read first): 200,000 instances × 63 neurons is under it, × 64 over */
	struct layer ly = {.name = (char *)"fc", .act_path = (char *)"fc.npy", .act.cols = 64};
	struct model md = {.name = (char *)"big", .n_layers = 1, .layers = &ly};
	struct study big = {
	    .name = (char *)"big", .n = 200000, .n_classes = 2, .n_models = 1, .models = &md};
	o = (struct issue_opts){.model = -1};
	assert_int_equal(issues_rank(&big, ISSUE_KNN, &o, NULL, &l, &err), -1);
	assert_non_null(strstr(err.msg, "200000 instances × 64 neurons is refused"));
	assert_non_null(strstr(err.msg, "2.6e+12 multiply-adds is over the limit of 2.5e+12"));
	/* cancelled before the first block */
	struct nn_progress prog;
	atomic_init(&prog.done, 0);
	atomic_init(&prog.total, 0);
	atomic_init(&prog.cancel, true);
	o.model = -1;
	assert_int_equal(issues_rank(s, ISSUE_CL, &o, &prog, &l, &err), -1);
	assert_string_equal(err.msg, "cancelled");
	for (int m = ISSUE_MEAN; m <= ISSUE_MIX; m++) {
		assert_int_equal(issues_rank(s, (enum issue_method)m, &o, &prog, &l, &err), -1);
		assert_string_equal(err.msg, "cancelled");
		assert_null(l.index);
	}
	study_free(s);
}

/* issues_iies equals the iies method on that one model (itself checked against NumPy). */
static void test_iies_per_model(void **state)
{
	(void)state;
	struct study *s = open_study("demo-data/digits");
	double *v = malloc(s->n * sizeof *v);
	for (size_t m = 0; m < s->n_models; m++) {
		struct nn_err err = {{0}};
		assert_int_equal(issues_iies(s, (int)m, v, &err), 0);
		if (s->models[m].src == SRC_PRED)
			continue;
		struct issue_opts o = {.model = (int)m};
		struct issue_list l;
		assert_int_equal(issues_rank(s, ISSUE_IIES, &o, NULL, &l, &err), 0);
		for (size_t i = 0; i < s->n; i++)
			assert_true(fabs(v[i] - l.all_scores[i]) < 1e-12);
		issue_list_free(&l);
	}
	struct nn_err err = {{0}};
	assert_int_equal(issues_iies(s, 99, v, &err), -1);
	free(v);
	study_free(s);
}

/*
 * Precision and recall against the injected label errors, at K = the number injected (where
 * precision and recall are equal) and at each method's own count. Floors a broken method cannot
 * meet: every method's precision at K above 5 times the injected rate (a random ranking gets
 * the rate: 0.032 on digits, 0.028 on fortunes), and the default method's above a floor per
 * study set under what it measured (mix, digits 0.97: its models are 75-94% accurate; fortunes
 * 0.50: its models are 60-66% accurate, and no other method reaches 0.4 there).
 */
static void test_injected(void **state)
{
	(void)state;
	static const char *const studies[] = {"demo-data/digits", "demo-data/fortunes"};
	static const double default_floor[] = {0.90, 0.45};
	printf("%-10s %-10s %5s %8s %6s %9s %9s\n", "study", "method", "K", "P=R@K", "count",
	       "P@count", "R@count");
	int failed = 0;
	for (size_t k = 0; k < 2; k++) {
		char path[256];
		snprintf(path, sizeof path, "%s/oracle/injected.json", studies[k]);
		json_t *inj = load_json(path);
		json_t *ind = json_object_get(inj, "indices");
		struct study *s = open_study(studies[k]);
		uint8_t *bad = calloc(s->n, 1);
		size_t nbad = json_array_size(ind);
		for (size_t r = 0; r < nbad; r++)
			bad[json_integer_value(json_array_get(ind, r))] = 1;
		double rate = (double)nbad / (double)s->n;
		for (int m = 0; m < ISSUE_METHOD_COUNT; m++) {
			struct issue_opts o = {.model = -1};
			struct issue_list l;
			struct nn_err err = {{0}};
			if (issues_rank(s, (enum issue_method)m, &o, NULL, &l, &err) != 0)
				fail_msg("%s %s: %s", studies[k], issue_method_name(m), err.msg);
			size_t hit_k = 0, hit_c = 0;
			for (size_t r = 0; r < nbad && r < l.n; r++)
				hit_k += bad[l.index[r]];
			for (size_t r = 0; r < l.count; r++)
				hit_c += bad[l.index[r]];
			double pk = (double)hit_k / (double)nbad;
			double pc = l.count ? (double)hit_c / (double)l.count : 0;
			printf("%-10s %-10s %5zu %8.3f %6zu %9.3f %9.3f%s\n",
			       strrchr(studies[k], '/') + 1, issue_method_name(m), nbad, pk,
			       l.count, pc, (double)hit_c / (double)nbad,
			       (enum issue_method)m == issue_method_default(s) ? "  (default)"
			                                                       : "");
			failed += !(pk > 5 * rate);
			if ((enum issue_method)m == issue_method_default(s))
				failed += !(pk >= default_floor[k]);
			issue_list_free(&l);
		}
		free(bad);
		study_free(s);
		json_decref(inj);
	}
	assert_int_equal(failed, 0);
}

/*
 * partial ranking (a selection of the best rank_rest unflagged entries) gives exactly the full
 * ranking's first count + rank_rest entries, ties (the digits' knn model scores in steps of 1/k)
 * broken by index, and the other unflagged entries after them in index order.
 */
static void test_partial(void **state)
{
	(void)state;
	const char *studies[] = {"demo-data/digits", "tests/data/issues/small"};
	const enum issue_method meths[] = {ISSUE_CONSENSUS, ISSUE_MARGIN, ISSUE_IIES,
	                                   ISSUE_CL,        ISSUE_MEAN,   ISSUE_MIX};
	const size_t rests[] = {0, 1, 2, 3, 5, 17, 100, 400, 100000};
	for (size_t si = 0; si < 2; si++) {
		struct study *s = open_study(studies[si]);
		uint8_t *ex = xcalloc(s->n, 1);
		for (size_t i = 0; i < s->n; i += 3)
			ex[i] = 1;
		for (int use_ex = 0; use_ex < 2; use_ex++)
			for (size_t mi = 0; mi < sizeof meths / sizeof *meths; mi++) {
				struct nn_err err = {{0}};
				struct issue_opts o = {.model = -1, .exclude = use_ex ? ex : NULL};
				struct issue_list full = {0};
				assert_int_equal(issues_rank(s, meths[mi], &o, NULL, &full, &err),
				                 0);
				for (size_t ri = 0; ri < sizeof rests / sizeof rests[0]; ri++) {
					struct issue_opts op = o;
					op.partial = true;
					op.rank_rest = rests[ri];
					struct issue_list part = {0};
					assert_int_equal(
					    issues_rank(s, meths[mi], &op, NULL, &part, &err), 0);
					assert_int_equal(part.n, full.n);
					assert_int_equal(part.count, full.count);
					size_t rest = full.n - full.count;
					size_t ranked =
					    full.count + (rests[ri] < rest ? rests[ri] : rest);
					assert_int_equal(part.ranked, ranked);
					assert_int_equal(full.ranked, full.n);
					for (size_t r = 0; r < ranked; r++)
						if (part.index[r] != full.index[r] ||
						    part.suggested[r] != full.suggested[r] ||
						    memcmp(&part.score[r], &full.score[r],
						           sizeof(double)) != 0)
							fail_msg("%s method %d rest %zu: entry %zu "
							         "is %u, "
							         "full ranking %u",
							         studies[si], (int)meths[mi],
							         rests[ri], r, part.index[r],
							         full.index[r]);
					/* the others: each remaining unflagged entry once */
					uint8_t *seen = xcalloc(s->n, 1);
					for (size_t r = 0; r < ranked; r++)
						seen[full.index[r]] = 1;
					for (size_t r = ranked; r < part.n; r++) {
						uint32_t i = part.index[r];
						if (i >= s->n || seen[i] || (use_ex && ex[i]))
							fail_msg("%s method %d rest %zu: entry %zu "
							         "is %u, "
							         "ranked already, excluded or out "
							         "of range",
							         studies[si], (int)meths[mi],
							         rests[ri], r, i);
						seen[i] = 1;
					}
					free(seen);
					issue_list_free(&part);
				}
				issue_list_free(&full);
			}
		free(ex);
		study_free(s);
	}
}

/*
 * prob_row_argmax against the loop it replaces, `best = s0; if (j != skip && p[j] > p[best])
 * best = j`, on rows made to break a lane scan: ties within and across lanes, NaN (first or
 * not), -inf, -0 beside +0, negative values (a mixed row), every length from 1 to 13 and every
 * skip.
 */
static void test_row_argmax(void **state)
{
	(void)state;
	const double pool[] = {0.25, 0.5, 0.5, -0.0, 0.0, -2.0, -INFINITY, INFINITY, NAN, 1e-300};
	const size_t np = sizeof pool / sizeof *pool;
	uint64_t x = 88172645463325252u;
	size_t checked = 0;
	for (size_t round = 0; round < 4000; round++) {
		double p[13];
		size_t c = 1 + round % 13;
		for (size_t j = 0; j < c; j++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			p[j] = pool[x % (round % 3 == 0 ? 5 : np)];
		}
		for (size_t skip = 0; skip <= c; skip++) {
			size_t s0 = skip == 0 ? (c > 1 ? 1 : 0) : 0, want = s0;
			for (size_t j = 0; j < c; j++)
				if (j != skip && p[j] > p[want])
					want = j;
			assert_int_equal(prob_row_argmax(p, c, skip), want);
			checked++;
		}
	}
	assert_true(checked > 4000);
}

/*
 * The mean method's fused pass (rows averaged and scanned in registers, split between threads
 * above 131072 instances) against the definition written as plain loops: the mean row
 * ((p0 + p1) + p2) / 3 in double, its first maximum, the first maximum of the other columns.
 * The rows are built from few values, so that maxima tie within a row and across models. Then
 * cl, mean, margin and iies on these float32 rows (the fused scans) against the same values
 * stored as float64 (the general path).
 */
static void test_mean_fused(void **state)
{
	(void)state;
	enum { N = 140000, C = 7, M = 3 };
	setenv("NNCMP_CACHE", "0", 1);
	const char *dir = tu_mkdtemp();
	struct rng r;
	rng_seed(&r, 2026);
	int64_t *lab = malloc(N * sizeof *lab);
	float *p[M];
	for (size_t m = 0; m < M; m++)
		p[m] = malloc((size_t)N * C * sizeof *p[m]);
	for (size_t i = 0; i < N; i++) {
		lab[i] = (int64_t)(rng_next(&r) % C);
		for (size_t m = 0; m < M; m++) {
			double raw[C], sum = 0;
			for (size_t j = 0; j < C; j++) {
				uint64_t u = rng_next(&r);
				raw[j] = i % 2 ? (double)(u % 4) : rng_uniform(&r);
				sum += raw[j];
			}
			for (size_t j = 0; j < C; j++)
				p[m][i * C + j] = sum > 0 ? (float)(raw[j] / sum) : j == 0;
		}
	}
	tu_write_i64(dir, "labels.npy", lab, N);
	const char *names[M] = {"models/a/probs.npy", "models/b/probs.npy", "models/c/probs.npy"};
	for (size_t m = 0; m < M; m++)
		tu_write_f32(dir, names[m], p[m], N, C);
	struct nn_err err = {{0}};
	struct study *s = study_open(dir, &err);
	if (!s)
		fail_msg("%s", err.msg);
	uint8_t *ex = xcalloc(N, 1), *flag = xcalloc(N, 1);
	int32_t *sugg = xcalloc(N, sizeof *sugg);
	double *score = xcalloc(N, sizeof *score);
	size_t flagged = 0;
	for (size_t i = 0; i < N; i++) {
		ex[i] = i % 5 == 2;
		double q[C];
		for (size_t j = 0; j < C; j++)
			q[j] = ((double)p[0][i * C + j] + p[1][i * C + j] + p[2][i * C + j]) / 3;
		size_t best = 0, other = best == 0 ? 1 : 0;
		for (size_t j = 1; j < C; j++)
			best = q[j] > q[best] ? j : best;
		other = best == 0 ? 1 : 0;
		for (size_t j = 0; j < C; j++)
			other = j != best && q[j] > q[other] ? j : other;
		flag[i] = best != (size_t)lab[i];
		sugg[i] = (int32_t)(flag[i] ? best : other);
		score[i] = 1.0 - q[lab[i]];
		flagged += flag[i] && !ex[i];
	}
	const enum issue_method meths[] = {ISSUE_MEAN, ISSUE_MIX};
	for (size_t k = 0; k < 2; k++) {
		struct issue_opts o = {.model = -1, .exclude = ex};
		struct issue_list l = {0};
		assert_int_equal(issues_rank(s, meths[k], &o, NULL, &l, &err), 0);
		assert_int_equal(l.count, flagged);
		assert_int_equal(l.n, N - N / 5);
		for (size_t e = 0; e < l.n; e++) {
			uint32_t i = l.index[e];
			if (ex[i] || (e < l.count) != (flag[i] != 0) || l.suggested[e] != sugg[i] ||
			    memcmp(&l.score[e], &score[i], sizeof(double)) != 0)
				fail_msg("method %d: entry %zu (instance %u): flagged %d/%d, "
				         "suggested %d/%d, score %.17g/%.17g",
				         (int)meths[k], e, i, e < l.count, flag[i], l.suggested[e],
				         sugg[i], l.score[e], score[i]);
		}
		issue_list_free(&l);
	}
	/* the same values as float64 take the general path (a block of mean rows, then the scans
	 * of prob_row_argmax and cl_row_scan): every method must rank alike, entry by entry */
	const char *dir64 = tu_mkdtemp();
	tu_write_i64(dir64, "labels.npy", lab, N);
	double *p64 = malloc((size_t)N * C * sizeof *p64);
	char shape[64];
	snprintf(shape, sizeof shape, "(%d, %d)", N, C);
	for (size_t m = 0; m < M; m++) {
		for (size_t e = 0; e < (size_t)N * C; e++)
			p64[e] = p[m][e];
		tu_write_npy(dir64, names[m], "<f8", shape, p64, (size_t)N * C * sizeof *p64);
	}
	free(p64);
	struct study *s64 = study_open(dir64, &err);
	if (!s64)
		fail_msg("%s", err.msg);
	const enum issue_method all[] = {ISSUE_CL, ISSUE_MEAN, ISSUE_MARGIN, ISSUE_IIES};
	for (size_t k = 0; k < 4; k++)
		for (int use_ex = 0; use_ex < 2; use_ex++) {
			struct issue_opts o = {.model = -1, .exclude = use_ex ? ex : NULL};
			struct issue_list a = {0}, b = {0};
			assert_int_equal(issues_rank(s, all[k], &o, NULL, &a, &err), 0);
			assert_int_equal(issues_rank(s64, all[k], &o, NULL, &b, &err), 0);
			assert_int_equal(a.n, b.n);
			assert_int_equal(a.count, b.count);
			assert_int_equal(a.estimated, b.estimated);
			for (size_t e = 0; e < a.n; e++)
				if (a.index[e] != b.index[e] || a.suggested[e] != b.suggested[e] ||
				    memcmp(&a.score[e], &b.score[e], sizeof(double)) != 0)
					fail_msg(
					    "method %d: entry %zu: float32 %u (%d, %.17g), float64 "
					    "%u (%d, %.17g)",
					    (int)all[k], e, a.index[e], a.suggested[e], a.score[e],
					    b.index[e], b.suggested[e], b.score[e]);
			issue_list_free(&a);
			issue_list_free(&b);
		}
	study_free(s64);
	tu_rm_rf(dir64);
	study_free(s);
	tu_rm_rf(dir);
	for (size_t m = 0; m < M; m++)
		free(p[m]);
	free(lab);
	free(ex);
	free(flag);
	free(sugg);
	free(score);
}

int main(void)
{
	linalg_init(1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),           cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_oracle_small),    cmocka_unit_test(test_oracle_digits),
	    cmocka_unit_test(test_oracle_fortunes), cmocka_unit_test(test_iies_per_model),
	    cmocka_unit_test(test_oracle_skewed),   cmocka_unit_test(test_oracle_sparse),
	    cmocka_unit_test(test_oracle_clrules),  cmocka_unit_test(test_oracle_many),
	    cmocka_unit_test(test_injected),        cmocka_unit_test(test_partial),
	    cmocka_unit_test(test_mean_fused),      cmocka_unit_test(test_row_argmax),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
