/* classes.c — `nncmp classes`: how far apart each model holds the classes (VAC-CNN). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nncmp/classdist.h"

static const char classes_help[] =
    "usage: nncmp classes STUDY [--model M] [--top K] [--json]\n"
    "\n"
    "Class distance after VAC-CNN's Algorithm 1, from each model's probabilities (a\n"
    "prediction-only model as one-hot rows): D[i][j] = the mean of 1 - P[j] over the instances\n"
    "labelled i, symmetrised as (D + D^T)/2, 0 on the diagonal. Printed as a matrix with the\n"
    "classes in the order of their first MDS coordinate (near classes side by side), the 2-D\n"
    "layout by classical MDS of D, and the K class pairs the model separates least.\n"
    "\n"
    "  --model M  only model M (JSON: that model's object alone)\n"
    "  --top K    closest pairs to list (default 5, 0 for all)\n"
    "  --json     one JSON object on stdout instead of text\n"
    "  --help     this text\n";

static json_t *classes_json(const struct study *s, size_t m, const struct class_dist *cd,
                            size_t top)
{
	size_t c = cd->c;
	json_t *names = json_array(), *dist = json_array(), *order = json_array(),
	       *layout = json_array(), *closest = json_array(), *support = json_array();
	for (size_t i = 0; i < c; i++) {
		json_array_append_new(names, cli_jstr(s->classes[i]));
		json_t *row = json_array();
		for (size_t j = 0; j < c; j++)
			json_array_append_new(row, cli_json_real(cd->d[i * c + j]));
		json_array_append_new(dist, row);
		json_array_append_new(order, json_integer((json_int_t)cd->order[i]));
		json_array_append_new(layout, json_pack("[o, o]", cli_json_real(cd->layout[i * 2]),
		                                        cli_json_real(cd->layout[i * 2 + 1])));
		json_array_append_new(support, json_integer((json_int_t)cd->support[i]));
	}
	for (size_t k = 0; k < top && k < cd->n_pairs; k++) {
		const struct class_pair *p = &cd->pairs[k];
		json_array_append_new(closest, json_pack("{s:I, s:I, s:o, s:o, s:o}", "i",
		                                         (json_int_t)p->i, "j", (json_int_t)p->j,
		                                         "a", cli_jstr(s->classes[p->i]), "b",
		                                         cli_jstr(s->classes[p->j]), "distance",
		                                         cli_json_real(p->d)));
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "model",
	                 cli_jstr(s->models[m].name), "classes", names, "support", support,
	                 "distance", dist, "order", order, "layout", layout, "closest", closest);
}

static void classes_text(const struct study *s, size_t m, const struct class_dist *cd, size_t top)
{
	size_t c = cd->c;
	char *mname = cli_safe(s->models[m].name);
	char **names = xcalloc(c ? c : 1, sizeof *names);
	int w = 5;
	for (size_t i = 0; i < c; i++) {
		names[i] = cli_safe(s->classes[i]);
		int l = cli_text_width(s->classes[i]);
		w = l > w ? l : w;
	}
	if (w > 24)
		w = 24;
	printf("class distance of %s (rows and columns in layout order)\n", mname);
	if (c <= 30) {
		printf("%*s", w, "");
		for (size_t a = 0; a < c; a++) {
			printf(" ");
			cli_print_cell(s->classes[cd->order[a]], 6, true);
		}
		printf("\n");
		for (size_t a = 0; a < c; a++) {
			cli_print_cell(s->classes[cd->order[a]], w, false);
			for (size_t b = 0; b < c; b++)
				printf(" %6.3f", cd->d[cd->order[a] * c + cd->order[b]]);
			printf("\n");
		}
	} else {
		printf("(the %zu x %zu matrix: see --json)\n", c, c);
	}
	printf("\nlayout (classical MDS of the distances)\n");
	for (size_t a = 0; a < c; a++) {
		size_t i = cd->order[a];
		cli_print_cell(s->classes[i], w, false);
		printf(" %9.4f %9.4f  (%lld instance%s)\n", cd->layout[i * 2],
		       cd->layout[i * 2 + 1], (long long)cd->support[i],
		       cli_plural((size_t)cd->support[i]));
	}
	printf("\nclosest pairs\n");
	for (size_t k = 0; k < top && k < cd->n_pairs; k++) {
		const struct class_pair *p = &cd->pairs[k];
		printf("  %.4f  %s - %s\n", p->d, names[p->i], names[p->j]);
	}
	for (size_t i = 0; i < c; i++)
		free(names[i]);
	free(names);
	free(mname);
}

int cmd_classes(int argc, char **argv)
{
	bool json = false;
	const char *model = NULL, *study_path;
	long top = 5;
	const struct cli_opt opts[] = {CLI_OPT_JSON(&json), CLI_OPT_MODEL(&model),
	                               CLI_OPT_TOP(&top), CLI_OPT_END};
	int prc = cli_parse_args("classes", classes_help, opts, argc, argv, &study_path);
	if (prc >= 0)
		return prc;
	struct study *s = cli_open_study(study_path);
	if (!s)
		return EXIT_BAD_INPUT;
	int mi = -1;
	if (model && (mi = study_model_index(s, model)) < 0) {
		char *msg = xasprintf("no model '%s' in %s", model, s->name);
		int rc = cli_input_error("classes", msg);
		free(msg);
		study_free(s);
		return rc;
	}
	size_t ntop = top == 0 ? SIZE_MAX : (size_t)top;
	int rc = EXIT_OK;
	json_t *all = json_array();
	for (size_t m = 0; m < s->n_models && rc == EXIT_OK; m++) {
		if (mi >= 0 && m != (size_t)mi)
			continue;
		struct class_dist cd;
		struct nn_err err = {{0}};
		if (class_dist_compute(s, m, &cd, &err) < 0) {
			char *msg = cli_safe(err.msg);
			fprintf(stderr, "nncmp classes: %s\n", msg);
			free(msg);
			rc = EXIT_INTERNAL;
			break;
		}
		if (json) {
			json_array_append_new(all, classes_json(s, m, &cd, ntop));
		} else {
			if (m > 0 && mi < 0)
				printf("\n");
			classes_text(s, m, &cd, ntop);
		}
		class_dist_free(&cd);
	}
	if (rc == EXIT_OK && json) {
		if (mi >= 0) {
			json_t *one = json_incref(json_array_get(all, 0));
			rc = cli_json_print(one);
		} else {
			rc = cli_json_print(
			    json_pack("{s:o, s:O}", "study", cli_jstr(s->name), "models", all));
		}
	} else if (rc == EXIT_OK) {
		rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
	}
	json_decref(all);
	study_free(s);
	return rc;
}
