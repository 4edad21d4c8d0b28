/* gfx.c — image placements on the curses screen: sixel, kitty or iTerm2 images written around
   curses, or half-blocks drawn through it; a bounded cache of scaled images and their
   encodings. */
#include "gfx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nncmp/overlay.h"
#include "nncmp/termgfx.h"
#include "nncmp/text.h"

/* Encodings kept, all entries together (the 8×8 digits in a pane take a few KB each). */
#define CACHE_BUDGET (4u << 20)
/* The largest image escape written at once: far below tmux's input buffer, quick over SSH. */
#define SIXEL_MAX_BYTES (256u << 10)
/* The widest and tallest sixel image: xterm's default maxGraphicSize is 1000 × 1000, and it
   shows nothing of a larger one. 996 keeps the height whole bands of 6. */
#define SIXEL_MAX_SIDE 996

struct entry {
	char *path;       /* the file, or the image's tag (mem) */
	bool mem;         /* an image in memory (gfx_show_image), named by path */
	char *tag;        /* the overlay's tag, or NULL for the plain image */
	int pw, ph;       /* the pixel box it was fitted to */
	struct image img; /* fitted (blocks), or empty */
	char *six;        /* the escape string (sixel, kitty or iTerm2 mode) */
	size_t six_len;
	char *error; /* why it cannot be shown (sanitized), or NULL */
	size_t bytes;
	unsigned long used; /* LRU clock */
	int pins;           /* placements showing it */
	struct entry *next;
};

struct placement {
	int key;
	int y, x, rows, cols; /* screen cells covered */
	struct entry *e;      /* pinned */
	bool dirty;           /* write it on the next flush */
	struct placement *next;
};

struct pair_slot {
	int fg, bg;
};

struct gfx {
	struct gfx_term t;
	bool utf8;
	struct entry *cache;
	size_t cache_bytes;
	unsigned long clock;
	struct placement *places;
	struct pair_slot *pairs; /* pairs[k] is colour pair GFX_PAIR_BASE + k */
	int n_pairs, max_pairs;
	int colours; /* 256, 8 or 0 (shades only) */
};

struct gfx *gfx_new(const struct gfx_term *t, bool utf8)
{
	struct gfx *g = xcalloc(1, sizeof *g);
	g->t = *t;
	g->utf8 = utf8;
	if (g->t.cell_w <= 0 || g->t.cell_h <= 0) {
		g->t.cell_w = 10;
		g->t.cell_h = 20;
	}
	if (has_colors() && COLOR_PAIRS > GFX_PAIR_BASE + 16) {
		g->colours = COLORS >= 256 ? 256 : COLORS >= 8 ? 8 : 0;
		g->max_pairs = COLOR_PAIRS - GFX_PAIR_BASE;
		if (g->max_pairs > GFX_PAIR_MAX)
			g->max_pairs = GFX_PAIR_MAX;
		g->pairs = xcalloc((size_t)g->max_pairs, sizeof *g->pairs);
	}
	return g;
}

enum gfx_mode gfx_mode(const struct gfx *g)
{
	return g->t.mode;
}

bool gfx_colour(const struct gfx *g)
{
	return gfx_mode_is_pixels(g->t.mode) || (g->t.mode == GFX_BLOCKS && g->colours > 0);
}

static void entry_free(struct entry *e)
{
	free(e->path);
	free(e->tag);
	image_free(&e->img);
	free(e->six);
	free(e->error);
	free(e);
}

static void write_raw(const char *s, size_t n)
{
	(void)write_all(STDOUT_FILENO, s, n);
}

/*
 * Writes bytes meant for the outer terminal. With tmux passthrough they travel inside tmux's
 * wrapper whole, cursor moves included: tmux neither tracks nor redraws what passes through, so
 * a move outside the wrapper would position tmux's cursor, not the terminal's, and spaces
 * outside it would not reach cells tmux believes blank already. (The positions are the pane's,
 * which are the terminal's when the pane fills the window.)
 */
static void emit(const struct gfx *g, const char *s, size_t n)
{
	if (!g->t.tmux_passthrough) {
		write_raw(s, n);
		return;
	}
	size_t len;
	char *wrapped = image_tmux_wrap(s, n, &len);
	write_raw(wrapped, len);
	free(wrapped);
}

