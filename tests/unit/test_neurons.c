/*
 * test_neurons.c — per-neuron statistics, subsets and d, ranking, profiles and the cache, against
 * NumPy (tests/data/neurons, written by tools/make_neuron_fixtures.py) and the demo studies'
 * oracle (demo-data/STUDY/oracle/metrics.json "neurons").
 */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "nncmp/filter.h"
#include "nncmp/neurons.h"
#include "nncmp/study.h"

#define FIXDIR "tests/data/neurons"

static json_t *fixtures(void)
{
	json_error_t je;
	json_t *e = json_load_file(FIXDIR "/expected.json", 0, &je);
	if (!e)
		fail_msg("%s/expected.json: %s (run tools/make_neuron_fixtures.py)", FIXDIR,
		         je.text);
	return e;
}

/* got equals want (null meaning NaN) to a relative tolerance (absolute near 0). */
static void near(const char *what, double got, json_t *want, double tol)
{
	if (json_is_null(want)) {
		if (!isnan(got))
			fail_msg("%s: got %.17g, want NaN", what, got);
		return;
	}
	double w = json_number_value(want);
	double d = fabs(got - w) / (fabs(w) > 1 ? fabs(w) : 1);
	if (!(d <= tol))
		fail_msg("%s: got %.17g, want %.17g", what, got, w);
}

static void same_u(const char *what, uint64_t got, json_t *want)
{
	if ((json_int_t)got != json_integer_value(want))
		fail_msg("%s: got %llu, want %lld", what, (unsigned long long)got,
		         (long long)json_integer_value(want));
}

static void open_fixture(const char *name, struct npy *a)
{
	char path[256];
	snprintf(path, sizeof path, FIXDIR "/%s", name);
	struct nn_err err = {{0}};
	if (npy_open(a, path, &err) < 0)
		fail_msg("%s", err.msg);
}

static const unsigned fixture_bins[] = {32, 17};
static const unsigned fixture_ks[] = {10, 3};

/* Every statistic of every fixture layer, for 1 and 3 threads and several block sizes. */
static void test_stats_match_numpy(void **state)
{
	(void)state;
	json_t *all = fixtures();
	const char *name;
	json_t *e;
	int layers = 0;
	json_object_foreach(all, name, e)
	{
		struct npy a;
		open_fixture(name, &a);
		size_t h = (size_t)json_integer_value(json_object_get(e, "h"));
		assert_int_equal(a.cols, h);
		for (int bi = 0; bi < 2; bi++)
			for (unsigned threads = 1; threads <= 3; threads += 2)
				for (size_t block = 0; block <= 7; block += 7) {
					struct neurons_opts o = {.bins = fixture_bins[bi],
					                         .k = fixture_ks[bi],
					                         .threads = threads,
					                         .block_rows = block,
					                         .cache_dir = ""};
					struct neuron_stats st;
					struct nn_err err = {{0}};
					if (neurons_stats(&a, &o, NULL, &st, &err) < 0)
						fail_msg("%s: %s", name, err.msg);
					assert_false(st.from_cache);
					char what[256];
					snprintf(what, sizeof what, "%s lo", name);
					near(what, st.lo, json_object_get(e, "lo"), 0);
					near(what, st.hi, json_object_get(e, "hi"), 0);
					/* the bins' edges: the README's rule, as the fixtures
					 * compute it */
					double edges[NEURONS_BINS_MAX + 1];
					neurons_hist_edges(&st, edges);
					json_t *we = json_object_get(json_object_get(e, "edges"),
					                             bi ? "17" : "32");
					snprintf(what, sizeof what, "%s edges", name);
					for (unsigned q = 0; q <= st.bins; q++)
						near(what, edges[q],
						     json_is_array(we) ? json_array_get(we, q)
						                       : json_null(),
						     0);
					for (size_t j = 0; j < h; j++) {
						json_t *w = json_array_get(
						    json_object_get(e, "neurons"), j);
						snprintf(what, sizeof what, "%s[%zu] t%u b%zu",
						         name, j, threads, block);
						same_u(what, st.count[j],
						       json_object_get(w, "count"));
						same_u(what, st.dead[j],
						       json_object_get(w, "dead"));
						near(what, st.mean[j], json_object_get(w, "mean"),
						     1e-12);
						near(what, neurons_std(&st, j),
						     json_object_get(w, "std"), 1e-9);
						near(what, st.min[j], json_object_get(w, "min"), 0);
						near(what, st.max[j], json_object_get(w, "max"), 0);
						near(what, neurons_dead_frac(&st, j),
						     json_object_get(w, "dead_frac"), 1e-15);
						json_t *hist = json_array_get(
						    json_object_get(json_object_get(e, "hist"),
						                    bi ? "17" : "32"),
						    j);
						for (unsigned q = 0; q < st.bins; q++)
							if ((json_int_t)st.hist[j * st.bins + q] !=
							    json_integer_value(
							        json_array_get(hist, q)))
								fail_msg(
								    "%s hist[%u] of %u: got %llu",
								    what, q, st.bins,
								    (unsigned long long)
								        st.hist[j * st.bins + q]);
						json_t *top = json_array_get(
						    json_object_get(json_object_get(e, "top"),
						                    bi ? "3" : "10"),
						    j);
						json_t *ti = json_array_get(top, 0),
						       *tv = json_array_get(top, 1);
						for (unsigned q = 0; q < st.k; q++) {
							uint32_t gi = st.top_idx[j * st.k + q];
							if (q < json_array_size(ti)) {
								if (gi !=
								    json_integer_value(
								        json_array_get(ti, q)))
									fail_msg(
									    "%s top[%u]: got %u",
									    what, q, gi);
								near(what, st.top_val[j * st.k + q],
								     json_array_get(tv, q), 0);
							} else {
								assert_int_equal(gi,
								                 NEURONS_NO_INDEX);
							}
						}
					}
					neurons_stats_free(&st);
				}
		npy_close(&a);
		layers++;
	}
	assert_int_equal(layers, 6);
	json_decref(all);
}

