/* diff.c — `nncmp diff`: two snapshots of a model compared layer by layer. Text or JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nncmp/text.h"
#include "nncmp/weights.h"

static const char diff_help[] =
    "usage: nncmp diff STUDY --models A B [--layer L] [--bins K] [--decades D] [--json]\n"
    "\n"
    "Compares two snapshots of a model (say two checkpoints of one run) layer by layer, for\n"
    "every layer with weights of the same shape in both: the distance ||A - B|| (Frobenius),\n"
    "the relative distance ||A - B|| / ||A||, and the histogram of |dw| = |a - b| over the\n"
    "weights, split by how much each weight changed relative to its size,\n"
    "d(a, b) = 2|a - b| / (|a| + |b|) (0 when a = b = 0; 2 is a sign flip, or a weight that\n"
    "appeared or vanished), in the levels [0, 0.1), [0.1, 0.5), [0.5, 1), [1, 2].\n"
    "\n"
    "Histogram bins: bin 0 is [0, e1) (unchanged or negligible); the other K-1 are log-spaced\n"
    "over D decades up to the layer's largest |dw|, so every layer has its own edges. Each\n"
    "sparkline is scaled to its own tallest bin; the counts are beside it.\n"
    "Layers found in one model only, without weights, or of different shapes are listed with\n"
    "the reason and skipped. No comparable layer at all is not an error: the list is empty and\n"
    "the exit status 0. NaN and infinite weights are left out and counted.\n"
    "\n"
    "  --models A B   the two models (A is the reference of the relative distance)\n"
    "  --layer L      only this layer\n"
    "  --bins K       histogram bins per level (default 16, at most 1000)\n"
    "  --decades D    decades spanned by the log-spaced bins (default 4)\n"
    "  --json         {\"a\", \"b\", \"layers\": [{\"name\", \"shape\", \"l2\", \"relative\",\n"
    "                 \"levels\": [{\"lo\", \"hi\", \"count\", \"hist\"}], \"bin_edges\"}],\n"
    "                 \"skipped\": [{\"name\", \"reason\"}]}\n"
    "  --help         this text\n";

static json_t *diff_json(const char *a, const char *b, const struct wdiff *d)
{
	json_t *layers = json_array();
	for (size_t i = 0; i < d->n_layers; i++) {
		const struct wdiff_layer *l = &d->layers[i];
		json_t *levels = json_array();
		for (int v = 0; v < WDIFF_LEVELS; v++) {
			json_t *hist = json_array();
			for (size_t j = 0; j < l->bins; j++)
				json_array_append_new(
				    hist,
				    json_integer((json_int_t)l->hist[(size_t)v * l->bins + j]));
			json_array_append_new(
			    levels, json_pack("{s:f, s:f, s:I, s:o}", "lo", wdiff_level_edges[v],
			                      "hi", wdiff_level_edges[v + 1], "count",
			                      (json_int_t)l->level_count[v], "hist", hist));
		}
		json_t *edges = json_array();
		for (size_t j = 0; j <= l->bins; j++)
			json_array_append_new(edges, json_real(l->bin_edges[j]));
		json_t *o =
		    json_pack("{s:o, s:o, s:[s, s]}", "name", cli_jstr(l->name), "shape",
		              cli_shape_json(l->ndim, l->dims), "dtype", l->dtype_a, l->dtype_b);
		json_object_set_new(o, "n", json_integer((json_int_t)l->n));
		json_object_set_new(o, "nonfinite", json_integer((json_int_t)l->n_nonfinite));
		json_object_set_new(o, "l2", cli_json_real(l->l2));
		json_object_set_new(o, "norm_a", cli_json_real(l->norm_a));
		json_object_set_new(o, "norm_b", cli_json_real(l->norm_b));
		json_object_set_new(o, "relative", cli_json_real(l->relative));
		json_object_set_new(o, "max_abs_delta", cli_json_real(l->max_abs_delta));
		json_object_set_new(o, "levels", levels);
		json_object_set_new(o, "bin_edges", edges);
		json_array_append_new(layers, o);
	}
	json_t *skipped = json_array();
	for (size_t i = 0; i < d->n_skipped; i++)
		json_array_append_new(skipped,
		                      json_pack("{s:o, s:o}", "name", cli_jstr(d->skipped[i].name),
		                                "reason", cli_jstr(d->skipped[i].reason)));
	return json_pack("{s:o, s:o, s:o, s:o}", "a", cli_jstr(a), "b", cli_jstr(b), "layers",
	                 layers, "skipped", skipped);
}

/* A sparkline of counts, each scaled to the tallest; an empty bin is a space. */
static void print_sparkline(const size_t *counts, size_t n, bool utf8)
{
	static const char *const bars[8] = {"\u2581", "\u2582", "\u2583", "\u2584",
	                                    "\u2585", "\u2586", "\u2587", "\u2588"};
	static const char ascii[8] = {'.', ':', '-', '=', '+', '*', '#', '@'};
	size_t top = 0;
	for (size_t j = 0; j < n; j++)
		top = counts[j] > top ? counts[j] : top;
	for (size_t j = 0; j < n; j++) {
		if (counts[j] == 0) {
			putchar(' ');
			continue;
		}
		size_t k = (size_t)ceil(8.0 * (double)counts[j] / (double)top);
		k = k < 1 ? 1 : k > 8 ? 8 : k;
		if (utf8)
			fputs(bars[k - 1], stdout);
		else
			putchar(ascii[k - 1]);
	}
}

