/*
 * status.c — the status line: the study, the filter, shown/total, the way back, the decisions
 * applied, the sort key, the pair and the worker's progress, shortened on narrow terminals.
 */
#include "tui_int.h"

#include <stdio.h>
#include <stdlib.h>

#include "nncmp/journal.h"
#include "nncmp/text.h"
#include "triage.h"
#include "worker.h"

void status_draw(struct app *app)
{
	WINDOW *w = app->status;
	if (!w)
		return;
	int width = app->cols;
	attr_t a = role_attr(ROLE_STATUS);
	werase(w);
	draw_safe(app, w, 0, 0, width, "", a, true);
	const char *sep = glyph(app, " \xe2\x94\x82 ", " | ");
	char right[512];
	char *key = text_sanitize(app->sort_key, !app->utf8);
	char work[96] = "";
	double frac = -1;
	char what[64];
	if (app->worker && worker_busy(app->worker, what, sizeof what, &frac)) {
		char *ws = text_sanitize(what, !app->utf8);
		if (frac >= 0)
			snprintf(work, sizeof work, "%s%s %2.0f%%", sep, ws, 100 * frac);
		else
			snprintf(work, sizeof work, "%s%s...", sep, ws);
		free(ws);
	}
	char dec[64] = "";
	/* the journal's decisions, when some are saved but not yet applied (a job was reading the
	 * study: triage_applied); else those applied */
	size_t saved = app->s->n_decided;
	if (app->tr && app->tr->j && app->tr->apply_pending)
		saved = journal_count(app->tr->j, DECIDE_RELABEL) +
		        journal_count(app->tr->j, DECIDE_REMOVE) +
		        journal_count(app->tr->j, DECIDE_KEEP);
	if (saved != app->s->n_decided)
		snprintf(dec, sizeof dec, "%s%zu decision%s saved, %zu applied", sep, saved,
		         saved == 1 ? "" : "s", app->s->n_decided);
	else if (saved)
		snprintf(dec, sizeof dec, "%s%zu decision%s applied", sep, saved,
		         saved == 1 ? "" : "s");
	/* the back step is a key of its own (Esc only closes things): say when there is one */
	char back[48] = "", kb[24];
	if (app->n_back)
		snprintf(back, sizeof back, "%s%s back", sep, action_key("back", kb, sizeof kb));
	snprintf(right, sizeof right, "%s%zu/%zu%s%s%ssort: %.40s%sA=%.24s B=%.24s%s ", sep,
	         app->n_sel, app->s->n, back, dec, sep, key, sep, app->model_names[app->a],
	         app->model_names[app->b], work);
	int rc = text_cols(right);
	int x = draw_text(app, w, 0, 1, 24, app->s->name, a | A_BOLD, false) + 1;
	x += draw_safe(app, w, 0, x, width - x, sep, a, false);
	x += draw_safe(app, w, 0, x, width - x, "filter: ", a, false);
	int room = width - x - rc;
	if (room < 20) {
		/* narrow: the filter and the count matter more than the pair (the panes name it) */
		snprintf(right, sizeof right, "%s%zu/%zu%s%s%ssort: %.40s%s ", sep, app->n_sel,
		         app->s->n, back, dec, sep, key, work);
		rc = text_cols(right);
		room = width - x - rc;
	}
	if (room < 8) {
		/* narrower: the count and the way back */
		snprintf(right, sizeof right, "%s%zu/%zu%s ", sep, app->n_sel, app->s->n, back);
		rc = text_cols(right);
		room = width - x - rc;
	}
	free(key);
	draw_text(app, w, 0, x, room, *app->filter ? app->filter : "(all)", a | A_BOLD, false);
	if (width - rc > x)
		draw_safe(app, w, 0, width - rc, rc, right, a, false);
	wnoutrefresh(w);
}
