/*
 * worker.h — one background thread for the TUI's long computations (neuron statistics and
 * rankings, views over large layers, label-issue scores), so that keys keep working while they
 * run.
 *
 * A job is a run() that executes on the worker thread and a done() that the UI thread calls once
 * run() has returned. run() must not touch struct app or curses: it works on what its context
 * holds (copies of the selection, pointers into the study, which outlives the worker) and reports
 * progress and sees cancellation through struct nn_progress. Jobs run one at a time, in the order
 * submitted. A job submitted with the tag of a queued or running job replaces it: the queued one
 * is dropped, the running one is cancelled, and neither's done() is called.
 *
 * The worker owns a submitted job's context and calls job.free (if set) on it exactly once: after
 * done(), or when the job is dropped or cancelled.
 */
#ifndef NNCMP_TUI_WORKER_H
#define NNCMP_TUI_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "nncmp/util.h"

struct app;

/* Tags: a new job replaces the older one of the same tag. */
enum job_tag {
	JOB_NEURONS,
	JOB_VIEW,
	JOB_SORT,
	JOB_ISSUES,
	JOB_BOOT,    /* the pair's bootstrap interval */
	JOB_EXPORT,  /* :export-report's file */
	JOB_DERIVE,  /* the study's derivation, once, while the first screen shows (tui.c) */
	JOB_METRICS, /* the selection's metrics: the models, agreement and confusion panes */
	JOB_SELECT,  /* a filter's selection over a large study, and its metrics */
	JOB_SEARCH,  /* / over a long instance table */
	JOB_OTHER,
	JOB_TAG_COUNT
};

struct job {
	enum job_tag tag;
	char what[64]; /* for the status line: "ranking cnn.fc1" */
	void *ctx;
	/* Worker thread: returns 0, or -1 with a message in err ("cancelled" when prog->cancel). */
	int (*run)(void *ctx, struct nn_progress *prog, struct nn_err *err);
	/* UI thread, after run returned (not after cancellation); returns reaction flags. */
	int (*done)(struct app *app, void *ctx, int rc, const struct nn_err *err);
	void (*free)(void *ctx);
};

struct worker;

/* Starts the thread. Returns NULL only when a thread cannot be created. */
struct worker *worker_new(void);
/* Cancels everything, joins the thread and frees the jobs' contexts. */
void worker_free(struct worker *w);
/* Queues a job (copied), replacing any queued or running job with the same tag. */
void worker_submit(struct worker *w, const struct job *job);
/* Cancels the queued or running job with this tag, if any. */
void worker_cancel(struct worker *w, enum job_tag tag);
/* UI thread: calls done() of every finished job; returns the OR of their reaction flags. */
int worker_poll(struct worker *w, struct app *app);
/*
 * Calls fn(ctx) on the worker thread, before the next job starts (even while held): for a free()
 * of a large context that touches only its own memory, which would cost the UI thread the
 * unmapping of its pages. worker_free() calls those still waiting.
 */
void worker_dispose(struct worker *w, void (*fn)(void *ctx), void *ctx);
/*
 * Holds the worker: from now until worker_release() no queued job starts (jobs can still be
 * submitted). Returns true while a job that started before is still running, false when none
 * is: then nothing on the worker reads the study until the release, and the UI thread may
 * change it (a decision's labels).
 */
bool worker_hold(struct worker *w);
void worker_release(struct worker *w);
/*
 * Tests only: sleeps $NNCMP_TEST_DELAY_MS milliseconds (none when unset), in steps that see
 * prog->cancel; returns -1 when cancelled. The derivation, metrics, filter and search jobs call it
 * first, so that screen tests see what the screen shows while they run.
 */
int worker_test_delay(struct nn_progress *prog);
/* Tests only: sleeps $name milliseconds (none when unset), whether or not the job is cancelled
 * meanwhile. */
void worker_test_sleep(const char *name);
/* Whether $NNCMP_TEST_DELAY_MS is set (then the metrics, filters and searches of any size go to
 * the worker). */
bool worker_test_delayed(void);
/*
 * True while a job is queued or running; then what (size bytes) names the running one and
 * *fraction is its progress in [0, 1] (negative when unknown).
 */
bool worker_busy(struct worker *w, char *what, size_t size, double *fraction);

#endif