static uint32_t *json_indices(json_t *arr, size_t *n)
{
	*n = json_array_size(arr);
	uint32_t *idx = xcalloc(*n ? *n : 1, sizeof *idx);
	for (size_t q = 0; q < *n; q++)
		idx[q] = (uint32_t)json_integer_value(json_array_get(arr, q));
	return idx;
}

/* d, the sums inside and outside S and S's histogram, for every fixture filter. */
static void test_subsets_match_numpy(void **state)
{
	(void)state;
	json_t *all = fixtures();
	const char *name;
	json_t *e;
	int checked = 0;
	json_object_foreach(all, name, e)
	{
		struct npy a;
		open_fixture(name, &a);
		for (int bi = 0; bi < 2; bi++) {
			struct neurons_opts o = {.bins = fixture_bins[bi], .cache_dir = ""};
			struct neuron_stats st;
			struct nn_err err = {{0}};
			assert_int_equal(neurons_stats(&a, &o, NULL, &st, &err), 0);
			const char *fname;
			json_t *f;
			json_object_foreach(json_object_get(e, "filters"), fname, f)
			{
				size_t n_idx;
				uint32_t *idx = json_indices(json_object_get(f, "indices"), &n_idx);
				for (unsigned threads = 1; threads <= 2; threads++) {
					struct neurons_opts so = {.threads = threads,
					                          .block_rows = 5};
					struct neuron_subset ss;
					if (neurons_subset(&a, &st, idx, n_idx, true, &so, NULL,
					                   &ss, &err) < 0)
						fail_msg("%s %s: %s", name, fname, err.msg);
					same_u("n_in", ss.n_in, json_object_get(f, "n_in"));
					same_u("n_out", ss.n_out, json_object_get(f, "n_out"));
					double *score = xcalloc(st.h, sizeof *score);
					for (size_t j = 0; j < st.h; j++) {
						json_t *w = json_array_get(
						    json_object_get(f, "neurons"), j);
						char what[256];
						snprintf(what, sizeof what, "%s %s[%zu] t%u", name,
						         fname, j, threads);
						same_u(what, ss.count_in[j],
						       json_object_get(w, "count_in"));
						same_u(what, ss.count_out[j],
						       json_object_get(w, "count_out"));
						same_u(what, ss.dead_in[j],
						       json_object_get(w, "dead_in"));
						/*
						 * d inherits the rounding of the two means, a few
						 * ulps of |mean|, divided by s_pooled (bigmean.npy:
						 * means of -3e5 with a spread of 0.03)
						 */
						uint64_t nn = ss.count_in[j] + ss.count_out[j];
						double pooled =
						    nn > 2 ? sqrt((ss.m2_in[j] + ss.m2_out[j]) /
						                  (nn - 2))
						           : 0;
						double cond =
						    pooled > 0 ? fabs(st.mean[j]) / pooled : 0;
						near(what, neurons_d(&ss, j),
						     json_object_get(w, "d"),
						     1e-9 + 16 * 0x1p-52 * cond);
						near(what, ss.mean_in[j],
						     json_object_get(w, "mean_in"), 1e-11);
						near(what, ss.mean_out[j],
						     json_object_get(w, "mean_out"), 1e-11);
						json_t *hist =
						    json_object_get(json_object_get(w, "hist_in"),
						                    bi ? "17" : "32");
						for (unsigned q = 0; q < st.bins; q++)
							if ((json_int_t)
							        ss.hist_in[j * st.bins + q] !=
							    json_integer_value(
							        json_array_get(hist, q)))
								fail_msg("%s hist_in[%u]", what, q);
					}
					neurons_scores(&st, &ss, NEURON_BY_STD, score);
					for (size_t j = 0; j < st.h; j++)
						near("std_in", score[j],
						     json_object_get(
						         json_array_get(
						             json_object_get(f, "neurons"), j),
						         "std_in"),
						     1e-9);
					neurons_scores(&st, &ss, NEURON_BY_DEAD, score);
					for (size_t j = 0; j < st.h; j++)
						near("dead_frac_in", score[j],
						     json_object_get(
						         json_array_get(
						             json_object_get(f, "neurons"), j),
						         "dead_frac_in"),
						     1e-15);
					free(score);
					neurons_subset_free(&ss);
					checked++;
				}
				free(idx);
			}
			neurons_stats_free(&st);
		}
		npy_close(&a);
	}
	assert_int_equal(checked, 6 * 2 * 5 * 2);
	json_decref(all);
}

static void test_profile_matches_numpy(void **state)
{
	(void)state;
	json_t *all = fixtures();
	const char *name;
	json_t *e;
	json_object_foreach(all, name, e)
	{
		struct npy a;
		open_fixture(name, &a);
		const char *row;
		json_t *p;
		json_object_foreach(json_object_get(e, "profile"), row, p)
		{
			float *v = xcalloc(a.cols, sizeof *v);
			uint32_t *order = xcalloc(a.cols, sizeof *order);
			neurons_profile(&a, (size_t)atoi(row), v, order);
			for (size_t j = 0; j < a.cols; j++) {
				if (order[j] != json_integer_value(
				                    json_array_get(json_object_get(p, "order"), j)))
					fail_msg("%s row %s: order[%zu] = %u", name, row, j,
					         order[j]);
				near("value", v[j], json_array_get(json_object_get(p, "values"), j),
				     0);
			}
			free(v);
			free(order);
		}
		npy_close(&a);
	}
	json_decref(all);
}

/* A pseudo-random float in [0, 1) from a 64-bit LCG. */
static float lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005u + 1442695040888963407u;
	return (float)(*s >> 40) / (float)(1u << 24);
}

/* Writes a (n, h) float32 layer with zeros, negatives, NaNs and a large-mean neuron. */
static void write_random_layer(const char *dir, const char *rel, size_t n, size_t h)
{
	float *v = xcalloc(n * h, sizeof *v);
	uint64_t s = 42;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < h; j++) {
			float x = lcg(&s) * 4 - 1;
			v[i * h + j] = j % 5 == 0 ? (x > 0 ? x : 0) : j % 5 == 1 ? 1000 + x : x;
			if (lcg(&s) < 0.001f)
				v[i * h + j] = NAN;
		}
	tu_write_f32(dir, rel, v, n, h);
	free(v);
}

