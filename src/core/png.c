/*
 * png.c — images as PNG (libpng) in base64: a data: URI for reports that must be one
 * self-contained file, and the RGBA payload of kitty's and iTerm2's inline images.
 */
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/image.h"

/* Base64 (RFC 4648, with padding) of len bytes, NUL-terminated, newly allocated. */
static char *base64(const uint8_t *in, size_t len, const char *prefix)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t plen = strlen(prefix), olen = (len + 2) / 3 * 4;
	char *out = xmalloc(plen + olen + 1), *o = out + plen;
	memcpy(out, prefix, plen);
	size_t i = 0;
	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = tab[v >> 6 & 63];
		*o++ = tab[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < len ? tab[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/* The base64 of a PNG of w × h pixels in the given libpng format, after prefix; NULL on failure. */
static char *png_base64(const uint8_t *px, int w, int h, png_uint_32 format, const char *prefix,
                        struct nn_err *err)
{
	png_image pi;
	memset(&pi, 0, sizeof pi);
	pi.version = PNG_IMAGE_VERSION;
	pi.width = (png_uint_32)w;
	pi.height = (png_uint_32)h;
	pi.format = format;
	png_alloc_size_t size = 0;
	/* the first call measures, the second writes */
	if (!png_image_write_to_memory(&pi, NULL, &size, 0, px, 0, NULL)) {
		nn_err_set(err, "PNG encoding failed: %s", pi.message);
		png_image_free(&pi);
		return NULL;
	}
	uint8_t *buf = xmalloc(size ? size : 1);
	if (!png_image_write_to_memory(&pi, buf, &size, 0, px, 0, NULL)) {
		nn_err_set(err, "PNG encoding failed: %s", pi.message);
		png_image_free(&pi);
		free(buf);
		return NULL;
	}
	png_image_free(&pi);
	char *out = base64(buf, size, prefix);
	free(buf);
	return out;
}

char *image_png_data_uri(const struct image *img, struct nn_err *err)
{
	return png_base64(img->rgb, img->w, img->h, PNG_FORMAT_RGB, "data:image/png;base64,", err);
}

char *image_png_base64_rgba(const uint8_t *rgba, int w, int h, struct nn_err *err)
{
	return png_base64(rgba, w, h, PNG_FORMAT_RGBA, "", err);
}
