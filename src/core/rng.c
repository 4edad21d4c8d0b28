/* rng.c — xoshiro256** seeded by splitmix64, and binomial variates. */
#include "nncmp/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double rng_uniform(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Inversion: walk the pmf from 0; for n·p below 10 this takes a handful of steps. */
static int64_t binomial_inversion(struct rng *r, int64_t n, double p)
{
	double q = 1.0 - p, s = p / q, a = (double)(n + 1) * s;
	double r0 = pow(q, (double)n);
	for (;;) {
		double u = rng_uniform(r), pr = r0;
		int64_t x = 0;
		while (u > pr) {
			u -= pr;
			x++;
			if (x > n)
				break;
			pr *= a / (double)x - s;
			if (pr <= 0)
				break;
		}
		if (x <= n && u <= pr)
			return x;
	}
}

/* Hörmann (1993), "The generation of binomial random variates": BTRS, for p <= 1/2, n·p >= 10. */
static int64_t binomial_btrs(struct rng *r, int64_t n, double p)
{
	double q = 1.0 - p, spq = sqrt((double)n * p * q);
	double b = 1.15 + 2.53 * spq, a = -0.0873 + 0.0248 * b + 0.01 * p;
	double c = (double)n * p + 0.5, v_r = 0.92 - 4.2 / b;
	double alpha = (2.83 + 5.1 / b) * spq, lpq = log(p / q);
	double m = floor((double)(n + 1) * p);
	double h = lgamma(m + 1) + lgamma((double)n - m + 1);
	for (;;) {
		double u = rng_uniform(r) - 0.5, v = rng_uniform(r);
		double us = 0.5 - fabs(u);
		double k = floor((2 * a / us + b) * u + c);
		if (k < 0 || k > (double)n)
			continue;
		if (us >= 0.07 && v <= v_r)
			return (int64_t)k;
		v = log(v * alpha / (a / (us * us) + b));
		if (v <= h - lgamma(k + 1) - lgamma((double)n - k + 1) + (k - m) * lpq)
			return (int64_t)k;
	}
}

int64_t rng_binomial(struct rng *r, int64_t n, double p)
{
	if (n <= 0 || p <= 0)
		return 0;
	if (p >= 1)
		return n;
	if (p > 0.5)
		return n - rng_binomial(r, n, 1.0 - p);
	if ((double)n * p < 10)
		return binomial_inversion(r, n, p);
	return binomial_btrs(r, n, p);
}
