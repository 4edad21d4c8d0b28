/*
 * triage.c — the triage session in the TUI: the study's journal of decisions (read-only until the
 * review needs to write), applying it to every pane after a decision, :export and :rescore. The
 * review queue is view_review.c, Bäuerle's overview view_overview.c (triage.h joins them).
 *
 * Every decision goes through journal_decide(), which returns only once the line is on disk; the
 * screen changes after it.
 */
#include "triage.h"
#include "views.h"
#include "worker.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "nncmp/issues.h"
#include "nncmp/journal.h"
#include "nncmp/keysort.h"
#include "nncmp/text.h"
#include "nncmp/tui.h"

/* ---- the journal for the session ---- */

/* Whether the journal's decisions are applied and triage may write them (--no-journal: not). */
static bool journal_on = true;

bool triage_journal_on(void)
{
	return journal_on;
}

void tui_set_journal(bool use)
{
	journal_on = use;
}

struct journal *triage_load(const struct study *s, struct nn_err *err)
{
	err->msg[0] = '\0';
	/* read-only until the user starts triage: opening a study must not write into it */
	return journal_on ? journal_open(s, false, err) : NULL;
}

void triage_attach(struct app *app, struct journal *j, const struct nn_err *err)
{
	struct triage *tr = xcalloc(1, sizeof *tr);
	app->tr = tr;
	tr->read_only = true;
	tr->j = j;
	if (!journal_on)
		return;
	if (!tr->j) {
		snprintf(tr->why_ro, sizeof tr->why_ro, "%s", err->msg); /* R says it again */
		app_message(app, true, "journal: %s", err->msg);
		return;
	}
	/* every pane shows the corrected labels from the start; a journal without a decision
	 * changes nothing (applying it would only copy the labels: 20 ms at 4M) */
	size_t n_dec = 0;
	journal_decisions(tr->j, &n_dec);
	if (n_dec > 0 && journal_apply(tr->j, app->s) > 0)
		app_message(app, false,
		            "%zu decision%s applied from the journal (--no-journal ignores them)",
		            app->s->n_decided, app->s->n_decided == 1 ? "" : "s");
	/* a torn last batch (a crash while writing) is said at once, as the CLI says it */
	const struct strvec *w = journal_warnings(tr->j);
	if (w->n)
		app_message(app, true, "journal: %s%s", w->v[0],
		            w->n > 1 ? " (and more: R lists them)" : "");
}

void triage_open(struct app *app)
{
	struct nn_err err = {{0}};
	struct journal *j = triage_load(app->s, &err);
	triage_attach(app, j, &err);
}

/*
 * After a decision or an undo: the study takes the journal's labels and statuses, and the
 * filter, the metrics and the panes follow them. Returns the flags for that.
 */
int triage_applied(struct app *app)
{
	struct triage *tr = app->tr;
	if (app->worker && worker_hold(app->worker)) {
		tr->apply_pending = true; /* triage_poll() applies it when the job ends */
		return REDRAW_STATUS;
	}
	tr->apply_pending = false;
	journal_apply(tr->j, app->s);
	int flags = app_refilter(app); /* a filter on the worker is not replaced by the old one */
	if (app->worker)
		worker_release(app->worker); /* the jobs queued meanwhile read the new labels */
	return flags | RECOMPUTE | REDRAW_ALL | REDRAW_STATUS;
}

int triage_poll(struct app *app)
{
	return app->tr && app->tr->apply_pending ? triage_applied(app) : 0;
}

/* A count that changes with every line written to the journal: decisions are only appended and
 * an undo only marks some undone, so 2·decisions + undone grows with each (a reopened journal
 * whose count differs was written by another nncmp meanwhile). */
static size_t journal_lines(const struct journal *j)
{
	size_t n = 0, undone = 0;
	const struct decision *d = j ? journal_decisions(j, &n) : NULL;
	for (size_t k = 0; d && k < n; k++)
		undone += d[k].undone;
	return n * (size_t)2 + undone;
}

static void journal_close_ctx(void *j)
{
	journal_close(j);
}

/* Takes the journal for writing (the review needs it); false, with a message, when it cannot. */
bool triage_writable(struct app *app)
{
	struct triage *tr = app->tr;
	if (!journal_on) {
		app_message(app, true,
		            "--no-journal: the journal is ignored, so triage cannot record");
		return false;
	}
	if (!tr->read_only)
		return true;
	if (journal_upgrade(tr->j)) { /* unchanged since it was read: no O(N) replay */
		tr->read_only = false;
		return true;
	}
	/* our own shared lock would refuse the exclusive one: let go of it first. A reader holds
	 * no file or lock once replayed (journal_open), only memory, which the job of a review
	 * closed a moment ago may still be reading (review_compute): with a worker, that memory
	 * is freed on it, after the job */
	size_t before = journal_lines(tr->j);
	if (app->worker && tr->j)
		worker_dispose(app->worker, journal_close_ctx, tr->j);
	else
		journal_close(tr->j);
	tr->j = NULL;
	tr->j_gen++; /* another journal from here on, whatever its address */
	struct nn_err err = {{0}};
	struct journal *j = journal_open(app->s, true, &err);
	if (!j) {
		struct nn_err err2 = {{0}};
		tr->j = journal_open(app->s, false, &err2);
		snprintf(tr->why_ro, sizeof tr->why_ro, "%s", tr->j ? err.msg : err2.msg);
		app_message(app, true, "triage is read-only: %s", err.msg);
		/* read again, it may hold what another nncmp decided meanwhile: the panes follow */
		if (tr->j && journal_lines(tr->j) != before)
			tr->apply_pending = true;
		return false;
	}
	tr->j = j;
	if (journal_lines(j) != before)
		tr->apply_pending = true; /* decisions another nncmp wrote since we read it */
	tr->read_only = false;
	const struct strvec *w = journal_warnings(j);
	if (w->n)
		app_message(app, false, "journal: %s", w->v[0]);
	return true;
}

void triage_close(struct app *app)
{
	struct triage *tr = app->tr;
	if (!tr)
		return;
	journal_close(tr->j);
	free(tr->cell);
	free(tr);
	app->tr = NULL;
}

int triage_export(struct app *app, const char *path, bool force)
{
	struct triage *tr = app->tr;
	if (!path || !*path) {
		app_message(app, true,
		            ":export wants a path, e.g. :export labels.csv (npy, csv, jsonl)");
		return REDRAW_STATUS;
	}
	if (!tr || !tr->j) {
		app_message(app, true, "no journal: nothing to export");
		return REDRAW_STATUS;
	}
	char *dec = journal_export_decisions_path(path, NULL);
	struct stat st;
	bool exists = stat(path, &st) == 0 || (dec && stat(dec, &st) == 0);
	free(dec);
	if (exists && !force) {
		app_message(app, true,
		            "%.300s (or its decisions table) exists: :export! %.300s replaces it",
		            path, path);
		return REDRAW_STATUS;
	}
	struct nn_err err = {{0}};
	if (journal_export(app->s, tr->j, path, NULL, &err) != 0) {
		app_message(app, true, "%s", err.msg);
		return REDRAW_STATUS;
	}
	dec = journal_export_decisions_path(path, NULL);
	app_message(app, false, "wrote %.200s and %.200s", path, dec ? dec : "");
	free(dec);
	return REDRAW_STATUS;
}

int triage_rescore(struct app *app)
{
	return view_open(app, "review");
}
