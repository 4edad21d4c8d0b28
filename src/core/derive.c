/* derive.c — per-instance predictions and scores from probabilities, on every CPU. */
#include "nncmp/derive.h"

#include "nncmp/derive_cache.h"
#include "nncmp/neurons.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The float32 fast path in AVX2 intrinsics where the compiler and the CPU have them. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DERIVE_AVX2 1
#include <immintrin.h>
#else
#define DERIVE_AVX2 0
#endif

void derive_softmax(double *p, size_t c)
{
	double mx = p[0];
	for (size_t j = 1; j < c; j++)
		if (p[j] > mx)
			mx = p[j];
	double sum = 0;
	for (size_t j = 0; j < c; j++) {
		p[j] = exp(p[j] - mx);
		sum += p[j];
	}
	for (size_t j = 0; j < c; j++)
		p[j] /= sum;
}

void derive_model_row(const struct model *m, size_t i, size_t c, double *out)
{
	if (m->src == SRC_PRED) {
		memset(out, 0, c * sizeof *out);
		out[model_pred(m, i)] = 1.0;
		return;
	}
	npy_row_f64(&m->probs, i, out);
	if (m->src == SRC_LOGITS)
		derive_softmax(out, c);
}

int derive_row(double *p, size_t c, bool logits, int32_t label, int32_t *pred, double *conf,
               double *margin, double *p_label, int32_t *rank, const char **why)
{
	for (size_t j = 0; j < c; j++)
		if (!isfinite(p[j])) {
			*why = isnan(p[j]) ? "NaN" : "infinite value";
			return -1;
		}
	if (logits) {
		derive_softmax(p, c);
	} else {
		double sum = 0;
		for (size_t j = 0; j < c; j++) {
			if (p[j] < 0) {
				*why = "negative probability";
				return -1;
			}
			sum += p[j];
		}
		if (fabs(sum - 1.0) > PROB_SUM_TOLERANCE) {
			*why = "row does not sum to 1 (use logits.npy for unnormalized scores)";
			return -1;
		}
	}
	size_t best = 0;
	for (size_t j = 1; j < c; j++)
		if (p[j] > p[best])
			best = j;
	double second = -1;
	for (size_t j = 0; j < c; j++)
		if (j != best && p[j] > second)
			second = p[j];
	double pl = p[label];
	/* scikit-learn's top_k ranks by a reversed stable argsort: among equal scores the higher
	 * class index comes first */
	int32_t r = 0;
	for (size_t j = 0; j < c; j++)
		if (p[j] > pl || (p[j] == pl && j > (size_t)label))
			r++;
	*pred = (int32_t)best;
	*conf = p[best];
	*margin = c > 1 ? p[best] - second : p[best];
	*p_label = pl;
	*rank = r;
	return 0;
}

/* Independent accumulators per row in the portable path, so that the compiler can keep them in
 * vector registers. */
#define DERIVE_LANES 4

/*
 * One value v of column j into a lane's accumulators: the sum, the two largest values and the
 * column of the first largest, the count that rank above p_label (ties: higher columns first,
 * as scikit-learn's top_k), and whether v is negative or NaN (an infinity makes the sum fail).
 */
static inline void derive_lane(float v, int32_t j, int32_t label, float pl, double *sum, float *top,
                               float *second, int32_t *at, int32_t *above, int32_t *bad)
{
	*bad |= !(v >= 0.0f);
	*sum += v;
	float lo = v < *top ? v : *top;
	*second = lo > *second ? lo : *second;
	int32_t up = -(int32_t)(v > *top); /* all ones when v is the lane's new maximum */
	*at = (*at & ~up) | (j & up);
	*top = v > *top ? v : *top;
	*above += (v > pl) + ((v == pl) & (j > label)); /* no branches: vector code */
}

