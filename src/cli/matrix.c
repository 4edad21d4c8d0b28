/* matrix.c — `nncmp matrix`: the mean activation per class or filter × neuron, text or JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nncmp/linalg.h"
#include "nncmp/matrices.h"

static const char matrix_help[] =
    "usage: nncmp matrix STUDY --model M --layer L [--rows class|filter] [--filter EXPR]...\n"
    "                    [--sort-row NAME] [--top K] [--json] [--threads N]\n"
    "\n"
    "The mean activation of every neuron of layer L of model M over each row's instances\n"
    "(ActiVis's subset x neuron matrix), with the neurons ordered by one row, highest first.\n"
    "Non-finite activations are left out of the means and counted.\n"
    "\n"
    "  --rows class   one row per ground-truth class (the default without --filter); a\n"
    "                 --filter then restricts the instances of every class row\n"
    "  --rows filter  one row per --filter EXPR (the default with --filter), plus a row\n"
    "                 'rest' (the complement) when there is only one; rows may overlap\n"
    "  --sort-row R   order the neurons by row R: a class name, a filter's text, 'rest',\n"
    "                 or a row number from 0 (default: the first row with instances)\n"
    "  --top K        neurons shown in the text table (default 10; 0: all). JSON always\n"
    "                 holds every neuron\n"
    "  --json         {\"model\", \"layer\", \"neurons\", \"instances\", \"nonfinite\",\n"
    "                 \"sort_row\", \"rows\": [{\"name\", \"n\", \"means\": [...]}],\n"
    "                 \"order\": [neuron indices]} (a mean is null when its row has no\n"
    "                 finite value)\n"
    "  --threads N    BLAS threads (default: OPENBLAS_NUM_THREADS, else every CPU)\n"
    "  --help         this text\n";

/* Decimals that print every |v| <= maxabs in 7 characters with a sign; -1: use %g. */
static int table_decimals(double maxabs)
{
	return maxabs < 9.9995    ? 3
	       : maxabs < 99.995  ? 2
	       : maxabs < 999.95  ? 1
	       : maxabs < 99999.5 ? 0
	                          : -1;
}

/* A mean for a table cell: 7 characters after a space, "-" for NaN. */
static void print_num(double v, int decimals)
{
	if (isnan(v))
		printf(" %7s", "-");
	else if (decimals < 0)
		printf(" %7.2g", v);
	else
		printf(" %7.*f", decimals, v);
}

/* Builds the rows of `nncmp matrix`; returns 0, or an exit status after a message. */
static int matrix_rows(const struct study *s, const struct layer_args *a, bool by_class,
                       struct matrices_subsets *rows, size_t *n_inst)
{
	int rc = 0;
	if (by_class) {
		uint32_t *idx = NULL;
		size_t n = s->n;
		if (a->n_filters == 1)
			rc = cli_select(a->cmd, s, a->filters[0], &idx, &n);
		if (rc == 0) {
			matrices_subsets_by_group(rows, s->labels, s->n_classes,
			                          (const char *const *)s->classes, idx, n);
			*n_inst = n;
		}
		free(idx);
		return rc;
	}
	bool *any = xcalloc(s->n, sizeof *any);
	for (size_t f = 0; f < a->n_filters && rc == 0; f++) {
		uint32_t *idx;
		size_t n;
		rc = cli_select(a->cmd, s, a->filters[f], &idx, &n);
		if (rc != 0)
			break;
		matrices_subsets_add(rows, a->filters[f], idx, n);
		for (size_t k = 0; k < n; k++)
			any[idx[k]] = true;
		free(idx);
	}
	if (rc == 0 && a->n_filters == 1) {
		uint32_t *rest = xcalloc(s->n, sizeof *rest);
		size_t n = 0;
		for (size_t i = 0; i < s->n; i++)
			if (!any[i])
				rest[n++] = (uint32_t)i;
		matrices_subsets_add(rows, "rest", rest, n);
		free(rest);
	}
	*n_inst = 0;
	for (size_t i = 0; i < s->n; i++)
		*n_inst += any[i] || a->n_filters == 1;
	free(any);
	return rc;
}

