/*
 * image.h — sample images: loading, scaling, and the three renderings nncmp draws them with
 * (sixel, Unicode half-blocks in colour, ASCII shades).
 *
 * image_load() reads PNG, JPEG, GIF, BMP and PNM files with libsixel's loader into 8-bit RGB,
 * whatever the file's colour type (palette, grey, alpha laid over black); the size in the
 * file's header is checked first, and other formats libsixel would guess at are refused. Every
 * struct image owns its pixels; release them with image_free(). Functions that return char * or
 * fill *out return memory the caller owns (free() / image_free()). Nothing here prints or touches
 * the terminal: the bytes are returned, and failures are one line in struct nn_err that names the
 * file and the reason.
 *
 * Geometry of the renderings: a half-block cell shows two pixels stacked (upper half and lower
 * half), so an image of w × h pixels takes w columns and (h + 1) / 2 rows; with cells about twice
 * as tall as wide, its pixels stay square.
 */
#ifndef NNCMP_IMAGE_H
#define NNCMP_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/study.h"
#include "nncmp/util.h"

struct image {
	int w, h;
	uint8_t *rgb; /* w*h*3 bytes, row-major, owned */
};

/* Larger files and images are refused rather than decoded (a placeholder says why). */
#define IMAGE_MAX_FILE_BYTES (64u << 20)
#define IMAGE_MAX_PIXELS     (40 * 1000 * 1000)

/* Loads the first frame of path as RGB. Returns 0, or -1 with err = "PATH: reason". */
int image_load(const char *path, struct image *out, struct nn_err *err);
void image_free(struct image *img);

/*
 * The file of instance i's image: samples.jsonl's "image" field resolved against the study's
 * root (newly allocated). NULL with err set when the study has no image for i, when the path
 * is absolute or has a ".." component (the rule samples.c applies when it reads the file), or
 * when it resolves (through symbolic links) outside the study's real directory.
 */
char *image_path(const struct study *s, size_t i, struct nn_err *err);

/*
 * Scales in into the box max_w × max_h, aspect kept: an image that fits is enlarged by the
 * largest integer factor that still fits (nearest neighbour, so small images stay crisp); a
 * larger one is reduced by averaging the area each output pixel covers. Returns 0, or -1 when
 * the box or the image is empty (out is then zeroed).
 */
int image_fit(const struct image *in, int max_w, int max_h, struct image *out);

/*
 * Encodes img as a sixel DCS string (ESC P q ... ESC \) with at most 256 colours (libsixel,
 * no dithering, so flat areas keep one colour). Returns 0 with *out (owned, NUL-terminated) and
 * *len, or -1 with err set.
 */
int image_sixel(const struct image *img, char **out, size_t *len, struct nn_err *err);

/*
 * Wraps a sixel string for tmux's passthrough (ESC P tmux; ... ESC \, every ESC inside doubled),
 * for tmux older than 3.4 with allow-passthrough on. Returns a new string and its length.
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

/*
 * Encodes img as a PNG (libpng, RGB, 8 bits) and returns it as a data: URI
 * ("data:image/png;base64,..."), newly allocated; NULL with err set when libpng fails.
 */
char *image_png_data_uri(const struct image *img, struct nn_err *err);

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
