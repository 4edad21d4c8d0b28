/*
 * matrices.c — subset × neuron means, and the streaming helpers.
 *
 * The means take one of two paths to the same sums. The general one is design.md's GEMM: per
 * block of rows, Sᵀ·A with S the block's indicator matrix, which handles subsets that overlap
 * (several --filter rows). When the subsets form a partition — every instance in at most one,
 * always true for one subset per class — S is one-hot and the GEMM does R times the arithmetic
 * needed, so each row is added into its subset's sums directly instead (sums_partition), 3 to 4
 * times faster on 100 classes. Non-finite values are left out and counted the same way on both
 * paths; the means agree to rounding (tests/unit/test_matrices.c runs its fixtures through both).
 */
#include "nncmp/matrices.h"
#include "nncmp/matrices_internal.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/linalg.h"

#define BLOCK_ROWS   4096
#define BLOCK_FLOATS ((size_t)4 << 20) /* 16 MB of float32 per block buffer at most */
#define AHEAD        4                 /* sums_partition: rows prefetched ahead */

void matrices_subsets_add(struct matrices_subsets *s, const char *name, const uint32_t *idx,
                          size_t count)
{
	s->names = xreallocarray(s->names, s->n + 1, sizeof *s->names);
	s->idx = xreallocarray(s->idx, s->n + 1, sizeof *s->idx);
	s->count = xreallocarray(s->count, s->n + 1, sizeof *s->count);
	s->names[s->n] = xstrdup(name);
	s->idx[s->n] = xcalloc(count, sizeof(uint32_t));
	if (count)
		memcpy(s->idx[s->n], idx, count * sizeof(uint32_t));
	s->count[s->n] = count;
	s->n++;
}

void matrices_subsets_by_group(struct matrices_subsets *s, const int32_t *group, size_t n_groups,
                               const char *const *names, const uint32_t *sel, size_t n_sel)
{
	size_t base = s->n;
	size_t *count = xcalloc(n_groups, sizeof *count);
	for (size_t k = 0; k < n_sel; k++) {
		int32_t g = group[sel ? sel[k] : k];
		if (g >= 0 && (size_t)g < n_groups)
			count[g]++;
	}
	for (size_t g = 0; g < n_groups; g++) {
		matrices_subsets_add(s, names[g], NULL, 0);
		free(s->idx[base + g]);
		s->idx[base + g] = xcalloc(count[g], sizeof(uint32_t));
	}
	for (size_t k = 0; k < n_sel; k++) {
		size_t i = sel ? sel[k] : k;
		int32_t g = group[i];
		if (g >= 0 && (size_t)g < n_groups)
			s->idx[base + g][s->count[base + g]++] = (uint32_t)i;
	}
	free(count);
}

void matrices_subsets_free(struct matrices_subsets *s)
{
	for (size_t r = 0; r < s->n; r++) {
		free(s->names[r]);
		free(s->idx[r]);
	}
	free(s->names);
	free(s->idx);
	free(s->count);
	memset(s, 0, sizeof *s);
}

size_t matrices_block_rows(size_t cols)
{
	size_t rows = cols ? BLOCK_FLOATS / cols : BLOCK_ROWS;
	return rows > BLOCK_ROWS ? BLOCK_ROWS : rows ? rows : 1;
}

void matrices_read_rows(const struct npy *a, const uint32_t *idx, size_t k0, size_t nb, float *out)
{
	if (!idx) {
		npy_rows_f32(a, k0, nb, out);
		return;
	}
	size_t k = 0;
	while (k < nb) {
		size_t run = 1;
		while (k + run < nb && idx[k0 + k + run] == idx[k0 + k] + run)
			run++;
		npy_rows_f32(a, idx[k0 + k], run, out + k * a->cols);
		k += run;
	}
}

/*
 * The elementwise loops below work in chunks of CHUNK columns with a fixed inner trip count, which
 * GCC and Clang vectorize at -O2 (a loop of unknown length they leave scalar there).
 */
#define CHUNK 16

/* Bit 31 is set when the float with these bits is infinite or NaN (its exponent is all ones). */
static inline uint32_t nonfinite_bit(const float *v)
{
	uint32_t bits;
	memcpy(&bits, v, 4);
	return ((bits & 0x7f800000u) + 0x00800000u) & 0x80000000u;
}

