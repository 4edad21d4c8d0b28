/*
 * rng.h — a small, seedable random number generator (xoshiro256**) for reproducible resampling.
 * The state is a plain value owned by the caller; nothing is global.
 */
#ifndef NNCMP_RNG_H
#define NNCMP_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, 1). */
double rng_uniform(struct rng *r);
/* A Binomial(n, p) variate (inversion for small n·p, Hörmann's BTRS otherwise). */
int64_t rng_binomial(struct rng *r, int64_t n, double p);

#endif