/*
 * Histograms follow their definition (edge[i] <= x < edge[i+1], edges from neurons_hist_edges,
 * which the fixtures check against the README's rule) for values placed on, just below, just
 * above and between every edge, for every bin count.
 */
static void test_hist_edges_exact(void **state)
{
	(void)state;
	const char *dir = tu_mkdtemp();
	const size_t h = 3;
	const float lo = -3.3f, hi = 7.1f;
	for (unsigned bins = NEURONS_BINS_MIN; bins <= NEURONS_BINS_MAX; bins++) {
		double edges[NEURONS_BINS_MAX + 1];
		struct neuron_stats fake = {.lo = lo, .hi = hi, .bins = bins};
		neurons_hist_edges(&fake, edges);
		assert_true(edges[0] <= lo && hi < edges[bins]);
		/* on the edge, one float32 ulp either side, a third and a half of a bin above */
		const double away[] = {0, 0, 0, 1.0 / 3, 0.5};
		const size_t nc = sizeof away / sizeof *away;
		double step = (edges[bins] - edges[0]) / bins;
		size_t n = nc * (bins + 1) + 2;
		float *v = xcalloc(n * h, sizeof *v);
		for (size_t i = 0; i <= bins; i++) {
			float e = (float)edges[i];
			for (size_t c = 0; c < nc; c++) {
				float x = c == 1   ? nextafterf(e, -INFINITY)
				          : c == 2 ? nextafterf(e, INFINITY)
				                   : (float)(edges[i] + away[c] * step);
				x = x < lo ? lo : x > hi ? hi : x;
				for (size_t j = 0; j < h; j++)
					v[(nc * i + c) * h + j] = j == 1 ? (lo + hi) - x : x;
			}
		}
		for (size_t j = 0; j < h; j++) {
			v[(n - 2) * h + j] = lo;
			v[(n - 1) * h + j] = hi;
		}
		tu_write_f32(dir, "edges.npy", v, n, h);
		char path[512];
		snprintf(path, sizeof path, "%s/edges.npy", dir);
		struct npy a;
		struct nn_err err = {{0}};
		assert_int_equal(npy_open(&a, path, &err), 0);
		struct neurons_opts o = {.bins = bins, .cache_dir = ""};
		struct neuron_stats st;
		assert_int_equal(neurons_stats(&a, &o, NULL, &st, &err), 0);
		assert_true(st.lo == lo && st.hi == hi);
		uint64_t *want = xcalloc(h * bins, sizeof *want);
		for (size_t r = 0; r < n; r++)
			for (size_t j = 0; j < h; j++) {
				double x = v[r * h + j];
				unsigned b = 0;
				while (b + 1 < bins && x >= edges[b + 1])
					b++;
				want[j * bins + b]++;
			}
		for (size_t q = 0; q < h * bins; q++)
			if (st.hist[q] != want[q])
				fail_msg("%u bins: neuron %zu bin %zu: got %llu, want %llu", bins,
				         q / bins, q % bins, (unsigned long long)st.hist[q],
				         (unsigned long long)want[q]);
		free(want);
		neurons_stats_free(&st);
		npy_close(&a);
		free(v);
	}
	tu_rm_rf(dir);
}

/*
 * NumPy's histogram of a layer (every finite value over the layer's finite range): the edges of
 * neurons_hist_edges (checked against NumPy by the fixtures), each value's bin found by comparing
 * it with them, the last bin closed.
 */
static uint64_t *ref_hist(const float *v, size_t n, size_t h, unsigned bins)
{
	struct neuron_stats fake = {.lo = INFINITY, .hi = -INFINITY, .bins = bins};
	for (size_t q = 0; q < n * h; q++)
		if (isfinite(v[q])) {
			fake.lo = v[q] < fake.lo ? v[q] : fake.lo;
			fake.hi = v[q] > fake.hi ? v[q] : fake.hi;
		}
	uint64_t *want = xcalloc(h * bins, sizeof *want);
	if (!(fake.lo <= fake.hi))
		return want;
	double edges[NEURONS_BINS_MAX + 1];
	neurons_hist_edges(&fake, edges);
	for (size_t r = 0; r < n; r++)
		for (size_t j = 0; j < h; j++) {
			double x = v[r * h + j];
			if (!isfinite(x))
				continue;
			assert_true(x >= edges[0] && x < edges[bins]);
			unsigned b = 0;
			while (b + 1 < bins && x >= edges[b + 1])
				b++;
			want[j * bins + b]++;
		}
	return want;
}

/*
 * The workers' windows of slots move and coarsen as values arrive (neurons_hist.c); whatever the
 * order, the counts are those of the layer's bins (ref_hist compares each value with the edges):
 * the extremes in the first block, values on the edges, a constant layer, NaN and ±Inf in the
 * first block, a larger and a smaller value after it (the smaller in the other thread's half), a
 * first block with no finite value, a single row, values growing by orders of magnitude down the
 * file (a coarsening after another), values rising steadily (the window moving), a huge value
 * among tiny negative ones (whose slots underflow in float32) and negative zeros, and negative
 * values only.
 */
