/*
 * mouse.c — clicks and the wheel, when the terminal reports them (curses decodes xterm's SGR and
 * X10 reports into KEY_MOUSE). A click focuses the pane under it and selects the row there; a
 * click on a confusion cell opens it, as Enter would (pane_class.click); the wheel scrolls the list
 * under the pointer, the help screen or the open view. Hit-testing uses the panes' rectangles
 * (tui.c's layout) and the rows the panes draw: title, column header, then the list.
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
	if (!nav_move(&app->panes[p].nav, pane_rows(app, p), 1, delta))
		return 0;
	return pane_moved(p);
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
	if (pane_classes[p]->click)
		return flags | pane_classes[p]->click(app, ry, rx);
	size_t n = pane_rows(app, p), k = app->panes[p].nav.top + (size_t)row;
	if (k < n)
		app->panes[p].nav.cur = k;
	return flags | REDRAW_PANE;
}

/* The wheel in a view: its "up" or "down" key, as the view's tables have them. */
static int wheel_view(struct app *app, bool up)
{
	const char *name = up ? "up" : "down";
	const struct key_action *a = keymode_action(view_own_keys(app), name);
	if (!a || !a->keys[0])
		a = keymode_action(&view_keys, name);
	int flags = 0;
	for (int k = 0; a && a->keys[0] && k < WHEEL_ROWS; k++)
		flags |= view_key(app, a->keys[0], a->keys[0] > 255);
	return flags;
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
	if (app->view)
		return up || down ? wheel_view(app, up) : 0;
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
