/*
 * help.c — the help screen (?), generated from the tables of the mode in use: the open view's
 * own keys and the keys every view shares, or the focused pane's own keys and the panes' keys;
 * then the ':' commands (commands.c) and the command line's keys. Each key line shows the keys,
 * the name config.ini rebinds (MODE.NAME; the panes' names without MODE.) and the help text.
 */
#include "tui_int.h"

#include <stdio.h>
#include <string.h>

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
	return n + 1 + n_cmds + 1 + 1 + cmdline_keys.n;
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
	char k1[24], k2[24], k3[24], foot[128];
	snprintf(foot, sizeof foot, " %s/%s scroll   q, Esc or %s closes",
	         action_key("down", k1, sizeof k1), action_key("up", k2, sizeof k2),
	         action_key("help", k3, sizeof k3));
	draw_safe(app, w, H - 1, 0, W, foot, role_attr(ROLE_STATUS), true);
	wnoutrefresh(w);
}
