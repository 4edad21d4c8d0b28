/*
 * overview.h — Bäuerle's label errors overview: for one model, per label, the classes its
 * misclassified instances were predicted as. What `nncmp overview` prints and the TUI's labels
 * view draws.
 *
 * The label is the study's (the corrected one once a journal is applied: study.h). Instances a
 * journal decision settled — relabelled, kept or removed — are left out: the overview is of what
 * is left to triage (without an applied journal, nothing is left out). An instance counts when
 * the model's prediction differs from its label.
 *
 * Order, deterministic: rows by errors descending, ties by label id ascending; within a row the
 * cells by count descending, ties by predicted class id ascending. Rows without errors and
 * empty cells are left out. A cell's instances are in increasing index order; its histogram
 * counts their IIES (issues_iies: (max p + 1 - p_label) / 2, which is at least 1/2 for a
 * misclassified instance) in OVERVIEW_BINS equal bins over [0.5, 1], bin
 * min(OVERVIEW_BINS - 1, max(0, floor((iies - 0.5) * 2 * OVERVIEW_BINS))).
 *
 * The result owns its arrays until overview_free().
 */
#ifndef NNCMP_OVERVIEW_H
#define NNCMP_OVERVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "nncmp/study.h"
#include "nncmp/util.h"

#define OVERVIEW_BINS 10

struct overview_cell {
	int32_t pred; /* the predicted class */
	size_t n;
	uint32_t *idx; /* its n instances */
	double hist[OVERVIEW_BINS];
};

struct overview_row {
	int32_t label;
	size_t errors;               /* the sum of its cells' n */
	struct overview_cell *cells; /* n_cells, by count */
	size_t n_cells;
};

struct overview {
	size_t model;
	size_t n_errors;  /* over every row */
	size_t n_settled; /* instances left out because a decision settled them */
	struct overview_row *rows;
	size_t n_rows;
};

/*
 * Computes model `model`'s overview of study s into out. prog may be NULL; cancelling it fails
 * with "cancelled". Returns 0, or -1 with err set (no such model, cancelled), out then empty.
 */
int overview_compute(const struct study *s, size_t model, struct nn_progress *prog,
                     struct overview *out, struct nn_err *err);
/* Releases what out owns; an empty or already freed overview is allowed. */
void overview_free(struct overview *o);

#endif
