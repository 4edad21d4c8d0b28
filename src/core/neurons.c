/*
 * neurons.c — per-neuron statistics over a layer's activations, sums over a filter's subset,
 * ranking and instance profiles.
 *
 * Passes. The rows are split into one contiguous range per thread; each thread keeps its own
 * accumulators and they are merged in range order at the end. Pass 1 computes counts, mean and
 * variance, min, max, dead counts and the top-k lists. The histogram's bins span the whole
 * layer's [min, max], which is known only after pass 1, so pass 2 reads the matrix again and
 * only bins. No exact one-pass scheme exists for a range learned on the way: a value's bin
 * depends on edges computed from the final range, and any coarser summary taken before the range
 * is known straddles those edges. Pass 2 is the cheap one and reads what pass 1 just brought into
 * the page cache and the page tables. Its bins are exact — equal to numpy.histogram's in float64
 * (neurons_hist_edges): the fast float32 estimate is used only where it is provably the same bin,
 * and values within 1e-4 of a bin boundary are compared with the edges (block_hist).
 *
 * Mean and variance: within a block of rows each thread sums v − K and (v − K)² in double, with
 * the shift K the neuron's running mean (a first value of the neuron before there is one), so
 * the sums do not cancel for large means; blocks are merged into (n, mean, m2) with the parallel
 * formula of Chan et al., and threads likewise. The inner loop runs over 4 neurons at a time with
 * vector extensions (GCC and Clang) and is branch-free: NaN/±Inf are masked out, not tested for.
 */
#include "nncmp/neurons.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));
typedef int64_t v4l __attribute__((vector_size(32)));
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

#define BLOCK_BYTES        (256u * 1024) /* rows per block: about this many bytes of float32 */
#define MAX_THREADS        64
#define AUTO_THREAD_VALUES (1u << 20) /* auto threads: at least this many values per thread */
#define READ_SPAN          4 /* pread: read past unwanted rows when a block spans <= 4x its rows */
#define READ_CALL_BYTES    16384 /* pread: one more call costs about as much as this many bytes */

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

enum pass { PASS_MOMENTS, PASS_HIST, PASS_SUBSET };

/* Finds a value's histogram bin exactly as numpy.histogram does (see neurons_hist_edges). */
struct binner {
	unsigned bins;
	double lo, norm;
	double eps; /* block_hist: how near a boundary needs an exact check; 1: always */
	double edge[NEURONS_BINS_MAX + 1];
};

/* What the threads of one pass share (read-only while they run). */
struct job {
	const struct npy *act;
	enum pass pass;
	size_t h, hp;         /* neurons, and rounded up to a multiple of 4 */
	bool direct;          /* native float32 in C order: rows are read in place */
	size_t block;         /* rows per block */
	const uint32_t *rows; /* the rows to read, increasing; NULL: all rows 0..n_rows-1 */
	size_t n_rows;
	const double *seed;       /* PASS_SUBSET: the layer's means, the first shift */
	const struct binner *bin; /* PASS_HIST, and PASS_SUBSET with a histogram */
	unsigned k;
	struct nn_progress *prog;
	int fd;           /* the layer's file for pread (see fetch_rows), or -1 */
	size_t row_bytes; /* bytes of one row in the file */
};

/* One thread's share of a pass: a range of positions in the row list, and its accumulators. */
struct worker {
	const struct job *job;
	size_t p0, p1;
	bool cancelled;
	/* merged so far (per neuron, hp entries) */
	uint64_t *n, *dead;
	double *mean, *m2;
	double *mn, *mx;
	/* the current block */
	double *shift, *s1, *s2;
	int64_t *c, *dz;
	/* top-k: per neuron k slots, how many are used, and the value to beat once they are full */
	float *top_val;
	double *thr;
	uint32_t *top_idx, *top_n;
	/*
	 * Histogram counts: 16-bit, bin-major (bins × (h + 1), column h takes non-finite values) so
	 * that a row's mostly equal bins hit neighbouring counters and the table stays in L1; added
	 * into the 64-bit neuron-major hist before they can overflow.
	 */
	uint16_t *hist16;
	size_t hist16_rows; /* rows counted in hist16 since it was last emptied */
	uint64_t *hist;
	/* row access */
	bool use_pread; /* read rows with pread() rather than through the mapping */
	uint8_t *raw;   /* pread's buffer: up to READ_SPAN × block rows as stored */
	size_t *at;     /* where in raw each row of the block is */
	float *buf;
	const float **rowp;
	uint8_t *hit; /* per row of the block: offer it to the top-k lists */
};

static size_t round4(size_t h)
{
	return (h + 3) & ~(size_t)3;
}

static void worker_init(struct worker *w, const struct job *job)
{
	size_t hp = job->hp;
	memset(w, 0, sizeof *w);
	w->job = job;
	w->n = xcalloc(hp, sizeof *w->n);
	w->dead = xcalloc(hp, sizeof *w->dead);
	w->mean = xcalloc(hp, sizeof *w->mean);
	w->m2 = xcalloc(hp, sizeof *w->m2);
	w->shift = xcalloc(hp, sizeof *w->shift);
	w->s1 = xcalloc(hp, sizeof *w->s1);
	w->s2 = xcalloc(hp, sizeof *w->s2);
	w->c = xcalloc(hp, sizeof *w->c);
	w->dz = xcalloc(hp, sizeof *w->dz);
	if (job->pass == PASS_MOMENTS) {
		w->mn = xreallocarray(NULL, hp, sizeof *w->mn);
		w->mx = xreallocarray(NULL, hp, sizeof *w->mx);
		w->thr = xreallocarray(NULL, hp, sizeof *w->thr);
		for (size_t j = 0; j < hp; j++) {
			w->mn[j] = INFINITY;
			w->mx[j] = -INFINITY;
			w->thr[j] = j < job->h ? -INFINITY : INFINITY;
		}
		w->top_val = xreallocarray(NULL, job->h * job->k, sizeof *w->top_val);
		w->top_idx = xreallocarray(NULL, job->h * job->k, sizeof *w->top_idx);
		w->top_n = xcalloc(job->h, sizeof *w->top_n);
	}
	if (job->bin) {
		w->hist16 = xcalloc((job->h + 1) * job->bin->bins, sizeof *w->hist16);
		w->hist = xcalloc(job->h * job->bin->bins, sizeof *w->hist);
	}
	if (!job->direct)
		w->buf = xreallocarray(NULL, job->block * job->h, sizeof *w->buf);
	if (job->fd >= 0) {
		w->raw = xreallocarray(NULL, READ_SPAN * job->block, job->row_bytes);
		w->at = xreallocarray(NULL, job->block, sizeof *w->at);
	}
	w->rowp = xreallocarray(NULL, job->block, sizeof *w->rowp);
	w->hit = xcalloc(job->block, 1);
}

