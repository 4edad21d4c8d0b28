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

#endif
