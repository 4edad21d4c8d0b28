/*
 * selection.c — the instances the panes show: the filter (typed, or built by the agreement
 * controls and drill-ins), the Esc stack of earlier filters, the sort order, the pair of models,
 * and the metrics of the selection (computed here, once per change, never while drawing).
 */
#include "tui_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nncmp/filter.h"
#include "nncmp/keysort.h"
#include "nncmp/text.h"
#include "trace.h"
#include "views.h"
#include "worker.h"

enum decision_status app_label_text(const struct app *app, size_t i, char *buf, size_t size)
{
	const struct study *s = app->s;
	enum decision_status st = study_status(s, i);
	int32_t given = study_given(s)[i], now = s->labels[i];
	if (given != now)
		snprintf(buf, size, "%s%s%s", app->class_names[given],
		         glyph(app, "\xe2\x86\x92", "->"), app->class_names[now]);
	else
		snprintf(buf, size, "%s", app->class_names[now]);
	return st;
}

char *const *app_class_abbrev(struct app *app, int width, enum classnames_kind *kind)
{
	width = width < 1 ? 1 : width;
	size_t n = app->s->n_classes, k = 0;
	while (k < app->n_abbrev && app->abbrev[k].width != width)
		k++;
	if (k == app->n_abbrev) {
		/* a full cache (more widths than any screen uses) reuses its last entry */
		size_t cap = sizeof app->abbrev / sizeof *app->abbrev;
		if (k == cap) {
			k = cap - 1;
			classnames_free(app->abbrev[k].names, n);
		} else {
			app->abbrev[k].names = xcalloc(n ? n : 1, sizeof *app->abbrev[k].names);
			app->n_abbrev++;
		}
		app->abbrev[k].width = width;
		app->abbrev[k].kind = classnames_abbrev((const char *const *)app->class_names, n,
		                                        width, !app->utf8, app->abbrev[k].names);
	}
	if (kind)
		*kind = app->abbrev[k].kind;
	return app->abbrev[k].names;
}

enum decision_status app_label_short(struct app *app, size_t i, int width, char *buf, size_t size)
{
	const struct study *s = app->s;
	int32_t given = study_given(s)[i], now = s->labels[i];
	if (given == now) {
		snprintf(buf, size, "%s", app_class_abbrev(app, width, NULL)[now]);
		return study_status(s, i);
	}
	const char *arrow = glyph(app, "\xe2\x86\x92", "->");
	int room = width - text_width(arrow), w1 = room / 2, w2 = room - w1;
	char *g = xstrdup(app_class_abbrev(app, w1, NULL)[given]);
	snprintf(buf, size, "%s%s%s", g, arrow, app_class_abbrev(app, w2, NULL)[now]);
	free(g);
	return study_status(s, i);
}

size_t app_current(const struct app *app)
{
	size_t k = app->panes[PANE_INSTANCES].nav.cur;
	return k < app->n_sel ? app->sel[k] : SIZE_MAX;
}

/* The bootstrap's seed: `nncmp report`'s default (1) plus the pair's place in its list, so that
 * the TUI shows the interval report prints. */
#define BOOT_SEED 1

/* The bootstrap of the pair's accuracy difference (metrics_pair_bootstrap), on the worker. */
struct boot_job {
	struct agreement all; /* counts of the pair in report's order: models lo, hi */
	size_t n;
	uint64_t seed, gen;
	bool swapped; /* the TUI's A is report's hi: the interval of B − A is the negation */
	double lo, hi;
};

static int boot_job_run(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	(void)prog;
	(void)err;
	struct boot_job *j = ctx;
	metrics_pair_bootstrap(&j->all, j->n, BOOT_REPS, j->seed, &j->lo, &j->hi);
	return 0;
}

/* Puts the interval, in the TUI's orientation (B − A), into pm. */
static void boot_store(struct pair_metrics *pm, const struct boot_job *j)
{
	pm->ci_lo = j->swapped ? -j->hi : j->lo;
	pm->ci_hi = j->swapped ? -j->lo : j->hi;
	pm->boot_reps = BOOT_REPS;
}