static void worker_free(struct worker *w)
{
	free(w->n);
	free(w->dead);
	free(w->mean);
	free(w->m2);
	free(w->shift);
	free(w->s1);
	free(w->s2);
	free(w->c);
	free(w->dz);
	free(w->mn);
	free(w->mx);
	free(w->thr);
	free(w->top_val);
	free(w->top_idx);
	free(w->top_n);
	free(w->hist16);
	free(w->hist);
	free(w->raw);
	free(w->at);
	free(w->buf);
	free(w->rowp);
	free(w->hit);
}

/* Merges (nb, mb, m2b) into (*n, *mean, *m2): the parallel formula of Chan, Golub and LeVeque. */
static void chan_merge(uint64_t *n, double *mean, double *m2, uint64_t nb, double mb, double m2b)
{
	if (nb == 0)
		return;
	if (*n == 0) {
		*n = nb;
		*mean = mb;
		*m2 = m2b;
		return;
	}
	double na = (double)*n, nbd = (double)nb, tot = na + nbd;
	double delta = mb - *mean;
	*mean += delta * (nbd / tot);
	*m2 += m2b + delta * delta * (na * nbd / tot);
	*n += nb;
}

#define GROUP 8 /* rows whose values go through the registers together */

/*
 * Adds rows[0..nr) to the block sums, and with `extremes` to min/max and hit[r] set when some
 * value of row r beats its neuron's top-k threshold. Returns whether any row did. The rows go in
 * groups, 4 neurons at a time, so the sums stay in registers across a group's rows.
 */
static inline __attribute__((always_inline)) bool
block_add(struct worker *w, const float *const *rows, size_t nr, bool extremes, uint8_t *hit_row)
{
	const size_t h = w->job->h, h4 = h & ~(size_t)3;
	bool any = false;
	for (size_t r0 = 0; r0 < nr; r0 += GROUP) {
		const size_t g = nr - r0 < GROUP ? nr - r0 : GROUP;
		const float *src[GROUP];
		float tail[GROUP][4];
		v4l hit[GROUP];
		for (size_t q = 0; q < g; q++) {
			hit[q] = (v4l){0, 0, 0, 0};
			for (size_t l = 0; l < 4; l++)
				tail[q][l] = h4 + l < h ? rows[r0 + q][h4 + l] : NAN;
		}
		/* the next group's rows, a line at a time: their addresses are not a stream */
		const size_t gn = nr - r0 - g < GROUP ? nr - r0 - g : GROUP;
		for (size_t j = 0; j < h; j += 4) {
			for (size_t q = 0; q < g; q++)
				src[q] = j < h4 ? rows[r0 + q] + j : tail[q];
			if (j % 16 == 0)
				for (size_t q = 0; q < gn; q++)
					__builtin_prefetch(rows[r0 + g + q] + j);
			v4d mn = {0, 0, 0, 0}, mx = mn, thr = mn;
			v4l c, dz;
			v4d k, s1, s2;
			memcpy(&c, w->c + j, sizeof c);
			memcpy(&dz, w->dz + j, sizeof dz);
			memcpy(&k, w->shift + j, sizeof k);
			memcpy(&s1, w->s1 + j, sizeof s1);
			memcpy(&s2, w->s2 + j, sizeof s2);
			if (extremes) {
				memcpy(&mn, w->mn + j, sizeof mn);
				memcpy(&mx, w->mx + j, sizeof mx);
				memcpy(&thr, w->thr + j, sizeof thr);
			}
			for (size_t q = 0; q < g; q++) {
				/* all in double from here: no shuffles between lane widths (and
				 * this form, unlike __builtin_convertvector, becomes one
				 * vcvtps2pd with GCC 12) */
				const float *p = src[q];
				v4d v = {p[0], p[1], p[2], p[3]};
				v4l fin = (v - v) == 0; /* -1 where finite: NaN and ±Inf give NaN */
				c -= fin;
				dz -= v == 0;
				v4d d = (v4d)((v4l)(v - k) & fin);
				s1 += d;
				s2 += d * d;
				if (extremes) {
					v4l lt = (v < mn) & fin, gt = (v > mx) & fin;
					mn = (v4d)(((v4l)v & lt) | ((v4l)mn & ~lt));
					mx = (v4d)(((v4l)v & gt) | ((v4l)mx & ~gt));
					hit[q] |= v > thr;
				}
			}
			memcpy(w->c + j, &c, sizeof c);
			memcpy(w->dz + j, &dz, sizeof dz);
			memcpy(w->s1 + j, &s1, sizeof s1);
			memcpy(w->s2 + j, &s2, sizeof s2);
			if (extremes) {
				memcpy(w->mn + j, &mn, sizeof mn);
				memcpy(w->mx + j, &mx, sizeof mx);
			}
		}
		for (size_t q = 0; extremes && q < g; q++) {
			hit_row[r0 + q] = (hit[q][0] | hit[q][1] | hit[q][2] | hit[q][3]) != 0;
			any |= hit_row[r0 + q];
		}
	}
	return any;
}

