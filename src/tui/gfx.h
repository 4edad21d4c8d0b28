/*
 * gfx.h — the TUI's graphics layer: showing images in rectangles of the curses screen as
 * sixel, kitty or iTerm2 images, or as coloured half-blocks. The probe and the encoders are
 * curses-free, in termgfx.h.
 *
 * Probe before initscr() (gfx_probe, termgfx.h), then create one struct gfx for the session
 * (gfx_new) and free it after endwin(). The layer owns its placements (one per caller-chosen slot
 * key) and a bounded cache of encodings (per file and pixel size, least recently used dropped
 * first).
 *
 * With sixel, kitty and iTerm2 images, curses must never draw into a placed rectangle: gfx_show()
 * blanks it in the window and the caller leaves it blank until gfx_hide(); the image itself is
 * written straight to the terminal by gfx_flush() after doupdate(), wrapped in cursor save/restore,
 * and written again only when the placement changes or after gfx_invalidate() (resize, Ctrl-L).
 * Removing a placement writes real spaces over it at once (and, for kitty, whose images do not live
 * in the cells, deletes the image there first). With blocks, gfx_show() draws the image into the
 * window with curses (colour pairs from GFX_PAIR_BASE up) and nothing is written outside curses.
 * Every path and message shown is sanitized.
 */
#ifndef NNCMP_GFX_H
#define NNCMP_GFX_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/termgfx.h"

/* Colour pairs GFX_PAIR_BASE .. COLOR_PAIRS-1 (at most GFX_PAIR_MAX of them) are the layer's. */
#define GFX_PAIR_BASE 64
#define GFX_PAIR_MAX  1024

struct gfx;
/* A layer for the probed terminal; utf8 chooses half-blocks or ASCII shades. Call after
   initscr() and start_color(). */
struct gfx *gfx_new(const struct gfx_term *t, bool utf8);
void gfx_free(struct gfx *g);
enum gfx_mode gfx_mode(const struct gfx *g);
/* Whether images show in colour: pixel modes, or half-blocks on a terminal with colour pairs to
   spare (else they are grey shades). */
bool gfx_colour(const struct gfx *g);

/*
 * Shows image `path` in the rectangle of h rows × w columns at window position (wy, wx) of win
 * (which must not move while the image is shown), as slot `key`. The image is scaled into the
 * rectangle (tiny images enlarged by an integer factor, aspect kept) and placed at its top
 * left. A file that cannot be shown draws a box with the reason instead. Returns the number of
 * rows used (the columns are in *used_w when not NULL), or 0 when nothing was drawn (GFX_NONE,
 * an empty rectangle).
 */
int gfx_show(struct gfx *g, WINDOW *win, int wy, int wx, int h, int w, const char *path, int key,
             int *used_w);
/*
 * What gfx_show_over() draws over the image, after it is scaled to the rectangle (so a map is
 * upsampled to the pixels shown, in half-blocks to two per cell): an explanation map blended
 * as heat colour (overlay.h) and a box, outlined in pixel modes and tinted in half-blocks. The tag
 * names the overlay in the cache (e.g. "saliency cnn 12"): images with equal path, size and tag are
 * taken to be equal, so it must change whenever the map or the box does; an overlay without a tag
 * is ignored.
 */
struct gfx_overlay {
	const char *tag;
	const double *map; /* mh × mw, row-major; NULL: no map */
	int mh, mw;
	bool box;
	double frac[4]; /* x0, y0, x1, y1 as fractions of the image, end exclusive */
	uint8_t rgb[3]; /* the box's colour */
};
/* gfx_show() with an overlay (NULL: none). */
int gfx_show_over(struct gfx *g, WINDOW *win, int wy, int wx, int h, int w, const char *path,
                  int key, int *used_w, const struct gfx_overlay *ov);
/*
 * gfx_show() of an image in memory: img is borrowed (what the cache keeps is fitted from it) and
 * named tag in the cache, so images of equal tag and box are taken to be equal: the tag must
 * change whenever the picture does. An empty image hides the slot and draws nothing.
 */
int gfx_show_image(struct gfx *g, WINDOW *win, int wy, int wx, int h, int w,
                   const struct image *img, const char *tag, int key, int *used_w);
/* The pixel box an image shown in h rows × w columns at row wy of win is fitted to (w × 2h in
 * half-blocks; sixel's height cut to whole bands of six, and each side to at most 996 pixels,
 * as xterm shows no larger image), 0 × 0 when nothing would be drawn.
 * An image of exactly that size is shown pixel for pixel. */
void gfx_box(const struct gfx *g, WINDOW *win, int wy, int h, int w, int *pw, int *ph);
/* The pixels of one cell: the terminal's in the pixel modes, 1 × 2 in half-blocks. */
void gfx_cell_px(const struct gfx *g, int *cw, int *ch);
/* Erases slot key (real spaces over an image written around curses) and forgets it; nothing
   happens for an unknown key. */
void gfx_hide(struct gfx *g, int key);
void gfx_hide_all(struct gfx *g);
/* After doupdate(): writes the sixel, kitty or iTerm2 placements that are new or invalidated. */
void gfx_flush(struct gfx *g);
/* After a resize or Ctrl-L (once curses has cleared the screen): every placement is written
   again on the next flush. */
void gfx_invalidate(struct gfx *g);

#endif
