/*
 * pane_models.c — the models summary pane: each model's accuracy, macro-F1, right and wrong over
 * the selection (app->mm), A and B marked. Enter makes the model under the cursor A.
 */
#include "tui_int.h"

#include <stdio.h>
#include <string.h>

/* Marks a model as A or B in the summary. */
static const char *pair_mark(const struct app *app, size_t m)
{
	return m == app->a ? "A" : m == app->b ? "B" : " ";
}

static void models_draw(struct app *app)
{
	if (pane_waits(app, PANE_MODELS, "Models", true))
		return;
	struct pane *pn = &app->panes[PANE_MODELS];
	WINDOW *w = pn->win;
	const struct study *s = app->s;
	char right[64];
	/* removed samples left the metrics: say over how many they are */
	size_t used = s->n_models ? app->mm[0].n : app->n_sel;
	if (used != app->n_sel)
		snprintf(right, sizeof right, "over %zu shown (%zu removed)", used,
		         app->n_sel - used);
	else
		snprintf(right, sizeof right, "over %zu shown", app->n_sel);
	werase(w);
	pane_title(app, PANE_MODELS, "Models", right);
	draw_safe(app, w, 1, 0, pn->w, "   model          accuracy  macro-F1    right  wrong",
	          role_attr(ROLE_HEADER), true);
	pane_clamp(app, PANE_MODELS);
	int h = pane_list_height(app, PANE_MODELS);
	for (int r = 0; r < h && pn->nav.top + (size_t)r < s->n_models; r++) {
		size_t m = pn->nav.top + (size_t)r;
		bool sel = app->focus == PANE_MODELS && m == pn->nav.cur;
		attr_t a = role_attr(sel ? ROLE_SELECTION : ROLE_NORMAL);
		int y = r + 2;
		draw_safe(app, w, y, 0, pn->w, "", a, true);
		draw_safe(app, w, y, 1, 2, pair_mark(app, m), a | A_BOLD, false);
		draw_safe(app, w, y, 3, 14, app->model_names[m], a, true);
		const struct model_metrics *mm = &app->mm[m];
		char buf[96];
		if (mm->n)
			snprintf(buf, sizeof buf, "%8.4f  %8.4f %8lld %6lld", mm->accuracy,
			         mm->macro_f1, (long long)mm->correct,
			         (long long)mm->n - (long long)mm->correct);
		else
			snprintf(buf, sizeof buf, "%8s  %8s %8s %6s", "-", "-", "0", "0");
		draw_safe(app, w, y, 18, pn->w - 18, buf, a, false);
	}
	pane_dim_pending(app, PANE_MODELS);
	wnoutrefresh(w);
}

static size_t models_rows(const struct app *app)
{
	return app->s->n_models;
}

static int models_need(const struct app *app)
{
	return (int)app->s->n_models + 2;
}

/* Enter: the model becomes A (B becoming A swaps them). */
static int models_enter(struct app *app)
{
	const struct study *s = app->s;
	size_t m = app->panes[PANE_MODELS].nav.cur;
	if (m >= s->n_models || m == app->a)
		return 0;
	if (m == app->b)
		return app_swap(app);
	return app_set_models(app, s->models[m].name, s->models[app->b].name);
}

static bool models_match(const struct app *app, size_t row, const char *text)
{
	return search_has(app->s->models[row].name, text);
}

const struct pane_class pane_models = {
    .name = "models",
    .cursor = CURSOR_ROWS,
    .need = models_need,
    .rows = models_rows,
    .draw = models_draw,
    .enter = models_enter,
    .match = models_match,
    .follower = -1,
    .region = REGION_TOP_LEFT,
    .stack = 0,
    .share = -50,
};
