/*
 * colour.h — colour arithmetic for themes, with no curses and no state: parsing "#rrggbb", the
 * RGB value of each entry of xterm's default 256-colour palette, and the palette entry nearest to
 * a 24-bit colour for a terminal with 8, 16 or 256 colours. Colours are 0xRRGGBB in a uint32_t.
 */
#ifndef NNCMP_COLOUR_H
#define NNCMP_COLOUR_H

#include <stdint.h>

/* Parses "#rrggbb" (exactly six hex digits, either case) into *rgb; returns 0 or -1. */
int colour_parse_hex(const char *s, uint32_t *rgb);

/*
 * xterm's default RGB for palette index 0-255: the 16 ANSI colours, the 6x6x6 cube with levels
 * 0, 95, 135, 175, 215, 255, and the 24 greys 8, 18, ..., 238. Indices outside 0-255 give 0.
 */
uint32_t colour_index_rgb(int index);

/*
 * The palette index nearest to rgb (squared Euclidean distance in RGB; ties go to the lower
 * index) on a terminal with n_colours: 256 or more searches the cube and the greys (16-255, whose
 * values terminals rarely change), 16-255 the 16 ANSI colours, fewer the first max(n_colours, 1)
 * (8 gives the basic colours).
 */
int colour_nearest(uint32_t rgb, int n_colours);

#endif
