/*
 * arch.c — `nncmp arch`: a model's architecture as Net2Vis draws it, in text: one line per stage,
 * repeated blocks folded, each layer with its output shape and parameters, and the layers the
 * study holds activations or weights for marked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nncmp/arch.h"

static const char arch_help[] =
    "usage: nncmp arch STUDY --model M [--vs B] [--json]\n"
    "\n"
    "The architecture of model M: from models/M/graph.json or study.ini's graph = PATH\n"
    "(tools/nncmp_export.py, export_torch graph=True: every module that ran, from torch.fx or\n"
    "in execution order), else from the study's layers in name order (source \"layers\"). One\n"
    "line per stage (a change of spatial size, or a repeated block); consecutive identical\n"
    "blocks are folded as \"3 × [Conv2d 3×3 64 → BatchNorm2d → ReLU]\". Each layer shows its\n"
    "output shape (without the batch) and parameter count; [A] marks layers with activations in\n"
    "the study, [W] with weights; A(16) says the activations hold 16 values per instance where\n"
    "the output shape holds another number (a pooled copy, say).\n"
    "\n"
    "With --vs B (another snapshot of the model: a checkpoint), each layer with weights shows\n"
    "its relative weight change d = ||B - A|| / ||A|| (Frobenius, A = model M) when B has a\n"
    "layer of that name with weights of the same shape; one line names the largest change, and\n"
    "one line per layer without a number says why (B lacks the layer, another shape, ||A|| = 0:\n"
    "\"new\"). NaN and infinite weights are left out of the norms and counted.\n"
    "\n"
    "  --model M  the model (required)\n"
    "  --vs B     compare the weights with model B's\n"
    "  --json     {\"model\", \"source\": \"fx\"|\"order\"|\"layers\", \"params\", \"layers\": "
    "[{\"name\",\n"
    "             \"op\", \"shape\", \"params\", \"activations\", \"weights\", \"inputs\",\n"
    "             \"kernel\", \"act_cols\"}],\n"
    "             \"blocks\": [{\"repeat\", \"start\", \"layers\": [...]}]}; with --vs also\n"
    "             \"vs\", \"largest\": {\"name\", \"change\"}|null, per layer \"change\":\n"
    "             number|null, \"change_why\" (why null), \"nonfinite\" (pairs left out)\n"
    "  --help     this text\n";

static json_t *layer_json(const struct arch_layer *ly, bool vs)
{
	json_t *shape = json_array(), *inputs = json_array();
	for (int d = 0; d < ly->ndim; d++)
		json_array_append_new(shape, json_integer((json_int_t)ly->shape[d]));
	for (size_t k = 0; k < ly->n_inputs; k++)
		json_array_append_new(inputs, json_integer(ly->inputs[k]));
	json_t *o =
	    json_pack("{s:o, s:o, s:o, s:I, s:b, s:b, s:o}", "name", cli_jstr(ly->name), "op",
	              cli_jstr(ly->op), "shape", shape, "params", (json_int_t)ly->params,
	              "activations", ly->activations, "weights", ly->weights, "inputs", inputs);
	if (ly->activations)
		json_object_set_new(o, "act_cols", json_integer((json_int_t)ly->act_cols));
	if (vs) {
		json_object_set_new(
		    o, "change", ly->chg == ARCH_CHG_VALUE ? json_real(ly->change) : json_null());
		if (ly->chg_why)
			json_object_set_new(o, "change_why", cli_jstr(ly->chg_why));
		if (ly->chg == ARCH_CHG_VALUE || ly->chg == ARCH_CHG_NULL)
			json_object_set_new(o, "nonfinite",
			                    json_integer((json_int_t)ly->chg_nonfinite));
	}
	if (ly->nkernel) {
		json_t *k = json_array();
		for (int d = 0; d < ly->nkernel; d++)
			json_array_append_new(k, json_integer((json_int_t)ly->kernel[d]));
		json_object_set_new(o, "kernel", k);
	}
	return o;
}

static json_t *arch_json(const struct arch *a)
{
	json_t *layers = json_array(), *blocks = json_array();
	for (size_t i = 0; i < a->n_layers; i++)
		json_array_append_new(layers, layer_json(&a->layers[i], a->vs != NULL));
	for (size_t b = 0; b < a->n_blocks; b++) {
		const struct arch_block *bk = &a->blocks[b];
		json_t *bl = json_array();
		for (size_t k = 0; k < bk->len; k++)
			json_array_append_new(bl,
			                      layer_json(&a->layers[bk->start + k], a->vs != NULL));
		json_array_append_new(blocks,
		                      json_pack("{s:I, s:I, s:o}", "repeat", (json_int_t)bk->repeat,
		                                "start", (json_int_t)bk->start, "layers", bl));
	}
	json_t *o = json_pack("{s:o, s:s, s:I, s:o, s:o}", "model", cli_jstr(a->model), "source",
	                      arch_source_name(a->source), "params", (json_int_t)a->params,
	                      "layers", layers, "blocks", blocks);
	if (a->vs) {
		json_object_set_new(o, "vs", cli_jstr(a->vs));
		const struct arch_layer *ly = a->largest >= 0 ? &a->layers[a->largest] : NULL;
		json_object_set_new(
		    o, "largest",
		    ly ? json_pack("{s:o, s:f}", "name", cli_jstr(ly->name), "change", ly->change)
		       : json_null());
	}
	return o;
}

/* Glyphs: UTF-8 or ASCII. */
struct glyphs {
	const char *times, *arrow, *delta;
	bool utf8;
};

