/*
 * issues.h — label-issue scores: which instances are likely mislabeled, ranked.
 *
 * Methods (design.md §4):
 *   cl         confident learning (Northcutt et al.; cleanlab's "prune_by_noise_rate"): per-class
 *              thresholds t_j = mean p_j over the instances labelled j; the confident joint C[i][j]
 *              counts instances labelled i whose p_j >= t_j (the largest such p_j wins; rows with
 *              no class at its threshold are left out); the diagonal is raised to at least 1 and
 *              every row is calibrated to sum to its label count and rounded (largest
 *              remainders, lower column first on ties); for every off-diagonal cell the instances
 *              labelled i whose margin p_j - p_i is at least the n_ij-th largest are pruned; the
 *              flagged set is their union less those whose argmax is their label (as cleanlab
 *              does); ranked by self-confidence, score = 1 - p_label.
 *   margin     score = max_{k != label} p_k - p_label; flags score > 0.
 *   iies       Bäuerle's instance interpretation error score (max p + 1 - p_label) / 2; flags
 *              argmax != label.
 *   consensus  the mean over models of each model's IIES (a prediction-only model as a one-hot
 *              row: 1 when it disagrees with the label, else 0.5); flags a strict majority of
 *              models disagreeing; suggested = their plurality vote (lower class on ties).
 *   knn        the labels of an instance's k nearest neighbours (cosine) in a layer's
 *              activations: score = the fraction that differ from its label; flags score > 0.5;
 *              suggested = their plurality label (lower class on ties). A row of zeros (or with
 *              a non-finite value) has no cosine: it has no neighbours (score 0, not flagged)
 *              and is no one's neighbour.
 *   mean       self-confidence on P: score = 1 - P[i, y_i]; flags argmax P != y (cleanlab's
 *              predicted_neq_given ranked by self-confidence); suggested = argmax P, or the
 *              runner-up when that is the label.
 *   mix        the models and the labels of the instance's neighbours combined: P0 = the
 *              convex combination of the models' probabilities of least summed Brier score on
 *              the given labels (equal weights past 12 models); for every layer with
 *              activations (opts.layer: that one), the k nearest neighbours by cosine as knn
 *              finds them; v_i(c) = the sum over the neighbours j labelled c of j's
 *              credibility P0[j, y_j] / max P0[j]; Q_i = v_i / sum_c v_i(c) (the label counts
 *              / k when that sum is 0; P0_i itself when i has no neighbour); a layer is dropped
 *              (the guard) when argmax Q = y holds on more than 10 percentage points more of
 *              the rows than argmax P0 = y (its activations come from a model trained on these
 *              very labels), and with every layer dropped mix is mean; Q is averaged over the
 *              layers kept; P' = the convex combination of the models and Q of least summed
 *              Brier score (P0 and Q past 11 models; the weights exactly, by trying every face
 *              of the simplex); each class's threshold t_c = the mean P'[i, c] over the
 *              instances labelled c; then as mean on S = P' / t: score = 1 - S[i, y_i] (below 0
 *              for an instance surer of its label than its class's average), flagged when
 *              argmax S != y, suggested argmax S (the runner-up when that is the label).
 * Without layers, or when their neighbour search would cost more than ISSUES_KNN_MAX_WORK unless
 * opts.force, it is mean. cl, margin, iies, mean and mix use one model's probabilities (opts.model;
 * mix then reads that model's layers only) or, by default, every model that has them (logits
 * through a softmax, as at open): their mean, or for mix their fitted combination.
 *
 * Everything returned is owned by the caller (issue_list_free). The study is only read, so
 * several computations may run at once on one study. A computation honours prog->cancel at
 * every block of rows and reports progress in rows (prog may be NULL).
 */
#ifndef NNCMP_ISSUES_H
#define NNCMP_ISSUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/study.h"
#include "nncmp/util.h"

enum issue_method {
	ISSUE_CL,
	ISSUE_MARGIN,
	ISSUE_IIES,
	ISSUE_CONSENSUS,
	ISSUE_KNN,
	ISSUE_MEAN,
	ISSUE_MIX,
	ISSUE_METHOD_COUNT
};

