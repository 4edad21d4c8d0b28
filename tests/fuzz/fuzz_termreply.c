/* fuzz_termreply.c — the terminal reply parser: never reads out of bounds, consumes everything
   when final, and gives the same result however a read loop splits the bytes (the first byte
   chooses where). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/termreply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t split = data[0] % size;
	data++;
	size--;
	if (split > size)
		split = size;
	static uint8_t o1[1 << 16], o2[1 << 16];
	struct termreply r1 = {0}, r2 = {0};
	size_t n1 = 0, n2 = 0;
	if (termreply_parse(data, size, true, &r1, o1, sizeof o1, &n1) != size)
		abort();
	/* in two reads: what the first leaves unconsumed is prepended to the second */
	size_t used = termreply_parse(data, split, false, &r2, o2, sizeof o2, &n2);
	if (used > split)
		abort();
	if (termreply_parse(data + used, size - used, true, &r2, o2, sizeof o2, &n2) != size - used)
		abort();
	if (n1 != n2 || memcmp(o1, o2, n1) != 0 || memcmp(&r1, &r2, sizeof r1) != 0)
		abort();
	if (n1 > size || r1.cell_w < 0 || r1.cell_h < 0 || r1.text_w < 0 || r1.text_h < 0)
		abort();
	return 0;
}
