/*
 * weights.c — `nncmp weights`: one layer's weights as statistics and a heat grid, text or JSON;
 * and the shapes that `nncmp diff` (diff.c) prints too.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nncmp/text.h"
#include "nncmp/weights.h"

static const char weights_help[] =
    "usage: nncmp weights STUDY --model M [--layer L] [--grid RxC] [--summary peak|mean] [--json]\n"
    "\n"
    "A layer's weight matrix (torch's (out, in) layout: a row per output neuron): shape, dtype,\n"
    "min, max, mean, standard deviation and fraction of zeros of its finite values, and the\n"
    "matrix summarised to a grid of at most R x C cells drawn as a diverging heat map. A 1-D\n"
    "weight vector (a bias) is one row. NaN and infinite weights are counted and left out.\n"
    "\n"
    "  --model M        the model (required)\n"
    "  --layer L        the layer (may be left out when the model has one layer with weights)\n"
    "  --grid RxC       at most R rows and C columns of cells (default 32x64); a smaller\n"
    "                   matrix is shown whole, one weight per cell\n"
    "  --summary peak   each cell is the weight of largest |w| in its block, with its sign\n"
    "                   (default: strong weights stay visible however large the block)\n"
    "  --summary mean   each cell is the mean of its block\n"
    "  --json           {\"model\", \"layer\", \"shape\", \"dtype\", \"min\", \"max\", \"mean\",\n"
    "                   \"std\", \"frac_zero\", \"scale\", \"row_starts\", \"col_starts\",\n"
    "                   \"grid\": [[...]]} (a cell without finite weights is null)\n"
    "  --help           this text\n"
    "\n"
    "Colours scale cells by v / scale, where scale is the 99th percentile of |cell|: red is\n"
    "negative, green positive; glyphs say the same without colour (NO_COLOR, or not a terminal).\n";

json_t *cli_shape_json(int ndim, const size_t *dims)
{
	json_t *arr = json_array();
	for (int k = 0; k < (ndim < 1 ? 1 : ndim); k++)
		json_array_append_new(arr, json_integer((json_int_t)(ndim < 1 ? 1 : dims[k])));
	return arr;
}

void cli_shape_text(int ndim, const size_t *dims, char *buf, size_t size)
{
	if (ndim <= 1) {
		snprintf(buf, size, "(%zu,)", ndim < 1 ? (size_t)1 : dims[0]);
		return;
	}
	size_t used = 0;
	for (int k = 0; k < ndim && used < size; k++) {
		int w = snprintf(buf + used, size - used, "%s%zu%s", k ? ", " : "(", dims[k],
		                 k + 1 == ndim ? ")" : "");
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* Names of the model's layers that have weights, comma-separated (for error messages). */
static char *weighted_layers(const struct model *m)
{
	char *list = xstrdup("");
	for (size_t l = 0; l < m->n_layers; l++) {
		if (!m->layers[l].weights_path)
			continue;
		char *next = xasprintf("%s%s%s", list, *list ? ", " : "", m->layers[l].name);
		free(list);
		list = next;
	}
	return list;
}

/* Parses "RxC" (or "N" for N x N) into two grid sides; returns 0, or -1. */
static int parse_grid(const char *s, size_t *r, size_t *c)
{
	char *end;
	long a = strtol(s, &end, 10), b;
	if (end == s || a < 1)
		return -1;
	if (*end == '\0') {
		b = a;
	} else if (*end == 'x' || *end == 'X') {
		const char *t = end + 1;
		b = strtol(t, &end, 10);
		if (end == t || *end || b < 1)
			return -1;
	} else {
		return -1;
	}
	if (a > WEIGHTS_GRID_MAX || b > WEIGHTS_GRID_MAX)
		return -1;
	*r = (size_t)a;
	*c = (size_t)b;
	return 0;
}

static json_t *starts_json(size_t n, size_t g)
{
	json_t *a = json_array();
	for (size_t i = 0; i < g; i++)
		json_array_append_new(a, json_integer((json_int_t)weights_block_start(n, g, i)));
	return a;
}

