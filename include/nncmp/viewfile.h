/*
 * viewfile.h — saved views: named states of the TUI (filter, sort, the pair, the neuron layer,
 * the focused pane, the open view, the matrix's rows) kept as plain text in .nncmp/views.ini
 * beside the study, or in $XDG_STATE_HOME/nncmp/views/ when the study's directory cannot be
 * written. One [NAME] section per view; the section [~last] is the state the TUI left at quit.
 *
 *     [errors]
 *     filter = pred(cnn) != gt
 *     sort = conf(cnn):asc
 *     models = cnn mlp
 *     layer = cnn.fc1
 *     focus = instances
 *     view = matrix
 *     row = sure = conf(cnn) > 0.9
 *
 * This module only reads and writes the text; whether a value makes sense for the study (a
 * model that exists, a filter that compiles) is the TUI's to check when it applies a view.
 * Ownership: a struct view_book owns every string in it; viewbook_free() releases them.
 */
#ifndef NNCMP_VIEWFILE_H
#define NNCMP_VIEWFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "nncmp/util.h"

/* The section of the state left at quit. */
#define VIEW_LAST "~last"
/* The longest line inih reads whole: its buffer of INI_MAX_LINE (200) bytes holds 198
 * characters, the newline and the NUL. */
#define VIEW_LINE_MAX 198

struct saved_row {
	char *name, *expr;
};

struct saved_view {
	char *name;
	/* NULL: not part of the view (applying it leaves that part as it is) */
	char *filter, *sort, *model_a, *model_b, *layer, *focus, *open;
	struct saved_row *rows;
	size_t n_rows;
};

struct view_book {
	struct saved_view *v;
	size_t n;
};

/* Whether name can name a saved view: 1 to 40 of [A-Za-z0-9_.-] (VIEW_LAST is not one). */
bool viewbook_name_ok(const char *name);
/*
 * Reads views.ini text from f (fname for the messages) into b, adding to or replacing the views
 * already there. Never fails on the text: a syntax error, an unknown key, a bad name or a line
 * too long is skipped and listed in err on one line ("views.ini: line 3: unknown key 'x'; ...").
 * Returns 0, or -1 when something was skipped (the rest is in b).
 */
int viewbook_read(struct view_book *b, FILE *f, const char *fname, struct nn_err *err);
/* The same from a file; a missing file is an empty book (0). -1 with err when unreadable. */
int viewbook_load(struct view_book *b, const char *path, struct nn_err *err);
/* Writes b as views.ini text; -1 with err when a value cannot be written so that it reads back
 * the same (a newline, " ;", leading or trailing spaces, a line over VIEW_LINE_MAX). */
int viewbook_write(const struct view_book *b, FILE *f, struct nn_err *err);
/* Writes b to path whole or not at all (outfile.h), creating its directory. 0 or -1 with err. */
int viewbook_save(const struct view_book *b, const char *path, struct nn_err *err);
/* The view called name, or NULL. */
struct saved_view *viewbook_find(const struct view_book *b, const char *name);
/* Stores a deep copy of v under its name, replacing a view of that name. */
void viewbook_put(struct view_book *b, const struct saved_view *v);
void saved_view_clear(struct saved_view *v);
void viewbook_free(struct view_book *b);

/*
 * Where the views of the study rooted at root live (caller frees): root/.nncmp/views.ini when
 * root can be written (or that file exists and can), else the state file keyed by the study.
 * *alt (may be NULL) gets the study's own file when the state file is chosen and the study's
 * exists (to read first: a colleague's copy), else NULL.
 */
char *viewbook_path(const char *root, char **alt);

#endif