static int boot_job_done(struct app *app, void *ctx, int rc, const struct nn_err *err)
{
	(void)err;
	struct boot_job *j = ctx;
	if (rc != 0 || j->gen != app->pm_gen)
		return 0; /* the pair or the selection changed: a newer job is on its way */
	boot_store(&app->pm, j);
	app->ci_pending = false;
	return REDRAW_ONE(PANE_AGREE);
}

/*
 * Starts the bootstrap interval of app->pm: 10,000 replicates take about 12 ms whatever the
 * selection's size (measured on the 2-core test machine), too long for a keystroke, so it goes
 * to the worker and the agreement pane shows "..." until it arrives (at once without a worker).
 */
static void boot_request(struct app *app)
{
	const struct pair_metrics *pm = &app->pm;
	struct boot_job *j = xcalloc(1, sizeof *j);
	j->swapped = app->a > app->b;
	j->all = pm->all;
	if (j->swapped) {
		j->all.only_a = pm->all.only_b;
		j->all.only_b = pm->all.only_a;
	}
	j->n = pm->n;
	j->seed = BOOT_SEED + metrics_pair_index(app->s->n_models, app->a, app->b);
	j->gen = app->pm_gen;
	if (!app->worker) {
		boot_job_run(j, NULL, NULL);
		boot_store(&app->pm, j);
		free(j);
		return;
	}
	struct job job = {
	    .tag = JOB_BOOT, .ctx = j, .run = boot_job_run, .done = boot_job_done, .free = free};
	snprintf(job.what, sizeof job.what, "bootstrap interval");
	app->ci_pending = true;
	worker_submit(app->worker, &job);
}

/* Selections up to this size get their metrics at once (a few milliseconds on the 2-core test
 * machine); larger ones on the worker: 4M instances of 3 models took 0.2-0.3 s. */
#ifndef METRICS_SYNC_MAX
#define METRICS_SYNC_MAX 100000
#endif

/* The metrics of every model and of the pair over a copy of the selection, on the worker. */
/* Every model's tables and the pair (a, b)'s over sel[0..n), in one pass (metrics_study). */
static void selection_tables(const struct study *s, const uint32_t *sel, size_t n, size_t a,
                             size_t b, struct model_metrics *mm, struct pair_metrics *pm)
{
	size_t ab[2] = {a, b};
	int64_t *n_correct = xcalloc(s->n_models + 1, sizeof *n_correct);
	metrics_study(s, sel, n, ab, 1, 0, 0, 1, mm, pm, n_correct);
	free(n_correct);
}

struct metrics_job {
	const struct study *s;
	uint32_t *sel;
	size_t n, a, b;
	uint64_t gen;
	struct model_metrics *mm; /* s->n_models */
	struct pair_metrics pm;
};

/* The metrics of j's selection (on the worker); -1 when cancelled. */
static int metrics_job_count(struct metrics_job *j, struct nn_progress *prog, struct nn_err *err)
{
	if (atomic_load(&prog->cancel))
		return nn_err_set(err, "cancelled");
	selection_tables(j->s, j->sel, j->n, j->a, j->b, j->mm, &j->pm);
	return 0;
}

static int metrics_job_run(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	if (worker_test_delay(prog) != 0)
		return nn_err_set(err, "cancelled");
	return metrics_job_count(ctx, prog, err);
}

/* Frees what a metrics job holds (not the job). */
static void metrics_job_clear(struct metrics_job *j)
{
	for (size_t m = 0; j->mm && m < j->s->n_models; m++)
		metrics_model_free(&j->mm[m]);
	free(j->mm);
	metrics_pair_free(&j->pm);
	free(j->sel);
}

static void metrics_job_free(void *ctx)
{
	metrics_job_clear(ctx);
	free(ctx);
}

