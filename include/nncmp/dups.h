/*
 * dups.h — near-duplicate search: pairs of instances whose vectors (a layer's activations, or
 * their images' pixels) point the same way, cosine similarity >= a threshold, within each
 * predicted class (Bäuerle et al.'s label-error hint: two near-identical inputs with different
 * labels), optionally only between different splits (train/test leakage).
 *
 * How: one pass reads every row once (in blocks, npy_rows_f32) to find its L2 norm; rows that are
 * all zero (cosine undefined) or hold a NaN or infinity are left out and counted. Then, for the
 * instances of each predicted class (or of all, with any class), the normalized rows are taken
 * block by block and every pair of blocks multiplied with one GEMM (float32); the cells at or
 * above the threshold go into a heap that keeps the `top` most similar pairs. The kept cosines are
 * then recomputed in double from the rows as stored (and the kept pairs sorted by them); which
 * pairs pass is decided on the float32 product, good to about 1e-6, so a reported cosine can lie
 * that much below the threshold. Memory: O(block² + block·H + pairs kept + N), never O(N²).
 * Pixels (side 1 to 1024) are read once into an N × 3·side² byte matrix (O(N)).
 *
 * Progress (util.h struct nn_progress, may be NULL): total is N for the norm pass (2N with
 * pixels, which are loaded first) plus the rows of the right-hand block of every block product;
 * cancel stops at the next block with the message "cancelled". BLAS goes through linalg.h, so
 * dups_find() may run on a worker thread.
 *
 * The result is owned by the caller (dups_free()); it borrows nothing from the study.
 */
#ifndef NNCMP_DUPS_H
#define NNCMP_DUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/npy.h"
#include "nncmp/study.h"
#include "nncmp/util.h"

#define DUPS_DEFAULT_THRESHOLD 0.995
#define DUPS_DEFAULT_SIDE      16

struct dups_opts {
	const struct npy *act; /* vectors: a layer's activations (N × H); NULL: pixels */
	int side;              /* pixels: images fitted (aspect kept, centred on black) into
	                          side × side RGB; 0: DUPS_DEFAULT_SIDE */
	/* a pair must share this model's predicted class (model_pred()); NULL: any class */
	const struct model *classes;
	bool across_splits; /* only pairs whose splits (samples.jsonl "split") differ */
	double threshold;   /* keep cosine >= threshold */
	size_t top;         /* keep at most this many pairs, the most similar (0: all) */
	size_t block;       /* rows per block (0: chosen from H; tests use small ones) */
};

struct dups_pair {
	uint32_t a, b; /* a < b */
	double cosine;
};

struct dups_result {
	size_t count;               /* pairs at or above the threshold (all of them, kept or not) */
	size_t n_pairs;             /* pairs kept: min(count, top) */
	struct dups_pair *pairs;    /* most similar first; ties by a, then b */
	size_t zero;                /* rows left out: all zero */
	size_t nonfinite;           /* rows left out: a NaN or an infinity */
	size_t no_split;            /* across_splits: rows left out, no "split" */
	size_t no_image;            /* pixels: rows left out, no image or an unreadable one */
	char first_bad[NN_ERR_MAX]; /* pixels: the first unreadable image's message, or "" */
};

/*
 * Finds the near-duplicate pairs of s as o says. Returns 0, or -1 with err set (rows that do not
 * match the study, no splits for across_splits, no images for pixels, cancelled); res needs no
 * free then.
 */
int dups_find(const struct study *s, const struct dups_opts *o, struct nn_progress *prog,
              struct dups_result *res, struct nn_err *err);
void dups_free(struct dups_result *res);

#endif
