/*
 * views.c — the host of the views reached by keys: opening one (prepare on the UI thread, compute
 * on the worker), the keys every view shares (the mode "view": close, move, scroll, Enter, search;
 * a view's own table comes first), the title line and the
 * progress shown while it computes, and helpers the views share (views.h).
 *
 * A view's context is shared by the UI (which draws it) and the worker (which computes into it)
 * through a small holder with a reference count: whichever lets go last frees it, so closing a
 * view whose computation is still running never frees memory the worker is writing.
 */
#include "views.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

#define VIEW_PTR(cls, name, help, keys) &cls,
const struct view_class *const view_classes[] = {NNCMP_VIEWS(VIEW_PTR) NULL};
#undef VIEW_PTR

/* What app->view_ctx points to while a view is open. */
struct view_holder {
	const struct view_class *cls;
	void *ctx;
	atomic_int refs;
	bool failed; /* compute() returned -1: err says why */
	struct nn_err err;
	bool pending; /* a view_submit() job has not landed yet */
	/* the view's own keys typed before it was ready, run in order once it is (else "M a"
	 * typed ahead in the review would lose M and decide on one sample, unconfirmed) */
	int ahead[16];
	bool ahead_is_key[16];
	size_t n_ahead;
};

static void holder_unref(void *p)
{
	struct view_holder *h = p;
	if (atomic_fetch_sub(&h->refs, 1) != 1)
		return;
	if (h->ctx && h->cls->free)
		h->cls->free(h->ctx);
	free(h);
}

static int job_run(void *p, struct nn_progress *prog, struct nn_err *err)
{
	struct view_holder *h = p;
	return h->cls->compute(h->ctx, prog, err);
}

/* UI thread: the computation ended; the view draws its result (or its error) from now on. */
static int job_done(struct app *app, void *p, int rc, const struct nn_err *err)
{
	struct view_holder *h = p;
	if (app->view_ctx != h)
		return 0; /* a view closed since */
	int flags = REDRAW_ALL | REDRAW_VIEW;
	if (rc == 0) {
		app->view_ready = true;
		size_t n = h->n_ahead;
		h->n_ahead = 0;
		for (size_t k = 0; k < n && app->view_ctx == h; k++)
			flags |= view_key(app, h->ahead[k], h->ahead_is_key[k]);
	} else {
		h->failed = true;
		h->err = *err;
	}
	return flags;
}

/* A view_submit() job: the view it belongs to (holding a reference) and the view's own job. */
struct view_job {
	struct view_holder *h;
	void *jctx;
	int (*run)(void *jctx, struct nn_progress *prog, struct nn_err *err);
	void (*done)(void *ctx, void *jctx, int rc, const struct nn_err *err);
	void (*free)(void *jctx);
};

static int vjob_run(void *p, struct nn_progress *prog, struct nn_err *err)
{
	struct view_job *j = p;
	return j->run(j->jctx, prog, err);
}

static int vjob_done(struct app *app, void *p, int rc, const struct nn_err *err)
{
	struct view_job *j = p;
	if (app->view_ctx != j->h)
		return 0; /* its view closed since */
	j->h->pending = false;
	j->done(j->h->ctx, j->jctx, rc, err);
	return REDRAW_VIEW | REDRAW_STATUS;
}

static void vjob_free(void *p)
{
	struct view_job *j = p;
	if (j->free)
		j->free(j->jctx);
	holder_unref(j->h);
	free(j);
}

void view_submit(struct app *app, const char *what, void *jctx,
                 int (*run)(void *jctx, struct nn_progress *prog, struct nn_err *err),
                 void (*done)(void *ctx, void *jctx, int rc, const struct nn_err *err),
                 void (*free_fn)(void *jctx))
{
	struct view_holder *h = app->view_ctx;
	struct view_job *j = xcalloc(1, sizeof *j);
	*j = (struct view_job){h, jctx, run, done, free_fn};
	atomic_fetch_add(&h->refs, 1);
	h->pending = true;
	if (!app->worker) {
		struct nn_progress prog;
		atomic_init(&prog.done, 0);
		atomic_init(&prog.total, 0);
		atomic_init(&prog.cancel, false);
		struct nn_err err = {{0}};
		int rc = run(jctx, &prog, &err);
		vjob_done(app, j, rc, &err);
		vjob_free(j);
		return;
	}
	/* JOB_VIEW: the view's own keys work only once its first computation landed, so this
	 * replaces only an older job of this kind, and closing the view cancels it */
	struct job job = {
	    .tag = JOB_VIEW, .ctx = j, .run = vjob_run, .done = vjob_done, .free = vjob_free};
	snprintf(job.what, sizeof job.what, "%s", what);
	worker_submit(app->worker, &job);
}

