/*
 * panes.c — the host of the panes (pane.h): the table of pane classes, their list cursor (the
 * shared struct view_nav and view_clamp), the rows of their lists, their title line, drawing the
 * dirty ones, and the keys: the focused pane's own table first, then the panes' table
 * (actions.c), as htop's ScreenManager tries the panel's handler before Panel_onKey.
 */
#include "tui_int.h"
#include "views.h"

#define PANE_PTR(id, cls) [PANE_##id] = &cls,
const struct pane_class *const pane_classes[PANE_COUNT] = {NNCMP_PANES(PANE_PTR)};
#undef PANE_PTR

bool pane_visible(const struct app *app, enum pane_id p)
{
	return app->panes[p].win != NULL;
}

int pane_list_height(const struct app *app, enum pane_id p)
{
	int h = app->panes[p].h - 2; /* title and column header */
	if (pane_classes[p]->footer)
		h -= pane_classes[p]->footer(app, app->panes[p].h);
	return h > 0 ? h : 0;
}

size_t pane_rows(const struct app *app, enum pane_id p)
{
	return pane_classes[p]->rows ? pane_classes[p]->rows(app) : 0;
}

void pane_clamp(struct app *app, enum pane_id p)
{
	view_clamp(&app->panes[p].nav, pane_rows(app, p), (size_t)pane_list_height(app, p));
}

void pane_title(struct app *app, enum pane_id p, const char *title, const char *right)
{
	WINDOW *w = app->panes[p].win;
	int width = app->panes[p].w;
	attr_t a = role_attr(app->focus == p ? ROLE_FOCUS : ROLE_TITLE);
	draw_safe(app, w, 0, 0, width, "", a, true);
	int used = draw_safe(app, w, 0, 1, width - 1, title, a | A_BOLD, false);
	if (right && *right) {
		int rc = text_cols(right);
		if (rc + used + 3 <= width)
			draw_safe(app, w, 0, width - rc - 1, rc, right, a, false);
	}
}

bool pane_waits(struct app *app, enum pane_id p, const char *title, bool metrics)
{
	if (app->ready && (!metrics || app->have_metrics))
		return false;
	WINDOW *w = app->panes[p].win;
	werase(w);
	pane_title(app, p, title, NULL);
	draw_safe(app, w, 2, 2, app->panes[p].w - 2,
	          glyph(app, "computing\xe2\x80\xa6", "computing..."), role_attr(ROLE_DIM), false);
	wnoutrefresh(w);
	return true;
}

void pane_dim_pending(struct app *app, enum pane_id p)
{
	bool pending = p == PANE_INSTANCES ? app->select_pending : app->metrics_pending;
	if (pending && app->panes[p].win)
		view_dim(app->panes[p].win, 1, app->panes[p].h, 0, -1);
}

void panes_draw_dirty(struct app *app)
{
	for (int p = 0; p < PANE_COUNT; p++)
		if (app->panes[p].win && app->panes[p].dirty) {
			pane_classes[p]->draw(app);
			app->panes[p].dirty = false;
		}
}

int pane_moved(enum pane_id p)
{
	int f = pane_classes[p]->follower;
	return REDRAW_ONE(p) | (f >= 0 ? REDRAW_ONE(f) : 0);
}

const struct key_action *panes_find(const struct app *app, int key)
{
	const struct pane_class *pc = pane_classes[app->focus];
	const struct key_action *a = pc->keys ? keymode_find(pc->keys, key) : NULL;
	return a ? a : keymode_find(&panes_keys, key);
}

int panes_run(struct app *app, const struct key_action *a)
{
	return a->run(app, NULL, &app->panes[app->focus].nav, a->arg);
}