/*
 * The neighbour search costs N² · H multiply-adds per layer (N instances, H neurons): knn refuses
 * a layer, and mix leaves its layers out, when that sum is over this unless opts.force. 2.5e12 is
 * about half a minute on two cores of the machine `make bench` ran on (2e11 took 6 s of CPU): e.g.
 * 70,000 instances of one 512-neuron layer, 40,000 of three, 190,000 of one 64-neuron layer.
 */
#define ISSUES_KNN_MAX_WORK  2.5e12
#define ISSUES_KNN_DEFAULT_K 10

/* "cl", "margin", "iies", "consensus", "knn", "mean", "mix". */
const char *issue_method_name(enum issue_method m);
/* The method with this name, or -1. */
int issue_method_parse(const char *name);
/*
 * The method to rank by when the user names none (the CLI and the TUI's review queue): mix when
 * some model has probabilities (the most precise on the mean over the noisy studies of `make
 * bench-triage`, though not on every one: README), else consensus.
 */
enum issue_method issue_method_default(const struct study *s);

struct issue_opts {
	int model;              /* -1: every model with probabilities (consensus: every model) */
	const uint8_t *exclude; /* NULL, or N flags: 1 = leave out of thresholds and ranking */
	const int32_t *labels;  /* NULL, or N labels that replace the study's (class ids) */
	const char *layer;      /* knn: "model.layer", or NULL for the first layer with activations;
	                           mix: that layer only, or NULL for every layer */
	size_t k;               /* knn, mix: neighbours (0: ISSUES_KNN_DEFAULT_K) */
	bool force;             /* knn, mix: search neighbours even above ISSUES_KNN_MAX_WORK */
	/* partial: rank every flagged entry but only the best rank_rest of the others (a
	 * selection); the unflagged entries after those follow in no promised order (index order,
	 * or ranked when rank_rest is half of them or more), and have no suggested or score entry
	 * (issue_list.ranked; all_scores has every score). The first count + rank_rest entries
	 * are exactly those of the full ranking. */
	bool partial;
	size_t rank_rest;
};

struct issue_list {
	enum issue_method method;
	size_t n;     /* ranked entries: every instance not excluded, best suspects first */
	size_t count; /* how many the method flags: the first `count` entries */
	uint32_t *index;
	size_t ranked;      /* entries with suggested and score: n, or fewer with opts.partial */
	int32_t *suggested; /* the label the method proposes for each ranked entry */
	double *score;      /* higher = more suspicious */
	double *all_scores; /* the score of every instance (N), NaN when excluded */
	/* how many labels the method estimates are wrong: cl, the calibrated confident joint's
	 * off-diagonal sum (cleanlab's num_label_issues); the others, count */
	size_t estimated;
	size_t layers_mixed, layers_dropped; /* mix: layers mixed in, layers the guard left out */
	size_t layers_over_limit; /* mix: layers left out because of ISSUES_KNN_MAX_WORK */
	double mix_weight;        /* mix: the neighbour vote's weight in P' (0 without a vote) */
	/* mean, mix: each study model's weight in P' (the mean: 1 / the models used), NaN for a
	 * model not used (predictions only, or not the one asked for) */
	double *model_weights;
};

/*
 * Ranks the instances by method m. Returns 0 and fills *out (which issue_list_free releases), or
 * -1 with err set (unknown model, no probabilities, no layer, cancelled ...); *out is then empty.
 */
int issues_rank(const struct study *s, enum issue_method m, const struct issue_opts *o,
                struct nn_progress *prog, struct issue_list *out, struct nn_err *err);
void issue_list_free(struct issue_list *l);

/*
 * Model `model`'s IIES (max p + 1 - p_label) / 2 for every instance into out[N] (a
 * prediction-only model's predictions count as one-hot rows). Returns 0, or -1 when there is
 * no such model.
 */
int issues_iies(const struct study *s, int model, double *out, struct nn_err *err);

#endif