static void test_hist_window(void **state)
{
	(void)state;
	const char *dir = tu_mkdtemp();
	enum { H = 5, N = 300, BLOCK = 8 };
	float *v = xcalloc(N * H, sizeof *v);
	for (int c = 0; c < 12; c++) {
		size_t n = c == 7 ? 1 : N;
		uint64_t seed = 12345 + (uint64_t)c;
		for (size_t q = 0; q < n * H; q++) {
			seed = seed * 6364136223846793005u + 1442695040888963407u;
			v[q] =
			    (float)((seed >> 40) % 1000) / 100.0f; /* 0 .. 9.99, in steps of 0.01 */
		}
		switch (c) {
		case 0: /* the extremes in the first block */
			v[3 * H + 1] = -1;
			v[5 * H + 4] = 12;
			break;
		case 1: /* integers 0..32: with 32 bins of 1.5, every other one on an edge */
			for (size_t q = 0; q < n * H; q++)
				v[q] = (float)(q % 33);
			break;
		case 2: /* constant */
			for (size_t q = 0; q < n * H; q++)
				v[q] = 2.5f;
			break;
		case 3: /* NaN and ±Inf in the first block are not the range */
			v[0] = NAN;
			v[1] = INFINITY;
			v[2 * H + 3] = -INFINITY;
			v[200 * H + 2] = NAN;
			v[250 * H] = INFINITY;
			v[4 * H + 2] = -2;
			v[6 * H] = 11;
			break;
		case 4: /* a larger value after the first block */
			v[4 * H + 2] = -2;
			v[6 * H] = 11;
			v[290 * H + 3] = 11.5f;
			break;
		case 5: /* a smaller value after the first block, in another thread's half */
			v[6 * H] = 11;
			v[4 * H + 2] = -2;
			v[BLOCK * H] = -2.25f;
			v[200 * H + 1] = -300;
			break;
		case 6: /* a first block with no finite value */
			for (size_t q = 0; q < BLOCK * H; q++)
				v[q] = NAN;
			break;
		case 7: /* a single row */
			break;
		case 8: /* magnitudes from 2^-10 to 2^19 down the file, either sign */
			for (size_t q = 0; q < n * H; q++)
				v[q] = ldexpf(1 + v[q] / 10, (int)(q / H / 10) - 10) *
				       (q % 3 ? 1 : -1);
			break;
		case 9: /* rising steadily */
			for (size_t q = 0; q < n * H; q++)
				v[q] = (float)(q / H) * 0.37f + v[q] / 1000;
			break;
		case 10: /* one huge value; tiny negatives and negative zeros */
			for (size_t q = 0; q < n * H; q++)
				v[q] = q % 4 == 0 ? -0.0f : -1e-38f * (1 + v[q]);
			v[150 * H + 2] = 1e30f;
			break;
		case 11: /* negative only */
			for (size_t q = 0; q < n * H; q++)
				v[q] = -100 - v[q];
			break;
		}
		tu_write_f32(dir, "one.npy", v, n, H);
		char path[512];
		snprintf(path, sizeof path, "%s/one.npy", dir);
		struct npy a;
		struct nn_err err = {{0}};
		assert_int_equal(npy_open(&a, path, &err), 0);
		for (unsigned bins = 16; bins <= 64; bins += 16) {
			uint64_t *want = ref_hist(v, n, H, bins);
			for (unsigned t = 1; t <= 2; t++) {
				struct neurons_opts o = {.bins = bins,
				                         .threads = t,
				                         .block_rows = BLOCK,
				                         .cache_dir = ""};
				struct neuron_stats st;
				if (neurons_stats_compute(&a, &o, NULL, &st, &err) < 0)
					fail_msg("case %d: %s", c, err.msg);
				for (size_t q = 0; q < H * bins; q++)
					if (st.hist[q] != want[q])
						fail_msg(
						    "case %d, %u bins, %u threads: neuron %zu bin "
						    "%zu: got %llu, want %llu",
						    c, bins, t, q / bins, q % bins,
						    (unsigned long long)st.hist[q],
						    (unsigned long long)want[q]);
				neurons_stats_free(&st);
			}
			free(want);
		}
		npy_close(&a);
	}
	free(v);
	tu_rm_rf(dir);
}

/* Threads and block sizes change only the rounding of means and variances. */
static void test_threads_agree(void **state)
{
	(void)state;
	const char *dir = tu_mkdtemp();
	write_random_layer(dir, "act.npy", 20011, 37);
	char path[512];
	snprintf(path, sizeof path, "%s/act.npy", dir);
	struct npy a;
	struct nn_err err = {{0}};
	assert_int_equal(npy_open(&a, path, &err), 0);
	struct neurons_opts o1 = {.threads = 1, .cache_dir = ""};
	struct neuron_stats ref;
	assert_int_equal(neurons_stats_compute(&a, &o1, NULL, &ref, &err), 0);
	const unsigned threads[] = {2, 3, 8};
	const size_t blocks[] = {0, 1, 13};
	for (int t = 0; t < 3; t++) {
		struct neurons_opts o = {.threads = threads[t], .block_rows = blocks[t]};
		struct neuron_stats st;
		assert_int_equal(neurons_stats_compute(&a, &o, NULL, &st, &err), 0);
		assert_true(st.lo == ref.lo && st.hi == ref.hi);
		for (size_t j = 0; j < st.h; j++) {
			assert_true(st.count[j] == ref.count[j] && st.dead[j] == ref.dead[j]);
			assert_true(st.min[j] == ref.min[j] && st.max[j] == ref.max[j]);
			assert_true(fabs(st.mean[j] - ref.mean[j]) <=
			            1e-12 * fabs(ref.mean[j]) + 1e-15);
			assert_true(fabs(st.m2[j] - ref.m2[j]) <= 1e-10 * ref.m2[j]);
		}
		assert_memory_equal(st.hist, ref.hist, st.h * st.bins * sizeof *st.hist);
		assert_memory_equal(st.top_idx, ref.top_idx, st.h * st.k * sizeof *st.top_idx);
		neurons_stats_free(&st);
	}
	/* the large-mean neurons (1000 + U(-1, 3)) keep their variance: 16/12 */
	assert_true(fabs(neurons_std(&ref, 1) * neurons_std(&ref, 1) / (16.0 / 12) - 1) < 0.02);
	neurons_stats_free(&ref);
	npy_close(&a);
	tu_rm_rf(dir);
}

/*
 * A pass gives the same statistics from a fresh mapping, from one whose pages are all in the
 * page table, and when the file at the path is no longer the one mapped. A column gather reads
 * a fresh mapping's rows with pread() and a mapped one's in place: the same values either way,
 * those of the mapping.
 */
