/* colour.c — the xterm palette and nearest-colour search (see colour.h). */
#include "nncmp/colour.h"

#include <stddef.h>

/* xterm's defaults for the 16 ANSI colours (XTerm-col.ad). */
static const uint32_t ansi16[16] = {0x000000, 0xcd0000, 0x00cd00, 0xcdcd00, 0x0000ee, 0xcd00cd,
                                    0x00cdcd, 0xe5e5e5, 0x7f7f7f, 0xff0000, 0x00ff00, 0xffff00,
                                    0x5c5cff, 0xff00ff, 0x00ffff, 0xffffff};

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int colour_parse_hex(const char *s, uint32_t *rgb)
{
	if (!s || s[0] != '#')
		return -1;
	uint32_t v = 0;
	for (int i = 1; i <= 6; i++) {
		int d = hex_digit(s[i]);
		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	if (s[7] != '\0')
		return -1;
	*rgb = v;
	return 0;
}

uint32_t colour_index_rgb(int index)
{
	if (index < 0 || index > 255)
		return 0;
	if (index < 16)
		return ansi16[index];
	if (index >= 232) {
		uint32_t g = (uint32_t)(8 + 10 * (index - 232));
		return g << 16 | g << 8 | g;
	}
	int v = index - 16, c[3] = {v / 36, (v / 6) % 6, v % 6};
	uint32_t out = 0;
	for (int i = 0; i < 3; i++)
		out = out << 8 | (uint32_t)(c[i] ? 55 + 40 * c[i] : 0);
	return out;
}

static uint32_t dist2(uint32_t a, uint32_t b)
{
	uint32_t d = 0;
	for (int shift = 0; shift <= 16; shift += 8) {
		int x = (int)(a >> shift & 0xff) - (int)(b >> shift & 0xff);
		d += (uint32_t)(x * x);
	}
	return d;
}

int colour_nearest(uint32_t rgb, int n_colours)
{
	int lo = 0, hi;
	if (n_colours >= 256)
		lo = 16, hi = 256;
	else if (n_colours >= 16)
		hi = 16;
	else
		hi = n_colours < 1 ? 1 : n_colours;
	int best = lo;
	uint32_t best_d = UINT32_MAX;
	for (int i = lo; i < hi; i++) {
		uint32_t d = dist2(rgb & 0xffffff, colour_index_rgb(i));
		if (d < best_d) {
			best_d = d;
			best = i;
		}
	}
	return best;
}
