/*
 * overlay.h — what the TUI draws over an image: an explanation map blended in as heat colour
 * (Grad-CAM, saliency.h) and a rectangle outlined (the region of a channel's patch).
 *
 * Pure functions on a struct image (image.h) the caller owns; nothing is kept between calls.
 * The map is upsampled bilinearly to the image's size with pixel centres aligned (the source
 * coordinate of output pixel j is (j + 0.5)·in/out − 0.5, clamped to the edges), which is what
 * torch.nn.functional.interpolate(mode="bilinear", align_corners=False) and
 * skimage.transform.resize(order=1, mode="edge", anti_aliasing=False) compute.
 */
#ifndef NNCMP_OVERLAY_H
#define NNCMP_OVERLAY_H

#include <stdint.h>

#include "nncmp/image.h"

/* The blend weight of the heat colour over the image. */
#define OVERLAY_ALPHA 0.55

/* Upsamples the ih × iw map `in` (row-major) to oh × ow in `out` as described above. NaN
   values spread to the outputs they touch. */
void overlay_bilinear(const double *in, int ih, int iw, int oh, int ow, double *out);
/* The heat colour of v in [0, 1] (jet: blue, cyan, yellow, red); NaN and values outside are
   clamped (NaN as 0). */
void overlay_heat(double v, uint8_t rgb[3]);
/*
 * Blends the ih × iw map over img: the map divided by its maximum (saliency_normalise), upsampled
 * to img's size, each pixel becomes (1 − OVERLAY_ALPHA)·pixel + OVERLAY_ALPHA·heat(value).
 */
void overlay_blend(struct image *img, const double *map, int ih, int iw);
/*
 * Outlines the box frac = {x0, y0, x1, y1} (fractions of the image, end exclusive) in rgb: the
 * pixels x0·w ≤ x < x1·w on rows y0·h and y1·h − 1 and likewise the columns, `thick` pixels
 * inwards (at least one pixel wide, clipped to the image).
 */
void overlay_box(struct image *img, const double frac[4], int thick, const uint8_t rgb[3]);
/* Tints the same box's pixels (at least one): each becomes (1 − alpha)·pixel + alpha·rgb,
   rounded; for images too small for an outline to leave the inside visible (half-blocks). */
void overlay_tint(struct image *img, const double frac[4], double alpha, const uint8_t rgb[3]);

#endif
