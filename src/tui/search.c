/*
 * search.c — `/` search in the list in focus (n and N repeat it) and the choice of the neuron
 * pane's layer (:layer, and the layer-next action).
 *
 * Each pane and view says what its rows match (pane_class / view_class match; search_has()
 * is the rule: a case-insensitive substring of what the row names). The search runs in the open
 * view when it has one, else in the focused pane.
 */
#include "tui_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nncmp/text.h"
#include "views.h"
#include "worker.h"

bool search_has(const char *hay, const char *needle)
{
	if (!hay)
		return false;
	size_t nl = strlen(needle);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, nl) == 0)
			return true;
	return nl == 0;
}

/* The list in focus: the open view's (when it has a search), else the focused pane's. */
struct target {
	struct view_nav *nav;
	size_t n;
	const struct pane_class *pc;
	const struct view_class *vc;
	const void *ctx;
};

static bool target_match(const struct app *app, const struct target *t, size_t row,
                         const char *text)
{
	return t->vc ? t->vc->match(app, t->ctx, row, text) : t->pc->match(app, row, text);
}

/* Instance tables longer than this are searched on the worker: a search that finds nothing
 * reads every row (0.87 s at 4M on the UI thread). */
#ifndef SEARCH_SYNC_MAX
#define SEARCH_SYNC_MAX 100000
#endif

/* A search of the instance table on the worker, over a copy of the selection. */
struct search_job {
	const struct study *s;
	uint32_t *sel;
	size_t n, cur;
	int dir;
	char *text;
	uint64_t gen; /* app->sel_gen when it started */
	size_t found; /* the row, or SIZE_MAX */
};

static int search_job_run(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	struct search_job *j = ctx;
	j->found = SIZE_MAX;
	if (worker_test_delay(prog) != 0)
		return nn_err_set(err, "cancelled");
	atomic_store(&prog->total, j->n);
	for (size_t k = 1; k <= j->n; k++) {
		if (k % 65536 == 0) {
			if (atomic_load(&prog->cancel))
				return nn_err_set(err, "cancelled");
			atomic_store(&prog->done, k);
		}
		size_t row = j->dir > 0 ? (j->cur + k) % j->n : (j->cur + j->n - k % j->n) % j->n;
		if (instance_matches(j->s, j->sel[row], j->text)) {
			j->found = row;
			break;
		}
	}
	return 0;
}

static int search_job_done(struct app *app, void *ctx, int rc, const struct nn_err *err)
{
	(void)err;
	struct search_job *j = ctx;
	if (rc != 0)
		return 0;
	if (j->gen != app->sel_gen || app->view) { /* the table changed, or a view covers it */
		app_message(app, false,
		            "the instance table changed during the search: search again");
		return REDRAW_STATUS;
	}
	if (j->found == SIZE_MAX) {
		app_message(app, true, "not found in this pane: %.200s", j->text);
		return REDRAW_STATUS;
	}
	app->panes[PANE_INSTANCES].nav.cur = j->found;
	if (j->dir > 0 ? j->found <= j->cur : j->found >= j->cur)
		app_message(app, false, "search wrapped around");
	return pane_moved(PANE_INSTANCES) | REDRAW_STATUS;
}

static void search_job_free(void *ctx)
{
	struct search_job *j = ctx;
	free(j->sel);
	free(j->text);
	free(j);
}

/* Starts a search of the instance table on the worker; reaction flags. */
static int search_submit(struct app *app, const char *text, int dir)
{
	struct search_job *j = xcalloc(1, sizeof *j);
	j->s = app->s;
	j->n = app->n_sel;
	j->sel = xreallocarray(NULL, app->n_sel, sizeof *j->sel);
	memcpy(j->sel, app->sel, app->n_sel * sizeof *j->sel);
	j->cur = app->panes[PANE_INSTANCES].nav.cur;
	j->dir = dir;
	j->text = xstrdup(text);
	j->gen = app->sel_gen;
	struct job job = {.tag = JOB_SEARCH,
	                  .ctx = j,
	                  .run = search_job_run,
	                  .done = search_job_done,
	                  .free = search_job_free};
	snprintf(job.what, sizeof job.what, "searching %zu instances", app->n_sel);
	worker_submit(app->worker, &job);
	return REDRAW_STATUS;
}