int derive_row_f32_portable(const float *r, size_t c, int32_t label, int32_t *pred, double *conf,
                            double *margin, double *p_label, int32_t *rank, float *second_p)
{
	const float pl = r[label];
	double sum[DERIVE_LANES] = {0};
	float top[DERIVE_LANES], second[DERIVE_LANES];
	int32_t above[DERIVE_LANES] = {0}, bad[DERIVE_LANES] = {0}, at[DERIVE_LANES] = {0};
	for (size_t k = 0; k < DERIVE_LANES; k++)
		top[k] = second[k] = -1.0f;
	size_t j = 0;
	for (; j + DERIVE_LANES <= c; j += DERIVE_LANES)
		for (size_t k = 0; k < DERIVE_LANES; k++)
			derive_lane(r[j + k], (int32_t)(j + k), label, pl, &sum[k], &top[k],
			            &second[k], &at[k], &above[k], &bad[k]);
	for (size_t k = 0; j + k < c; k++)
		derive_lane(r[j + k], (int32_t)(j + k), label, pl, &sum[k], &top[k], &second[k],
		            &at[k], &above[k], &bad[k]);
	double total = 0;
	int32_t rk = 0, any_bad = 0;
	float best = -1.0f;
	for (size_t k = 0; k < DERIVE_LANES; k++) {
		total += sum[k];
		rk += above[k];
		any_bad |= bad[k];
		best = top[k] > best ? top[k] : best;
	}
	if (any_bad || fabs(total - 1.0) > PROB_SUM_TOLERANCE)
		return -1;
	/* The runner-up: the largest value left once one copy of the best is set aside. */
	float run = -1.0f;
	bool skipped = false;
	for (size_t k = 0; k < DERIVE_LANES; k++) {
		if (!skipped && top[k] == best)
			skipped = true;
		else
			run = top[k] > run ? top[k] : run;
		run = second[k] > run ? second[k] : run;
	}
	int32_t bi = (int32_t)c; /* the first maximum, as argmax */
	for (size_t k = 0; k < DERIVE_LANES; k++)
		bi = top[k] == best && at[k] < bi ? at[k] : bi;
	*pred = bi;
	*conf = best;
	*margin = c > 1 ? (double)best - (double)run : best;
	*second_p = c > 1 ? run : 0.0f;
	*p_label = pl;
	*rank = rk;
	return 0;
}

#if DERIVE_AVX2
/* A float32 sum this close to the tolerance's edge goes the exact way (derive_row decides): the
 * lanes' float sum is off the exact one by far less (about 1e-6 for a row of 100). */
#define DERIVE_SUM_GUARD 1e-4f

__attribute__((target("avx2"))) static inline float hmax8(__m256 v)
{
	__m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	m = _mm_max_ps(m, _mm_movehl_ps(m, m));
	return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

__attribute__((target("avx2"))) static inline float hmin8(__m256 v)
{
	__m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	m = _mm_min_ps(m, _mm_movehl_ps(m, m));
	return _mm_cvtss_f32(_mm_min_ss(m, _mm_movehdup_ps(m)));
}

__attribute__((target("avx2"))) static inline float hsum8(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

__attribute__((target("avx2"))) static inline int32_t hsum8i(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
	return _mm_cvtsi128_si32(_mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1)));
}

__attribute__((target("avx2"))) static inline int32_t hmin8i(__m256i v)
{
	__m128i m = _mm_min_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	m = _mm_min_epi32(m, _mm_shuffle_epi32(m, 0x4e));
	return _mm_cvtsi128_si32(_mm_min_epi32(m, _mm_shuffle_epi32(m, 0xb1)));
}

/*
 * The same values in lanes of eight columns, one AVX2 vector each: per lane the sum, the least
 * value (negative or NaN refuses the row; a NaN also makes the sum NaN), the two largest values
 * and the column where the lane first met the largest, the count of values above p_label and of
 * those equal to it. Every operation but the sum is exact, and the sum only decides whether the
 * row takes this path. The last columns are one masked vector whose lanes past c read zeros:
 * they cannot be the maximum of a row that sums to about 1, a zero adds nothing to the
 * runner-up of values that are all >= 0, and they leave the counts.
 */
