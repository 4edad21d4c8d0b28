/*
 * dups.c — `nncmp dups`: near-duplicate pairs (cosine of activations or of pixels) within each
 * predicted class, optionally only across splits, text or JSON.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nncmp/dups.h"
#include "nncmp/linalg.h"

static const char dups_help[] =
    "usage: nncmp dups STUDY [--model M] [--layer L | --pixels [--size S]] [--threshold T]\n"
    "                  [--top K] [--across-splits] [--any-class] [--json] [--threads N]\n"
    "\n"
    "Near-duplicates: pairs of instances whose vectors point the same way (cosine similarity\n"
    ">= T) and that the model predicts as the same class. Two near-identical inputs with\n"
    "different labels (marked *) hint at a label error; with --across-splits, pairs between\n"
    "different splits of samples.jsonl hint at train/test leakage. Rows that are all zero or\n"
    "not finite have no cosine: they are left out and counted.\n"
    "\n"
    "  --layer L        compare the activations of layer L (of model M, else of the first\n"
    "                   model that has L)\n"
    "  --pixels         compare the images of samples.jsonl, fitted into S x S RGB\n"
    "  --size S         pixels: the common size (default 16, 1 to 256)\n"
    "  --model M        whose predicted classes group the pairs (default: the layer's\n"
    "                   model; with --pixels the first model)\n"
    "  --threshold T    least cosine (default 0.995)\n"
    "  --top K          list the K most similar pairs (default 100; 0: all); the count says\n"
    "                   how many pass the threshold\n"
    "  --across-splits  only pairs whose \"split\" differs (both must have one)\n"
    "  --any-class      pairs need not share a predicted class\n"
    "  --json           {\"source\": \"MODEL.LAYER\"|\"pixels\", \"model\", \"threshold\",\n"
    "                   \"count\", \"left_out\": {\"zero\", \"nonfinite\", \"no_split\",\n"
    "                   \"no_image\"}, \"pairs\": [{\"a\", \"b\", \"id_a\", \"id_b\", \"cosine\",\n"
    "                   \"class\", \"label_a\", \"label_b\", \"labels_differ\"}]}, most similar\n"
    "                   first (\"class\" is null when the two predictions differ; with\n"
    "                   --any-class also \"class_a\", \"class_b\"; with --across-splits\n"
    "                   \"split_a\", \"split_b\")\n"
    "  --threads N      BLAS threads (default: OPENBLAS_NUM_THREADS, else every CPU)\n"
    "  --help           this text\n";

struct dups_args {
	const char *study, *model, *layer;
	bool pixels, across, any, json;
	double threshold;
	long top, threads, side;
};

/* --threshold: a cosine from -1 to 1; -1 when the value is not one. */
static int parse_threshold(const char *value, void *dest)
{
	double *t = dest;
	return cli_parse_real(value, t) == 0 && *t >= -1 && *t <= 1 ? 0 : -1;
}

/* Parses argv; returns -1 to go on, or an exit status (after --help or a usage error). */
static int dups_parse(int argc, char **argv, struct dups_args *a)
{
	const struct cli_opt opts[] = {
	    CLI_OPT_JSON(&a->json),
	    CLI_OPT_MODEL(&a->model),
	    CLI_OPT_LAYER(&a->layer),
	    {.name = "threshold",
	     .type = CLI_FN,
	     .dest = &a->threshold,
	     .want = "a cosine from -1 to 1",
	     .fn = parse_threshold},
	    {.name = "top", .type = CLI_LONG, .dest = &a->top, .want = "a count", .max = LONG_MAX},
	    {.name = "across-splits", .type = CLI_FLAG, .dest = &a->across},
	    {.name = "any-class", .type = CLI_FLAG, .dest = &a->any},
	    CLI_OPT_THREADS(&a->threads, 4096),
	    {.name = "pixels", .type = CLI_FLAG, .dest = &a->pixels},
	    {.name = "size", .type = CLI_LONG, .dest = &a->side, .min = 1, .max = 256},
	    CLI_OPT_END};
	int rc = cli_parse_args("dups", dups_help, opts, argc, argv, &a->study);
	if (rc >= 0)
		return rc;
	if (!a->layer == !a->pixels)
		return cli_usage_error("dups", a->pixels ? "--layer and --pixels exclude each other"
		                                         : "--layer L or --pixels is required");
	if (a->side && !a->pixels)
		return cli_usage_error("dups", "--size goes with --pixels");
	return -1;
}