int search_run(struct app *app, const char *text, int dir)
{
	if (!text || !*text) {
		app_message(app, true, "no search yet: / starts one");
		return REDRAW_STATUS;
	}
	struct target t = {0};
	if (app->view) {
		if (!app->view_ready || !app->view->match || !app->view->rows) {
			app_message(app, true, "this view has no search");
			return REDRAW_STATUS;
		}
		t.vc = app->view;
		t.ctx = view_ctx(app);
		t.nav = &app->nav;
		t.n = app->view->rows(t.ctx);
	} else {
		t.pc = pane_classes[app->focus];
		t.nav = &app->panes[app->focus].nav;
		t.n = t.pc->match ? pane_rows(app, app->focus) : 0;
		if (app->focus == PANE_INSTANCES && app->worker &&
		    (t.n > SEARCH_SYNC_MAX || worker_test_delayed()))
			return search_submit(app, text, dir);
	}
	size_t cur = t.nav->cur;
	for (size_t k = 1; k <= t.n; k++) {
		size_t row = dir > 0 ? (cur + k) % t.n : (cur + t.n - k % t.n) % t.n;
		if (!target_match(app, &t, row, text))
			continue;
		t.nav->cur = row;
		bool wrapped = dir > 0 ? row <= cur : row >= cur;
		if (wrapped)
			app_message(app, false, "search wrapped around");
		return (app->view ? REDRAW_VIEW : REDRAW_PANE) | REDRAW_STATUS;
	}
	app_message(app, true, "not found in this %s: %.200s", app->view ? "view" : "pane", text);
	return REDRAW_STATUS;
}

int app_set_layer(struct app *app, const char *spec)
{
	const struct study *s = app->s;
	if (!spec || !*spec) {
		if (app->lm < 0)
			app_message(app, false, "the study has no layer with activations");
		else
			app_message(app, false, "layer %s.%s", s->models[app->lm].name,
			            s->models[app->lm].layers[app->ll].name);
		return REDRAW_STATUS;
	}
	/* model names may hold dots: try every split at a dot */
	for (const char *dot = strchr(spec, '.'); dot; dot = strchr(dot + 1, '.')) {
		char *mname = xstrndup(spec, (size_t)(dot - spec));
		int m = study_model_index(s, mname);
		free(mname);
		if (m < 0)
			continue;
		int l = study_layer_index(&s->models[m], dot + 1);
		if (l < 0)
			continue;
		const struct layer *ly = &s->models[m].layers[l];
		if (!ly->act_path && ly->weights_path) {
			/* weights only: the layer of the weights view; the neuron pane keeps its
			 * own */
			app->wm = m;
			app->wl = l;
			char *safe = text_sanitize(spec, !app->utf8);
			app_message(app, false,
			            "%.200s has weights only: H shows them (the neuron pane needs "
			            "activations)",
			            safe);
			free(safe);
			if (app->view == &view_weights)
				return view_open(app, "weights");
			return REDRAW_STATUS;
		}
		if (!ly->act_path)
			continue;
		app->wm = app->wl = -1; /* H follows the neuron pane's layer again */
		app->km = app->kl = -1; /* and K */
		app->lm = m;
		app->ll = l;
		app->panes[PANE_NEURONS].nav.cur = app->panes[PANE_NEURONS].nav.top = 0;
		neurons_request(app);
		return REDRAW_ONE(PANE_NEURONS) | REDRAW_ONE(PANE_DETAIL) | REDRAW_STATUS;
	}
	app_message(app, true, "no layer with activations or weights called %.200s (MODEL.LAYER)",
	            spec);
	return REDRAW_STATUS;
}
