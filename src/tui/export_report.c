/*
 * export_report.c — :export-report PATH: `nncmp report --html` (cli's report_html_selection,
 * the same code) over the instances the panes show, written whole or not at all. It runs on the
 * worker (the report's pairs and label-issue ranking take seconds on a large study): the key
 * returns at once, the status line says it is being written, and the message line says when it
 * is. One export at a time: another is refused while one is being written.
 */
#include "views.h"

#include <stdlib.h>
#include <string.h>

#include "../cli/cli.h"
#include "worker.h"

struct xjob {
	const struct study *s;
	char *filter; /* NULL: all instances */
	uint32_t *idx;
	size_t n, images;
	char *path;
	bool force;
	int rc;
	struct nn_err err;
};

static int xjob_run(void *p, struct nn_progress *prog, struct nn_err *err)
{
	(void)prog;
	(void)err;
	struct xjob *j = p;
	/* the outcome is reported by xjob_done in the message line, not as the job's error */
	j->rc = report_html_selection(j->s, j->filter, j->idx, j->n, j->path, j->force, &j->images,
	                              &j->err);
	return 0;
}

static void xjob_message(struct app *app, const struct xjob *j)
{
	if (j->rc != EXIT_OK)
		app_message(app, true, "%s%s", j->err.msg,
		            j->force ? "" : "; :export-report! replaces it");
	else
		app_message(app, false, "wrote %.200s (HTML, %zu instance%s, %zu image%s)", j->path,
		            j->n, j->n == 1 ? "" : "s", j->images, j->images == 1 ? "" : "s");
}

static int xjob_done(struct app *app, void *p, int rc, const struct nn_err *err)
{
	(void)rc;
	(void)err;
	xjob_message(app, p);
	free(app->exporting);
	app->exporting = NULL;
	return REDRAW_STATUS;
}

static void xjob_free(void *p)
{
	struct xjob *j = p;
	free(j->filter);
	free(j->idx);
	free(j->path);
	free(j);
}

int report_export(struct app *app, const char *path, bool force)
{
	if (!path || !*path) {
		app_message(app, true,
		            ":export-report wants a path, e.g. :export-report report.html");
		return REDRAW_STATUS;
	}
	if (app->exporting) {
		app_message(app, true, ":export-report: %.200s is still being written",
		            app->exporting);
		return REDRAW_STATUS;
	}
	struct xjob *j = xcalloc(1, sizeof *j);
	j->s = app->s;
	j->filter = app->filter[0] ? xstrdup(app->filter) : NULL;
	j->idx = view_sel_sorted(app, &j->n);
	j->path = xstrdup(path);
	j->force = force;
	if (!app->worker) {
		xjob_run(j, NULL, NULL);
		xjob_message(app, j);
		xjob_free(j);
		return REDRAW_STATUS;
	}
	app->exporting = xstrdup(path);
	struct job job = {
	    .tag = JOB_EXPORT, .ctx = j, .run = xjob_run, .done = xjob_done, .free = xjob_free};
	snprintf(job.what, sizeof job.what, "writing %.50s", path);
	worker_submit(app->worker, &job);
	app_message(app, false, "writing %.200s %s", path, glyph(app, "\xe2\x80\xa6", "..."));
	return REDRAW_STATUS;
}
