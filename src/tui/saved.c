/*
 * saved.c — views that last: :save NAME and :open NAME (viewfile.h's views.ini), nncmp STUDY
 * --view NAME, the state left at quit restored at the next start, and the subset rows of the
 * matrix view (:row), which a saved view keeps.
 *
 * Applying a view sets each part it names through the same state changes the keys use
 * (app_set_models, app_set_layer, app_set_filter, app_set_sort, view_open); a part the study
 * does not accept (a model renamed since, a filter that no longer compiles) is left as it is and
 * named on the message line, all of them on one line.
 */
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/filter.h"
#include "nncmp/text.h"
#include "nncmp/tui.h"
#include "nncmp/viewfile.h"

struct saved {
	struct view_book book;
	char *path; /* where :save writes */
	char *alt;  /* the study's own views.ini, read first, when path is the state file */
	char *last; /* the state file, where quit writes [~last] (NULL without a home) */
	struct saved_row *rows; /* the matrix's subset rows */
	size_t n_rows;
	int matrix_mode; /* the matrix's rows: 0 classes, 1 outcomes, 2 the rows above */
	char *pending;   /* a view to open once the screen is up */
};

static const char *start_view; /* --view NAME, borrowed from argv */

void tui_set_view(const char *name)
{
	start_view = name;
}

static struct saved *saved_of(struct app *app)
{
	if (!app->saved)
		app->saved = xcalloc(1, sizeof *app->saved);
	return app->saved;
}

const struct saved_row *saved_rows(const struct app *app, size_t *n)
{
	*n = app->saved ? app->saved->n_rows : 0;
	return app->saved ? app->saved->rows : NULL;
}

int *saved_matrix_mode(struct app *app)
{
	return &saved_of(app)->matrix_mode;
}

static void rows_clear(struct saved *sv)
{
	for (size_t r = 0; r < sv->n_rows; r++) {
		free(sv->rows[r].name);
		free(sv->rows[r].expr);
	}
	free(sv->rows);
	sv->rows = NULL;
	sv->n_rows = 0;
}

void saved_free(struct app *app)
{
	struct saved *sv = app->saved;
	if (!sv)
		return;
	viewbook_free(&sv->book);
	rows_clear(sv);
	free(sv->path);
	free(sv->alt);
	free(sv->last);
	free(sv->pending);
	free(sv);
	app->saved = NULL;
}

/* The state of the app as a view called name (the strings borrowed from the app). */
static void capture(struct app *app, const char *name, struct saved_view *v, char *layer,
                    size_t size)
{
	const struct study *s = app->s;
	memset(v, 0, sizeof *v);
	v->name = (char *)name;
	v->filter = app->filter;
	v->sort = app->sort_key;
	v->model_a = s->models[app->a].name;
	v->model_b = s->models[app->b].name;
	if (app->lm >= 0) {
		snprintf(layer, size, "%s.%s", s->models[app->lm].name,
		         s->models[app->lm].layers[app->ll].name);
		v->layer = layer;
	}
	v->focus = (char *)pane_classes[app->focus]->name;
	v->open = app->view ? (char *)app->view->name : NULL;
	v->rows = app->saved ? app->saved->rows : NULL;
	v->n_rows = app->saved ? app->saved->n_rows : 0;
}

/* Adds "what: the message line" to bad after a state change that failed. */
static void note(struct app *app, char *bad, size_t size, const char *what, int rc, int ok)
{
	if (rc & ok)
		return;
	size_t o = strlen(bad);
	if (o + 8 < size)
		snprintf(bad + o, size - o, "%s%s: %.120s", o ? "; " : "", what, app->msg);
}

