/*
 * saliency.c — `nncmp saliency`: the models' explanation maps of one instance and how alike they
 * are (L1 and SSIM of the max-normalised maps, saliency.h), or the mean of those similarities
 * over the instances a filter selects; text or JSON.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nncmp/saliency.h"

static const char saliency_help[] =
    "usage: nncmp saliency STUDY (--index I | --filter EXPR) [--json]\n"
    "\n"
    "The explanation maps the exporter wrote (models/NAME/saliency/LAYER.npy, or study.ini's\n"
    "saliency.LAYER = PATH; (N, h, w): Grad-CAM of the predicted class, tools/nncmp_export.py\n"
    "saliency=) and, for every pair of models whose maps have the same shape, how alike they\n"
    "are, as VAC-CNN's similarity matrix. Both maps are max-normalised first (divided by their "
    "maximum; a map whose maximum is 0 stays 0):\n"
    "  l1    the mean absolute difference of the normalised maps (0: equal)\n"
    "  ssim  structural similarity (Wang et al. 2004) as scikit-image's structural_similarity\n"
    "        with data_range=1 and its defaults: 7x7 uniform window, K1 0.01, K2 0.03, sample\n"
    "        covariance, mean over the pixels at least 3 from the edges (1: equal); null for\n"
    "        maps smaller than 7x7\n"
    "A map holding NaN makes its pairs' numbers null (\"-\" in text), and so their means.\n"
    "\n"
    "  --index I      instance I: each model's map as a heat grid (scaled by its maximum), then\n"
    "                 the pairs\n"
    "  --filter EXPR  the mean l1 and ssim of each pair over the matching instances\n"
    "  --json         --index: {\"index\", \"models\": [{\"name\", \"layer\", \"shape\": [h, w],\n"
    "                 \"map\": [[...]]}], \"similarity\": [{\"a\", \"b\", \"l1\", \"ssim\"}]}, the "
    "map\n"
    "                 as stored; --filter: {\"filter\", \"n\", \"models\": [{\"name\", \"layer\",\n"
    "                 \"shape\"}], \"similarity\": [{\"a\", \"b\", \"l1\", \"ssim\"}]}, the means\n"
    "  --help         this text\n";

/* Grids wider or taller than this show the maximum of each block of the map. */
enum { GRID_ROWS = 32, GRID_COLS = 64 };

/* The models with maps, and one pair of them with maps of one shape. */
struct sal_pair {
	size_t a, b; /* indices into the models with maps */
	double l1, ssim;
};
struct sal_set {
	size_t n; /* models with maps */
	const struct model **m;
	size_t n_pairs;
	struct sal_pair *pairs;
	double **raw, **norm; /* per model, h·w values of the current instance */
};

static size_t map_h(const struct model *m)
{
	return m->saliency.h.dims[1];
}
static size_t map_w(const struct model *m)
{
	return m->saliency.h.dims[2];
}

static void set_free(struct sal_set *z)
{
	for (size_t k = 0; k < z->n; k++) {
		free(z->raw[k]);
		free(z->norm[k]);
	}
	free(z->raw);
	free(z->norm);
	free(z->m);
	free(z->pairs);
}

/* Collects the models with maps and their pairs of equal shape; -1 (after a message) if none. */
static int set_init(struct sal_set *z, const struct study *s)
{
	memset(z, 0, sizeof *z);
	z->m = xcalloc(s->n_models, sizeof *z->m);
	z->raw = xcalloc(s->n_models, sizeof *z->raw);
	z->norm = xcalloc(s->n_models, sizeof *z->norm);
	z->pairs = xcalloc(s->n_models * s->n_models, sizeof *z->pairs);
	for (size_t k = 0; k < s->n_models; k++) {
		const struct model *m = &s->models[k];
		if (!m->saliency_path)
			continue;
		z->raw[z->n] = xcalloc(map_h(m) * map_w(m), sizeof(double));
		z->norm[z->n] = xcalloc(map_h(m) * map_w(m), sizeof(double));
		z->m[z->n++] = m;
	}
	for (size_t a = 0; a < z->n; a++)
		for (size_t b = a + 1; b < z->n; b++)
			if (map_h(z->m[a]) == map_h(z->m[b]) && map_w(z->m[a]) == map_w(z->m[b]))
				z->pairs[z->n_pairs++] = (struct sal_pair){.a = a, .b = b};
	if (z->n == 0) {
		char *name = cli_safe(s->name);
		fprintf(stderr,
		        "nncmp saliency: no model of %s has saliency maps "
		        "(models/NAME/saliency/LAYER.npy, or saliency.LAYER in study.ini)\n",
		        name);
		free(name);
		return -1;
	}
	return 0;
}

