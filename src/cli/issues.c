/* issues.c — `nncmp issues`: the instances most likely mislabeled, ranked, text or JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nncmp/issues.h"
#include "nncmp/linalg.h"

static const char issues_help[] =
    "usage: nncmp issues STUDY [--method NAME] [--model M] [--top K] [--filter EXPR] [--json]\n"
    "                    [--layer M.L] [--k N] [--force]\n"
    "\n"
    "Ranks the instances by how likely their label is wrong, best suspects first, and says how\n"
    "many the method flags. Methods:\n"
    "  mix        the default when a model has probabilities: the models' probabilities and\n"
    "             the labels of each instance's k nearest neighbours (cosine) in every layer\n"
    "             with activations, combined with the weights that predict the given labels\n"
    "             with the least squared error (a weak neighbour space gets a low weight); a\n"
    "             neighbour's vote counts by its credibility, P0(its label) / max P0 under the\n"
    "             models' fitted combination P0; a layer whose vote agrees with the labels on\n"
    "             over 10 points more rows than P0 does is left out; each class's threshold t\n"
    "             is the mean P'(class) over its instances: score 1 - P'(label) / t(label);\n"
    "             flags argmax P' / t != label. Without layers (or when N^2 x their neurons is\n"
    "             over 2.5e12 multiply-adds, half a minute, without --force) it is mean. The\n"
    "             best on the mean over make bench-triage's studies.\n"
    "  mean       self-confidence on P: score 1 - P(label); flags argmax P != label\n"
    "  cl         confident learning as cleanlab 2.9's find_label_issues computes it by\n"
    "             default (prune_by_noise_rate): per-class thresholds, the calibrated\n"
    "             confident joint, pruning by noise rate; the same flagged set; ranked by\n"
    "             self-confidence, score 1 - p(label)\n"
    "  margin     score max p(other) - p(label); flags score > 0\n"
    "  iies       (max p + 1 - p(label)) / 2; flags argmax != label\n"
    "  consensus  the mean IIES over every model (a prediction-only model as a one-hot row);\n"
    "             flags a majority of models disagreeing with the label; suggests their vote;\n"
    "             the default when no model has probabilities\n"
    "  knn        the fraction of the k nearest neighbours (cosine, a layer's activations)\n"
    "             whose label differs; flags more than half; suggests their majority label\n"
    "mean, cl, margin and iies read one model (--model) or the mean of every model's\n"
    "probabilities; mix one model or every model's, weighted as above.\n"
    "\n"
    "  --method NAME  mix, mean, cl, margin, iies, consensus or knn (default: mix, or consensus\n"
    "                 when no model has probabilities)\n"
    "  --model M      use only model M (mix: and only its layers)\n"
    "  --top K        print the K best suspects (default 20): the flagged ones first, then the\n"
    "                 rest in rank order when fewer are flagged; 0 prints every flagged one\n"
    "  --filter EXPR  list only the instances that match EXPR (scores are computed over the\n"
    "                 whole study; see 'nncmp instances --help')\n"
    "  --layer M.L    knn: the layer (default: the first layer with activations); mix: only\n"
    "                 this layer (default: every layer)\n"
    "  --k N          knn, mix: neighbours (default 10)\n"
    "  --force        knn, mix: search neighbours even when N^2 x neurons is over 2.5e12\n"
    "  --json         {\"method\", \"count\", \"estimated_errors\", \"issues\": [{\"index\", "
    "\"id\",\n"
    "                 \"label\", \"suggested\", \"score\", \"flagged\"}]} (count: flagged "
    "instances\n"
    "                 that match the filter; estimated_errors: cl's calibrated confident joint\n"
    "                 off the diagonal, as cleanlab's num_label_issues, else the flagged count;\n"
    "                 mix adds \"layers_mixed\", \"layers_dropped\", \"layers_over_limit\"\n"
    "                 and \"mix_weight\" (the vote's weight); mean and mix add\n"
    "                 \"model_weights\" ({model: its weight}))\n"
    "  --help         this text\n";

struct issues_args {
	const char *study, *method, *model, *filter, *layer;
	long top, k;
	bool json, force;
};

/* Parses argv; returns -1 to go on, or an exit status. */
static int issues_parse(int argc, char **argv, struct issues_args *a)
{
	a->top = 20;
	const struct cli_opt opts[] = {
	    {.name = "method", .letter = 'm', .type = CLI_STR, .dest = &a->method},
	    {.name = "model", .letter = 'M', .type = CLI_STR, .dest = &a->model},
	    CLI_OPT_TOP(&a->top),
	    CLI_OPT_FILTER(&a->filter),
	    CLI_OPT_LAYER(&a->layer),
	    {.name = "k", .letter = 'k', .type = CLI_LONG, .dest = &a->k, .min = 1, .max = 1000},
	    {.name = "force", .letter = 'F', .type = CLI_FLAG, .dest = &a->force},
	    CLI_OPT_JSON(&a->json),
	    CLI_OPT_END};
	int rc = cli_parse_args("issues", issues_help, opts, argc, argv, &a->study);
	if (rc >= 0)
		return rc;
	if (a->method && issue_method_parse(a->method) < 0)
		return cli_usage_error(
		    "issues", "unknown method '%s' (mix, mean, cl, margin, iies, consensus, knn)",
		    a->method);
	return -1;
}