bool matrices_finite(const float *v, size_t n)
{
	uint32_t acc[CHUNK] = {0}, bad = 0;
	size_t j = 0;
	for (; j + CHUNK <= n; j += CHUNK)
		for (size_t t = 0; t < CHUNK; t++)
			acc[t] |= nonfinite_bit(v + j + t);
	for (; j < n; j++)
		bad |= nonfinite_bit(v + j);
	for (size_t t = 0; t < CHUNK; t++)
		bad |= acc[t];
	return !bad;
}

bool matrices_progress_add(struct nn_progress *prog, size_t rows)
{
	if (!prog)
		return true;
	atomic_fetch_add_explicit(&prog->done, rows, memory_order_relaxed);
	return !atomic_load_explicit(&prog->cancel, memory_order_relaxed);
}

size_t matrices_shift(const struct npy *x, const struct npy *y, const uint32_t *idx, size_t n,
                      double *kx, double *ky)
{
	size_t hx = x->cols, hy = y ? y->cols : 0, want = n < BLOCK_ROWS ? n : BLOCK_ROWS, got = 0;
	float *rx = xcalloc(hx, sizeof *rx), *ry = xcalloc(hy, sizeof *ry);
	memset(kx, 0, hx * sizeof *kx);
	if (y)
		memset(ky, 0, hy * sizeof *ky);
	for (size_t s = 0; s < want; s++) {
		size_t k = (size_t)((double)s * (double)n / (double)want);
		matrices_read_rows(x, idx, k, 1, rx);
		if (!matrices_finite(rx, hx))
			continue;
		if (y) {
			matrices_read_rows(y, idx, k, 1, ry);
			if (!matrices_finite(ry, hy))
				continue;
			for (size_t j = 0; j < hy; j++)
				ky[j] += ry[j];
		}
		for (size_t j = 0; j < hx; j++)
			kx[j] += rx[j];
		got++;
	}
	/* rounded to float32, the precision the blocks are shifted in (a constant stays exact) */
	for (size_t j = 0; got && j < hx; j++)
		kx[j] = (float)(kx[j] / (double)got);
	for (size_t j = 0; got && j < hy; j++)
		ky[j] = (float)(ky[j] / (double)got);
	free(rx);
	free(ry);
	return got;
}

/* row −= k; s1 += row; s2 += row² (float32, elementwise). */
static void shift_row(float *restrict row, size_t cols, const float *restrict k, float *restrict s1,
                      float *restrict s2)
{
	size_t j = 0;
	for (; j + CHUNK <= cols; j += CHUNK)
		for (size_t t = 0; t < CHUNK; t++) {
			float d = row[j + t] - k[j + t];
			row[j + t] = d;
			s1[j + t] += d;
			s2[j + t] += d * d;
		}
	for (; j < cols; j++) {
		float d = row[j] - k[j];
		row[j] = d;
		s1[j] += d;
		s2[j] += d * d;
	}
}

void matrices_shift_block(float *block, size_t rows, size_t cols, const double *k, const bool *ok,
                          double *s1, double *s2)
{
	/* float32 sums over one block (at most 4096 rows of values near 0), then double */
	float *kf = xcalloc(3 * cols, sizeof *kf), *f1 = kf + cols, *f2 = kf + 2 * cols;
	for (size_t j = 0; j < cols; j++)
		kf[j] = (float)k[j];
	for (size_t r = 0; r < rows; r++) {
		float *row = block + r * cols;
		if (ok[r])
			shift_row(row, cols, kf, f1, f2);
		else
			memset(row, 0, cols * sizeof *row);
	}
	for (size_t j = 0; j < cols; j++) {
		if (s1)
			s1[j] += f1[j];
		if (s2)
			s2[j] += f2[j];
	}
	free(kf);
}

void matrices_shift_finish(size_t cols, size_t n, const double *k, const double *s1,
                           const double *s2, double *mean, double *m2)
{
	for (size_t j = 0; j < cols; j++) {
		double d = n ? s1[j] / (double)n : 0;
		if (mean)
			mean[j] = k[j] + d;
		if (m2) {
			double v = s2[j] - d * s1[j];
			m2[j] = v > 0 ? v : 0;
		}
	}
}