/* The new metrics replace the old ones (dimmed until now) and the bootstrap follows. */
static void metrics_landed(struct app *app)
{
	app->metrics_pending = false;
	app->have_metrics = true;
	app->pm_gen++;
	app->ci_pending = false;
	if (app->worker)
		worker_cancel(app->worker, JOB_BOOT);
	if (app->a != app->b && app->pm.n > 0)
		boot_request(app);
}

/* Moves j's metrics into the app: they replace the old ones, dimmed until now. */
static void metrics_take(struct app *app, struct metrics_job *j)
{
	for (size_t m = 0; m < app->s->n_models; m++) {
		metrics_model_free(&app->mm[m]);
		app->mm[m] = j->mm[m];
		memset(&j->mm[m], 0, sizeof j->mm[m]);
	}
	metrics_pair_free(&app->pm);
	app->pm = j->pm;
	memset(&j->pm, 0, sizeof j->pm);
	metrics_landed(app);
	trace_event("metrics");
}

static int metrics_job_done(struct app *app, void *ctx, int rc, const struct nn_err *err)
{
	struct metrics_job *j = ctx;
	if (j->gen != app->metrics_gen)
		return 0; /* the selection or the pair changed since: a newer job is on its way */
	if (rc != 0) {    /* only a fault on a mapped file: the old counts stay, not dimmed */
		app->metrics_pending = false;
		app_message(app, true, "metrics not updated: %s", err->msg);
		return REDRAW_ALL;
	}
	metrics_take(app, j);
	/* the models view copies these metrics when it opens: it takes the new ones */
	if (app->view == &view_models)
		app->view_refilter = true;
	return REDRAW_ALL;
}

void app_recompute(struct app *app)
{
	const struct study *s = app->s;
	/* before the derivation lands there is nothing to count (app_ready calls this); while a
	 * filter is applied on the worker its job counts the new selection (select_job_done) */
	if (!app->ready || app->select_pending)
		return;
	app->metrics_gen++;
	if (app->worker && (app->n_sel > METRICS_SYNC_MAX || worker_test_delayed())) {
		struct metrics_job *j = xcalloc(1, sizeof *j);
		*j = (struct metrics_job){
		    .s = s, .n = app->n_sel, .a = app->a, .b = app->b, .gen = app->metrics_gen};
		j->sel = xreallocarray(NULL, app->n_sel ? app->n_sel : 1, sizeof *j->sel);
		memcpy(j->sel, app->sel, app->n_sel * sizeof *j->sel);
		j->mm = xcalloc(s->n_models, sizeof *j->mm);
		struct job job = {.tag = JOB_METRICS,
		                  .ctx = j,
		                  .run = metrics_job_run,
		                  .done = metrics_job_done,
		                  .free = metrics_job_free};
		snprintf(job.what, sizeof job.what, "counting %zu instances", app->n_sel);
		app->metrics_pending = true;
		/* the interval of the old counts would land on the new ones */
		worker_cancel(app->worker, JOB_BOOT);
		app->ci_pending = false;
		worker_submit(app->worker, &job);
		return;
	}
	if (app->worker)
		worker_cancel(app->worker, JOB_METRICS);
	for (size_t m = 0; m < s->n_models; m++)
		metrics_model_free(&app->mm[m]);
	metrics_pair_free(&app->pm);
	selection_tables(s, app->sel, app->n_sel, app->a, app->b, app->mm, &app->pm);
	metrics_landed(app);
}

/* Orders sel[0..n) by key (expr_sort), with the key's values in *keys when keys is not NULL;
 * returns 0, or -1 with the message line set. */
static int sort_indices(struct app *app, uint32_t *sel, size_t n, const char *key, double **keys)
{
	struct nn_err err = {{0}};
	size_t col = 0;
	if (expr_sort(app->s, sel, n, key, keys, &err, &col) == 0)
		return 0;
	if (col)
		app_message(app, true, "sort: %s (column %zu): %.100s", err.msg, col, key);
	else /* a condition as a key, or rows of the key that could not be read */
		app_message(app, true, "sort not applied: %s", err.msg);
	return -1;
}