static void print_diff_text(const char *a, const char *b, const struct wdiff *d, double decades)
{
	bool utf8 = cli_utf8();
	char *sa = cli_safe(a), *sb = cli_safe(b);
	printf("A = %s, B = %s: %zu layer%s compared", sa, sb, d->n_layers,
	       d->n_layers == 1 ? "" : "s");
	if (d->n_skipped)
		printf(", %zu skipped", d->n_skipped);
	printf("\n");
	if (d->n_layers == 0)
		printf(
		    "no layer has weights of the same shape in both models: nothing to compare\n");
	char **names = xcalloc(d->n_layers ? d->n_layers : 1, sizeof *names);
	int nw = 5;
	for (size_t i = 0; i < d->n_layers; i++) {
		names[i] = cli_safe(d->layers[i].name);
		int l = text_width(names[i]);
		nw = l > nw ? l : nw;
	}
	if (d->n_layers) {
		printf("\nd = 2|a-b| / (|a|+|b|) per weight; %% of weights in each level of d\n");
		printf("%-*s  %-12s %10s %10s %9s %10s %7s %7s %7s %7s\n", nw, "layer", "shape",
		       "||A-B||", "||A||", "relative", "max |dw|", "<0.1", "0.1-0.5", "0.5-1",
		       "1-2");
	}
	for (size_t i = 0; i < d->n_layers; i++) {
		const struct wdiff_layer *l = &d->layers[i];
		char shape[64];
		cli_shape_text(l->ndim, l->dims, shape, sizeof shape);
		cli_put_padded(names[i], nw);
		printf("  %-12s %10.4g %10.4g %9.4g %10.4g", shape, l->l2, l->norm_a, l->relative,
		       l->max_abs_delta);
		for (int v = 0; v < WDIFF_LEVELS; v++)
			printf(" %6.2f%%",
			       l->n ? 100.0 * (double)l->level_count[v] / (double)l->n : 0.0);
		printf("\n");
	}
	for (size_t i = 0; i < d->n_layers; i++) {
		const struct wdiff_layer *l = &d->layers[i];
		char shape[64];
		cli_shape_text(l->ndim, l->dims, shape, sizeof shape);
		printf("\n%s %s, %s vs %s, %zu weight%s", names[i], shape, l->dtype_a, l->dtype_b,
		       l->n, cli_plural(l->n));
		if (l->n_nonfinite)
			printf(" (%zu pair%s with NaN or infinity left out)", l->n_nonfinite,
			       cli_plural(l->n_nonfinite));
		printf(": ||A-B|| = %.6g, ||A|| = %.6g, ||B|| = %.6g, relative %.4g\n", l->l2,
		       l->norm_a, l->norm_b, l->relative);
		if (l->n == 0) {
			printf("  no finite pairs of weights to compare\n");
			continue;
		}
		if (l->max_abs_delta == 0) {
			printf("  identical: every |dw| is 0\n");
			continue;
		}
		if (l->bins > 1)
			printf("  |dw| bins: [0, %.3g), then %zu log-spaced over %g decades up to "
			       "%.4g\n",
			       l->bin_edges[1], l->bins - 1, decades, l->max_abs_delta);
		else
			printf("  |dw| bins: one, [0, %.4g]\n", l->max_abs_delta);
		printf("  %-16s %9s %7s  |dw| histogram, small to large\n", "relative change",
		       "weights", "%");
		for (int v = 0; v < WDIFF_LEVELS; v++) {
			char range[64];
			snprintf(range, sizeof range, "d in [%g, %g%s", wdiff_level_edges[v],
			         wdiff_level_edges[v + 1], v == WDIFF_LEVELS - 1 ? "]" : ")");
			printf("  %-16s %9zu %6.2f%%  %s", range, l->level_count[v],
			       l->n ? 100.0 * (double)l->level_count[v] / (double)l->n : 0.0,
			       utf8 ? "\u2502" : "|");
			print_sparkline(&l->hist[(size_t)v * l->bins], l->bins, utf8);
			printf("%s\n", utf8 ? "\u2502" : "|");
		}
	}
	if (d->n_skipped) {
		printf("\nskipped:\n");
		for (size_t i = 0; i < d->n_skipped; i++) {
			char *n = cli_safe(d->skipped[i].name), *r = cli_safe(d->skipped[i].reason);
			printf("  %s: %s\n", n, r);
			free(n);
			free(r);
		}
	}
	for (size_t i = 0; i < d->n_layers; i++)
		free(names[i]);
	free(names);
	free(sa);
	free(sb);
}