static json_t *grid_json(const struct study *s, const struct model *m, const struct layer *ly,
                         const struct weights_grid *g)
{
	char dt[8];
	json_t *rows = json_array();
	for (size_t i = 0; i < g->grid_rows; i++) {
		json_t *row = json_array();
		for (size_t j = 0; j < g->grid_cols; j++)
			json_array_append_new(row, cli_json_real(g->cell[i * g->grid_cols + j]));
		json_array_append_new(rows, row);
	}
	json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:s, s:b}", "study", cli_jstr(s->name),
	                      "model", cli_jstr(m->name), "layer", cli_jstr(ly->name), "path",
	                      cli_jstr(ly->weights_path), "shape",
	                      cli_shape_json(ly->weights.h.ndim, ly->weights.h.dims), "dtype",
	                      npy_dtype_str(&ly->weights.h, dt), "fortran", ly->weights.h.fortran);
	json_object_set_new(o, "n", json_integer((json_int_t)g->n));
	json_object_set_new(o, "nonfinite", json_integer((json_int_t)g->n_nonfinite));
	json_object_set_new(o, "min", cli_json_real(g->min));
	json_object_set_new(o, "max", cli_json_real(g->max));
	json_object_set_new(o, "mean", cli_json_real(g->mean));
	json_object_set_new(o, "std", cli_json_real(g->std));
	json_object_set_new(o, "frac_zero", cli_json_real(g->frac_zero));
	json_object_set_new(o, "summary", json_string(g->summary == WSUM_PEAK ? "peak" : "mean"));
	json_object_set_new(o, "scale", cli_json_real(g->scale));
	json_object_set_new(o, "cell_min", cli_json_real(g->cell_min));
	json_object_set_new(o, "cell_max", cli_json_real(g->cell_max));
	json_object_set_new(
	    o, "grid_shape",
	    json_pack("[I, I]", (json_int_t)g->grid_rows, (json_int_t)g->grid_cols));
	json_object_set_new(o, "row_starts", starts_json(g->rows, g->grid_rows));
	json_object_set_new(o, "col_starts", starts_json(g->cols, g->grid_cols));
	json_object_set_new(o, "grid", rows);
	return o;
}

/* "4", or "6-7" when n items do not split evenly into g blocks. */
static void block_size(size_t n, size_t g, char *buf, size_t size)
{
	if (n % g)
		snprintf(buf, size, "%zu-%zu", n / g, n / g + 1);
	else
		snprintf(buf, size, "%zu", n / g);
}

static void print_grid_text(const struct model *m, const struct layer *ly,
                            const struct weights_grid *g)
{
	bool utf8 = cli_utf8();
	bool colour = cli_colour();
	char *mn = cli_safe(m->name), *ln = cli_safe(ly->name), *path = cli_safe(ly->weights_path);
	char shape[64], dt[8];
	cli_shape_text(ly->weights.h.ndim, ly->weights.h.dims, shape, sizeof shape);
	printf("%s / %s: weights %s %s%s, %s\n", mn, ln, shape, npy_dtype_str(&ly->weights.h, dt),
	       ly->weights.h.fortran ? " (Fortran order)" : "", path);
	free(mn);
	free(ln);
	free(path);
	if (g->n == 0) {
		printf("no finite weights (%zu NaN or infinite)\n", g->n_nonfinite);
		return;
	}
	printf("min %.6g  max %.6g  mean %.6g  std %.6g  zeros %.2f%%  (%zu value%s", g->min,
	       g->max, g->mean, g->std, 100 * g->frac_zero, g->n, cli_plural(g->n));
	if (g->n_nonfinite)
		printf(", %zu NaN or infinite left out", g->n_nonfinite);
	printf(")\n");
	bool whole = g->grid_rows == g->rows && g->grid_cols == g->cols;
	if (whole) {
		printf("grid %zu x %zu: every weight", g->grid_rows, g->grid_cols);
	} else {
		char br[48], bc[48];
		block_size(g->rows, g->grid_rows, br, sizeof br);
		block_size(g->cols, g->grid_cols, bc, sizeof bc);
		printf("grid %zu x %zu: cells of %s x %s weights, each the %s", g->grid_rows,
		       g->grid_cols, br, bc,
		       g->summary == WSUM_PEAK ? "weight of largest |w| (peak)" : "block mean");
	}
	printf("; scale %.4g (99th percentile of |cell|)\n", g->scale);
	printf("legend: %s %s %s  below -0.7, -0.35, -0.1 x scale;  %s  |v| < 0.1 x scale;  "
	       "%s %s %s  above 0.1, 0.35, 0.7 x scale\n",
	       "#", "=", "-", utf8 ? "\u00b7" : ".", "+", "*", "@");
	int lw = snprintf(NULL, 0, "%zu", g->rows > 0 ? g->rows - 1 : 0);
	if (lw < 3)
		lw = 3;
	printf("%*s  columns 0..%zu\n", lw, "row", g->cols - 1);
	for (size_t i = 0; i < g->grid_rows; i++) {
		printf("%*zu %s", lw, weights_block_start(g->rows, g->grid_rows, i),
		       utf8 ? "\u2502" : "|");
		for (size_t j = 0; j < g->grid_cols; j++)
			cli_print_heat_cell(g->cell[i * g->grid_cols + j], g->scale, utf8, colour);
		printf("%s\n", utf8 ? "\u2502" : "|");
	}
}

