/*
 * keys.h — keys as data: every key of every mode (the panes, each pane's own keys, the views'
 * shared keys, each view's own keys, the review queue, the command line) is an entry of that
 * mode's action table: a name, a help line, a handler with an argument, and default keys (vis'
 * KEY_ACTION_LIST, neomutt's per-menu bindings). The help screen lists the tables of the mode in
 * use, config.ini's [keys] rebinds entries by "mode.name" (keys.c, config.c), and the loops look
 * keys up here instead of switching on them.
 *
 * Tables are static storage owned by the file of their mode; rebinding changes their keys in
 * place, once, at start.
 */
#ifndef NNCMP_TUI_KEYS_H
#define NNCMP_TUI_KEYS_H

#include <stdbool.h>
#include <stddef.h>

struct app;
struct view_nav;

#define KEYS_MAX 8
#define KEY_ESC  27
#define CTRL(c)  ((c)&0x1f)

/* The argument of a list move: a page (the list's visible rows) or the whole list, either way. */
#define MOVE_PAGE (1L << 30)
#define MOVE_ALL  (1L << 40)

/*
 * A handler: ctx is the open view's context (NULL on the panes and the command line), nav the
 * cursor of the list in focus (the focused pane's or the view's; NULL on the command line), arg
 * the entry's argument. Returns reaction flags (tui_int.h).
 */
typedef int (*key_fn)(struct app *app, void *ctx, struct view_nav *nav, long arg);

struct key_action {
	const char *name; /* "down": rebound as MODE.down */
	const char *help; /* one line for ? */
	key_fn run;
	long arg;
	int keys[KEYS_MAX]; /* curses key codes or characters; 0 ends the list */
};

struct keymode {
	const char *name;  /* "panes", "view", "review", "words", "cmdline" ... */
	const char *title; /* the help screen's heading for it */
	struct key_action *acts;
	size_t n;
};

/* Defines struct keymode var over the array table. */
#define KEYMODE(var, mname, mtitle, table)                                                         \
	struct keymode var = {mname, mtitle, table, sizeof table / sizeof *table}

#define K(...)                                                                                     \
	{                                                                                          \
		__VA_ARGS__                                                                        \
	}

/* The modes every screen has (actions.c, views.c, cmdline.c). */
extern struct keymode panes_keys, view_keys, cmdline_keys, help_keys;
/* The review queue's class picker (view_review.c): a mode of its own inside the review. */
extern struct keymode picker_keys;

/* The k-th mode of every mode there is (the fixed ones, each pane's, each view's), or NULL past
 * the last. */
struct keymode *keymode_at(size_t k);
/* The mode called name, or NULL. */
struct keymode *keymode_named(const char *name);
/* The entry of mode m bound to key, or NULL. */
const struct key_action *keymode_find(const struct keymode *m, int key);
/* The entry of mode m called name, or NULL. */
struct key_action *keymode_action(const struct keymode *m, const char *name);
/* The first key of m's entry called name, as text ("?" when unbound). */
const char *keymode_key(const struct keymode *m, const char *name, char *buf, size_t size);
/* Every key of entry a as text, each name once ("j Down"). */
const char *key_action_labels(const struct key_action *a, char *buf, size_t size);
/* Writes a readable name of key ("j", "Tab", "C-l", "PgDn") into buf. */
const char *key_label(int key, char *buf, size_t size);
/* Parses a key name ("j", "C-x", "^X", "Tab", "PgDn"); returns the key or -1. */
int key_parse(const char *s);
/* The first key of the panes' action called name, as text ("?" when unbound). */
const char *action_key(const char *name, char *buf, size_t size);
/* Puts every table back to its default keys (the first call records them; fuzz_config). */
void keys_reset(void);

/* The shared list moves (keys.c): arg is a number of rows, or ±MOVE_PAGE, ±MOVE_ALL. page is
 * the list's visible rows. Returns true when the cursor moved. */
bool nav_move(struct view_nav *nav, size_t rows, long page, long arg);

#endif
