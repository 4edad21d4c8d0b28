/*
 * actions.c — the action table: every key of the TUI is an action with a name, default keys, a
 * help line and a handler. The help screen is generated from this table and the config file
 * rebinds keys by action name. Handlers change the state and return reaction flags; the loop in
 * tui.c redraws and recomputes accordingly.
 */
#include "tui_int.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "nncmp/filter.h"

#define CTRL(c) ((c)&0x1f)
#define KEY_ESC 27

/* Moves the cursor of the focused list by delta rows (clamped); returns reaction flags. */
static int move_by(struct app *app, long delta)
{
	enum pane_id p = app->focus;
	if (p == PANE_CONFUSION) {
		long r = (long)app->conf_r + delta, n = (long)app->s->n_classes;
		app->conf_r = (size_t)(r < 0 ? 0 : r >= n ? n - 1 : r);
		return REDRAW_PANE;
	}
	struct pane *pn = &app->panes[p];
	size_t n = pane_rows(app, p);
	if (n == 0)
		return 0;
	long cur = (long)pn->cur + delta;
	if (cur < 0)
		cur = 0;
	if ((size_t)cur >= n)
		cur = (long)n - 1;
	if ((size_t)cur == pn->cur)
		return 0;
	pn->cur = (size_t)cur;
	return REDRAW_PANE;
}

static long page(const struct app *app)
{
	int h = pane_list_height(app, app->focus);
	return h > 1 ? h - 1 : 1;
}

static int act_down(struct app *app)
{
	return move_by(app, 1);
}
static int act_up(struct app *app)
{
	return move_by(app, -1);
}
static int act_page_down(struct app *app)
{
	return move_by(app, page(app));
}
static int act_page_up(struct app *app)
{
	return move_by(app, -page(app));
}
static int act_top(struct app *app)
{
	return move_by(app, -(long)(app->s->n + app->s->n_classes + 1));
}
static int act_bottom(struct app *app)
{
	return move_by(app, (long)(app->s->n + app->s->n_classes + 1));
}

static int move_col(struct app *app, long delta)
{
	if (app->focus != PANE_CONFUSION)
		return 0;
	long c = (long)app->conf_c + delta, n = (long)app->s->n_classes;
	app->conf_c = (size_t)(c < 0 ? 0 : c >= n ? n - 1 : c);
	return REDRAW_PANE;
}
static int act_left(struct app *app)
{
	return move_col(app, -1);
}
static int act_right(struct app *app)
{
	return move_col(app, 1);
}

/* Focus moves through the panes in a fixed order; layouts that show fewer panes follow it. */
static int focus_step(struct app *app, int dir)
{
	int p = ((int)app->focus + dir + PANE_COUNT) % PANE_COUNT;
	app->focus = (enum pane_id)p;
	if (p != PANE_INSTANCES)
		app->upper = (enum pane_id)p;
	if (app->layout != 0 || app->zoom)
		return RELAYOUT;
	return REDRAW_ALL;
}
static int act_focus_next(struct app *app)
{
	return focus_step(app, 1);
}
static int act_focus_prev(struct app *app)
{
	return focus_step(app, -1);
}

static int act_zoom(struct app *app)
{
	app->zoom = !app->zoom;
	return RELAYOUT;
}

static int act_confusion(struct app *app)
{
	app->conf_view = (app->conf_view + 1) % 3;
	if (pane_visible(app, PANE_CONFUSION) || app->zoom)
		return REDRAW_ONE(PANE_CONFUSION);
	/* a smaller layout hides the matrix: bring it into view */
	app->upper = PANE_CONFUSION;
	if (app->layout == 2 || app->focus != PANE_INSTANCES)
		app->focus = PANE_CONFUSION;
	return RELAYOUT;
}