/* --grid RxC into dest's two sizes; -1 when the value is not one. */
static int parse_grid_opt(const char *value, void *dest)
{
	size_t *grid = dest;
	return parse_grid(value, &grid[0], &grid[1]);
}

int cmd_weights(int argc, char **argv)
{
	bool json = false;
	const char *study_path, *model = NULL, *layer = NULL;
	size_t grid[2] = {32, 64};
	int how = WSUM_PEAK;
	static const char *const summaries[] = {"peak", "mean", NULL};
	char want_grid[64];
	snprintf(want_grid, sizeof want_grid, "RxC with sides 1..%d", WEIGHTS_GRID_MAX);
	const struct cli_opt opts[] = {CLI_OPT_JSON(&json),
	                               CLI_OPT_MODEL(&model),
	                               CLI_OPT_LAYER(&layer),
	                               {.name = "grid",
	                                .letter = 'g',
	                                .type = CLI_FN,
	                                .dest = grid,
	                                .want = want_grid,
	                                .fn = parse_grid_opt},
	                               {.name = "summary",
	                                .letter = 's',
	                                .type = CLI_CHOICE,
	                                .dest = &how,
	                                .choices = summaries},
	                               CLI_OPT_END};
	int prc = cli_parse_args("weights", weights_help, opts, argc, argv, &study_path);
	if (prc >= 0)
		return prc;
	size_t gr = grid[0], gc = grid[1];
	if (!model)
		return cli_usage_error("weights", "--model M is needed");
	struct study *s = cli_open_study(study_path);
	if (!s)
		return EXIT_BAD_INPUT;
	int rc = EXIT_BAD_INPUT;
	int mi = study_model_index(s, model);
	const struct model *m = mi >= 0 ? &s->models[mi] : NULL;
	const struct layer *ly = NULL;
	char *list = m ? weighted_layers(m) : NULL;
	if (!m) {
		char *mn = cli_safe(model);
		fprintf(stderr, "nncmp weights: no model '%s' in the study\n", mn);
		free(mn);
	} else if (!*list) {
		char *mn = cli_safe(model);
		fprintf(stderr, "nncmp weights: model %s has no weights\n", mn);
		free(mn);
	} else if (!layer && strchr(list, ',')) {
		char *ls = cli_safe(list);
		fprintf(stderr, "nncmp weights: --layer L is needed (layers with weights: %s)\n",
		        ls);
		free(ls);
	} else {
		int li = study_layer_index(m, layer ? layer : list);
		ly = li >= 0 && m->layers[li].weights_path ? &m->layers[li] : NULL;
		if (!ly) {
			char *mn = cli_safe(model), *ln = cli_safe(layer ? layer : list),
			     *ls = cli_safe(list);
			fprintf(
			    stderr,
			    "nncmp weights: model %s has no weights for layer '%s' (it has: %s)\n",
			    mn, ln, ls);
			free(mn);
			free(ln);
			free(ls);
		}
	}
	free(list);
	if (ly) {
		struct weights_grid g;
		struct nn_err err = {{0}};
		if (weights_grid(&ly->weights, gr, gc, how, &g, &err) < 0) {
			char *msg = cli_safe(err.msg);
			fprintf(stderr, "nncmp weights: %s\n", msg);
			free(msg);
		} else {
			if (json) {
				rc = cli_json_print(grid_json(s, m, ly, &g));
			} else {
				print_grid_text(m, ly, &g);
				rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
			}
			weights_grid_free(&g);
		}
	}
	study_free(s);
	return rc;
}