/* Applies v (the view itself later, with the screen up, when now is false); returns flags. */
static int apply(struct app *app, const struct saved_view *v, bool now)
{
	struct saved *sv = saved_of(app);
	char bad[NN_ERR_MAX] = "";
	int rc = 0, r;
	if (v->model_a && v->model_b) {
		r = app_set_models(app, v->model_a, v->model_b);
		note(app, bad, sizeof bad, "models", r, RECOMPUTE);
		rc |= r;
	}
	if (v->layer) {
		r = app_set_layer(app, v->layer);
		note(app, bad, sizeof bad, "layer", r, ~REDRAW_STATUS);
		rc |= r;
	}
	if (v->filter) {
		r = app_set_filter(app, v->filter, AGREE_CUSTOM, -1, true);
		note(app, bad, sizeof bad, "filter", r, RECOMPUTE);
		rc |= r;
	}
	if (v->sort) {
		r = app_set_sort(app, v->sort);
		note(app, bad, sizeof bad, "sort", r, REDRAW_ONE(PANE_INSTANCES));
		rc |= r;
	}
	if (v->focus) {
		int p = -1;
		for (int k = 0; k < PANE_COUNT; k++)
			if (strcmp(pane_classes[k]->name, v->focus) == 0)
				p = k;
		if (p >= 0) {
			app->focus = (enum pane_id)p;
			rc |= REDRAW_ALL;
		} else {
			app_message(app, true, "no pane called '%.40s'", v->focus);
			note(app, bad, sizeof bad, "focus", 0, 1);
		}
	}
	rows_clear(sv);
	for (size_t k = 0; k < v->n_rows; k++) {
		struct nn_err err = {{0}};
		size_t col = 0;
		struct expr *e = expr_compile_condition(app->s, v->rows[k].expr, &err, &col);
		if (!e) {
			app_message(app, true, "%s", err.msg);
			note(app, bad, sizeof bad, v->rows[k].name, 0, 1);
			continue;
		}
		expr_free(e);
		sv->rows = xreallocarray(sv->rows, sv->n_rows + 1, sizeof *sv->rows);
		sv->rows[sv->n_rows].name = xstrdup(v->rows[k].name);
		sv->rows[sv->n_rows++].expr = xstrdup(v->rows[k].expr);
	}
	sv->matrix_mode = sv->n_rows ? 2 : 0;
	free(sv->pending);
	sv->pending = NULL;
	if (v->open && now) {
		r = view_open(app, v->open);
		note(app, bad, sizeof bad, "view", r, ~REDRAW_STATUS);
		rc |= r;
	} else if (v->open) {
		sv->pending = xstrdup(v->open);
	} else if (app->view && now) {
		rc |= view_close(app);
	}
	bool last = strcmp(v->name, VIEW_LAST) == 0;
	if (bad[0])
		app_message(app, true, "%s%.40s, ignored: %s",
		            last ? "the last session's view" : "view ", last ? "" : v->name, bad);
	else if (last)
		app_message(app, false,
		            "the view of the last session (:open NAME for a saved one)");
	else
		app_message(app, false, "view %.40s", v->name);
	return rc | RECOMPUTE | REDRAW_ALL | REDRAW_STATUS;
}

/* Reads the book: the study's views.ini, the state file where :save writes when the study
 * cannot be written, and the state file's [~last]. Problems go to stderr before the screen is up
 * (the message line would be overwritten) and to the message line after. */
static void book_load(struct app *app)
{
	struct saved *sv = saved_of(app);
	if (sv->path)
		return;
	sv->path = viewbook_path(app->s->root, &sv->alt);
	sv->last = state_path_keyed("views", app->s->root, ".ini");
	const char *files[] = {sv->alt, sv->path,
	                       sv->last && strcmp(sv->last, sv->path) != 0 ? sv->last : NULL};
	for (size_t k = 0; k < 3; k++) {
		struct nn_err err = {{0}};
		if (files[k] && viewbook_load(&sv->book, files[k], &err) != 0)
			app_message(app, true, "%s", err.msg);
	}
}

bool saved_check_start(struct app *app)
{
	book_load(app);
	if (!start_view || viewbook_find(&app->saved->book, start_view))
		return true;
	char *m = text_sanitize(start_view, true);
	fprintf(stderr, "nncmp: --view %s: no such view in %s\n", m, app->saved->path);
	free(m);
	return false;
}

