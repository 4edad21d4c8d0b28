/*
 * tui_int.h — what the TUI's files share: the application state and reaction flags (app.h), the
 * panes (pane.h), keys as data (keys.h), colour roles (theme.h), and the interfaces of the
 * views, the command line, search, triage and drawing declared below.
 *
 * Every string from the study is drawn through draw_text(), which sanitizes and clips it by
 * display columns.
 */
#ifndef NNCMP_TUI_INT_H
#define NNCMP_TUI_INT_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include "nncmp/classnames.h"
#include "nncmp/journal.h"
#include "nncmp/metrics.h"
#include "nncmp/study.h"
#include "nncmp/util.h"
#include "app.h"
#include "keys.h"
#include "pane.h"
#include "theme.h"

/* ---- the neuron pane (pane_neurons.c) ---- */

/* Asks the worker for the ranking of layer (app->lm, app->ll) for the current selection. */
void neurons_request(struct app *app);
void neurons_pane_free(struct app *app);
/* Rows of the neuron pane's list (0 until a ranking arrives). */
size_t neurons_pane_rows(const struct app *app);
/* The neuron at a row of the ranking, or -1. */
int neurons_pane_neuron(const struct app *app, size_t row);
/* Whether the ranking on screen is of a spatial layer's channels (C in the neuron pane). */
bool neurons_pane_channels(const struct app *app);

/* ---- label-issue triage (triage.c) ---- */

/* Opens the study's journal for the session (read-only, with a message, when another nncmp
 * holds it). */
void triage_open(struct app *app);
/* triage_open in two steps: the journal opened (reading only the study, so on the worker: the
 * journal's arrays are O(N)), NULL with err set when it cannot be (or with --no-journal); then
 * on the UI thread the session over it (j taken), its decisions applied to the study. */
struct journal *triage_load(const struct study *s, struct nn_err *err);
void triage_attach(struct app *app, struct journal *j, const struct nn_err *err);
void triage_close(struct app *app);
/* The run loop, each turn: applies the decisions that waited for the worker's job to end. */
int triage_poll(struct app *app);
/* :export PATH — the corrected labels and the decisions table; existing files only with force
 * (:export!). */
int triage_export(struct app *app, const char *path, bool force);
/* :rescore — recomputes the scores of the open review (or opens it). */
int triage_rescore(struct app *app);

/* ---- views (views.c) ---- */

/* Opens the view called name (its compute() goes to the worker); returns reaction flags. */
int view_open(struct app *app, const char *name);
/* Closes the open view, cancelling its computation; returns reaction flags. */
int view_close(struct app *app);
/* After a new filter (filter) or model pair (models): an open view computed over the shown
 * instances (.follows_filter) or from the pair (.follows_models) is prepared again. */
int view_refollow(struct app *app, bool filter, bool models);
/* Handles a key while a view is open; returns reaction flags. */
int view_key(struct app *app, int key, bool is_key);
/* The open view's context (what its class's functions take), or NULL. */
void *view_ctx(const struct app *app);
/* The open view's keys (its own table), or NULL. */
struct keymode *view_own_keys(const struct app *app);
/* Draws the open view into app->viewwin (its progress while it computes, or its error). */
void view_draw(struct app *app);

/* ---- handlers the panes' table (actions.c) borrows ---- */

/* Cycles the confusion pane between A, B and B - A (pane_confusion.c). */
int pane_confusion_cycle(struct app *app, void *ctx, struct view_nav *nav, long arg);

/* ---- the user's configuration (config.c) ---- */

/*
 * Reads $XDG_CONFIG_HOME/nncmp/config.ini (or ~/.config/...): [keys] MODE.ACTION = KEY [KEY...]
 * rebinds actions (MODE. may be left out for the panes), [ui] theme = NAME is copied into theme
 * (size bytes). Returns 0 (also when there is no file) or -1 with every problem in err, on one
 * line: a syntax error, an unknown mode, action or key name, a key taken from another action of
 * the same mode (it moves to the new binding). What could be read is applied either way.
 */
int config_load(char *theme, size_t size, struct nn_err *err);
/* The config's [ui] graphics (NULL when unset) and graphics_passthrough, after config_load(). */
const char *config_graphics(bool *passthrough);
/* The config's [ui] mouse (true unless it says false), after config_load(). */
bool config_mouse(void);
/* Pane `pane`'s share of its column: the config's [layout] percent, else `share` (its class's). */
int config_share(int pane, int share);

/* ---- ':' commands (commands.c): one table drives running, completion, help and errors ---- */

/* Completion candidates: the words starting with prefix. */
struct cands {
	struct strvec v;
	const char *prefix;
};
/* Adds word when it starts with c->prefix and is not there yet. */
void cand_add(struct cands *c, const char *word);

