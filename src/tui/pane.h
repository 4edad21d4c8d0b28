/*
 * pane.h — the panes of the main screen, each a struct pane_class (one file per pane:
 * pane_models.c, pane_agree.c, pane_confusion.c, pane_instances.c, pane_neurons.c,
 * pane_detail.c) hosted by panes.c the way views.c hosts the views: the host draws the dirty
 * ones, moves their cursor (struct view_nav, the one list cursor panes and views share) and hands
 * the focused pane its own keys first, then the panes' keys (htop's ScreenManager); tui.c's
 * app_layout() places them for the terminal's size.
 */
#ifndef NNCMP_TUI_PANE_H
#define NNCMP_TUI_PANE_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

struct app;
struct keymode;

/*
 * Every pane, in Tab order, one line each: X(ID, class). The line gives the pane its enum pane_id
 * (PANE_ID), declares its class and lists it in pane_classes[] (panes.c). A new pane is its file
 * (copy pane_models.c) plus its line here; its class's region, stack and share place it.
 */
#define NNCMP_PANES(X)                                                                             \
	X(MODELS, pane_models)                                                                     \
	X(AGREE, pane_agree)                                                                       \
	X(CONFUSION, pane_confusion)                                                               \
	X(INSTANCES, pane_instances)                                                               \
	X(NEURONS, pane_neurons)                                                                   \
	X(DETAIL, pane_detail)

#define PANE_ENUM(id, cls) PANE_##id,
enum pane_id { NNCMP_PANES(PANE_ENUM) PANE_COUNT };
#undef PANE_ENUM

/* The cursor of a list (a pane's or a view's): row cur, first visible row top; left is the
 * column cursor or the horizontal scroll, first_col the first visible column (cell lists). */
struct view_nav {
	size_t cur, top;
	size_t left;
	size_t first_col;
};

struct pane {
	WINDOW *win; /* NULL when the pane is hidden in the current layout */
	int y, x, h, w;
	bool dirty;
	struct view_nav nav;
	int mode; /* which variant the pane shows, its own meaning (confusion: 0 A, 1 B, 2 B − A) */
	int cell_x,
	    cell_w; /* a cell cursor's columns as last drawn: first x, width (for a click) */
};

/* Where a pane sits in the wide layout (app_layout, tui.c): four quarters, each a column of
 * panes. The bottom-left one is the main list: the medium layout shows it under the one other
 * pane that last had the focus. */
enum pane_region { REGION_TOP_LEFT, REGION_TOP_RIGHT, REGION_BOTTOM_LEFT, REGION_BOTTOM_RIGHT };

/* The fewest rows a pane gets in a column of the wide layout: title, header, one row. */
#define PANE_MIN_ROWS 3

/* How a pane's cursor moves: not at all, over rows, or over the cells of rows x columns. */
enum pane_cursor { CURSOR_NONE, CURSOR_ROWS, CURSOR_CELLS };

struct pane_class {
	const char *name; /* "confusion" */
	enum pane_cursor cursor;
	/* Rows it wants in a layout: title, header and every row. */
	int (*need)(const struct app *app);
	/* Rows of its list. */
	size_t (*rows)(const struct app *app);
	/* Rows under the list that are not list rows (a footer line), for a pane h rows high. */
	int (*footer)(const struct app *app, int h);
	/* Draws into the pane's window and queues it with wnoutrefresh. */
	void (*draw)(struct app *app);
	/* Enter on the cursor's row: reaction flags (NULL: nothing). */
	int (*enter)(struct app *app);
	/* Whether row matches a / search for text (what the row shows, case folded; NULL: the pane
	 * has no search). */
	bool (*match)(const struct app *app, size_t row, const char *text);
	/* A click at pane-relative (ry, rx) inside the list (NULL: selects the row there). */
	int (*click)(struct app *app, int ry, int rx);
	/* Its own keys, tried before the panes' keys while it has the focus (NULL: none). */
	struct keymode *keys;
	/* A pane redrawn whenever this one's cursor moves (the detail follows the instances), or
	 * -1. */
	int follower;
	/* Its place: the region, and its position in that region's column (0 on top). */
	enum pane_region region;
	int stack;
	/* Its height when a pane sits below it in the column: share percent of the column (the
	 * config's [layout] NAME = PERCENT replaces it); a negative share: what it needs, at most
	 * -share percent. The last pane of a column takes what is left. Whatever the share, each
	 * pane of a column gets at least PANE_MIN_ROWS (or what it needs, when less) while the
	 * column has room for that many rows for every pane in it. */
	int share;
	/* Rows added to what it needs when the top panes are sized (a footer line). */
	int extra;
};

#define PANE_EXTERN(id, cls) extern const struct pane_class cls;
NNCMP_PANES(PANE_EXTERN)
#undef PANE_EXTERN
/* Indexed by enum pane_id. */
extern const struct pane_class *const pane_classes[PANE_COUNT];

/* Rows the lists of the panes hold (for cursor movement). */
size_t pane_rows(const struct app *app, enum pane_id p);
/* Keeps a pane's cursor inside its list and visible. */
void pane_clamp(struct app *app, enum pane_id p);
/* Visible list rows of a pane (its height minus title, header and footer). */
int pane_list_height(const struct app *app, enum pane_id p);
/* Whether pane p is shown in the current layout. */
bool pane_visible(const struct app *app, enum pane_id p);
/* Draws a pane's title line (focus-coloured when it has the focus), right-aligned text after. */
void pane_title(struct app *app, enum pane_id p, const char *title, const char *right);
/*
 * Before the study's derivation has landed (app->ready false), or with metrics before the first
 * metrics of the selection have (app->have_metrics): draws pane p as its title and a dimmed
 * "computing..." and returns true, for panes that show derived data; false otherwise.
 */
bool pane_waits(struct app *app, enum pane_id p, const char *title, bool metrics);
/* While the selection's metrics are computed on the worker (app->metrics_pending), or for the
 * instance table a filter is applied there (app->select_pending): dims pane p's rows under its
 * title, which still show the previous counts or instances. Call after drawing it. */
void pane_dim_pending(struct app *app, enum pane_id p);
/* Draws the panes marked dirty. */
void panes_draw_dirty(struct app *app);
struct key_action;
/* The action of a key on the panes: the focused pane's own keys, then the panes' keys; NULL
 * when none has it. Run it on the focused pane's cursor (panes_run). */
const struct key_action *panes_find(const struct app *app, int key);
/* Runs a on the focused pane; returns its reaction flags. */
int panes_run(struct app *app, const struct key_action *a);
/* The reaction flags that redraw pane p after its cursor moved (and its follower). */
int pane_moved(enum pane_id p);

#endif
