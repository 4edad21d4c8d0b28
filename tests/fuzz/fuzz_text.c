/* fuzz_text.c — the sanitizer: output must hold no control characters, whatever comes in. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int ascii = 0; ascii < 2; ascii++) {
		char *out = text_sanitize_n((const char *)data, size, ascii);
		for (const unsigned char *p = (const unsigned char *)out; *p; p++) {
			if (*p < 0x20 || *p == 0x7f)
				abort();
			if (ascii && *p >= 0x80)
				abort();
			/* C1 controls as UTF-8 (U+0080..U+009F) must not survive */
			if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
				abort();
			/* nor bidi overrides U+202A..U+202E, U+2066..U+2069 */
			if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae)
				abort();
			if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)
				abort();
		}
		free(out);
	}
	return 0;
}
