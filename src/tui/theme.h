/*
 * theme.h — colour roles (one list shared by the theme loader and the drawing code) and the
 * theme loader (theme.c). Draw with roles, never with raw pair numbers.
 */
#ifndef NNCMP_TUI_THEME_H
#define NNCMP_TUI_THEME_H

#include <curses.h>
#include <stdbool.h>
#include <stdint.h>

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
/* The role's foreground (or background) colour under the current theme as RGB, for pictures
 * drawn in the theme's colours; false when the theme leaves it to the terminal's default. */
bool role_rgb(enum role r, bool background, uint8_t rgb[3]);
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

#endif