/* The row --sort-row names (a name first, then a row number), or -1 after a message. */
static long sort_row_index(const struct matrices_subsets *rows, const struct layer_args *a)
{
	if (!a->sort_row) {
		for (size_t r = 0; r < rows->n; r++)
			if (rows->count[r])
				return (long)r; /* the first row with instances */
		return 0;
	}
	for (size_t r = 0; r < rows->n; r++)
		if (strcmp(rows->names[r], a->sort_row) == 0)
			return (long)r;
	long r = cli_parse_count(a->sort_row);
	if (r >= 0 && (size_t)r < rows->n)
		return r;
	char msg[NN_ERR_MAX];
	snprintf(msg, sizeof msg,
	         "--sort-row '%s' is neither a row's name nor a row number below %zu", a->sort_row,
	         rows->n);
	return cli_input_error(a->cmd, msg), -1;
}

static void matrix_text(const struct layer_args *a, const struct matrices_subsets *rows,
                        const struct matrices_means *m, const uint32_t *order, size_t sort,
                        size_t n_inst, bool by_class)
{
	size_t shown = a->top == 0 || (size_t)a->top > m->cols ? m->cols : (size_t)a->top;
	char head[512];
	snprintf(head, sizeof head, "%s.%s: mean activation per %s, %zu neuron%s, %zu instance%s",
	         a->model, a->layer, by_class ? "class" : "filter", m->cols, cli_plural(m->cols),
	         n_inst, cli_plural(n_inst));
	cli_print_cell(head, cli_text_width(head), false);
	if (by_class && a->n_filters) {
		printf(" matching '");
		cli_print_cell(a->filters[0], cli_text_width(a->filters[0]), false);
		printf("'");
	}
	printf("\nneurons ordered by their mean in %s", by_class ? "class " : "row '");
	cli_print_cell(rows->names[sort], cli_text_width(rows->names[sort]), false);
	printf("%s, highest first", by_class ? "" : "'");
	if (shown < m->cols)
		printf(" (first %zu; --top 0 for all)", shown);
	printf("\n\n");
	int w = 5;
	for (size_t r = 0; r < rows->n; r++) {
		int tw = cli_text_width(rows->names[r]);
		w = tw > w ? tw : w;
	}
	w = w > 28 ? 28 : w;
	printf("  ");
	cli_print_cell(by_class ? "class" : "row", w, false);
	printf(" %7s  neuron:", "n");
	for (size_t k = 0; k < shown; k++)
		printf(" %7u", order[k]);
	printf("\n");
	double maxabs = 0;
	for (size_t r = 0; r < rows->n; r++)
		for (size_t k = 0; k < shown; k++) {
			double v = fabs(m->mean[r * m->cols + order[k]]);
			maxabs = v > maxabs ? v : maxabs; /* NaN compares false */
		}
	int decimals = table_decimals(maxabs);
	size_t empty = 0;
	for (size_t r = 0; r < rows->n; r++) {
		if (by_class && a->n_filters && m->size[r] == 0 && r != sort) {
			empty++; /* classes the filter leaves empty */
			continue;
		}
		printf("%s ", r == sort ? ">" : " ");
		cli_print_cell(rows->names[r], w, false);
		printf(" %7zu         ", m->size[r]);
		for (size_t k = 0; k < shown; k++)
			print_num(m->mean[r * m->cols + order[k]], decimals);
		printf("\n");
	}
	if (empty)
		printf("\n(%zu class%s without matching instances not shown)\n", empty,
		       empty == 1 ? "" : "es");
	if (m->nonfinite)
		printf("\n%zu non-finite activation%s left out of the means\n", m->nonfinite,
		       m->nonfinite == 1 ? " was" : "s were");
}