/* Writes real spaces over a screen rectangle (attributes and cursor saved and restored). */
static void erase_rect(const struct gfx *g, int y, int x, int rows, int cols)
{
	if (rows <= 0 || cols <= 0)
		return;
	size_t cap = (size_t)rows * ((size_t)cols + 16) + 32;
	char *s = xmalloc(cap);
	size_t n = 0;
	n += (size_t)snprintf(s + n, cap - n, "\0337\033[0m");
	for (int r = 0; r < rows; r++) {
		n += (size_t)snprintf(s + n, cap - n, "\033[%d;%dH", y + r + 1, x + 1);
		memset(s + n, ' ', (size_t)cols);
		n += (size_t)cols;
	}
	n += (size_t)snprintf(s + n, cap - n, "\0338");
	emit(g, s, n);
	free(s);
}

static void place_drop(struct gfx *g, struct placement **pp, bool erase)
{
	struct placement *p = *pp;
	if (erase && gfx_mode_is_pixels(g->t.mode) && p->e->six) {
		if (g->t.mode == GFX_KITTY) {
			/* kitty's images are not in the cells: spaces alone would leave it */
			char del[64];
			emit(g, del, image_kitty_delete_at(p->y, p->x, del, sizeof del));
		}
		erase_rect(g, p->y, p->x, p->rows, p->cols);
	}
	p->e->pins--;
	*pp = p->next;
	free(p);
}

void gfx_hide(struct gfx *g, int key)
{
	for (struct placement **pp = &g->places; *pp; pp = &(*pp)->next)
		if ((*pp)->key == key) {
			place_drop(g, pp, true);
			return;
		}
}

void gfx_hide_all(struct gfx *g)
{
	while (g->places)
		place_drop(g, &g->places, true);
}

void gfx_free(struct gfx *g)
{
	if (!g)
		return;
	while (g->places)
		place_drop(g, &g->places, false);
	while (g->cache) {
		struct entry *e = g->cache;
		g->cache = e->next;
		entry_free(e);
	}
	free(g->pairs);
	free(g);
}

/* Drops least recently used, unpinned entries until the cache fits its budget. */
static void cache_trim(struct gfx *g)
{
	while (g->cache_bytes > CACHE_BUDGET) {
		struct entry **victim = NULL;
		for (struct entry **pp = &g->cache; *pp; pp = &(*pp)->next)
			if ((*pp)->pins == 0 && (!victim || (*pp)->used < (*victim)->used))
				victim = pp;
		if (!victim)
			return;
		struct entry *e = *victim;
		*victim = e->next;
		g->cache_bytes -= e->bytes;
		entry_free(e);
	}
}

/* Loads (unless given: an image in memory, borrowed), fits and (for sixel, kitty, iTerm2)
   encodes path for a pixel box; failures become e->error. */
static void entry_fill(struct gfx *g, struct entry *e, const struct gfx_overlay *ov,
                       const struct image *given)
{
	struct nn_err err = {{0}};
	struct image src = {0};
	if (given)
		src = *given;
	else if (image_load(e->path, &src, &err) != 0) {
		e->error = text_sanitize(err.msg, true);
		return;
	}
	int pw = e->pw, ph = e->ph;
	for (;;) {
		struct image fit;
		if (image_fit(&src, pw, ph, &fit) != 0) {
			e->error = xstrdup("image: no room");
			break;
		}
		if (ov && ov->map)
			overlay_blend(&fit, ov->map, ov->mh, ov->mw);
		if (ov && ov->box && gfx_mode_is_pixels(g->t.mode))
			overlay_box(&fit, ov->frac, (fit.w + 39) / 40, ov->rgb);
		else if (ov && ov->box) /* a cell or two: an outline would hide what it marks */
			overlay_tint(&fit, ov->frac, 0.6, ov->rgb);
		if (!gfx_mode_is_pixels(g->t.mode)) {
			e->img = fit;
			break;
		}
		char *six;
		size_t len;
		int cw = g->t.cell_w, ch = g->t.cell_h;
		int cols = (fit.w + cw - 1) / cw, rows = (fit.h + ch - 1) / ch;
		int rc = g->t.mode == GFX_KITTY
		             ? image_kitty(&fit, cols, rows, cw, ch, &six, &len, &err)
		         : g->t.mode == GFX_ITERM
		             ? image_iterm(&fit, cols, rows, cw, ch, &six, &len, &err)
		             : image_sixel(&fit, &six, &len, &err);
		int fw = fit.w, fh = fit.h;
		image_free(&fit);
		if (rc != 0) {
			e->error = text_sanitize(err.msg, true);
			break;
		}
		if (len <= SIXEL_MAX_BYTES || (fw <= 8 && fh <= 8)) {
			e->six = six;
			e->six_len = len;
			/* keep the fitted size for the cell count */
			e->img.w = fw;
			e->img.h = fh;
			break;
		}
		free(six);
		pw = fw * 3 / 4;
		ph = fh * 3 / 4;
	}
	if (!given)
		image_free(&src);
}

