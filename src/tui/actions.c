/*
 * actions.c — the keys of the panes (the mode "panes", keys.h): every entry a name, a help line,
 * a handler with an argument and default keys. One handler serves many keys through its
 * argument (the list moves, the agreement outcomes, the views to open, the command-line
 * prefills). The focused pane's own keys (pane_class.keys) are tried before these (panes.c).
 */
#include "tui_int.h"
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The list moves on the focused pane's cursor: arg rows, or ±MOVE_PAGE, ±MOVE_ALL. */
static int act_move(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	enum pane_id p = app->focus;
	int h = pane_list_height(app, p);
	if (!nav_move(nav, pane_rows(app, p), h > 1 ? h - 1 : 1, arg))
		return 0;
	return REDRAW_PANE;
}

/* Focus moves through the panes in a fixed order (arg 1 or -1); layouts that show fewer panes
 * follow it. */
static int act_focus(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	int p = ((int)app->focus + (int)arg + PANE_COUNT) % PANE_COUNT;
	app->focus = (enum pane_id)p;
	if (p != PANE_INSTANCES)
		app->upper = (enum pane_id)p;
	if (app->layout != 0 || app->zoom)
		return RELAYOUT;
	return REDRAW_ALL;
}

static int act_zoom(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	(void)arg;
	app->zoom = !app->zoom;
	return RELAYOUT;
}

static int act_swap(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	(void)arg;
	return app_swap(app);
}

/* Enter: the focused pane's own (pane_class.enter). */
static int act_enter(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	(void)arg;
	const struct pane_class *pc = pane_classes[app->focus];
	return pc->enter ? pc->enter(app) : 0;
}

static int act_back(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	(void)arg;
	return app_back(app);
}

/* Esc on the panes: the loop has already cleared the message line; nothing else changes. */
static int act_dismiss(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)app;
	(void)ctx;
	(void)nav;
	(void)arg;
	return REDRAW_STATUS;
}

/* An agreement outcome (arg: enum agree_mode) for the chosen class. */
static int act_agree(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	/* a filter still on the worker: its class is the one the user last chose */
	return app_agree(app, (enum agree_mode)arg,
	                 app->select_pending ? app->pending_cls : app->cls);
}

/* The next (arg 1) or previous (-1) ground-truth class of the agreement control; -1 is all. */
static int act_class(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	int n = (int)app->s->n_classes;
	int c = (app->select_pending ? app->pending_cls : app->cls) + (int)arg;
	enum agree_mode mode = app->select_pending ? app->pending_mode : app->mode;
	if (c < -1)
		c = n - 1;
	if (c >= n)
		c = -1;
	return app_agree(app, mode == AGREE_CUSTOM ? AGREE_ALL : mode, c);
}

/* The command line, prefilled by arg: 0 nothing, 1 the filter, 2 "sort ", 3 "models ". */
static int act_command(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	if (arg == 1) {
		char *pre = xasprintf("filter %s", app->filter);
		cmdline_open(app, pre);
		free(pre);
	} else {
		cmdline_open(app, arg == 2 ? "sort " : arg == 3 ? "models " : "");
	}
	return REDRAW_STATUS;
}

static int act_help(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	(void)arg;
	app->help = !app->help;
	app->help_top = 0;
	return RELAYOUT;
}

/* Opens the view view_classes[arg]. */
static int act_view(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	return view_open(app, view_classes[arg]->name);
}

static int act_redraw(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)app;
	(void)ctx;
	(void)nav;
	(void)arg;
	return RELAYOUT | CLEAR;
}

/* / opens the search line (arg 0); n and N repeat the last search forward (1) or back (-1). */
static int act_search(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	if (arg == 0) {
		cmdline_open_search(app);
		return REDRAW_STATUS;
	}
	return search_run(app, app->search, (int)arg);
}

/* The next layer with activations, over every model, wrapping. */
static int act_layer_next(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	(void)arg;
	const struct study *s = app->s;
	if (app->lm < 0) {
		app_message(app, false, "the study has no layer with activations");
		return REDRAW_STATUS;
	}
	size_t m = (size_t)app->lm, l = (size_t)app->ll;
	for (;;) {
		if (++l >= s->models[m].n_layers) {
			l = 0;
			m = (m + 1) % s->n_models;
		}
		if (l < s->models[m].n_layers && s->models[m].layers[l].act_path)
			break;
		if (m == (size_t)app->lm && l == (size_t)app->ll)
			break;
	}
	char *spec = xasprintf("%s.%s", s->models[m].name, s->models[m].layers[l].name);
	int rc = app_set_layer(app, spec);
	free(spec);
	return rc;
}

