/* project.c — `nncmp project`: a 2-D PCA of a layer's activations, as a scatter plot or JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "nncmp/linalg.h"
#include "nncmp/project.h"

static const char project_help[] =
    "usage: nncmp project STUDY --model M --layer L [--filter EXPR] [--top K] [--json]\n"
    "                     [--threads N]\n"
    "\n"
    "A 2-D projection of layer L's activations by PCA (the two principal axes of the\n"
    "covariance; each axis signed so that its largest component is positive). Text: a\n"
    "scatter plot labelled by ground-truth class (the most frequent class of each cell; a\n"
    "density ramp when there are more than 62 classes), then the first points.\n"
    "Instances with a non-finite activation are left out of the PCA and get no point.\n"
    "\n"
    "  --filter EXPR  the PCA of the instances that match EXPR only\n"
    "  --top K        points listed in the text (default 10; 0: all)\n"
    "  --json         {\"model\", \"layer\", \"instances\", \"used\", \"skipped\",\n"
    "                 \"explained\": [r1, r2], \"variance\": [l1, l2], \"index\": [...],\n"
    "                 \"points\": [[x, y], ...]} (null coordinates for skipped instances)\n"
    "  --threads N    BLAS threads (default: OPENBLAS_NUM_THREADS, else every CPU)\n"
    "  --help         this text\n";

/* Options shared by the three subcommands. */

#define PLOT_W 64
#define PLOT_H 20

