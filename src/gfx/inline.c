/*
 * inline.c — kitty's graphics protocol and iTerm2's inline images: the image as a PNG (libpng,
 * png.c) in base64, in the escape sequences of each protocol.
 *
 * PNG rather than raw pixels: a 200 × 200 digit is a few kilobytes instead of the 217 KB of
 * uncompressed RGBA (what libchafa 1.12, tried first, sends for kitty; its iTerm2 form is an
 * uncompressed TIFF of the same size), and every key that shows another image sends it again,
 * often over SSH.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/termgfx.h"

/* Kitty's payload chunks: at most 4096 base64 characters each (the protocol's limit). */
#define KITTY_CHUNK 4096

/* A growing output string. */
struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->p = xreallocarray(o->p, o->cap, 1);
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/*
 * The image at the top left of a transparent canvas of exactly cols × rows cells (see
 * termgfx.h), as base64 PNG; NULL with err set when it does not fit or cannot be encoded.
 */
static char *canvas_png(const char *what, const struct image *img, int cols, int rows, int cell_w,
                        int cell_h, struct nn_err *err)
{
	if (img->w <= 0 || img->h <= 0 || !img->rgb) {
		nn_err_set(err, "%s: empty image", what);
		return NULL;
	}
	if (cols <= 0 || rows <= 0 || cell_w <= 0 || cell_h <= 0 || cols > 4096 || rows > 4096 ||
	    cell_w > 1024 || cell_h > 1024) {
		nn_err_set(err, "%s: no room", what);
		return NULL;
	}
	size_t pw = (size_t)cols * (size_t)cell_w, ph = (size_t)rows * (size_t)cell_h;
	if ((size_t)img->w > pw || (size_t)img->h > ph) {
		nn_err_set(err, "%s: a %d x %d image does not fit %d x %d cells", what, img->w,
		           img->h, cols, rows);
		return NULL;
	}
	uint8_t *rgba = xcalloc(pw * ph, 4);
	for (int y = 0; y < img->h; y++)
		for (int x = 0; x < img->w; x++) {
			uint8_t *d = rgba + ((size_t)y * pw + (size_t)x) * 4;
			memcpy(d, img->rgb + ((size_t)y * (size_t)img->w + (size_t)x) * 3, 3);
			d[3] = 255;
		}
	char *b64 = image_png_base64_rgba(rgba, (int)pw, (int)ph, err);
	free(rgba);
	return b64;
}

int image_kitty(const struct image *img, int cols, int rows, int cell_w, int cell_h, char **out,
                size_t *len, struct nn_err *err)
{
	*out = NULL;
	*len = 0;
	char *b64 = canvas_png("kitty", img, cols, rows, cell_w, cell_h, err);
	if (!b64)
		return -1;
	/* a=T transmits and displays, f=100 PNG, c/r the cells, C=1 keeps the cursor, q=2 asks for
	 * no reply; every payload chunk says m=1 (more follows) and an empty m=0 ends the image */
	struct out o = {0};
	size_t n = strlen(b64);
	char head[96];
	snprintf(head, sizeof head, "\033_Ga=T,f=100,c=%d,r=%d,C=1,q=2,m=1;", cols, rows);
	for (size_t at = 0; at < n; at += KITTY_CHUNK) {
		put_str(&o, at == 0 ? head : "\033_Gm=1;");
		put(&o, b64 + at, n - at < KITTY_CHUNK ? n - at : KITTY_CHUNK);
		put_str(&o, "\033\\");
	}
	put_str(&o, "\033_Gm=0\033\\");
	free(b64);
	*out = o.p;
	*len = o.len;
	return 0;
}

int image_iterm(const struct image *img, int cols, int rows, int cell_w, int cell_h, char **out,
                size_t *len, struct nn_err *err)
{
	*out = NULL;
	*len = 0;
	char *b64 = canvas_png("iterm", img, cols, rows, cell_w, cell_h, err);
	if (!b64)
		return -1;
	size_t n = strlen(b64),
	       bytes = n / 4 * 3 - (n && b64[n - 1] == '=') - (n > 1 && b64[n - 2] == '=');
	struct out o = {0};
	char head[160];
	snprintf(head, sizeof head,
	         "\033]1337;File=inline=1;size=%zu;width=%d;height=%d;preserveAspectRatio=0:",
	         bytes, cols, rows);
	put_str(&o, head);
	put(&o, b64, n);
	put_str(&o, "\a");
	free(b64);
	*out = o.p;
	*len = o.len;
	return 0;
}

size_t image_kitty_delete_at(int row, int col, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "\033_Ga=d,d=P,x=%d,y=%d,q=2\033\\", col + 1, row + 1);
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}