static void test_read_paths(void **state)
{
	(void)state;
	const char *dir = tu_mkdtemp();
	write_random_layer(dir, "act.npy", 5003, 21);
	char path[512];
	snprintf(path, sizeof path, "%s/act.npy", dir);
	struct npy a;
	struct nn_err err = {{0}};
	assert_int_equal(npy_open(&a, path, &err), 0);
	struct neurons_opts o = {.threads = 2, .block_rows = 64, .cache_dir = ""};
	struct neuron_stats ref, st;
	uint32_t idx[] = {0, 1, 2, 50, 51, 999, 4000, 5002};
	double col[5003], want[5003];
	for (size_t q = 0; q < 8; q++)
		want[idx[q]] = npy_at(&a, idx[q], 3); /* touches 8 pages of the mapping only */
	assert_true(neurons_gather_column(&a, 3, idx, 8, col));
	for (size_t q = 0; q < 8; q++)
		assert_true(col[idx[q]] == want[idx[q]]);
	struct neuron_subset sref, ss;
	assert_int_equal(neurons_stats(&a, &o, NULL, &ref, &err), 0);
	assert_int_equal(neurons_subset(&a, &ref, idx, 8, true, &o, NULL, &sref, &err), 0);
	volatile double sum = 0; /* enter every page of the mapping into the page table */
	for (size_t i = 0; i < a.rows; i++)
		sum += npy_at(&a, i, 0);
	for (int round = 0; round < 2; round++) {
		if (round == 1) {
			/* a different file now has the name: the mapping is what counts */
			write_random_layer(dir, "other.npy", 17, 21);
			char other[512];
			snprintf(other, sizeof other, "%s/other.npy", dir);
			assert_int_equal(rename(other, path), 0);
		}
		assert_int_equal(neurons_stats(&a, &o, NULL, &st, &err), 0);
		assert_memory_equal(st.count, ref.count, st.h * sizeof *st.count);
		assert_memory_equal(st.mean, ref.mean, st.h * sizeof *st.mean);
		assert_memory_equal(st.m2, ref.m2, st.h * sizeof *st.m2);
		assert_memory_equal(st.hist, ref.hist, st.h * st.bins * sizeof *st.hist);
		assert_memory_equal(st.top_idx, ref.top_idx, st.h * st.k * sizeof *st.top_idx);
		assert_int_equal(neurons_subset(&a, &st, idx, 8, true, &o, NULL, &ss, &err), 0);
		assert_memory_equal(ss.mean_in, sref.mean_in, st.h * sizeof *ss.mean_in);
		assert_memory_equal(ss.m2_in, sref.m2_in, st.h * sizeof *ss.m2_in);
		assert_memory_equal(ss.hist_in, sref.hist_in, st.h * st.bins * sizeof *ss.hist_in);
		neurons_subset_free(&ss);
		neurons_stats_free(&st);
		memset(col, 0, sizeof col);
		assert_true(neurons_gather_column(&a, 3, idx, 8, col));
		for (size_t q = 0; q < 8; q++)
			assert_true(col[idx[q]] == want[idx[q]]);
	}
	neurons_subset_free(&sref);
	neurons_stats_free(&ref);
	npy_close(&a);
	tu_rm_rf(dir);
}

/* Empty and single-instance subsets, bad index lists, cancelling. */
static void test_subset_edges(void **state)
{
	(void)state;
	struct npy a;
	open_fixture("f32.npy", &a);
	struct neurons_opts o = {.cache_dir = ""};
	struct neuron_stats st;
	struct nn_err err = {{0}};
	assert_int_equal(neurons_stats(&a, &o, NULL, &st, &err), 0);
	struct neuron_subset ss;
	assert_int_equal(neurons_subset(&a, &st, NULL, 0, true, NULL, NULL, &ss, &err), 0);
	for (size_t j = 0; j < st.h; j++) {
		assert_true(ss.count_in[j] == 0 && isnan(ss.mean_in[j]) &&
		            isnan(neurons_d(&ss, j)));
		assert_true(ss.count_out[j] == st.count[j]);
		assert_true(fabs(ss.mean_out[j] - st.mean[j]) <= 1e-12 * (1 + fabs(st.mean[j])));
	}
	neurons_subset_free(&ss);
	uint32_t bad[] = {3, 3};
	assert_int_equal(neurons_subset(&a, &st, bad, 2, false, NULL, NULL, &ss, &err), -1);
	assert_non_null(strstr(err.msg, "increase"));
	uint32_t out_of_range[] = {5, 300};
	assert_int_equal(neurons_subset(&a, &st, out_of_range, 2, false, NULL, NULL, &ss, &err),
	                 -1);
	struct nn_progress prog = {0};
	atomic_store(&prog.cancel, true);
	uint32_t one[] = {4};
	assert_int_equal(neurons_subset(&a, &st, one, 1, false, NULL, &prog, &ss, &err), -1);
	assert_string_equal(err.msg, "cancelled");
	struct neuron_stats st2;
	assert_int_equal(neurons_stats_compute(&a, &o, &prog, &st2, &err), -1);
	assert_string_equal(err.msg, "cancelled");
	/* progress: one pass over the rows */
	struct nn_progress p2 = {0};
	assert_int_equal(neurons_stats_compute(&a, &o, &p2, &st2, &err), 0);
	assert_int_equal(atomic_load(&p2.done), 300);
	assert_int_equal(atomic_load(&p2.total), 300);
	neurons_stats_free(&st2);
	struct neurons_opts bad_bins = {.bins = 8};
	assert_int_equal(neurons_stats_compute(&a, &bad_bins, NULL, &st2, &err), -1);
	neurons_stats_free(&st);
	npy_close(&a);
}

/*
 * A side whose finite values are all exactly 0 (a dead neuron inside S, or outside it) has mean
 * and sum of squares exactly 0, not the residue of the shifted sums: on the digits demo,
 * `neurons --filter 'cnn != gt and mlp == gt'` showed neuron 9 with mean 2.2e-16 and std 3e-8
 * in S although all three values there are 0.
 */
