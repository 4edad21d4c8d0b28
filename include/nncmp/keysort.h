/*
 * keysort.h — stable sorting of instance indices by a double key, in linear time (an LSD radix
 * sort on the keys' bits), for the million-row rankings and column sorts that qsort made slow.
 */
#ifndef NNCMP_KEYSORT_H
#define NNCMP_KEYSORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Reorders idx[0 .. n) and keys[0 .. n) together (keys[k] is idx[k]'s key) by key, highest
 * first when desc. Stable: equal keys keep their order. -0.0 equals 0.0 (and comes back as
 * 0.0); NaN keys go last in either direction.
 */
void keysort(uint32_t *idx, double *keys, size_t n, bool desc);

/* keysort by values[idx[k]] (values indexed by instance), leaving values as they are. */
void keysort_by(uint32_t *idx, size_t n, const double *values, bool desc);

/* Reorders idx[0 .. n) ascending (a radix sort of the indices; nothing when already in order). */
void keysort_index(uint32_t *idx, size_t n);

#endif
