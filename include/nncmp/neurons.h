/*
 * neurons.h — per-neuron statistics of one layer's activations, neuron ranking for a filter, an
 * instance's activation profile, and the on-disk cache of the statistics.
 *
 * The activation matrix is a memory-mapped (N, H) npy (struct layer's act): one row per instance,
 * one column per neuron. It is streamed in row blocks through the mapping, never copied whole (a
 * column gather reads with pread() instead until the pages are mapped; see neurons_read.c).
 * Every value is first converted to float32 (npy_rows_f32), so a float64 layer is summarized as
 * float32. Sums are kept in double. NaN and ±Inf are left out of every statistic and counted.
 *
 * neurons_stats() reads the matrix once on worker threads (the histogram's bins are aligned to
 * a grid that can be coarsened exactly, see neurons_hist.c), or serves the result from the
 * cache; neurons_subset() then reads only the rows of a filter S (or of its complement, whichever
 * is smaller) to compare S with the rest R. Both report progress in rows through util.h's struct
 * nn_progress and can be cancelled from another thread.
 *
 * Ownership: every struct filled here owns its arrays until its _free(); the npy must stay mapped
 * during a call, not afterwards. The functions never print and are safe to call from any thread
 * (different outputs per call).
 */
#ifndef NNCMP_NEURONS_H
#define NNCMP_NEURONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/npy.h"
#include "nncmp/util.h"

#define NEURONS_BINS_MIN     16
#define NEURONS_BINS_MAX     64
#define NEURONS_BINS_DEFAULT 32
#define NEURONS_TOPK_DEFAULT 10
#define NEURONS_TOPK_MAX     1000
#define NEURONS_NO_INDEX     UINT32_MAX /* pads a top-k list shorter than k */

/* Whole-layer statistics; per-neuron arrays have h entries, matrices are h × bins and h × k. */
struct neuron_stats {
	size_t n, h;       /* instances (rows) and neurons (columns) */
	unsigned bins, k;  /* histogram bins, top-k length */
	double lo, hi;     /* the layer's finite min and max over all neurons (NaN if none) */
	uint64_t *count;   /* finite values */
	uint64_t *dead;    /* finite values exactly 0.0 */
	double *mean;      /* NaN when count is 0 */
	double *m2;        /* sum of squared deviations from the mean */
	double *min, *max; /* NaN when count is 0 */
	uint64_t *hist;    /* per neuron, bins counts (edges: neurons_hist_edges) */
	uint32_t *top_idx; /* per neuron, the k highest-activating instances, highest first, ties
	                      by lower index; NEURONS_NO_INDEX pads when count < k */
	float *top_val;    /* their values (NaN in the padding) */
	bool from_cache;   /* set by neurons_stats() when the cache answered */
};

struct neurons_opts {
	unsigned bins;         /* NEURONS_BINS_MIN..MAX; 0 means NEURONS_BINS_DEFAULT */
	unsigned k;            /* 1..NEURONS_TOPK_MAX; 0 means NEURONS_TOPK_DEFAULT */
	unsigned threads;      /* 0: one per online CPU (fewer for small layers) */
	size_t block_rows;     /* rows per block; 0: about 256 KiB (tests make it small) */
	const char *cache_dir; /* NULL: neurons_cache_dir(); "" disables the cache */
};

/* Computes the statistics without the cache. Returns 0, or -1 with err set (bad options,
 * cancelled, "PATH changed on disk while open; reopen the study": see fault.h). */
int neurons_stats_compute(const struct npy *act, const struct neurons_opts *opt,
                          struct nn_progress *prog, struct neuron_stats *out, struct nn_err *err);
/*
 * As neurons_stats_compute(), but first looks in the cache and stores a fresh result there. A
 * cache that cannot be read or written is not an error: the work is simply done (again).
 */
int neurons_stats(const struct npy *act, const struct neurons_opts *opt, struct nn_progress *prog,
                  struct neuron_stats *out, struct nn_err *err);
void neurons_stats_free(struct neuron_stats *st);

/* Sample standard deviation (ddof = 1) of neuron j; NaN when it has fewer than 2 values. */
double neurons_std(const struct neuron_stats *st, size_t j);
/* Fraction of neuron j's finite values that are exactly 0; NaN when it has none. */
double neurons_dead_frac(const struct neuron_stats *st, size_t j);
/*
 * The bins + 1 histogram edges: round numbers (multiples of k·2^e, see neurons_hist.c) from
 * at or below lo to above hi, the same for every neuron; a value v is counted in bin i when
 * edge[i] <= v < edge[i+1]. numpy.histogram(x, bins=edges) gives the same counts. Edges are NaN
 * when the layer has no finite value.
 */
void neurons_hist_edges(const struct neuron_stats *st, double *edges);

/*
 * Sums over a subset S of the instances and over the rest R, per neuron (finite values only).
 * var_S and var_R are sample variances m2/(count − 1).
 */
struct neuron_subset {
	size_t h;
	unsigned bins;
	size_t n_in, n_out;             /* instances in S and in R */
	uint64_t *count_in, *count_out; /* finite values */
	uint64_t *dead_in, *dead_out;
	double *mean_in, *mean_out; /* NaN when the count is 0 */
	double *m2_in, *m2_out;
	uint64_t *hist_in; /* h × bins over the layer's edges; NULL unless asked for */
};