struct cmd_entry {
	const char *name;  /* "filter" */
	const char *alias; /* "f", or NULL */
	const char *args;  /* "EXPR", for help */
	const char *help;
	/* Adds the candidates for the argument being typed (NULL: none). */
	void (*complete)(const struct app *app, struct cands *c);
	/* Runs it with arg (trimmed; may be written to); bang: typed as NAME!. Reaction flags. */
	int (*run)(struct app *app, char *arg, bool bang);
	bool bang; /* NAME! is accepted */
};
/* Every command, in the help screen's order; n_cmds of them. */
extern const struct cmd_entry cmd_table[];
extern const size_t n_cmds;
/* The command called word (its name or alias, a trailing ! allowed where it is), or NULL. */
const struct cmd_entry *cmd_find(const char *word, bool *bang);
/* Runs one command line (without the ':'); returns reaction flags. */
int cmd_run(struct app *app, char *line);
/* Whether a command line may run before the derivation lands: :q, or a word that names no
 * command (which only says so); the others wait in cmd_pending (cmdline_run_pending). */
bool cmd_works_unready(const char *line);

/* ---- command line (cmdline.c) ---- */
void cmdline_open(struct app *app, const char *prefill);
/* Opens the line for a search ('/'); Enter searches the focused list (search.c). */
void cmdline_open_search(struct app *app);
/* Handles a key while the command line is open; returns reaction flags. */
int cmdline_key(struct app *app, wint_t ch, bool is_key);
/* Runs the ':' command entered before the derivation landed, once it has; reaction flags. */
int cmdline_run_pending(struct app *app);
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

/* ---- saved views and the matrix's rows (saved.c) ---- */

struct saved_row;
/* Reads the study's views.ini; false after saying on stderr that --view names no view. */
bool saved_check_start(struct app *app);
/* Applies --view NAME, else the state left at the last quit (the screen is up). */
void saved_start(struct app *app);
/* Opens the view the applied state names, once the first screen is drawn; reaction flags. */
int saved_open_pending(struct app *app);
/* Writes the state as the view the next start restores (at quit). */
void saved_quit(struct app *app);
void saved_free(struct app *app);
/* :save NAME, :open NAME, :row [NAME =] EXPR | -NAME; reaction flags. */
int saved_cmd_save(struct app *app, char *arg);
int saved_cmd_open(struct app *app, char *arg);
int saved_cmd_row(struct app *app, char *arg);
/* Removes the matrix row called name; reaction flags. */
int saved_row_remove(struct app *app, const char *name);
/* The saved views' names, for :open's Tab. */
void saved_complete(const struct app *app, struct cands *c);
/* The matrix's subset rows (n of them; borrowed until the next :row or :open). */
const struct saved_row *saved_rows(const struct app *app, size_t *n);
/* The matrix's row kind (0 classes, 1 outcomes of the pair, 2 the :row rows), kept across
 * openings. */
int *saved_matrix_mode(struct app *app);

/* :export-report PATH — the HTML report of the shown instances (export_report.c); an existing
 * PATH only with force (:export-report!). Reaction flags. */
int report_export(struct app *app, const char *path, bool force);

/* ---- search (search.c) ---- */

/* Finds the next (dir 1) or previous (dir -1) row of the list in focus (the open view's, else
 * the focused pane's) matching text (pane_class / view_class match), starting after the cursor,
 * wrapping; returns flags. */
int search_run(struct app *app, const char *text, int dir);
/* Case-insensitive (ASCII) substring test, the rule every match() follows; false for NULL. */
bool search_has(const char *hay, const char *needle);
/* Whether instance i matches a search in the instance table: its id, label, text or image path
 * (pane_instances.c; reads only the study, so the worker may call it). */
bool instance_matches(const struct study *s, size_t i, const char *text);
/* Sets the neuron pane's layer by "model.layer"; returns flags (message on error). */
int app_set_layer(struct app *app, const char *spec);

/* ---- drawing (draw.c; the detail pane's helpers in pane_detail.c) ---- */

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
enum {
	GFX_SLOT_DETAIL = 1,
	GFX_SLOT_REVIEW = 2,
	GFX_SLOT_PREVIEW = 3,
	GFX_SLOT_PREVIEW_B = 4,
	GFX_SLOT_KERNELS = 5,
	GFX_SLOT_GRID = 100
};
/* The saliency overlay (saliency_tui.c): the key that toggles it, on every screen with images;
 * instance i's image in the rectangle with model m's map over it when the overlay is on (a
 * label row under it names the model and the layer) or plain; the reason when it has none.
 * Returns the rows used. */
int saliency_toggle(struct app *app, void *ctx, struct view_nav *nav, long arg);
int saliency_picture(struct app *app, WINDOW *w, int y, int x, int rows, int cols, size_t i,
                     int slot, int m);
/* Instance i's text (wrapped) or image (as graphics slot `slot`) in the rectangle. */
void detail_sample(struct app *app, WINDOW *w, int y, int x, int rows, int cols, size_t i,
                   int slot);
/* The status line (status.c) and the help screen (help.c). */
void status_draw(struct app *app);
void help_draw(struct app *app);
/* The number of lines the help screen has for the mode in use. */
size_t help_lines(const struct app *app);
/* A key while the help is up (mode "help": scroll, close); returns reaction flags. */
int help_key(struct app *app, int key, bool is_key);

#endif
