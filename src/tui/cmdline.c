/*
 * cmdline.c — the ':' command line: editing (wide characters, so class names in any script can be
 * typed; C-a C-e C-u C-k C-w as in readline), history recalled with Up/Down and kept across
 * runs (history.c), and the commands :filter, :sort, :models, :theme, :q.
 */
#include "tui_int.h"

#include "nncmp/filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#define KEY_ESC 27

void cmdline_open(struct app *app, const char *prefill)
{
	app->cmd_active = true;
	app->cmd_prompt = ':';
	size_t n = mbstowcs(app->cmd, prefill, CMD_MAX - 1);
	if (n == (size_t)-1)
		n = 0;
	app->cmd[n] = L'\0';
	app->cmd_len = app->cmd_pos = n;
	app->hist_pos = app->n_hist;
	app->msg[0] = '\0';
	curs_set(1);
}

void cmdline_open_search(struct app *app)
{
	cmdline_open(app, "");
	app->cmd_prompt = '/';
}

static void cmdline_close(struct app *app)
{
	app->cmd_active = false;
	curs_set(0);
}

static void cmd_set_text(struct app *app, const char *text)
{
	size_t n = mbstowcs(app->cmd, text, CMD_MAX - 1);
	if (n == (size_t)-1)
		n = 0;
	app->cmd[n] = L'\0';
	app->cmd_len = app->cmd_pos = n;
}

static void history_add(struct app *app, const char *line)
{
	if (!*line || (app->n_hist && strcmp(app->hist[app->n_hist - 1], line) == 0))
		return;
	if (app->n_hist == HIST_MAX) {
		free(app->hist[0]);
		memmove(app->hist, app->hist + 1, (HIST_MAX - 1) * sizeof *app->hist);
		app->n_hist--;
	}
	app->hist[app->n_hist++] = xstrdup(line);
}

