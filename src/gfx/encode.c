/* encode.c — an image's renderings for a terminal: sixel (libsixel), half-block cells, ANSI
   text, tmux's passthrough wrapper. Bytes only; nothing is written here. */
#include "nncmp/termgfx.h"

#include <sixel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = xreallocarray(b->p, cap, 1);
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static int sixel_write(char *data, int size, void *priv)
{
	if (size > 0)
		buf_add(priv, data, (size_t)size);
	return size;
}

/*
 * The distinct colours of img into pal (3 bytes each) when there are at most SIXEL_PALETTE_MAX;
 * returns their count, or 0 when there are more.
 */
static int exact_palette(const struct image *img, uint8_t *pal)
{
	enum { SLOTS = 1024 };
	uint32_t table[SLOTS];
	memset(table, 0xff, sizeof table); /* 0xffffffff: empty (colours fit in 24 bits) */
	int n = 0;
	size_t npx = (size_t)img->w * (size_t)img->h;
	for (size_t i = 0; i < npx; i++) {
		const uint8_t *p = img->rgb + 3 * i;
		uint32_t c = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
		uint32_t h = (c * 2654435761u) >> 22;
		while (table[h] != 0xffffffffu && table[h] != c)
			h = (h + 1) % SLOTS;
		if (table[h] == c)
			continue;
		if (n == SIXEL_PALETTE_MAX)
			return 0;
		table[h] = c;
		memcpy(pal + 3 * n, p, 3);
		n++;
	}
	return n;
}

