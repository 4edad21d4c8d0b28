/* fuzz_manifest.c — study.ini parsing (inih plus our handler). */
#include <stdlib.h>
#include <string.h>

#include "nncmp/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	struct manifest mf;
	struct nn_err err;
	manifest_init(&mf);
	manifest_parse(&mf, text, "fuzz.ini", "/nonexistent", &err);
	manifest_free(&mf);
	free(text);
	return 0;
}