static int act_swap(struct app *app)
{
	size_t t = app->a;
	app->a = app->b;
	app->b = t;
	/* the agreement filter names the models: rebuild it for the new order */
	if (app->mode != AGREE_CUSTOM && app->mode != AGREE_ALL)
		return app_agree(app, app->mode, app->cls);
	return RECOMPUTE | REDRAW_ALL;
}

/* Enter: a class row opens that class, a confusion cell its instances, a model becomes A. */
static int act_enter(struct app *app)
{
	const struct study *s = app->s;
	switch (app->focus) {
	case PANE_AGREE: {
		size_t row = app->panes[PANE_AGREE].cur;
		int cls = row == 0 ? -1 : (int)row - 1;
		if (app->mode == AGREE_CUSTOM && *app->filter) {
			if (cls < 0)
				return 0;
			char *c = filter_agreement(s, app->a, app->b, OUTCOME_ANY, cls);
			char *f = filter_and(app->filter, c);
			int rc = app_set_filter(app, f, AGREE_CUSTOM, cls, true);
			free(f);
			free(c);
			return rc;
		}
		return app_agree(app, app->mode == AGREE_CUSTOM ? AGREE_ALL : app->mode, cls);
	}
	case PANE_CONFUSION: {
		size_t C = s->n_classes, cell_at = app->conf_r * C + app->conf_c;
		int64_t in_a = app->mm[app->a].confusion[cell_at];
		int64_t in_b = app->mm[app->b].confusion[cell_at];
		if ((app->conf_view == 0 && in_a == 0) || (app->conf_view == 1 && in_b == 0) ||
		    (app->conf_view == 2 && in_a == 0 && in_b == 0)) {
			app_message(app, false, "that cell is empty: nothing to open");
			return REDRAW_STATUS;
		}
		/* view 0 and 1: model A's or B's cell; 2: the difference, either model's */
		char *cell = filter_confusion_cell(s, (int)app->conf_r, (int)app->conf_c,
		                                   app->conf_view == 1 ? app->b : app->a,
		                                   app->conf_view == 2 ? (int)app->b : -1);
		char *f = filter_and(app->filter, cell);
		int rc = app_set_filter(app, f, AGREE_CUSTOM, app->cls, true);
		free(f);
		free(cell);
		if (rc & RECOMPUTE) {
			app->focus = PANE_INSTANCES;
			rc |= app->layout != 0 || app->zoom ? RELAYOUT : REDRAW_ALL;
		}
		return rc;
	}
	case PANE_MODELS: {
		size_t m = app->panes[PANE_MODELS].cur;
		if (m == app->a)
			return 0;
		if (m == app->b)
			return act_swap(app);
		return app_set_models(app, s->models[m].name, s->models[app->b].name);
	}
	case PANE_NEURONS: {
		int j = neurons_pane_neuron(app, app->panes[PANE_NEURONS].cur);
		if (j < 0 || app->lm < 0)
			return 0;
		const struct model *m = &s->models[app->lm];
		char *key = xasprintf("act(%s.%s.%d)", m->name, m->layers[app->ll].name, j);
		int rc = app_set_sort(app, key);
		free(key);
		if (rc & REDRAW_ONE(PANE_INSTANCES)) {
			app->focus = PANE_INSTANCES;
			app->panes[PANE_INSTANCES].cur = app->panes[PANE_INSTANCES].top = 0;
			app_message(app, false, "instances sorted by neuron %d, highest first", j);
			rc |= app->layout != 0 || app->zoom ? RELAYOUT : REDRAW_ALL;
		}
		return rc;
	}
	case PANE_DETAIL:
		return 0;
	default: {
		if (app->n_sel == 0)
			return 0;
		size_t i = app->sel[app->panes[PANE_INSTANCES].cur];
		char idb[32];
		const char *t = s->texts && s->texts[i]     ? s->texts[i]
		                : s->images && s->images[i] ? s->images[i]
		                                            : "";
		/* the message line sanitizes when it draws */
		app_message(app, false, "#%zu  id %.60s  truth %.60s: %.300s", i,
		            study_instance_id(s, i, idb, sizeof idb), s->classes[s->labels[i]], t);
		return REDRAW_STATUS;
	}
	}
}

