/*
 * saliency.h — comparing models' explanation maps (Grad-CAM, models/NAME/saliency/LAYER.npy).
 *
 * Pure functions on h × w maps held row-major as doubles; nothing here owns memory it did not
 * get from the caller, and nothing is kept between calls. The study reads the maps (study.h,
 * struct model's saliency); saliency_map() copies one instance's map out of the mapping.
 *
 * Similarity of two maps, as VAC-CNN compares explanations:
 *   - both maps are max-normalised first (saliency_normalise: each value divided by the map's
 *     maximum; a map whose maximum is not positive, or not finite, becomes all 0);
 *   - L1 is the mean absolute difference of the normalised maps (0 equal, 1 opposite);
 *   - SSIM is Wang et al. 2004 as scikit-image's structural_similarity computes it for 2-D
 *     float images with data_range=1 and its other defaults: a 7 × 7 uniform window (scipy's
 *     uniform_filter, edges mirrored "reflect": d c b a | a b c d), K1 = 0.01, K2 = 0.03,
 *     sample covariance (× 49/48), and the mean of the SSIM image over the pixels at least 3
 *     from every edge. Maps smaller than 7 × 7 have no SSIM (NaN), as skimage refuses them.
 */
#ifndef NNCMP_SALIENCY_H
#define NNCMP_SALIENCY_H

#include <stddef.h>

#include "nncmp/npy.h"
#include "nncmp/util.h"

/* The window side of saliency_ssim(); a map needs at least this many rows and columns. */
#define SALIENCY_SSIM_WIN 7

/* Writes map (n values) divided by its maximum into out (may be map); all 0 when the maximum
 * is not a positive finite number. NaN values stay NaN. */
void saliency_normalise(const double *map, size_t n, double *out);
/* The mean absolute difference of a and b (n values each, n >= 1). */
double saliency_l1(const double *a, const double *b, size_t n);
/* SSIM of the h × w maps a and b as above (data_range 1); NaN when h or w is below 7. */
double saliency_ssim(const double *a, const double *b, size_t h, size_t w);

/*
 * Copies instance i's map from an (N, h, w) saliency matrix into out (h·w doubles), read
 * guarded (fault.h). Returns 0, or -1 with err set when the file changed under its mapping.
 */
int saliency_map(const struct npy *maps, size_t i, double *out, struct nn_err *err);

#endif
