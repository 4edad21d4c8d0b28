/*
 * app.h — the application state (struct app: one lives for the whole session, tui.c owns it),
 * the reaction flags that every key handler returns to the main loop, and the state changes
 * the handlers share (selection.c). Panes draw from the app and never compute statistics
 * beyond formatting: app_recompute() fills the metrics for the current selection.
 */
#ifndef NNCMP_TUI_APP_H
#define NNCMP_TUI_APP_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include "nncmp/classnames.h"
#include "nncmp/metrics.h"
#include "nncmp/study.h"
#include "nncmp/util.h"
#include "pane.h"

struct view_class;

/* Agreement controls: which outcome of the pair A, B the filter keeps. */
enum agree_mode {
	AGREE_ALL,
	AGREE_BOTH_RIGHT,
	AGREE_ONLY_A,
	AGREE_ONLY_B,
	AGREE_BOTH_WRONG,
	AGREE_DISAGREE,
	AGREE_CUSTOM /* a filter typed by the user */
};

/* One entry of the Esc stack: the state a drill-in or a new filter replaced. */
struct back_entry {
	char *filter;
	enum agree_mode mode;
	int cls;
};

#define CMD_MAX  1024
#define HIST_MAX 100

struct app {
	struct study *s;
	/*
	 * The study opens without its derivation (study_open_ex's STUDY_DEFER_DERIVE): the first
	 * screen draws while the worker derives every model's predictions, ranks and margins.
	 * derived: that job has returned (UI thread only; before, nothing may read the models'
	 * pred, conf, margin, p_label or rank, nor their pointers). ready: derived, and the start
	 * state (journal, saved view, --filter) applied (tui.c's app_ready); until then the keys
	 * that need derived data say so and the panes that show it say "computing".
	 */
	bool derived, ready;
	char *fatal; /* bad input found once the screen is up: tui_run prints it and exits 2 */
	bool utf8;   /* draw UTF-8 glyphs (the locale's codeset is UTF-8) */
	bool shapes; /* tell right from wrong by glyph, not only colour */
	char **class_names, **model_names; /* sanitized once */
	/* class names abbreviated for a column width (app_class_abbrev), each width once */
	struct class_abbrev {
		int width;
		enum classnames_kind kind;
		char **names;
	} abbrev[16];
	size_t n_abbrev;
	int id_cols; /* width of the id column */

	/* the selection: instances matching filter, ordered by sort key */
	char *filter; /* "" for all */
	enum agree_mode mode;
	int cls; /* agreement control's ground-truth class, -1 for all */
	uint32_t *sel;
	size_t n_sel;
	char *sort_key;           /* "index" by default; may end in :asc */
	bool sorting;             /* sel is being put in sort_key's order on the worker */
	uint64_t sel_gen;         /* counts selection and sort changes (stale sort jobs see it) */
	double *sel_keys;         /* the sort key's value for each sel entry (expr_sort), or NULL */
	size_t a, b;              /* the pair */
	struct model_metrics *mm; /* one per model, over sel */
	struct pair_metrics pm;   /* its ci_lo, ci_hi arrive from the worker (ci_pending) */
	bool ci_pending;          /* the bootstrap interval of pm is being computed */
	uint64_t pm_gen;          /* counts recomputations of pm (stale bootstrap jobs see it) */
	/* mm and pm are being computed on the worker (selection.c): the panes show the previous
	 * ones dimmed; metrics_gen counts the requests (stale jobs see it) */
	bool metrics_pending;
	bool have_metrics; /* mm and pm hold the metrics of some selection (the panes draw them) */
	/* a filter is being applied on the worker (selection.c): sel is the old one, dimmed, until
	 * it lands; pending_filter, pending_mode, pending_cls and pending_push are what it sets */
	bool select_pending;
	char *pending_filter;
	enum agree_mode pending_mode;
	int pending_cls;
	bool pending_push;
	uint64_t select_gen;
	uint64_t metrics_gen;
	struct back_entry *back;
	size_t n_back, cap_back;

	/* screen */
	int rows, cols;
	bool too_small, zoom, help;
	int layout;                /* 0 full, 1 two panes, 2 one pane */
	enum pane_id focus, upper; /* upper: which overview pane the two-pane layout shows */
	struct pane panes[PANE_COUNT];
	WINDOW *status, *msgline, *helpwin;
	bool status_dirty, msg_dirty;
	size_t help_top;

	/* message line and command line */
	char msg[NN_ERR_MAX + 64];
	bool msg_error;
	bool cmd_active;
	char cmd_prompt; /* ':' for commands, '/' for a search */
	char *search;    /* the last search, or NULL */
	/* A ':' command entered before the derivation landed (!ready), run when it lands. */
	char *cmd_pending;
	wchar_t cmd[CMD_MAX];
	size_t cmd_len, cmd_pos;
	char *hist[HIST_MAX];
	size_t n_hist, hist_pos;
	bool hist_off; /* the history file could not be read or written: left alone (history.c) */
	bool quit;

