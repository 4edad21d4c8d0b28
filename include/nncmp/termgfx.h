/*
 * termgfx.h — terminal graphics that both fronts use, with no curses in it: asking the terminal
 * what it can draw (gfx_probe, before curses starts or instead of it), and the renderings of an
 * image as bytes for a terminal (sixel through libsixel; kitty's graphics protocol and iTerm2's
 * inline images as PNG; half-block cells, ANSI text; tmux's passthrough wrapper). The TUI
 * places them on its curses screen (src/tui/gfx.h); `nncmp preview` writes them to stdout.
 *
 * The probe is the only part that does terminal I/O (it writes its queries to /dev/tty and reads
 * the replies, with a timeout); the encoders only return bytes. Functions that return char * or
 * fill *out return memory the caller owns (free()); failures are one line in struct nn_err.
 *
 * Geometry of the half-block rendering: a cell shows two pixels stacked (upper half and lower
 * half), so an image of w × h pixels takes w columns and (h + 1) / 2 rows; with cells about twice
 * as tall as wide, its pixels stay square.
 */
#ifndef NNCMP_TERMGFX_H
#define NNCMP_TERMGFX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/image.h"

#include "nncmp/termreply.h"

/*
 * How images are drawn: not at all, half-blocks through curses (or ANSI text), or one of the
 * terminal's own image protocols: sixel, kitty's graphics protocol, iTerm2's inline images.
 */
enum gfx_mode { GFX_NONE, GFX_BLOCKS, GFX_SIXEL, GFX_KITTY, GFX_ITERM };

/* True for the modes whose images are written around curses (sixel, kitty, iTerm2). */
bool gfx_mode_is_pixels(enum gfx_mode m);
/* The mode's name as --graphics spells it ("kitty", "iterm", ...). */
const char *gfx_mode_name(enum gfx_mode m);

/* What gfx_probe found out. */
struct gfx_term {
	enum gfx_mode mode;
	int cell_w, cell_h;    /* pixels per cell; 10 × 20 when the terminal did not say */
	bool cell_known;       /* the size came from the terminal */
	bool tmux_passthrough; /* wrap escapes for tmux's passthrough (opted in) */
	bool da1;              /* the terminal answered DA1 */
	uint8_t pending[64];   /* bytes the user typed during the probe, in order (for ungetch) */
	size_t n_pending;
	char why[160]; /* one line: how the mode was chosen */
};

/*
 * Chooses the graphics mode before curses starts. override is "sixel", "kitty", "iterm",
 * "blocks", "none", "auto" or NULL (from --graphics or the config's `graphics`); passthrough is
 * the config's `graphics_passthrough` (NNCMP_TMUX_PASSTHROUGH=1 also turns it on). Unless the
 * choice is "none" or "blocks", and when stdin and stdout are terminals, it asks the terminal
 * (kitty's graphics query, XTVERSION, iTerm2's ReportCellSize where the environment names
 * iTerm2, CSI 16 t / 14 t when TIOCGWINSZ has no pixel size, and DA1, which every terminal
 * answers last) and waits for DA1's reply at most NNCMP_PROBE_TIMEOUT_MS (default 1500)
 * milliseconds; gfx_choose() then picks the mode. Returns 0, or -1 for an unknown override
 * (t->why says so).
 */
int gfx_probe(const char *override, bool passthrough, struct gfx_term *t);

/* What the environment says, for gfx_choose (NULL strings for unset variables). */
struct gfx_hints {
	const char *term;         /* TERM */
	const char *term_program; /* TERM_PROGRAM (iTerm.app, WezTerm, ...; tmux sets "tmux") */
	const char *lc_terminal;  /* LC_TERMINAL (iTerm2 sets it, and ssh forwards LC_*) */
	bool in_tmux;             /* TMUX is set */
	bool passthrough;         /* the user opted into tmux passthrough */
};

/*
 * The automatic choice from the replies r and the hints (pure, no I/O): kitty's protocol when
 * the terminal answered the graphics query with OK (kitty, WezTerm, Ghostty, Konsole); iTerm2's
 * inline images when XTVERSION, ReportCellSize, TERM_PROGRAM or LC_TERMINAL says iTerm2; sixel
 * when DA1 lists attribute 4; else half-blocks. Inside tmux the replies are tmux's own: kitty
 * and iTerm2 are never chosen there, and sixel through passthrough only when opted in, as
 * before. Writes one line about the choice to why[0..cap).
 */
