/*
 * npy_scan.c — counting a matrix's NaN and infinite values (npy_count_nonfinite, npy.h) on every
 * CPU, from the element bits: a value is not finite when its exponent bits are all ones, and NaN
 * when its mantissa is not zero besides. The order of the elements does not matter to a count, so
 * C and Fortran order are read alike, straight through the mapping.
 */
#include "nncmp/npy.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nncmp/fault.h"

/* Elements per work item: large enough to amortize taking it, small enough to share fairly. */
#define SCAN_CHUNK       ((size_t)1 << 20)
#define SCAN_MAX_THREADS 64

/*
 * With the sign cleared, a value is not finite when its bits are at least the exponent's (all
 * ones, mantissa 0: infinity) and NaN when they are above it: two compares. Each function counts
 * in LANES independent 32-bit accumulators over fixed-size groups, a loop that gcc -O2 turns into
 * vector code (its cheap cost model vectorizes a loop of known trip count, not an open one); a
 * chunk is far below 2^32 elements.
 */
#define LANES 16

struct counts {
	uint32_t nan, nonfinite;
};

/* The sign-cleared bits of element i, in this machine's order. */
static inline int32_t bits_2(const uint8_t *p, size_t i, bool swap)
{
	uint16_t v;
	memcpy(&v, p + 2 * i, 2);
	v = swap ? (uint16_t)(v << 8 | v >> 8) : v;
	return v & 0x7fff;
}

static inline int32_t bits_4(const uint8_t *p, size_t i, bool swap)
{
	uint32_t v;
	memcpy(&v, p + 4 * i, 4);
	v = swap ? __builtin_bswap32(v) : v;
	return (int32_t)(v & 0x7fffffffu);
}

static inline int64_t bits_8(const uint8_t *p, size_t i, bool swap)
{
	uint64_t v;
	memcpy(&v, p + 8 * i, 8);
	v = swap ? __builtin_bswap64(v) : v;
	return (int64_t)(v & 0x7fffffffffffffffu);
}

/* COUNT(name, bits, type): the function for one element width, swap hoisted out of the loop. */
#define COUNT_FN(name, bits, type)                                                                 \
	static inline struct counts name##_run(const uint8_t *p, size_t n, bool swap, type e)      \
	{                                                                                          \
		uint32_t a[LANES] = {0}, b[LANES] = {0};                                           \
		size_t i = 0;                                                                      \
		for (; i + LANES <= n; i += LANES)                                                 \
			for (size_t k = 0; k < LANES; k++) {                                       \
				type x = bits(p, i + k, swap);                                     \
				a[k] += x > e;                                                     \
				b[k] += x >= e;                                                    \
			}                                                                          \
		struct counts c = {0, 0};                                                          \
		for (; i < n; i++) {                                                               \
			type x = bits(p, i, swap);                                                 \
			c.nan += x > e;                                                            \
			c.nonfinite += x >= e;                                                     \
		}                                                                                  \
		for (size_t k = 0; k < LANES; k++) {                                               \
			c.nan += a[k];                                                             \
			c.nonfinite += b[k];                                                       \
		}                                                                                  \
		return c;                                                                          \
	}                                                                                          \
	NN_VECTOR_CLONES                                                                           \
	static struct counts name(const uint8_t *p, size_t n, bool swap, type e)                   \
	{                                                                                          \
		return swap ? name##_run(p, n, true, e) : name##_run(p, n, false, e);              \
	}

COUNT_FN(count_2, bits_2, int32_t)
COUNT_FN(count_4, bits_4, int32_t)
COUNT_FN(count_8, bits_8, int64_t)

struct scan_work {
	const uint8_t *data;
	size_t n, itemsize;
	bool swap, bf16;
	atomic_size_t next;
	atomic_size_t nan, inf;
	atomic_bool faulted;
};

