/*
 * views.h — what the views reached by keys (views.c and view_*.c) share beyond tui_int.h: the
 * struct view_class (what a view is), the list of them, and small helpers for their prepare() and
 * draw().
 *
 * Each view_*.c defines one struct view_class; views.c lists them in view_classes[] and runs
 * them (prepare on the UI thread, compute on the worker, then draw/key/enter on the UI thread).
 * Helpers that return memory say so; the caller frees it.
 */
#ifndef NNCMP_TUI_VIEWS_H
#define NNCMP_TUI_VIEWS_H

#include "tui_int.h"

/*
 * One kind of view. prepare() runs on the UI thread and copies from the app what compute() needs
 * (the selection, the layer, the instance); compute() runs on the worker thread (worker.h) and must
 * not touch the app or curses; draw(), key() and enter() run on the UI thread once compute() has
 * succeeded.
 */
struct view_class {
	const char *name;  /* "words": bound to the action "view-words" */
	const char *title; /* "Frequent words" */
	const char *help;  /* one line for the help screen */
	/* NULL with err set when the view does not apply ("the study has no texts"). */
	void *(*prepare)(struct app *app, struct nn_err *err);
	/* The long part, or NULL when prepare did everything. Returns 0 or -1 with err. */
	int (*compute)(void *ctx, struct nn_progress *prog, struct nn_err *err);
	/* Draws into w below the host's title line (rows 1..h-1). */
	void (*draw)(struct app *app, void *ctx, WINDOW *w, struct view_nav *nav);
	/* Rows of its list, for the host's j k g G PgUp PgDn. */
	size_t (*rows)(const void *ctx);
	/* Its own keys (keys.h), tried before the keys every view shares (view_keys); NULL: none.
	 */
	struct keymode *keys;
	/* A view in a state of its own that takes every key first (the review's class picker, a
	 * batch waiting for Enter): reaction flags, or -1 when not in such a state (NULL: never).
	 */
	int (*capture)(struct app *app, void *ctx, struct view_nav *nav, int key);
	/* Whether row matches a / search for text (NULL: the view has no search). */
	bool (*match)(const struct app *app, const void *ctx, size_t row, const char *text);
	/* Enter on nav->cur: reaction flags (e.g. sort the instances by a neuron and close: the
	 * host closes the view when the result has VIEW_CLOSE). */
	int (*enter)(struct app *app, void *ctx, struct view_nav *nav);
	void (*free)(void *ctx);
};

/* The views, in the order of the help screen; NULL-terminated. */
extern const struct view_class *const view_classes[];

extern const struct view_class view_words, view_matrix, view_weights, view_projection, view_models,
    view_snapshot, view_review, view_overview, view_grid, view_preview, view_dups, view_patches;

/* The selection as a strictly increasing list (caller frees); *n gets its length. */
uint32_t *view_sel_sorted(const struct app *app, size_t *n);

/*
 * The neuron pane's layer (app->lm, app->ll) when it has activations; else the first layer of
 * any model that has them. Returns false with err set when the study has none.
 */
bool view_layer(const struct app *app, int *m, int *l, struct nn_err *err);

/* Keeps nav->cur below rows and nav->top such that the cursor shows in `visible` rows. */
void view_clamp(struct view_nav *nav, size_t rows, size_t visible);

/* The heat role (ROLE_HEAT_0..5) of v on the scale lo..hi (HEAT_0 for NaN). */
enum role view_heat(double v, double lo, double hi);

#endif
