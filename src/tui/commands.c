/*
 * commands.c — the ':' commands, one table (tmux's cmd_entry): each command's name, alias,
 * arguments, help line, completion of its argument and handler. The table drives running
 * (cmd_run), Tab completion (cmdline.c), the help screen (help.c) and the error for an unknown
 * command, so a new command is one entry here.
 */
#include "tui_int.h"
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/filter.h"

void cand_add(struct cands *c, const char *word)
{
	if (strncmp(word, c->prefix, strlen(c->prefix)) != 0)
		return;
	for (size_t i = 0; i < c->v.n; i++)
		if (strcmp(c->v.v[i], word) == 0)
			return;
	strvec_push(&c->v, xstrdup(word));
}

/* Adds pre + each model's name + post. */
static void cand_models(const struct app *app, struct cands *c, const char *pre, const char *post)
{
	for (size_t m = 0; m < app->s->n_models; m++) {
		char *w = xasprintf("%s%s%s", pre, app->s->models[m].name, post);
		cand_add(c, w);
		free(w);
	}
}

/* Layers with activations as "M.L" (with weights only too, for :layer) or "act(M.L." for :sort. */
static void cand_layers(const struct app *app, struct cands *c, bool layer)
{
	const struct study *s = app->s;
	for (size_t m = 0; m < s->n_models; m++)
		for (size_t l = 0; l < s->models[m].n_layers; l++) {
			const struct layer *ly = &s->models[m].layers[l];
			/* :layer also takes a layer with weights only (for H) */
			if (!ly->act_path && !(layer && ly->weights_path))
				continue;
			char *w = xasprintf("%s%s.%s%s", layer ? "" : "act(", s->models[m].name,
			                    ly->name, layer ? "" : ".");
			cand_add(c, w);
			free(w);
		}
}

static void complete_filter(const struct app *app, struct cands *c)
{
	for (const char *const *w = filter_words; *w; w++)
		cand_add(c, *w);
	cand_models(app, c, "", "");
	for (size_t k = 0; k < app->s->n_classes; k++) {
		char *lit = filter_class_literal(app->s, (int)k);
		cand_add(c, lit);
		free(lit);
	}
}

static void complete_sort(const struct app *app, struct cands *c)
{
	cand_layers(app, c, false);
	cand_add(c, "index");
	cand_add(c, "id");
	cand_add(c, "issue");
	cand_models(app, c, "conf(", ")");
	cand_models(app, c, "margin(", ")");
}

static void complete_models(const struct app *app, struct cands *c)
{
	cand_models(app, c, "", "");
}

static void complete_layer(const struct app *app, struct cands *c)
{
	cand_layers(app, c, true);
}

static void complete_theme(const struct app *app, struct cands *c)
{
	(void)app;
	static const char *const themes[] = {"default", "light", "colorblind", "monochrome"};
	for (size_t i = 0; i < sizeof themes / sizeof *themes; i++)
		cand_add(c, themes[i]);
}

static void complete_copy(const struct app *app, struct cands *c)
{
	for (const char *const *f = clipboard_fields(); *f; f++)
		cand_add(c, *f);
	cand_models(app, c, "", "");
}

static void complete_view(const struct app *app, struct cands *c)
{
	(void)app;
	for (size_t k = 0; view_classes[k]; k++)
		cand_add(c, view_classes[k]->name);
}