static int act_copy(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	(void)arg;
	return clipboard_copy(app, "id");
}

static int act_quit(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)app;
	(void)ctx;
	(void)nav;
	(void)arg;
	return QUIT;
}

static struct key_action panes_acts[] = {
    {"help", "this help (any of q, Esc, ? closes it)", act_help, 0, K('?', KEY_F(1))},
    {"quit", "quit nncmp", act_quit, 0, K('q')},
    {"focus-next", "focus the next pane", act_focus, 1, K('\t')},
    {"focus-prev", "focus the previous pane", act_focus, -1, K(KEY_BTAB)},
    {"down", "next row", act_move, 1, K('j', KEY_DOWN)},
    {"up", "previous row", act_move, -1, K('k', KEY_UP)},
    {"page-down", "next page", act_move, MOVE_PAGE, K(KEY_NPAGE, CTRL('f'), ' ')},
    {"page-up", "previous page", act_move, -MOVE_PAGE, K(KEY_PPAGE, CTRL('b'))},
    {"top", "first row", act_move, -MOVE_ALL, K('g', KEY_HOME)},
    {"bottom", "last row", act_move, MOVE_ALL, K('G', KEY_END)},
    {"enter",
     "open: confusion cell -> its instances, class row -> that class, model -> A, neuron -> "
     "instances sorted by it",
     act_enter, 0, K('\n', '\r', KEY_ENTER)},
    {"back", "back to the previous filter (the status line says when there is one)", act_back, 0,
     K(127, KEY_BACKSPACE, CTRL('h'))},
    {"dismiss", "close the message line (Esc closes a prompt or a view too, nothing more)",
     act_dismiss, 0, K(KEY_ESC)},
    {"zoom", "zoom the focused pane (again: back to the split)", act_zoom, 0, K('z')},
    {"confusion", "confusion matrix: cycle A, B, B-A", pane_confusion_cycle, 0, K('c')},
    {"agree-all", "agreement: all instances (of the chosen class)", act_agree, AGREE_ALL, K('a')},
    {"agree-both", "agreement: both A and B right", act_agree, AGREE_BOTH_RIGHT, K('b')},
    {"agree-only-a", "agreement: only A right", act_agree, AGREE_ONLY_A, K('1')},
    {"agree-only-b", "agreement: only B right", act_agree, AGREE_ONLY_B, K('2')},
    {"agree-wrong", "agreement: both A and B wrong", act_agree, AGREE_BOTH_WRONG, K('w')},
    {"agree-disagree", "agreement: A and B predict differently", act_agree, AGREE_DISAGREE, K('d')},
    {"class-next", "agreement: next ground-truth class (all, 0, 1, ...)", act_class, 1, K(']')},
    {"class-prev", "agreement: previous ground-truth class", act_class, -1, K('[')},
    {"swap", "swap models A and B", act_swap, 0, K('x')},
    {"command", "command line (:filter :sort :models ... ; ? lists them)", act_command, 0, K(':')},
    {"filter", "edit the filter expression", act_command, 1, K('f')},
    {"sort", "sort the instances (:sort KEY)", act_command, 2, K('s')},
    {"models", "choose models A and B (:models A B)", act_command, 3, K('m')},
    {"redraw", "redraw the whole screen", act_redraw, 0, K(CTRL('l'))},
    {"search", "search the focused list (id, class, text; neuron number)", act_search, 0, K('/')},
    {"search-next", "next match of the search", act_search, 1, K('n')},
    {"search-prev", "previous match of the search", act_search, -1, K('N')},
    {"layer-next", "neuron pane: next layer (:layer MODEL.LAYER)", act_layer_next, 0, K('L')},
    {"copy", "copy the instance's id to the clipboard (OSC 52; :copy FIELD for another field)",
     act_copy, 0, K('y')},
#define VIEW_ACTION(cls, name, help, keys) {"view-" name, help, act_view, VIEW_IDX_##cls, keys},
    NNCMP_VIEWS(VIEW_ACTION)
#undef VIEW_ACTION
        {"saliency", "images: model A's explanation map (Grad-CAM) over the detail's image, or not",
         saliency_toggle, 0, K('S')},
};
KEYMODE(panes_keys, "panes", "Keys of the panes", panes_acts);