/* The bin of finite x by comparison with the edges, walking from an estimate. */
static unsigned bin_exact(const struct binner *b, double x)
{
	const unsigned last = b->bins - 1;
	double f = (x - b->lo) * b->norm;
	f = f > 0 ? f : 0;
	unsigned i = f < last ? (unsigned)f : last;
	while (i > 0 && x < b->edge[i])
		i--;
	while (i < last && x >= b->edge[i + 1])
		i++;
	return i;
}

/* block_add() compiled twice, so that neither has a test of `extremes` in its inner loop. */
HOT static bool block_add_all(struct worker *w, const float *const *rows, size_t nr,
                              uint8_t *hit_row)
{
	return block_add(w, rows, nr, true, hit_row);
}

HOT static bool block_add_moments(struct worker *w, const float *const *rows, size_t nr)
{
	return block_add(w, rows, nr, false, NULL);
}

/*
 * Bins every finite value of rows[0..nr) into w->hist16 (non-finite ones into column h). The bin
 * is trunc((x − lo)·norm) in float32, 8 values at a time, unless that lands within b->eps of a
 * bin boundary: then, rarely, bin_exact() decides by comparing with the edges.
 */
HOT static void block_hist(struct worker *w, const float *const *rows, size_t nr)
{
	const struct binner *b = w->job->bin;
	const size_t h = w->job->h, h8 = h & ~(size_t)7, hs = h + 1;
	const unsigned bins = b->bins;
	uint16_t *hist = w->hist16;
	if (b->eps >= 1) {
		for (size_t r = 0; r < nr; r++)
			for (size_t j = 0; j < h; j++)
				if (isfinite(rows[r][j]))
					hist[bin_exact(b, rows[r][j]) * hs + j]++;
		return;
	}
	const float flo = (float)b->lo, fnorm = (float)b->norm, feps = (float)b->eps;
	const v8f lo = flo - (v8f){0}, norm = fnorm - (v8f){0}, eps = feps - (v8f){0};
	const v8f one_eps = 1 - eps;
	const v8i last = ((int)bins - 1) - (v8i){0}, ones = 1 - (v8i){0};
	const v8i lane = {0, 1, 2, 3, 4, 5, 6, 7}, sink = (int)h - (v8i){0};
	const v8i stride = (int)hs - (v8i){0};
	for (size_t r = 0; r < nr; r++) {
		const float *row = rows[r];
		float tail[8] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
		memcpy(tail, row + h8, (h - h8) * sizeof *tail);
		for (size_t j = 0; j < h; j += 8) {
			v8f v;
			memcpy(&v, j < h8 ? row + j : tail, sizeof v);
			v8i fin = (v - v) == 0;
			v8f f = (v - lo) * norm;
			f = (v8f)((v8i)f & fin);                  /* 0 where not finite */
			v8i fi = __builtin_convertvector(f, v8i); /* f >= 0: truncation is floor */
			v8f frac = f - __builtin_convertvector(fi, v8f);
			/* near a boundary other than lo (x == hi lands here too: f == bins) */
			v8i near = (((frac < eps) & (fi >= ones)) | (frac > one_eps)) & fin;
			v8i above = fi > last;
			v8i bin = (fi & ~above) | (last & above);
			uint64_t any[4];
			memcpy(any, &near, sizeof any);
			if (any[0] | any[1] | any[2] | any[3])
				for (int l = 0; l < 8; l++)
					if (near[l])
						bin[l] = (int)bin_exact(b, v[l]);
			v8i at = bin * stride + (((lane + (int)j) & fin) | (sink & ~fin));
			hist[at[0]]++;
			hist[at[1]]++;
			hist[at[2]]++;
			hist[at[3]]++;
			hist[at[4]]++;
			hist[at[5]]++;
			hist[at[6]]++;
			hist[at[7]]++;
		}
	}
}

/* Offers row `inst` to the top-k lists of the neurons whose threshold it beats. */
static void topk_row(struct worker *w, const float *row, uint32_t inst)
{
	const size_t h = w->job->h;
	const unsigned k = w->job->k;
	for (size_t j = 0; j < h; j++) {
		float v = row[j];
		if (!(v > w->thr[j]) || !isfinite(v))
			continue;
		float *val = w->top_val + j * k;
		uint32_t *idx = w->top_idx + j * k;
		unsigned slot = w->top_n[j];
		if (slot < k) {
			w->top_n[j]++;
		} else {
			/* the worst entry: lowest value, and of equal ones the latest */
			slot = 0;
			for (unsigned q = 1; q < k; q++)
				if (val[q] < val[slot] ||
				    (val[q] == val[slot] && idx[q] > idx[slot]))
					slot = q;
		}
		val[slot] = v;
		idx[slot] = inst;
		if (w->top_n[j] == k) {
			double worst = val[0];
			for (unsigned q = 1; q < k; q++)
				worst = val[q] < worst ? val[q] : worst;
			w->thr[j] = worst;
		}
	}
}

/* Folds the block sums into the running ones and clears them. */
static void block_flush(struct worker *w)
{
	const size_t h = w->job->h;
	for (size_t j = 0; j < h; j++) {
		w->dead[j] += (uint32_t)w->dz[j];
		uint32_t cb = (uint32_t)w->c[j];
		if (cb) {
			double mb = w->s1[j] / cb;
			double m2b = w->s2[j] - w->s1[j] * mb;
			chan_merge(&w->n[j], &w->mean[j], &w->m2[j], cb, mb + w->shift[j],
			           m2b > 0 ? m2b : 0);
		}
		w->dz[j] = w->c[j] = 0;
		w->s1[j] = w->s2[j] = 0;
	}
}

/* Chooses the shifts for a block: the running mean, else the seed, else a first value. */
static void block_shift(struct worker *w, const float *const *rows, size_t nr)
{
	const size_t h = w->job->h;
	for (size_t j = 0; j < h; j++) {
		if (w->n[j]) {
			w->shift[j] = w->mean[j];
		} else if (w->job->seed && isfinite(w->job->seed[j])) {
			w->shift[j] = w->job->seed[j];
		} else {
			w->shift[j] = 0;
			for (size_t r = 0; r < nr; r++)
				if (isfinite(rows[r][j])) {
					w->shift[j] = rows[r][j];
					break;
				}
		}
	}
}