/* Reads instance i's maps and normalises them; -1 with err set when a file changed. */
static int set_read(struct sal_set *z, size_t i, struct nn_err *err)
{
	for (size_t k = 0; k < z->n; k++) {
		const struct model *m = z->m[k];
		if (saliency_map(&m->saliency, i, z->raw[k], err) < 0)
			return -1;
		saliency_normalise(z->raw[k], map_h(m) * map_w(m), z->norm[k]);
	}
	return 0;
}

/* The similarities of instance i's pair p. */
static void pair_compute(const struct sal_set *z, const struct sal_pair *p, double *l1,
                         double *ssim)
{
	const struct model *m = z->m[p->a];
	*l1 = saliency_l1(z->norm[p->a], z->norm[p->b], map_h(m) * map_w(m));
	*ssim = saliency_ssim(z->norm[p->a], z->norm[p->b], map_h(m), map_w(m));
}

static json_t *model_json(const struct model *m, const double *raw)
{
	json_t *o = json_pack("{s:o, s:o, s:[I, I]}", "name", cli_jstr(m->name), "layer",
	                      cli_jstr(m->saliency_layer), "shape", (json_int_t)map_h(m),
	                      (json_int_t)map_w(m));
	if (!o)
		return NULL;
	if (raw) {
		json_t *rows = json_array();
		for (size_t r = 0; r < map_h(m); r++) {
			json_t *row = json_array();
			for (size_t c = 0; c < map_w(m); c++)
				json_array_append_new(row, cli_json_real(raw[r * map_w(m) + c]));
			json_array_append_new(rows, row);
		}
		json_object_set_new(o, "map", rows);
	}
	return o;
}

static json_t *pairs_json(const struct sal_set *z)
{
	json_t *arr = json_array();
	for (size_t k = 0; k < z->n_pairs; k++) {
		const struct sal_pair *p = &z->pairs[k];
		json_array_append_new(
		    arr, json_pack("{s:o, s:o, s:o, s:o}", "a", cli_jstr(z->m[p->a]->name), "b",
		                   cli_jstr(z->m[p->b]->name), "l1", cli_json_real(p->l1), "ssim",
		                   cli_json_real(p->ssim)));
	}
	return arr;
}

/* Prints a number, or "-" when it is NaN, right-aligned in width columns. */
static void print_num(double v, int width)
{
	if (isfinite(v))
		printf("%*.4f", width, v);
	else
		printf("%*s", width, "-");
}

static void pairs_text(const struct sal_set *z)
{
	if (z->n_pairs == 0) {
		printf("no two models have maps of the same shape\n");
		return;
	}
	int wa = 1, wb = 1;
	for (size_t k = 0; k < z->n_pairs; k++) {
		int a = cli_text_width(z->m[z->pairs[k].a]->name);
		int b = cli_text_width(z->m[z->pairs[k].b]->name);
		wa = a > wa ? a : wa;
		wb = b > wb ? b : wb;
	}
	wa = wa < 5 ? 5 : wa;
	wb = wb < 5 ? 5 : wb;
	cli_print_cell("model", wa, false);
	fputs("  ", stdout);
	cli_print_cell("model", wb, false);
	printf("  %8s  %8s\n", "l1", "ssim");
	for (size_t k = 0; k < z->n_pairs; k++) {
		const struct sal_pair *p = &z->pairs[k];
		cli_print_cell(z->m[p->a]->name, wa, false);
		fputs("  ", stdout);
		cli_print_cell(z->m[p->b]->name, wb, false);
		fputs("  ", stdout);
		print_num(p->l1, 8);
		fputs("  ", stdout);
		print_num(p->ssim, 8);
		putchar('\n');
	}
}

/* One model's map as a heat grid scaled by its maximum; large maps by the maximum of blocks. */
static void map_text(const struct model *m, const double *raw, const double *norm)
{
	size_t h = map_h(m), w = map_w(m);
	size_t gr = h < GRID_ROWS ? h : GRID_ROWS, gc = w < GRID_COLS ? w : GRID_COLS;
	double mx = 0;
	for (size_t k = 0; k < h * w; k++)
		if (raw[k] > mx)
			mx = raw[k];
	cli_print_layer(m->name, m->saliency_layer);
	printf(": %zu x %zu map, max %.4g", h, w, mx);
	if (gr < h || gc < w)
		printf(", cells of blocks (their maximum)");
	putchar('\n');
	bool utf8 = cli_utf8(), colour = cli_colour();
	const char *bar = utf8 ? "\u2502" : "|";
	for (size_t i = 0; i < gr; i++) {
		fputs(bar, stdout);
		for (size_t j = 0; j < gc; j++) {
			double v = -INFINITY;
			bool nan = false;
			for (size_t r = i * h / gr; r < (i + 1) * h / gr; r++)
				for (size_t c = j * w / gc; c < (j + 1) * w / gc; c++) {
					double x = norm[r * w + c];
					nan |= isnan(x);
					v = x > v ? x : v;
				}
			cli_print_heat_cell(nan ? NAN : v, 1, utf8, colour);
		}
		printf("%s\n", bar);
	}
}

