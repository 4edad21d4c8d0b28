/*
 * triage.h — what the triage files share (triage.c the session, view_review.c the review queue,
 * view_overview.c Bäuerle's overview): the session's journal and the hand-over of an overview
 * cell to the review it opens. app->tr owns it from triage_open() to triage_close().
 */
#ifndef NNCMP_TUI_TRIAGE_H
#define NNCMP_TUI_TRIAGE_H

#include "tui_int.h"

#include "nncmp/journal.h"

struct triage {
	struct journal *j; /* NULL when no journal could be opened */
	uint64_t j_gen;    /* counts the journals j has been (triage_writable replaces it) */
	bool read_only;
	char why_ro[NN_ERR_MAX]; /* why the journal could not be taken for writing, or "" */
	/* the samples of an overview cell, handed to the review it opens */
	uint32_t *cell;
	size_t n_cell;
	char cell_title[200];
	/* decisions saved in the journal but not yet applied to the study: a worker job was
	 * reading it (triage_applied) */
	bool apply_pending;
};

/* Whether the journal is applied and triage may write it (false with --no-journal). */
bool triage_journal_on(void);
/*
 * After a decision or an undo: the study takes the journal's labels and statuses, and the
 * filter, the metrics and the panes follow them. Returns the flags for that. The journal holds
 * the decision already; while a worker job reads the study, the study is not changed under it:
 * the worker is held and triage_poll() applies the journal once that job has ended.
 */
int triage_applied(struct app *app);
/* Takes the journal for writing (the review needs it); false, with a message, when it cannot. */
bool triage_writable(struct app *app);

#endif