/* Selections up to this size are sorted at once; larger ones on the worker (a neuron's column
 * of a million rows takes seconds to gather from the mapped layer). */
#ifndef SORT_SYNC_MAX
#define SORT_SYNC_MAX 100000
#endif

/*
 * After a sort that failed (rows of its key could not be read): no order by NaN keys, the
 * selection in index order and the key "index", so that the table says what it shows.
 */
static void sort_drop(struct app *app)
{
	free(app->sort_key);
	app->sort_key = xstrdup("index");
	free(app->sel_keys);
	app->sel_keys = NULL;
	keysort_index(app->sel, app->n_sel);
}

struct sort_job {
	const struct study *s;
	uint32_t *sel;
	size_t n;
	char *key;
	double *keys; /* each sorted entry's value of key (NULL for index and id) */
	uint64_t gen;
	struct nn_err err;
	size_t col;
};

static int sort_job_run(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	(void)prog;
	struct sort_job *j = ctx;
	/* every key breaks its ties by index (expr_sort) */
	return expr_sort(j->s, j->sel, j->n, j->key, &j->keys, err, &j->col);
}

static int sort_job_done(struct app *app, void *ctx, int rc, const struct nn_err *err)
{
	struct sort_job *j = ctx;
	if (j->gen != app->sel_gen)
		return 0; /* the selection changed since: a newer sort is on its way */
	app->sorting = false;
	if (rc != 0) {
		app_message(app, true, "sort not applied: %s", err->msg);
		sort_drop(app);
		return REDRAW_STATUS | REDRAW_ONE(PANE_INSTANCES) | REDRAW_ONE(PANE_DETAIL);
	}
	free(app->sel);
	app->sel = j->sel; /* the same instances, in the key's order */
	j->sel = NULL;
	free(app->sel_keys);
	app->sel_keys = j->keys; /* computed once, with the order: the table's key column */
	j->keys = NULL;
	app->panes[PANE_INSTANCES].nav.cur = app->panes[PANE_INSTANCES].nav.top = 0;
	return REDRAW_ONE(PANE_INSTANCES) | REDRAW_ONE(PANE_DETAIL) | REDRAW_STATUS;
}

static void sort_job_free(void *ctx)
{
	struct sort_job *j = ctx;
	free(j->sel);
	free(j->keys);
	free(j->key);
	free(j);
}

/*
 * Puts app->sel in app->sort_key's order: at once for a small selection, else on the worker
 * (app->sorting says so until it is done; the table shows index order meanwhile). index_order:
 * sel is in index order already (as expr_select leaves it).
 */
static void sort_request(struct app *app, bool index_order)
{
	app->sel_gen++;
	app->sorting = false;
	free(app->sel_keys); /* they belong to the order sel had */
	app->sel_keys = NULL;
	if (app->worker)
		worker_cancel(app->worker, JOB_SORT);
	bool by_index = strcmp(app->sort_key, "index") == 0; /* integers only: always quick */
	if (by_index && index_order)
		return;
	if (!app->worker || app->n_sel <= SORT_SYNC_MAX || by_index) {
		uint32_t *sel = xcalloc(app->n_sel ? app->n_sel : 1, sizeof *sel);
		memcpy(sel, app->sel, app->n_sel * sizeof *sel);
		if (sort_indices(app, sel, app->n_sel, app->sort_key, &app->sel_keys) == 0) {
			free(app->sel);
			app->sel = sel;
		} else {
			free(sel);
			sort_drop(app);
		}
		return;
	}
	struct sort_job *j = xcalloc(1, sizeof *j);
	j->s = app->s;
	j->n = app->n_sel;
	j->sel = xcalloc(app->n_sel ? app->n_sel : 1, sizeof *j->sel);
	memcpy(j->sel, app->sel, app->n_sel * sizeof *j->sel);
	j->key = xstrdup(app->sort_key);
	j->gen = app->sel_gen;
	struct job job = {.tag = JOB_SORT,
	                  .ctx = j,
	                  .run = sort_job_run,
	                  .done = sort_job_done,
	                  .free = sort_job_free};
	char *k = text_sanitize(app->sort_key, true);
	snprintf(job.what, sizeof job.what, "sorting by %.40s", k);
	free(k);
	app->sorting = true;
	worker_submit(app->worker, &job);
}