/* Skips spaces; returns the rest. */
static char *skip_ws(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static int run_quit(struct app *app, char *arg, bool bang)
{
	(void)app;
	(void)arg;
	(void)bang;
	return QUIT;
}

static int run_filter(struct app *app, char *arg, bool bang)
{
	(void)bang;
	return app_set_filter(app, arg, AGREE_CUSTOM, -1, true);
}

static int run_sort(struct app *app, char *arg, bool bang)
{
	(void)bang;
	return app_set_sort(app, *arg ? arg : "index");
}

static int run_models(struct app *app, char *arg, bool bang)
{
	(void)bang;
	char *b = arg;
	while (*b && *b != ' ' && *b != '\t')
		b++;
	if (*b)
		*b++ = '\0';
	b = skip_ws(b);
	if (!*arg || !*b) {
		app_message(app, true, ":models wants two model names, e.g. :models %.40s %.40s",
		            app->s->models[0].name,
		            app->s->models[app->s->n_models > 1 ? 1 : 0].name);
		return REDRAW_STATUS;
	}
	return app_set_models(app, arg, b);
}

static int run_theme(struct app *app, char *arg, bool bang)
{
	(void)bang;
	struct nn_err err = {{0}};
	if (!*arg) {
		app_message(app, false, "theme: %s", theme_name());
		return REDRAW_STATUS;
	}
	if (theme_load(arg, &err) != 0) {
		app_message(app, true, "%s", err.msg);
		return REDRAW_STATUS;
	}
	app->shapes = theme_needs_shapes();
	app_message(app, false, "theme %s", theme_name());
	return RELAYOUT;
}

static int run_layer(struct app *app, char *arg, bool bang)
{
	(void)bang;
	return app_set_layer(app, arg);
}

static int run_export(struct app *app, char *arg, bool bang)
{
	return triage_export(app, arg, bang);
}

static int run_rescore(struct app *app, char *arg, bool bang)
{
	(void)arg;
	(void)bang;
	return triage_rescore(app);
}

static int run_view(struct app *app, char *arg, bool bang)
{
	(void)bang;
	char *end = arg + strlen(arg);
	while (end > arg && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (!*arg) {
		app_message(app, true, ":view needs a view's name (Tab lists them)");
		return REDRAW_STATUS;
	}
	return view_open(app, arg);
}

static int run_copy(struct app *app, char *arg, bool bang)
{
	(void)bang;
	return clipboard_copy(app, arg);
}

static int run_save(struct app *app, char *arg, bool bang)
{
	(void)bang;
	return saved_cmd_save(app, arg);
}

static int run_open(struct app *app, char *arg, bool bang)
{
	(void)bang;
	return saved_cmd_open(app, arg);
}

static int run_row(struct app *app, char *arg, bool bang)
{
	(void)bang;
	return saved_cmd_row(app, arg);
}

static int run_export_report(struct app *app, char *arg, bool bang)
{
	return report_export(app, arg, bang);
}

const struct cmd_entry cmd_table[] = {
    {"filter", "f", "EXPR", "keep the instances matching EXPR (none: every instance)",
     complete_filter, run_filter, false},
    {"sort", NULL, "KEY[:asc]", "index, id, conf(M), margin(M), p(M, CLASS), act(M.L.J), issue ...",
     complete_sort, run_sort, false},
    {"models", NULL, "A B", "compare model A with model B", complete_models, run_models, false},
    {"layer", NULL, "M.L", "the neuron pane's layer (a layer with weights only: for H)",
     complete_layer, run_layer, false},
    {"theme", NULL, "NAME", "themes/NAME.ini (default, light, colorblind, monochrome)",
     complete_theme, run_theme, false},
    {"export", NULL, "PATH",
     "write the corrected labels and the decisions table (export! replaces them)", NULL, run_export,
     true},
    {"rescore", NULL, "", "recompute the label-issue scores of the review queue", NULL, run_rescore,
     false},
    {"copy", NULL, "FIELD", "copy id, index, text, image, gt, given, split or a model's prediction",
     complete_copy, run_copy, false},
    {"save", NULL, "NAME", "save the view (filter, sort, pair, layer, pane, view, rows) as NAME",
     saved_complete, run_save, false},
    {"open", NULL, "NAME", "restore the view saved as NAME", saved_complete, run_open, false},
    {"row", NULL, "[NAME =] EXPR", "add a subset row to the matrix view (-NAME removes one)",
     complete_filter, run_row, false},
    {"export-report", NULL, "PATH",
     "write the HTML report of the shown instances (export-report! replaces PATH)", NULL,
     run_export_report, true},
    {"view", NULL, "NAME", "open the view called NAME (any view, also one without a key)",
     complete_view, run_view, false},
    {"q", "quit", "", "quit", NULL, run_quit, false},
};
const size_t n_cmds = sizeof cmd_table / sizeof *cmd_table;

const struct cmd_entry *cmd_find(const char *word, bool *bang)
{
	size_t n = strlen(word);
	*bang = n > 1 && word[n - 1] == '!';
	for (size_t i = 0; i < n_cmds; i++) {
		const struct cmd_entry *c = &cmd_table[i];
		for (int k = 0; k < 2; k++) {
			const char *name = k ? c->alias : c->name;
			if (!name)
				continue;
			if (strcmp(word, name) == 0) {
				*bang = false;
				return c;
			}
			if (*bang && c->bang && strlen(name) == n - 1 &&
			    strncmp(word, name, n - 1) == 0)
				return c;
		}
	}
	return NULL;
}

bool cmd_works_unready(const char *line)
{
	char word[64];
	size_t n = 0;
	while (*line == ' ' || *line == '\t')
		line++;
	while (line[n] && line[n] != ' ' && line[n] != '\t' && n + 1 < sizeof word) {
		word[n] = line[n];
		n++;
	}
	word[n] = '\0';
	bool bang;
	const struct cmd_entry *c = n ? cmd_find(word, &bang) : NULL;
	return !c || c->run == run_quit; /* an unknown command only says so */
}

int cmd_run(struct app *app, char *line)
{
	char *p = skip_ws(line);
	char *word = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	if (*p)
		*p++ = '\0';
	char *arg = skip_ws(p);
	size_t al = strlen(arg);
	while (al && (arg[al - 1] == ' ' || arg[al - 1] == '\t'))
		arg[--al] = '\0';
	if (!*word)
		return REDRAW_STATUS;
	bool bang;
	const struct cmd_entry *c = cmd_find(word, &bang);
	if (c)
		return c->run(app, arg, bang);
	char names[256] = "";
	for (size_t i = 0, o = 0; i < n_cmds && o + 20 < sizeof names; i++)
		o += (size_t)snprintf(names + o, sizeof names - o, "%s:%s", i ? " " : "",
		                      cmd_table[i].name);
	app_message(app, true, "unknown command ':%.60s' (%s)", word, names);
	return REDRAW_STATUS;
}