/*
 * Computes the sums for S = idx[0..n_idx) (strictly increasing instance indices) from `all`, the
 * layer's statistics, reading only the rows of S, or those of R when S holds more than half of
 * the instances (then S's sums are all − R by the parallel-variance formula, and hist_in is the
 * difference of exact counts). Of opt (may be NULL) only threads and block_rows count.
 * Returns 0, or -1 with err set (bad indices, cancelled).
 */
int neurons_subset(const struct npy *act, const struct neuron_stats *all, const uint32_t *idx,
                   size_t n_idx, bool want_hist, const struct neurons_opts *opt,
                   struct nn_progress *prog, struct neuron_subset *out, struct nn_err *err);
void neurons_subset_free(struct neuron_subset *ss);

/*
 * Separation of S from R for neuron j: (mean_S − mean_R) / s_pooled with
 * s_pooled² = (m2_S + m2_R) / (n_S + n_R − 2), i.e. ((n_S−1)var_S + (n_R−1)var_R)/(n_S+n_R−2).
 * A single value in S (or R) contributes no variance (its (n−1)·var term is 0), so d stays
 * defined. 0 when s_pooled is 0; NaN when S or R has no finite value or n_S + n_R <= 2.
 */
double neurons_d(const struct neuron_subset *ss, size_t j);

enum neuron_key { NEURON_BY_D, NEURON_BY_MEAN, NEURON_BY_STD, NEURON_BY_DEAD };

/* Parses "d", "mean", "std" or "dead"; returns 0, or -1 when s is none of them. */
int neurons_key_parse(const char *s, enum neuron_key *out);

/*
 * Column col of act (native float32 in C order) for the instances rows[0 .. n), increasing (NULL:
 * 0 .. n-1), into out[instance], read in blocks of rows as the neuron passes read them: with
 * pread() into one block's buffer unless the rows' pages are already mapped, so that memory
 * stays at out and one block. Returns false, writing nothing, for another type or layout (the
 * caller then reads act through the mapping).
 */
bool neurons_gather_column(const struct npy *act, size_t col, const uint32_t *rows, size_t n,
                           double *out);
const char *neurons_key_name(enum neuron_key key);

/*
 * Fills score[h] for ranking by `key` inside S (the whole layer when ss is NULL; d is then NaN):
 * d, the mean, the sample std (NaN below 2 values) or the dead fraction.
 */
void neurons_scores(const struct neuron_stats *st, const struct neuron_subset *ss,
                    enum neuron_key key, double *score);
/*
 * Writes the neuron indices into order[h], highest score first — by |score| when by_abs (d ranks
 * how strongly a neuron separates S from R, in either direction) — ties by lower index, NaN last.
 */
void neurons_rank(const double *score, size_t h, bool by_abs, uint32_t *order);

/*
 * Instance i's activations (values[h], as float32) and the neurons ordered from most positive to
 * most negative (order[h]; ties by lower index, NaN last). i must be < act->rows.
 */
void neurons_profile(const struct npy *act, size_t i, float *values, uint32_t *order);
/* The same for a reader without a fault guard (fault.h): -1 with err when the file shrank. */
int neurons_profile_guarded(const struct npy *act, size_t i, float *values, uint32_t *order,
                            struct nn_err *err);

/* ---- the cache (neurons_cache.c) ---- */

/*
 * The cache directory: NULL when NNCMP_CACHE=0 or no directory can be named; else
 * $XDG_CACHE_HOME/nncmp, or $HOME/.cache/nncmp (newly allocated; not created here).
 */
char *neurons_cache_dir(void);
/*
 * The cache key of a layer's statistics: the file's realpath, size, mtime (ns), inode, device,
 * the npy layout, bins, k and the format version, as one line of text (newly allocated). Returns
 * NULL with err set when the file cannot be stat'ed.
 */
char *neurons_cache_key(const struct npy *act, unsigned bins, unsigned k, struct nn_err *err);
/* Serializes st with its key (the file format: see neurons_cache.c). *buf is newly allocated. */
void neurons_cache_encode(const struct neuron_stats *st, const char *key, uint8_t **buf,
                          size_t *len);
/*
 * Parses a cache file held in buf. When key is not NULL the stored key must equal it. Every size
 * is checked against len and every array for consistency. Returns 0 and fills *out, or -1 with
 * err set; never reads outside buf.
 */
int neurons_cache_decode(const uint8_t *buf, size_t len, const char *key, struct neuron_stats *out,
                         struct nn_err *err);
/* The file a key is stored in: DIR/HASH.nst (newly allocated). */
char *neurons_cache_path(const char *dir, const char *key);
/* Loads the entry for key from dir; returns 0, or -1 (missing, stale or corrupt: a miss). */
int neurons_cache_load(const char *dir, const char *key, struct neuron_stats *out);
/* Stores st under key in dir (created 0700 if missing), atomically; returns 0 or -1. */
int neurons_cache_store(const char *dir, const char *key, const struct neuron_stats *st);

#endif