__attribute__((target("avx2"))) static int
derive_row_f32_avx2(const float *r, size_t c, int32_t label, int32_t *pred, double *conf,
                    double *margin, double *p_label, int32_t *rank, float *second_p)
{
	const float pl = r[label];
	const __m256 plv = _mm256_set1_ps(pl), minus1 = _mm256_set1_ps(-1.0f);
	const __m256i step = _mm256_set1_epi32(8);
	__m256 sum = _mm256_setzero_ps(), lo = _mm256_setzero_ps(), top = minus1, second = minus1;
	__m256i jv = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), at = _mm256_setzero_si256();
	__m256i above = _mm256_setzero_si256(), ties = _mm256_setzero_si256();
	size_t j = 0;
	for (; j + 8 <= c; j += 8, jv = _mm256_add_epi32(jv, step)) {
		__m256 v = _mm256_loadu_ps(r + j);
		sum = _mm256_add_ps(sum, v);
		lo = _mm256_min_ps(lo, v);
		__m256 gt = _mm256_cmp_ps(v, top, _CMP_GT_OQ);
		second = _mm256_max_ps(second, _mm256_min_ps(v, top));
		at = _mm256_blendv_epi8(at, jv, _mm256_castps_si256(gt));
		top = _mm256_max_ps(top, v);
		above =
		    _mm256_sub_epi32(above, _mm256_castps_si256(_mm256_cmp_ps(v, plv, _CMP_GT_OQ)));
		ties =
		    _mm256_sub_epi32(ties, _mm256_castps_si256(_mm256_cmp_ps(v, plv, _CMP_EQ_OQ)));
	}
	if (j < c) {
		__m256i valid = _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)(c - j)),
		                                   _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
		__m256 v = _mm256_maskload_ps(r + j, valid);
		sum = _mm256_add_ps(sum, v);
		lo = _mm256_min_ps(lo, v);
		__m256 gt = _mm256_cmp_ps(v, top, _CMP_GT_OQ);
		second = _mm256_max_ps(second, _mm256_min_ps(v, top));
		at = _mm256_blendv_epi8(at, jv, _mm256_castps_si256(gt));
		top = _mm256_max_ps(top, v);
		above = _mm256_sub_epi32(
		    above, _mm256_and_si256(
		               valid, _mm256_castps_si256(_mm256_cmp_ps(v, plv, _CMP_GT_OQ))));
		ties = _mm256_sub_epi32(
		    ties, _mm256_and_si256(valid,
		                           _mm256_castps_si256(_mm256_cmp_ps(v, plv, _CMP_EQ_OQ))));
	}
	float total = hsum8(sum);
	if (!(hmin8(lo) >= 0.0f) ||
	    !(fabsf(total - 1.0f) <= (float)PROB_SUM_TOLERANCE - DERIVE_SUM_GUARD))
		return -1; /* NaN, infinite, negative, off the sum, or too near its edge */
	float best = hmax8(top);
	__m256 is_best = _mm256_cmp_ps(top, _mm256_set1_ps(best), _CMP_EQ_OQ);
	/* the first maximum, as argmax: the least column where a lane holding it first met it */
	int32_t bi = hmin8i(
	    _mm256_blendv_epi8(_mm256_set1_epi32(INT32_MAX), at, _mm256_castps_si256(is_best)));
	/* the runner-up: the largest value left once the copy of the best at bi is set aside (each
	 * lane's column is its lane number mod 8, so one lane holds bi) */
	__m256 others = _mm256_blendv_ps(
	    top, minus1, _mm256_castsi256_ps(_mm256_cmpeq_epi32(at, _mm256_set1_epi32(bi))));
	float run = hmax8(_mm256_max_ps(others, second));
	int32_t rk = hsum8i(above);
	if (hsum8i(ties) > 1) /* p_label is tied: equal values in higher columns rank above it */
		for (size_t k = (size_t)label + 1; k < c; k++)
			rk += r[k] == pl;
	*pred = bi;
	*conf = best;
	*margin = c > 1 ? (double)best - (double)run : best;
	*second_p = c > 1 ? run : 0.0f;
	*p_label = pl;
	*rank = rk;
	return 0;
}
#endif

int derive_row_f32(const float *r, size_t c, int32_t label, int32_t *pred, double *conf,
                   double *margin, double *p_label, int32_t *rank, float *second_p)
{
#if DERIVE_AVX2
	if (__builtin_cpu_supports("avx2")) /* libgcc's CPU model, set before main */
		return derive_row_f32_avx2(r, c, label, pred, conf, margin, p_label, rank,
		                           second_p);
#endif
	return derive_row_f32_portable(r, c, label, pred, conf, margin, p_label, rank, second_p);
}

/* Bytes of probabilities per pread, and the page its buffer is aligned to. */
#define DERIVE_READ_BYTES (256u << 10)
#define DERIVE_PAGE       4096u

/* Rows per work item: small enough to share three models fairly between two CPUs. */
#define DERIVE_CHUNK_ROWS 32768
/* At most this many threads read cache files. */
#define DERIVE_CACHE_THREADS 8

/* A model's outcome: its first invalid row (n when none) and why it is invalid. */
struct derive_model {
	struct model *m;
	int fd; /* the probabilities' file, read with pread (or -1: through the mapping) */
	size_t bad_row;
	const char *why;
};