static json_t *matrix_json(const struct layer_args *a, const struct matrices_subsets *rows,
                           const struct matrices_means *m, const uint32_t *order, size_t sort,
                           size_t n_inst)
{
	json_t *jrows = json_array(), *jorder = json_array();
	for (size_t r = 0; r < rows->n; r++) {
		json_t *means = json_array();
		for (size_t j = 0; j < m->cols; j++)
			json_array_append_new(means, cli_json_real(m->mean[r * m->cols + j]));
		json_array_append_new(jrows,
		                      json_pack("{s:o, s:I, s:o}", "name", cli_jstr(rows->names[r]),
		                                "n", (json_int_t)m->size[r], "means", means));
	}
	for (size_t j = 0; j < m->cols; j++)
		json_array_append_new(jorder, json_integer(order[j]));
	json_t *filters = json_array();
	for (size_t f = 0; f < a->n_filters; f++)
		json_array_append_new(filters, cli_jstr(a->filters[f]));
	return json_pack("{s:o, s:o, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "model",
	                 cli_jstr(a->model), "layer", cli_jstr(a->layer), "neurons",
	                 (json_int_t)m->cols, "instances", (json_int_t)n_inst, "nonfinite",
	                 (json_int_t)m->nonfinite, "filters", filters, "sort_row",
	                 cli_jstr(rows->names[sort]), "rows", jrows, "order", jorder);
}

int cmd_matrix(int argc, char **argv)
{
	struct layer_args a = {.cmd = "matrix", .top = 10, .neuron = -1, .many_filters = true};
	int rc = layer_args_parse(argc, argv, &a, matrix_help);
	if (rc >= 0)
		return rc;
	bool by_class = a.rows ? strcmp(a.rows, "class") == 0 : a.n_filters == 0;
	if (a.rows && !by_class && strcmp(a.rows, "filter") != 0)
		rc = cli_usage_error("matrix", "--rows is 'class' or 'filter', not '%s'", a.rows);
	else if (!by_class && a.n_filters == 0)
		rc = cli_usage_error("matrix", "--rows filter needs at least one --filter EXPR");
	else if (by_class && a.n_filters > 1)
		rc = cli_usage_error("matrix", "with --rows class, one --filter at most (it "
		                               "restricts the instances of every class)");
	if (rc >= 0) {
		free(a.filters);
		return rc;
	}
	struct study *s = layer_args_open(&a);
	if (!s)
		return EXIT_BAD_INPUT;
	const struct model *m;
	const struct layer *l = layer_find(s, a.cmd, a.model, a.layer, &m);
	struct matrices_subsets rows = {0};
	size_t n_inst = 0;
	rc = l ? matrix_rows(s, &a, by_class, &rows, &n_inst) : EXIT_BAD_INPUT;
	long sort = rc == 0 ? sort_row_index(&rows, &a) : -1;
	if (rc == 0 && sort < 0)
		rc = EXIT_BAD_INPUT;
	if (rc == 0) {
		linalg_init((int)a.threads);
		struct matrices_means mm;
		struct nn_err err = {{0}};
		struct cli_meter *meter = cli_meter_start("computing the means");
		int got = matrices_means(&l->act, &rows, cli_meter_prog(meter), &mm, &err);
		cli_meter_stop(meter);
		if (got != 0) {
			rc = cli_input_error(a.cmd, err.msg);
		} else {
			uint32_t *order = xcalloc(mm.cols, sizeof *order);
			matrices_order(&mm, (size_t)sort, order);
			if (a.json) {
				rc = cli_json_print(
				    matrix_json(&a, &rows, &mm, order, (size_t)sort, n_inst));
			} else {
				matrix_text(&a, &rows, &mm, order, (size_t)sort, n_inst, by_class);
				rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
			}
			free(order);
			matrices_means_free(&mm);
		}
	}
	matrices_subsets_free(&rows);
	study_free(s);
	free(a.filters);
	return rc;
}
