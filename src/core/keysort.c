/*
 * keysort.c — LSD radix sort of (key, index) pairs. A double becomes a 64-bit integer that
 * orders the same way (the sign bit flipped for positives, every bit for negatives); 11-bit
 * digits take six passes over the pairs, and a digit on which all keys agree is skipped, so
 * scores in [0, 1] usually need four.
 */
#include "nncmp/keysort.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/util.h"

#define DIGIT_BITS 11
#define DIGITS     ((64 + DIGIT_BITS - 1) / DIGIT_BITS)
#define BUCKETS    (1u << DIGIT_BITS)

/* Below this, insertion by comparison is as fast and needs no buffers. */
#define SMALL_N 64

struct pair {
	uint64_t key;
	uint32_t idx;
};

/* x as an unsigned integer that sorts ascending as x does (NaN: the largest). */
static uint64_t order_bits(double x)
{
	if (isnan(x))
		return UINT64_MAX;
	if (x == 0)
		x = 0; /* -0.0 equals 0.0 */
	uint64_t u;
	memcpy(&u, &x, sizeof u);
	return u >> 63 ? ~u : u | (UINT64_C(1) << 63);
}

static double from_order_bits(uint64_t u)
{
	u = u >> 63 ? u & ~(UINT64_C(1) << 63) : ~u;
	double x;
	memcpy(&x, &u, sizeof x);
	return x;
}

/* Stable sort of p[0 .. n) by key, ascending; tmp holds n pairs. Returns where the result is. */
static struct pair *radix_pairs(struct pair *p, struct pair *tmp, size_t n)
{
	size_t(*count)[BUCKETS] = xcalloc(DIGITS, sizeof *count);
	for (size_t k = 0; k < n; k++)
		for (unsigned d = 0; d < DIGITS; d++)
			count[d][(p[k].key >> (d * DIGIT_BITS)) & (BUCKETS - 1)]++;
	for (unsigned d = 0; d < DIGITS; d++) {
		size_t *c = count[d], sum = 0;
		if (c[(p[0].key >> (d * DIGIT_BITS)) & (BUCKETS - 1)] == n)
			continue; /* every key has this digit */
		for (unsigned b = 0; b < BUCKETS; b++) {
			size_t v = c[b];
			c[b] = sum;
			sum += v;
		}
		for (size_t k = 0; k < n; k++)
			tmp[c[(p[k].key >> (d * DIGIT_BITS)) & (BUCKETS - 1)]++] = p[k];
		struct pair *t = p;
		p = tmp;
		tmp = t;
	}
	free(count);
	return p;
}

/* Insertion sort by key, ascending (stable), for short arrays. */
static void insertion_pairs(struct pair *p, size_t n)
{
	for (size_t k = 1; k < n; k++) {
		struct pair v = p[k];
		size_t m = k;
		for (; m > 0 && p[m - 1].key > v.key; m--)
			p[m] = p[m - 1];
		p[m] = v;
	}
}

/* Sorts p[0 .. n) by key, ascending and stable; returns the sorted array (p or a new one). */
static struct pair *sort_pairs(struct pair *p, size_t n, struct pair **spare)
{
	*spare = NULL;
	if (n <= SMALL_N) {
		insertion_pairs(p, n);
		return p;
	}
	*spare = xmalloc(n * sizeof **spare);
	return radix_pairs(p, *spare, n);
}

void keysort(uint32_t *idx, double *keys, size_t n, bool desc)
{
	if (n < 2)
		return;
	struct pair *p = xmalloc(n * sizeof *p), *spare;
	for (size_t k = 0; k < n; k++) {
		uint64_t u = order_bits(keys[k]);
		p[k] = (struct pair){desc && u != UINT64_MAX ? ~u : u, idx[k]}; /* NaN stays last */
	}
	struct pair *out = sort_pairs(p, n, &spare);
	for (size_t k = 0; k < n; k++) {
		uint64_t u = out[k].key;
		idx[k] = out[k].idx;
		keys[k] = u == UINT64_MAX ? NAN : from_order_bits(desc ? ~u : u);
	}
	free(p);
	free(spare);
}

void keysort_by(uint32_t *idx, size_t n, const double *values, bool desc)
{
	double *keys = xmalloc((n ? n : 1) * sizeof *keys);
	for (size_t k = 0; k < n; k++)
		keys[k] = values[idx[k]];
	keysort(idx, keys, n, desc);
	free(keys);
}

void keysort_index(uint32_t *idx, size_t n)
{
	size_t k = 1;
	while (k < n && idx[k - 1] <= idx[k])
		k++;
	if (k >= n)
		return; /* in order already (or fewer than two) */
	struct pair *p = xmalloc(n * sizeof *p), *spare;
	for (k = 0; k < n; k++)
		p[k] = (struct pair){idx[k], idx[k]};
	struct pair *out = sort_pairs(p, n, &spare);
	for (k = 0; k < n; k++)
		idx[k] = out[k].idx;
	free(p);
	free(spare);
}