void saved_start(struct app *app)
{
	book_load(app);
	const char *restore = getenv("NNCMP_RESTORE"); /* 0: scripts and tests start afresh */
	if (!start_view && restore && strcmp(restore, "0") == 0)
		return;
	const struct saved_view *v =
	    viewbook_find(&app->saved->book, start_view ? start_view : VIEW_LAST);
	if (v) {
		char keep[sizeof app->msg];
		bool err = app->msg[0] && app->msg_error;
		memcpy(keep, app->msg, sizeof keep);
		apply(app, v, false);
		if (err && !app->msg_error) /* views.ini's own problems stay on the line */
			memcpy(app->msg, keep, sizeof keep);
	}
}

int saved_open_pending(struct app *app)
{
	struct saved *sv = app->saved;
	if (!sv || !sv->pending)
		return 0;
	char *name = sv->pending;
	sv->pending = NULL;
	int rc = view_open(app, name);
	free(name);
	return rc;
}

/*
 * Stores the state as name in its file (the state file for [~last]), read afresh so that what
 * another session saved meanwhile stays; a file that cannot be read is not replaced. Returns 0,
 * or -1 with err set.
 */
static int store(struct app *app, const char *name, struct nn_err *err)
{
	struct saved *sv = saved_of(app);
	book_load(app);
	const char *target = strcmp(name, VIEW_LAST) == 0 ? sv->last : sv->path;
	if (!target)
		return nn_err_set(err, "no home directory for the state file");
	struct saved_view v;
	char layer[512];
	capture(app, name, &v, layer, sizeof layer);
	struct view_book fresh = {0};
	int rc = viewbook_load(&fresh, target, err);
	if (rc != 0 && !strstr(err->msg, "(ignored)")) {
		viewbook_free(&fresh);
		return -1; /* unreadable: left alone */
	}
	viewbook_put(&fresh, &v);
	rc = viewbook_save(&fresh, target, err);
	viewbook_free(&fresh);
	if (rc == 0)
		viewbook_put(&sv->book, &v);
	return rc;
}

void saved_quit(struct app *app)
{
	struct nn_err err = {{0}};
	store(app, VIEW_LAST, &err); /* quitting: nowhere to say it failed */
}

int saved_cmd_save(struct app *app, char *arg)
{
	if (!viewbook_name_ok(arg)) {
		app_message(app, true,
		            ":save wants a name of letters, digits, _ . or - (40 at most), e.g. "
		            ":save errors");
		return REDRAW_STATUS;
	}
	struct nn_err err = {{0}};
	if (store(app, arg, &err) != 0)
		app_message(app, true, "%s", err.msg);
	else
		app_message(app, false, "saved view %s in %.200s", arg, app->saved->path);
	return REDRAW_STATUS;
}

int saved_cmd_open(struct app *app, char *arg)
{
	book_load(app);
	const struct saved_view *v = *arg ? viewbook_find(&app->saved->book, arg) : NULL;
	if (!v) {
		char names[300] = "";
		for (size_t i = 0, o = 0; i < app->saved->book.n && o + 44 < sizeof names; i++)
			if (strcmp(app->saved->book.v[i].name, VIEW_LAST) != 0)
				o += (size_t)snprintf(names + o, sizeof names - o, "%s%s",
				                      o ? " " : "", app->saved->book.v[i].name);
		app_message(app, true, "%s%.40s (saved: %s)",
		            *arg ? "no saved view " : ":open NAME", arg,
		            names[0] ? names : "none yet; :save NAME");
		return REDRAW_STATUS;
	}
	return apply(app, v, true);
}

void saved_complete(const struct app *app, struct cands *c)
{
	if (!app->saved)
		return;
	for (size_t i = 0; i < app->saved->book.n; i++)
		if (strcmp(app->saved->book.v[i].name, VIEW_LAST) != 0)
			cand_add(c, app->saved->book.v[i].name);
}

/* ---- :row ---- */