/* --decades: a number in (0, 300]; -1 when the value is not one. */
static int parse_decades(const char *value, void *dest)
{
	double *d = dest;
	return cli_parse_real(value, d) == 0 && *d > 0 && *d <= 300 ? 0 : -1;
}

int cmd_diff(int argc, char **argv)
{
	bool json = false;
	const char *study_path, *models[2] = {NULL, NULL}, *layer = NULL;
	long bins = WDIFF_BINS_DEFAULT;
	double decades = WDIFF_DECADES_DEFAULT;
	/* the B after "--models A" comes back as a positional, wherever it stands */
	const struct cli_opt opts[] = {
	    CLI_OPT_JSON(&json),
	    {.name = "models", .letter = 'm', .type = CLI_PAIR, .dest = models},
	    CLI_OPT_LAYER(&layer),
	    {.name = "bins",
	     .letter = 'b',
	     .type = CLI_LONG,
	     .dest = &bins,
	     .min = 1,
	     .max = WDIFF_BINS_MAX},
	    {.name = "decades",
	     .letter = 'd',
	     .type = CLI_FN,
	     .dest = &decades,
	     .want = "a number in (0, 300]",
	     .fn = parse_decades},
	    CLI_OPT_END};
	int prc = cli_parse_args("diff", diff_help, opts, argc, argv, &study_path);
	if (prc >= 0)
		return prc;
	const char *ma = models[0], *mb = models[1];
	if (!ma || !mb || !*ma || !*mb)
		return cli_usage_error("diff", "--models A B is needed");
	struct study *s = cli_open_study(study_path);
	if (!s)
		return EXIT_BAD_INPUT;
	int ia = study_model_index(s, ma), ib = study_model_index(s, mb);
	if (ia < 0 || ib < 0) {
		char *n = cli_safe(ia < 0 ? ma : mb);
		fprintf(stderr, "nncmp diff: no model '%s' in the study\n", n);
		free(n);
		study_free(s);
		return EXIT_BAD_INPUT;
	}
	struct wdiff d;
	struct nn_err err = {{0}};
	if (weights_diff_models(&s->models[ia], &s->models[ib], layer, (size_t)bins, decades, &d,
	                        &err) < 0) {
		char *msg = cli_safe(err.msg);
		fprintf(stderr, "nncmp diff: %s\n", msg);
		free(msg);
		study_free(s);
		return EXIT_BAD_INPUT;
	}
	int rc;
	if (json) {
		rc = cli_json_print(diff_json(s->models[ia].name, s->models[ib].name, &d));
	} else {
		print_diff_text(s->models[ia].name, s->models[ib].name, &d, decades);
		rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
	}
	weights_diff_free(&d);
	study_free(s);
	return rc;
}
