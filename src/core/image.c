/* image.c — loading images with libsixel's loader, resolving their paths, scaling them. */
#include "nncmp/image.h"

#include <errno.h>
#include <fcntl.h>
#include <sixel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

void image_free(struct image *img)
{
	if (!img)
		return;
	free(img->rgb);
	img->rgb = NULL;
	img->w = img->h = 0;
}

struct load_ctx {
	struct image *out;
	int done;
	const char *why; /* set when the frame cannot be used */
};

/* Copies one frame of any pixel format into 8-bit RGB. Returns 0, or -1 with ctx->why set. */
static int frame_to_rgb(sixel_frame_t *frame, struct load_ctx *ctx)
{
	int w = sixel_frame_get_width(frame), h = sixel_frame_get_height(frame);
	int fmt = sixel_frame_get_pixelformat(frame);
	unsigned char *px = sixel_frame_get_pixels(frame);
	if (w <= 0 || h <= 0 || !px) {
		ctx->why = "an empty image";
		return -1;
	}
	if ((long long)w * h > IMAGE_MAX_PIXELS) {
		ctx->why = "image too large";
		return -1;
	}
	/* alpha laid over black (the loader leaves it to the caller) */
	unsigned char black[3] = {0, 0, 0};
	if (sixel_frame_strip_alpha(frame, black)) {
		fmt = sixel_frame_get_pixelformat(frame);
		px = sixel_frame_get_pixels(frame);
	}
	size_t n = (size_t)w * (size_t)h;
	uint8_t *rgb = xmalloc(n * 3);
	if (fmt == SIXEL_PIXELFORMAT_RGB888) {
		memcpy(rgb, px, n * 3);
	} else if (fmt & SIXEL_FORMATTYPE_PALETTE) {
		/* PAL1..PAL8 become PAL8 (one index per byte), then through the palette */
		unsigned char *pal = sixel_frame_get_palette(frame);
		int ncolors = sixel_frame_get_ncolors(frame);
		uint8_t *idx = xmalloc(n);
		int dfmt = 0;
		if (!pal || ncolors <= 0 ||
		    SIXEL_FAILED(sixel_helper_normalize_pixelformat(idx, &dfmt, px, fmt, w, h))) {
			free(idx);
			free(rgb);
			ctx->why = "unsupported palette image";
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			int c = idx[i] < ncolors ? idx[i] : 0;
			memcpy(rgb + 3 * i, pal + 3 * c, 3);
		}
		free(idx);
	} else {
		/* grey levels and the 15/16/32-bit colour formats: libsixel widens them to RGB888
		   or G8 */
		uint8_t *tmp = xmalloc(n * 3);
		int dfmt = 0;
		if (SIXEL_FAILED(sixel_helper_normalize_pixelformat(tmp, &dfmt, px, fmt, w, h))) {
			free(tmp);
			free(rgb);
			ctx->why = "unsupported pixel format";
			return -1;
		}
		if (dfmt == SIXEL_PIXELFORMAT_G8) {
			for (size_t i = 0; i < n; i++)
				rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = tmp[i];
		} else if (dfmt == SIXEL_PIXELFORMAT_RGB888) {
			memcpy(rgb, tmp, n * 3);
		} else {
			free(tmp);
			free(rgb);
			ctx->why = "unsupported pixel format";
			return -1;
		}
		free(tmp);
	}
	ctx->out->w = w;
	ctx->out->h = h;
	ctx->out->rgb = rgb;
	return 0;
}

static SIXELSTATUS load_frame(sixel_frame_t *frame, void *priv)
{
	struct load_ctx *ctx = priv;
	if (ctx->done)
		return SIXEL_OK;
	ctx->done = 1;
	return frame_to_rgb(frame, ctx) == 0 ? SIXEL_OK : SIXEL_BAD_INPUT;
}

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* JPEG: the size in the first start-of-frame segment, walking the segments before it. */
static bool jpeg_dims(FILE *f, long long *w, long long *h)
{
	if (fseek(f, 2, SEEK_SET) != 0)
		return false;
	for (int seg = 0; seg < 4096; seg++) {
		int c = getc(f);
		if (c != 0xff)
			return false;
		while ((c = getc(f)) == 0xff)
			;
		if (c == EOF)
			return false;
		if (c == 0x01 || (c >= 0xd0 && c <= 0xd8))
			continue; /* markers without a length */
		uint8_t b[7];
		if (fread(b, 1, 2, f) != 2 || be16(b) < 2)
			return false;
		bool sof = c >= 0xc0 && c <= 0xcf && c != 0xc4 && c != 0xc8 && c != 0xcc;
		if (sof) {
			if (fread(b + 2, 1, 5, f) != 5)
				return false;
			*h = be16(b + 3);
			*w = be16(b + 5);
			return true;
		}
		if (fseek(f, (long)be16(b) - 2, SEEK_CUR) != 0)
			return false;
	}
	return false;
}