/* The name of a "NAME = EXPR" argument (length in *n), or false when arg is an expression. */
static bool row_named(const struct app *app, const char *arg, size_t *n, const char **expr)
{
	size_t k = 0;
	while (arg[k] && arg[k] != ' ' && arg[k] != '\t' && arg[k] != '=')
		k++;
	const char *p = arg + k;
	while (*p == ' ' || *p == '\t')
		p++;
	if (k == 0 || *p != '=' || p[1] == '=')
		return false;
	char *name = xstrndup(arg, k);
	bool ok = viewbook_name_ok(name);
	free(name);
	const char *e = p + 1;
	while (*e == ' ' || *e == '\t')
		e++;
	struct nn_err err = {{0}};
	size_t col = 0;
	struct expr *x = ok && *e ? expr_compile_condition(app->s, e, &err, &col) : NULL;
	expr_free(x);
	*n = k;
	*expr = e;
	return x != NULL;
}

/* Reopens the matrix on its rows when it is open (its means are computed when it opens). */
static int matrix_again(struct app *app, bool rows)
{
	struct saved *sv = saved_of(app);
	if (rows)
		sv->matrix_mode = 2;
	else if (sv->matrix_mode == 2 && !sv->n_rows)
		sv->matrix_mode = 0;
	return app->view && strcmp(app->view->name, "matrix") == 0 ? view_open(app, "matrix") : 0;
}

int saved_row_remove(struct app *app, const char *name)
{
	struct saved *sv = saved_of(app);
	for (size_t r = 0; r < sv->n_rows; r++)
		if (strcmp(sv->rows[r].name, name) == 0) {
			app_message(app, false, "row %.40s removed", name);
			free(sv->rows[r].name);
			free(sv->rows[r].expr);
			memmove(&sv->rows[r], &sv->rows[r + 1],
			        (sv->n_rows - r - 1) * sizeof *sv->rows);
			sv->n_rows--;
			return matrix_again(app, false) | REDRAW_STATUS;
		}
	app_message(app, true, "no row called '%.40s'", name);
	return REDRAW_STATUS;
}

int saved_cmd_row(struct app *app, char *arg)
{
	struct saved *sv = saved_of(app);
	if (!*arg) {
		char list[400] = "";
		for (size_t r = 0, o = 0; r < sv->n_rows && o + 60 < sizeof list; r++)
			o += (size_t)snprintf(list + o, sizeof list - o, "%s%s = %.40s",
			                      r ? "; " : "", sv->rows[r].name, sv->rows[r].expr);
		app_message(app, false, "%s", list[0] ? list : ":row [NAME =] EXPR adds a row");
		return REDRAW_STATUS;
	}
	if (arg[0] == '-')
		return saved_row_remove(app, arg + 1);
	size_t nl = 0;
	const char *expr = arg;
	char name[48];
	if (row_named(app, arg, &nl, &expr)) {
		snprintf(name, sizeof name, "%.*s", (int)nl, arg);
	} else {
		expr = arg;
		for (unsigned k = 1;; k++) {
			snprintf(name, sizeof name, "row%u", k);
			bool used = false;
			for (size_t r = 0; r < sv->n_rows; r++)
				used |= strcmp(sv->rows[r].name, name) == 0;
			if (!used)
				break;
		}
	}
	struct nn_err err = {{0}};
	size_t col = 0;
	struct expr *e = expr_compile_condition(app->s, expr, &err, &col);
	if (!e) {
		app_message(app, true, "%s", err.msg);
		return REDRAW_STATUS;
	}
	expr_free(e);
	size_t r = 0;
	while (r < sv->n_rows && strcmp(sv->rows[r].name, name) != 0)
		r++;
	if (r == sv->n_rows) {
		sv->rows = xreallocarray(sv->rows, sv->n_rows + 1, sizeof *sv->rows);
		sv->rows[sv->n_rows++].name = xstrdup(name);
	} else {
		free(sv->rows[r].expr);
	}
	sv->rows[r].expr = xstrdup(expr);
	app_message(app, false, "row %s = %.200s", name, expr);
	return matrix_again(app, true) | REDRAW_STATUS;
}