/* " Δ 0.123" (or " Δ new") after a layer compared with another snapshot; nothing otherwise. */
static void print_change(const struct arch_layer *ly, const struct glyphs *g)
{
	if (ly->chg == ARCH_CHG_VALUE)
		printf(" %s %.3g", g->delta, ly->change);
	else if (ly->chg == ARCH_CHG_NULL)
		printf(" %s %s", g->delta, strncmp(ly->chg_why, "new", 3) == 0 ? "new" : "-");
}

/*
 * The marks of a layer the study holds files for: "[A W]", "[A]", "[W]"; "A(16)" when the
 * activations hold another number of values than the output shape (a pooled copy, say).
 */
static void print_marks(const struct arch_layer *ly, const struct glyphs *g)
{
	char m[48];
	printf("%s", arch_layer_marks(ly, m, sizeof m));
	print_change(ly, g);
}

/* One layer: [NAME: ]OP SHAPE[ (PARAMS)][ [A W]]. */
static void print_layer(const struct arch_layer *ly, bool name, bool marks, const struct glyphs *g)
{
	char buf[512];
	if (name) {
		char *n = cli_safe(ly->name);
		printf("%s: ", n);
		free(n);
	}
	char *t = cli_safe(arch_layer_label(ly, marks, g->utf8, buf, sizeof buf));
	printf("%s", t);
	free(t);
	if (marks)
		print_change(ly, g);
}

/* After the drawing: why some layers have no number, and the largest change. */
static void change_text(const struct arch *a, const struct glyphs *g)
{
	char *an = cli_safe(a->model), *bn = cli_safe(a->vs);
	printf("%s = ||B %s A|| / ||A||, the weights of A = %s vs B = %s\n", g->delta,
	       g->utf8 ? "−" : "-", an, bn);
	for (size_t i = 0; i < a->n_layers; i++) {
		const struct arch_layer *ly = &a->layers[i];
		/* a module run twice is two layers of one name: say it once */
		bool again = false;
		for (size_t k = 0; k < i && !again; k++)
			again = strcmp(a->layers[k].name, ly->name) == 0;
		if (again || ly->chg == ARCH_CHG_NONE)
			continue;
		char *n = cli_safe(ly->name);
		if (ly->chg_why) {
			char *why = cli_safe(ly->chg_why);
			printf("%s: no change shown: %s\n", n, why);
			free(why);
		}
		if (ly->chg == ARCH_CHG_VALUE && ly->chg_nonfinite)
			printf("%s: %zu NaN or infinite weight pair%s left out of the change\n", n,
			       ly->chg_nonfinite, ly->chg_nonfinite == 1 ? "" : "s");
		free(n);
	}
	if (a->largest >= 0) {
		char *n = cli_safe(a->layers[a->largest].name);
		printf("largest change: %s %.3g\n", n, a->layers[a->largest].change);
		free(n);
	} else {
		printf("largest change: none (no layer with weights comparable with %s)\n", bn);
	}
	free(an);
	free(bn);
}