static int act_back(struct app *app)
{
	return app_back(app);
}

/* Esc on the panes: the loop has already cleared the message line; nothing else changes. */
static int act_dismiss(struct app *app)
{
	(void)app;
	return REDRAW_STATUS;
}

static int agree(struct app *app, enum agree_mode m)
{
	return app_agree(app, m, app->cls);
}
static int act_agree_all(struct app *app)
{
	return agree(app, AGREE_ALL);
}
static int act_agree_both(struct app *app)
{
	return agree(app, AGREE_BOTH_RIGHT);
}
static int act_agree_a(struct app *app)
{
	return agree(app, AGREE_ONLY_A);
}
static int act_agree_b(struct app *app)
{
	return agree(app, AGREE_ONLY_B);
}
static int act_agree_wrong(struct app *app)
{
	return agree(app, AGREE_BOTH_WRONG);
}
static int act_agree_disagree(struct app *app)
{
	return agree(app, AGREE_DISAGREE);
}

static int class_step(struct app *app, int dir)
{
	int n = (int)app->s->n_classes;
	int c = app->cls + dir; /* -1 is "all classes" */
	if (c < -1)
		c = n - 1;
	if (c >= n)
		c = -1;
	return app_agree(app, app->mode == AGREE_CUSTOM ? AGREE_ALL : app->mode, c);
}
static int act_class_next(struct app *app)
{
	return class_step(app, 1);
}
static int act_class_prev(struct app *app)
{
	return class_step(app, -1);
}

static int act_command(struct app *app)
{
	cmdline_open(app, "");
	return REDRAW_STATUS;
}

static int act_edit_filter(struct app *app)
{
	char *pre = xasprintf("filter %s", app->filter);
	cmdline_open(app, pre);
	free(pre);
	return REDRAW_STATUS;
}

static int act_sort(struct app *app)
{
	cmdline_open(app, "sort ");
	return REDRAW_STATUS;
}

static int act_models(struct app *app)
{
	cmdline_open(app, "models ");
	return REDRAW_STATUS;
}

static int act_help(struct app *app)
{
	app->help = !app->help;
	app->help_top = 0;
	return RELAYOUT;
}

static int act_view_words(struct app *app)
{
	return view_open(app, "words");
}
static int act_view_matrix(struct app *app)
{
	return view_open(app, "matrix");
}
static int act_view_weights(struct app *app)
{
	return view_open(app, "weights");
}
static int act_view_projection(struct app *app)
{
	return view_open(app, "projection");
}
static int act_view_models(struct app *app)
{
	return view_open(app, "models");
}
static int act_view_snapshot(struct app *app)
{
	return view_open(app, "snapshot");
}

static int act_redraw(struct app *app)
{
	(void)app;
	return RELAYOUT | CLEAR;
}

static int act_search(struct app *app)
{
	cmdline_open_search(app);
	return REDRAW_STATUS;
}

static int act_search_next(struct app *app)
{
	return search_run(app, app->search, 1);
}

static int act_search_prev(struct app *app)
{
	return search_run(app, app->search, -1);
}

