/* chafa.c — kitty's graphics protocol and iTerm2's inline images, encoded by libchafa. */
#include <chafa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/termgfx.h"

/*
 * The sequences chafa wraps its encodings in, for one protocol. Ours rather than chafa's
 * terminal database, so that the output does not depend on TERM: kitty's placement keeps the
 * cursor (C=1) and asks for no reply (q=2).
 */
static ChafaTermInfo *term_info(bool kitty)
{
	ChafaTermInfo *ti = chafa_term_info_new();
	if (kitty) {
		chafa_term_info_set_seq(ti, CHAFA_TERM_SEQ_BEGIN_KITTY_IMMEDIATE_IMAGE_V1,
		                        "\033_Ga=T,f=%1,s=%2,v=%3,c=%4,r=%5,C=1,q=2,m=1\033\\",
		                        NULL);
		chafa_term_info_set_seq(ti, CHAFA_TERM_SEQ_BEGIN_KITTY_IMAGE_CHUNK, "\033_Gm=1;",
		                        NULL);
		chafa_term_info_set_seq(ti, CHAFA_TERM_SEQ_END_KITTY_IMAGE_CHUNK, "\033\\", NULL);
		chafa_term_info_set_seq(ti, CHAFA_TERM_SEQ_END_KITTY_IMAGE, "\033_Gm=0\033\\",
		                        NULL);
	} else {
		chafa_term_info_set_seq(
		    ti, CHAFA_TERM_SEQ_BEGIN_ITERM2_IMAGE,
		    "\033]1337;File=inline=1;width=%1;height=%2;preserveAspectRatio=0:", NULL);
		chafa_term_info_set_seq(ti, CHAFA_TERM_SEQ_END_ITERM2_IMAGE, "\a", NULL);
	}
	return ti;
}

/* Encodes img in a transparent canvas of cols × rows cells (see termgfx.h). */
static int encode(bool kitty, const struct image *img, int cols, int rows, int cell_w, int cell_h,
                  char **out, size_t *len, struct nn_err *err)
{
	const char *what = kitty ? "kitty" : "iterm";
	*out = NULL;
	*len = 0;
	if (img->w <= 0 || img->h <= 0 || !img->rgb)
		return nn_err_set(err, "%s: empty image", what);
	if (cols <= 0 || rows <= 0 || cell_w <= 0 || cell_h <= 0 || cols > 4096 || rows > 4096 ||
	    cell_w > 1024 || cell_h > 1024)
		return nn_err_set(err, "%s: no room", what);
	size_t pw = (size_t)cols * (size_t)cell_w, ph = (size_t)rows * (size_t)cell_h;
	if ((size_t)img->w > pw || (size_t)img->h > ph)
		return nn_err_set(err, "%s: a %d x %d image does not fit %d x %d cells", what,
		                  img->w, img->h, cols, rows);
	/* canvas pixels = source pixels, so chafa copies rather than resamples */
	uint8_t *rgba = xcalloc(pw * ph, 4);
	for (int y = 0; y < img->h; y++)
		for (int x = 0; x < img->w; x++) {
			uint8_t *d = rgba + ((size_t)y * pw + (size_t)x) * 4;
			memcpy(d, img->rgb + ((size_t)y * (size_t)img->w + (size_t)x) * 3, 3);
			d[3] = 255;
		}
	ChafaCanvasConfig *cfg = chafa_canvas_config_new();
	chafa_canvas_config_set_pixel_mode(cfg, kitty ? CHAFA_PIXEL_MODE_KITTY
	                                              : CHAFA_PIXEL_MODE_ITERM2);
	chafa_canvas_config_set_canvas_mode(cfg, CHAFA_CANVAS_MODE_TRUECOLOR);
	chafa_canvas_config_set_geometry(cfg, cols, rows);
	chafa_canvas_config_set_cell_geometry(cfg, cell_w, cell_h);
	ChafaCanvas *canvas = chafa_canvas_new(cfg);
	chafa_canvas_draw_all_pixels(canvas, CHAFA_PIXEL_RGBA8_UNASSOCIATED, rgba, (int)pw, (int)ph,
	                             (int)pw * 4);
	ChafaTermInfo *ti = term_info(kitty);
	GString *gs = chafa_canvas_print(canvas, ti);
	chafa_term_info_unref(ti);
	chafa_canvas_unref(canvas);
	chafa_canvas_config_unref(cfg);
	free(rgba);
	if (!gs || gs->len == 0) {
		if (gs)
			g_string_free(gs, TRUE);
		return nn_err_set(err, "%s: libchafa wrote nothing", what);
	}
	*len = gs->len;
	*out = xmalloc(gs->len + 1);
	memcpy(*out, gs->str, gs->len + 1);
	g_string_free(gs, TRUE);
	return 0;
}

int image_kitty(const struct image *img, int cols, int rows, int cell_w, int cell_h, char **out,
                size_t *len, struct nn_err *err)
{
	return encode(true, img, cols, rows, cell_w, cell_h, out, len, err);
}

int image_iterm(const struct image *img, int cols, int rows, int cell_w, int cell_h, char **out,
                size_t *len, struct nn_err *err)
{
	return encode(false, img, cols, rows, cell_w, cell_h, out, len, err);
}

size_t image_kitty_delete_at(int row, int col, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "\033_Ga=d,d=P,x=%d,y=%d,q=2\033\\", col + 1, row + 1);
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}
