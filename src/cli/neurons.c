/*
 * neurons.c — `nncmp neurons` (per-neuron statistics, and neurons ranked by how they separate a
 * filter's subset from the rest) and `nncmp profile` (one instance's activations over a layer).
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "nncmp/channels.h"
#include "nncmp/neurons.h"

static const char neurons_help[] =
    "usage: nncmp neurons STUDY --model M --layer L [--filter EXPR] [--by d|mean|std|dead]\n"
    "                     [--channels] [--top K] [--bins B] [--threads N] [--json]\n"
    "\n"
    "Per-neuron statistics of layer L of model M: mean, standard deviation, min, max, the\n"
    "fraction of dead (exactly 0) activations, and a histogram in the layer's round bins\n"
    "(covering its range; README: Histogram bins) drawn as a sparkline (heights on a\n"
    "square-root scale). With --filter, neurons are ranked by\n"
    "how strongly they separate the matching instances S from the rest R:\n"
    "  d = (mean_S - mean_R) / s_pooled,\n"
    "  s_pooled^2 = ((n_S-1) var_S + (n_R-1) var_R) / (n_S+n_R-2)\n"
    "ranked by |d| and printed with its sign (positive: more active in S); a single instance\n"
    "contributes no variance. NaN and Inf activations are left out and counted.\n"
    "A layer's statistics are cached in $XDG_CACHE_HOME/nncmp (NNCMP_CACHE=0 disables the\n"
    "cache); a new filter then reads only the rows of S, or of R when that is smaller.\n"
    "\n"
    "  --model M      the model (required)\n"
    "  --layer L      the layer, which must have activations (required)\n"
    "  --filter EXPR  the subset S, e.g. 'cnn != gt' (see 'nncmp instances --help')\n"
    "  --by KEY       d (default with --filter), mean (default without), std, or dead;\n"
    "                 mean, std and dead are taken inside S; highest first\n"
    "  --channels     rank the channels of a spatial layer (stored (N, C, H, W)) instead:\n"
    "                 a channel's value for an instance is its maximum over H x W (NaN\n"
    "                 ignored), then the same statistics and d (not cached)\n"
    "  --top K        print the first K neurons (default 20; 0 prints all)\n"
    "  --bins B       histogram bins, 16 to 64 (default 32)\n"
    "  --threads N    worker threads (default: one per CPU)\n"
    "  --json         {\"model\", \"layer\", \"filter\", \"by\", \"n\", \"n_in\", "
    "\"n_out\", \"bins\",\n"
    "                 \"range\", \"neurons\": [{\"index\", \"score\", \"d\", \"mean_in\", "
    "\"mean_out\",\n"
    "                 \"std_in\", \"dead_in\", \"n_in\", \"n_out\", \"nan\", \"std\", "
    "\"min\", \"max\",\n"
    "                 \"hist\", \"top\": [{\"index\", \"value\"}]}]} (hist and top: all\n"
    "                 instances; n_in, n_out per neuron: finite values)\n"
    "  --help         this text\n";

static const char profile_help[] =
    "usage: nncmp profile STUDY --index I --model M --layer L [--top K] [--json]\n"
    "\n"
    "Instance I's activations over layer L of model M, sorted from the most positive to the\n"
    "most negative, drawn as bars (NaN last).\n"
    "\n"
    "  --index I   the instance (0-based row)\n"
    "  --model M   the model\n"
    "  --layer L   the layer, which must have activations\n"
    "  --top K     print the first K neurons (default 0: all)\n"
    "  --json      {\"index\", \"id\", \"model\", \"layer\", \"neurons\": [{\"index\", "
    "\"value\"}]}\n"
    "  --help      this text\n";

struct stats_job {
	const struct npy *act;
	const struct neurons_opts *opt;
	struct nn_progress prog;
	struct neuron_stats st;
	struct nn_err err;
	int rc;
	atomic_bool done;
};

static void *stats_thread(void *arg)
{
	struct stats_job *j = arg;
	j->rc = neurons_stats(j->act, j->opt, &j->prog, &j->st, &j->err);
	atomic_store(&j->done, true);
	return NULL;
}

/*
 * Computes (or loads) the layer's statistics. On a terminal, a long computation shows its
 * progress on stderr. Returns 0, or -1 with err set.
 */