/* Studies up to this size are filtered at once; larger ones on the worker: expr_select reads
 * the arrays a filter names, N entries each (20-40 ms at 4M, more than a frame), and the job
 * counts the metrics of its result as well. */
#ifndef SELECT_SYNC_MAX
#define SELECT_SYNC_MAX 100000
#endif

static int select_install(struct app *app, const char *text, enum agree_mode mode, int cls,
                          bool push, uint32_t *sel, size_t n);

/* A filter applied on the worker: the selection of e, then its metrics (in m). */
struct select_job {
	struct metrics_job m; /* m.sel, m.n: the selection, once run */
	struct expr *e;
	char *text;
	enum agree_mode mode;
	int cls;
	bool push;
	uint64_t gen;
};

static int select_job_run(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	struct select_job *j = ctx;
	if (worker_test_delay(prog) != 0)
		return nn_err_set(err, "cancelled");
	j->m.sel = xcalloc(j->m.s->n ? j->m.s->n : 1, sizeof *j->m.sel);
	j->m.n = expr_select(j->e, j->m.s, j->m.sel);
	if (expr_read_error(j->e, err) < 0) /* act() over rows that could not be read: NaN */
		return -1;
	return metrics_job_count(&j->m, prog, err);
}

static void select_job_free(void *ctx)
{
	struct select_job *j = ctx;
	metrics_job_clear(&j->m);
	expr_free(j->e);
	free(j->text);
	free(j);
}

static int select_job_done(struct app *app, void *ctx, int rc, const struct nn_err *err)
{
	struct select_job *j = ctx;
	if (j->gen != app->select_gen)
		return 0; /* a newer filter replaced it */
	app->select_pending = false;
	free(app->pending_filter);
	app->pending_filter = NULL;
	if (rc != 0) {
		app->metrics_pending = false;
		app_message(app, true, "filter not applied: %s", err->msg);
		return REDRAW_ALL | REDRAW_STATUS;
	}
	select_install(app, j->text, j->mode, j->cls, j->push, j->m.sel, j->m.n);
	j->m.sel = NULL; /* the app's now */
	if (j->m.a == app->a && j->m.b == app->b) {
		app->metrics_gen++; /* a metrics job still queued is older */
		if (app->worker)
			worker_cancel(app->worker, JOB_METRICS);
		metrics_take(app, &j->m);
	} else { /* the pair changed meanwhile: counted again */
		app_recompute(app);
	}
	neurons_request(app);
	return REDRAW_ALL | REDRAW_STATUS;
}

/* Drops a filter still on the worker. */
static void select_cancel(struct app *app)
{
	if (!app->select_pending)
		return;
	app->select_pending = false;
	free(app->pending_filter);
	app->pending_filter = NULL;
	app->select_gen++;
	if (app->worker)
		worker_cancel(app->worker, JOB_SELECT);
}

/*
 * Sends filter text (compiled: e, taken) to the worker; the old selection stays on the screen,
 * dimmed with the panes' counts, until select_job_done installs the new one. Returns what
 * app_set_filter returns on success (RECOMPUTE: the metrics come with the job).
 */