/* The first model with activations for layer `name`, or NULL after an error message. */
static const struct layer *layer_any(const struct study *s, const char *name,
                                     const struct model **mp)
{
	for (size_t m = 0; m < s->n_models; m++) {
		int li = study_layer_index(&s->models[m], name);
		if (li >= 0 && s->models[m].layers[li].act_path) {
			*mp = &s->models[m];
			return &s->models[m].layers[li];
		}
	}
	char msg[NN_ERR_MAX];
	snprintf(msg, sizeof msg, "no model of %s has activations for a layer '%s'", s->name, name);
	cli_input_error("dups", msg);
	return NULL;
}

/* What printing needs besides the pairs. */
struct dups_view {
	const struct dups_args *a;
	const struct study *s;
	const struct model *m; /* whose predictions are the classes; NULL: none */
	const char *source;    /* "model.layer" or "pixels" */
	const struct dups_result *r;
};

static const char *class_name(const struct study *s, int32_t c)
{
	return c >= 0 && (size_t)c < s->n_classes ? s->classes[c] : "?";
}

static void print_left_out(const struct dups_result *r)
{
	static const char *const why[] = {"all zero", "not finite", "no split",
	                                  "no readable image"};
	size_t n[] = {r->zero, r->nonfinite, r->no_split, r->no_image};
	for (int k = 0; k < 4; k++)
		if (n[k])
			printf("(%zu instance%s left out: %s)\n", n[k], cli_plural(n[k]), why[k]);
	if (r->first_bad[0]) {
		char *m = cli_safe(r->first_bad);
		printf("(first unreadable image: %s)\n", m);
		free(m);
	}
}

static void dups_text(const struct dups_view *v)
{
	const struct dups_args *a = v->a;
	const struct study *s = v->s;
	const struct dups_result *r = v->r;
	printf("near-duplicates in ");
	if (a->pixels)
		printf("pixels (%ld x %ld RGB)", a->side ? a->side : DUPS_DEFAULT_SIDE,
		       a->side ? a->side : DUPS_DEFAULT_SIDE);
	else
		cli_print_layer(v->m->name, a->layer);
	printf(": cosine >= %g", a->threshold);
	if (!a->any) {
		printf(", same class predicted by ");
		cli_print_cell(v->m->name, cli_text_width(v->m->name), false);
	}
	if (a->across)
		printf(", across splits");
	printf("\n%zu pair%s", r->count, cli_plural(r->count));
	if (r->n_pairs < r->count)
		printf(", the %zu most similar shown (--top)", r->n_pairs);
	printf("\n");
	print_left_out(r);
	if (!r->n_pairs)
		return;
	printf("\n%8s %6s %-14s %6s %-14s %-10s %-10s %s\n", "cosine", "a", "id a", "b", "id b",
	       v->m ? "predicted" : "", "label a", "label b");
	bool any_diff = false;
	char ba[32], bb[32];
	for (size_t k = 0; k < r->n_pairs; k++) {
		const struct dups_pair *p = &r->pairs[k];
		printf("%8.5f %6u ", p->cosine, p->a);
		cli_print_cell(study_instance_id(s, p->a, ba, sizeof ba), 14, false);
		printf(" %6u ", p->b);
		cli_print_cell(study_instance_id(s, p->b, bb, sizeof bb), 14, false);
		putchar(' ');
		const char *cls = "";
		if (v->m)
			cls = model_pred(v->m, p->a) == model_pred(v->m, p->b)
			          ? class_name(s, model_pred(v->m, p->a))
			          : "(differ)";
		cli_print_cell(cls, 10, false);
		putchar(' ');
		cli_print_cell(class_name(s, s->labels[p->a]), 10, false);
		putchar(' ');
		const char *lb = class_name(s, s->labels[p->b]);
		cli_print_cell(lb, s->labels[p->a] != s->labels[p->b] ? 10 : cli_text_width(lb),
		               false);
		bool diff = s->labels[p->a] != s->labels[p->b];
		any_diff = any_diff || diff;
		printf("%s\n", diff ? " *" : "");
	}
	if (any_diff)
		printf("\n* the two labels differ: one of them may be wrong\n");
}