enum gfx_mode gfx_choose(const struct termreply *r, const struct gfx_hints *h, char *why,
                         size_t cap);

/* Parses "sixel" | "kitty" | "iterm" | "blocks" | "none"; returns -1 for anything else. */
int gfx_mode_parse(const char *s, enum gfx_mode *mode);

/*
 * Encodes img as a sixel DCS string (ESC P q ... ESC \) with at most 256 colours (libsixel,
 * no dithering, so flat areas keep one colour). Returns 0 with *out (owned, NUL-terminated) and
 * *len, or -1 with err set.
 */
int image_sixel(const struct image *img, char **out, size_t *len, struct nn_err *err);

/*
 * Encodes img for kitty's graphics protocol (APC ESC _ G a=T,f=100,c=COLS,r=ROWS,C=1,q=2,m=1 ;
 * a PNG in base64 chunks of at most 4096 characters, each m=1, then an empty m=0 command) or as
 * an iTerm2 inline image (OSC ESC ] 1337 ; File=inline=1;size=BYTES;width=COLS;height=ROWS;
 * preserveAspectRatio=0 : base64 of a PNG, BEL) (inline.c). The image takes cols × rows cells with
 * cells of cell_w × cell_h pixels: it is laid at the top left of a transparent canvas of exactly
 * cols·cell_w × rows·cell_h pixels, so that no pixel is resampled (the terminal shows it 1:1 when
 * the cell size is right, and scales the whole canvas into the cells when not). img must fit that
 * canvas. The kitty form does not move the cursor (C=1) and asks for no reply (q=2). Returns 0 with
 * *out (owned, NUL-terminated) and *len, or -1 with err set.
 */
int image_kitty(const struct image *img, int cols, int rows, int cell_w, int cell_h, char **out,
                size_t *len, struct nn_err *err);
int image_iterm(const struct image *img, int cols, int rows, int cell_w, int cell_h, char **out,
                size_t *len, struct nn_err *err);

/*
 * Kitty's command that deletes the images placed over the cell at 0-based (row, col), and frees
 * their data (a=d,d=P). Writes it to buf (at least 64 bytes) and returns its length.
 */
size_t image_kitty_delete_at(int row, int col, char *buf, size_t cap);

/*
 * Wraps a sixel string (or any escapes) for tmux's passthrough (ESC P tmux; ... ESC \, every ESC
 * inside doubled), for tmux older than 3.4 with allow-passthrough on. Returns a new string and its
 * length.
 */
char *image_tmux_wrap(const char *six, size_t len, size_t *out_len);

/*
 * Half-block cell (row, col) of img: the colour of its upper half (pixel row 2*row) and of its
 * lower half (row 2*row + 1). Returns 2, or 1 when the image has an odd height and the cell is
 * in the last row (lo is then left unchanged: draw the upper half only).
 */
int image_cell(const struct image *img, int row, int col, uint8_t up[3], uint8_t lo[3]);

/* The xterm 256-colour palette index nearest to an RGB colour (6×6×6 cube or grey ramp). */
int image_xterm256(const uint8_t rgb[3]);
/* The RGB colour of an xterm 256-colour index 16..255 (the cube and the grey ramp). */
void image_xterm256_rgb(int index, uint8_t rgb[3]);

/* The ASCII shade (one of " .:-=+*#%@") for a colour, by its luminance. */
char image_shade(const uint8_t rgb[3]);

enum image_colour { IMAGE_TRUECOLOR, IMAGE_256 };

/*
 * Renders img as text with ANSI colours, one line per cell row, each line ending with a reset
 * and "\n": half-blocks ("▀", foreground = upper pixel, background = lower pixel) when utf8,
 * else one ASCII shade per cell (of the two pixels' mean) in the foreground colour of that
 * mean. Returns a new NUL-terminated string (caller frees).
 */
char *image_ansi(const struct image *img, enum image_colour colour, bool utf8);

#endif
