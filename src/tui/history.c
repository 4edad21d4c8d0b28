/*
 * history.c — the command line's history kept across runs, in $XDG_STATE_HOME/nncmp/history
 * (~/.local/state/nncmp/history when unset): one command a line, the last HIST_MAX kept.
 *
 * Reading never blocks and never trusts the file: it is opened with O_NONBLOCK and must be a
 * regular file (a FIFO or a device is refused, not waited on), of bounded size; lines with control
 * characters are dropped. Writing never leaves a half-written file: the new history goes to a
 * temporary file in the same directory, is fsync'd and renamed over the old one, so a crash
 * leaves either the old history or the new one. Each write first merges what other nncmp sessions
 * appended since, so that two sessions do not lose each other's commands.
 */
#include "tui_int.h"

#include "nncmp/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A history file larger than this is not ours to read (HIST_MAX lines of a full command line). */
#define HIST_FILE_MAX ((size_t)HIST_MAX * (CMD_MAX * 4 + 1))

/* Writes the history file's directory into dir and its path into path; false when neither
 * $XDG_STATE_HOME nor $HOME is set. */
static bool history_paths(char *dir, size_t dsize, char *path, size_t psize)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(dir, dsize, "%.3900s/nncmp", xdg);
	else if (home && *home)
		snprintf(dir, dsize, "%.3900s/.local/state/nncmp", home);
	else
		return false;
	snprintf(path, psize, "%.3990s/history", dir);
	return true;
}

/* True when line can be a command of the history: not empty, no control characters. */
static bool line_ok(const char *line, size_t n)
{
	if (n == 0 || n > CMD_MAX * 4)
		return false;
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)line[k] < 0x20 || line[k] == 0x7f)
			return false;
	return true;
}

/* Appends line to the list v[0..*n) of at most HIST_MAX (the oldest goes), unless it repeats the
 * last one. */
static void list_push(char **v, size_t *n, const char *line)
{
	if (*n && strcmp(v[*n - 1], line) == 0)
		return;
	if (*n == HIST_MAX) {
		free(v[0]);
		memmove(v, v + 1, (HIST_MAX - 1) * sizeof *v);
		(*n)--;
	}
	v[(*n)++] = xstrdup(line);
}

/*
 * Reads the history file into v (at most HIST_MAX, the newest); returns 0 (also when there is no
 * file), or -1 with err set when it cannot be read (not a regular file, too large, unreadable).
 */
static int history_read(const char *path, char **v, size_t *n, struct nn_err *err)
{
	*n = 0;
	struct stat st;
	if (stat(path, &st) != 0 && errno == ENOENT)
		return 0;
	size_t len = 0;
	char *buf = file_read_all(path, HIST_FILE_MAX, &len, err);
	if (!buf)
		return -1;
	for (char *p = buf; p < buf + len;) {
		char *nl = memchr(p, '\n', (size_t)(buf + len - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(buf + len - p);
		p[l] = '\0';
		if (line_ok(p, l))
			list_push(v, n, p);
		p += l + 1;
	}
	free(buf);
	return 0;
}

static void list_free(char **v, size_t n)
{
	for (size_t k = 0; k < n; k++)
		free(v[k]);
}

void history_load(struct app *app)
{
	char dir[4096], path[4100];
	if (!history_paths(dir, sizeof dir, path, sizeof path))
		return;
	struct nn_err err = {{0}};
	char *v[HIST_MAX];
	size_t n = 0;
	if (history_read(path, v, &n, &err) != 0) {
		app->hist_off = true; /* never replace what we could not read */
		app_message(app, true, "history: %s (not kept this session)", err.msg);
		return;
	}
	for (size_t k = 0; k < n; k++)
		list_push(app->hist, &app->n_hist, v[k]);
	list_free(v, n);
	app->hist_pos = app->n_hist;
}

void history_save(struct app *app, const char *line)
{
	char dir[4096], path[4100];
	if (app->hist_off || !history_paths(dir, sizeof dir, path, sizeof path))
		return;
	struct nn_err err = {{0}};
	char *v[HIST_MAX];
	size_t n = 0;
	/* what other sessions wrote since, then this line */
	if (history_read(path, v, &n, &err) != 0) {
		app->hist_off = true;
		app_message(app, true, "history: %s (not kept this session)", err.msg);
		return;
	}
	list_push(v, &n, line);
	/* written whole or not at all, private as a shell's history is */
	struct outfile out = {0};
	int rc = mkdir_p(dir, 0700) == 0 ? 0 : nn_err_set(&err, "%s: %s", dir, strerror(errno));
	if (rc == 0)
		rc = outfile_open(&out, path, 0600, &err);
	for (size_t k = 0; rc == 0 && k < n; k++)
		fprintf(out.f, "%s\n", v[k]);
	if (rc == 0)
		rc = outfile_finish(&out, &err);
	if (rc == 0)
		rc = outfile_commit(&out, true, NULL, &err);
	outfile_discard(&out);
	if (rc != 0) {
		app->hist_off = true;
		app_message(app, true, "history: %.300s (not kept this session)", err.msg);
	}
	list_free(v, n);
}