static void test_dead_side_is_exactly_zero(void **state)
{
	(void)state;
	struct nn_err err = {{0}};
	struct study *s = study_open("demo-data/digits", &err);
	assert_non_null(s);
	int m = study_model_index(s, "cnn");
	int l = study_layer_index(&s->models[m], "fc1");
	const struct npy *act = &s->models[m].layers[l].act;
	struct neurons_opts o = {.cache_dir = ""};
	struct neuron_stats st;
	assert_int_equal(neurons_stats(act, &o, NULL, &st, &err), 0);
	static const char *const filters[] = {"cnn != gt and mlp == gt", "cnn == gt"};
	uint32_t *idx = xcalloc(s->n, sizeof *idx);
	int dead_sides = 0;
	for (int f = 0; f < 2; f++) { /* S read directly, then S derived from the rest */
		size_t col;
		struct expr *e = expr_compile(s, filters[f], &err, &col);
		assert_non_null(e);
		size_t n = expr_select(e, s, idx);
		expr_free(e);
		struct neuron_subset ss;
		assert_int_equal(neurons_subset(act, &st, idx, n, false, NULL, NULL, &ss, &err), 0);
		for (size_t j = 0; j < st.h; j++) {
			if (ss.count_in[j] && ss.dead_in[j] == ss.count_in[j]) {
				dead_sides++;
				if (ss.mean_in[j] != 0.0 || ss.m2_in[j] != 0.0)
					fail_msg("%s: neuron %zu dead in S: mean %g, m2 %g",
					         filters[f], j, ss.mean_in[j], ss.m2_in[j]);
			}
			if (ss.count_out[j] && ss.dead_out[j] == ss.count_out[j] &&
			    (ss.mean_out[j] != 0.0 || ss.m2_out[j] != 0.0))
				fail_msg("%s: neuron %zu dead in R: mean %g, m2 %g", filters[f], j,
				         ss.mean_out[j], ss.m2_out[j]);
		}
		neurons_subset_free(&ss);
	}
	assert_true(dead_sides > 31); /* fc1's 31 dead neurons, and those dead in S only */
	free(idx);
	neurons_stats_free(&st);
	study_free(s);
}

static void test_rank(void **state)
{
	(void)state;
	const double score[] = {0.5, -2, NAN, 2, 0.5, -0.1};
	uint32_t order[6];
	neurons_rank(score, 6, false, order);
	const uint32_t by_value[] = {3, 0, 4, 5, 1, 2};
	assert_memory_equal(order, by_value, sizeof order);
	neurons_rank(score, 6, true, order);
	const uint32_t by_abs[] = {1, 3, 0, 4, 5, 2}; /* |−2| = |2|: lower index first */
	assert_memory_equal(order, by_abs, sizeof order);
	enum neuron_key k;
	assert_int_equal(neurons_key_parse("dead", &k), 0);
	assert_int_equal(k, NEURON_BY_DEAD);
	assert_int_equal(neurons_key_parse("median", &k), -1);
	assert_string_equal(neurons_key_name(NEURON_BY_D), "d");
}

/* mean, std, min, max, dead fraction and d of every demo layer against NumPy's oracle. */
static void test_demo_oracle(void **state)
{
	(void)state;
	static const char *const studies[] = {"demo-data/digits", "demo-data/fortunes"};
	int layers = 0;
	for (int si = 0; si < 2; si++) {
		char path[256];
		snprintf(path, sizeof path, "%s/oracle/metrics.json", studies[si]);
		json_error_t je;
		json_t *o = json_load_file(path, 0, &je);
		if (!o)
			fail_msg("%s: %s", path, je.text);
		struct nn_err err = {{0}};
		struct study *s = study_open(studies[si], &err);
		if (!s)
			fail_msg("%s", err.msg);
		const char *key;
		json_t *w;
		json_object_foreach(json_object_get(o, "neurons"), key, w)
		{
			char mname[128];
			snprintf(mname, sizeof mname, "%s", key);
			char *dot = strchr(mname, '.');
			assert_non_null(dot);
			*dot = '\0';
			int m = study_model_index(s, mname);
			assert_true(m >= 0);
			int l = study_layer_index(&s->models[m], dot + 1);
			assert_true(l >= 0);
			const struct npy *act = &s->models[m].layers[l].act;
			struct neurons_opts opt = {.cache_dir = ""};
			struct neuron_stats st;
			assert_int_equal(neurons_stats(act, &opt, NULL, &st, &err), 0);
			assert_int_equal(st.h, json_array_size(json_object_get(w, "mean")));
			size_t col;
			struct expr *e = expr_compile(
			    s, json_string_value(json_object_get(w, "d_filter")), &err, &col);
			if (!e)
				fail_msg("%s: %s", key, err.msg);
			uint32_t *idx = xcalloc(s->n, sizeof *idx);
			size_t cnt = expr_select(e, s, idx);
			expr_free(e);
			struct neuron_subset ss;
			assert_int_equal(
			    neurons_subset(act, &st, idx, cnt, false, NULL, NULL, &ss, &err), 0);
			for (size_t j = 0; j < st.h; j++) {
				char what[256];
				snprintf(what, sizeof what, "%s %s[%zu]", studies[si], key, j);
				near(what, st.mean[j],
				     json_array_get(json_object_get(w, "mean"), j), 1e-6);
				near(what, neurons_std(&st, j),
				     json_array_get(json_object_get(w, "std"), j), 1e-6);
				near(what, st.min[j], json_array_get(json_object_get(w, "min"), j),
				     1e-6);
				near(what, st.max[j], json_array_get(json_object_get(w, "max"), j),
				     1e-6);
				near(what, neurons_dead_frac(&st, j),
				     json_array_get(json_object_get(w, "dead_frac"), j), 1e-12);
				near(what, neurons_d(&ss, j),
				     json_array_get(json_object_get(w, "d"), j), 1e-6);
			}
			neurons_subset_free(&ss);
			neurons_stats_free(&st);
			free(idx);
			layers++;
		}
		study_free(s);
		json_decref(o);
	}
	assert_true(layers >= 5);
}

/* ---- the cache ---- */

static size_t count_files(const char *dir, const char *suffix)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "ls -a '%s' 2>/dev/null | grep -c '%s$'", dir, suffix);
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	assert_int_equal(fscanf(p, "%zu", &n), 1);
	pclose(p);
	return n;
}