bool view_pending(const struct app *app)
{
	const struct view_holder *h = app->view_ctx;
	return h && h->pending;
}

void view_dim(WINDOW *w, int y0, int y1, int x, int cols)
{
	attr_t a = role_attr(ROLE_DIM);
	short pair = (short)PAIR_NUMBER(a);
	int W = getmaxx(w);
	if (x < 0 || x >= W)
		return;
	if (cols < 0 || cols > W - x)
		cols = W - x;
	for (int y = y0 < 0 ? 0 : y0; y < y1 && y < getmaxy(w); y++)
		mvwchgat(w, y, x, cols, a & ~A_COLOR, pair, NULL);
}

uint32_t *view_sel_sorted(const struct app *app, size_t *n)
{
	size_t N = app->s->n;
	uint8_t *in = xcalloc(N ? N : 1, 1);
	for (size_t k = 0; k < app->n_sel; k++)
		in[app->sel[k]] = 1;
	uint32_t *out = xcalloc(app->n_sel ? app->n_sel : 1, sizeof *out);
	size_t m = 0;
	for (size_t i = 0; i < N; i++)
		if (in[i])
			out[m++] = (uint32_t)i;
	free(in);
	*n = m;
	return out;
}

bool view_layer(const struct app *app, int *m, int *l, struct nn_err *err)
{
	const struct study *s = app->s;
	if (app->lm >= 0 && app->ll >= 0 && (size_t)app->lm < s->n_models &&
	    (size_t)app->ll < s->models[app->lm].n_layers &&
	    s->models[app->lm].layers[app->ll].act_path) {
		*m = app->lm;
		*l = app->ll;
		return true;
	}
	for (size_t mi = 0; mi < s->n_models; mi++)
		for (size_t li = 0; li < s->models[mi].n_layers; li++)
			if (s->models[mi].layers[li].act_path) {
				*m = (int)mi;
				*l = (int)li;
				return true;
			}
	nn_err_set(err, "the study has no layer activations (models/M/act/LAYER.npy)");
	return false;
}

void view_clamp(struct view_nav *nav, size_t rows, size_t visible)
{
	if (visible == 0)
		visible = 1;
	if (nav->cur >= rows)
		nav->cur = rows ? rows - 1 : 0;
	if (nav->cur < nav->top)
		nav->top = nav->cur;
	if (nav->cur >= nav->top + visible)
		nav->top = nav->cur - visible + 1;
	if (nav->top + visible > rows)
		nav->top = rows > visible ? rows - visible : 0;
}

enum role view_heat(double v, double lo, double hi)
{
	if (!isfinite(v))
		return ROLE_HEAT_0;
	double t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
	int k = (int)floor(t * 6);
	k = k < 0 ? 0 : k > 5 ? 5 : k;
	return (enum role)(ROLE_HEAT_0 + k);
}

int view_open(struct app *app, const char *name)
{
	const struct view_class *cls = NULL;
	for (size_t k = 0; view_classes[k]; k++)
		if (strcmp(view_classes[k]->name, name) == 0)
			cls = view_classes[k];
	if (!cls) {
		app_message(app, true, "no view called '%.40s'", name);
		return REDRAW_STATUS;
	}
	if (app->view)
		view_close(app);
	struct nn_err err = {{0}};
	void *ctx = cls->prepare(app, &err);
	if (!ctx) {
		app_message(app, true, "%s: %s", cls->title, err.msg);
		return REDRAW_STATUS;
	}
	struct view_holder *h = xcalloc(1, sizeof *h);
	h->cls = cls;
	h->ctx = ctx;
	atomic_init(&h->refs, 1);
	app->view = cls;
	app->view_ctx = h;
	app->view_ready = false;
	memset(&app->nav, 0, sizeof app->nav);
	app->view_dirty = true;
	if (!cls->compute) {
		app->view_ready = true;
	} else if (!app->worker || (cls->quick && cls->quick(ctx))) {
		struct nn_progress prog;
		atomic_init(&prog.done, 0);
		atomic_init(&prog.total, 0);
		atomic_init(&prog.cancel, false);
		if (cls->compute(ctx, &prog, &h->err) == 0)
			app->view_ready = true;
		else
			h->failed = true;
	} else {
		atomic_fetch_add(&h->refs, 1);
		struct job job = {.tag = JOB_VIEW,
		                  .ctx = h,
		                  .run = job_run,
		                  .done = job_done,
		                  .free = holder_unref};
		snprintf(job.what, sizeof job.what, "%s", cls->title);
		worker_submit(app->worker, &job);
	}
	if (cls->start)
		cls->start(app, ctx);
	return RELAYOUT | REDRAW_ALL | REDRAW_STATUS;
}

