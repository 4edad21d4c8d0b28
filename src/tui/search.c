/*
 * search.c — `/` search in the focused list (n and N repeat it) and the choice of the neuron
 * pane's layer (:layer, and the layer-next action).
 *
 * A row matches when the search text is a case-insensitive substring of what the row names:
 * an instance's id, truth or text (or image path); a class row's class name; a model's name; a
 * neuron's number.
 */
#include "tui_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nncmp/text.h"
#include "views.h"

/* Case-insensitive (ASCII) substring test. */
static bool has(const char *hay, const char *needle)
{
	if (!hay)
		return false;
	size_t nl = strlen(needle);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, nl) == 0)
			return true;
	return nl == 0;
}

static bool row_matches(const struct app *app, enum pane_id p, size_t row, const char *text)
{
	const struct study *s = app->s;
	switch (p) {
	case PANE_MODELS:
		return has(s->models[row].name, text);
	case PANE_AGREE:
		return row == 0 ? has("all", text) : has(s->classes[row - 1], text);
	case PANE_CONFUSION:
		return has(s->classes[row], text);
	case PANE_NEURONS: {
		int j = neurons_pane_neuron(app, row);
		char buf[24];
		snprintf(buf, sizeof buf, "%d", j);
		return j >= 0 && strcmp(buf, text) == 0;
	}
	case PANE_INSTANCES: {
		size_t i = app->sel[row];
		char idb[32];
		return has(study_instance_id(s, i, idb, sizeof idb), text) ||
		       has(s->classes[s->labels[i]], text) ||
		       (s->texts && has(s->texts[i], text)) ||
		       (s->images && has(s->images[i], text));
	}
	default:
		return false;
	}
}

int search_run(struct app *app, const char *text, int dir)
{
	if (!text || !*text) {
		app_message(app, true, "no search yet: / starts one");
		return REDRAW_STATUS;
	}
	enum pane_id p = app->focus;
	size_t n = pane_rows(app, p);
	size_t cur = p == PANE_CONFUSION ? app->conf_r : app->panes[p].cur;
	for (size_t k = 1; k <= n; k++) {
		size_t row = dir > 0 ? (cur + k) % n : (cur + n - k % n) % n;
		if (!row_matches(app, p, row, text))
			continue;
		if (p == PANE_CONFUSION)
			app->conf_r = row;
		else
			app->panes[p].cur = row;
		bool wrapped = dir > 0 ? row <= cur : row >= cur;
		if (wrapped)
			app_message(app, false, "search wrapped around");
		return REDRAW_PANE | REDRAW_STATUS;
	}
	app_message(app, true, "not found in this pane: %.200s", text);
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
		app->lm = m;
		app->ll = l;
		app->panes[PANE_NEURONS].cur = app->panes[PANE_NEURONS].top = 0;
		neurons_request(app);
		return REDRAW_ONE(PANE_NEURONS) | REDRAW_ONE(PANE_DETAIL) | REDRAW_STATUS;
	}
	app_message(app, true, "no layer with activations or weights called %.200s (MODEL.LAYER)",
	            spec);
	return REDRAW_STATUS;
}
