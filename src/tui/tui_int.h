/*
 * tui_int.h — what the TUI's files share: the application state, the panes, colour roles, the
 * action table and the reaction flags that handlers return to the main loop.
 *
 * One struct app lives for the whole session (tui.c owns it). Panes draw from it and never
 * compute statistics beyond formatting: app_recompute() fills the metrics for the current
 * selection. Every string from the study is drawn through draw_text(), which sanitizes and
 * clips it by display columns.
 */
#ifndef NNCMP_TUI_INT_H
#define NNCMP_TUI_INT_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include "nncmp/classnames.h"
#include "nncmp/metrics.h"
#include "nncmp/study.h"
#include "nncmp/util.h"

/* ---- colour roles: one list shared by the theme loader and the drawing code ---- */

/* X(ID, ini name, default fg, default bg, attribute without colour) */
#define ROLE_LIST(X)                                                                               \
	X(NORMAL, "normal", -1, -1, A_NORMAL)                                                      \
	X(HEADER, "header", 252, 236, A_BOLD)                                                      \
	X(TITLE, "title", 250, 238, A_NORMAL)                                                      \
	X(FOCUS, "focus", 16, 75, A_REVERSE)                                                       \
	X(SELECTION, "selection", 231, 24, A_REVERSE)                                              \
	X(STATUS, "status", 16, 250, A_REVERSE)                                                    \
	X(ERROR, "error", 196, -1, A_BOLD)                                                         \
	X(DIM, "dim", 244, -1, A_DIM)                                                              \
	X(RIGHT, "right", 40, -1, A_BOLD)                                                          \
	X(WRONG, "wrong", 196, -1, A_NORMAL)                                                       \
	X(ONLY_A, "only_a", 75, -1, A_NORMAL)                                                      \
	X(ONLY_B, "only_b", 214, -1, A_NORMAL)                                                     \
	X(HEAT_0, "heat_0", 240, -1, A_DIM)                                                        \
	X(HEAT_1, "heat_1", 229, -1, A_NORMAL)                                                     \
	X(HEAT_2, "heat_2", 16, 222, A_NORMAL)                                                     \
	X(HEAT_3, "heat_3", 16, 215, A_BOLD)                                                       \
	X(HEAT_4, "heat_4", 231, 202, A_BOLD)                                                      \
	X(HEAT_5, "heat_5", 231, 160, A_REVERSE)                                                   \
	X(DIAGONAL, "diagonal", 16, 72, A_UNDERLINE)                                               \
	X(BETTER, "better", 40, -1, A_BOLD)                                                        \
	X(WORSE, "worse", 203, -1, A_UNDERLINE)                                                    \
	X(KEY, "key", 75, -1, A_BOLD)

enum role {
#define X(id, name, fg, bg, mono) ROLE_##id,
	ROLE_LIST(X)
#undef X
	    ROLE_COUNT
};

/* Loads theme `name` (a name or an .ini path) and applies it; returns 0 or -1 with err set. */
int theme_load(const char *name, struct nn_err *err);
/* True when NO_COLOR is set and not empty, or --color=never (and false with --color=always):
 * theme_default() gives the monochrome attributes and no colour pairs. */
bool theme_no_colour(void);
/* What --color said (tui_set_colour). */
enum colour_when theme_colour_when(void);
/* Applies the compiled-in default theme (used when no theme file can be read). */
void theme_default(void);
/* The attribute (colour pair or monochrome attribute) of a role under the current theme. */
attr_t role_attr(enum role r);
/* Colour pairs of class hues: above the graphics layer's (gfx.h: 64 .. 64 + 1024). */
#define CLASS_PAIR_BASE 1100
/*
 * The colour pair that draws class fg_class's hue on class bg_class's hue (DeepCompare's glyph:
 * a prediction on its truth), or 0 when the theme or the terminal cannot (then draw shapes).
 * Two classes sharing a hue never share a glyph: a wrong prediction in the truth's hue is drawn
 * in a contrast colour instead.
 */
