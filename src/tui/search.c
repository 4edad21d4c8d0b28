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
