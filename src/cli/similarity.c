/*
 * similarity.c — `nncmp similarity`: neuron correlation between two layers, each neuron's best
 * matches, and their linear CKA, text or JSON.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nncmp/linalg.h"
#include "nncmp/similarity.h"

static const char similarity_help[] =
    "usage: nncmp similarity STUDY --model A --layer L [--with [B.]L2] [--neuron J] [--top K]\n"
    "                        [--abs] [--cka] [--filter EXPR] [--matrix] [--json] [--threads N]\n"
    "\n"
    "Which neurons of another layer respond like the neurons of A's layer L: the Pearson\n"
    "correlation over the instances between every neuron of A.L and every neuron of B.L2\n"
    "(DeepCompare). Instances with a non-finite activation in either layer are left out and\n"
    "counted; a neuron that is constant over the instances has no correlation and no match.\n"
    "\n"
    "  --with B.L2    the other layer: model B's layer L2, or L2 of model A (default: A.L\n"
    "                 itself, where a neuron's matches leave the neuron out)\n"
    "  --neuron J     list the top K matches of neuron J of A.L (default: every neuron of\n"
    "                 A.L with its best match, or its top K with --top)\n"
    "  --top K        matches per neuron (default 10 with --neuron, else 1)\n"
    "  --abs          rank by |r|, so that strong negative correlations count too\n"
    "  --cka          also the linear CKA of the two layers (Kornblith et al. 2019): 1 for\n"
    "                 representations equal up to rotation and scale, near 0 for unrelated\n"
    "                 ones (costs two more products)\n"
    "  --filter EXPR  correlate over the instances that match EXPR only\n"
    "  --matrix       with --json: also \"matrix\", every r (rows: neurons of A.L)\n"
    "  --json         {\"a\": {\"model\", \"layer\", \"neurons\"}, \"b\": {...}, \"instances\",\n"
    "                 \"used\", \"skipped\", \"by\": \"r\"|\"abs\", \"cka\" (with --cka),\n"
    "                 \"matches\": [{\"neuron\", \"top\": [{\"neuron\", \"r\"}]}]}\n"
    "  --threads N    BLAS threads (default: OPENBLAS_NUM_THREADS, else every CPU)\n"
    "  --help         this text\n";

/*
 * Resolves --with: "MODEL.LAYER" (model names are tried at every dot, since layer names such as
 * "block1.conv" hold dots too), else a layer of model a. NULL after an error message.
 */
static const struct layer *find_with(const struct study *s, const char *cmd, const char *spec,
                                     const struct model *a, const struct model **mp)
{
	for (const char *dot = strchr(spec, '.'); dot; dot = strchr(dot + 1, '.')) {
		char *model = xstrndup(spec, (size_t)(dot - spec));
		int mi = study_model_index(s, model);
		free(model);
		if (mi >= 0) {
			int li = study_layer_index(&s->models[mi], dot + 1);
			if (li >= 0 && s->models[mi].layers[li].act_path) {
				*mp = &s->models[mi];
				return &s->models[mi].layers[li];
			}
		}
	}
	int li = study_layer_index(a, spec);
	if (li >= 0 && a->layers[li].act_path) {
		*mp = a;
		return &a->layers[li];
	}
	char msg[NN_ERR_MAX];
	snprintf(msg, sizeof msg,
	         "--with '%s': no MODEL.LAYER with activations of that name, nor a layer of %s",
	         spec, a->name);
	cli_input_error(cmd, msg);
	return NULL;
}

static json_t *layer_json(const char *model, const char *layer, size_t neurons)
{
	return json_pack("{s:o, s:o, s:I}", "model", cli_jstr(model), "layer", cli_jstr(layer),
	                 "neurons", (json_int_t)neurons);
}

struct sim_view {
	const struct layer_args *a;
	const char *model_b, *layer_b;
	const struct similarity *sim;
	size_t n_inst, top, skip_self; /* skip_self: 1 when B is A's own layer */
	const uint32_t *neurons;       /* neurons of A to list */
	size_t n_neurons;
};

static size_t sim_matches(const struct sim_view *v, size_t i, struct similarity_match *out)
{
	return similarity_top(v->sim, i, v->top, v->a->abs, v->skip_self ? i : SIZE_MAX, out);
}