int view_close(struct app *app)
{
	if (!app->view)
		return 0;
	if (app->worker)
		worker_cancel(app->worker, JOB_VIEW);
	struct view_holder *h = app->view_ctx;
	if (h && app->worker && h->cls->free_anywhere)
		worker_dispose(app->worker, holder_unref, h);
	else if (h)
		holder_unref(h);
	app->view = NULL;
	app->view_ctx = NULL;
	app->view_ready = false;
	memset(&app->nav, 0, sizeof app->nav);
	app->view_dirty = false;
	return RELAYOUT | REDRAW_ALL | REDRAW_STATUS;
}

int view_refollow(struct app *app, bool filter, bool models)
{
	if (!app->view)
		return 0;
	bool again = (filter && app->view->follows_filter) || (models && app->view->follows_models);
	return again ? view_open(app, app->view->name) : 0;
}

void *view_ctx(const struct app *app)
{
	const struct view_holder *h = app->view_ctx;
	return h ? h->ctx : NULL;
}

struct keymode *view_own_keys(const struct app *app)
{
	return app->view ? app->view->keys : NULL;
}

/* The keys every view shares: arg rows, or ±MOVE_PAGE, ±MOVE_ALL. */
static int vact_move(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	size_t n = app->view_ready && app->view->rows ? app->view->rows(ctx) : 0;
	long page = app->viewwin ? getmaxy(app->viewwin) - 4 : 10;
	nav_move(nav, n, page < 1 ? 1 : page, arg);
	return 0;
}

/* h l: the horizontal scroll or column (the view's draw keeps it in range). */
static int vact_side(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)app;
	(void)ctx;
	if (arg < 0 && nav->left > 0)
		nav->left--;
	else if (arg > 0)
		nav->left++;
	return 0;
}

static int vact_close(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	(void)arg;
	return view_close(app) | VIEW_CLOSE;
}

static int vact_enter(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)arg;
	if (!app->view_ready || !app->view->enter)
		return 0;
	int r = app->view->enter(app, ctx, nav);
	if (r & VIEW_CLOSE)
		r |= view_close(app);
	return r;
}

/* ? : / n N are the panes' own actions, run from a view. */
static int vact_panes(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	static const char *const names[] = {"help", "command", "search", "search-next",
	                                    "search-prev"};
	const struct key_action *a = keymode_action(&panes_keys, names[arg]);
	return a ? a->run(app, NULL, nav, a->arg) : 0;
}

static struct key_action view_acts[] = {
    {"close", "close the view", vact_close, 0, K(KEY_ESC, 'q', KEY_BACKSPACE, 127, CTRL('h'))},
    {"down", "next row", vact_move, 1, K('j', KEY_DOWN)},
    {"up", "previous row", vact_move, -1, K('k', KEY_UP)},
    {"page-down", "next page", vact_move, MOVE_PAGE, K(KEY_NPAGE, ' ', CTRL('f'))},
    {"page-up", "previous page", vact_move, -MOVE_PAGE, K(KEY_PPAGE, CTRL('b'))},
    {"top", "first row", vact_move, -MOVE_ALL, K('g', KEY_HOME)},
    {"bottom", "last row", vact_move, MOVE_ALL, K('G', KEY_END)},
    {"left", "scroll left (or the previous column or cell)", vact_side, -1, K('h', KEY_LEFT)},
    {"right", "scroll right (or the next column or cell)", vact_side, 1, K('l', KEY_RIGHT)},
    {"enter", "apply the row (what it does is said in the view)", vact_enter, 0,
     K('\n', '\r', KEY_ENTER)},
    {"help", "the keys of this view", vact_panes, 0, K('?', KEY_F(1))},
    {"command", "command line", vact_panes, 1, K(':')},
    {"search", "search the view's list", vact_panes, 2, K('/')},
    {"search-next", "next match of the search", vact_panes, 3, K('n')},
    {"search-prev", "previous match of the search", vact_panes, 4, K('N')},
};
KEYMODE(view_keys, "view", "Keys of every view", view_acts);