static int select_submit(struct app *app, struct expr *e, const char *text, enum agree_mode mode,
                         int cls, bool push)
{
	struct select_job *j = xcalloc(1, sizeof *j);
	j->m = (struct metrics_job){.s = app->s, .a = app->a, .b = app->b};
	j->m.mm = xcalloc(app->s->n_models, sizeof *j->m.mm);
	j->e = e;
	j->text = xstrdup(text);
	j->mode = mode;
	j->cls = cls;
	j->push = push;
	j->gen = ++app->select_gen;
	struct job job = {.tag = JOB_SELECT,
	                  .ctx = j,
	                  .run = select_job_run,
	                  .done = select_job_done,
	                  .free = select_job_free};
	snprintf(job.what, sizeof job.what, "filtering %zu instances", app->s->n);
	app->select_pending = app->metrics_pending = true;
	char *t = xstrdup(text); /* text may be the old pending_filter */
	free(app->pending_filter);
	app->pending_filter = t;
	app->pending_mode = mode;
	app->pending_cls = cls;
	app->pending_push = push;
	/* nothing counted for the old selection may land on the new one */
	app->metrics_gen++;
	worker_cancel(app->worker, JOB_METRICS);
	worker_cancel(app->worker, JOB_BOOT);
	app->ci_pending = false;
	worker_submit(app->worker, &job);
	return RECOMPUTE | REDRAW_ALL;
}

static void back_push(struct app *app)
{
	if (app->n_back == app->cap_back) {
		app->cap_back = app->cap_back ? app->cap_back * 2 : 16;
		app->back = xreallocarray(app->back, app->cap_back, sizeof *app->back);
	}
	app->back[app->n_back++] = (struct back_entry){xstrdup(app->filter), app->mode, app->cls};
}

int app_set_filter(struct app *app, const char *text, enum agree_mode mode, int cls, bool push)
{
	while (*text == ' ' || *text == '\t')
		text++;
	struct expr *e = NULL;
	if (*text) {
		struct nn_err err = {{0}};
		size_t col = 0;
		e = expr_compile_condition(app->s, text, &err, &col);
		if (!e) {
			if (col)
				app_message(app, true, "filter: %s (column %zu): %s", err.msg, col,
				            text);
			else
				app_message(app, true, "filter: %s: %s", err.msg, text);
			return REDRAW_STATUS;
		}
	}
	if (app->worker && (app->s->n > SELECT_SYNC_MAX || worker_test_delayed()))
		return select_submit(app, e, text, mode, cls, push);
	select_cancel(app);
	uint32_t *sel = xcalloc(app->s->n ? app->s->n : 1, sizeof *sel);
	size_t n = expr_select(e, app->s, sel);
	struct nn_err rerr = {{0}};
	if (expr_read_error(e, &rerr) < 0) { /* act() over rows that could not be read: NaN */
		app_message(app, true, "filter not applied: %s", rerr.msg);
		expr_free(e);
		free(sel);
		return REDRAW_STATUS;
	}
	expr_free(e);
	return select_install(app, text, mode, cls, push, sel, n);
}

/* The new selection sel[0..n) (taken) of filter text replaces the old one. Reaction flags. */
static int select_install(struct app *app, const char *text, enum agree_mode mode, int cls,
                          bool push, uint32_t *sel, size_t n)
{
	if (push && (strcmp(text, app->filter) != 0 || mode != app->mode || cls != app->cls))
		back_push(app);
	free(app->sel);
	app->sel = sel;
	app->n_sel = n;
	free(app->filter);
	app->filter = xstrdup(text);
	app->mode = mode;
	app->cls = cls;
	app->panes[PANE_INSTANCES].nav.cur = app->panes[PANE_INSTANCES].nav.top = 0;
	app->view_refilter = app->view != NULL; /* react(): a view that follows the filter */
	/* the sort key compiled when it was set, so this keeps the order the user chose */
	sort_request(app, true);
	if (cls >= 0) { /* the class follows into the agreement and confusion cursors */
		app->panes[PANE_AGREE].nav.cur = (size_t)cls + 1;
		if (mode != AGREE_CUSTOM)
			app->panes[PANE_CONFUSION].nav.cur = (size_t)cls;
	}
	return RECOMPUTE | REDRAW_ALL;
}