/* The next layer with activations, over every model, wrapping. */
static int act_layer_next(struct app *app)
{
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

static int act_review(struct app *app)
{
	return view_open(app, "review");
}

static int act_labels(struct app *app)
{
	return view_open(app, "labels");
}

static int act_grid(struct app *app)
{
	return view_open(app, "grid");
}

static int act_preview(struct app *app)
{
	return view_open(app, "preview");
}

static int act_dups(struct app *app)
{
	return view_open(app, "dups");
}

static int act_copy(struct app *app)
{
	return clipboard_copy(app, "id");
}

static int act_quit(struct app *app)
{
	(void)app;
	return QUIT;
}

#define K(...)                                                                                     \
	{                                                                                          \
		__VA_ARGS__                                                                        \
	}

struct action actions[] = {
    {"help", "this help (any of q, Esc, ? closes it)", act_help, K('?', KEY_F(1))},
    {"quit", "quit nncmp", act_quit, K('q')},
    {"focus-next", "focus the next pane", act_focus_next, K('\t')},
    {"focus-prev", "focus the previous pane", act_focus_prev, K(KEY_BTAB)},
    {"down", "next row", act_down, K('j', KEY_DOWN)},
    {"up", "previous row", act_up, K('k', KEY_UP)},
    {"left", "previous column (confusion matrix)", act_left, K('h', KEY_LEFT)},
    {"right", "next column (confusion matrix)", act_right, K('l', KEY_RIGHT)},
    {"page-down", "next page", act_page_down, K(KEY_NPAGE, CTRL('f'), ' ')},
    {"page-up", "previous page", act_page_up, K(KEY_PPAGE, CTRL('b'))},
    {"top", "first row", act_top, K('g', KEY_HOME)},
    {"bottom", "last row", act_bottom, K('G', KEY_END)},
    {"enter",
     "open: confusion cell -> its instances, class row -> that class, model -> A, neuron -> "
     "instances sorted by it",
     act_enter, K('\n', '\r', KEY_ENTER)},
    {"back", "back to the previous filter (the status line says when there is one)", act_back,
     K(127, KEY_BACKSPACE, CTRL('h'))},
    {"dismiss", "close the message line (Esc closes a prompt or a view too, nothing more)",
     act_dismiss, K(KEY_ESC)},
    {"zoom", "zoom the focused pane (again: back to the split)", act_zoom, K('z')},
    {"confusion", "confusion matrix: cycle A, B, B-A", act_confusion, K('c')},
    {"agree-all", "agreement: all instances (of the chosen class)", act_agree_all, K('a')},
    {"agree-both", "agreement: both A and B right", act_agree_both, K('b')},
    {"agree-only-a", "agreement: only A right", act_agree_a, K('1')},
    {"agree-only-b", "agreement: only B right", act_agree_b, K('2')},
    {"agree-wrong", "agreement: both A and B wrong", act_agree_wrong, K('w')},
    {"agree-disagree", "agreement: A and B predict differently", act_agree_disagree, K('d')},
    {"class-next", "agreement: next ground-truth class (all, 0, 1, ...)", act_class_next, K(']')},
    {"class-prev", "agreement: previous ground-truth class", act_class_prev, K('[')},
    {"swap", "swap models A and B", act_swap, K('x')},
    {"command", "command line (:filter :sort :models :layer :theme :export :rescore :copy :q)",
     act_command, K(':')},
    {"filter", "edit the filter expression", act_edit_filter, K('f')},
    {"sort", "sort the instances (:sort KEY)", act_sort, K('s')},
    {"models", "choose models A and B (:models A B)", act_models, K('m')},
    {"redraw", "redraw the whole screen", act_redraw, K(CTRL('l'))},
    {"view-words", "view: frequent words of the shown texts, with their lift", act_view_words,
     K('W')},
    {"view-matrix", "view: mean activation per class x neuron of the layer", act_view_matrix,
     K('M')},
    {"view-weights", "view: the layer's weights, with the instance's activations", act_view_weights,
     K('H')},
    {"view-projection", "view: PCA scatter of the layer's activations", act_view_projection,
     K('P')},
    {"view-models", "view: table of every model; classes where models diverge", act_view_models,
     K('O')},
    {"view-snapshot", "view: weight change from model A to B (snapshots)", act_view_snapshot,
     K('D')},
    {"search", "search the focused list (id, class, text; neuron number)", act_search, K('/')},
    {"search-next", "next match of the search", act_search_next, K('n')},
    {"search-prev", "previous match of the search", act_search_prev, K('N')},
    {"layer-next", "neuron pane: next layer (:layer MODEL.LAYER)", act_layer_next, K('L')},
    {"view-review", "triage: review the likely label errors one at a time", act_review, K('R')},
    {"view-labels", "triage: misclassified samples per given label -> predicted class", act_labels,
     K('E')},
    {"view-grid", "images: thumbnails of the shown instances", act_grid, K('t')},
    {"view-preview", "images: the instance's image over the whole screen", act_preview, K('v')},
    {"copy", "copy the instance's id to the clipboard (OSC 52; :copy FIELD for another field)",
     act_copy, K('y')},
    {"view-dups", "triage: near-duplicate pairs in the layer (same prediction)", act_dups, K('Y')},
};
const size_t n_actions = sizeof actions / sizeof *actions;

const struct action *action_for_key(int key)
{
	for (size_t i = 0; i < n_actions; i++)
		for (int j = 0; j < KEYS_MAX && actions[i].keys[j]; j++)
			if (actions[i].keys[j] == key)
				return &actions[i];
	return NULL;
}

static const struct {
	const char *name;
	int key;
} key_names[] = {
    {"Tab", '\t'},        {"S-Tab", KEY_BTAB}, {"Enter", '\n'},      {"Enter", '\r'},
    {"Enter", KEY_ENTER}, {"Esc", KEY_ESC},    {"Space", ' '},       {"Up", KEY_UP},
    {"Down", KEY_DOWN},   {"Left", KEY_LEFT},  {"Right", KEY_RIGHT}, {"PgUp", KEY_PPAGE},
    {"PgDn", KEY_NPAGE},  {"Home", KEY_HOME},  {"End", KEY_END},     {"BS", KEY_BACKSPACE},
    {"BS", 127},          {"Del", KEY_DC},     {"F1", KEY_F(1)},     {"F2", KEY_F(2)},
    {"F3", KEY_F(3)},     {"F4", KEY_F(4)},    {"F5", KEY_F(5)},     {"F6", KEY_F(6)},
};

const char *key_label(int key, char *buf, size_t size)
{
	for (size_t i = 0; i < sizeof key_names / sizeof *key_names; i++)
		if (key_names[i].key == key) {
			snprintf(buf, size, "%s", key_names[i].name);
			return buf;
		}
	if (key > 0 && key < 32)
		snprintf(buf, size, "C-%c", key + 'a' - 1);
	else if (key > 32 && key < 127)
		snprintf(buf, size, "%c", key);
	else
		snprintf(buf, size, "#%d", key);
	return buf;
}

const char *action_key(const char *name, char *buf, size_t size)
{
	for (size_t i = 0; i < n_actions; i++)
		if (strcmp(actions[i].name, name) == 0 && actions[i].keys[0])
			return key_label(actions[i].keys[0], buf, size);
	snprintf(buf, size, "?");
	return buf;
}

/* Parses a key name ("j", "C-x", "^X", "Tab", "PgDn"); returns the key or -1. */
static int key_parse(const char *s)
{
	for (size_t i = 0; i < sizeof key_names / sizeof *key_names; i++)
		if (strcasecmp(s, key_names[i].name) == 0)
			return key_names[i].key;
	if (strlen(s) == 1 && (unsigned char)s[0] > 32 && (unsigned char)s[0] < 127)
		return s[0];
	if ((strncasecmp(s, "C-", 2) == 0 && strlen(s) == 3) || (s[0] == '^' && strlen(s) == 2)) {
		int c = tolower((unsigned char)s[strlen(s) - 1]);
		if (c >= 'a' && c <= 'z')
			return CTRL(c);
	}
	return -1;
}

/* [ui] graphics and graphics_passthrough, as the config file said (config_graphics()) */
static char ui_graphics[16];
static bool ui_passthrough;
/* [ui] mouse (config_mouse()): on unless the config says false */
static bool ui_mouse = true;

struct config_ctx {
	char *theme;
	size_t size;
	struct nn_err *err;
	bool failed;
};

/* Binds the action called name to the keys in value; a key moves from any action that had it. */
static int bind_keys(struct config_ctx *ctx, const char *name, const char *value)
{
	struct action *act = NULL;
	for (size_t i = 0; i < n_actions; i++)
		if (strcmp(actions[i].name, name) == 0)
			act = &actions[i];
	if (!act) {
		nn_err_set(ctx->err, "[keys]: no action called '%.40s' (see ? for the names)",
		           name);
		return -1;
	}
	int keys[KEYS_MAX] = {0}, n = 0;
	char buf[200];
	snprintf(buf, sizeof buf, "%s", value);
	for (char *save = NULL, *tok = strtok_r(buf, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save)) {
		int k = key_parse(tok);
		if (k < 0) {
			nn_err_set(ctx->err, "[keys] %.40s: unknown key '%.20s'", name, tok);
			return -1;
		}
		if (n < KEYS_MAX)
			keys[n++] = k;
	}
	for (int j = 0; j < n; j++)
		for (size_t i = 0; i < n_actions; i++) {
			int *ks = actions[i].keys, w = 0;
			for (int r = 0; r < KEYS_MAX; r++)
				if (ks[r] != keys[j])
					ks[w++] = ks[r];
			while (w < KEYS_MAX)
				ks[w++] = 0;
		}
	memcpy(act->keys, keys, sizeof keys);
	return 0;
}

static int config_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_ctx *ctx = user;
	if (strcasecmp(section, "keys") == 0) {
		if (bind_keys(ctx, name, value) != 0) {
			ctx->failed = true;
			return 0;
		}
	} else if (strcasecmp(section, "ui") == 0 && strcasecmp(name, "theme") == 0) {
		snprintf(ctx->theme, ctx->size, "%s", value);
	} else if (strcasecmp(section, "ui") == 0 && strcasecmp(name, "graphics") == 0) {
		snprintf(ui_graphics, sizeof ui_graphics, "%s", value);
	} else if (strcasecmp(section, "ui") == 0 && strcasecmp(name, "mouse") == 0) {
		ui_mouse = !(strcasecmp(value, "false") == 0 || strcasecmp(value, "no") == 0 ||
		             strcasecmp(value, "off") == 0 || strcmp(value, "0") == 0);
	} else if (strcasecmp(section, "ui") == 0 &&
	           strcasecmp(name, "graphics_passthrough") == 0) {
		ui_passthrough = strcasecmp(value, "true") == 0 || strcasecmp(value, "yes") == 0 ||
		                 strcmp(value, "1") == 0;
	}
	return 1;
}

