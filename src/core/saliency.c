/*
 * saliency.c — max-normalisation, L1 and SSIM of explanation maps (saliency.h), and reading one
 * instance's map from the study's mapping.
 */
#include <math.h>
#include <stdbool.h>

#include "nncmp/saliency.h"

void saliency_normalise(const double *map, size_t n, double *out)
{
	double mx = 0;
	for (size_t k = 0; k < n; k++)
		if (map[k] > mx)
			mx = map[k];
	bool zero = !(mx > 0) || !isfinite(mx);
	for (size_t k = 0; k < n; k++)
		out[k] = zero ? (isnan(map[k]) ? map[k] : 0) : map[k] / mx;
}

double saliency_l1(const double *a, const double *b, size_t n)
{
	double sum = 0;
	for (size_t k = 0; k < n; k++)
		sum += fabs(a[k] - b[k]);
	return n ? sum / (double)n : NAN;
}

/*
 * skimage filters the whole image (edges mirrored) and then drops the `pad` = 3 pixels nearest
 * each edge before the mean: every window it keeps lies inside the image, so only those are
 * summed here and the edge rule never matters.
 */
double saliency_ssim(const double *a, const double *b, size_t h, size_t w)
{
	const size_t win = SALIENCY_SSIM_WIN, pad = (SALIENCY_SSIM_WIN - 1) / 2;
	if (h < win || w < win)
		return NAN;
	const double np = (double)(win * win), cov_norm = np / (np - 1);
	const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03; /* (K · data_range)², data_range 1 */
	double total = 0;
	for (size_t i = pad; i + pad < h; i++) {
		for (size_t j = pad; j + pad < w; j++) {
			double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
			for (size_t r = i - pad; r <= i + pad; r++) {
				for (size_t c = j - pad; c <= j + pad; c++) {
					double x = a[r * w + c], y = b[r * w + c];
					sx += x;
					sy += y;
					sxx += x * x;
					syy += y * y;
					sxy += x * y;
				}
			}
			double ux = sx / np, uy = sy / np;
			double vx = cov_norm * (sxx / np - ux * ux);
			double vy = cov_norm * (syy / np - uy * uy);
			double vxy = cov_norm * (sxy / np - ux * uy);
			double num = (2 * ux * uy + c1) * (2 * vxy + c2);
			double den = (ux * ux + uy * uy + c1) * (vx + vy + c2);
			total += num / den;
		}
	}
	return total / (double)((h - 2 * pad) * (w - 2 * pad));
}

int saliency_map(const struct npy *maps, size_t i, double *out, struct nn_err *err)
{
	return npy_row_f64_guarded(maps, i, out, err);
}
