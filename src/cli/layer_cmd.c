/*
 * layer_cmd.c — what the subcommands over one layer's activations (matrix, similarity, project)
 * share: their options and finding the layer.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nncmp/text.h"

int layer_args_parse(int argc, char **argv, struct layer_args *a, const char *help)
{
	struct cli_strs filters = {0};
	/* seen[k]: option k of the table was given (only the options of one command are checked) */
	bool seen[16] = {false};
	const struct cli_opt opts[] = {
	    CLI_OPT_JSON(&a->json),
	    CLI_OPT_MODEL(&a->model),
	    CLI_OPT_LAYER(&a->layer),
	    {.name = "filter", .letter = 'f', .type = CLI_STRS, .dest = &filters},
	    CLI_OPT_TOP(&a->top),
	    CLI_OPT_THREADS(&a->threads, 4096),
	    /* from here on, options of one command (owner[] below) */
	    {.name = "rows", .letter = 'r', .type = CLI_STR, .dest = &a->rows, .seen = &seen[6]},
	    {.name = "sort-row", .type = CLI_STR, .dest = &a->sort_row, .seen = &seen[7]},
	    {.name = "with", .type = CLI_STR, .dest = &a->with, .seen = &seen[8]},
	    {.name = "neuron",
	     .type = CLI_LONG,
	     .dest = &a->neuron,
	     .want = "an index",
	     .max = LONG_MAX,
	     .seen = &seen[9]},
	    {.name = "abs", .type = CLI_FLAG, .dest = &a->abs, .seen = &seen[10]},
	    {.name = "cka", .type = CLI_FLAG, .dest = &a->cka, .seen = &seen[11]},
	    {.name = "matrix", .type = CLI_FLAG, .dest = &a->matrix, .seen = &seen[12]},
	    CLI_OPT_END};
	static const char *const owner[] = {
	    [6] = "matrix",      [7] = "matrix",      [8] = "similarity", [9] = "similarity",
	    [10] = "similarity", [11] = "similarity", [12] = "similarity"};
	int rc = cli_parse_args(a->cmd, help, opts, argc, argv, &a->study);
	a->filters = filters.v;
	a->n_filters = filters.n;
	for (size_t k = 6; rc < 0 && k < sizeof owner / sizeof *owner; k++)
		if (seen[k] && strcmp(owner[k], a->cmd) != 0)
			rc = cli_usage_error(a->cmd, "--%s belongs to 'nncmp %s'", opts[k].name,
			                     owner[k]);
	if (rc < 0 && (!a->model || !a->layer))
		rc = cli_usage_error(a->cmd, "--model and --layer are required");
	if (rc < 0 && !a->many_filters && a->n_filters > 1)
		rc = cli_usage_error(a->cmd, "one --filter at most");
	if (rc >= 0) {
		free(a->filters);
		a->filters = NULL;
	}
	return rc;
}

struct study *layer_args_open(struct layer_args *a)
{
	struct study *s = cli_open_study(a->study);
	if (!s) {
		free(a->filters);
		a->filters = NULL;
	}
	return s;
}

/* Appends the names of the layers of m that have activations to buf. */
static void layer_names(const struct model *m, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t l = 0; l < m->n_layers && len < size; l++)
		if (m->layers[l].act_path)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
			                        m->layers[l].name);
	if (!len)
		snprintf(buf, size, "none");
}

/* Finds model.layer with activations; returns it, or NULL after an error message. */
const struct layer *layer_find(const struct study *s, const char *cmd, const char *model,
                               const char *layer, const struct model **mp)
{
	char msg[NN_ERR_MAX], names[256];
	int mi = study_model_index(s, model);
	if (mi < 0) {
		size_t len = 0;
		names[0] = '\0';
		for (size_t m = 0; m < s->n_models && len < sizeof names; m++)
			len += (size_t)snprintf(names + len, sizeof names - len, "%s%s",
			                        m ? ", " : "", s->models[m].name);
		snprintf(msg, sizeof msg, "no model '%s' in %s (models: %s)", model, s->name,
		         names);
		cli_input_error(cmd, msg);
		return NULL;
	}
	const struct model *m = &s->models[mi];
	int li = study_layer_index(m, layer);
	if (li < 0 || !m->layers[li].act_path) {
		layer_names(m, names, sizeof names);
		snprintf(msg, sizeof msg, "model %s has no %s '%s' (layers with activations: %s)",
		         m->name, li < 0 ? "layer" : "activations for layer", layer, names);
		cli_input_error(cmd, msg);
		return NULL;
	}
	*mp = m;
	return &m->layers[li];
}
