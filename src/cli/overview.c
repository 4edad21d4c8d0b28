/* overview.c — `nncmp overview`: Bäuerle's label -> prediction overview of one model (overview.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nncmp/overview.h"

static const char overview_help[] =
    "usage: nncmp overview STUDY [--model M] [--json]\n"
    "\n"
    "Bauerle's label errors overview: for every label, how many of its instances the model\n"
    "predicts as another class, and as which ones. Rows by errors (most first, ties by class\n"
    "order in classes.txt), each row's cells by count (most first, ties by class order); rows\n"
    "without errors and empty cells are left out. The label is the corrected one once the\n"
    "journal is applied, and instances a decision settled (relabelled, kept, removed) are left\n"
    "out, as in the TUI's labels view (L), which shows the same rows.\n"
    "\n"
    "  --model M  the model (default: the first one, the TUI's model A)\n"
    "  --json     {\"rows\": [{\"label\", \"errors\", \"cells\": [{\"predicted\", \"count\"}]}]}\n"
    "             (with the study, model, errors and settled counts) instead of text\n"
    "  --help     this text\n";

static json_t *overview_json(const struct study *s, const struct overview *o)
{
	json_t *rows = json_array();
	for (size_t r = 0; r < o->n_rows; r++) {
		const struct overview_row *row = &o->rows[r];
		json_t *cells = json_array();
		for (size_t k = 0; k < row->n_cells; k++)
			json_array_append_new(cells,
			                      json_pack("{s:o, s:I}", "predicted",
			                                cli_jstr(s->classes[row->cells[k].pred]),
			                                "count", (json_int_t)row->cells[k].n));
		json_array_append_new(rows, json_pack("{s:o, s:I, s:o}", "label",
		                                      cli_jstr(s->classes[row->label]), "errors",
		                                      (json_int_t)row->errors, "cells", cells));
	}
	return json_pack("{s:o, s:o, s:I, s:I, s:I, s:o}", "study", cli_jstr(s->name), "model",
	                 cli_jstr(s->models[o->model].name), "n", (json_int_t)s->n, "errors",
	                 (json_int_t)o->n_errors, "settled", (json_int_t)o->n_settled, "rows",
	                 rows);
}

static void overview_text(const struct study *s, const struct overview *o)
{
	char *m = cli_safe(s->models[o->model].name);
	printf("%s: %zu of %zu instances misclassified", m, o->n_errors, s->n);
	if (o->n_settled)
		printf(" (%zu settled by decisions left out)", o->n_settled);
	printf("; per label, the predicted classes\n");
	free(m);
	if (!o->n_rows) {
		printf("no misclassified instance left\n");
		return;
	}
	int lw = 5;
	for (size_t r = 0; r < o->n_rows; r++) {
		int t = cli_text_width(s->classes[o->rows[r].label]);
		lw = t > lw ? t : lw;
	}
	lw = lw > 24 ? 24 : lw;
	const char *arrow = cli_utf8() ? "\xe2\x86\x92" : "->";
	printf("%7s  ", "errors");
	cli_print_cell("label", lw, false);
	printf("  %s predicted (count)\n", arrow);
	for (size_t r = 0; r < o->n_rows; r++) {
		const struct overview_row *row = &o->rows[r];
		printf("%7zu  ", row->errors);
		cli_print_cell(s->classes[row->label], lw, false);
		printf("  %s", arrow);
		for (size_t k = 0; k < row->n_cells; k++) {
			char *p = cli_safe(s->classes[row->cells[k].pred]);
			printf("%s %s %zu", k ? "," : "", p, row->cells[k].n);
			free(p);
		}
		printf("\n");
	}
}

int cmd_overview(int argc, char **argv)
{
	bool json = false;
	const char *model = NULL, *study_path;
	const struct cli_opt opts[] = {CLI_OPT_JSON(&json), CLI_OPT_MODEL(&model), CLI_OPT_END};
	int prc = cli_parse_args("overview", overview_help, opts, argc, argv, &study_path);
	if (prc >= 0)
		return prc;
	struct study *s = cli_open_study(study_path);
	if (!s)
		return EXIT_BAD_INPUT;
	int mi = model ? study_model_index(s, model) : 0;
	if (mi < 0) {
		char *msg = xasprintf("no model '%s' in %s", model, s->name);
		int rc = cli_input_error("overview", msg);
		free(msg);
		study_free(s);
		return rc;
	}
	struct overview ov;
	struct nn_err err = {{0}};
	int rc;
	if (overview_compute(s, (size_t)mi, NULL, &ov, &err) != 0) {
		rc = cli_input_error("overview", err.msg);
	} else if (json) {
		rc = cli_json_print(overview_json(s, &ov));
	} else {
		overview_text(s, &ov);
		rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
	}
	overview_free(&ov);
	study_free(s);
	return rc;
}
