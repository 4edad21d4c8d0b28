/*
 * tui.h — the interactive terminal front (ncursesw): split panes over one study.
 *
 * tui_run() opens the study, takes over the terminal until the user quits (or a SIGINT, SIGTERM or
 * SIGHUP arrives) and always gives it back (endwin) before returning. It must be called only when
 * stdin and stdout are terminals. Errors in opening the study are printed to stderr before the
 * screen is touched.
 */
#ifndef NNCMP_TUI_H
#define NNCMP_TUI_H

#include <stdbool.h>

#include "nncmp/util.h"

/*
 * Runs the TUI on the study at path. theme is a theme name (themes/NAME.ini), a path to an .ini
 * file, or NULL for $NNCMP_THEME, the config file, then "default". Returns an exit status
 * (0 success, 2 bad input, 1 internal failure). graphics is "sixel", "blocks", "none" or NULL
 * (then the config's [ui] graphics, else what the terminal answers when probed).
 */
int tui_run(const char *path, const char *theme, const char *graphics);
/* Whether tui_run applies the study's triage journal to every pane (the default) or, with
 * false (--no-journal), shows the labels as in the files and keeps triage read-only. */
void tui_set_journal(bool use);
/* --color: COLOUR_NEVER draws with the monochrome theme's attributes (as NO_COLOR does, and over
 * a named theme), COLOUR_ALWAYS uses colours even when NO_COLOR is set. */
void tui_set_colour(enum colour_when when);
/*
 * The state tui_run opens in (nncmp STUDY --filter EXPR --sort KEY --models A B); NULL leaves
 * that part as usual. The strings are borrowed until tui_run returns. A bad value makes tui_run
 * say so on stderr and return 2 before the screen is touched.
 */
void tui_set_start(const char *filter, const char *sort, const char *model_a, const char *model_b);

/* --view NAME: open with the saved view NAME (views.ini); an unknown name makes tui_run say so
 * and return 2 before the screen is touched. NULL: the state left at the last quit. */
void tui_set_view(const char *name);

#endif
