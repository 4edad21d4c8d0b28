/* fuzz_classes.c — classes.txt parsing (limits, empty and duplicate names, NUL bytes). */
#include <stdlib.h>
#include <string.h>

#include "nncmp/study.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct study s = {0};
	struct nn_err err;
	if (study_parse_classes(&s, (const char *)data, size, "classes.txt", &err) == 0) {
		/* every name is non-empty, without NUL or newline, and unique */
		for (size_t i = 0; i < s.n_classes; i++) {
			if (!s.classes[i][0] || strchr(s.classes[i], '\n'))
				abort();
			for (size_t j = 0; j < i && s.n_classes < 64; j++)
				if (strcmp(s.classes[i], s.classes[j]) == 0)
					abort();
		}
		for (size_t i = 0; i < s.n_classes; i++)
			free(s.classes[i]);
		free(s.classes);
	} else if (!err.msg[0]) {
		abort(); /* a refusal always says why */
	}
	return 0;
}
