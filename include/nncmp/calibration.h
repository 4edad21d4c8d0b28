/*
 * calibration.h — a model's reliability diagram and the confidence of its right and wrong
 * predictions.
 *
 * Confidence is the probability of the predicted class (struct model's conf). bins equal-width
 * bins over [0, 1]: an instance goes to bin ceil(conf·bins) − 1 (clamped to 0..bins−1; conf 0
 * to bin 0), the rule of the report's ECE, which with bins = ECE_BINS equals metrics_model's
 * ece. Instances a journal decision removed are left out. Owned by the struct until
 * calibration_free.
 */
#ifndef NNCMP_CALIBRATION_H
#define NNCMP_CALIBRATION_H

#include <stddef.h>
#include <stdint.h>

#include "nncmp/study.h"

#define CALIBRATION_MAX_BINS 1000

struct calibration {
	size_t bins, n;
	int64_t *count;    /* bins: instances per bin */
	int64_t *correct;  /* bins: of them, predicted right */
	double *mean_conf; /* bins: mean confidence, NaN for an empty bin */
	double *accuracy;  /* bins: correct / count, NaN for an empty bin */
	double ece;        /* Σ count/n · |accuracy − mean_conf|; NaN when n is 0 */
	double mean_conf_right, mean_conf_wrong; /* NaN when there is none */
	/* The histograms of confidence of the right and of the wrong predictions over the same
	 * bins are correct[b] and count[b] − correct[b]. */
};

/* Model mi's calibration over bins bins (1..CALIBRATION_MAX_BINS). Returns 0, or -1 when the
 * model has no probabilities. */
int calibration_compute(const struct study *s, size_t mi, size_t bins, struct calibration *out);
void calibration_free(struct calibration *cb);

#endif
