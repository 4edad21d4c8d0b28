/*
 * mouse.c — clicks and the wheel, when the terminal reports them (curses decodes xterm's SGR and
 * X10 reports into KEY_MOUSE). A click focuses the pane under it and selects the row there; a
 * click on a confusion cell opens it, as Enter would; the wheel scrolls the list under the
 * pointer, the help screen or the open view. Hit-testing uses the panes' rectangles (tui.c's
 * layout) and the rows the panes draw: title, column header, then the list.
 */
#include "tui_int.h"

#include <stdint.h>

/* Rows one wheel step moves. */
#define WHEEL_ROWS 3

void mouse_start(void)
{
	if (!config_mouse())
		return;
	/* presses, not clicks: with no click interval a press is reported at once */
	mousemask(BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
	mouseinterval(0);
}

/* The visible pane holding screen cell (y, x), or -1. */
static int pane_at(const struct app *app, int y, int x)
{
	for (int p = 0; p < PANE_COUNT; p++) {
		const struct pane *pn = &app->panes[p];
		if (pn->win && y >= pn->y && y < pn->y + pn->h && x >= pn->x && x < pn->x + pn->w)
			return p;
	}
	return -1;
}

/* Moves pane p's cursor by delta rows, clamped; returns reaction flags. */
static int scroll_pane(struct app *app, enum pane_id p, long delta)
{
	if (p == PANE_CONFUSION) {
		long r = (long)app->conf_r + delta, n = (long)app->s->n_classes;
		app->conf_r = (size_t)(r < 0 ? 0 : r >= n ? n - 1 : r);
		return REDRAW_ONE(PANE_CONFUSION);
	}
	struct pane *pn = &app->panes[p];
	size_t n = pane_rows(app, p);
	if (n == 0)
		return 0;
	long cur = (long)pn->cur + delta;
	cur = cur < 0 ? 0 : cur >= (long)n ? (long)n - 1 : cur;
	pn->cur = (size_t)cur;
	int flags = REDRAW_ONE(p);
	if (p == PANE_INSTANCES) /* the detail follows the cursor */
		flags |= REDRAW_ONE(PANE_DETAIL);
	return flags;
}

/* A click at pane-relative (ry, rx) in pane p: focus, then the row or the cell there. */
static int click_pane(struct app *app, enum pane_id p, int ry, int rx)
{
	int flags = 0;
	if (app->focus != p) {
		app->focus = p;
		if (p != PANE_INSTANCES)
			app->upper = p;
		flags |= REDRAW_ALL;
	}
	int row = ry - 2; /* below the title and the column header */
	if (row < 0 || row >= pane_list_height(app, p))
		return flags | REDRAW_PANE;
	if (p == PANE_CONFUSION) {
		int cw = app->conf_cw, lw = app->conf_lw;
		if (cw <= 0 || rx < lw)
			return flags | REDRAW_PANE;
		size_t r = app->conf_top + (size_t)row;
		size_t c = app->conf_left + (size_t)((rx - lw) / cw);
		if (r >= app->s->n_classes || c >= app->s->n_classes)
			return flags | REDRAW_PANE;
		app->conf_r = r;
		app->conf_c = c;
		return flags | REDRAW_PANE | action_run(app, "enter");
	}
	size_t n = pane_rows(app, p), k = app->panes[p].top + (size_t)row;
	if (k < n)
		app->panes[p].cur = k;
	return flags | REDRAW_PANE;
}

int mouse_event(struct app *app)
{
	MEVENT ev;
	if (getmouse(&ev) != OK)
		return 0;
	bool up = ev.bstate & BUTTON4_PRESSED, down = ev.bstate & BUTTON5_PRESSED;
	bool click = ev.bstate & BUTTON1_PRESSED;
	if (app->cmd_active || app->too_small)
		return 0;
	if (app->help) {
		if (up)
			app->help_top = app->help_top > WHEEL_ROWS ? app->help_top - WHEEL_ROWS : 0;
		else if (down)
			app->help_top += WHEEL_ROWS; /* help_draw() keeps it in range */
		return up || down ? REDRAW_ALL : 0;
	}
	if (app->view) {
		int flags = 0;
		for (int k = 0; (up || down) && k < WHEEL_ROWS; k++)
			flags |= view_key(app, up ? KEY_UP : KEY_DOWN, true);
		return flags;
	}
	int p = pane_at(app, ev.y, ev.x);
	if (p < 0)
		return 0;
	if (up || down)
		return scroll_pane(app, (enum pane_id)p, up ? -WHEEL_ROWS : WHEEL_ROWS);
	if (click)
		return click_pane(app, (enum pane_id)p, ev.y - app->panes[p].y,
		                  ev.x - app->panes[p].x);
	return 0;
}