static json_t *pair_json(const struct dups_view *v, const struct dups_pair *p)
{
	const struct study *s = v->s;
	char ba[32], bb[32];
	int32_t la = s->labels[p->a], lb = s->labels[p->b];
	json_t *cls = json_null();
	if (v->m && model_pred(v->m, p->a) == model_pred(v->m, p->b))
		cls = cli_jstr(class_name(s, model_pred(v->m, p->a)));
	json_t *o = json_pack(
	    "{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "a", (json_int_t)p->a, "b",
	    (json_int_t)p->b, "id_a", cli_jstr(study_instance_id(s, p->a, ba, sizeof ba)), "id_b",
	    cli_jstr(study_instance_id(s, p->b, bb, sizeof bb)), "cosine", cli_json_real(p->cosine),
	    "class", cls, "label_a", cli_jstr(class_name(s, la)), "label_b",
	    cli_jstr(class_name(s, lb)), "labels_differ", la != lb);
	if (v->a->any && v->m) {
		json_object_set_new(o, "class_a", cli_jstr(class_name(s, model_pred(v->m, p->a))));
		json_object_set_new(o, "class_b", cli_jstr(class_name(s, model_pred(v->m, p->b))));
	}
	if (v->a->across) {
		json_object_set_new(o, "split_a", cli_jstr(s->splits[p->a]));
		json_object_set_new(o, "split_b", cli_jstr(s->splits[p->b]));
	}
	return o;
}

static int dups_json(const struct dups_view *v)
{
	const struct dups_result *r = v->r;
	json_t *pairs = json_array();
	for (size_t k = 0; k < r->n_pairs; k++)
		json_array_append_new(pairs, pair_json(v, &r->pairs[k]));
	json_t *left = json_pack("{s:I, s:I, s:I, s:I}", "zero", (json_int_t)r->zero, "nonfinite",
	                         (json_int_t)r->nonfinite, "no_split", (json_int_t)r->no_split,
	                         "no_image", (json_int_t)r->no_image);
	json_t *o =
	    json_pack("{s:o, s:o, s:o, s:b, s:b, s:I, s:o, s:o}", "source", cli_jstr(v->source),
	              "model", v->m ? cli_jstr(v->m->name) : json_null(), "threshold",
	              json_real(v->a->threshold), "across_splits", v->a->across, "any_class",
	              v->a->any, "count", (json_int_t)r->count, "left_out", left, "pairs", pairs);
	return cli_json_print(o);
}

int cmd_dups(int argc, char **argv)
{
	struct dups_args a = {.threshold = DUPS_DEFAULT_THRESHOLD, .top = 100};
	int rc = dups_parse(argc, argv, &a);
	if (rc >= 0)
		return rc;
	struct study *s = cli_open_study(a.study);
	if (!s)
		return EXIT_BAD_INPUT;
	const struct model *m = NULL;
	const struct layer *l = NULL;
	if (a.layer && a.model)
		l = layer_find(s, "dups", a.model, a.layer, &m);
	else if (a.layer)
		l = layer_any(s, a.layer, &m);
	rc = a.layer && !l ? EXIT_BAD_INPUT : -1;
	if (rc < 0 && a.pixels) {
		if (a.model) {
			int mi = study_model_index(s, a.model);
			if (mi < 0) {
				char msg[NN_ERR_MAX];
				snprintf(msg, sizeof msg, "no model '%s' in %s", a.model, s->name);
				rc = cli_input_error("dups", msg);
			} else {
				m = &s->models[mi];
			}
		} else if (s->n_models) {
			m = &s->models[0];
		} else if (!a.any) {
			rc = cli_input_error("dups",
			                     "the study has no model whose predicted classes "
			                     "could group the pairs (use --any-class)");
		}
	}
	if (rc < 0) {
		char *source = a.pixels ? xstrdup("pixels") : xasprintf("%s.%s", m->name, l->name);
		struct dups_opts o = {.act = l ? &l->act : NULL,
		                      .side = (int)a.side,
		                      .classes = a.any ? NULL : m,
		                      .across_splits = a.across,
		                      .threshold = a.threshold,
		                      .top = (size_t)a.top};
		linalg_init((int)a.threads);
		struct dups_result r;
		struct nn_err err = {{0}};
		struct cli_meter *meter = cli_meter_start("comparing");
		int got = dups_find(s, &o, cli_meter_prog(meter), &r, &err);
		cli_meter_stop(meter);
		if (got != 0) {
			rc = cli_input_error("dups", err.msg);
		} else {
			struct dups_view v = {&a, s, m, source, &r};
			if (a.json) {
				rc = dups_json(&v);
			} else {
				dups_text(&v);
				rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
			}
			dups_free(&r);
		}
		free(source);
	}
	study_free(s);
	return rc;
}
