/* fuzz_termreply.c — the terminal reply parser: never reads out of bounds, consumes everything
   when final, and gives the same result however a read loop splits the bytes (the first byte
   chooses where); what it keeps (XTVERSION's name, the cell sizes) stays in range, and
   gfx_choose() on it always names a mode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/termgfx.h"
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
	if (n1 > size || r1.cell_w < 0 || r1.cell_h < 0 || r1.text_w < 0 || r1.text_h < 0 ||
	    r1.iterm_cell_w < 0 || r1.iterm_cell_h < 0 || (r1.kitty_ok && !r1.kitty))
		abort();
	size_t vlen = strnlen(r1.version, sizeof r1.version);
	if (vlen == sizeof r1.version)
		abort();
	for (size_t k = 0; k < vlen; k++)
		if (r1.version[k] < 0x20 || r1.version[k] > 0x7e)
			abort();
	/* the split byte's bits stand for the environment */
	struct gfx_hints h = {.in_tmux = split & 1,
	                      .passthrough = split & 2,
	                      .term_program = split & 4 ? "iTerm.app" : NULL,
	                      .lc_terminal = split & 8 ? "iTerm2" : NULL};
	char why[160];
	enum gfx_mode m = gfx_choose(&r1, &h, why, sizeof why);
	if (m < GFX_BLOCKS || m > GFX_ITERM || !why[0] || (h.in_tmux && m > GFX_SIXEL))
		abort();
	return 0;
}
