/*
 * issues_internal.h — what the parts of the label-issue module share (issues.c, issues_cl.c,
 * issues_knn.c, issues_mix.c). Not for other modules: they use issues.h.
 *
 * A method fills three arrays of N entries (flag, score, suggested; excluded instances are
 * ignored) and issues.c ranks them.
 */
#ifndef NNCMP_ISSUES_INTERNAL_H
#define NNCMP_ISSUES_INTERNAL_H

#include "nncmp/issues.h"

/* Values read per block in a pass over probabilities: 64 KB of doubles, in the CPU's cache. */
#define ISSUES_BLOCK_VALUES 8192

/* Rows per block for c classes (at least one). */
static inline size_t issues_block_rows(size_t c)
{
	return c && c < ISSUES_BLOCK_VALUES ? ISSUES_BLOCK_VALUES / c : 1;
}

/* The probabilities a method reads: one model's, or the mean of several models'. */
struct prob_src {
	const struct study *s;
	size_t nm;
	const struct model **m; /* nm models, each with probabilities */
	size_t c;
	const int32_t *labels;  /* the labels in force (the study's or the override) */
	const uint8_t *exclude; /* NULL or N flags */
	struct nn_progress *prog;
};

/* Scratch space for prob_src_rows: up to `rows` rows of every model as float32, and a row. */
struct prob_scratch {
	size_t rows;
	float *f;          /* nm × rows × c */
	const float **src; /* nm: each model's rows of the block being read */
	double *row;       /* c */
};

/*
 * The least double s with s / nm >= t (nm > 0, t finite), or NaN when it is not found in a few
 * steps. A division by a positive number is monotonic, so for every sum S, S / nm >= t exactly
 * when S >= the result: a comparison of a mean becomes one of its sum, without the division.
 */
double prob_sum_at_least(double t, double nm);
/* True when model m's probabilities are float32 probabilities readable in place. */
bool probs_in_place(const struct model *m);

void prob_scratch_init(struct prob_scratch *sc, const struct prob_src *ps, size_t rows);
void prob_scratch_free(struct prob_scratch *sc);

/*
 * Mean probabilities of rows i0 .. i0+nb-1 (nb <= sc->rows) into out (nb × c doubles): each
 * model's row as study_open derived it (float32 probabilities exactly, logits through the same
 * softmax), summed in model order and divided by the number of models, as NumPy's
 * (p0 + p1 + ...) / nm.
 */
void prob_src_rows(const struct prob_src *ps, size_t i0, size_t nb, double *out,
                   struct prob_scratch *sc);
/*
 * The first maximum of p[0 .. c) over the columns other than skip (skip = c: every column), as
 * the loop `best = s0; for (j) if (j != skip && p[j] > p[best]) best = j` finds it from s0, the
 * first column not skipped: s0 when p[s0] is NaN, 0 when no column is left.
 */
size_t prob_row_argmax(const double *p, size_t c, size_t skip);
/* The mean probability of instance i's label in force (from the derived p_label when it can);
 * row receives c doubles. */
double prob_src_p_label(const struct prob_src *ps, size_t i, double *row, struct prob_scratch *sc);
/* Adds rows to the progress and returns -1 with "cancelled" in err when the caller asked to stop.
 */
int issues_tick(struct nn_progress *prog, size_t rows, struct nn_err *err);

/*
 * The mean method's values over ps (issues.h: score 1 - P[i, y], flagged when argmax P != y,
 * suggested argmax P or the runner-up when that is the label) in one pass over the rows, a block
 * at a time in cache, on every CPU for a large study. Returns 0, or -1 (cancelled).
 */
int issues_mean_pick(const struct prob_src *ps, uint8_t *flag, double *score, int32_t *sugg,
                     struct nn_err *err);
/*
 * Confident learning (issues.h) over ps: fills flag, score, suggested, and *estimated with the
 * calibrated confident joint's off-diagonal sum. Returns 0 or -1.
 */
int issues_cl(const struct prob_src *ps, uint8_t *flag, double *score, int32_t *suggested,
              size_t *estimated, struct nn_err *err);
/*
 * The k nearest neighbours of every instance not excluded by cosine similarity of layer ly's
 * activations (self and excluded instances left out; ties to the lower index), nearest first:
 * instance i's are nbr[i*k .. i*k+len[i]). A row of zeros or with a non-finite value has no
 * direction: it gets no neighbours (len 0) and is no one's neighbour. Adds N to the progress.
 * Returns 0 or -1.
 */
int issues_knn_neighbours(const struct study *s, const struct layer *ly, const uint8_t *exclude,
                          size_t k, struct nn_progress *prog, uint32_t *nbr, uint32_t *len,
                          struct nn_err *err);
/* knn (issues.h) over layer ly's activations with the labels in force. Returns 0 or -1. */
int issues_knn(const struct study *s, const struct layer *ly, const int32_t *labels,
               const uint8_t *exclude, size_t k, struct nn_progress *prog, uint8_t *flag,
               double *score, int32_t *suggested, struct nn_err *err);
/*
 * mix (issues.h) over ps and the nl layers (none: the mean method), k neighbours each. *mixed
 * receives how many layers were mixed in, *dropped how many the guard left out, *weight the
 * neighbour vote's weight (0 without layers), model_w[0..ps->nm) each model's weight in P'.
 * Returns 0 or -1.
 */
int issues_mix(const struct prob_src *ps, const struct layer *const *layers, size_t nl, size_t k,
               uint8_t *flag, double *score, int32_t *suggested, size_t *mixed, size_t *dropped,
               double *weight, double *model_w, struct nn_err *err);

#endif