/* Skips spaces; returns the rest. */
static char *skip_ws(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Runs one command line (without the ':'); returns reaction flags. */
static int cmd_run(struct app *app, char *line)
{
	char *p = skip_ws(line);
	char *word = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	if (*p)
		*p++ = '\0';
	char *arg = skip_ws(p);
	size_t al = strlen(arg);
	while (al && (arg[al - 1] == ' ' || arg[al - 1] == '\t'))
		arg[--al] = '\0';
	if (!*word)
		return REDRAW_STATUS;
	if (strcmp(word, "q") == 0 || strcmp(word, "quit") == 0)
		return QUIT;
	if (strcmp(word, "filter") == 0 || strcmp(word, "f") == 0)
		return app_set_filter(app, arg, AGREE_CUSTOM, -1, true);
	if (strcmp(word, "sort") == 0)
		return app_set_sort(app, *arg ? arg : "index");
	if (strcmp(word, "models") == 0) {
		char *b = arg;
		while (*b && *b != ' ' && *b != '\t')
			b++;
		if (*b)
			*b++ = '\0';
		b = skip_ws(b);
		if (!*arg || !*b) {
			app_message(app, true,
			            ":models wants two model names, e.g. :models %.40s %.40s",
			            app->s->models[0].name,
			            app->s->models[app->s->n_models > 1 ? 1 : 0].name);
			return REDRAW_STATUS;
		}
		return app_set_models(app, arg, b);
	}
	if (strcmp(word, "theme") == 0) {
		struct nn_err err = {{0}};
		if (!*arg) {
			app_message(app, false, "theme: %s", theme_name());
			return REDRAW_STATUS;
		}
		if (theme_load(arg, &err) != 0) {
			app_message(app, true, "%s", err.msg);
			return REDRAW_STATUS;
		}
		app->shapes = theme_needs_shapes();
		app_message(app, false, "theme %s", theme_name());
		return RELAYOUT;
	}
	if (strcmp(word, "layer") == 0)
		return app_set_layer(app, arg);
	if (strcmp(word, "export") == 0 || strcmp(word, "export!") == 0)
		return triage_export(app, arg, word[6] == '!');
	if (strcmp(word, "rescore") == 0)
		return triage_rescore(app);
	if (strcmp(word, "copy") == 0)
		return clipboard_copy(app, arg);
	app_message(
	    app, true,
	    "unknown command ':%.60s' (:filter :sort :models :layer :theme :export :rescore "
	    ":copy :q)",
	    word);
	return REDRAW_STATUS;
}

/* ---- completion ---- */

struct cands {
	struct strvec v;
	const char *prefix;
};

static void cand_add(struct cands *c, const char *word)
{
	if (strncmp(word, c->prefix, strlen(c->prefix)) != 0)
		return;
	for (size_t i = 0; i < c->v.n; i++)
		if (strcmp(c->v.v[i], word) == 0)
			return;
	strvec_push(&c->v, xstrdup(word));
}

/* Adds pre + each model's name + post. */
static void cand_models(const struct app *app, struct cands *c, const char *pre, const char *post)
{
	for (size_t m = 0; m < app->s->n_models; m++) {
		char *w = xasprintf("%s%s%s", pre, app->s->models[m].name, post);
		cand_add(c, w);
		free(w);
	}
}

/* Candidates for the word being typed; cmd is the command word ("" while typing it). */
static void candidates(const struct app *app, const char *cmd, struct cands *c)
{
	static const char *const commands[] = {"filter", "sort",    "models", "layer", "theme",
	                                       "export", "rescore", "copy",   "q"};
	static const char *const themes[] = {"default", "light", "colorblind", "monochrome"};
	const struct study *s = app->s;
	if (!*cmd) {
		for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
			cand_add(c, commands[i]);
	} else if (strcmp(cmd, "models") == 0) {
		cand_models(app, c, "", "");
	} else if (strcmp(cmd, "copy") == 0) {
		for (const char *const *f = clipboard_fields(); *f; f++)
			cand_add(c, *f);
		cand_models(app, c, "", "");
	} else if (strcmp(cmd, "theme") == 0) {
		for (size_t i = 0; i < sizeof themes / sizeof *themes; i++)
			cand_add(c, themes[i]);
	} else if (strcmp(cmd, "layer") == 0 || strcmp(cmd, "sort") == 0) {
		for (size_t m = 0; m < s->n_models; m++)
			for (size_t l = 0; l < s->models[m].n_layers; l++) {
				bool layer = strcmp(cmd, "layer") == 0;
				const struct layer *ly = &s->models[m].layers[l];
				/* :layer also takes a layer with weights only (for H) */
				if (!ly->act_path && !(layer && ly->weights_path))
					continue;
				char *w =
				    xasprintf("%s%s.%s%s", layer ? "" : "act(", s->models[m].name,
				              s->models[m].layers[l].name, layer ? "" : ".");
				cand_add(c, w);
				free(w);
			}
		if (strcmp(cmd, "sort") == 0) {
			cand_add(c, "index");
			cand_add(c, "id");
			cand_add(c, "issue");
			cand_models(app, c, "conf(", ")");
			cand_models(app, c, "margin(", ")");
		}
	} else if (strcmp(cmd, "filter") == 0 || strcmp(cmd, "f") == 0) {
		for (const char *const *w = filter_words; *w; w++)
			cand_add(c, *w);
		cand_models(app, c, "", "");
		for (size_t k = 0; k < s->n_classes; k++) {
			char *lit = filter_class_literal(s, (int)k);
			cand_add(c, lit);
			free(lit);
		}
	}
}

/* Tab: completes the word before the cursor, or lists the choices on the message line. */
static int complete(struct app *app)
{
	char line[CMD_MAX * 4 + 1];
	wchar_t saved = app->cmd[app->cmd_pos];
	app->cmd[app->cmd_pos] = L'\0';
	size_t n = wcstombs(line, app->cmd, sizeof line - 1);
	app->cmd[app->cmd_pos] = saved;
	if (n == (size_t)-1)
		return 0;
	line[n] = '\0';
	/* the command word, and the start of the word being typed */
	char *p = line;
	while (*p == ' ')
		p++;
	char *cmd_end = p;
	while (*cmd_end && *cmd_end != ' ')
		cmd_end++;
	char cmd[32] = "";
	const char *word = p;
	if (*cmd_end) {
		snprintf(cmd, sizeof cmd, "%.*s", (int)(cmd_end - p), p);
		word = line + n;
		while (word > cmd_end && !strchr(" (,!=<>", word[-1]))
			word--;
	}
	struct cands c = {.prefix = word};
	candidates(app, cmd, &c);
	if (c.v.n == 0) {
		app_message(app, false, "no completion");
		strvec_free(&c.v);
		return REDRAW_STATUS;
	}
	/* the longest common prefix of the candidates */
	size_t common = strlen(c.v.v[0]);
	for (size_t i = 1; i < c.v.n; i++) {
		size_t k = 0;
		while (k < common && c.v.v[i][k] == c.v.v[0][k])
			k++;
		common = k;
	}
	size_t have = strlen(word);
	char add[512];
	snprintf(add, sizeof add, "%.*s%s", (int)(common > have ? common - have : 0),
	         c.v.v[0] + have, c.v.n == 1 && !*cmd ? " " : "");
	wchar_t wadd[512];
	size_t wn = mbstowcs(wadd, add, 511);
	if (wn != (size_t)-1 && app->cmd_len + wn < CMD_MAX) {
		wmemmove(app->cmd + app->cmd_pos + wn, app->cmd + app->cmd_pos,
		         app->cmd_len - app->cmd_pos + 1);
		wmemcpy(app->cmd + app->cmd_pos, wadd, wn);
		app->cmd_pos += wn;
		app->cmd_len += wn;
	}
	if (c.v.n > 1) {
		char list[NN_ERR_MAX] = "";
		for (size_t i = 0; i < c.v.n; i++) {
			size_t l = strlen(list);
			if (l + strlen(c.v.v[i]) + 8 >= sizeof list) {
				snprintf(list + l, sizeof list - l, " ...");
				break;
			}
			snprintf(list + l, sizeof list - l, "%s%s", i ? "  " : "", c.v.v[i]);
		}
		app_message(app, false, "%s", list);
	}
	strvec_free(&c.v);
	return REDRAW_STATUS;
}

int cmdline_key(struct app *app, wint_t ch, bool is_key)
{
	if (is_key || ch != '\t')
		app->msg[0] = '\0'; /* the completion choices of the last Tab */
	if (is_key) {
		switch (ch) {
		case KEY_LEFT:
			if (app->cmd_pos)
				app->cmd_pos--;
			break;
		case KEY_RIGHT:
			if (app->cmd_pos < app->cmd_len)
				app->cmd_pos++;
			break;
		case KEY_HOME:
			app->cmd_pos = 0;
			break;
		case KEY_END:
			app->cmd_pos = app->cmd_len;
			break;
		case KEY_BACKSPACE:
			goto backspace;
		case KEY_DC:
			if (app->cmd_pos < app->cmd_len) {
				wmemmove(app->cmd + app->cmd_pos, app->cmd + app->cmd_pos + 1,
				         app->cmd_len - app->cmd_pos);
				app->cmd_len--;
			}
			break;
		case KEY_UP:
			if (app->hist_pos > 0)
				cmd_set_text(app, app->hist[--app->hist_pos]);
			break;
		case KEY_DOWN:
			if (app->hist_pos < app->n_hist) {
				app->hist_pos++;
				cmd_set_text(app, app->hist_pos < app->n_hist
				                      ? app->hist[app->hist_pos]
				                      : "");
			}
			break;
		case KEY_ENTER:
			goto enter;
		default:
			break;
		}
		return REDRAW_STATUS;
	}
	switch (ch) {
	case KEY_ESC:
	case 3: /* C-c */
	case 7: /* C-g */
		cmdline_close(app);
		return REDRAW_STATUS;
	case '\n':
	case '\r':
		goto enter;
	case 127:
	case 8:
		goto backspace;
	case '\t':
		return app->cmd_prompt == '/' ? 0 : complete(app);
	case 1: /* C-a */
		app->cmd_pos = 0;
		return REDRAW_STATUS;
	case 5: /* C-e */
		app->cmd_pos = app->cmd_len;
		return REDRAW_STATUS;
	case 11: /* C-k: the rest of the line */
		app->cmd_len = app->cmd_pos;
		app->cmd[app->cmd_len] = L'\0';
		return REDRAW_STATUS;
	case 23: { /* C-w: the word before the cursor, and the spaces after it */
		size_t k = app->cmd_pos;
		while (k > 0 && iswspace((wint_t)app->cmd[k - 1]))
			k--;
		while (k > 0 && !iswspace((wint_t)app->cmd[k - 1]))
			k--;
		wmemmove(app->cmd + k, app->cmd + app->cmd_pos, app->cmd_len - app->cmd_pos + 1);
		app->cmd_len -= app->cmd_pos - k;
		app->cmd_pos = k;
		return REDRAW_STATUS;
	}
	case 21: /* C-u */
		wmemmove(app->cmd, app->cmd + app->cmd_pos, app->cmd_len - app->cmd_pos + 1);
		app->cmd_len -= app->cmd_pos;
		app->cmd_pos = 0;
		return REDRAW_STATUS;
	default:
		if (iswprint(ch) && app->cmd_len + 1 < CMD_MAX) {
			wmemmove(app->cmd + app->cmd_pos + 1, app->cmd + app->cmd_pos,
			         app->cmd_len - app->cmd_pos + 1);
			app->cmd[app->cmd_pos++] = (wchar_t)ch;
			app->cmd_len++;
		}
		return REDRAW_STATUS;
	}
backspace:
	if (app->cmd_pos == 0) {
		if (app->cmd_len == 0)
			cmdline_close(app);
		return REDRAW_STATUS;
	}
	wmemmove(app->cmd + app->cmd_pos - 1, app->cmd + app->cmd_pos,
	         app->cmd_len - app->cmd_pos + 1);
	app->cmd_pos--;
	app->cmd_len--;
	return REDRAW_STATUS;
enter : {
	char line[CMD_MAX * 4 + 1];
	size_t n = wcstombs(line, app->cmd, sizeof line - 1);
	if (n == (size_t)-1)
		n = 0;
	line[n] = '\0';
	cmdline_close(app);
	if (app->cmd_prompt == '/') {
		if (!*line)
			return REDRAW_STATUS;
		free(app->search);
		app->search = xstrdup(line);
		return search_run(app, line, 1) | REDRAW_STATUS;
	}
	history_add(app, line);
	history_save(app, line);
	app->hist_pos = app->n_hist;
	return cmd_run(app, line) | REDRAW_STATUS;
}
}

void cmdline_draw(struct app *app)
{
	WINDOW *w = app->msgline;
	int width = getmaxx(w);
	werase(w);
	wattrset(w, role_attr(ROLE_NORMAL));
	mvwaddch(w, 0, 0, (chtype)(app->cmd_prompt ? app->cmd_prompt : ':'));
	/* show a window of the line that holds the cursor */
	int avail = width - 2;
	size_t start = 0;
	int cols_before = 0;
	for (size_t k = 0; k < app->cmd_pos; k++) {
		int cw = wcwidth(app->cmd[k]);
		cols_before += cw < 0 ? 1 : cw;
	}
	while (cols_before > avail - 1 && start < app->cmd_pos) {
		int cw = wcwidth(app->cmd[start]);
		cols_before -= cw < 0 ? 1 : cw;
		start++;
	}
	int x = 1, cur_x = 1;
	for (size_t k = start; k < app->cmd_len; k++) {
		int cw = wcwidth(app->cmd[k]);
		if (cw < 0)
			cw = 1;
		if (k == app->cmd_pos)
			cur_x = x;
		if (x + cw > width - 1)
			break;
		wchar_t one[2] = {app->cmd[k], L'\0'};
		mvwaddwstr(w, 0, x, one);
		x += cw;
	}
	if (app->cmd_pos >= app->cmd_len)
		cur_x = x < width - 1 ? x : width - 1;
	if (app->msg[0] && x + 4 < width) /* completion choices, after the text */
		draw_text(app, w, 0, x + 2, width - x - 3, app->msg, role_attr(ROLE_DIM), false);
	wmove(w, 0, cur_x);
	wnoutrefresh(w);
}