static const char *const method_titles[ISSUE_METHOD_COUNT] = {
    "confident learning",
    "margin",
    "instance interpretation error score",
    "consensus of models",
    "k nearest neighbours",
    "self-confidence on the mean probabilities",
    "models and neighbour labels, weighted by fit"};

static int issues_json(const struct study *s, const struct issue_list *l, const uint32_t *rows,
                       size_t count, size_t shown)
{
	json_t *arr = json_array();
	char buf[32];
	for (size_t r = 0; r < shown; r++) {
		uint32_t i = l->index[rows[r]];
		json_array_append_new(
		    arr,
		    json_pack("{s:I, s:o, s:o, s:o, s:o, s:b}", "index", (json_int_t)i, "id",
		              cli_jstr(study_instance_id(s, i, buf, sizeof buf)), "label",
		              cli_jstr(s->classes[s->labels[i]]), "suggested",
		              cli_jstr(s->classes[l->suggested[rows[r]]]), "score",
		              cli_json_real(l->score[rows[r]]), "flagged", rows[r] < l->count));
	}
	json_t *root = json_pack("{s:s, s:I, s:I}", "method", issue_method_name(l->method), "count",
	                         (json_int_t)count, "estimated_errors", (json_int_t)l->estimated);
	if (l->method == ISSUE_MIX) {
		json_object_set_new(root, "layers_mixed",
		                    json_integer((json_int_t)l->layers_mixed));
		json_object_set_new(root, "layers_dropped",
		                    json_integer((json_int_t)l->layers_dropped));
		json_object_set_new(root, "layers_over_limit",
		                    json_integer((json_int_t)l->layers_over_limit));
		json_object_set_new(root, "mix_weight", cli_json_real(l->mix_weight));
	}
	if (l->model_weights) {
		json_t *mw = json_object();
		for (size_t q = 0; q < s->n_models; q++)
			if (!isnan(l->model_weights[q]))
				json_object_set_new(mw, s->models[q].name,
				                    cli_json_real(l->model_weights[q]));
		json_object_set_new(root, "model_weights", mw);
	}
	json_object_set_new(root, "issues", arr);
	return cli_json_print(root);
}

static void issues_text(const struct study *s, const struct issue_list *l, const uint32_t *rows,
                        size_t count, size_t shown, const char *model, const char *filter)
{
	char *m = model ? cli_safe(model) : NULL;
	printf("method %s (%s%s%s", issue_method_name(l->method), method_titles[l->method],
	       m ? ", model " : "", m ? m : "");
	if (l->method == ISSUE_MIX)
		printf(", %zu layer%s", l->layers_mixed, cli_plural(l->layers_mixed));
	if (l->method == ISSUE_MIX && l->layers_mixed) {
		printf(", vote weight %.2f, model weights", l->mix_weight);
		for (size_t q = 0; q < s->n_models; q++)
			if (!isnan(l->model_weights[q])) {
				char *name = cli_safe(s->models[q].name);
				printf(" %s %.2f", name, l->model_weights[q]);
				free(name);
			}
	}
	if (l->method == ISSUE_MIX && l->layers_dropped)
		printf(", %zu left out by the guard", l->layers_dropped);
	if (l->method == ISSUE_MIX && l->layers_over_limit)
		printf(", %zu left out: N² × neurons over %.2g multiply-adds, --force uses them",
		       l->layers_over_limit, ISSUES_KNN_MAX_WORK);
	printf("): ");
	if (filter)
		printf("%zu flagged instance%s match%s the filter", count, cli_plural(count),
		       count == 1 ? "es" : "");
	else
		printf("%zu of %zu instance%s flagged", count, s->n, cli_plural(s->n));
	free(m);
	if (shown < count)
		printf("; the first %zu", shown);
	else if (shown > count)
		printf("; then the best %zu unflagged", shown - count);
	printf("\n");
	if (!shown)
		return;
	int idw = 2, cw = 5;
	char buf[32];
	for (size_t r = 0; r < shown; r++) {
		uint32_t i = l->index[rows[r]];
		int w = cli_text_width(study_instance_id(s, i, buf, sizeof buf));
		idw = w > idw ? w : idw;
	}
	for (size_t j = 0; j < s->n_classes; j++) {
		int w = cli_text_width(s->classes[j]);
		cw = w > cw ? w : cw;
	}
	idw = idw > 24 ? 24 : idw;
	cw = cw > 9 ? (cw > 20 ? 20 : cw) : 9;
	printf("%5s %7s  ", "rank", "index");
	cli_print_cell("id", idw, false);
	printf("  ");
	cli_print_cell("label", cw, false);
	printf("  ");
	cli_print_cell("suggested", cw, false);
	printf("  %8s  %s\n", "score", "flagged");
	for (size_t r = 0; r < shown; r++) {
		uint32_t i = l->index[rows[r]];
		printf("%5zu %7u  ", r + 1, i);
		cli_print_cell(study_instance_id(s, i, buf, sizeof buf), idw, false);
		printf("  ");
		cli_print_cell(s->classes[s->labels[i]], cw, false);
		printf("  ");
		cli_print_cell(s->classes[l->suggested[rows[r]]], cw, false);
		printf("  %8.4f  %s\n", l->score[rows[r]], rows[r] < l->count ? "yes" : "no");
	}
}