static void similarity_text(const struct sim_view *v)
{
	const struct layer_args *a = v->a;
	const struct similarity *sim = v->sim;
	cli_print_layer(a->model, a->layer);
	if (a->neuron >= 0)
		printf(" neuron %ld", a->neuron);
	else
		printf(" (%zu neuron%s)", sim->h1, cli_plural(sim->h1));
	printf(" vs ");
	cli_print_layer(v->model_b, v->layer_b);
	printf(" (%zu neuron%s): Pearson r over %zu instance%s", sim->h2, cli_plural(sim->h2),
	       sim->used, cli_plural(sim->used));
	if (a->n_filters) {
		printf(" matching '");
		cli_print_cell(a->filters[0], cli_text_width(a->filters[0]), false);
		putchar('\'');
	}
	printf("\n");
	if (sim->skipped)
		printf("(%zu instance%s with non-finite activations left out)\n", sim->skipped,
		       sim->skipped == 1 ? "" : "s");
	if (a->cka) {
		printf("linear CKA: ");
		if (isnan(sim->cka))
			printf("undefined (a layer is constant)\n");
		else
			printf("%.4f\n", sim->cka);
	}
	struct similarity_match *mt = xcalloc(v->top ? v->top : 1, sizeof *mt);
	if (a->neuron >= 0) {
		size_t got = sim_matches(v, (size_t)a->neuron, mt);
		printf("\n%4s %7s %8s%s\n", "rank", "neuron", "r",
		       a->abs ? "   (ranked by |r|)" : "");
		for (size_t t = 0; t < got; t++)
			printf("%4zu %7u %8.4f\n", t + 1, mt[t].neuron, mt[t].r);
		if (!got)
			printf("no match: neuron %ld is constant over these instances\n",
			       a->neuron);
		free(mt);
		return;
	}
	/* summary of the best matches */
	size_t with = 0, hi = 0, mid = 0;
	double sum = 0;
	for (size_t i = 0; i < sim->h1; i++) {
		struct similarity_match best;
		if (similarity_top(sim, i, 1, a->abs, v->skip_self ? i : SIZE_MAX, &best) == 0)
			continue;
		double key = a->abs ? fabs(best.r) : best.r;
		with++;
		sum += key;
		hi += key >= 0.9;
		mid += key >= 0.5;
	}
	const char *by = a->abs ? "|r|" : "r";
	if (v->skip_self)
		printf("(the layer with itself: a neuron's matches leave the neuron out)\n");
	if (with)
		printf("\nbest matches of the %zu non-constant neurons (by %s): mean %.3f; "
		       "%s >= 0.9 for %zu, >= 0.5 for %zu\n",
		       with, by, sum / (double)with, by, hi, mid);
	else
		printf("\nno matches: every neuron is constant over these instances\n");
	if (!with) {
		free(mt);
		return;
	}
	printf("\n%6s", "neuron");
	for (size_t t = 0; t < v->top && t < 8; t++)
		printf(" %6s %7s", t ? "next" : "match", "r");
	printf("\n");
	for (size_t i = 0; i < sim->h1; i++) {
		size_t got = sim_matches(v, i, mt);
		printf("%6zu", i);
		for (size_t t = 0; t < got; t++)
			printf(" %6u %7.3f", mt[t].neuron, mt[t].r);
		if (!got)
			printf("  (constant over these instances)");
		printf("\n");
	}
	free(mt);
}