/* PNM (P1-P6): the width and height after the magic, past white space and comments. */
static bool pnm_dims(FILE *f, long long *w, long long *h)
{
	long long v[2];
	if (fseek(f, 2, SEEK_SET) != 0)
		return false;
	for (int k = 0; k < 2; k++) {
		int c = getc(f);
		while (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '#') {
			if (c == '#')
				while (c != '\n' && c != EOF)
					c = getc(f);
			c = getc(f);
		}
		if (c < '0' || c > '9')
			return false;
		v[k] = 0;
		for (; c >= '0' && c <= '9'; c = getc(f))
			if ((v[k] = v[k] * 10 + (c - '0')) > INT32_MAX)
				return false;
	}
	*w = v[0];
	*h = v[1];
	return true;
}

/*
 * The size an image file declares in its header (PNG, JPEG, GIF, BMP, PNM), so that a huge image
 * is refused before the decoder allocates it. Returns true with *w and *h when the format is one
 * of these and its header could be read; other files are left to the decoder.
 */
static bool header_dims(FILE *f, long long *w, long long *h)
{
	uint8_t b[26];
	size_t n = fread(b, 1, sizeof b, f);
	if (n >= 24 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp(b + 12, "IHDR", 4) == 0) {
		*w = be32(b + 16);
		*h = be32(b + 20);
		return true;
	}
	if (n >= 10 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0)) {
		*w = b[6] | b[7] << 8;
		*h = b[8] | b[9] << 8;
		return true;
	}
	if (n >= 26 && b[0] == 'B' && b[1] == 'M') {
		if (le32(b + 14) == 12) { /* OS/2 BITMAPCOREHEADER: 16-bit sizes */
			*w = b[18] | b[19] << 8;
			*h = b[20] | b[21] << 8;
		} else {
			*w = (int32_t)le32(b + 18);
			*h = (int32_t)le32(b + 22);
			*w = *w < 0 ? -*w : *w;
			*h = *h < 0 ? -*h : *h; /* negative: rows stored top-down */
		}
		return true;
	}
	if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return jpeg_dims(f, w, h);
	if (n >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6')
		return pnm_dims(f, w, h);
	return false;
}

/*
 * A PNG's compressed image data must be one complete zlib stream of no more bytes than its
 * size calls for: libsixel's decoder (stb_image) can spin for minutes on a truncated or corrupt
 * stream of a hundred bytes. Inflates the IDAT chunks into nothing, counting; returns true when
 * the stream is whole and within bounds. f is positioned after the signature.
 */
static bool png_stream_ok(FILE *f, long long w, long long h)
{
	uint8_t hdr[8], ihdr[13];
	if (fseek(f, 8, SEEK_SET) != 0 || fread(hdr, 1, 8, f) != 8 || fread(ihdr, 1, 13, f) != 13)
		return false;
	/* at most 16 bits times 4 channels per pixel; a filter byte per row, per pass when
	   interlaced (7 passes) */
	unsigned long long bound = (unsigned long long)h * (8ull * (unsigned long long)w + 7) + 64;
	if (fseek(f, 4, SEEK_CUR) != 0) /* IHDR's CRC */
		return false;
	z_stream z = {0};
	if (inflateInit(&z) != Z_OK)
		return false;
	uint8_t in[4096], out[16384];
	unsigned long long total = 0;
	int zr = Z_OK;
	while (zr != Z_STREAM_END) {
		if (fread(hdr, 1, 8, f) != 8)
			break;
		uint32_t n = be32(hdr);
		if (memcmp(hdr + 4, "IDAT", 4) != 0) {
			if (memcmp(hdr + 4, "IEND", 4) == 0 || fseek(f, (long)n + 4, SEEK_CUR) != 0)
				break;
			continue;
		}
		while (n > 0 && zr != Z_STREAM_END) {
			size_t want = n < sizeof in ? n : sizeof in;
			if (fread(in, 1, want, f) != want)
				goto out;
			n -= (uint32_t)want;
			z.next_in = in;
			z.avail_in = (uInt)want;
			while (z.avail_in > 0 && zr != Z_STREAM_END) {
				z.next_out = out;
				z.avail_out = sizeof out;
				zr = inflate(&z, Z_NO_FLUSH);
				if (zr != Z_OK && zr != Z_STREAM_END)
					goto out;
				total += sizeof out - z.avail_out;
				if (total > bound)
					goto out;
			}
		}
		if (fseek(f, (long)n + 4, SEEK_CUR) != 0) /* the rest and the CRC */
			break;
	}
out:
	inflateEnd(&z);
	return zr == Z_STREAM_END && total <= bound;
}