/* The instance index of position pos of the job's row list. */
static size_t row_at(const struct job *job, size_t pos)
{
	return job->rows ? job->rows[pos] : pos;
}

/* Reads len bytes at off; returns false on an error or a short file. */
static bool read_full(int fd, uint8_t *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t r = pread(fd, buf, len, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		buf += r;
		len -= (size_t)r;
		off += r;
	}
	return true;
}

/*
 * Reads the rows at positions pos..pos+nr-1 with pread() into w->raw: the whole span from the
 * first to the last when that costs less than a call per run of consecutive rows. Points
 * w->rowp at them, converted to float32 in w->buf unless they are native float32. Returns false
 * when a read fails (the caller then reads through the mapping).
 */
static bool fetch_pread(struct worker *w, size_t pos, size_t nr)
{
	const struct job *job = w->job;
	const size_t rb = job->row_bytes, first = row_at(job, pos);
	const size_t span = row_at(job, pos + nr - 1) - first + 1;
	size_t runs = 1;
	for (size_t r = 1; r < nr; r++)
		runs += row_at(job, pos + r) != row_at(job, pos + r - 1) + 1;
	const off_t base = (off_t)job->act->h.data_offset;
	size_t *at =
	    (size_t *)(void *)w->rowp; /* byte offsets into raw, before they are pointers */
	if (span <= READ_SPAN * nr && (span - nr) * rb <= runs * READ_CALL_BYTES) {
		if (!read_full(job->fd, w->raw, span * rb, base + (off_t)(first * rb)))
			return false;
		for (size_t r = 0; r < nr; r++)
			at[r] = (row_at(job, pos + r) - first) * rb;
	} else {
		for (size_t r = 0; r < nr;) {
			size_t row = row_at(job, pos + r), run = 1;
			while (r + run < nr && row_at(job, pos + r + run) == row + run)
				run++;
			if (!read_full(job->fd, w->raw + r * rb, run * rb,
			               base + (off_t)(row * rb)))
				return false;
			for (size_t q = 0; q < run; q++)
				at[r + q] = (r + q) * rb;
			r += run;
		}
	}
	if (job->direct) {
		for (size_t r = 0; r < nr; r++)
			w->rowp[r] = (const float *)(const void *)(w->raw + at[r]);
		return true;
	}
	/* convert through a view of the buffer as a C-order matrix of the file's type */
	struct npy view = *job->act;
	view.data = w->raw;
	view.rows = READ_SPAN * job->block;
	for (size_t r = 0; r < nr; r++) {
		npy_rows_f32(&view, at[r] / rb, 1, w->buf + r * job->h);
		w->rowp[r] = w->buf + r * job->h;
	}
	return true;
}

/* Points w->rowp at rows pos..pos+nr-1 of the job's row list, converting when needed. */
static void fetch_rows(struct worker *w, size_t pos, size_t nr)
{
	const struct job *job = w->job;
	const struct npy *a = job->act;
	if (w->use_pread) {
		if (fetch_pread(w, pos, nr))
			return;
		w->use_pread = false;
	}
	if (job->direct) {
		const float *base = (const float *)(const void *)a->data;
		for (size_t r = 0; r < nr; r++)
			w->rowp[r] = base + row_at(job, pos + r) * job->h;
		return;
	}
	for (size_t r = 0; r < nr;) {
		size_t first = row_at(job, pos + r), run = 1;
		while (r + run < nr && row_at(job, pos + r + run) == first + run)
			run++;
		npy_rows_f32(a, first, run, w->buf + r * job->h);
		for (size_t q = 0; q < run; q++)
			w->rowp[r + q] = w->buf + (r + q) * job->h;
		r += run;
	}
}

/* Empties the 16-bit histogram counts into the 64-bit ones. */
static void hist_flush(struct worker *w)
{
	const size_t h = w->job->h, hs = h + 1;
	const unsigned bins = w->job->bin->bins;
	for (unsigned q = 0; q < bins; q++)
		for (size_t j = 0; j < h; j++)
			w->hist[j * bins + q] += w->hist16[q * hs + j];
	memset(w->hist16, 0, bins * hs * sizeof *w->hist16);
	w->hist16_rows = 0;
}

/* Bins a block, emptying the 16-bit counts first when they could overflow. */
static void hist_rows(struct worker *w, size_t nr)
{
	if (w->hist16_rows + nr > UINT16_MAX)
		hist_flush(w);
	block_hist(w, w->rowp, nr);
	w->hist16_rows += nr;
}

/*
 * Whether the pages at a few points of this worker's rows are already in the page table
 * (/proc/self/pagemap, bit 63); false when that cannot be read.
 */
static bool mapped_already(const struct worker *w)
{
#if defined(__linux__)
	const struct job *job = w->job;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	size_t first = row_at(job, w->p0), last = row_at(job, w->p1 - 1);
	bool all = true;
	for (size_t i = 0; all && i < 8; i++) {
		size_t row = first + (last - first) / 7 * i;
		uintptr_t at = (uintptr_t)(job->act->data + row * job->row_bytes);
		uint64_t entry = 0;
		all = pread(fd, &entry, sizeof entry, (off_t)(at / page * sizeof entry)) ==
		          (ssize_t)sizeof entry &&
		      entry >> 63;
	}
	close(fd);
	return all;
#else
	(void)w;
	return false;
#endif
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	const struct job *job = w->job;
	w->use_pread = job->fd >= 0 && w->p0 < w->p1 && !mapped_already(w);
	for (size_t pos = w->p0; pos < w->p1;) {
		if (job->prog && atomic_load_explicit(&job->prog->cancel, memory_order_relaxed)) {
			w->cancelled = true;
			break;
		}
		size_t nr = w->p1 - pos < job->block ? w->p1 - pos : job->block;
		fetch_rows(w, pos, nr);
		if (job->pass == PASS_HIST) {
			hist_rows(w, nr);
		} else {
			block_shift(w, w->rowp, nr);
			bool hits = job->pass == PASS_MOMENTS
			                ? block_add_all(w, w->rowp, nr, w->hit)
			                : block_add_moments(w, w->rowp, nr);
			block_flush(w);
			if (job->pass == PASS_SUBSET && job->bin)
				hist_rows(w, nr);
			for (size_t r = 0; hits && r < nr; r++)
				if (w->hit[r])
					topk_row(w, w->rowp[r], (uint32_t)(pos + r));
		}
		if (job->prog)
			atomic_fetch_add_explicit(&job->prog->done, nr, memory_order_relaxed);
		pos += nr;
	}
	if (job->bin)
		hist_flush(w);
	return NULL;
}