bool config_mouse(void)
{
	return ui_mouse;
}

int action_run(struct app *app, const char *name)
{
	for (size_t i = 0; i < n_actions; i++)
		if (strcmp(actions[i].name, name) == 0)
			return actions[i].run(app);
	return 0;
}

const char *config_graphics(bool *passthrough)
{
	*passthrough = ui_passthrough;
	return ui_graphics[0] ? ui_graphics : NULL;
}

int config_load(char *theme, size_t size, struct nn_err *err)
{
	char path[PATH_MAX];
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(path, sizeof path, "%.3900s/nncmp/config.ini", xdg);
	else if (home && *home)
		snprintf(path, sizeof path, "%.3900s/.config/nncmp/config.ini", home);
	else
		return 0;
	struct stat st;
	if (stat(path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR))
		return 0; /* no config file: the defaults */
	FILE *f = nn_fopen_regular(path, err);
	if (!f)
		return -1;
	struct config_ctx ctx = {theme, size, err, false};
	int line = ini_parse_file(f, config_handler, &ctx);
	fclose(f);
	if (line != 0 || ctx.failed) {
		char msg[NN_ERR_MAX];
		snprintf(msg, sizeof msg, "%s", ctx.failed ? err->msg : "syntax error");
		return nn_err_set(err, "config.ini line %d: %.400s", line, msg);
	}
	return 0;
}
