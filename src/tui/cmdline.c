/*
 * cmdline.c — the ':' command line: editing (wide characters, so class names in any script can be
 * typed; C-a C-e C-u C-k C-w as in readline), history recalled with Up/Down and kept across
 * runs (history.c), Tab completion from the command table (commands.c), and the '/' search
 * line. Its keys are the mode "cmdline" (keys.h); other printable characters are typed.
 */
#include "tui_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

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

/* Candidates for the word being typed; cmd is the command word ("" while typing it). */
static void candidates(const struct app *app, const char *cmd, struct cands *c)
{
	if (!*cmd) {
		for (size_t i = 0; i < n_cmds; i++)
			cand_add(c, cmd_table[i].name);
		return;
	}
	bool bang;
	const struct cmd_entry *e = cmd_find(cmd, &bang);
	if (e && e->complete)
		e->complete(app, c);
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

/* The command line's keys: editing, history, completion, running. */
static int cact_cancel(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	(void)arg;
	cmdline_close(app);
	return REDRAW_STATUS;
}

/* The cursor: arg 0 the start, 1 the end, -1 and 2 a character left and right. */
static int cact_cursor(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	if (arg == 0)
		app->cmd_pos = 0;
	else if (arg == 1)
		app->cmd_pos = app->cmd_len;
	else if (arg == -1 && app->cmd_pos)
		app->cmd_pos--;
	else if (arg == 2 && app->cmd_pos < app->cmd_len)
		app->cmd_pos++;
	return REDRAW_STATUS;
}

/* Deletes: arg 0 the character before the cursor (on an empty line: closes it), 1 the one
 * under it, 2 to the end, 3 the word before the cursor and the spaces after it, 4 to the start. */
static int cact_delete(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	size_t k = app->cmd_pos;
	switch (arg) {
	case 0:
		if (app->cmd_pos == 0) {
			if (app->cmd_len == 0)
				cmdline_close(app);
			return REDRAW_STATUS;
		}
		k = app->cmd_pos - 1;
		break;
	case 1:
		if (app->cmd_pos >= app->cmd_len)
			return REDRAW_STATUS;
		app->cmd_pos++;
		break;
	case 2:
		app->cmd_len = app->cmd_pos;
		app->cmd[app->cmd_len] = L'\0';
		return REDRAW_STATUS;
	case 3:
		while (k > 0 && iswspace((wint_t)app->cmd[k - 1]))
			k--;
		while (k > 0 && !iswspace((wint_t)app->cmd[k - 1]))
			k--;
		break;
	default:
		k = 0;
		break;
	}
	/* remove [k, cmd_pos) */
	wmemmove(app->cmd + k, app->cmd + app->cmd_pos, app->cmd_len - app->cmd_pos + 1);
	app->cmd_len -= app->cmd_pos - k;
	app->cmd_pos = k;
	return REDRAW_STATUS;
}

/* The history: arg -1 the older line, 1 the newer one. */
static int cact_history(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	if (arg < 0 && app->hist_pos > 0) {
		cmd_set_text(app, app->hist[--app->hist_pos]);
	} else if (arg > 0 && app->hist_pos < app->n_hist) {
		app->hist_pos++;
		cmd_set_text(app, app->hist_pos < app->n_hist ? app->hist[app->hist_pos] : "");
	}
	return REDRAW_STATUS;
}

static int cact_complete(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	(void)arg;
	return app->cmd_prompt == '/' ? 0 : complete(app);
}

/* Enter: the search, or the command (kept in the history). */
static int cact_run(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	(void)arg;
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
	if (!app->ready && !cmd_works_unready(line)) {
		/* the commands read the models' predictions: this one waits for them */
		bool replaced = app->cmd_pending != NULL;
		free(app->cmd_pending);
		app->cmd_pending = xstrdup(line);
		app_message(app, false, ":%.200s runs when the predictions are derived%s", line,
		            replaced ? " (instead of the one typed before)" : "");
		return REDRAW_STATUS;
	}
	return cmd_run(app, line) | REDRAW_STATUS;
}

int cmdline_run_pending(struct app *app)
{
	if (!app->cmd_pending || !app->ready)
		return 0;
	char *line = app->cmd_pending;
	app->cmd_pending = NULL;
	int flags = cmd_run(app, line) | REDRAW_STATUS;
	free(line);
	return flags;
}

static struct key_action cmdline_acts[] = {
    {"run", "run the command (or search)", cact_run, 0, K('\n', '\r', KEY_ENTER)},
    {"cancel", "close the line", cact_cancel, 0, K(KEY_ESC, CTRL('c'), CTRL('g'))},
    {"complete", "complete the word (twice: list the choices)", cact_complete, 0, K('\t')},
    {"backspace", "delete the character before the cursor", cact_delete, 0,
     K(127, CTRL('h'), KEY_BACKSPACE)},
    {"delete", "delete the character under the cursor", cact_delete, 1, K(KEY_DC)},
    {"kill-end", "delete to the end of the line", cact_delete, 2, K(CTRL('k'))},
    {"kill-word", "delete the word before the cursor", cact_delete, 3, K(CTRL('w'))},
    {"kill-start", "delete to the start of the line", cact_delete, 4, K(CTRL('u'))},
    {"start", "to the start of the line", cact_cursor, 0, K(CTRL('a'), KEY_HOME)},
    {"end", "to the end of the line", cact_cursor, 1, K(CTRL('e'), KEY_END)},
    {"left", "a character left", cact_cursor, -1, K(KEY_LEFT)},
    {"right", "a character right", cact_cursor, 2, K(KEY_RIGHT)},
    {"history-prev", "the older line of the history", cact_history, -1, K(KEY_UP)},
    {"history-next", "the newer line of the history", cact_history, 1, K(KEY_DOWN)},
};
KEYMODE(cmdline_keys, "cmdline", "Keys of the command line", cmdline_acts);

int cmdline_key(struct app *app, wint_t ch, bool is_key)
{
	if (is_key || ch != '\t')
		app->msg[0] = '\0'; /* the completion choices of the last Tab */
	/* a character that is not ASCII may share its number with a KEY_ code */
	const struct key_action *a =
	    !is_key && ch > 255 ? NULL : keymode_find(&cmdline_keys, (int)ch);
	if (a)
		return a->run(app, NULL, NULL, a->arg);
	if (!is_key && iswprint(ch) && app->cmd_len + 1 < CMD_MAX) {
		wmemmove(app->cmd + app->cmd_pos + 1, app->cmd + app->cmd_pos,
		         app->cmd_len - app->cmd_pos + 1);
		app->cmd[app->cmd_pos++] = (wchar_t)ch;
		app->cmd_len++;
	}
	return REDRAW_STATUS;
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
