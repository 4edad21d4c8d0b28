/* fuzz_samples.c — samples.jsonl parsing, for a study of 4 instances. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/samples.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void free_strings(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	struct study s = {.n = 4};
	struct nn_err err;
	samples_parse(&s, f, "fuzz.jsonl", &err);
	fclose(f);
	free_strings(s.ids, s.n);
	free_strings(s.texts, s.n);
	free_strings(s.images, s.n);
	free_strings(s.splits, s.n);
	return 0;
}