static struct entry *cache_get(struct gfx *g, const char *path, int pw, int ph,
                               const struct gfx_overlay *ov, const struct image *given)
{
	const char *tag = ov ? ov->tag : NULL;
	g->clock++;
	for (struct entry *e = g->cache; e; e = e->next)
		if (e->pw == pw && e->ph == ph && e->mem == (given != NULL) &&
		    strcmp(e->path, path) == 0 &&
		    (e->tag ? tag && strcmp(e->tag, tag) == 0 : !tag)) {
			e->used = g->clock;
			return e;
		}
	struct entry *e = xcalloc(1, sizeof *e);
	e->path = xstrdup(path);
	e->mem = given != NULL;
	e->tag = tag ? xstrdup(tag) : NULL;
	e->pw = pw;
	e->ph = ph;
	e->used = g->clock;
	entry_fill(g, e, ov, given);
	e->bytes = sizeof *e + strlen(e->path) + (e->tag ? strlen(e->tag) : 0) + e->six_len +
	           (e->error ? strlen(e->error) : 0) +
	           (e->img.rgb ? (size_t)e->img.w * (size_t)e->img.h * 3 : 0);
	e->pins++; /* not a victim of its own arrival */
	e->next = g->cache;
	g->cache = e;
	g->cache_bytes += e->bytes;
	cache_trim(g);
	e->pins--;
	return e;
}

/* The 8 basic colours as RGB, for terminals without 256 colours. */
static const uint8_t basic8[8][3] = {{0, 0, 0},   {205, 0, 0},   {0, 205, 0},   {205, 205, 0},
                                     {0, 0, 238}, {205, 0, 205}, {0, 205, 205}, {229, 229, 229}};

static int colour_of(const struct gfx *g, const uint8_t rgb[3])
{
	if (g->colours >= 256)
		return image_xterm256(rgb);
	int best = 0, bd = 1 << 30;
	for (int k = 0; k < 8; k++) {
		int d = 0;
		for (int c = 0; c < 3; c++)
			d += (rgb[c] - basic8[k][c]) * (rgb[c] - basic8[k][c]);
		if (d < bd) {
			bd = d;
			best = k;
		}
	}
	return best;
}

/* A colour pair for fg on bg from the layer's range; the nearest existing one when full. */
static short pair_for(struct gfx *g, int fg, int bg)
{
	for (int k = 0; k < g->n_pairs; k++)
		if (g->pairs[k].fg == fg && g->pairs[k].bg == bg)
			return (short)(GFX_PAIR_BASE + k);
	if (g->n_pairs < g->max_pairs) {
		int k = g->n_pairs++;
		g->pairs[k].fg = fg;
		g->pairs[k].bg = bg;
		init_pair((short)(GFX_PAIR_BASE + k), (short)fg, (short)bg);
		return (short)(GFX_PAIR_BASE + k);
	}
	int best = 0, bd = 1 << 30;
	for (int k = 0; k < g->n_pairs; k++) {
		uint8_t a[3], b[3], c[3], d[3];
		image_xterm256_rgb(g->pairs[k].fg, a);
		image_xterm256_rgb(fg, b);
		image_xterm256_rgb(g->pairs[k].bg, c);
		image_xterm256_rgb(bg, d);
		int dist = 0;
		for (int i = 0; i < 3; i++)
			dist += (a[i] - b[i]) * (a[i] - b[i]) + (c[i] - d[i]) * (c[i] - d[i]);
		if (dist < bd) {
			bd = dist;
			best = k;
		}
	}
	return (short)(GFX_PAIR_BASE + best);
}

static void put_cell(WINDOW *win, int y, int x, const char *glyph, short pair)
{
	cchar_t cc;
	wchar_t wc[2] = {0, 0};
	mbtowc(&wc[0], glyph, strlen(glyph));
	setcchar(&cc, wc, A_NORMAL, pair, NULL);
	mvwadd_wch(win, y, x, &cc);
}