static int similarity_json(const struct sim_view *v)
{
	const struct layer_args *a = v->a;
	const struct similarity *sim = v->sim;
	json_t *matches = json_array();
	struct similarity_match *mt = xcalloc(v->top ? v->top : 1, sizeof *mt);
	for (size_t k = 0; k < v->n_neurons; k++) {
		size_t i = v->neurons[k], got = sim_matches(v, i, mt);
		json_t *top = json_array();
		for (size_t t = 0; t < got; t++)
			json_array_append_new(top,
			                      json_pack("{s:i, s:o}", "neuron", (int)mt[t].neuron,
			                                "r", cli_json_real(mt[t].r)));
		json_array_append_new(matches,
		                      json_pack("{s:I, s:o}", "neuron", (json_int_t)i, "top", top));
	}
	free(mt);
	json_t *o =
	    json_pack("{s:o, s:o, s:o, s:I, s:I, s:I, s:s, s:o}", "a",
	              layer_json(a->model, a->layer, sim->h1), "b",
	              layer_json(v->model_b, v->layer_b, sim->h2), "filter",
	              a->n_filters ? cli_jstr(a->filters[0]) : json_null(), "instances",
	              (json_int_t)v->n_inst, "used", (json_int_t)sim->used, "skipped",
	              (json_int_t)sim->skipped, "by", a->abs ? "abs" : "r", "matches", matches);
	if (a->cka)
		json_object_set_new(o, "cka", cli_json_real(sim->cka));
	if (!a->matrix)
		return cli_json_print(o);
	if (cli_json_open_object(o) != 0)
		return EXIT_INTERNAL;
	fputs(",\"matrix\":[", stdout);
	for (size_t i = 0; i < sim->h1; i++) {
		fputs(i ? ",[" : "[", stdout);
		for (size_t j = 0; j < sim->h2; j++) {
			if (j)
				putchar(',');
			cli_json_num(sim->r[i * sim->h2 + j], false);
		}
		putchar(']');
	}
	fputs("]}\n", stdout);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
}

int cmd_similarity(int argc, char **argv)
{
	struct layer_args a = {.cmd = "similarity", .top = -1, .neuron = -1};
	int rc = layer_args_parse(argc, argv, &a, similarity_help);
	if (rc < 0 && a.matrix && !a.json)
		rc = cli_usage_error(a.cmd, "--matrix goes with --json");
	if (rc >= 0) {
		free(a.filters);
		return rc;
	}
	struct study *s = layer_args_open(&a);
	if (!s)
		return EXIT_BAD_INPUT;
	const struct model *ma = NULL, *mb = NULL;
	const struct layer *la = layer_find(s, a.cmd, a.model, a.layer, &ma), *lb = la;
	mb = ma;
	if (la && a.with)
		lb = find_with(s, a.cmd, a.with, ma, &mb);
	uint32_t *idx = NULL;
	size_t n = s->n;
	rc = la && lb ? -1 : EXIT_BAD_INPUT;
	if (rc < 0 && a.neuron >= 0 && (size_t)a.neuron >= la->act.cols) {
		char msg[NN_ERR_MAX];
		snprintf(msg, sizeof msg, "--neuron %ld: %s.%s has neurons 0 to %zu", a.neuron,
		         ma->name, la->name, la->act.cols - 1);
		rc = cli_input_error(a.cmd, msg);
	}
	if (rc < 0 && a.n_filters && cli_select(a.cmd, s, a.filters[0], &idx, &n) != EXIT_OK)
		rc = EXIT_BAD_INPUT;
	if (rc < 0) {
		linalg_init((int)a.threads);
		struct similarity sim;
		struct nn_err err = {{0}};
		struct cli_meter *meter = cli_meter_start("correlating");
		int got = similarity_compute(&la->act, &lb->act, idx, n, a.cka,
		                             cli_meter_prog(meter), &sim, &err);
		cli_meter_stop(meter);
		if (got != 0) {
			rc = cli_input_error(a.cmd, err.msg);
		} else {
			size_t top = a.top >= 0 ? (size_t)a.top : a.neuron >= 0 ? 10 : 1;
			uint32_t *neurons = xcalloc(sim.h1, sizeof *neurons);
			size_t n_neurons = 0;
			if (a.neuron >= 0)
				neurons[n_neurons++] = (uint32_t)a.neuron;
			else
				for (size_t i = 0; i < sim.h1; i++)
					neurons[n_neurons++] = (uint32_t)i;
			struct sim_view v = {
			    &a,       mb->name, lb->name,
			    &sim,     n,        top == 0 || top > sim.h2 ? sim.h2 : top,
			    la == lb, neurons,  n_neurons};
			if (a.json) {
				rc = similarity_json(&v);
			} else {
				similarity_text(&v);
				rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
			}
			free(neurons);
			similarity_free(&sim);
		}
	}
	free(idx);
	study_free(s);
	free(a.filters);
	return rc;
}