int class_pair(int fg_class, int bg_class);
/* True when right and wrong must be told apart by shape (no colours, or a monochrome theme). */
bool theme_needs_shapes(void);
/* The name of the theme in use. */
const char *theme_name(void);

/* ---- panes ---- */

enum pane_id {
	PANE_MODELS,
	PANE_AGREE,
	PANE_CONFUSION,
	PANE_INSTANCES,
	PANE_NEURONS,
	PANE_DETAIL,
	PANE_COUNT
};

struct pane {
	WINDOW *win; /* NULL when the pane is hidden in the current layout */
	int y, x, h, w;
	bool dirty;
	size_t cur, top; /* cursor and first visible row of its list */
};

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

struct app;

/* ---- views reached by keys (views.c): full-screen pages drawn over the pane area ---- */

/* The cursor of a view's list: row cur, first visible row top, horizontal scroll left. */
struct view_nav {
	size_t cur, top;
	size_t left;
};

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
	/* View-specific keys: reaction flags, or -1 when not handled (then the host's keys apply).
	 */
	int (*key)(struct app *app, void *ctx, struct view_nav *nav, int key);
	/* Enter on nav->cur: reaction flags (e.g. sort the instances by a neuron and close: the
	 * host closes the view when the result has VIEW_CLOSE). */
	int (*enter)(struct app *app, void *ctx, struct view_nav *nav);
	void (*free)(void *ctx);
};

#define CMD_MAX  1024
#define HIST_MAX 100

struct app {
	struct study *s;
	bool utf8;                         /* draw UTF-8 glyphs (the locale's codeset is UTF-8) */
	bool shapes;                       /* tell right from wrong by glyph, not only colour */
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
	int conf_view;         /* 0: A, 1: B, 2: B − A */
	size_t conf_r, conf_c; /* cursor cell */
	size_t conf_top, conf_left;
	int conf_lw, conf_cw; /* as last drawn: row labels' width, a cell's width (mouse.c) */

	/* message line and command line */
	char msg[NN_ERR_MAX + 64];
	bool msg_error;
	bool cmd_active;
	char cmd_prompt; /* ':' for commands, '/' for a search */
	char *search;    /* the last search, or NULL */
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
	bool manifest; /* the study is a study.ini: hints name its keys, not directory paths */
	struct worker
	    *worker; /* background computations (worker.h); NULL if no thread could start */

	/* the open view (views.c), or NULL */
	const struct view_class *view;
	void *view_ctx;
	bool view_ready; /* compute() has succeeded */
	struct view_nav nav;
	WINDOW *viewwin;
	bool view_dirty;

