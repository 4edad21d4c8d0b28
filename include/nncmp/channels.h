/*
 * channels.h — what the channels of a spatial layer do: activations stored (N, C, H, W) reduced
 * to each channel's spatial maximum per instance.
 *
 * channels_max_open() streams the layer in blocks of rows (npy_rows_f32: every dtype becomes
 * float32) and writes the N × C matrix of maxima, float32, to an unlinked temporary file in
 * $TMPDIR (else /tmp) that it maps as a struct npy: the neuron passes (neurons.h) then rank
 * channels exactly as they rank neurons, and neither the layer nor the maxima sit in the heap
 * (memory: one block of rows). The maximum ignores NaN (numpy.nanmax): NaN only when the
 * channel of that instance is all NaN; +inf stays and is left out downstream like any other
 * non-finite value.
 *
 * channels_top() reads one channel of every instance for `nncmp patches`: the k instances of
 * highest spatial maximum and where that maximum is.
 *
 * Ownership: *out of channels_max_open() is closed by the caller with npy_close() (its path is
 * "LAYER.npy (channel maxima)"); hits of channels_top() are freed with free(). The functions
 * are reentrant.
 */
#ifndef NNCMP_CHANNELS_H
#define NNCMP_CHANNELS_H

#include <stddef.h>
#include <stdint.h>

#include "nncmp/npy.h"
#include "nncmp/util.h"

/* Returns 0 when act is (N, C, H, W) with N, C, H, W > 0, else -1 with err naming the file. */
int channels_check(const struct npy *act, struct nn_err *err);

/*
 * Opens the N × C float32 matrix of act's channel maxima as *out, reading block_rows rows at a
 * time (0: about 1 MiB; tests make it small). Returns 0, or -1 with err set
 * (not 4-D, no temporary file, the layer changed on disk); on failure *out needs no close.
 */
int channels_max_open(const struct npy *act, size_t block_rows, struct npy *out,
                      struct nn_err *err);

struct channel_hit {
	uint32_t index; /* instance */
	float value;    /* its spatial maximum of the channel */
	uint32_t y, x;  /* first position of that maximum in C order (row y, column x) */
};

/*
 * The k (≥ 1) instances with the highest spatial maximum of channel c, highest first, ties by
 * lower index; instances whose channel is all NaN are never listed, so *n ≤ min(k, N). Rows are
 * read block_rows at a time as by channels_max_open(). *hits is
 * newly allocated (NULL when *n is 0). Returns 0, or -1 with err set.
 */
int channels_top(const struct npy *act, size_t c, size_t k, size_t block_rows,
                 struct channel_hit **hits, size_t *n, struct nn_err *err);

#endif