int view_key(struct app *app, int key, bool is_key)
{
	if (!app->view)
		return 0;
	struct view_holder *h = app->view_ctx;
	if (!is_key && key > 255)
		return 0;
	/* a view in a state of its own (a picker, a batch to confirm) sees every key first */
	if (app->view_ready && app->view->capture) {
		int r = app->view->capture(app, h->ctx, &app->nav, key);
		if (r >= 0)
			return r | REDRAW_VIEW;
	}
	/* one of the view's own keys before it is ready: kept for when it is */
	if (!app->view_ready && !h->failed && app->view->keys &&
	    keymode_find(app->view->keys, key)) {
		if (h->n_ahead == sizeof h->ahead / sizeof *h->ahead) {
			app_message(app, true, "%s is still computing: key ignored",
			            app->view->title);
			return REDRAW_STATUS;
		}
		h->ahead_is_key[h->n_ahead] = is_key;
		h->ahead[h->n_ahead++] = key;
		return 0;
	}
	/* then the view's own keys, then the keys every view shares (htop's order) */
	const struct key_action *a =
	    app->view_ready && app->view->keys ? keymode_find(app->view->keys, key) : NULL;
	if (!a)
		a = keymode_find(&view_keys, key);
	if (!a)
		return 0;
	/* a view's handlers change what it shows: it is redrawn after each */
	return a->run(app, h->ctx, &app->nav, a->arg) | REDRAW_VIEW;
}

void view_draw(struct app *app)
{
	WINDOW *w = app->viewwin;
	if (!w || !app->view)
		return;
	struct view_holder *h = app->view_ctx;
	int W = getmaxx(w), H = getmaxy(w);
	werase(w);
	attr_t a = role_attr(ROLE_FOCUS);
	draw_safe(app, w, 0, 0, W, "", a, true);
	int used = draw_safe(app, w, 0, 1, W - 1, app->view->title, a | A_BOLD, false);
	char hint[128], k1[24], k2[24], k3[24], k4[24], k5[24];
	keymode_key(&view_keys, "close", k3, sizeof k3);
	keymode_key(&view_keys, "help", k4, sizeof k4);
	if (app->view_ready && app->view->enter)
		snprintf(hint, sizeof hint, "%s/%s move  %s: apply  %s: close  %s: keys",
		         keymode_key(&view_keys, "down", k1, sizeof k1),
		         keymode_key(&view_keys, "up", k2, sizeof k2),
		         keymode_key(&view_keys, "enter", k5, sizeof k5), k3, k4);
	else
		snprintf(hint, sizeof hint, "%s: close  %s: keys", k3, k4);
	int hc = text_cols(hint);
	if (hc + used + 3 <= W)
		draw_safe(app, w, 0, W - hc - 1, hc, hint, a, false);
	if (h->failed) {
		draw_text(app, w, 2, 2, W - 4, h->err.msg, role_attr(ROLE_ERROR), false);
	} else if (!app->view_ready) {
		char what[64] = "", line[128];
		double frac = -1;
		bool busy = app->worker && worker_busy(app->worker, what, sizeof what, &frac);
		if (busy && strcmp(what, app->view->title) != 0) /* another job runs first */
			snprintf(line, sizeof line, "computing %s (after %.60s)",
			         glyph(app, "\xe2\x80\xa6", "..."), what);
		else if (busy && frac >= 0)
			snprintf(line, sizeof line, "computing %s %3.0f%%",
			         glyph(app, "\xe2\x80\xa6", "..."), 100 * frac);
		else
			snprintf(line, sizeof line, "computing %s",
			         glyph(app, "\xe2\x80\xa6", "..."));
		if (H > 2)
			draw_safe(app, w, 2, 2, W - 4, line, role_attr(ROLE_DIM), false);
	} else {
		app->view->draw(app, h->ctx, w, &app->nav);
	}
	app->view_dirty = false;
	wnoutrefresh(w);
}