static int run_index(const struct study *s, struct sal_set *z, size_t i, bool json)
{
	struct nn_err err;
	if (set_read(z, i, &err) < 0)
		return cli_input_error("saliency", err.msg);
	for (size_t k = 0; k < z->n_pairs; k++)
		pair_compute(z, &z->pairs[k], &z->pairs[k].l1, &z->pairs[k].ssim);
	if (json) {
		json_t *models = json_array();
		for (size_t k = 0; k < z->n; k++)
			json_array_append_new(models, model_json(z->m[k], z->raw[k]));
		return cli_json_print(json_pack("{s:I, s:o, s:o}", "index", (json_int_t)i, "models",
		                                models, "similarity", pairs_json(z)));
	}
	printf("instance %zu", i);
	if (s->ids) {
		char *id = cli_safe(s->ids[i]);
		printf(" (id %s)", id);
		free(id);
	}
	printf(": %zu model%s with saliency maps; each cell is the map's value over its maximum: "
	       "%s below 0.1, + below 0.35, * below 0.7, @ above\n\n",
	       z->n, cli_plural(z->n), cli_utf8() ? "\u00b7" : ".");
	for (size_t k = 0; k < z->n; k++) {
		map_text(z->m[k], z->raw[k], z->norm[k]);
		putchar('\n');
	}
	pairs_text(z);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
}

static int run_filter(const struct study *s, struct sal_set *z, const char *filter, bool json)
{
	uint32_t *idx;
	size_t n;
	int rc = cli_select("saliency", s, filter, &idx, &n);
	if (rc != EXIT_OK)
		return rc;
	for (size_t k = 0; k < z->n_pairs; k++)
		z->pairs[k].l1 = z->pairs[k].ssim = 0;
	struct nn_err err;
	for (size_t t = 0; t < n; t++) {
		if (set_read(z, idx[t], &err) < 0) {
			free(idx);
			return cli_input_error("saliency", err.msg);
		}
		for (size_t k = 0; k < z->n_pairs; k++) {
			double l1, ssim;
			pair_compute(z, &z->pairs[k], &l1, &ssim);
			z->pairs[k].l1 += l1;
			z->pairs[k].ssim += ssim;
		}
	}
	free(idx);
	for (size_t k = 0; k < z->n_pairs; k++) {
		z->pairs[k].l1 = n ? z->pairs[k].l1 / (double)n : NAN;
		z->pairs[k].ssim = n ? z->pairs[k].ssim / (double)n : NAN;
	}
	if (json) {
		json_t *models = json_array();
		for (size_t k = 0; k < z->n; k++)
			json_array_append_new(models, model_json(z->m[k], NULL));
		return cli_json_print(json_pack("{s:o, s:I, s:o, s:o}", "filter", cli_jstr(filter),
		                                "n", (json_int_t)n, "models", models, "similarity",
		                                pairs_json(z)));
	}
	char *f = cli_safe(filter);
	printf("%zu instance%s match %s; %zu model%s with saliency maps:", n, cli_plural(n), f,
	       z->n, cli_plural(z->n));
	free(f);
	for (size_t k = 0; k < z->n; k++) {
		putchar(' ');
		cli_print_layer(z->m[k]->name, z->m[k]->saliency_layer);
		printf(" (%zu x %zu)", map_h(z->m[k]), map_w(z->m[k]));
	}
	printf("\nmean over the matching instances:\n");
	pairs_text(z);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
}

int cmd_saliency(int argc, char **argv)
{
	bool json = false;
	const char *study_path, *filter = NULL;
	long index = -1;
	const struct cli_opt opts[] = {CLI_OPT_JSON(&json), CLI_OPT_INDEX(&index),
	                               CLI_OPT_FILTER(&filter), CLI_OPT_END};
	int rc = cli_parse_args("saliency", saliency_help, opts, argc, argv, &study_path);
	if (rc >= 0)
		return rc;
	if ((index < 0) == !filter)
		return cli_usage_error("saliency", "give one of --index and --filter");
	struct study *s = cli_open_study(study_path);
	if (!s)
		return EXIT_BAD_INPUT;
	struct sal_set z;
	if (set_init(&z, s) < 0) {
		rc = EXIT_BAD_INPUT;
	} else if (index >= 0 && (size_t)index >= s->n) {
		fprintf(stderr,
		        "nncmp saliency: --index %ld is out of range: the study has %zu instances "
		        "(0 to %zu)\n",
		        index, s->n, s->n - 1);
		rc = EXIT_BAD_INPUT;
	} else if (index >= 0) {
		rc = run_index(s, &z, (size_t)index, json);
	} else {
		rc = run_filter(s, &z, filter, json);
	}
	set_free(&z);
	study_free(s);
	return rc;
}