static void *scan_worker(void *arg)
{
	struct scan_work *w = arg;
	struct fault_guard g;
	fault_push(&g);
	if (sigsetjmp(g.env, 1) != 0) {
		atomic_store(&w->faulted, true);
		return NULL;
	}
	for (size_t k; (k = atomic_fetch_add(&w->next, 1)) * SCAN_CHUNK < w->n;) {
		size_t i0 = k * SCAN_CHUNK, len = w->n - i0 < SCAN_CHUNK ? w->n - i0 : SCAN_CHUNK;
		const uint8_t *p = w->data + i0 * w->itemsize;
		/* bfloat16 has float32's exponent, float16 its own */
		struct counts c = w->itemsize == 2
		                      ? count_2(p, len, w->swap, w->bf16 ? 0x7f80 : 0x7c00)
		                  : w->itemsize == 4 ? count_4(p, len, w->swap, 0x7f800000)
		                                     : count_8(p, len, w->swap, 0x7ff0000000000000);
		atomic_fetch_add(&w->nan, c.nan);
		atomic_fetch_add(&w->inf, c.nonfinite - c.nan);
	}
	fault_pop(&g);
	return NULL;
}

/* One single-source matrix: its data block shared out among the CPUs. */
static int count_one(const struct npy *a, size_t *nan, size_t *inf, struct nn_err *err)
{
	struct scan_work w = {.data = a->data,
	                      .n = a->rows * a->cols,
	                      .itemsize = a->h.itemsize,
	                      .swap = a->h.swap,
	                      .bf16 = a->h.kind == NPY_BFLOAT};
	atomic_init(&w.next, 0);
	atomic_init(&w.nan, 0);
	atomic_init(&w.inf, 0);
	atomic_init(&w.faulted, false);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t chunks = (w.n + SCAN_CHUNK - 1) / SCAN_CHUNK;
	size_t nt = cpus > 1 ? (size_t)cpus : 1;
	nt = nt > SCAN_MAX_THREADS ? SCAN_MAX_THREADS : nt;
	nt = nt < chunks ? nt : (chunks ? chunks : 1);
	pthread_t tids[SCAN_MAX_THREADS];
	bool started[SCAN_MAX_THREADS] = {false};
	for (size_t t = 1; t < nt; t++)
		started[t] = pthread_create(&tids[t], NULL, scan_worker, &w) == 0;
	scan_worker(&w); /* this thread works too, and finishes what a failed start left */
	for (size_t t = 1; t < nt; t++)
		if (started[t])
			pthread_join(tids[t], NULL);
	if (atomic_load(&w.faulted))
		return nn_err_set(err, FAULT_CHANGED, a->path);
	*nan += atomic_load(&w.nan);
	*inf += atomic_load(&w.inf);
	return 0;
}

/*
 * A matrix read through a reader (a chunked HDF5 dataset) has no mapping to share out: its rows
 * are read in blocks as doubles (every float type widens exactly) and counted here. A block that
 * cannot be read is an error rather than NaN.
 */
static int count_reader(const struct npy *a, size_t *nan, size_t *inf, struct nn_err *err)
{
	const size_t cols = a->cols ? a->cols : 1;
	size_t per = ((size_t)1 << 17) / cols;
	per = per ? per : 1;
	double *buf = xreallocarray(NULL, per * cols, sizeof *buf);
	for (size_t r0 = 0; r0 < a->rows; r0 += per) {
		size_t nr = a->rows - r0 < per ? a->rows - r0 : per;
		for (size_t r = 0; r < nr; r++)
			npy_row_f64(a, r0 + r, buf + r * cols);
		for (size_t k = 0; k < nr * a->cols; k++) {
			*nan += isnan(buf[k]) != 0;
			*inf += isinf(buf[k]) != 0;
		}
	}
	free(buf);
	return npy_read_error(a, err);
}

int npy_count_nonfinite(const struct npy *a, size_t *nan, size_t *inf, struct nn_err *err)
{
	*nan = *inf = 0;
	if (a->h.kind != NPY_FLOAT && a->h.kind != NPY_BFLOAT)
		return 0;
	if (npy_contiguous(a))
		return count_one(a, nan, inf, err);
	if (a->reader)
		return count_reader(a, nan, inf, err);
	for (size_t k = 0; k < a->n_shards; k++)
		if ((a->shards[k].reader ? count_reader(&a->shards[k], nan, inf, err)
		                         : count_one(&a->shards[k], nan, inf, err)) < 0)
			return -1;
	return 0;
}