/* The work: every chunk of rows of every model, taken in turn by the threads. */
struct derive_work {
	const struct study *s;
	struct derive_model *dm;
	size_t n_dm, chunks_per_model;
	atomic_size_t next;
	pthread_mutex_t lock; /* guards bad_row and why */
};

/* The largest of the c values of p but the one at best (0 when c is 1): the runner-up. */
static double runner_up(const double *p, size_t c, int32_t best)
{
	double second = 0;
	for (size_t j = 0; j < c; j++)
		if (j != (size_t)best && p[j] > second)
			second = p[j];
	return second;
}

/* Whether m's rows are float32 probabilities in place in the mapping (derive_chunk's fast path,
 * which may read them with pread instead). */
static bool probs_read_in_place(const struct model *m)
{
	const struct npy_header *h = &m->probs.h;
	return m->src == SRC_PROBS && h->kind == NPY_FLOAT && h->itemsize == 4 &&
	       npy_contiguous(&m->probs) && !h->swap && !h->fortran &&
	       (uintptr_t)m->probs.data % sizeof(float) == 0;
}

/* Derives rows [i0, i1) of dm's model; returns the first invalid row, or i1, with *why set. */
static size_t derive_chunk(const struct study *s, struct model *m, int fd, size_t i0, size_t i1,
                           const char **why)
{
	size_t c = m->probs.cols;
	const struct npy_header *h = &m->probs.h;
	bool f32 = m->src == SRC_PROBS && h->kind == NPY_FLOAT && h->itemsize == 4;
	bool in_place = probs_read_in_place(m);
	/*
	 * Contiguous float32 probabilities are read with pread() (npy_file_fd) where the mapping is
	 * dear (npy_map_cheap, and no STUDY_PROBS_AGAIN), else in place; others a block of
	 * rows at a time through the mapping (in place when they can be). Through the mapping, the
	 * page faults and the munmap at exit took half the time of a 1M report without caches
	 * (0.21 s; 0.12 s with pread). The buffer starts at the file offset's place within a page,
	 * so that the kernel's copy is aligned (16 bytes off ran 3–4 times slower on one Intel
	 * machine; on the AMD one it made no difference).
	 */
	bool by_read = in_place && fd >= 0;
	size_t block = by_read ? DERIVE_READ_BYTES / (c * sizeof(float)) + 1
	               : f32   ? 4096 / c + 1
	                       : 1;
	void *raw = NULL;
	if (by_read && posix_memalign(&raw, DERIVE_PAGE, block * c * sizeof(float) + DERIVE_PAGE))
		by_read = false, raw = NULL;
	float *buf = f32 && !in_place ? xcalloc(block * c, sizeof *buf) : NULL;
	double *row = xcalloc(c, sizeof *row);
	size_t bad = i1;
	for (size_t b0 = i0; b0 < i1 && bad == i1; b0 += block) {
		size_t nb = i1 - b0 < block ? i1 - b0 : block;
		const float *rows = NULL;
		uint64_t off = h->data_offset + (uint64_t)b0 * c * sizeof(float);
		float *dst = by_read ? (float *)(void *)((uint8_t *)raw + off % DERIVE_PAGE) : NULL;
		if (by_read && nn_pread_full(fd, dst, nb * c * sizeof(float), off))
			rows = dst;
		else if (in_place)
			rows = (const float *)(const void *)m->probs.data + b0 * c;
		else if (f32) {
			npy_rows_f32(&m->probs, b0, nb, buf);
			rows = buf;
		}
		for (size_t k = 0; k < nb; k++) {
			size_t i = b0 + k;
			int32_t pred, rank;
			double conf, margin, p_label, second;
			float second_f;
			if (rows && derive_row_f32(rows + k * c, c, s->labels[i], &pred, &conf,
			                           &margin, &p_label, &rank, &second_f) == 0) {
				second = second_f;
			} else {
				npy_row_f64(&m->probs, i, row);
				if (derive_row(row, c, m->src == SRC_LOGITS, s->labels[i], &pred,
				               &conf, &margin, &p_label, &rank, why) < 0) {
					bad = i;
					break;
				}
				/* only float models keep it, and their rows are probabilities */
				second = m->val_size == 4 ? runner_up(row, c, pred) : 0;
			}
			model_set_pred(m, i, pred);
			model_set_rank(m, i, rank);
			model_set_p_label(m, i, p_label);
			model_set_values(m, i, conf, second, margin);
		}
	}
	free(buf);
	free(raw);
	free(row);
	return bad;
}

