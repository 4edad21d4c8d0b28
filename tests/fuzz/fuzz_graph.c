/*
 * fuzz_graph.c — graph.json parsing (arch_parse_graph), the folding of what it accepts, and the
 * receptive fields of its spatial layers (rfield_compute, rfield_region, rfield_box).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/arch.h"
#include "nncmp/rfield.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arch a;
	struct nn_err err;
	if (arch_parse_graph((const char *)data, size, "fuzz.json", &a, &err) != 0) {
		if (!memchr(err.msg, '\0', sizeof err.msg))
			abort(); /* the message must be a terminated string */
		return 0;
	}
	arch_fold(&a);
	size_t covered = 0;
	for (size_t b = 0; b < a.n_blocks; b++) {
		const struct arch_block *bk = &a.blocks[b];
		if (bk->start != covered || bk->len == 0 || bk->repeat == 0)
			abort(); /* blocks must cover the layers in order */
		for (size_t r = 1; r < bk->repeat; r++)
			for (size_t k = 0; k < bk->len; k++)
				if (!arch_same_layer(&a.layers[bk->start + k],
				                     &a.layers[bk->start + r * bk->len + k]))
					abort();
		covered += bk->len * bk->repeat;
	}
	if (covered != a.n_layers)
		abort();
	for (size_t i = 0; i < a.n_layers; i++)
		for (size_t k = 0; k < a.layers[i].n_inputs; k++)
			if (a.layers[i].inputs[k] < -1 || a.layers[i].inputs[k] >= (long)i)
				abort();
	/* the fields of the first spatial layers: regions inside the input, boxes on the image */
	for (size_t i = 0, tried = 0; i < a.n_layers && tried < 4; i++) {
		const struct arch_layer *ly = &a.layers[i];
		if (ly->ndim != 3 || ly->shape[1] == 0 || ly->shape[2] == 0)
			continue;
		tried++;
		struct rfield rf;
		rfield_compute(&a, ly->name, ly->shape[1], ly->shape[2], &rf);
		if (!memchr(rf.why, '\0', sizeof rf.why))
			abort();
		const size_t ys[2] = {0, ly->shape[1] - 1}, xs[2] = {0, ly->shape[2] - 1};
		for (int c = 0; c < 4; c++) {
			double frac[4];
			long in_box[4];
			int box[4];
			rfield_region(&rf, ys[c / 2], xs[c % 2], frac, in_box);
			rfield_box(&rf, ys[c / 2], xs[c % 2], 37, 23, box);
			if (box[0] < 0 || box[1] < 0 || box[2] <= box[0] || box[3] <= box[1])
				abort();
			if (rf.exact && (in_box[0] < 0 || in_box[1] < 0 || in_box[2] <= in_box[0] ||
			                 in_box[3] <= in_box[1] || in_box[2] > (long)rf.in[1] ||
			                 in_box[3] > (long)rf.in[0] || box[2] > 37 || box[3] > 23))
				abort();
		}
		rfield_free(&rf);
	}
	arch_free(&a);
	return 0;
}