int app_refilter(struct app *app)
{
	bool pending = app->select_pending && app->pending_filter;
	/* a copy: app_set_filter replaces both */
	char *f = xstrdup(pending ? app->pending_filter : app->filter);
	int flags =
	    pending ? app_set_filter(app, f, app->pending_mode, app->pending_cls, app->pending_push)
	            : app_set_filter(app, f, app->mode, app->cls, false);
	free(f);
	return flags;
}

int app_agree(struct app *app, enum agree_mode mode, int cls)
{
	static const enum filter_outcome outcome[] = {[AGREE_ALL] = OUTCOME_ANY,
	                                              [AGREE_BOTH_RIGHT] = OUTCOME_BOTH_RIGHT,
	                                              [AGREE_ONLY_A] = OUTCOME_ONLY_A,
	                                              [AGREE_ONLY_B] = OUTCOME_ONLY_B,
	                                              [AGREE_BOTH_WRONG] = OUTCOME_BOTH_WRONG,
	                                              [AGREE_DISAGREE] = OUTCOME_DISAGREE};
	if (mode < AGREE_ALL || mode > AGREE_DISAGREE)
		mode = AGREE_ALL;
	char *f = filter_agreement(app->s, app->a, app->b, outcome[mode], cls);
	int rc = app_set_filter(app, f, mode, cls, true);
	free(f);
	return rc;
}

int app_back(struct app *app)
{
	if (app->n_back == 0) {
		app_message(app, false, "nothing to go back to: this is the first filter");
		return REDRAW_STATUS;
	}
	struct back_entry e = app->back[--app->n_back];
	int rc = app_set_filter(app, e.filter, e.mode, e.cls, false);
	free(e.filter);
	return rc;
}

int app_set_sort(struct app *app, const char *key)
{
	/* the key is checked here (compiling it is cheap); the sorting may go to the worker */
	if (sort_indices(app, NULL, 0, key, NULL) != 0)
		return REDRAW_STATUS;
	free(app->sort_key);
	app->sort_key = xstrdup(key);
	app->panes[PANE_INSTANCES].nav.cur = app->panes[PANE_INSTANCES].nav.top = 0;
	sort_request(app, false);
	return REDRAW_ONE(PANE_INSTANCES) | REDRAW_ONE(PANE_DETAIL) | REDRAW_STATUS;
}

static void model_list(const struct study *s, char *buf, size_t size)
{
	size_t k = 0;
	buf[0] = '\0';
	for (size_t m = 0; m < s->n_models && k + 2 < size; m++)
		k +=
		    (size_t)snprintf(buf + k, size - k, "%s%.40s", m ? " " : "", s->models[m].name);
}

int app_set_models(struct app *app, const char *a, const char *b)
{
	int ia = study_model_index(app->s, a), ib = study_model_index(app->s, b);
	char list[512];
	model_list(app->s, list, sizeof list);
	if (ia < 0 || ib < 0) {
		app_message(app, true, "no model called '%.60s' (models: %s)", ia < 0 ? a : b,
		            list);
		return REDRAW_STATUS;
	}
	if (ia == ib && app->s->n_models > 1) {
		app_message(app, true, "choose two different models (models: %s)", list);
		return REDRAW_STATUS;
	}
	app->view_remodel |= app->view && (app->a != (size_t)ia || app->b != (size_t)ib);
	app->a = (size_t)ia;
	app->b = (size_t)ib;
	app->panes[PANE_MODELS].nav.cur = app->a; /* of 30 models, the pane scrolls to show A */
	if (app->mode != AGREE_CUSTOM && app->mode != AGREE_ALL)
		return app_agree(app, app->mode, app->cls);
	return RECOMPUTE | REDRAW_ALL;
}

int app_swap(struct app *app)
{
	size_t t = app->a;
	app->a = app->b;
	app->b = t;
	app->view_remodel |= app->view && app->a != app->b; /* react(): a view of the pair */
	/* the agreement filter names the models: rebuild it for the new order */
	if (app->mode != AGREE_CUSTOM && app->mode != AGREE_ALL)
		return app_agree(app, app->mode, app->cls);
	return RECOMPUTE | REDRAW_ALL;
}