static void *derive_worker(void *arg)
{
	struct derive_work *w = arg;
	size_t n = w->s->n, total = w->n_dm * w->chunks_per_model;
	for (size_t k; (k = atomic_fetch_add(&w->next, 1)) < total;) {
		struct derive_model *dm = &w->dm[k / w->chunks_per_model];
		size_t i0 = k % w->chunks_per_model * DERIVE_CHUNK_ROWS;
		size_t i1 = n - i0 < DERIVE_CHUNK_ROWS ? n : i0 + DERIVE_CHUNK_ROWS;
		pthread_mutex_lock(&w->lock);
		bool after_bad = dm->bad_row <= i0; /* the model is refused already */
		pthread_mutex_unlock(&w->lock);
		if (after_bad)
			continue;
		const char *why = NULL;
		size_t bad = derive_chunk(w->s, dm->m, dm->fd, i0, i1, &why);
		if (bad == i1)
			continue;
		pthread_mutex_lock(&w->lock);
		if (bad < dm->bad_row) {
			dm->bad_row = bad;
			dm->why = why;
		}
		pthread_mutex_unlock(&w->lock);
	}
	return NULL;
}

/* The models to look up in the cache, taken in turn by the threads. */
struct cache_work {
	struct study *s;
	const char *dir;
	struct derive_work *w;
	char **keys;
	bool *hit;
	atomic_size_t next;
};

static void *cache_worker(void *arg)
{
	struct cache_work *cw = arg;
	for (size_t k; (k = atomic_fetch_add(&cw->next, 1)) < cw->w->n_dm;)
		cw->hit[k] = cw->keys[k] &&
		             derive_cache_load(cw->dir, cw->keys[k], cw->s, cw->w->dm[k].m) == 0;
	return NULL;
}

/*
 * Fills from the cache what it holds (dm entries of models found there leave the work); keys[k]
 * gets each remaining model's key, to store its arrays once they are derived. The models' files
 * are read on as many threads as there are CPUs (each is checked and widened apart).
 */
static void derive_from_cache(struct study *s, const char *dir, struct derive_work *w, char **keys)
{
	uint64_t crc = derive_cache_labels_hash(s);
	for (size_t k = 0; k < w->n_dm; k++)
		keys[k] = w->dm[k].why ? NULL : derive_cache_key(s, w->dm[k].m, crc);
	struct cache_work cw = {.s = s, .dir = dir, .w = w, .keys = keys};
	cw.hit = xcalloc(w->n_dm ? w->n_dm : 1, sizeof *cw.hit);
	atomic_init(&cw.next, 0);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = cpus > 1 ? (size_t)cpus : 1;
	nt = nt < w->n_dm ? nt : (w->n_dm ? w->n_dm : 1);
	pthread_t tids[DERIVE_CACHE_THREADS];
	bool started[DERIVE_CACHE_THREADS] = {false};
	nt = nt < DERIVE_CACHE_THREADS ? nt : DERIVE_CACHE_THREADS;
	for (size_t t = 1; t < nt; t++)
		started[t] = pthread_create(&tids[t], NULL, cache_worker, &cw) == 0;
	cache_worker(&cw); /* this thread too, and what a failed start left */
	for (size_t t = 1; t < nt; t++)
		if (started[t])
			pthread_join(tids[t], NULL);
	size_t kept = 0;
	for (size_t k = 0; k < w->n_dm; k++) {
		if (cw.hit[k]) {
			w->dm[k].m->derived_cached = true;
			free(keys[k]);
			continue;
		}
		keys[kept] = keys[k];
		w->dm[kept++] = w->dm[k];
	}
	for (size_t k = kept; k < w->n_dm; k++)
		keys[k] = NULL;
	w->n_dm = kept;
	free(cw.hit);
}

/* Stores each derived model whose sources did not change while they were read. */
static void derive_to_cache(struct study *s, const char *dir, struct derive_work *w, char **keys)
{
	uint64_t crc = derive_cache_labels_hash(s);
	for (size_t k = 0; k < w->n_dm; k++) {
		struct model *m = w->dm[k].m;
		if (!keys[k] || !derive_cache_settled(m))
			continue;
		char *after = derive_cache_key(s, m, crc);
		if (after && strcmp(after, keys[k]) == 0)
			derive_cache_store(dir, keys[k], s, m);
		free(after);
	}
}