	/* the neuron pane's layer: model lm, layer ll of that model; -1 when no layer has
	 * activations */
	int lm, ll;
	/* the weights view's layer, chosen with :layer or L there; -1 when it follows the neuron
	 * pane's layer (or the first with weights) */
	int wm, wl;
	/* the kernel view's layer, chosen with L there; -1 when it follows the neuron pane's */
	int km, kl;
	bool manifest; /* the study is a study.ini: hints name its keys, not directory paths */
	struct worker
	    *worker; /* background computations (worker.h); NULL if no thread could start */

	/* the open view (views.c), or NULL */
	const struct view_class *view;
	void *view_ctx;
	bool view_ready;     /* compute() has succeeded */
	struct view_nav nav; /* the open view's list cursor */
	WINDOW *viewwin;
	bool view_dirty;
	bool view_refilter; /* the filter changed under an open view (react: it may follow it) */
	bool view_remodel;  /* the model pair changed under an open view (the same) */

	struct npane *np;    /* the neuron pane's state (pane_neurons.c) */
	struct triage *tr;   /* the journal and the review's hand-over (triage.c) */
	struct gfx *gfx;     /* images (gfx.h) */
	struct saved *saved; /* saved views and the matrix's rows (saved.c) */
	bool saliency;       /* images show the models' explanation maps (saliency_tui.c) */
	char *exporting;     /* the path :export-report is writing on the worker, or NULL */
};

/* ---- reactions: what a handler asks the loop to do ---- */
enum {
	REDRAW_PANE = 1 << 0, /* the focused pane */
	REDRAW_ALL = 1 << 1,  /* every pane (state shared by panes changed) */
	RECOMPUTE = 1 << 2,   /* the selection's metrics are stale */
	RELAYOUT = 1 << 3,    /* windows must be rebuilt (zoom, resize) */
	REDRAW_STATUS = 1 << 4,
	QUIT = 1 << 5,
	CLEAR = 1 << 6,      /* repaint the whole terminal (resize, Ctrl-L) */
	VIEW_CLOSE = 1 << 7, /* close the open view */
};
/* Redraw one named pane (whether focused or not): bits 8 .. 8 + PANE_COUNT - 1. */
#define REDRAW_ONE(p) (1 << (8 + (p)))
/* Redraw the open view. */
#define REDRAW_VIEW (1 << 15)

/* ---- state changes (selection.c; app_message in tui.c) ---- */

/* Compiles text as the new filter; on success replaces the selection (pushing the old state
 * onto the Esc stack when push) and returns reaction flags; on error sets the message line and
 * returns REDRAW_STATUS. */
int app_set_filter(struct app *app, const char *text, enum agree_mode mode, int cls, bool push);
/* The filter again, over labels that changed (a decision): the one being applied on the worker
 * when there is one, which would otherwise be replaced by the old one; else the current one. */
int app_refilter(struct app *app);
/* Rebuilds the filter from the agreement controls (mode, cls) and applies it. */
int app_agree(struct app *app, enum agree_mode mode, int cls);
/* Pops the Esc stack; returns reaction flags. */
int app_back(struct app *app);
/* Sets the sort key; on error sets the message and returns REDRAW_STATUS. */
int app_set_sort(struct app *app, const char *key);
/* Computes the metrics of every model and of the pair over the selection. */
void app_recompute(struct app *app);
/* Swaps models A and B (the agreement filter follows); returns reaction flags. */
int app_swap(struct app *app);
/* Sets the pair by model names. */
int app_set_models(struct app *app, const char *a, const char *b);
/* Sets the message line (printf-style); error selects the error colour. */
void app_message(struct app *app, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * The instance's label as the screen shows it (sanitized): "given→new" when a decision
 * relabelled it, else its name. Returns its status (STATUS_REMOVED: draw it as removed).
 */
enum decision_status app_label_text(const struct app *app, size_t i, char *buf, size_t size);
/*
 * The class names abbreviated to width columns (classnames.h), computed once per width and kept
 * until the app ends; *kind (when not NULL) says whether they are the names, abbreviations or
 * class numbers.
 */
char *const *app_class_abbrev(struct app *app, int width, enum classnames_kind *kind);
/* app_label_text() in at most width columns, its names abbreviated. */
enum decision_status app_label_short(struct app *app, size_t i, int width, char *buf, size_t size);

/* The instance under the instance table's cursor, or SIZE_MAX when the selection is empty. */
size_t app_current(const struct app *app);

#endif