static void test_cache(void **state)
{
	(void)state;
	const char *tmp = tu_mkdtemp();
	char dir[256], cache[512], path[512];
	snprintf(dir, sizeof dir, "%s", tmp);
	snprintf(cache, sizeof cache, "%s/cache/nncmp", dir);
	write_random_layer(dir, "act.npy", 3001, 9);
	snprintf(path, sizeof path, "%s/act.npy", dir);
	struct npy a;
	struct nn_err err = {{0}};
	assert_int_equal(npy_open(&a, path, &err), 0);
	struct neurons_opts o = {.cache_dir = cache};
	struct neuron_stats st, st2;

	/* first open computes and stores (directories created, 0700) */
	assert_int_equal(neurons_stats(&a, &o, NULL, &st, &err), 0);
	assert_false(st.from_cache);
	struct stat sb;
	assert_int_equal(stat(cache, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(count_files(cache, ".nst"), 1);

	/* second open is served from the cache, and equal */
	assert_int_equal(neurons_stats(&a, &o, NULL, &st2, &err), 0);
	assert_true(st2.from_cache);
	assert_memory_equal(st2.mean, st.mean, st.h * sizeof *st.mean);
	assert_memory_equal(st2.hist, st.hist, st.h * st.bins * sizeof *st.hist);
	assert_memory_equal(st2.top_val, st.top_val, st.h * st.k * sizeof *st.top_val);
	neurons_stats_free(&st2);

	/* a distinguishable entry under the same key is what the next open returns */
	char *key = neurons_cache_key(&a, st.bins, st.k, &err);
	assert_non_null(key);
	st.mean[0] += 0.25;
	assert_int_equal(neurons_cache_store(cache, key, &st), 0);
	st.mean[0] -= 0.25;
	assert_int_equal(neurons_stats(&a, &o, NULL, &st2, &err), 0);
	assert_true(st2.from_cache && st2.mean[0] == st.mean[0] + 0.25);
	neurons_stats_free(&st2);

	/* other parameters are another entry */
	struct neurons_opts o16 = {.bins = 16, .cache_dir = cache};
	assert_int_equal(neurons_stats(&a, &o16, NULL, &st2, &err), 0);
	assert_false(st2.from_cache);
	neurons_stats_free(&st2);
	assert_int_equal(count_files(cache, ".nst"), 2);

	/* a touched file is not served stale: its key changes */
	struct timeval tv[2] = {{1000000000, 0}, {1000000000, 123456}};
	assert_int_equal(utimes(path, tv), 0);
	char *key2 = neurons_cache_key(&a, st.bins, st.k, &err);
	assert_string_not_equal(key, key2);
	assert_int_equal(neurons_stats(&a, &o, NULL, &st2, &err), 0);
	assert_false(st2.from_cache);
	assert_true(st2.mean[0] == st.mean[0]);
	neurons_stats_free(&st2);

	/* an entry whose stored key differs (a renamed or rewritten file) is a miss */
	char *p2 = neurons_cache_path(cache, key2);
	assert_int_equal(neurons_cache_store(cache, key, &st), 0);
	char *p1 = neurons_cache_path(cache, key);
	assert_int_equal(rename(p1, p2), 0);
	assert_int_equal(neurons_cache_load(cache, key2, &st2), -1);

	/* a corrupt entry (one flipped byte, or truncated) is ignored and replaced */
	assert_int_equal(neurons_stats(&a, &o, NULL, &st2, &err), 0); /* rewrites p2 */
	neurons_stats_free(&st2);
	size_t len;
	char *bytes = file_read_all(p2, 1 << 24, &len, &err);
	assert_non_null(bytes);
	for (size_t pos = 0; pos < len; pos += len / 7 + 1) {
		bytes[pos] ^= 0x10;
		tu_write(cache, strrchr(p2, '/') + 1, bytes, len);
		assert_int_equal(neurons_cache_load(cache, key2, &st2), -1);
		assert_int_equal(neurons_stats(&a, &o, NULL, &st2, &err), 0);
		assert_false(st2.from_cache);
		assert_true(st2.mean[0] == st.mean[0]);
		neurons_stats_free(&st2);
		bytes[pos] ^= 0x10;
	}
	tu_write(cache, strrchr(p2, '/') + 1, bytes, len / 2);
	assert_int_equal(neurons_stats(&a, &o, NULL, &st2, &err), 0);
	assert_false(st2.from_cache);
	neurons_stats_free(&st2);
	assert_int_equal(neurons_stats(&a, &o, NULL, &st2, &err), 0);
	assert_true(st2.from_cache);
	neurons_stats_free(&st2);
	assert_int_equal(count_files(cache, ".nst"), 2); /* no temporary files left */
	assert_int_equal(count_files(cache, "nst\\..*"), 0);
	free(bytes);

	/* an unwritable cache directory is not an error */
	struct neurons_opts bad = {.cache_dir = "/proc/nncmp-cannot-be-here"};
	assert_int_equal(neurons_stats(&a, &bad, NULL, &st2, &err), 0);
	assert_false(st2.from_cache);
	neurons_stats_free(&st2);

	free(key);
	free(key2);
	free(p1);
	free(p2);
	neurons_stats_free(&st);
	npy_close(&a);
	tu_rm_rf(dir);
}

static void test_cache_dir(void **state)
{
	(void)state;
	setenv("NNCMP_CACHE", "0", 1);
	assert_null(neurons_cache_dir());
	unsetenv("NNCMP_CACHE");
	setenv("XDG_CACHE_HOME", "/x/cache", 1);
	char *d = neurons_cache_dir();
	assert_string_equal(d, "/x/cache/nncmp");
	free(d);
	setenv("XDG_CACHE_HOME", "relative", 1); /* invalid by the XDG spec: ignored */
	char home[] = "/tmp/nncmp-home-XXXXXX";
	assert_non_null(mkdtemp(home));
	setenv("HOME", home, 1);
	d = neurons_cache_dir();
	char want[64];
	snprintf(want, sizeof want, "%s/.cache/nncmp", home);
	assert_string_equal(d, want);
	free(d);
	rmdir(home);
	/* a home that does not exist is never created by a cache */
	d = neurons_cache_dir();
	assert_null(d);
	unsetenv("XDG_CACHE_HOME");
	unsetenv("HOME");
	assert_null(neurons_cache_dir());
}

/* The decoder on hostile input: every truncation, and headers promising too much. */
static void test_cache_decode_hostile(void **state)
{
	(void)state;
	struct npy a;
	open_fixture("f32.npy", &a);
	struct neurons_opts o = {.cache_dir = ""};
	struct neuron_stats st, out;
	struct nn_err err = {{0}};
	assert_int_equal(neurons_stats(&a, &o, NULL, &st, &err), 0);
	uint8_t *buf;
	size_t len;
	neurons_cache_encode(&st, "k", &buf, &len);
	assert_int_equal(neurons_cache_decode(buf, len, "k", &out, &err), 0);
	assert_memory_equal(out.hist, st.hist, st.h * st.bins * sizeof *st.hist);
	neurons_stats_free(&out);
	assert_int_equal(neurons_cache_decode(buf, len, "other", &out, &err), -1);
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *copy = xmalloc(cut ? cut : 1); /* exact size: ASan sees any overread */
		memcpy(copy, buf, cut);
		assert_int_equal(neurons_cache_decode(copy, cut, NULL, &out, &err), -1);
		free(copy);
	}
	/* what a crash can leave of an entry stored without fsync (outfile's no_sync): zeros at its
	 * full length, or after its first half */
	for (int how = 0; how < 2; how++) {
		uint8_t *torn = xmalloc(len);
		memcpy(torn, buf, len);
		size_t from = how ? len / 2 : 0;
		memset(torn + from, 0, len - from);
		assert_int_equal(neurons_cache_decode(torn, len, NULL, &out, &err), -1);
		free(torn);
	}
	/* h = 2^61: the size check must not overflow */
	uint8_t *big = xmalloc(len);
	memcpy(big, buf, len);
	size_t hpos = 16 + 1 + 8;
	for (int i = 0; i < 8; i++)
		big[hpos + i] = i == 7 ? 0x20 : 0;
	assert_int_equal(neurons_cache_decode(big, len, NULL, &out, &err), -1);
	free(big);
	free(buf);
	neurons_stats_free(&st);
	npy_close(&a);
}

/* `nncmp neurons` and `nncmp profile` as a user runs them. */
static void test_cli(void **state)
{
	(void)state;
	const char *bin = getenv("NNCMP") ? getenv("NNCMP") : "./nncmp";
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
	         "NNCMP_CACHE=0 %s neurons demo-data/digits --model cnn --layer fc1 "
	         "--filter 'cnn != gt' --top 0 --json",
	         bin);
	FILE *p = popen(cmd, "r");
	json_error_t je;
	json_t *v = json_loadf(p, 0, &je);
	assert_int_equal(pclose(p), 0);
	if (!v)
		fail_msg("%s: %s", cmd, je.text);
	json_t *o = json_load_file("demo-data/digits/oracle/metrics.json", 0, &je);
	json_t *d = json_object_get(json_object_get(json_object_get(o, "neurons"), "cnn.fc1"), "d");
	json_t *neurons = json_object_get(v, "neurons");
	assert_int_equal(json_array_size(neurons), json_array_size(d));
	assert_string_equal(json_string_value(json_object_get(v, "by")), "d");
	double prev = INFINITY;
	for (size_t r = 0; r < json_array_size(neurons); r++) {
		json_t *nr = json_array_get(neurons, r);
		size_t j = (size_t)json_integer_value(json_object_get(nr, "index"));
		double score = json_number_value(json_object_get(nr, "score"));
		near("cli d", score, json_array_get(d, j), 1e-6);
		assert_true(fabs(score) <= prev);
		prev = fabs(score);
		assert_int_equal(json_array_size(json_object_get(nr, "hist")), 32);
	}
	json_decref(v);
	json_decref(o);

	snprintf(cmd, sizeof cmd,
	         "%s profile demo-data/digits --index 3 --model mlp --layer fc1 --json", bin);
	p = popen(cmd, "r");
	v = json_loadf(p, 0, &je);
	assert_int_equal(pclose(p), 0);
	assert_non_null(v);
	neurons = json_object_get(v, "neurons");
	assert_int_equal(json_array_size(neurons), 32);
	for (size_t r = 1; r < json_array_size(neurons); r++)
		assert_true(
		    json_number_value(json_object_get(json_array_get(neurons, r - 1), "value")) >=
		    json_number_value(json_object_get(json_array_get(neurons, r), "value")));
	json_decref(v);

	/* usage and input errors: exit 2 with one line on stderr */
	static const char *const bad[] = {
	    "neurons demo-data/digits --model cnn --layer fc1 --by d",
	    "neurons demo-data/digits --model nope --layer fc1",
	    "neurons demo-data/digits --model cnn --layer nope",
	    "neurons demo-data/digits --model cnn --layer fc2",
	    "neurons demo-data/digits --model cnn --layer fc1 --filter 'cnn == 99'",
	    "neurons demo-data/digits --model cnn --layer fc1 --filter 'index < 0'",
	    "neurons demo-data/digits --model cnn --layer fc1 --filter 'index >= 0'",
	    "neurons demo-data/digits --model cnn --layer fc1 --bins 8",
	    "profile demo-data/digits --model cnn --layer fc1 --index 100000",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(cmd, sizeof cmd, "NNCMP_CACHE=0 %s %s >/dev/null 2>&1", bin, bad[i]);
		int rc = system(cmd);
		if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 2)
			fail_msg("'%s': exit %d, want 2", bad[i], WEXITSTATUS(rc));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stats_match_numpy),
	    cmocka_unit_test(test_subsets_match_numpy),
	    cmocka_unit_test(test_profile_matches_numpy),
	    cmocka_unit_test(test_hist_edges_exact),
	    cmocka_unit_test(test_hist_window),
	    cmocka_unit_test(test_threads_agree),
	    cmocka_unit_test(test_read_paths),
	    cmocka_unit_test(test_subset_edges),
	    cmocka_unit_test(test_dead_side_is_exactly_zero),
	    cmocka_unit_test(test_rank),
	    cmocka_unit_test(test_demo_oracle),
	    cmocka_unit_test(test_cache),
	    cmocka_unit_test(test_cache_dir),
	    cmocka_unit_test(test_cache_decode_hostile),
	    cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests_name("neurons", tests, NULL, NULL);
}