int image_sixel(const struct image *img, char **out, size_t *len, struct nn_err *err)
{
	*out = NULL;
	*len = 0;
	if (img->w <= 0 || img->h <= 0 || !img->rgb)
		return nn_err_set(err, "sixel: empty image");
	struct buf b = {0};
	sixel_output_t *output = NULL;
	sixel_dither_t *dither = NULL;
	uint8_t pal[3 * SIXEL_PALETTE_MAX];
	int ncolors = exact_palette(img, pal);
	/* libsixel reads the pixels without writing them, but its API is not const */
	unsigned char *px = img->rgb;
	SIXELSTATUS st = sixel_output_new(&output, sixel_write, &b, NULL);
	if (SIXEL_SUCCEEDED(st))
		st = sixel_dither_new(&dither, ncolors ? ncolors : SIXEL_PALETTE_MAX, NULL);
	if (SIXEL_SUCCEEDED(st) && ncolors) {
		/* few colours (the digits, most thumbnails): each keeps its exact value */
		sixel_dither_set_palette(dither, pal);
	} else if (SIXEL_SUCCEEDED(st)) {
		st = sixel_dither_initialize(dither, px, img->w, img->h, SIXEL_PIXELFORMAT_RGB888,
		                             SIXEL_LARGE_AUTO, SIXEL_REP_AVERAGE_PIXELS,
		                             SIXEL_QUALITY_FULL);
	}
	if (SIXEL_SUCCEEDED(st)) {
		/* no error diffusion: flat areas (and enlarged pixels) keep one colour each */
		sixel_dither_set_diffusion_type(dither, SIXEL_DIFFUSE_NONE);
		st = sixel_encode(px, img->w, img->h, 3, dither, output);
	}
	if (dither)
		sixel_dither_unref(dither);
	if (output)
		sixel_output_unref(output);
	if (SIXEL_FAILED(st) || !b.p) {
		free(b.p);
		return nn_err_set(err, "sixel: %s", sixel_helper_format_error(st));
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

char *image_tmux_wrap(const char *six, size_t len, size_t *out_len)
{
	struct buf b = {0};
	buf_str(&b, "\033Ptmux;");
	for (size_t i = 0; i < len; i++) {
		if (six[i] == '\033')
			buf_add(&b, "\033", 1);
		buf_add(&b, six + i, 1);
	}
	buf_str(&b, "\033\\");
	*out_len = b.len;
	return b.p;
}

int image_cell(const struct image *img, int row, int col, uint8_t up[3], uint8_t lo[3])
{
	const uint8_t *p = img->rgb + ((size_t)(2 * row) * img->w + col) * 3;
	memcpy(up, p, 3);
	if (2 * row + 1 >= img->h)
		return 1;
	memcpy(lo, p + (size_t)img->w * 3, 3);
	return 2;
}

/* The levels of xterm's 6×6×6 colour cube. */
static const int cube_level[6] = {0, 95, 135, 175, 215, 255};

static int cube_index(int v)
{
	return v < 48 ? 0 : v < 115 ? 1 : (v - 35) / 40;
}

static int dist2(const uint8_t a[3], int r, int g, int b)
{
	return (a[0] - r) * (a[0] - r) + (a[1] - g) * (a[1] - g) + (a[2] - b) * (a[2] - b);
}

int image_xterm256(const uint8_t rgb[3])
{
	int ri = cube_index(rgb[0]), gi = cube_index(rgb[1]), bi = cube_index(rgb[2]);
	int cube = 16 + 36 * ri + 6 * gi + bi;
	int dc = dist2(rgb, cube_level[ri], cube_level[gi], cube_level[bi]);
	/* the grey ramp 232..255 is 8, 18, ..., 238 */
	int mean = (rgb[0] + rgb[1] + rgb[2]) / 3;
	int gi2 = mean < 8 ? 0 : mean > 238 ? 23 : (mean - 8 + 5) / 10;
	int gv = 8 + 10 * gi2;
	int dg = dist2(rgb, gv, gv, gv);
	return dg < dc ? 232 + gi2 : cube;
}

void image_xterm256_rgb(int index, uint8_t rgb[3])
{
	if (index >= 232) {
		rgb[0] = rgb[1] = rgb[2] = (uint8_t)(8 + 10 * (index - 232));
		return;
	}
	int i = index < 16 ? 0 : index - 16;
	rgb[0] = (uint8_t)cube_level[i / 36];
	rgb[1] = (uint8_t)cube_level[i / 6 % 6];
	rgb[2] = (uint8_t)cube_level[i % 6];
}

char image_shade(const uint8_t rgb[3])
{
	static const char shades[] = " .:-=+*#%@";
	/* Rec. 601 luma, 0..255 */
	int y = (299 * rgb[0] + 587 * rgb[1] + 114 * rgb[2]) / 1000;
	return shades[y * 10 / 256];
}

static void sgr_colour(struct buf *b, bool fg, const uint8_t c[3], enum image_colour colour)
{
	char s[48];
	if (colour == IMAGE_TRUECOLOR)
		snprintf(s, sizeof s, "\033[%d;2;%d;%d;%dm", fg ? 38 : 48, c[0], c[1], c[2]);
	else
		snprintf(s, sizeof s, "\033[%d;5;%dm", fg ? 38 : 48, image_xterm256(c));
	buf_str(b, s);
}

char *image_ansi(const struct image *img, enum image_colour colour, bool utf8)
{
	struct buf b = {0};
	buf_str(&b, "");
	int rows = (img->h + 1) / 2;
	for (int r = 0; r < rows; r++) {
		for (int c = 0; c < img->w; c++) {
			uint8_t up[3], lo[3];
			int n = image_cell(img, r, c, up, lo);
			if (utf8) {
				sgr_colour(&b, true, up, colour);
				if (n == 2)
					sgr_colour(&b, false, lo, colour);
				else
					buf_str(&b, "\033[49m");
				buf_str(&b, "\xe2\x96\x80"); /* U+2580 UPPER HALF BLOCK */
			} else {
				uint8_t m[3];
				for (int k = 0; k < 3; k++)
					m[k] = (uint8_t)(n == 2 ? (up[k] + lo[k] + 1) / 2 : up[k]);
				sgr_colour(&b, true, m, colour);
				char ch = image_shade(m);
				buf_add(&b, &ch, 1);
			}
		}
		buf_str(&b, "\033[0m\n");
	}
	return b.p;
}
