/*
 * rfield.h — the receptive field of a spatial layer: which pixels of the model's input affect
 * one position of the layer's output (nncmp patches, the TUI's patches view).
 *
 * From graph.json (arch.h) when it has the kernel, stride, padding and dilation of every
 * convolution and pooling from the input up to the layer, the input's shape, and output shapes
 * that agree with them (what torch gives, floor or ceil mode); along each dimension, with the
 * input as j = 1, r = 1, s = 0 and each layer of kernel k, stride t, padding p, dilation d:
 *
 *   j' = j·t            (input pixels between neighbouring positions)
 *   r' = r + (k−1)·d·j  (pixels the field spans)
 *   s' = s − p·j        (the first pixel of position 0; negative: in the padding)
 *
 * so position i of the layer spans pixels s + i·j .. s + i·j + r − 1. Not all of them need
 * reach it: a dilated kernel has holes, and at the border its outer taps may fall into the
 * padding, so the region of one position (rfield_region) is the bounding box of the pixels that
 * do reach it, found by carrying the position's indices back through every layer along each
 * dimension (index i of a layer reads i·t − p + u·d, u < k, of its input); inside the input it
 * is the span above, at the border that span clipped and tightened to the taps that land.
 * (For layers too large to carry indices through, over RFIELD_WORK taps, the span is only
 * clipped.)
 * A layer with several inputs takes the union of their fields (same spacing required);
 * elementwise layers (activations, BatchNorm, Dropout, Identity) change nothing. Anything else
 * on the way (a Linear, an upsampling, a normalisation over space, a shape graph.json does not
 * explain) leaves the field unknown, and the region is the feature-map cell scaled to the
 * image, with the reason said.
 *
 * A struct rfield owns its steps until rfield_free(); it does not borrow from the arch.
 */
#ifndef NNCMP_RFIELD_H
#define NNCMP_RFIELD_H

#include <stdbool.h>
#include <stddef.h>

#include "nncmp/arch.h"
#include "nncmp/study.h"
#include "nncmp/util.h"

#define RFIELD_WORK ((size_t)1 << 26)

/* One layer between the input and the layer, per dimension (0: rows, 1: columns). */
struct rfield_step {
	bool kernel; /* a convolution or pooling; else elementwise */
	size_t k[2], s[2], p[2], d[2];
	size_t out[2]; /* its output's size */
	size_t n_inputs;
	long *inputs; /* earlier steps; -1 is the model's input */
};

struct rfield {
	bool exact;     /* from graph.json; false: the cell scaled (why says why) */
	size_t in[2];   /* the model input's height and width */
	long start[2];  /* first input row, column of position (0, 0)'s span (may be < 0) */
	size_t jump[2]; /* rows, columns between neighbouring positions */
	size_t size[2]; /* rows, columns the span covers */
	size_t out[2];  /* the layer's height and width */
	char why[256];  /* !exact: the reason, one line (may hold graph.json's names raw) */
	size_t n_steps; /* when exact: the layers it depends on, the last one the layer */
	struct rfield_step *steps;
	bool tight[2]; /* carrying indices back is cheap enough (else: the span clipped) */
};

/*
 * The receptive field of layer's positions in *a, for activations of h × w positions. Never
 * fails: rf->exact says whether it could be computed. Free *rf with rfield_free().
 */
void rfield_compute(const struct arch *a, const char *layer, size_t h, size_t w, struct rfield *rf);
/*
 * The same for layer of model m of study s (its graph.json, if any; act its (N, C, H, W)
 * activations). Returns 0, or -1 with err naming graph.json when that file is unreadable or
 * malformed (rf then holds the scaled region and why the message).
 */
int rfield_for_layer(const struct study *s, const struct model *m, const char *layer,
                     const struct npy *act, struct rfield *rf, struct nn_err *err);
void rfield_free(struct rfield *rf);
/*
 * Position (y, x)'s region as fractions of the input (exact) or of the feature map (scaled):
 * frac = x0, y0, x1, y1, the end exclusive. in_box (may be NULL) gets the same in input pixels,
 * clipped, when rf->exact.
 */
void rfield_region(const struct rfield *rf, size_t y, size_t x, double frac[4], long in_box[4]);
/*
 * The region on an image of iw × ih pixels: x0, y0, x1, y1 (end exclusive, at least one pixel).
 * Exact: the input box scaled to the image (the same pixels when the image is the input's size;
 * floor for starts, ceil for ends). Scaled: x0 = floor(x·iw/W), x1 = max(floor((x+1)·iw/W),
 * x0+1), likewise y.
 */
void rfield_box(const struct rfield *rf, size_t y, size_t x, int iw, int ih, int box[4]);

#endif
