/*
 * help.c — the help screen (?), generated from the tables of the mode in use: the open view's
 * own keys and the keys every view shares, or the focused pane's own keys and the panes' keys;
 * then the help's own keys (mode "help"), the ':' commands (commands.c) and the command line's
 * keys. Each key line shows the keys,
 * the name config.ini rebinds (MODE.NAME; the panes' names without MODE.) and the help text.
 */
#include "tui_int.h"
#include "views.h"

#include <stdio.h>
#include <string.h>

/* The help's own keys: arg rows (±MOVE_PAGE a page, ±MOVE_ALL the ends). */
static int hact_scroll(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	size_t pg = (size_t)(app->rows > 6 ? app->rows - 6 : 1);
	if (arg == MOVE_ALL)
		app->help_top = SIZE_MAX / 2; /* help_draw() clamps it to the last page */
	else if (arg == -MOVE_ALL)
		app->help_top = 0;
	else if (arg == MOVE_PAGE)
		app->help_top += pg;
	else if (arg == -MOVE_PAGE)
		app->help_top = app->help_top > pg ? app->help_top - pg : 0;
	else if (arg > 0)
		app->help_top++;
	else if (app->help_top)
		app->help_top--;
	return REDRAW_ALL;
}

static int hact_close(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	(void)arg;
	app->help = false;
	return RELAYOUT;
}

static struct key_action help_acts[] = {
    {"close", "close the help", hact_close, 0,
     K('q', KEY_ESC, '?', KEY_F(1), '\n', '\r', KEY_ENTER)},
    {"down", "scroll down", hact_scroll, 1, K('j', KEY_DOWN)},
    {"up", "scroll up", hact_scroll, -1, K('k', KEY_UP)},
    {"page-down", "a page down", hact_scroll, MOVE_PAGE, K(KEY_NPAGE, CTRL('f'), ' ')},
    {"page-up", "a page up", hact_scroll, -MOVE_PAGE, K(KEY_PPAGE, CTRL('b'))},
    {"top", "the top", hact_scroll, -MOVE_ALL, K('g', KEY_HOME)},
    {"bottom", "the bottom", hact_scroll, MOVE_ALL, K('G', KEY_END)},
};
KEYMODE(help_keys, "help", "Keys of this help", help_acts);

int help_key(struct app *app, int key, bool is_key)
{
	/* a character that is not ASCII may share its number with a KEY_ code */
	const struct key_action *a = !is_key && key > 255 ? NULL : keymode_find(&help_keys, key);
	return a ? a->run(app, NULL, NULL, a->arg) : 0;
}

/* One line of the help: a heading, a key action, a command, or an empty line. */
struct hline {
	enum { H_EMPTY, H_HEAD, H_KEY, H_CMD } kind;
	const struct keymode *m;
	size_t i;
};

/* The modes the help lists, in order, for the state of the app (at most 4). */
static size_t help_modes(const struct app *app, const struct keymode **out)
{
	size_t n = 0;
	if (app->view) {
		if (app->view->keys)
			out[n++] = app->view->keys;
		if (app->view->keys && strcmp(app->view->keys->name, "review") == 0)
			out[n++] = &picker_keys; /* a mode inside the review */
		out[n++] = &view_keys;
	} else {
		const struct pane_class *pc = pane_classes[app->focus];
		if (pc->keys)
			out[n++] = pc->keys;
		out[n++] = &panes_keys;
	}
	return n;
}