static int layer_stats(const struct npy *act, const struct neurons_opts *opt,
                       struct neuron_stats *st, struct nn_err *err)
{
	struct stats_job *j = xcalloc(1, sizeof *j);
	j->act = act;
	j->opt = opt;
	pthread_t tid;
	bool tty = isatty(STDERR_FILENO);
	if (!tty || pthread_create(&tid, NULL, stats_thread, j) != 0) {
		stats_thread(j);
	} else {
		struct timespec tick = {0, 100 * 1000 * 1000};
		int waited = 0, shown = 0;
		while (!atomic_load(&j->done)) {
			nanosleep(&tick, NULL);
			size_t total = atomic_load(&j->prog.total),
			       done = atomic_load(&j->prog.done);
			if (++waited >= 5 && total) {
				fprintf(stderr, "\rnncmp: neuron statistics %3d%%",
				        (int)(100.0 * (double)done / (double)total));
				shown = 1;
			}
		}
		pthread_join(tid, NULL);
		if (shown)
			fprintf(stderr, "\r%40s\r", "");
	}
	int rc = j->rc;
	*st = j->st;
	*err = j->err;
	free(j);
	return rc;
}

/*
 * One histogram as a sparkline: a character per bin, heights on a square-root scale (so a spike
 * of exact zeros does not flatten the rest), empty bins blank, others at least one step high.
 */