/* Checks that every list is strictly increasing and below n. */
static int check_subsets(const struct matrices_subsets *s, size_t n, struct nn_err *err)
{
	for (size_t r = 0; r < s->n; r++)
		for (size_t k = 0; k < s->count[r]; k++)
			if (s->idx[r][k] >= n || (k && s->idx[r][k] <= s->idx[r][k - 1]))
				return nn_err_set(err, "subset '%s': index %zu (%u) is %s",
				                  s->names[r], k, (unsigned)s->idx[r][k],
				                  s->idx[r][k] >= n ? "out of range"
				                                    : "not sorted");
	return 0;
}

/* The indicator matrix of block [r0, r0+b): S[g][i] = 1 when instance r0+i is in subset g. */
static bool block_indicator(const struct matrices_subsets *s, size_t *cursor, size_t r0, size_t b,
                            float *S, bool *member)
{
	bool any = false;
	memset(S, 0, s->n * b * sizeof *S);
	memset(member, 0, b * sizeof *member);
	for (size_t g = 0; g < s->n; g++) {
		size_t c = cursor[g];
		while (c < s->count[g] && s->idx[g][c] < r0 + b) {
			size_t i = s->idx[g][c++] - r0;
			S[g * b + i] = 1.0f;
			member[i] = true;
			any = true;
		}
		cursor[g] = c;
	}
	return any;
}

/*
 * Zeroes the non-finite values of the block so they add nothing to Sᵀ·A, and for the member rows
 * that held any, gathers their indicator columns into Ssub (R × B storage) and their non-finite
 * mask into inv (nbad × cols). Returns nbad; counts the member values into *nonfinite.
 */
static size_t block_nonfinite(float *A, size_t b, size_t cols, const float *S, size_t R,
                              const bool *member, float *Ssub, size_t ldsub, float *inv,
                              size_t *nonfinite)
{
	size_t nbad = 0;
	for (size_t i = 0; i < b; i++) {
		float *row = A + i * cols;
		if (matrices_finite(row, cols))
			continue;
		float *mask = member[i] ? inv + nbad * cols : NULL;
		for (size_t j = 0; j < cols; j++) {
			bool bad = !isfinite(row[j]);
			if (bad)
				row[j] = 0.0f;
			if (mask) {
				mask[j] = bad ? 1.0f : 0.0f;
				*nonfinite += bad;
			}
		}
		if (mask) {
			for (size_t g = 0; g < R; g++)
				Ssub[g * ldsub + nbad] = S[g * b + i];
			nbad++;
		}
	}
	return nbad;
}

/* Whether act is native C-order float32, aligned (as npy pads its header): read in place. */
static bool native_f32(const struct npy *act)
{
	return npy_contiguous(act) && act->h.kind == NPY_FLOAT && act->h.itemsize == 4 &&
	       !act->h.swap && (!act->h.fortran || act->cols == 1) &&
	       (uintptr_t)act->data % sizeof(float) == 0;
}

/*
 * The general path: per block, sum += Sᵀ·A and miss += Sᵀ·M (M the block's non-finite mask,
 * multiplied only for the rows that have such values). Returns 0, or -1 when cancelled.
 */
static int sums_gemm(const struct npy *act, const struct matrices_subsets *subsets,
                     struct nn_progress *prog, double *sum, double *miss, size_t *nonfinite)
{
	size_t N = act->rows, H = act->cols, R = subsets->n, cells = R * H;
	size_t block = matrices_block_rows(H > R ? H : R);
	float *tmp = xcalloc(cells, sizeof *tmp);
	float *A = xcalloc(block * H, sizeof *A);
	float *inv = xcalloc(block * H, sizeof *inv);
	float *S = xcalloc(R * block, sizeof *S);
	float *Ssub = xcalloc(R * block, sizeof *Ssub);
	bool *member = xcalloc(block, sizeof *member);
	size_t *cursor = xcalloc(R, sizeof *cursor);
	int rc = 0;
	/* an all-finite block of native float32 goes to BLAS from the mapping, saving a copy */
	bool direct = native_f32(act);
	for (size_t r0 = 0; r0 < N && R && H; r0 += block) {
		size_t b = N - r0 < block ? N - r0 : block;
		if (block_indicator(subsets, cursor, r0, b, S, member)) {
			const float *src =
			    direct ? (const float *)(const void *)act->data + r0 * H : NULL;
			size_t nbad = 0;
			if (!src || !matrices_finite(src, b * H)) {
				npy_rows_f32(act, r0, b, A);
				nbad = block_nonfinite(A, b, H, S, R, member, Ssub, block, inv,
				                       nonfinite);
				src = A;
			}
			linalg_sgemm(false, false, R, H, b, 1.0f, S, b, src, H, 0.0f, tmp, H);
			for (size_t c = 0; c < cells; c++)
				sum[c] += tmp[c];
			if (nbad) {
				linalg_sgemm(false, false, R, H, nbad, 1.0f, Ssub, block, inv, H,
				             0.0f, tmp, H);
				for (size_t c = 0; c < cells; c++)
					miss[c] += tmp[c];
			}
		}
		if (!matrices_progress_add(prog, b)) {
			rc = -1;
			break;
		}
	}
	free(tmp);
	free(A);
	free(inv);
	free(S);
	free(Ssub);
	free(member);
	free(cursor);
	return rc;
}