/* Line k of the help; false past the last. */
static bool help_line(const struct app *app, size_t k, struct hline *h)
{
	const struct keymode *ms[4];
	size_t nm = help_modes(app, ms);
	memset(h, 0, sizeof *h);
	for (size_t j = 0; j < nm; j++) {
		if (k == 0) {
			h->kind = H_HEAD;
			h->m = ms[j];
			return true;
		}
		k--;
		if (k < ms[j]->n) {
			h->kind = H_KEY;
			h->m = ms[j];
			h->i = k;
			return true;
		}
		k -= ms[j]->n;
		if (k == 0)
			return true; /* an empty line after each mode */
		k--;
	}
	if (k == 0) {
		h->kind = H_HEAD;
		h->m = &help_keys;
		return true;
	}
	k--;
	if (k < help_keys.n) {
		h->kind = H_KEY;
		h->m = &help_keys;
		h->i = k;
		return true;
	}
	k -= help_keys.n;
	if (k == 0)
		return true;
	k--;
	if (k == 0) {
		h->kind = H_HEAD; /* the commands */
		return true;
	}
	k--;
	if (k < n_cmds) {
		h->kind = H_CMD;
		h->i = k;
		return true;
	}
	k -= n_cmds;
	if (k == 0)
		return true;
	k--;
	if (k == 0) {
		h->kind = H_HEAD;
		h->m = &cmdline_keys;
		return true;
	}
	k--;
	if (k < cmdline_keys.n) {
		h->kind = H_KEY;
		h->m = &cmdline_keys;
		h->i = k;
		return true;
	}
	return false;
}

size_t help_lines(const struct app *app)
{
	const struct keymode *ms[4];
	size_t nm = help_modes(app, ms), n = 0;
	for (size_t j = 0; j < nm; j++)
		n += ms[j]->n + 2;
	return n + 1 + help_keys.n + 1 + 1 + n_cmds + 1 + 1 + cmdline_keys.n;
}

void help_draw(struct app *app)
{
	WINDOW *w = app->helpwin;
	if (!w)
		return;
	werase(w);
	int H = getmaxy(w), W = getmaxx(w);
	size_t total = help_lines(app);
	int body = H - 2;
	if (body < 1)
		body = 1;
	if (app->help_top + (size_t)body > total)
		app->help_top = total > (size_t)body ? total - (size_t)body : 0;
	char title[160];
	snprintf(title, sizeof title,
	         " nncmp help: the keys of %s (rebind in ~/.config/nncmp/config.ini [keys] as "
	         "MODE.NAME = KEYS)",
	         app->view ? app->view->name : "the panes");
	draw_safe(app, w, 0, 0, W, title, role_attr(ROLE_FOCUS) | A_BOLD, true);
	for (int r = 0; r < body; r++) {
		struct hline h;
		if (!help_line(app, app->help_top + (size_t)r, &h))
			break;
		int y = r + 1;
		if (h.kind == H_HEAD) {
			const char *t = h.m ? h.m->title : "Commands (after :)";
			draw_safe(app, w, y, 1, W - 1, t, role_attr(ROLE_HEADER), false);
		} else if (h.kind == H_KEY) {
			const struct key_action *a = &h.m->acts[h.i];
			char keys[64], name[64];
			key_action_labels(a, keys, sizeof keys);
			if (h.m == &panes_keys)
				snprintf(name, sizeof name, "%s", a->name);
			else
				snprintf(name, sizeof name, "%s.%s", h.m->name, a->name);
			draw_safe(app, w, y, 1, 16, keys[0] ? keys : "(none)", role_attr(ROLE_KEY),
			          false);
			draw_safe(app, w, y, 18, 24, name, role_attr(ROLE_DIM), false);
			draw_safe(app, w, y, 43, W - 43, a->help, role_attr(ROLE_NORMAL), false);
		} else if (h.kind == H_CMD) {
			const struct cmd_entry *c = &cmd_table[h.i];
			char syn[64];
			snprintf(syn, sizeof syn, ":%s%s%s", c->name, *c->args ? " " : "", c->args);
			draw_safe(app, w, y, 1, 24, syn, role_attr(ROLE_KEY), false);
			draw_safe(app, w, y, 26, W - 26, c->help, role_attr(ROLE_NORMAL), false);
		}
	}
	char k1[24], k2[24], keys[64], foot[160];
	snprintf(foot, sizeof foot, " %s/%s scroll   %s closes",
	         keymode_key(&help_keys, "down", k1, sizeof k1),
	         keymode_key(&help_keys, "up", k2, sizeof k2),
	         key_action_labels(keymode_action(&help_keys, "close"), keys, sizeof keys));
	draw_safe(app, w, H - 1, 0, W, foot, role_attr(ROLE_STATUS), true);
	wnoutrefresh(w);
}
