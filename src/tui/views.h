/*
 * views.h — what the views reached by keys (views.c and view_*.c) share beyond tui_int.h: the
 * struct view_class (what a view is), the list of them, and small helpers for their prepare() and
 * draw().
 *
 * Each view_*.c defines one struct view_class, listed once in NNCMP_VIEWS below; views.c runs
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
	/* When set and true for ctx, compute() is quick enough to run at once on the UI thread (a
	 * small selection): the view's keys then work from its first frame. NULL: on the worker. */
	bool (*quick)(const void *ctx);
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
	/* free() touches only ctx's own memory, so that closing the view leaves it to the worker
	 * (worker_dispose): the review's queue, whose arrays are a few per instance */
	bool free_anywhere;
	/* Once the view is open and drawn from prepare's result alone (no compute: a
	 * view_submit() job would replace it): work that should not hold the view back, through
	 * view_submit() (NULL: none). */
	void (*start)(struct app *app, void *ctx);
	/* Computed over the shown instances: a new filter while it is open prepares it again. */
	bool follows_filter;
	/* Prepared from the model pair (app->a, app->b): `:models`, a swap or Enter on another
	 * model while it is open prepares it again for the new pair. */
	bool follows_models;
};

/*
 * Every view, in the order of the help screen, one line each: X(class, name, help, keys). A new
 * view is its file (copy view_dups.c) plus its line here. The line declares the class, lists it
 * in view_classes[] (views.c) and gives the panes the action "view-NAME" with its default keys
 * (actions.c), so `?` lists it and config.ini's [keys] rebinds it. NAME is the class's .name.
 */
#define NNCMP_VIEWS(X)                                                                             \
	X(view_words, "words", "view: frequent words of the shown texts, with their lift", K('W')) \
	X(view_matrix, "matrix", "view: mean activation per class x neuron of the layer", K('M'))  \
	X(view_weights, "weights", "view: the layer's weights, with the instance's activations",   \
	  K('H'))                                                                                  \
	X(view_projection, "projection", "view: PCA scatter of the layer's activations", K('P'))   \
	X(view_models, "models", "view: table of every model; classes where models diverge",       \
	  K('O'))                                                                                  \
	X(view_snapshot, "snapshot", "view: weight change from model A to B (snapshots)", K('D'))  \
	X(view_review, "review", "triage: review the likely label errors one at a time", K('R'))   \
	X(view_overview, "labels",                                                                 \
	  "triage: misclassified samples per given label -> predicted class", K('E'))              \
	X(view_grid, "grid", "images: thumbnails of the shown instances", K('t'))                  \
	X(view_preview, "preview", "images: the instance's image over the whole screen", K('v'))   \
	X(view_dups, "dups", "triage: near-duplicate pairs in the layer (same prediction)",        \
	  K('Y'))                                                                                  \
	X(view_bylabel, "bylabel",                                                                 \
	  "view: per true class, the instances model A gets right and wrong", K('I'))              \
	X(view_agreement, "agreement",                                                             \
	  "view: agreement, kappa and McNemar p of every pair of models", K('T'))                  \
	X(view_calibration, "calibration",                                                         \
	  "view: reliability diagrams and confidence of models A and B", K('F'))                   \
	X(view_classdist, "classes",                                                               \
	  "view: distances between classes (VAC-CNN) and their 2-D layout", K('X'))                \
	X(view_cka, "cka", "view: linear CKA between every layer; the neuron's best matches in B", \
	  K('U'))                                                                                  \
	X(view_patches, "patches",                                                                 \
	  "neurons: the top patches of the channel under the cursor (C, then Enter)", K(0))        \
	X(view_arch, "arch", "view: model A's architecture, repeated blocks folded", K('A'))       \
	X(view_kernels, "kernels",                                                                 \
	  "view: a conv layer's kernels, a tile per input channel; B - A", K('K'))

#define VIEW_EXTERN(cls, name, help, keys) extern const struct view_class cls;
NNCMP_VIEWS(VIEW_EXTERN)
#undef VIEW_EXTERN
/* A view's place in view_classes[]: VIEW_IDX(view_words) ... */
#define VIEW_ENUM(cls, name, help, keys) VIEW_IDX_##cls,
enum view_index { NNCMP_VIEWS(VIEW_ENUM) VIEW_COUNT };
#undef VIEW_ENUM

/* The views of NNCMP_VIEWS, in its order; NULL-terminated. */
extern const struct view_class *const view_classes[];

/* Instance i's image in the rectangle as graphics slot `slot`, or why it has none (the grid's
 * thumbnails, view_images.c). */
/* Instance i's image path (caller frees); NULL after hiding slot and drawing, in the rectangle,
 * the reason it has none. */
char *view_picture_path(struct app *app, WINDOW *w, int y, int x, int rows, int cols, size_t i,
                        int slot);
void view_picture(struct app *app, WINDOW *w, int y, int x, int rows, int cols, size_t i, int slot);
/* Draws raw text in at most cols columns, cut at its start (after a separator: "…00141") when
 * it does not fit; returns the columns used (view_images.c). */
int view_draw_tail(struct app *app, WINDOW *w, int y, int x, int cols, const char *raw, attr_t a);

/* The selection as a strictly increasing list (caller frees); *n gets its length. */
uint32_t *view_sel_sorted(const struct app *app, size_t *n);

/*
 * The neuron pane's layer (app->lm, app->ll) when it has activations; else the first layer of
 * any model that has them. Returns false with err set when the study has none.
 */
bool view_layer(const struct app *app, int *m, int *l, struct nn_err *err);

/* Keeps nav->cur below rows and nav->top such that the cursor shows in `visible` rows. */
void view_clamp(struct view_nav *nav, size_t rows, size_t visible);

/*
 * A computation the open view starts after one of its keys (another model, another side), run
 * on the worker so that the key returns at once. run() works on jctx alone (what the key copied
 * from the view, and the result), never on the view's context; done() runs on the UI thread,
 * only while the same view is open, and moves the result from jctx into the view's ctx. A newer
 * call replaces one that has not landed. The worker frees jctx with free_fn. Without a worker,
 * run and done happen before this returns.
 */
void view_submit(struct app *app, const char *what, void *jctx,
                 int (*run)(void *jctx, struct nn_progress *prog, struct nn_err *err),
                 void (*done)(void *ctx, void *jctx, int rc, const struct nn_err *err),
                 void (*free_fn)(void *jctx));
/* True while the open view's view_submit() job has not landed: draw what is there dimmed. */
bool view_pending(const struct app *app);
/* Repaints rows y0 .. y1-1 of w from column x, cols wide (negative: to the edge), in the dim
 * role with their text kept: results that are being replaced. */
void view_dim(WINDOW *w, int y0, int y1, int x, int cols);

/* The heat role (ROLE_HEAT_0..5) of v on the scale lo..hi (HEAT_0 for NaN). */
enum role view_heat(double v, double lo, double hi);

#endif
