/*
 * derive.h — the one pass over each model's probabilities made when a study opens.
 *
 * For every model with probabilities or logits it validates the values (finite; probabilities
 * non-negative with rows summing to 1 within PROB_SUM_TOLERANCE) and fills the per-instance
 * arrays of struct model: pred, conf, margin, p_label, rank. Chunks of rows of every model are
 * shared out among as many threads as there are online CPUs.
 */
#ifndef NNCMP_DERIVE_H
#define NNCMP_DERIVE_H

#include "nncmp/study.h"

#define PROB_SUM_TOLERANCE 1e-2

int derive_models(struct study *s, struct nn_err *err);

/*
 * Derives one row: p holds C probabilities (logits are turned into probabilities in place when
 * `logits`). Returns 0, or -1 when the row is invalid, with *why saying how.
 */
int derive_row(double *p, size_t c, bool logits, int32_t label, int32_t *pred, double *conf,
               double *margin, double *p_label, int32_t *rank, const char **why);

/*
 * derive_row for one row of float32 probabilities, in one pass over it: the same values, the
 * first maximum as argmax, the same rank, and *second the runner-up (0 with one class) whose
 * difference from *conf in double is *margin. Returns 0, or -1 when the row has a problem (then
 * derive_row on it names the problem).
 */
int derive_row_f32(const float *r, size_t c, int32_t label, int32_t *pred, double *conf,
                   double *margin, double *p_label, int32_t *rank, float *second);

/*
 * True when model m's derived values are stored as float (study.h): its probabilities are
 * float32 or narrower (float16, bfloat16), so p(pred), p(label) and the runner-up are float values.
 */
bool derive_values_f32(const struct model *m);

/* Logits to probabilities in place: exp(p - max) / sum, as at open (c >= 1, finite values). */
void derive_softmax(double *p, size_t c);

/*
 * Row i of model m's C values as study_open derived them: its probabilities, its logits through
 * derive_softmax, or, for a model with predictions only, its prediction as a one-hot row.
 */
void derive_model_row(const struct model *m, size_t i, size_t c, double *out);

/*
 * Re-derives what depends on instance i's label (p_label and rank of every model with
 * probabilities) after s->labels[i] changed; the predictions stay as they are.
 */
void derive_relabel(struct study *s, size_t i);

#endif