int cmd_issues(int argc, char **argv)
{
	struct issues_args a = {0};
	int rc = issues_parse(argc, argv, &a);
	if (rc >= 0)
		return rc;
	/* the methods read the probabilities again: the derivation maps them for those passes */
	struct study *s = cli_open_study_ex(a.study, STUDY_PROBS_AGAIN);
	if (!s)
		return EXIT_BAD_INPUT;
	struct issue_opts o = {.model = -1, .layer = a.layer, .k = (size_t)a.k, .force = a.force};
	/* decided instances leave the ranking, as they leave the TUI's review queue */
	uint8_t *decided = study_decided_mask(s);
	o.exclude = decided;
	/* without a filter only the flagged entries and the first --top are printed: rank the
	 * others by a selection (with a filter, the top K of the matching ones need them all) */
	if (!a.filter) {
		o.partial = true;
		o.rank_rest = (size_t)a.top;
	}
	enum issue_method meth =
	    a.method ? (enum issue_method)issue_method_parse(a.method) : issue_method_default(s);
	uint32_t *sel = NULL, *rows = NULL;
	size_t nsel = 0;
	struct issue_list l = {0};
	if (a.model && (o.model = study_model_index(s, a.model)) < 0) {
		char *msg = xasprintf("no model '%s' in %s", a.model, s->name);
		rc = cli_input_error("issues", msg);
		free(msg);
		goto out;
	}
	/* only a filter needs the matching instances (N indices) */
	if (a.filter && (rc = cli_select("issues", s, a.filter, &sel, &nsel)) != EXIT_OK)
		goto out;
	if (meth == ISSUE_KNN || meth == ISSUE_MIX)
		linalg_init(0);
	struct nn_err err = {{0}};
	struct cli_meter *meter = cli_meter_start("scoring label issues");
	int r = issues_rank(s, meth, &o, cli_meter_prog(meter), &l, &err);
	cli_meter_stop(meter);
	if (r < 0) {
		rc = cli_input_error("issues", err.msg);
		goto out;
	}
	/* the entries that match the filter in rank order: the flagged ones first */
	uint8_t *match = NULL;
	if (a.filter) {
		match = xcalloc(s->n ? s->n : 1, 1);
		for (size_t k = 0; k < nsel; k++)
			match[sel[k]] = 1;
	}
	size_t count = l.count, nrows = l.n;
	if (match) {
		rows = xmalloc((l.n ? l.n : 1) * sizeof *rows);
		count = nrows = 0;
		for (size_t r2 = 0; r2 < l.n; r2++)
			if (match[l.index[r2]]) {
				rows[nrows++] = (uint32_t)r2;
				count += r2 < l.count;
			}
	}
	free(match);
	size_t shown = a.top == 0 ? count : (size_t)a.top > nrows ? nrows : (size_t)a.top;
	if (!rows) { /* every entry matches: only the rows shown, in rank order */
		rows = xmalloc((shown ? shown : 1) * sizeof *rows);
		for (size_t r2 = 0; r2 < shown; r2++)
			rows[r2] = (uint32_t)r2;
	}
	if (a.json)
		rc = issues_json(s, &l, rows, count, shown);
	else {
		issues_text(s, &l, rows, count, shown, a.model, a.filter);
		rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
	}
out:
	issue_list_free(&l);
	free(decided);
	free(rows);
	free(sel);
	study_free(s);
	return rc;
}