static void print_sparkline(const uint64_t *hist, unsigned bins, bool utf8)
{
	static const char *const blocks[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	static const char ascii[] = " .:-=+*#";
	const int levels = utf8 ? 8 : 7;
	uint64_t max = 0;
	for (unsigned b = 0; b < bins; b++)
		max = hist[b] > max ? hist[b] : max;
	for (unsigned b = 0; b < bins; b++) {
		int lv = 0;
		if (hist[b]) {
			lv = (int)ceil(levels * sqrt((double)hist[b] / (double)max));
			lv = lv < 1 ? 1 : lv > levels ? levels : lv;
		}
		if (utf8)
			fputs(blocks[lv], stdout);
		else
			putchar(ascii[lv]);
	}
}

/* A number in 9 columns: fixed point when it reads well, else %g. */
static void print_num(double v)
{
	if (isnan(v))
		printf(" %9s", "-");
	else if (v != 0 && (fabs(v) >= 1e5 || fabs(v) < 1e-3))
		printf(" %9.2e", v);
	else
		printf(" %9.4f", v);
}

static json_t *hist_json(const uint64_t *hist, unsigned bins)
{
	json_t *a = json_array();
	for (unsigned b = 0; b < bins; b++)
		json_array_append_new(a, json_integer((json_int_t)hist[b]));
	return a;
}

struct neurons_args {
	const char *study, *model, *layer, *filter;
	bool json, by_set, channels;
	enum neuron_key by;
	long top, bins, threads;
};

static int neurons_json(const struct neurons_args *a, const struct study *s,
                        const struct neuron_stats *st, const struct neuron_subset *ss,
                        const double *score, const uint32_t *order, size_t shown)
{
	json_t *arr = json_array();
	for (size_t r = 0; r < shown; r++) {
		size_t j = order[r];
		json_t *top = json_array();
		for (unsigned q = 0; q < st->k; q++) {
			uint32_t i = st->top_idx[j * st->k + q];
			if (i == NEURONS_NO_INDEX)
				break;
			json_array_append_new(
			    top, json_pack("{s:I, s:o}", "index", (json_int_t)i, "value",
			                   cli_json_real(st->top_val[j * st->k + q])));
		}
		double sd_in =
		    ss ? (ss->count_in[j] >= 2 ? sqrt(ss->m2_in[j] / (double)(ss->count_in[j] - 1))
		                               : NAN)
		       : neurons_std(st, j);
		json_t *o = json_pack(
		    "{s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o}",
		    "index", (json_int_t)j, "score", cli_json_real(score[j]), "mean_in",
		    cli_json_real(ss ? ss->mean_in[j] : st->mean[j]), "mean_out",
		    cli_json_real(ss ? ss->mean_out[j] : NAN), "std_in", cli_json_real(sd_in),
		    "dead_in",
		    cli_json_real(ss ? (ss->count_in[j]
		                            ? (double)ss->dead_in[j] / (double)ss->count_in[j]
		                            : NAN)
		                     : neurons_dead_frac(st, j)),
		    "n_in", (json_int_t)(ss ? ss->count_in[j] : st->count[j]), "n_out",
		    (json_int_t)(ss ? ss->count_out[j] : 0), "nan",
		    (json_int_t)(st->n - st->count[j]), "min", cli_json_real(st->min[j]), "max",
		    cli_json_real(st->max[j]), "std", cli_json_real(neurons_std(st, j)), "hist",
		    hist_json(st->hist + j * st->bins, st->bins), "top", top);
		if (ss && isfinite(neurons_d(ss, j)))
			json_object_set_new(o, "d", json_real(neurons_d(ss, j)));
		json_array_append_new(arr, o);
	}
	json_t *range = json_array();
	json_array_append_new(range, cli_json_real(st->lo));
	json_array_append_new(range, cli_json_real(st->hi));
	json_t *root = json_pack("{s:o, s:o, s:o, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:b, s:o}",
	                         "model", cli_jstr(a->model), "layer", cli_jstr(a->layer), "filter",
	                         cli_jstr(a->filter), "by", neurons_key_name(a->by), "n",
	                         (json_int_t)s->n, "n_in", (json_int_t)(ss ? ss->n_in : s->n),
	                         "n_out", (json_int_t)(ss ? ss->n_out : 0), "h", (json_int_t)st->h,
	                         "bins", (json_int_t)st->bins, "range", range, "cached",
	                         st->from_cache, "neurons", arr);
	if (root) {
		json_object_set_new(root, "channels", json_boolean(a->channels));
		double edges[NEURONS_BINS_MAX + 1];
		neurons_hist_edges(st, edges);
		json_t *e = json_array();
		for (unsigned q = 0; q <= st->bins; q++)
			json_array_append_new(e, cli_json_real(edges[q]));
		json_object_set_new(root, "hist_edges", e);
	}
	return cli_json_print(root);
}

/*
 * After "N neurons": the stored shape of a spatial layer, and how a neuron's index maps to it,
 * " (6×8×8: neuron = c·64 + y·8 + x)"; nothing for a layer stored as a matrix.
 */
static void print_dims(const struct npy_header *h, bool utf8)
{
	if (h->ndim < 3)
		return;
	const char *times = utf8 ? "×" : "x", *dot = utf8 ? "·" : "*";
	printf(" (");
	for (int d = 1; d < h->ndim; d++)
		printf("%s%zu", d > 1 ? times : "", h->dims[d]);
	if (h->ndim == 4)
		printf(": neuron = c%s%zu + y%s%zu + x", dot, h->dims[2] * h->dims[3], dot,
		       h->dims[3]);
	printf(")");
}

static void neurons_text(const struct neurons_args *a, const struct npy_header *dims,
                         const struct neuron_stats *st, const struct neuron_subset *ss,
                         const uint32_t *order, size_t shown)
{
	bool utf8 = cli_utf8();
	char *m = cli_safe(a->model), *l = cli_safe(a->layer);
	const char *unit = a->channels ? "channel" : "neuron";
	printf("%s.%s: %zu instance%s, %zu %s%s", m, l, st->n, cli_plural(st->n), st->h, unit,
	       cli_plural(st->h));
	if (a->channels)
		printf(" (each instance's maximum over %zu%s%zu)", dims->dims[2], utf8 ? "×" : "x",
		       dims->dims[3]);
	else
		print_dims(dims, utf8);
	if (ss) {
		char *f = cli_safe(a->filter);
		printf("; S = '%s' (%zu instance%s), R = the other %zu", f, ss->n_in,
		       ss->n_in == 1 ? "" : "s", ss->n_out);
		free(f);
	}
	printf("\nranked by %s%s, highest first",
	       a->by == NEURON_BY_D      ? "|d|"
	       : a->by == NEURON_BY_DEAD ? "dead fraction"
	                                 : neurons_key_name(a->by),
	       ss && a->by != NEURON_BY_D ? " in S" : "");
	if (shown < st->h)
		printf(" (first %zu shown; --top 0 for all)", shown);
	double edges[NEURONS_BINS_MAX + 1];
	neurons_hist_edges(st, edges);
	printf("\nhistograms: %u bins of %g from %g to %g (the layer's range [%g, %g]), heights on "
	       "a square-root scale%s\n\n",
	       st->bins, edges[1] - edges[0], edges[0], edges[st->bins], st->lo, st->hi,
	       st->from_cache ? " (statistics from the cache)" : "");
	free(m);
	free(l);
	size_t nan_total = 0;
	for (size_t j = 0; j < st->h; j++)
		nan_total += st->n - st->count[j];
	if (ss)
		printf("%6s %7s %9s %9s %9s %9s %7s  %s\n", "rank", unit, "d", "mean S", "mean R",
		       "std S", "dead S", "histogram (all instances)");
	else
		printf("%6s %7s %9s %9s %9s %9s %7s  %s\n", "rank", unit, "mean", "std", "min",
		       "max", "dead", "histogram");
	for (size_t r = 0; r < shown; r++) {
		size_t j = order[r];
		printf("%6zu %7zu", r + 1, j);
		if (ss) {
			print_num(neurons_d(ss, j));
			print_num(ss->mean_in[j]);
			print_num(ss->mean_out[j]);
			print_num(ss->count_in[j] >= 2
			              ? sqrt(ss->m2_in[j] / (double)(ss->count_in[j] - 1))
			              : NAN);
			if (ss->count_in[j])
				printf(" %6.1f%%",
				       100.0 * (double)ss->dead_in[j] / (double)ss->count_in[j]);
			else
				printf(" %7s", "-");
		} else {
			print_num(st->mean[j]);
			print_num(neurons_std(st, j));
			print_num(st->min[j]);
			print_num(st->max[j]);
			if (st->count[j])
				printf(" %6.1f%%", 100.0 * neurons_dead_frac(st, j));
			else
				printf(" %7s", "-");
		}
		printf("  ");
		print_sparkline(st->hist + j * st->bins, st->bins, utf8);
		if (st->count[j] < st->n)
			printf("  (%zu NaN/Inf)", (size_t)(st->n - st->count[j]));
		printf("\n");
	}
	if (ss && a->by == NEURON_BY_D)
		printf(
		    "\nd > 0: more active in S than in R; |d| >= 0.8 is commonly called large.\n");
	if (ss && (ss->n_in == 1 || ss->n_out == 1))
		printf(
		    "%s has a single instance: it adds no variance, so d is its distance from the\n"
		    "other side's mean in that side's standard deviations.\n",
		    ss->n_in == 1 ? "S" : "R");
	if (nan_total)
		printf("%s%zu NaN/Inf activations left out of the statistics.\n", ss ? "" : "\n",
		       nan_total);
}

/* --by: a neuron ranking key; -1 when it is none. */
static int parse_by(const char *value, void *dest)
{
	return neurons_key_parse(value, dest);
}

/* Parses argv; returns -1 to go on, or an exit status (after --help or a usage error). */
static int neurons_parse(int argc, char **argv, struct neurons_args *a)
{
	memset(a, 0, sizeof *a);
	a->top = 20;
	a->bins = NEURONS_BINS_DEFAULT;
	const struct cli_opt opts[] = {CLI_OPT_JSON(&a->json),
	                               CLI_OPT_MODEL(&a->model),
	                               CLI_OPT_LAYER(&a->layer),
	                               CLI_OPT_FILTER(&a->filter),
	                               {.name = "by",
	                                .letter = 'b',
	                                .type = CLI_FN,
	                                .dest = &a->by,
	                                .want = "d, mean, std or dead",
	                                .fn = parse_by,
	                                .seen = &a->by_set},
	                               {.name = "channels", .type = CLI_FLAG, .dest = &a->channels},
	                               CLI_OPT_TOP(&a->top),
	                               {.name = "bins",
	                                .letter = 'B',
	                                .type = CLI_LONG,
	                                .dest = &a->bins,
	                                .min = NEURONS_BINS_MIN,
	                                .max = NEURONS_BINS_MAX},
	                               {.name = "threads",
	                                .letter = 'T',
	                                .type = CLI_LONG,
	                                .dest = &a->threads,
	                                .min = 1,
	                                .max = 64},
	                               CLI_OPT_END};
	int rc = cli_parse_args("neurons", neurons_help, opts, argc, argv, &a->study);
	if (rc >= 0)
		return rc;
	if (!a->model || !a->layer)
		return cli_usage_error("neurons", "--model and --layer are required");
	if (!a->by_set)
		a->by = a->filter ? NEURON_BY_D : NEURON_BY_MEAN;
	if (a->by == NEURON_BY_D && !a->filter)
		return cli_usage_error("neurons",
		                       "--by d compares the --filter subset with the rest; give "
		                       "--filter, or rank by mean, std or dead");
	return -1;
}

int cmd_neurons(int argc, char **argv)
{
	struct neurons_args a;
	int prc = neurons_parse(argc, argv, &a);
	if (prc >= 0)
		return prc;
	struct study *s = cli_open_study(a.study);
	if (!s)
		return EXIT_BAD_INPUT;
	int rc = EXIT_OK;
	const struct model *md = NULL;
	const struct layer *ly = layer_find(s, "neurons", a.model, a.layer, &md);
	uint32_t *idx = NULL;
	size_t count = 0;
	if (!ly) {
		rc = EXIT_BAD_INPUT;
	} else if (a.filter) {
		if (cli_select("neurons", s, a.filter, &idx, &count) != EXIT_OK) {
			rc = EXIT_BAD_INPUT;
		} else if (count == 0) {
			char *f = cli_safe(a.filter);
			fprintf(stderr, "nncmp neurons: the filter '%s' matches no instance\n", f);
			free(f);
			rc = EXIT_BAD_INPUT;
		} else if (count == s->n && a.by == NEURON_BY_D) {
			char *f = cli_safe(a.filter);
			fprintf(stderr,
			        "nncmp neurons: the filter '%s' matches all %zu instances, so "
			        "there is no rest to compare with (--by d)\n",
			        f, s->n);
			free(f);
			rc = EXIT_BAD_INPUT;
		}
	}
	struct neuron_stats st = {0};
	struct neuron_subset ss = {0};
	bool have_stats = false, have_subset = false;
	struct neurons_opts opt = {.bins = (unsigned)a.bins, .threads = (unsigned)a.threads};
	struct nn_err err = {{0}};
	/* --channels: the N x C matrix of spatial maxima, in a temporary file, not cached */
	struct npy chm = {0};
	const struct npy *act = ly ? &ly->act : NULL;
	if (rc == EXIT_OK && a.channels) {
		if (channels_max_open(&ly->act, 0, &chm, &err) < 0)
			rc = EXIT_BAD_INPUT;
		act = &chm;
		opt.cache_dir = "";
	}
	if (rc == EXIT_OK) {
		if (layer_stats(act, &opt, &st, &err) < 0)
			rc = EXIT_BAD_INPUT;
		else
			have_stats = true;
	}
	if (rc == EXIT_OK && a.filter) {
		if (neurons_subset(act, &st, idx, count, false, &opt, NULL, &ss, &err) < 0)
			rc = EXIT_INTERNAL;
		else
			have_subset = true;
	}
	if (rc != EXIT_OK && err.msg[0]) {
		char *msg = cli_safe(err.msg);
		fprintf(stderr, "nncmp neurons: %s\n", msg);
		free(msg);
	}
	if (rc == EXIT_OK) {
		const struct neuron_subset *sp = have_subset ? &ss : NULL;
		double *score = xcalloc(st.h, sizeof *score);
		uint32_t *order = xcalloc(st.h, sizeof *order);
		neurons_scores(&st, sp, a.by, score);
		neurons_rank(score, st.h, a.by == NEURON_BY_D, order);
		size_t shown = a.top == 0 || (size_t)a.top > st.h ? st.h : (size_t)a.top;
		if (a.json) {
			rc = neurons_json(&a, s, &st, sp, score, order, shown);
		} else {
			neurons_text(&a, &ly->act.h, &st, sp, order, shown);
			rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
		}
		free(score);
		free(order);
	}
	if (have_subset)
		neurons_subset_free(&ss);
	npy_close(&chm);
	if (have_stats)
		neurons_stats_free(&st);
	free(idx);
	study_free(s);
	return rc;
}

/* ---- profile ---- */

/* A bar of width cells for fraction f of the full width (eighths in UTF-8). */
static void print_bar(double f, int width, bool utf8)
{
	static const char *const eighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
	if (!(f > 0))
		return;
	int units = (int)(f * width * (utf8 ? 8 : 1) + 0.5);
	if (utf8) {
		for (int i = 0; i < units / 8; i++)
			fputs("█", stdout);
		fputs(eighths[units % 8], stdout);
	} else {
		for (int i = 0; i < units; i++)
			putchar('#');
	}
}

static void profile_text(const struct study *s, const struct model *md, const struct layer *ly,
                         size_t i, const float *v, const uint32_t *order, size_t h, size_t shown)
{
	bool utf8 = cli_utf8();
	char buf[32];
	char *id = cli_safe(study_instance_id(s, i, buf, sizeof buf));
	char *m = cli_safe(md->name), *l = cli_safe(ly->name);
	char *label = cli_safe(s->classes[s->labels[i]]);
	char *pred = cli_safe(s->classes[model_pred(md, i)]);
	printf("instance %zu (id %s): label %s, %s predicts %s\n", i, id, label, m, pred);
	printf("%s.%s: %zu neuron%s", m, l, h, cli_plural(h));
	print_dims(&ly->act.h, utf8);
	printf(", most positive first");
	if (shown < h)
		printf(" (first %zu shown; --top 0 for all)", shown);
	printf("\n\n%7s %11s\n", "neuron", "value");
	free(id);
	free(m);
	free(l);
	free(label);
	free(pred);
	double maxabs = 0;
	bool neg = false;
	for (size_t j = 0; j < h; j++)
		if (isfinite(v[j])) {
			maxabs = fabs(v[j]) > maxabs ? fabs(v[j]) : maxabs;
			neg = neg || v[j] < 0;
		}
	const int width = neg ? 24 : 48;
	for (size_t r = 0; r < shown; r++) {
		size_t j = order[r];
		printf("%7zu ", j);
		if (isfinite(v[j]))
			printf("%11.4g  ", v[j]);
		else
			printf("%11s  ", isnan(v[j]) ? "NaN" : v[j] > 0 ? "Inf" : "-Inf");
		double f = maxabs > 0 && isfinite(v[j]) ? fabs(v[j]) / maxabs : 0;
		if (neg) {
			/* negative bars grow left of the axis, positive ones right of it */
			int cells = v[j] < 0 ? (int)(f * width + 0.5) : 0;
			printf("%*s", width - cells, "");
			for (int c = 0; c < cells; c++)
				fputs(utf8 ? "▒" : "-", stdout);
			fputs(utf8 ? "│" : "|", stdout);
			if (v[j] > 0)
				print_bar(f, width, utf8);
		} else {
			print_bar(f, width, utf8);
		}
		printf("\n");
	}
}

int cmd_profile(int argc, char **argv)
{
	const char *study_path, *model = NULL, *layer = NULL;
	bool json = false;
	long top = 0, index = -1;
	const struct cli_opt opts[] = {CLI_OPT_JSON(&json),   CLI_OPT_MODEL(&model),
	                               CLI_OPT_LAYER(&layer), CLI_OPT_INDEX(&index),
	                               CLI_OPT_TOP(&top),     CLI_OPT_END};
	int prc = cli_parse_args("profile", profile_help, opts, argc, argv, &study_path);
	if (prc >= 0)
		return prc;
	if (!model || !layer || index < 0)
		return cli_usage_error("profile", "--index, --model and --layer are required");
	struct study *s = cli_open_study(study_path);
	if (!s)
		return EXIT_BAD_INPUT;
	int rc = EXIT_OK;
	const struct model *md = NULL;
	const struct layer *ly = layer_find(s, "profile", model, layer, &md);
	if (!ly) {
		rc = EXIT_BAD_INPUT;
	} else if ((size_t)index >= s->n) {
		fprintf(stderr,
		        "nncmp profile: --index %ld is out of range: the study has %zu "
		        "instances (0 to %zu)\n",
		        index, s->n, s->n - 1);
		rc = EXIT_BAD_INPUT;
	}
	if (rc == EXIT_OK) {
		size_t h = ly->act.cols;
		float *v = xcalloc(h, sizeof *v);
		uint32_t *order = xcalloc(h, sizeof *order);
		neurons_profile(&ly->act, (size_t)index, v, order);
		size_t shown = top == 0 || (size_t)top > h ? h : (size_t)top;
		if (json) {
			char buf[32];
			json_t *arr = json_array();
			for (size_t r = 0; r < shown; r++)
				json_array_append_new(arr, json_pack("{s:I, s:o}", "index",
				                                     (json_int_t)order[r], "value",
				                                     cli_json_real(v[order[r]])));
			rc = cli_json_print(json_pack(
			    "{s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "index", (json_int_t)index, "id",
			    cli_jstr(study_instance_id(s, (size_t)index, buf, sizeof buf)), "model",
			    cli_jstr(md->name), "layer", cli_jstr(ly->name), "label",
			    cli_jstr(s->classes[s->labels[index]]), "pred",
			    cli_jstr(s->classes[model_pred(md, index)]), "neurons", arr));
		} else {
			profile_text(s, md, ly, (size_t)index, v, order, h, shown);
			rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
		}
		free(v);
		free(order);
	}
	study_free(s);
	return rc;
}