/*
 * Refuses a file that is not a PNG, JPEG, GIF, BMP or PNM with a readable size, an image whose
 * header declares more than IMAGE_MAX_PIXELS, and a PNG whose data stream is broken
 * (png_stream_ok). Returns 0 or -1.
 */
static int check_declared_size(const char *path, struct nn_err *err)
{
	FILE *f = fopen(path, "rbe");
	if (!f)
		return nn_err_set(err, "%s: %s", path, strerror(errno));
	long long w = 0, h = 0;
	bool known = header_dims(f, &w, &h);
	int rc = 0;
	/* libsixel's loader also guesses formats without a signature (TGA, PSD, HDR, PIC), and
	   allocates what 19 bytes of such a file declare, 150 MB, then leaks it */
	if (!known)
		rc = nn_err_set(
		    err, "%s: not an image libsixel can read (PNG, JPEG, GIF, BMP, PNM)", path);
	if (known && (w > IMAGE_MAX_PIXELS || h > IMAGE_MAX_PIXELS || w * h > IMAGE_MAX_PIXELS))
		rc = nn_err_set(err, "%s: image too large (%lld x %lld pixels, at most %d)", path,
		                w, h, IMAGE_MAX_PIXELS);
	uint8_t sig[8];
	if (rc == 0 && known && fseek(f, 0, SEEK_SET) == 0 && fread(sig, 1, 8, f) == 8 &&
	    memcmp(sig, "\x89PNG", 4) == 0 && !png_stream_ok(f, w, h))
		rc = nn_err_set(err, "%s: a PNG whose image data is truncated or corrupt", path);
	fclose(f);
	return rc;
}

int image_load(const char *path, struct image *out, struct nn_err *err)
{
	memset(out, 0, sizeof *out);
	struct stat st;
	/* libsixel reads "-" as stdin and may fetch URLs: only existing regular files go to it */
	int fd = nn_open_regular(path, O_RDONLY, err);
	if (fd < 0) {
		if (errno == ENOENT)
			nn_err_set(err, "%s: no such file", path);
		else if (errno == EISDIR)
			nn_err_set(err, "%s: not a regular file", path);
		return -1;
	}
	int rc_st = fstat(fd, &st);
	close(fd);
	if (rc_st != 0)
		return nn_err_set(err, "%s: %s", path, strerror(errno));
	if (st.st_size == 0)
		return nn_err_set(err, "%s: empty file", path);
	if ((unsigned long long)st.st_size > IMAGE_MAX_FILE_BYTES)
		return nn_err_set(err, "%s: file too large (%lld bytes)", path,
		                  (long long)st.st_size);
	if (check_declared_size(path, err) != 0)
		return -1;

	struct load_ctx ctx = {.out = out};
	unsigned char bg[3] = {0, 0, 0};
	/* "./" keeps a file literally named "-" or "http:..." from meaning stdin or a URL */
	char *arg = path[0] == '/' ? xstrdup(path) : xasprintf("./%s", path);
	/* the loader, unlike the encoder, needs an explicit allocator (malloc and friends) */
	sixel_allocator_t *alloc = NULL;
	SIXELSTATUS st_load = sixel_allocator_new(&alloc, NULL, NULL, NULL, NULL);
	if (SIXEL_SUCCEEDED(st_load))
		st_load =
		    sixel_helper_load_image_file(arg, 1, 0, SIXEL_PALETTE_MAX, bg, LOOP_DISABLE,
		                                 load_frame, 0, NULL, &ctx, alloc);
	if (alloc)
		sixel_allocator_unref(alloc);
	free(arg);
	if (SIXEL_FAILED(st_load) || !out->rgb) {
		image_free(out);
		if (ctx.why)
			return nn_err_set(err, "%s: %s", path, ctx.why);
		return nn_err_set(
		    err, "%s: not an image libsixel can read (PNG, JPEG, GIF, BMP, PNM)", path);
	}
	return 0;
}

/* The rule samples.c applies to an "image" field: relative, without a ".." component. */
static bool path_inside(const char *p)
{
	if (p[0] == '/')
		return false;
	for (const char *c = p;;) {
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t)(slash - c) : strlen(c);
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return false;
		if (!slash)
			return true;
		c = slash + 1;
	}
}

/*
 * A relative path without ".." can still leave the study through a symbolic link (a linked file,
 * or a linked directory on the way). Resolves full (rel in the study) and the study's root and
 * returns 0 when the first lies inside the second, else -1 with err set. A path that does not
 * resolve because nothing is there is let through: opening it then says "no such file".
 */