/* True when no instance is in two subsets (as with one subset per class). */
static bool is_partition(const struct matrices_subsets *s, size_t n)
{
	uint64_t *seen = xcalloc(n / 64 + 1, sizeof *seen);
	bool ok = true;
	for (size_t r = 0; ok && r < s->n; r++)
		for (size_t k = 0; ok && k < s->count[r]; k++) {
			uint32_t i = s->idx[r][k];
			uint64_t bit = (uint64_t)1 << (i % 64);
			ok = !(seen[i / 64] & bit);
			seen[i / 64] |= bit;
		}
	free(seen);
	return ok;
}

/* The subset of each row of block [r0, r0+b) in owner[b] (SIZE_MAX: none); false if none has. */
static bool block_owners(const struct matrices_subsets *s, size_t *cursor, size_t r0, size_t b,
                         size_t *owner)
{
	bool any = false;
	for (size_t i = 0; i < b; i++)
		owner[i] = SIZE_MAX;
	for (size_t g = 0; g < s->n; g++) {
		size_t c = cursor[g];
		while (c < s->count[g] && s->idx[g][c] < r0 + b) {
			owner[s->idx[g][c++] - r0] = g;
			any = true;
		}
		cursor[g] = c;
	}
	return any;
}

/* Adds the finite values of row[cols] to sum, counts the others into miss; returns how many. */
static size_t add_finite(double *sum, double *miss, const float *row, size_t cols)
{
	size_t bad = 0;
	for (size_t j = 0; j < cols; j++) {
		if (isfinite(row[j])) {
			sum[j] += row[j];
		} else {
			miss[j] += 1;
			bad++;
		}
	}
	return bad;
}

/* As add_finite(), a chunk at a time: one read of the row, and tests only for a whole chunk. */
static size_t add_row(double *restrict sum, double *restrict miss, const float *restrict row,
                      size_t cols)
{
	size_t bad = 0, j = 0;
	for (; j + CHUNK <= cols; j += CHUNK) {
		uint32_t acc[CHUNK], any = 0;
		for (size_t t = 0; t < CHUNK; t++)
			acc[t] = nonfinite_bit(row + j + t);
		for (size_t t = 0; t < CHUNK; t++)
			any |= acc[t];
		if (any) {
			bad += add_finite(sum + j, miss + j, row + j, CHUNK);
			continue;
		}
		for (size_t t = 0; t < CHUNK; t++)
			sum[j + t] += row[j + t];
	}
	return bad + add_finite(sum + j, miss + j, row + j, cols - j);
}

/*
 * The partition path: each member row is added into its own subset's sums, in double. The same
 * sums as sums_gemm() (up to rounding, which is finer here: no float32 partial sums), at a
 * fraction of the cost: with one-hot columns the GEMM multiplies R times more zeros than it adds
 * values (1M × 512 float32, 100 classes, 2 CPUs: `nncmp matrix --rows class` takes 0.27 s this
 * way, 0.9 s by the GEMM). Returns 0, or -1 when cancelled.
 */
