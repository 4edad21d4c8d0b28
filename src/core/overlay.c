/* overlay.c — heat-colour blending of explanation maps and box outlines on images (overlay.h). */
#include "nncmp/overlay.h"

#include <math.h>
#include <stdlib.h>

#include "nncmp/saliency.h"
#include "nncmp/util.h"

/* The two source indices and the weight of the second for output j of n from m inputs. */
static void taps(int j, int m, int n, int *i0, int *i1, double *t)
{
	double s = ((double)j + 0.5) * (double)m / (double)n - 0.5;
	if (s < 0)
		s = 0;
	int a = (int)floor(s);
	if (a > m - 1)
		a = m - 1;
	*i0 = a;
	*i1 = a + 1 < m ? a + 1 : m - 1;
	*t = s - (double)a;
	if (*t > 1)
		*t = 1;
}

void overlay_bilinear(const double *in, int ih, int iw, int oh, int ow, double *out)
{
	for (int r = 0; r < oh; r++) {
		int y0, y1;
		double ty;
		taps(r, ih, oh, &y0, &y1, &ty);
		for (int c = 0; c < ow; c++) {
			int x0, x1;
			double tx;
			taps(c, iw, ow, &x0, &x1, &tx);
			double top = in[y0 * iw + x0] * (1 - tx) + in[y0 * iw + x1] * tx;
			double bot = in[y1 * iw + x0] * (1 - tx) + in[y1 * iw + x1] * tx;
			out[r * ow + c] = top * (1 - ty) + bot * ty;
		}
	}
}

static double clamp01(double v)
{
	return isnan(v) || v < 0 ? 0 : v > 1 ? 1 : v;
}

void overlay_heat(double v, uint8_t rgb[3])
{
	v = clamp01(v);
	double c[3] = {1.5 - fabs(4 * v - 3), 1.5 - fabs(4 * v - 2), 1.5 - fabs(4 * v - 1)};
	for (int k = 0; k < 3; k++)
		rgb[k] = (uint8_t)lround(255 * clamp01(c[k]));
}

void overlay_blend(struct image *img, const double *map, int ih, int iw)
{
	if (img->w <= 0 || img->h <= 0 || ih <= 0 || iw <= 0)
		return;
	size_t n = (size_t)ih * (size_t)iw, np = (size_t)img->w * (size_t)img->h;
	double *norm = xcalloc(n, sizeof *norm), *up = xcalloc(np, sizeof *up);
	saliency_normalise(map, n, norm);
	overlay_bilinear(norm, ih, iw, img->h, img->w, up);
	for (size_t p = 0; p < np; p++) {
		uint8_t heat[3];
		overlay_heat(up[p], heat);
		for (int k = 0; k < 3; k++) {
			uint8_t *px = &img->rgb[p * 3 + (size_t)k];
			*px = (uint8_t)lround((1 - OVERLAY_ALPHA) * *px + OVERLAY_ALPHA * heat[k]);
		}
	}
	free(norm);
	free(up);
}

static int edge(double f, int size)
{
	double v = floor(f * size + 1e-9);
	return v < 0 ? 0 : v > size ? size : (int)v;
}

static void put(struct image *img, int x, int y, const uint8_t rgb[3])
{
	if (x < 0 || y < 0 || x >= img->w || y >= img->h)
		return;
	uint8_t *px = &img->rgb[((size_t)y * (size_t)img->w + (size_t)x) * 3];
	px[0] = rgb[0];
	px[1] = rgb[1];
	px[2] = rgb[2];
}

/* The box's pixel range, end exclusive, at least one pixel. */
static void box_px(const struct image *img, const double frac[4], int *x0, int *y0, int *x1,
                   int *y1)
{
	*x0 = edge(frac[0], img->w);
	*y0 = edge(frac[1], img->h);
	*x1 = edge(frac[2], img->w);
	*y1 = edge(frac[3], img->h);
	if (*x1 <= *x0)
		*x1 = *x0 + 1;
	if (*y1 <= *y0)
		*y1 = *y0 + 1;
}

void overlay_tint(struct image *img, const double frac[4], double alpha, const uint8_t rgb[3])
{
	int x0, y0, x1, y1;
	box_px(img, frac, &x0, &y0, &x1, &y1);
	for (int y = y0; y < y1 && y < img->h; y++)
		for (int x = x0; x < x1 && x < img->w; x++) {
			uint8_t *px = &img->rgb[((size_t)y * (size_t)img->w + (size_t)x) * 3];
			for (int k = 0; k < 3; k++)
				px[k] = (uint8_t)lround((1 - alpha) * px[k] + alpha * rgb[k]);
		}
}

void overlay_box(struct image *img, const double frac[4], int thick, const uint8_t rgb[3])
{
	int x0, y0, x1, y1;
	box_px(img, frac, &x0, &y0, &x1, &y1);
	if (thick < 1)
		thick = 1;
	/* the pixels of the box at most thick - 1 from its edge */
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			if (y - y0 < thick || y1 - 1 - y < thick || x - x0 < thick ||
			    x1 - 1 - x < thick)
				put(img, x, y, rgb);
}
