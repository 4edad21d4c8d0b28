/*
 * neurons_internal.h — what the files of the neurons module share, and nothing else may include:
 * only src/core/neurons_*.c. The public interface is neurons.h.
 *
 * A computation is one or more passes over rows of the activation matrix. A pass (struct job)
 * runs on threads (struct worker), each over a contiguous range of the job's row list, with its
 * own accumulators; the caller merges them in range order afterwards.
 *
 *   neurons_pass.c    jobs, workers, threads: the loop over a worker's blocks
 *   neurons_read.c    getting a block's rows: through the mapping, or with pread()
 *   neurons_block.c   what a block adds to moments, extremes, dead counts and top-k lists
 *   neurons_hist.c    histograms in the same pass, on a grid of power-of-two slots
 *   neurons_stats.c   the layer's statistics in one pass, the cache in front of them
 *   neurons_subset.c  a filter's subset against the rest (one pass over the smaller side)
 *   neurons_rank.c    scores, ranking, an instance's profile
 *
 * A worker's arrays belong to it from neurons_worker_init() to neurons_worker_free(); a job
 * borrows the npy, the row list, the seed and the grid for the duration of the pass.
 */
#ifndef NNCMP_NEURONS_INTERNAL_H
#define NNCMP_NEURONS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/neurons.h"

#define READ_SPAN 4 /* pread: read past unwanted rows when a block spans <= 4x its rows */

/*
 * x86-64: compile the inner loops for AVX2 as well and pick at load time (an ifunc). Not under
 * sanitizers, whose runtimes are not ready when ifunc resolvers run.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NNCMP_NO_CLONES
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NNCMP_NO_CLONES
#endif
#endif
#if defined(__x86_64__) && defined(__has_attribute) && !defined(NNCMP_NO_CLONES)
#if __has_attribute(target_clones)
#define HOT __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef HOT
#define HOT
#endif

enum pass { PASS_MOMENTS, PASS_SUBSET };

/* A layer's histogram bins (neurons_hist.c): bin b is the slots [(anchor+b)·k, (anchor+b+1)·k)
 * of exponent fe, slot s being [s·2^fe, (s+1)·2^fe). */
struct hist_grid {
	unsigned bins;
	int fe;
	int64_t k, anchor;
};

/* What the threads of one pass share (read-only while they run). */
struct job {
	const struct npy *act;
	enum pass pass;
	size_t h, hp;         /* neurons, and rounded up to a multiple of 8 */
	bool direct;          /* native float32 in C order: rows are read in place */
	size_t block;         /* rows per block */
	const uint32_t *rows; /* the rows to read, increasing; NULL: all rows 0..n_rows-1 */
	size_t n_rows;
	const double *seed; /* PASS_SUBSET: the layer's means, the first shift */
	/* with a histogram: the grid the workers start at (PASS_MOMENTS: the first block's, a
	 * subset's: the layer's), and the slots at its exponent the window is centred on */
	const struct hist_grid *grid;
	int64_t first_lo, first_hi;
	unsigned k;
	struct nn_progress *prog;
	int fd;           /* the layer's file for pread (see neurons_rows_fetch), or -1 */
	size_t row_bytes; /* bytes of one row in the file */
};

/* One thread's share of a pass: a range of positions in the row list, and its accumulators. */
struct worker {
	const struct job *job;
	size_t p0, p1;
	bool cancelled;
	bool faulted; /* a read of the mapping raised SIGBUS: the file shrank under us */
	/* merged so far (per neuron, hp entries) */
	uint64_t *n, *dead;
	double *mean, *m2;
	float *mn, *mx;
	float *mn_save, *mx_save; /* before the block: a block added again starts from them */
	/* the current block */
	float *shift;
	double *s1, *s2;
	int32_t *c, *dz;
	/* top-k: per neuron k slots, how many are used, and the value to beat once they are full */
	float *top_val;
	float *thr;
	uint32_t *top_idx, *top_n;
	/*
	 * Histogram counts per slot of a window of nb slots from fbase, of exponent fe (inv is
	 * 2^−fe): 16-bit and slot-major (nb × (h + 1), column h takes non-finite values) so that a
	 * row's mostly equal slots hit neighbouring counters, added into the 32-bit neuron-major
	 * s32 before they can overflow; hist (h × bins) is filled at the end by
	 * neurons_hist_finish().
	 */
	size_t nb;
	int fe;
	int64_t fbase;
	float inv;
	uint16_t *s16;
	size_t s16_rows; /* rows counted in s16 since it was last emptied */
	uint32_t *s32, *s_tmp;
	int32_t *s_at; /* one row's counters to increment (h + 8) */
	uint64_t *hist;
	/* row access */
	bool use_pread; /* read rows with pread() rather than through the mapping */
	uint8_t *raw;   /* pread's buffer: up to READ_SPAN × block rows as stored */
	size_t *at;     /* where in raw each row of the block is */
	float *buf;
	const float **rowp;
	uint8_t *hit; /* per row of the block: offer it to the top-k lists */
};

/* ---- neurons_pass.c ---- */

/* Sets up a pass over act (rows and n_rows, seed, bin and k are left for the caller to set). */
void neurons_job_init(struct job *job, const struct npy *act, enum pass pass,
                      const struct neurons_opts *opt, struct nn_progress *prog);
void neurons_job_done(struct job *job);
void neurons_worker_init(struct worker *w, const struct job *job);
void neurons_worker_free(struct worker *w);
/* Threads for a pass over rows × h values: asked, or by the CPUs and the size when 0. */
unsigned neurons_auto_threads(size_t rows, size_t h, unsigned asked);
/* Runs one pass on t threads (the calling thread is one of them). Returns true unless
 * cancelled. */
bool neurons_run_pass(struct worker *ws, unsigned t, struct nn_err *err);
/* Merges (nb, mb, m2b) into (*n, *mean, *m2): the parallel formula of Chan, Golub and LeVeque. */
void neurons_chan_merge(uint64_t *n, double *mean, double *m2, uint64_t nb, double mb, double m2b);

/* ---- neurons_read.c ---- */

/* Whether the pages of this worker's rows are already in the page table. */
bool neurons_rows_mapped(const struct worker *w);
/* Points w->rowp at rows pos..pos+nr-1 of the job's row list, converting when needed. */
void neurons_rows_fetch(struct worker *w, size_t pos, size_t nr);

/* ---- neurons_block.c ---- */

/* Adds the block at w->rowp (positions pos..pos+nr-1 of the row list) to w's accumulators. */
void neurons_block_run(struct worker *w, size_t pos, size_t nr);

/* ---- neurons_hist.c ---- */

/* The grid of a layer whose finite values span [lo, hi] (finite, lo <= hi). */
void neurons_hist_grid(double lo, double hi, unsigned bins, struct hist_grid *g);
/* Slots in a worker's window. */
size_t neurons_hist_window(unsigned bins);
/* Gives w its window: at start's exponent, centred on the slots first_lo..first_hi. */
void neurons_hist_worker_init(struct worker *w, const struct hist_grid *start, int64_t first_lo,
                              int64_t first_hi);
/* Counts the block at w->rowp. */
void neurons_hist_rows(struct worker *w, size_t nr);
/* Adds w's counts into w->hist, in the bins of g. False if w's slots are coarser than g's (a
 * bug). */
bool neurons_hist_finish(struct worker *w, const struct hist_grid *g);

#endif