static int sums_partition(const struct npy *act, const struct matrices_subsets *subsets,
                          struct nn_progress *prog, double *sum, double *miss, size_t *nonfinite)
{
	size_t N = act->rows, H = act->cols, R = subsets->n;
	size_t block = matrices_block_rows(H);
	bool direct = native_f32(act);
	float *A = direct ? NULL : xcalloc(block * H, sizeof *A);
	size_t *owner = xcalloc(block, sizeof *owner);
	size_t *cursor = xcalloc(R, sizeof *cursor);
	int rc = 0;
	for (size_t r0 = 0; r0 < N && R && H; r0 += block) {
		size_t b = N - r0 < block ? N - r0 : block;
		if (block_owners(subsets, cursor, r0, b, owner)) {
			const float *src = A;
			if (direct)
				src = (const float *)(const void *)act->data + r0 * H;
			else
				npy_rows_f32(act, r0, b, A);
			for (size_t i = 0; i < b; i++) {
				if (owner[i] == SIZE_MAX)
					continue;
				const float *row = src + i * H;
				/* hardware prefetchers stop at page boundaries, and rows
				 * are often half a page or more: fetch ahead explicitly */
				if (i + AHEAD < b && owner[i + AHEAD] != SIZE_MAX)
					for (size_t j = 0; j < H; j += 64 / sizeof *row)
						__builtin_prefetch(row + AHEAD * H + j);
				size_t c0 = owner[i] * H;
				*nonfinite += add_row(sum + c0, miss + c0, row, H);
			}
		}
		if (!matrices_progress_add(prog, b)) {
			rc = -1;
			break;
		}
	}
	free(A);
	free(owner);
	free(cursor);
	return rc;
}

int matrices_means_path(const struct npy *act, const struct matrices_subsets *subsets,
                        enum matrices_path path, struct nn_progress *prog,
                        struct matrices_means *out, struct nn_err *err)
{
	memset(out, 0, sizeof *out);
	size_t N = act->rows, H = act->cols, R = subsets->n, cells;
	if (check_subsets(subsets, N, err) != 0)
		return -1;
	if (size_mul(R, H, &cells) != 0)
		return nn_err_set(err, "%zu subsets × %zu neurons is too large", R, H);
	bool partition = is_partition(subsets, N);
	if (path == MATRICES_PARTITION && !partition)
		return nn_err_set(err, "the subsets overlap: they are not a partition");
	if (path == MATRICES_AUTO)
		path = partition ? MATRICES_PARTITION : MATRICES_GEMM;
	double *sum = xcalloc(cells, sizeof *sum);
	double *miss = xcalloc(cells, sizeof *miss);
	if (prog)
		atomic_store(&prog->total, N);
	size_t nonfinite = 0;
	int rc = path == MATRICES_PARTITION
	             ? sums_partition(act, subsets, prog, sum, miss, &nonfinite)
	             : sums_gemm(act, subsets, prog, sum, miss, &nonfinite);
	if (rc != 0 || npy_read_error(act, err) < 0) {
		free(sum);
		free(miss);
		return rc != 0 ? nn_err_set(err, "cancelled") : -1;
	}
	out->rows = R;
	out->cols = H;
	out->mean = sum;
	out->nonfinite = nonfinite;
	out->size = xcalloc(R, sizeof *out->size);
	out->valid = xcalloc(cells, sizeof *out->valid);
	for (size_t g = 0; g < R; g++) {
		out->size[g] = subsets->count[g];
		for (size_t j = 0; j < H; j++) {
			size_t c = g * H + j;
			out->valid[c] = subsets->count[g] - (size_t)miss[c];
			sum[c] = out->valid[c] ? sum[c] / (double)out->valid[c] : NAN;
		}
	}
	free(miss);
	return 0;
}

int matrices_means(const struct npy *act, const struct matrices_subsets *subsets,
                   struct nn_progress *prog, struct matrices_means *out, struct nn_err *err)
{
	return matrices_means_path(act, subsets, MATRICES_AUTO, prog, out, err);
}

void matrices_means_free(struct matrices_means *m)
{
	free(m->mean);
	free(m->size);
	free(m->valid);
	memset(m, 0, sizeof *m);
}

struct order_item {
	double v;
	uint32_t j;
};

static int order_cmp(const void *pa, const void *pb)
{
	const struct order_item *a = pa, *b = pb;
	bool an = isnan(a->v), bn = isnan(b->v);
	if (an != bn)
		return an ? 1 : -1;
	if (!an && a->v != b->v)
		return a->v > b->v ? -1 : 1;
	return (a->j > b->j) - (a->j < b->j);
}

void matrices_order(const struct matrices_means *m, size_t row, uint32_t *order)
{
	struct order_item *it = xcalloc(m->cols, sizeof *it);
	for (size_t j = 0; j < m->cols; j++)
		it[j] = (struct order_item){m->mean[row * m->cols + j], (uint32_t)j};
	qsort(it, m->cols, sizeof *it, order_cmp);
	for (size_t j = 0; j < m->cols; j++)
		order[j] = it[j].j;
	free(it);
}
