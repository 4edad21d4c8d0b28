/* fuzz_labels_csv.c — labels.csv parsing (libcsv plus our label resolution). */
#include <stdlib.h>
#include <string.h>

#include "nncmp/samples.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* with and without class names known beforehand */
	for (int with_classes = 0; with_classes < 2; with_classes++) {
		struct study s = {0};
		if (with_classes) {
			s.n_classes = 2;
			s.classes = calloc(2, sizeof *s.classes);
			s.classes[0] = strdup("neg");
			s.classes[1] = strdup("pos");
		}
		struct nn_err err;
		samples_parse_labels_csv(&s, (const char *)data, size, "fuzz.csv", &err);
		for (size_t i = 0; i < s.n_classes; i++)
			free(s.classes[i]);
		free(s.classes);
		free(s.labels);
		strvec_free(&s.warnings);
	}
	return 0;
}