bool derive_values_f32(const struct model *m)
{
	const struct npy_header *h = &m->probs.h;
	return m->src == SRC_PROBS && (h->kind == NPY_FLOAT || h->kind == NPY_BFLOAT) &&
	       h->itemsize <= 4;
}

int derive_models(struct study *s, struct nn_err *err)
{
	size_t n = s->n;
	struct derive_work w = {
	    .s = s, .chunks_per_model = (n + DERIVE_CHUNK_ROWS - 1) / DERIVE_CHUNK_ROWS};
	w.dm = xcalloc(s->n_models ? s->n_models : 1, sizeof *w.dm);
	for (size_t k = 0; k < s->n_models; k++) {
		struct model *m = &s->models[k];
		if (m->src == SRC_PRED)
			continue;
		/* the narrowest types that give the derived values back exactly (study.h) */
		m->id_size = model_id_size(m->probs.cols);
		m->val_size = derive_values_f32(m) ? sizeof(float) : sizeof(double);
		w.dm[w.n_dm++] = (struct derive_model){.m = m, .bad_row = n, .fd = -1};
		if (m->probs.cols == 0) { /* refused at open; never index an empty row */
			w.dm[w.n_dm - 1].bad_row = 0;
			w.dm[w.n_dm - 1].why = "0 columns";
		}
	}
	char *dir = neurons_cache_dir();
	char **keys = xcalloc(w.n_dm ? w.n_dm : 1, sizeof *keys);
	if (dir)
		derive_from_cache(s, dir, &w, keys);
	for (size_t k = 0; k < w.n_dm; k++) { /* the models the cache did not answer for */
		model_derived_alloc(w.dm[k].m, n, w.dm[k].m->id_size, w.dm[k].m->val_size, true);
		if (!s->probs_again && probs_read_in_place(w.dm[k].m) &&
		    !npy_map_cheap(&w.dm[k].m->probs))
			w.dm[k].fd = npy_file_fd(&w.dm[k].m->probs);
	}
	pthread_mutex_init(&w.lock, NULL);
	atomic_init(&w.next, 0);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t items = w.n_dm * w.chunks_per_model;
	size_t nt = cpus > 1 ? (size_t)cpus : 1;
	nt = nt < items ? nt : (items ? items : 1);
	pthread_t *tids = xcalloc(nt, sizeof *tids);
	bool *started = xcalloc(nt, sizeof *started);
	for (size_t t = 1; t < nt; t++)
		started[t] = pthread_create(&tids[t], NULL, derive_worker, &w) == 0;
	derive_worker(&w); /* this thread works too, and finishes what a failed start left */
	for (size_t t = 1; t < nt; t++)
		if (started[t])
			pthread_join(tids[t], NULL);
	pthread_mutex_destroy(&w.lock);
	int rc = 0;
	for (size_t k = 0; k < w.n_dm && rc == 0; k++)
		if (w.dm[k].bad_row < n || w.dm[k].why)
			rc = nn_err_set(err, "%s: row %zu: %s", w.dm[k].m->src_path,
			                w.dm[k].bad_row, w.dm[k].why);
	if (rc == 0 && dir)
		derive_to_cache(s, dir, &w, keys);
	for (size_t k = 0; k < w.n_dm; k++) {
		free(keys[k]);
		if (w.dm[k].fd >= 0)
			close(w.dm[k].fd);
	}
	free(keys);
	free(dir);
	free(w.dm);
	free(tids);
	free(started);
	return rc;
}

void derive_relabel(struct study *s, size_t i)
{
	for (size_t k = 0; k < s->n_models; k++) {
		struct model *m = &s->models[k];
		if (m->src == SRC_PRED || !model_has_probs(m))
			continue;
		model_derived_writable(m);
		size_t c = m->probs.cols;
		double *row = xcalloc(c, sizeof *row);
		npy_row_f64(&m->probs, i, row);
		int32_t pred, rank;
		double conf, margin, p_label;
		const char *why;
		/* the row was valid at open, so this cannot fail on an unchanged file */
		if (derive_row(row, c, m->src == SRC_LOGITS, s->labels[i], &pred, &conf, &margin,
		               &p_label, &rank, &why) < 0) {
			model_set_p_label(m, i, NAN);
		} else {
			model_set_p_label(m, i, p_label);
			model_set_rank(m, i, rank);
		}
		free(row);
	}
}