static unsigned auto_threads(size_t rows, size_t h, unsigned asked)
{
	size_t t = asked;
	if (t == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		t = cpus > 0 ? (size_t)cpus : 1;
		size_t values = rows * h / AUTO_THREAD_VALUES;
		if (t > values)
			t = values ? values : 1;
	}
	if (t > MAX_THREADS)
		t = MAX_THREADS;
	if (t > rows)
		t = rows ? rows : 1;
	return (unsigned)t;
}

/* Runs one pass on t threads (the calling thread is one of them). Returns true unless
 * cancelled. */
static bool run_pass(struct worker *ws, unsigned t)
{
	const struct job *job = ws[0].job;
	for (unsigned i = 0; i < t; i++) {
		ws[i].p0 = job->n_rows * i / t;
		ws[i].p1 = job->n_rows * (i + 1) / t;
	}
	pthread_t tid[MAX_THREADS];
	unsigned started = 0;
	for (unsigned i = 1; i < t; i++) {
		if (pthread_create(&tid[i], NULL, worker_run, &ws[i]) != 0)
			break;
		started = i;
	}
	/* threads that could not be started: their ranges run here, after the first */
	worker_run(&ws[0]);
	for (unsigned i = started + 1; i < t; i++)
		worker_run(&ws[i]);
	for (unsigned i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
	for (unsigned i = 0; i < t; i++)
		if (ws[i].cancelled)
			return false;
	return true;
}

/*
 * Rows are read through the mapping when its pages are already in the page table, and otherwise
 * with pread() (C order only). Entering gigabytes of pages into the page table, by faults or
 * MADV_POPULATE_READ, and taking them out again at munmap costs more than copying the bytes
 * (measured on a file in the page cache: about 75 ms per GB to enter, 30 ms per GB to take out,
 * single-threaded at exit, against 75 ms per GB to copy), and prefetches into pages not yet
 * mapped are dropped, so scattered rows would wait for memory. Returns a descriptor of act's
 * file when it is the file that is mapped (the same size and header bytes), else -1.
 */
static int open_rows_file(const struct npy *a)
{
	const struct npy_header *hd = &a->h;
	if ((hd->fortran && a->cols > 1) || !a->map || hd->data_offset > (1u << 20) ||
	    a->data != (const uint8_t *)a->map + hd->data_offset || a->rows == 0 || a->cols == 0)
		return -1;
	int fd = open(a->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	uint8_t *head = xmalloc(hd->data_offset);
	bool same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	            (uint64_t)st.st_size == (uint64_t)hd->data_offset + hd->data_bytes &&
	            read_full(fd, head, hd->data_offset, 0) &&
	            memcmp(head, a->map, hd->data_offset) == 0;
	free(head);
	if (!same) {
		close(fd);
		return -1;
	}
	return fd;
}

static void job_init(struct job *job, const struct npy *act, enum pass pass,
                     const struct neurons_opts *opt, struct nn_progress *prog)
{
	memset(job, 0, sizeof *job);
	job->act = act;
	job->pass = pass;
	job->h = act->cols;
	job->hp = round4(act->cols);
	const struct npy_header *hd = &act->h;
	job->direct = hd->kind == NPY_FLOAT && hd->itemsize == 4 && !hd->swap &&
	              (!hd->fortran || act->cols == 1) && (uintptr_t)act->data % 4 == 0;
	size_t row_bytes = act->cols * sizeof(float);
	job->block = row_bytes ? BLOCK_BYTES / row_bytes : 4096;
	job->block = job->block < 16 ? 16 : job->block > 4096 ? 4096 : job->block;
	if (opt && opt->block_rows)
		job->block = opt->block_rows < 4096 ? opt->block_rows : 4096;
	job->prog = prog;
	job->row_bytes = act->cols * hd->itemsize;
	job->fd = open_rows_file(act);
}

static void job_done(struct job *job)
{
	if (job->fd >= 0)
		close(job->fd);
	job->fd = -1;
}

static void binner_init(struct binner *b, const struct neuron_stats *st)
{
	b->bins = st->bins;
	neurons_hist_edges(st, b->edge);
	b->lo = b->edge[0];
	b->norm = st->bins / (b->edge[st->bins] - b->edge[0]);
	/*
	 * How far from a bin boundary (in bins) trunc((x − lo)·norm) in float32 is trusted. The
	 * product is off by at most 3 float32 roundings, 3·2⁻²⁴·bins ≈ 1.2e-5 bins at 64 bins; the
	 * edges (in double) by 2 ulps of the largest magnitude, at most 2⁻²⁰ bins since the data
	 * are float32 and lo < hi are two of them. 1e-4 bins leaves room. A constant layer
	 * (whose range NumPy widens by ±0.5, off the float32 grid) is binned exactly throughout.
	 */
	double mag = fmax(fabs(b->edge[0]), fabs(b->edge[st->bins]));
	double step = (b->edge[st->bins] - b->edge[0]) / st->bins;
	double bound = 3 * 0x1p-24 * st->bins + 4 * DBL_EPSILON * (mag / step);
	b->eps = st->lo < st->hi && bound < 1e-5 ? 1e-4 : 1;
}

void neurons_hist_edges(const struct neuron_stats *st, double *edges)
{
	double lo = st->lo, hi = st->hi;
	if (lo == hi) {
		lo -= 0.5;
		hi += 0.5;
	}
	/* numpy.linspace: i * step + start, and the last edge exactly stop */
	double step = (hi - lo) / st->bins;
	for (unsigned i = 0; i < st->bins; i++)
		edges[i] = (double)i * step + lo;
	edges[st->bins] = hi;
}

struct topk_item {
	float val;
	uint32_t idx;
};

static int topk_cmp(const void *a, const void *b)
{
	const struct topk_item *x = a, *y = b;
	if (x->val != y->val)
		return x->val > y->val ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static void stats_alloc(struct neuron_stats *st, size_t n, size_t h, unsigned bins, unsigned k)
{
	memset(st, 0, sizeof *st);
	st->n = n;
	st->h = h;
	st->bins = bins;
	st->k = k;
	st->count = xcalloc(h, sizeof *st->count);
	st->dead = xcalloc(h, sizeof *st->dead);
	st->mean = xcalloc(h, sizeof *st->mean);
	st->m2 = xcalloc(h, sizeof *st->m2);
	st->min = xcalloc(h, sizeof *st->min);
	st->max = xcalloc(h, sizeof *st->max);
	st->hist = xcalloc(h, bins * sizeof *st->hist);
	st->top_idx = xcalloc(h, k * sizeof *st->top_idx);
	st->top_val = xcalloc(h, k * sizeof *st->top_val);
}

/* Folds the threads' pass-1 accumulators, in range order, into st. */
static void merge_moments(struct neuron_stats *st, struct worker *ws, unsigned t)
{
	size_t h = st->h;
	unsigned k = st->k;
	struct topk_item *items = xreallocarray(NULL, (size_t)t * k, sizeof *items);
	st->lo = INFINITY;
	st->hi = -INFINITY;
	for (size_t j = 0; j < h; j++) {
		uint64_t n = 0;
		double mean = 0, m2 = 0;
		double mn = INFINITY, mx = -INFINITY;
		size_t ni = 0;
		for (unsigned i = 0; i < t; i++) {
			struct worker *w = &ws[i];
			chan_merge(&n, &mean, &m2, w->n[j], w->mean[j], w->m2[j]);
			st->dead[j] += w->dead[j];
			mn = w->mn[j] < mn ? w->mn[j] : mn;
			mx = w->mx[j] > mx ? w->mx[j] : mx;
			for (unsigned q = 0; q < w->top_n[j]; q++)
				items[ni++] = (struct topk_item){w->top_val[j * k + q],
				                                 w->top_idx[j * k + q]};
		}
		st->count[j] = n;
		st->mean[j] = n ? mean : NAN;
		st->m2[j] = m2;
		st->min[j] = n ? mn : NAN;
		st->max[j] = n ? mx : NAN;
		if (n) {
			st->lo = mn < st->lo ? mn : st->lo;
			st->hi = mx > st->hi ? mx : st->hi;
		}
		qsort(items, ni, sizeof *items, topk_cmp);
		for (unsigned q = 0; q < k; q++) {
			st->top_idx[j * k + q] = q < ni ? items[q].idx : NEURONS_NO_INDEX;
			st->top_val[j * k + q] = q < ni ? items[q].val : NAN;
		}
	}
	if (st->lo > st->hi)
		st->lo = st->hi = NAN;
	free(items);
}

static int check_opts(const struct npy *act, const struct neurons_opts *opt, unsigned *bins,
                      unsigned *k, struct nn_err *err)
{
	*bins = opt && opt->bins ? opt->bins : NEURONS_BINS_DEFAULT;
	*k = opt && opt->k ? opt->k : NEURONS_TOPK_DEFAULT;
	if (*bins < NEURONS_BINS_MIN || *bins > NEURONS_BINS_MAX)
		return nn_err_set(err, "%u histogram bins: expected %d to %d", *bins,
		                  NEURONS_BINS_MIN, NEURONS_BINS_MAX);
	if (*k > NEURONS_TOPK_MAX)
		return nn_err_set(err, "top %u instances: at most %d", *k, NEURONS_TOPK_MAX);
	if (act->rows > UINT32_MAX)
		return nn_err_set(err, "%s: %zu rows, more than this version handles", act->path,
		                  act->rows);
	if (act->h.kind == NPY_BOOL)
		return nn_err_set(err, "%s: boolean activations are not supported", act->path);
	if (act->cols >= INT32_MAX / NEURONS_BINS_MAX - 1)
		return nn_err_set(err, "%s: %zu neurons, more than this version handles", act->path,
		                  act->cols);
	return 0;
}

int neurons_stats_compute(const struct npy *act, const struct neurons_opts *opt,
                          struct nn_progress *prog, struct neuron_stats *out, struct nn_err *err)
{
	unsigned bins, k;
	memset(out, 0, sizeof *out);
	if (check_opts(act, opt, &bins, &k, err) < 0)
		return -1;
	size_t n = act->rows, h = act->cols;
	unsigned t = auto_threads(n, h, opt ? opt->threads : 0);
	if (prog)
		atomic_store(&prog->total, 2 * n);

	struct job job;
	job_init(&job, act, PASS_MOMENTS, opt, prog);
	job.n_rows = n;
	job.k = k;
	struct worker *ws = xcalloc(t, sizeof *ws);
	for (unsigned i = 0; i < t; i++)
		worker_init(&ws[i], &job);
	bool ok = run_pass(ws, t);
	if (ok) {
		stats_alloc(out, n, h, bins, k);
		merge_moments(out, ws, t);
	}
	for (unsigned i = 0; i < t; i++)
		worker_free(&ws[i]);
	job_done(&job);
	if (!ok) {
		free(ws);
		return nn_err_set(err, "cancelled");
	}

	if (isfinite(out->lo)) {
		struct binner b;
		binner_init(&b, out);
		job_init(&job, act, PASS_HIST, opt, prog);
		job.n_rows = n;
		job.bin = &b;
		for (unsigned i = 0; i < t; i++)
			worker_init(&ws[i], &job);
		ok = run_pass(ws, t);
		for (unsigned i = 0; i < t; i++) {
			for (size_t q = 0; ok && q < h * bins; q++)
				out->hist[q] += ws[i].hist[q];
			worker_free(&ws[i]);
		}
		job_done(&job);
	} else if (prog) {
		atomic_fetch_add(&prog->done, n);
	}
	free(ws);
	if (!ok) {
		neurons_stats_free(out);
		return nn_err_set(err, "cancelled");
	}
	return 0;
}

int neurons_stats(const struct npy *act, const struct neurons_opts *opt, struct nn_progress *prog,
                  struct neuron_stats *out, struct nn_err *err)
{
	unsigned bins, k;
	memset(out, 0, sizeof *out);
	if (check_opts(act, opt, &bins, &k, err) < 0)
		return -1;
	char *dir = opt && opt->cache_dir ? (opt->cache_dir[0] ? xstrdup(opt->cache_dir) : NULL)
	                                  : neurons_cache_dir();
	char *key = dir ? neurons_cache_key(act, bins, k, NULL) : NULL;
	if (key && neurons_cache_load(dir, key, out) == 0 && out->n == act->rows &&
	    out->h == act->cols) {
		out->from_cache = true;
		if (prog) {
			atomic_store(&prog->total, 2 * act->rows);
			atomic_store(&prog->done, 2 * act->rows);
		}
		free(key);
		free(dir);
		return 0;
	}
	neurons_stats_free(out);
	int rc = neurons_stats_compute(act, opt, prog, out, err);
	if (rc == 0 && key) {
		/* store only if the file did not change while it was read */
		char *after = neurons_cache_key(act, bins, k, NULL);
		if (after && strcmp(after, key) == 0)
			neurons_cache_store(dir, key, out);
		free(after);
	}
	free(key);
	free(dir);
	return rc;
}

void neurons_stats_free(struct neuron_stats *st)
{
	free(st->count);
	free(st->dead);
	free(st->mean);
	free(st->m2);
	free(st->min);
	free(st->max);
	free(st->hist);
	free(st->top_idx);
	free(st->top_val);
	memset(st, 0, sizeof *st);
}

double neurons_std(const struct neuron_stats *st, size_t j)
{
	return st->count[j] >= 2 ? sqrt(st->m2[j] / (double)(st->count[j] - 1)) : NAN;
}

double neurons_dead_frac(const struct neuron_stats *st, size_t j)
{
	return st->count[j] ? (double)st->dead[j] / (double)st->count[j] : NAN;
}

/* ---- subsets ---- */

static void subset_alloc(struct neuron_subset *ss, size_t h, unsigned bins, bool hist)
{
	memset(ss, 0, sizeof *ss);
	ss->h = h;
	ss->bins = bins;
	ss->count_in = xcalloc(h, sizeof *ss->count_in);
	ss->count_out = xcalloc(h, sizeof *ss->count_out);
	ss->dead_in = xcalloc(h, sizeof *ss->dead_in);
	ss->dead_out = xcalloc(h, sizeof *ss->dead_out);
	ss->mean_in = xcalloc(h, sizeof *ss->mean_in);
	ss->mean_out = xcalloc(h, sizeof *ss->mean_out);
	ss->m2_in = xcalloc(h, sizeof *ss->m2_in);
	ss->m2_out = xcalloc(h, sizeof *ss->m2_out);
	if (hist)
		ss->hist_in = xcalloc(h, bins * sizeof *ss->hist_in);
}

/*
 * The sums of the part not read, from the layer's and the part read: count and dead by
 * subtraction, mean and m2 by inverting the parallel formula. The derived part is the larger
 * one, so its mean (mean + (mean − mean_read)·n_read/n_rest) amplifies no rounding error.
 */
static void derive_rest(uint64_t n, double mean, double m2, uint64_t nr, double mr, double m2r,
                        uint64_t *no, double *mo, double *m2o)
{
	*no = n - nr;
	if (*no == 0) {
		*mo = NAN;
		*m2o = 0;
		return;
	}
	if (nr == 0) {
		*mo = mean;
		*m2o = m2;
		return;
	}
	double nd = (double)n, nrd = (double)nr, nod = (double)*no;
	*mo = mean + (mean - mr) * (nrd / nod);
	double delta = mr - *mo;
	double v = m2 - m2r - delta * delta * (nrd * nod / nd);
	*m2o = v > 0 ? v : 0;
}

int neurons_subset(const struct npy *act, const struct neuron_stats *all, const uint32_t *idx,
                   size_t n_idx, bool want_hist, const struct neurons_opts *opt,
                   struct nn_progress *prog, struct neuron_subset *out, struct nn_err *err)
{
	size_t n = act->rows, h = act->cols;
	memset(out, 0, sizeof *out);
	if (all->n != n || all->h != h)
		return nn_err_set(err, "%s: statistics of a %zu×%zu matrix, but it is %zu×%zu",
		                  act->path, all->n, all->h, n, h);
	for (size_t q = 0; q < n_idx; q++)
		if (idx[q] >= n || (q && idx[q] <= idx[q - 1]))
			return nn_err_set(err,
			                  "subset of %s: indices must increase and be below %zu",
			                  act->path, n);
	/* read S, or R when that is fewer rows */
	bool read_in = n_idx <= n - n_idx;
	uint32_t *rest = NULL;
	const uint32_t *rows = idx;
	size_t n_rows = n_idx;
	if (!read_in) {
		rest = xreallocarray(NULL, n - n_idx ? n - n_idx : 1, sizeof *rest);
		n_rows = 0;
		for (size_t i = 0, q = 0; i < n; i++) {
			if (q < n_idx && idx[q] == i)
				q++;
			else
				rest[n_rows++] = (uint32_t)i;
		}
		rows = rest;
	}
	if (prog)
		atomic_store(&prog->total, n_rows);

	struct binner b;
	bool hist = want_hist && isfinite(all->lo);
	if (hist)
		binner_init(&b, all);
	struct job job;
	job_init(&job, act, PASS_SUBSET, opt, prog);
	job.rows = rows;
	job.n_rows = n_rows;
	job.seed = all->mean;
	job.bin = hist ? &b : NULL;
	unsigned t = auto_threads(n_rows, h, opt ? opt->threads : 0);
	struct worker *ws = xcalloc(t, sizeof *ws);
	for (unsigned i = 0; i < t; i++)
		worker_init(&ws[i], &job);
	bool ok = run_pass(ws, t);
	if (ok) {
		subset_alloc(out, h, all->bins, want_hist);
		out->n_in = n_idx;
		out->n_out = n - n_idx;
		for (size_t j = 0; j < h; j++) {
			uint64_t cnt = 0, dead = 0;
			double mean = 0, m2 = 0;
			for (unsigned i = 0; i < t; i++) {
				chan_merge(&cnt, &mean, &m2, ws[i].n[j], ws[i].mean[j],
				           ws[i].m2[j]);
				dead += ws[i].dead[j];
			}
			uint64_t *cr = read_in ? out->count_in : out->count_out;
			uint64_t *co = read_in ? out->count_out : out->count_in;
			double *mr = read_in ? out->mean_in : out->mean_out;
			double *mo = read_in ? out->mean_out : out->mean_in;
			double *m2r = read_in ? out->m2_in : out->m2_out;
			double *m2o = read_in ? out->m2_out : out->m2_in;
			cr[j] = cnt;
			mr[j] = cnt ? mean : NAN;
			m2r[j] = m2;
			derive_rest(all->count[j], all->mean[j], all->m2[j], cnt, mean, m2, &co[j],
			            &mo[j], &m2o[j]);
			out->dead_in[j] = read_in ? dead : all->dead[j] - dead;
			out->dead_out[j] = all->dead[j] - out->dead_in[j];
		}
		if (hist) {
			size_t cells = h * all->bins;
			for (size_t q = 0; q < cells; q++) {
				uint64_t sum = 0;
				for (unsigned i = 0; i < t; i++)
					sum += ws[i].hist[q];
				out->hist_in[q] = read_in ? sum : all->hist[q] - sum;
			}
		}
	}
	for (unsigned i = 0; i < t; i++)
		worker_free(&ws[i]);
	job_done(&job);
	free(ws);
	free(rest);
	if (!ok)
		return nn_err_set(err, "cancelled");
	return 0;
}

void neurons_subset_free(struct neuron_subset *ss)
{
	free(ss->count_in);
	free(ss->count_out);
	free(ss->dead_in);
	free(ss->dead_out);
	free(ss->mean_in);
	free(ss->mean_out);
	free(ss->m2_in);
	free(ss->m2_out);
	free(ss->hist_in);
	memset(ss, 0, sizeof *ss);
}

double neurons_d(const struct neuron_subset *ss, size_t j)
{
	uint64_t ns = ss->count_in[j], nr = ss->count_out[j];
	if (ns == 0 || nr == 0 || ns + nr <= 2)
		return NAN;
	double pooled = sqrt((ss->m2_in[j] + ss->m2_out[j]) / (double)(ns + nr - 2));
	if (pooled == 0)
		return 0;
	return (ss->mean_in[j] - ss->mean_out[j]) / pooled;
}

/* ---- ranking and profiles ---- */

static const char *const key_names[] = {"d", "mean", "std", "dead"};

int neurons_key_parse(const char *s, enum neuron_key *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, key_names[i]) == 0) {
			*out = (enum neuron_key)i;
			return 0;
		}
	return -1;
}

const char *neurons_key_name(enum neuron_key key)
{
	return (unsigned)key < 4 ? key_names[key] : "?";
}

void neurons_scores(const struct neuron_stats *st, const struct neuron_subset *ss,
                    enum neuron_key key, double *score)
{
	for (size_t j = 0; j < st->h; j++) {
		uint64_t cnt = ss ? ss->count_in[j] : st->count[j];
		double mean = ss ? ss->mean_in[j] : st->mean[j];
		double m2 = ss ? ss->m2_in[j] : st->m2[j];
		uint64_t dead = ss ? ss->dead_in[j] : st->dead[j];
		switch (key) {
		case NEURON_BY_D:
			score[j] = ss ? neurons_d(ss, j) : NAN;
			break;
		case NEURON_BY_MEAN:
			score[j] = cnt ? mean : NAN;
			break;
		case NEURON_BY_STD:
			score[j] = cnt >= 2 ? sqrt(m2 / (double)(cnt - 1)) : NAN;
			break;
		case NEURON_BY_DEAD:
			score[j] = cnt ? (double)dead / (double)cnt : NAN;
			break;
		}
	}
}

struct rank_item {
	double key;
	uint32_t idx;
};

/* Highest first, NaN last, ties by lower index. */
static int rank_cmp(const void *a, const void *b)
{
	const struct rank_item *x = a, *y = b;
	bool xn = isnan(x->key), yn = isnan(y->key);
	if (xn != yn)
		return xn ? 1 : -1;
	if (!xn && x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

void neurons_rank(const double *score, size_t h, bool by_abs, uint32_t *order)
{
	struct rank_item *items = xreallocarray(NULL, h ? h : 1, sizeof *items);
	for (size_t j = 0; j < h; j++)
		items[j] = (struct rank_item){by_abs ? fabs(score[j]) : score[j], (uint32_t)j};
	qsort(items, h, sizeof *items, rank_cmp);
	for (size_t j = 0; j < h; j++)
		order[j] = items[j].idx;
	free(items);
}

void neurons_profile(const struct npy *act, size_t i, float *values, uint32_t *order)
{
	size_t h = act->cols;
	npy_rows_f32(act, i, 1, values);
	double *score = xreallocarray(NULL, h ? h : 1, sizeof *score);
	for (size_t j = 0; j < h; j++)
		score[j] = values[j];
	neurons_rank(score, h, false, order);
	free(score);
}