static const char class_glyphs[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/* The scatter plot: each cell shows the most frequent class of its points (ties: the lower
 * class), or a density ramp when there are too many classes for one glyph each. */
static void project_plot(const struct study *s, const struct projection *p, const uint32_t *idx)
{
	double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
	for (size_t k = 0; k < p->n; k++) {
		float x = p->points[2 * k], y = p->points[2 * k + 1];
		if (isnan(x))
			continue;
		x0 = x < x0 ? x : x0;
		x1 = x > x1 ? x : x1;
		y0 = y < y0 ? y : y0;
		y1 = y > y1 ? y : y1;
	}
	if (!(x0 <= x1))
		return;
	size_t C = s->n_classes, cells = PLOT_W * PLOT_H;
	bool by_class = C <= sizeof class_glyphs - 1;
	size_t *count = xcalloc(cells * (by_class ? C : 1), sizeof *count);
	size_t *total = xcalloc(cells, sizeof *total), peak = 0;
	for (size_t k = 0; k < p->n; k++) {
		float x = p->points[2 * k], y = p->points[2 * k + 1];
		if (isnan(x))
			continue;
		size_t cx = x1 > x0 ? (size_t)lround((x - x0) / (x1 - x0) * (PLOT_W - 1)) : 0;
		size_t cy = y1 > y0 ? (size_t)lround((y1 - y) / (y1 - y0) * (PLOT_H - 1)) : 0;
		size_t c = cy * PLOT_W + cx;
		total[c]++;
		peak = total[c] > peak ? total[c] : peak;
		if (by_class)
			count[c * C + (size_t)s->labels[idx ? idx[k] : k]]++;
	}
	static const char ramp[] = ".:-=+*#%@";
	printf("%9.3g +", y1);
	for (size_t c = 0; c < PLOT_W; c++)
		putchar('-');
	printf("+\n");
	for (size_t r = 0; r < PLOT_H; r++) {
		printf("%9s |", r == PLOT_H / 2 ? "axis 2" : "");
		for (size_t c = 0; c < PLOT_W; c++) {
			size_t cell = r * PLOT_W + c;
			char g = ' ';
			if (total[cell] && by_class) {
				size_t best = 0;
				for (size_t k = 1; k < C; k++)
					best =
					    count[cell * C + k] > count[cell * C + best] ? k : best;
				g = class_glyphs[best];
			} else if (total[cell]) {
				size_t level = (total[cell] * (sizeof ramp - 1) + peak - 1) / peak;
				g = ramp[level - 1];
			}
			putchar(g);
		}
		printf("|\n");
	}
	printf("%9.3g +", y0);
	for (size_t c = 0; c < PLOT_W; c++)
		putchar('-');
	printf("+\n%10s%-9.3g%*s%9.3g\n", "", x0, PLOT_W - 16, "axis 1", x1);
	bool self_named = by_class;
	for (size_t k = 0; k < C && self_named; k++)
		self_named = s->classes[k][0] == class_glyphs[k] && !s->classes[k][1];
	if (by_class && !self_named) {
		printf("\nclasses:");
		int col = 8;
		for (size_t k = 0; k < C; k++) {
			int w = cli_text_width(s->classes[k]);
			w = w > 20 ? 20 : w;
			if (col + w + 4 > 80) {
				printf("\n        ");
				col = 8;
			}
			printf(" %c=", class_glyphs[k]);
			cli_print_cell(s->classes[k], w, false);
			col += w + 3;
		}
		printf("\n");
	} else if (!by_class) {
		printf("\ndensity: '%c' fewest points per cell ... '%c' most (%zu)\n", ramp[0],
		       ramp[sizeof ramp - 2], peak);
	}
	free(count);
	free(total);
}

static void project_text(const struct study *s, const struct layer_args *a,
                         const struct projection *p, const uint32_t *idx)
{
	cli_print_layer(a->model, a->layer);
	printf(": PCA of %zu instance%s", p->used, cli_plural(p->used));
	if (a->n_filters) {
		printf(" matching '");
		cli_print_cell(a->filters[0], cli_text_width(a->filters[0]), false);
		putchar('\'');
	}
	printf(" (%zu neuron%s)\n", p->h, cli_plural(p->h));
	if (p->skipped)
		printf("(%zu instance%s with non-finite activations left out)\n", p->skipped,
		       p->skipped == 1 ? "" : "s");
	if (isnan(p->explained[0])) {
		printf("the activations are constant over these instances: nothing to project\n");
		return;
	}
	printf("axis 1 explains %.1f%% of the variance, axis 2 %.1f%% (%.1f%% together)\n\n",
	       100 * p->explained[0], 100 * p->explained[1],
	       100 * (p->explained[0] + p->explained[1]));
	project_plot(s, p, idx);
	size_t shown = a->top == 0 || (size_t)a->top > p->n ? p->n : (size_t)a->top;
	printf("\n%8s  %-14s %-14s %10s %10s\n", "index", "id", "label", "axis 1", "axis 2");
	for (size_t k = 0; k < shown; k++) {
		size_t i = idx ? idx[k] : k;
		char buf[32];
		printf("%8zu  ", i);
		cli_print_cell(study_instance_id(s, i, buf, sizeof buf), 14, false);
		putchar(' ');
		cli_print_cell(s->classes[s->labels[i]], 14, false);
		if (isnan(p->points[2 * k]))
			printf(" %10s %10s\n", "-", "-");
		else
			printf(" %10.4g %10.4g\n", p->points[2 * k], p->points[2 * k + 1]);
	}
	if (shown < p->n)
		printf("(first %zu of %zu; --top 0 for all, --json for every point)\n", shown,
		       p->n);
}

static int project_json(const struct layer_args *a, const struct projection *p, const uint32_t *idx)
{
	json_t *meta =
	    json_pack("{s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:[o, o], s:[o, o]}", "model",
	              cli_jstr(a->model), "layer", cli_jstr(a->layer), "filter",
	              a->n_filters ? cli_jstr(a->filters[0]) : json_null(), "neurons",
	              (json_int_t)p->h, "instances", (json_int_t)p->n, "used", (json_int_t)p->used,
	              "skipped", (json_int_t)p->skipped, "explained",
	              cli_json_real(p->explained[0]), cli_json_real(p->explained[1]), "variance",
	              cli_json_real(p->variance[0]), cli_json_real(p->variance[1]));
	if (cli_json_open_object(meta) != 0)
		return EXIT_INTERNAL;
	fputs(",\"index\":[", stdout);
	for (size_t k = 0; k < p->n; k++)
		printf(k ? ",%zu" : "%zu", idx ? (size_t)idx[k] : k);
	fputs("],\"points\":[", stdout);
	for (size_t k = 0; k < p->n; k++) {
		fputs(k ? ",[" : "[", stdout);
		cli_json_num(p->points[2 * k], true);
		putchar(',');
		cli_json_num(p->points[2 * k + 1], true);
		putchar(']');
	}
	fputs("]}\n", stdout);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
}

int cmd_project(int argc, char **argv)
{
	struct layer_args a = {.cmd = "project", .top = 10, .neuron = -1};
	int rc = layer_args_parse(argc, argv, &a, project_help);
	if (rc >= 0)
		return rc;
	struct study *s = layer_args_open(&a);
	if (!s)
		return EXIT_BAD_INPUT;
	const struct model *m;
	const struct layer *l = layer_find(s, a.cmd, a.model, a.layer, &m);
	uint32_t *idx = NULL;
	size_t n = s->n;
	rc = l ? -1 : EXIT_BAD_INPUT;
	if (rc < 0 && a.n_filters && cli_select(a.cmd, s, a.filters[0], &idx, &n) != EXIT_OK)
		rc = EXIT_BAD_INPUT;
	if (rc < 0) {
		linalg_init((int)a.threads);
		struct projection p;
		struct nn_err err = {{0}};
		struct cli_meter *meter = cli_meter_start("projecting");
		int got = project_pca(&l->act, idx, n, cli_meter_prog(meter), &p, &err);
		cli_meter_stop(meter);
		if (got != 0) {
			rc = cli_input_error(a.cmd, err.msg);
		} else {
			if (a.json) {
				rc = project_json(&a, &p, idx);
			} else {
				project_text(s, &a, &p, idx);
				rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
			}
			project_free(&p);
		}
	}
	free(idx);
	study_free(s);
	free(a.filters);
	return rc;
}
