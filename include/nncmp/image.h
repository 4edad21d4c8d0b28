/*
 * image.h — sample images: loading, scaling, and a PNG data: URI for the HTML report. Their
 * renderings for a terminal (sixel, half-blocks, ASCII shades) are in termgfx.h.
 *
 * image_load() reads PNG, JPEG, GIF, BMP and PNM files with libsixel's loader into 8-bit RGB,
 * whatever the file's colour type (palette, grey, alpha laid over black); the size in the
 * file's header is checked first, and other formats libsixel would guess at are refused. Every
 * struct image owns its pixels; release them with image_free(). Functions that return char * or
 * fill *out return memory the caller owns (free() / image_free()). Nothing here prints or touches
 * the terminal: the bytes are returned, and failures are one line in struct nn_err that names the
 * file and the reason.
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
 * Encodes img as a PNG (libpng, RGB, 8 bits) and returns it as a data: URI
 * ("data:image/png;base64,..."), newly allocated; NULL with err set when libpng fails.
 */
char *image_png_data_uri(const struct image *img, struct nn_err *err);
/* The base64 (no prefix) of a PNG of w × h RGBA pixels (8 bits each, unassociated alpha). */
char *image_png_base64_rgba(const uint8_t *rgba, int w, int h, struct nn_err *err);

#endif