/* Draws a fitted image as half-blocks (or shades) through curses. */
static void draw_blocks(struct gfx *g, WINDOW *win, int wy, int wx, const struct image *img)
{
	static const char *const ushades[] = {" ", "\xe2\x96\x91", "\xe2\x96\x92", "\xe2\x96\x93",
	                                      "\xe2\x96\x88"};
	int rows = (img->h + 1) / 2;
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < img->w; c++) {
			uint8_t up[3], lo[3];
			int n = image_cell(img, r, c, up, lo);
			uint8_t m[3];
			for (int k = 0; k < 3; k++)
				m[k] = (uint8_t)(n == 2 ? (up[k] + lo[k] + 1) / 2 : up[k]);
			if (g->colours == 0) {
				char s[2] = {image_shade(m), 0};
				int y601 = (299 * m[0] + 587 * m[1] + 114 * m[2]) / 1000;
				put_cell(win, wy + r, wx + c, g->utf8 ? ushades[y601 * 5 / 256] : s,
				         0);
			} else if (g->utf8) {
				short p =
				    pair_for(g, colour_of(g, up), n == 2 ? colour_of(g, lo) : -1);
				put_cell(win, wy + r, wx + c, "\xe2\x96\x80", p);
			} else {
				char s[2] = {image_shade(m), 0};
				put_cell(win, wy + r, wx + c, s, pair_for(g, colour_of(g, m), -1));
			}
		}
}

/* A box with the reason an image cannot be shown, clipped to the rectangle. */
static void draw_placeholder(WINDOW *win, int wy, int wx, int h, int w, const char *why)
{
	for (int r = 0; r < h; r++)
		mvwhline(win, wy + r, wx, ' ', w);
	const char *head = "[no image]";
	mvwaddnstr(win, wy, wx, head, w);
	size_t len = strlen(why), at = 0;
	for (int r = 1; r < h && at < len; r++) {
		mvwaddnstr(win, wy + r, wx, why + at, w);
		at += (size_t)w;
	}
}

int gfx_show(struct gfx *g, WINDOW *win, int wy, int wx, int h, int w, const char *path, int key,
             int *used_w)
{
	return gfx_show_over(g, win, wy, wx, h, w, path, key, used_w, NULL);
}

/* The rows of a rectangle at screen row y that an image may take: an image on the last line
   could scroll the screen. */
static int usable_rows(const struct gfx *g, int y, int h)
{
	if (gfx_mode_is_pixels(g->t.mode) && y + h > LINES - 1)
		h = LINES - 1 - y;
	return h;
}

/* The pixel box of h rows × w columns. */
static void box_px(const struct gfx *g, int h, int w, int *pw, int *ph)
{
	if (g->t.mode == GFX_SIXEL) {
		*pw = w * g->t.cell_w;
		*ph = h * g->t.cell_h / 6 * 6; /* sixel rows are 6 pixels: none may spill below */
		*pw = *pw > SIXEL_MAX_SIDE ? SIXEL_MAX_SIDE : *pw;
		*ph = *ph > SIXEL_MAX_SIDE ? SIXEL_MAX_SIDE : *ph;
		if (*ph < 6)
			*ph = 6;
	} else if (gfx_mode_is_pixels(g->t.mode)) {
		*pw = w * g->t.cell_w;
		*ph = h * g->t.cell_h;
	} else {
		*pw = w;
		*ph = 2 * h;
	}
}

void gfx_box(const struct gfx *g, WINDOW *win, int wy, int h, int w, int *pw, int *ph)
{
	h = usable_rows(g, getbegy(win) + wy, h);
	if (g->t.mode == GFX_NONE || h <= 0 || w <= 0) {
		*pw = *ph = 0;
		return;
	}
	box_px(g, h, w, pw, ph);
}

void gfx_cell_px(const struct gfx *g, int *cw, int *ch)
{
	bool pixels = gfx_mode_is_pixels(g->t.mode);
	*cw = pixels ? g->t.cell_w : 1;
	*ch = pixels ? g->t.cell_h : 2;
}

