/*
 * cmdline.c — the ':' command line: editing (wide characters, so class names in any script can be
 * typed), history recalled with Up/Down, and the commands :filter, :sort, :models, :theme, :q.
 */
#include "tui_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#define KEY_ESC 27

void cmdline_open(struct app *app, const char *prefill)
{
	app->cmd_active = true;
	size_t n = mbstowcs(app->cmd, prefill, CMD_MAX - 1);
	if (n == (size_t)-1)
		n = 0;
	app->cmd[n] = L'\0';
	app->cmd_len = app->cmd_pos = n;
	app->hist_pos = app->n_hist;
	app->msg[0] = '\0';
	curs_set(1);
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
	app_message(app, true, "unknown command ':%.60s' (:filter :sort :models :theme :q)", word);
	return REDRAW_STATUS;
}

int cmdline_key(struct app *app, wint_t ch, bool is_key)
{
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
	case 1: /* C-a */
		app->cmd_pos = 0;
		return REDRAW_STATUS;
	case 5: /* C-e */
		app->cmd_pos = app->cmd_len;
		return REDRAW_STATUS;
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
	history_add(app, line);
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
	mvwaddch(w, 0, 0, ':');
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
	wmove(w, 0, cur_x);
	wnoutrefresh(w);
}
