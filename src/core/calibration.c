/* calibration.c — reliability diagram, ECE and confidence of right and wrong predictions. */
#include "nncmp/calibration.h"

#include <math.h>
#include <stdlib.h>

int calibration_compute(const struct study *s, size_t mi, size_t bins, struct calibration *out)
{
	const struct model *m = &s->models[mi];
	*out = (struct calibration){.bins = bins};
	if (!model_has_probs(m) || bins == 0 || bins > CALIBRATION_MAX_BINS)
		return -1;
	out->count = xcalloc(bins, sizeof *out->count);
	out->correct = xcalloc(bins, sizeof *out->correct);
	out->mean_conf = xcalloc(bins, sizeof *out->mean_conf);
	out->accuracy = xcalloc(bins, sizeof *out->accuracy);
	double *sum = xcalloc(bins, sizeof *sum);
	double sum_right = 0, sum_wrong = 0;
	int64_t n_right = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (study_removed(s, i))
			continue;
		double conf = model_conf(m, i);
		long b = (long)ceil(conf * (double)bins) - 1;
		b = b < 0 ? 0 : b >= (long)bins ? (long)bins - 1 : b;
		bool ok = model_pred(m, i) == s->labels[i];
		out->count[b]++;
		out->correct[b] += ok;
		sum[b] += conf;
		out->n++;
		if (ok) {
			n_right++;
			sum_right += conf;
		} else {
			sum_wrong += conf;
		}
	}
	/* the same expression, in the same order, as metrics_model's ece */
	double e = 0;
	for (size_t b = 0; b < bins; b++) {
		double bn = (double)out->count[b];
		out->mean_conf[b] = bn > 0 ? sum[b] / bn : NAN;
		out->accuracy[b] = bn > 0 ? (double)out->correct[b] / bn : NAN;
		if (out->count[b])
			e += bn / (double)out->n * fabs((double)out->correct[b] / bn - sum[b] / bn);
	}
	out->ece = out->n ? e : NAN;
	int64_t n_wrong = (int64_t)out->n - n_right;
	out->mean_conf_right = n_right ? sum_right / (double)n_right : NAN;
	out->mean_conf_wrong = n_wrong ? sum_wrong / (double)n_wrong : NAN;
	free(sum);
	return 0;
}

void calibration_free(struct calibration *cb)
{
	free(cb->count);
	free(cb->correct);
	free(cb->mean_conf);
	free(cb->accuracy);
	*cb = (struct calibration){0};
}