/* gfx_show_over() of a file (given NULL) or of an image in memory named path. */
static int show(struct gfx *g, WINDOW *win, int wy, int wx, int h, int w, const char *path, int key,
                int *used_w, const struct gfx_overlay *ov, const struct image *given)
{
	if (used_w)
		*used_w = 0;
	if (g->t.mode == GFX_NONE || h <= 0 || w <= 0)
		return 0;
	int y = getbegy(win) + wy, x = getbegx(win) + wx;
	h = usable_rows(g, y, h);
	if (h <= 0)
		return 0;
	int pw, ph;
	box_px(g, h, w, &pw, &ph);
	struct entry *e = cache_get(g, path, pw, ph, ov && ov->tag ? ov : NULL, given);
	struct placement **pp = &g->places;
	while (*pp && (*pp)->key != key)
		pp = &(*pp)->next;
	if (e->error || g->t.mode == GFX_BLOCKS) {
		if (*pp)
			place_drop(g, pp, true);
		if (e->error) {
			draw_placeholder(win, wy, wx, h, w, e->error);
			if (used_w)
				*used_w = w;
			return h;
		}
		draw_blocks(g, win, wy, wx, &e->img);
		if (used_w)
			*used_w = e->img.w;
		return (e->img.h + 1) / 2;
	}
	/* sixel paints whole bands of 6 pixel rows: count the rows the last band reaches */
	int band_h = g->t.mode == GFX_SIXEL ? (e->img.h + 5) / 6 * 6 : e->img.h;
	int rows = (band_h + g->t.cell_h - 1) / g->t.cell_h;
	int cols = (e->img.w + g->t.cell_w - 1) / g->t.cell_w;
	rows = rows > h ? h : rows;
	cols = cols > w ? w : cols;
	for (int r = 0; r < h; r++)
		mvwhline(win, wy + r, wx, ' ', w);
	struct placement *p = *pp;
	if (p && (p->e != e || p->y != y || p->x != x)) {
		place_drop(g, pp, true);
		p = NULL;
	}
	if (!p) {
		p = xcalloc(1, sizeof *p);
		p->key = key;
		p->e = e;
		e->pins++;
		p->dirty = true;
		p->next = g->places;
		g->places = p;
	}
	p->y = y;
	p->x = x;
	p->rows = rows;
	p->cols = cols;
	if (used_w)
		*used_w = cols;
	return rows;
}

int gfx_show_over(struct gfx *g, WINDOW *win, int wy, int wx, int h, int w, const char *path,
                  int key, int *used_w, const struct gfx_overlay *ov)
{
	return show(g, win, wy, wx, h, w, path, key, used_w, ov, NULL);
}

int gfx_show_image(struct gfx *g, WINDOW *win, int wy, int wx, int h, int w,
                   const struct image *img, const char *tag, int key, int *used_w)
{
	if (!img->rgb || img->w <= 0 || img->h <= 0) {
		if (used_w)
			*used_w = 0;
		gfx_hide(g, key);
		return 0;
	}
	return show(g, win, wy, wx, h, w, tag, key, used_w, NULL, img);
}

void gfx_flush(struct gfx *g)
{
	if (!gfx_mode_is_pixels(g->t.mode))
		return;
	for (struct placement *p = g->places; p; p = p->next) {
		if (!p->dirty || !p->e->six)
			continue;
		char head[112];
		int n = snprintf(head, sizeof head, "\0337\033[%d;%dH", p->y + 1, p->x + 1);
		/* a kitty image sent again would lie over the old one (and keep its memory) */
		if (g->t.mode == GFX_KITTY)
			n += (int)image_kitty_delete_at(p->y, p->x, head + n,
			                                sizeof head - (size_t)n);
		size_t len = (size_t)n + p->e->six_len + 2;
		char *all = xmalloc(len);
		memcpy(all, head, (size_t)n);
		memcpy(all + n, p->e->six, p->e->six_len);
		memcpy(all + n + p->e->six_len, "\0338", 2);
		emit(g, all, len);
		free(all);
		p->dirty = false;
	}
}

void gfx_invalidate(struct gfx *g)
{
	for (struct placement *p = g->places; p; p = p->next)
		p->dirty = true;
	/* and files that could not be read are tried again (they may have appeared since) */
	for (struct entry **pp = &g->cache; *pp;) {
		struct entry *e = *pp;
		if (e->error && e->pins == 0) {
			*pp = e->next;
			g->cache_bytes -= e->bytes;
			entry_free(e);
		} else {
			pp = &e->next;
		}
	}
}