static void arch_text(const struct arch *a)
{
	struct glyphs g = cli_utf8() ? (struct glyphs){"×", "→", "Δ", true}
	                             : (struct glyphs){"x", "->", "d", false};
	char *mn = cli_safe(a->model);
	printf("%s: %zu layer%s, %llu parameters (%s%s)\n", mn, a->n_layers,
	       a->n_layers == 1 ? "" : "s", (unsigned long long)a->params,
	       a->source == ARCH_LAYERS ? "the study's layers" : "graph.json, ",
	       a->source == ARCH_LAYERS ? "" : arch_source_name(a->source));
	free(mn);
	size_t stage = 0;
	bool open = false;
	for (size_t b = 0; b < a->n_blocks; b++) {
		const struct arch_block *bk = &a->blocks[b];
		const struct arch_layer *first = &a->layers[bk->start];
		if (bk->repeat > 1) {
			if (open)
				printf("\n");
			printf("  %2zu  %zu %s [", ++stage, bk->repeat, g.times);
			for (size_t k = 0; k < bk->len; k++) {
				printf("%s", k ? " " : "");
				if (k)
					printf("%s ", g.arrow);
				print_layer(&a->layers[bk->start + k], false, false, &g);
			}
			const struct arch_layer *last =
			    &a->layers[bk->start + bk->len * bk->repeat - 1];
			char *n0 = cli_safe(first->name), *n1 = cli_safe(last->name);
			printf("]  %s .. %s", n0, n1);
			free(n0);
			free(n1);
			bool any = false;
			for (size_t k = 0; k < bk->len * bk->repeat; k++) {
				const struct arch_layer *ly = &a->layers[bk->start + k];
				if (!ly->activations && !ly->weights)
					continue;
				char *n = cli_safe(ly->name);
				printf("%s%s ", any ? ", " : "; ", n);
				print_marks(ly, &g);
				free(n);
				any = true;
			}
			printf("\n");
			open = false;
			continue;
		}
		if (open && arch_new_stage(a, b)) {
			printf("\n");
			open = false;
		}
		if (!open)
			printf("  %2zu  ", ++stage);
		else
			printf(" %s ", g.arrow);
		print_layer(first, true, true, &g);
		open = true;
	}
	if (open)
		printf("\n");
	printf("[A] activations in the study, [W] weights; shapes without the batch dimension\n");
	if (a->vs)
		change_text(a, &g);
}

int cmd_arch(int argc, char **argv)
{
	bool json = false;
	const char *study_path, *model = NULL, *vs = NULL;
	const struct cli_opt opts[] = {CLI_OPT_JSON(&json),
	                               CLI_OPT_MODEL(&model),
	                               {.name = "vs", .type = CLI_STR, .dest = &vs},
	                               CLI_OPT_END};
	int prc = cli_parse_args("arch", arch_help, opts, argc, argv, &study_path);
	if (prc >= 0)
		return prc;
	if (!model)
		return cli_usage_error("arch", "--model is required");
	struct study *s = cli_open_study(study_path);
	if (!s)
		return EXIT_BAD_INPUT;
	int mi = study_model_index(s, model), vi = vs ? study_model_index(s, vs) : 0, rc;
	if (mi < 0 || vi < 0) {
		const char *bad = mi < 0 ? model : vs;
		char msg[NN_ERR_MAX];
		size_t len =
		    (size_t)snprintf(msg, sizeof msg, "no model '%s' in %s (models:", bad, s->name);
		for (size_t m = 0; m < s->n_models && len < sizeof msg; m++)
			len +=
			    (size_t)snprintf(msg + len, sizeof msg - len, " %s", s->models[m].name);
		if (len < sizeof msg)
			snprintf(msg + len, sizeof msg - len, ")");
		rc = cli_input_error("arch", msg);
		study_free(s);
		return rc;
	}
	struct arch a;
	struct nn_err err;
	if (arch_load(s, &s->models[mi], &a, &err) != 0) {
		rc = cli_input_error("arch", err.msg);
	} else if (vs && arch_compare(&a, &s->models[mi], &s->models[vi], &err) != 0) {
		rc = cli_input_error("arch", err.msg);
		arch_free(&a);
	} else if (json) {
		rc = cli_json_print(arch_json(&a));
		arch_free(&a);
	} else {
		arch_text(&a);
		arch_free(&a);
		rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
	}
	study_free(s);
	return rc;
}