static int resolves_inside(const char *root, const char *rel, const char *full, struct nn_err *err)
{
	char *real = realpath(full, NULL);
	if (!real)
		return errno == ENOENT ? 0 : nn_err_set(err, "%s: %s", rel, strerror(errno));
	char *real_root = realpath(root && *root ? root : ".", NULL);
	int rc = 0;
	if (!real_root) {
		rc = nn_err_set(err, "%s: %s", root, strerror(errno));
	} else {
		size_t rl = strlen(real_root);
		bool inside = strcmp(real_root, "/") == 0 ||
		              (strncmp(real, real_root, rl) == 0 && real[rl] == '/');
		if (!inside)
			rc = nn_err_set(err,
			                "%s: image path leads outside the study directory (through "
			                "a symbolic link)",
			                rel);
	}
	free(real);
	free(real_root);
	return rc;
}

char *image_path(const struct study *s, size_t i, struct nn_err *err)
{
	if (i >= s->n) {
		nn_err_set(err, "instance %zu: out of range (the study has %zu)", i, s->n);
		return NULL;
	}
	if (!s->images) {
		nn_err_set(err, "%s: the study has no images (no \"image\" field in samples.jsonl)",
		           s->name);
		return NULL;
	}
	const char *rel = s->images[i];
	if (!rel || !*rel) {
		nn_err_set(err, "instance %zu: no image", i);
		return NULL;
	}
	if (!path_inside(rel)) {
		nn_err_set(err, "%s: image path leaves the study directory", rel);
		return NULL;
	}
	char *full = path_join(s->root, rel);
	if (resolves_inside(s->root, rel, full, err) != 0) {
		free(full);
		return NULL;
	}
	return full;
}

/* Nearest-neighbour enlargement by the integer factor k. */
static void scale_up(const struct image *in, int k, struct image *out)
{
	out->w = in->w * k;
	out->h = in->h * k;
	out->rgb = xmalloc((size_t)out->w * (size_t)out->h * 3);
	for (int y = 0; y < out->h; y++) {
		const uint8_t *src = in->rgb + (size_t)(y / k) * (size_t)in->w * 3;
		uint8_t *dst = out->rgb + (size_t)y * (size_t)out->w * 3;
		for (int x = 0; x < out->w; x++)
			memcpy(dst + 3 * x, src + 3 * (x / k), 3);
	}
}

/* Box-filter reduction to ow × oh: each output pixel is the area-weighted mean it covers. */
static void scale_down(const struct image *in, int ow, int oh, struct image *out)
{
	out->w = ow;
	out->h = oh;
	out->rgb = xmalloc((size_t)ow * (size_t)oh * 3);
	double sx = (double)in->w / ow, sy = (double)in->h / oh;
	for (int oy = 0; oy < oh; oy++) {
		double y0 = oy * sy, y1 = (oy + 1) * sy;
		for (int ox = 0; ox < ow; ox++) {
			double x0 = ox * sx, x1 = (ox + 1) * sx;
			double acc[3] = {0, 0, 0}, area = 0;
			for (int y = (int)y0; y < in->h && y < y1; y++) {
				double wy = (y + 1 < y1 ? y + 1 : y1) - (y > y0 ? y : y0);
				for (int x = (int)x0; x < in->w && x < x1; x++) {
					double wx = (x + 1 < x1 ? x + 1 : x1) - (x > x0 ? x : x0);
					const uint8_t *p = in->rgb + ((size_t)y * in->w + x) * 3;
					for (int c = 0; c < 3; c++)
						acc[c] += p[c] * wx * wy;
					area += wx * wy;
				}
			}
			uint8_t *q = out->rgb + ((size_t)oy * ow + ox) * 3;
			for (int c = 0; c < 3; c++)
				q[c] = (uint8_t)(area > 0 ? acc[c] / area + 0.5 : 0);
		}
	}
}

int image_fit(const struct image *in, int max_w, int max_h, struct image *out)
{
	memset(out, 0, sizeof *out);
	if (max_w <= 0 || max_h <= 0 || in->w <= 0 || in->h <= 0 || !in->rgb)
		return -1;
	int k = max_w / in->w < max_h / in->h ? max_w / in->w : max_h / in->h;
	if (k >= 1) {
		scale_up(in, k, out);
		return 0;
	}
	double s = (double)max_w / in->w < (double)max_h / in->h ? (double)max_w / in->w
	                                                         : (double)max_h / in->h;
	int ow = (int)(in->w * s + 0.5), oh = (int)(in->h * s + 0.5);
	ow = ow < 1 ? 1 : ow > max_w ? max_w : ow;
	oh = oh < 1 ? 1 : oh > max_h ? max_h : oh;
	scale_down(in, ow, oh, out);
	return 0;
}