	struct npane *np;  /* the neuron pane's state (pane_neurons.c) */
	struct triage *tr; /* the journal and the review's hand-over (triage.c) */
	struct gfx *gfx;   /* images (gfx.h) */
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
/* Redraw one named pane (whether focused or not). */
#define REDRAW_ONE(p) (1 << (8 + (p)))

/* ---- actions (actions.c) ---- */
#define KEYS_MAX 4

struct action {
	const char *name;
	const char *help;
	int (*run)(struct app *app);
	int keys[KEYS_MAX]; /* curses key codes or characters; 0 ends the list */
};

extern struct action actions[];
extern const size_t n_actions;

/* The action bound to key, or NULL. */
const struct action *action_for_key(int key);
/*
 * Reads $XDG_CONFIG_HOME/nncmp/config.ini (or ~/.config/...): [keys] action = KEY [KEY...]
 * rebinds actions, [ui] theme = NAME is copied into theme (size bytes). Returns 0 (also when
 * there is no file) or -1 with a message in err (the bindings read before the problem stay).
 */
int config_load(char *theme, size_t size, struct nn_err *err);
/* The config's [ui] graphics (NULL when unset) and graphics_passthrough, after config_load(). */
const char *config_graphics(bool *passthrough);
/* The config's [ui] mouse (true unless it says false), after config_load(). */
bool config_mouse(void);
/* Runs the action called name (as its key would); returns its reaction flags. */
int action_run(struct app *app, const char *name);
/* Writes a readable name of key ("j", "Tab", "C-l", "PgDn") into buf. */
const char *key_label(int key, char *buf, size_t size);
/* The first key bound to the action called name, as text ("?" when unbound). */
const char *action_key(const char *name, char *buf, size_t size);

/* ---- state changes (tui.c) ---- */

/* Compiles text as the new filter; on success replaces the selection (pushing the old state
 * onto the Esc stack when push) and returns reaction flags; on error sets the message line and
 * returns REDRAW_STATUS. */
int app_set_filter(struct app *app, const char *text, enum agree_mode mode, int cls, bool push);
/* Rebuilds the filter from the agreement controls (mode, cls) and applies it. */
int app_agree(struct app *app, enum agree_mode mode, int cls);
/* Pops the Esc stack; returns reaction flags. */
int app_back(struct app *app);
/* Sets the sort key; on error sets the message and returns REDRAW_STATUS. */
int app_set_sort(struct app *app, const char *key);
/* Computes the metrics of every model and of the pair over the selection. */
void app_recompute(struct app *app);
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
/* The visible panes in focus order. */
bool pane_visible(const struct app *app, enum pane_id p);

/* The instance under the instance table's cursor, or SIZE_MAX when the selection is empty. */
size_t app_current(const struct app *app);

/* ---- the neuron pane (pane_neurons.c) ---- */

/* Asks the worker for the ranking of layer (app->lm, app->ll) for the current selection. */
void neurons_request(struct app *app);
void neurons_pane_free(struct app *app);
/* Rows of the neuron pane's list (0 until a ranking arrives). */
size_t neurons_pane_rows(const struct app *app);
/* The neuron at a row of the ranking, or -1. */
int neurons_pane_neuron(const struct app *app, size_t row);

/* ---- label-issue triage (triage.c) ---- */

/* Opens the study's journal for the session (read-only, with a message, when another nncmp
 * holds it). */
void triage_open(struct app *app);
void triage_close(struct app *app);
/* :export PATH — the corrected labels and the decisions table; existing files only with force
 * (:export!). */
int triage_export(struct app *app, const char *path, bool force);
/* :rescore — recomputes the scores of the open review (or opens it). */
int triage_rescore(struct app *app);

/* ---- views (views.c) ---- */

/* The views, in the order of the help screen; NULL-terminated. */
extern const struct view_class *const view_classes[];
/* Opens the view called name (its compute() goes to the worker); returns reaction flags. */
int view_open(struct app *app, const char *name);
/* Closes the open view, cancelling its computation; returns reaction flags. */
int view_close(struct app *app);
/* Handles a key while a view is open; returns reaction flags. */
int view_key(struct app *app, int key, bool is_key);
/* Draws the open view into app->viewwin (its progress while it computes, or its error). */
void view_draw(struct app *app);

/* ---- command line (cmdline.c) ---- */
void cmdline_open(struct app *app, const char *prefill);
/* Opens the line for a search ('/'); Enter searches the focused list (search.c). */
void cmdline_open_search(struct app *app);
/* Handles a key while the command line is open; returns reaction flags. */
int cmdline_key(struct app *app, wint_t ch, bool is_key);
void cmdline_draw(struct app *app);

/* ---- the mouse (mouse.c) ---- */

/* Asks the terminal for mouse reports (clicks and the wheel), unless [ui] mouse = false. */
void mouse_start(void);
/* Handles a KEY_MOUSE: a click focuses a pane and selects the row (opens a confusion cell), the
 * wheel scrolls the list under the pointer, the help or a view. Returns reaction flags. */
int mouse_event(struct app *app);

/* ---- copying to the clipboard (clipboard.c) ---- */

/* Copies field ("id" when NULL or empty) of the selected instance with OSC 52, saying so on
 * the message line; returns reaction flags. */
int clipboard_copy(struct app *app, const char *field);
/* The fields :copy names (NULL-terminated; a model's name copies its prediction as well). */
const char *const *clipboard_fields(void);

/* ---- the command line's history across runs (history.c) ---- */

/* Reads $XDG_STATE_HOME/nncmp/history into app->hist (a message when it cannot). */
void history_load(struct app *app);
/* Adds line to the history file, written anew and renamed into place (a message on failure). */
void history_save(struct app *app, const char *line);

/* ---- search (search.c) ---- */

/* Finds the next (dir 1) or previous (dir -1) row of the focused list matching text (case
 * folded substring of what the row shows), starting after the cursor, wrapping; returns flags. */
int search_run(struct app *app, const char *text, int dir);
/* Sets the neuron pane's layer by "model.layer"; returns flags (message on error). */
int app_set_layer(struct app *app, const char *spec);

/* ---- drawing (draw.c, panes.c) ---- */

/* Draws untrusted text sanitized at (y, x), at most maxcols display columns; returns the columns
 * used. With fill, pads with spaces to maxcols. */
int draw_text(const struct app *app, WINDOW *w, int y, int x, int maxcols, const char *raw,
              attr_t attr, bool fill);
/* Draws text already known to be safe (our own strings; may be UTF-8). Same return. */
int draw_safe(const struct app *app, WINDOW *w, int y, int x, int maxcols, const char *text,
              attr_t attr, bool fill);
/* Draws one glyph (utf8, or ascii without UTF-8) in colour pair `pair` (any pair number). */
void draw_pair_glyph(const struct app *app, WINDOW *w, int y, int x, const char *utf8,
                     const char *ascii, int pair);
/* Draws a sparkline of v[0..n) (values >= 0) in at most cols columns (neighbouring values summed
 * when n > cols); returns the columns used. */
int draw_sparkline(const struct app *app, WINDOW *w, int y, int x, int cols, const double *v,
                   size_t n, attr_t attr);
/* Draws a horizontal bar of frac (0..1) in cols columns; a positive frac shows at least 1/8. */
void draw_bar(const struct app *app, WINDOW *w, int y, int x, int cols, double frac, attr_t a);
/* Display columns of a safe UTF-8 (or ASCII) string. */
int text_cols(const char *text);
/* The glyph for a named shape in UTF-8 or ASCII. */
const char *glyph(const struct app *app, const char *utf8, const char *ascii);

void pane_title(struct app *app, enum pane_id p, const char *title, const char *right);
void pane_models_draw(struct app *app);
void pane_agree_draw(struct app *app);
void pane_confusion_draw(struct app *app);
void pane_instances_draw(struct app *app);
void pane_neurons_draw(struct app *app);
void pane_detail_draw(struct app *app);
/* Each model's top probabilities for instance i as bars, one row per model, in the rectangle;
 * returns the rows used (pane_detail.c; the review queue shows the same). */
int detail_models(struct app *app, WINDOW *w, int y, int x, int rows, int cols, size_t i);
/* Why instance i has no image, from image_path's message: without the path, which the panes
   show already, so that the reason fits a narrow placeholder (pane_detail.c). */
const char *detail_image_reason(const struct app *app, size_t i, const char *msg);
/* Draws text word-wrapped into rows × cols at (y, x), sanitized (pane_detail.c). */
void detail_draw_wrapped(const struct app *app, WINDOW *w, int y, int x, int rows, int cols,
                         const char *text, attr_t attr);
/* Graphics slots (gfx.h): one per place an image can show at a time. */
enum { GFX_SLOT_DETAIL = 1, GFX_SLOT_REVIEW = 2, GFX_SLOT_PREVIEW = 3, GFX_SLOT_GRID = 100 };
/* Instance i's text (wrapped) or image (as graphics slot `slot`) in the rectangle. */
void detail_sample(struct app *app, WINDOW *w, int y, int x, int rows, int cols, size_t i,
                   int slot);
void status_draw(struct app *app);
void help_draw(struct app *app);
/* Rows the lists of the panes hold (for cursor movement). */
size_t pane_rows(const struct app *app, enum pane_id p);
/* Keeps a pane's cursor inside its list and visible. */
void pane_clamp(struct app *app, enum pane_id p);
/* Visible list rows of a pane (its height minus title and header). */
int pane_list_height(const struct app *app, enum pane_id p);

#endif
