/* fuzz_graph.c — graph.json parsing (arch_parse_graph) and the folding of what it accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/arch.h"

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
	arch_free(&a);
	return 0;
}
