/*
 * termreply.h — parsing what a terminal answers to nncmp's probes, out of the bytes read from it.
 *
 * The probes are DA1 (CSI c; the reply is CSI ? Pp ; Pa ... c, and attribute 4 means sixel),
 * CSI 16 t (the cell size: CSI 6 ; height ; width t), CSI 14 t (the text area in pixels:
 * CSI 4 ; height ; width t), kitty's graphics query with image id 31 (the reply is the APC
 * ESC _ G i=31 ; OK ESC \, or an error text instead of OK), XTVERSION (CSI > 0 q; the reply is
 * the DCS ESC P > | name and version ESC \) and iTerm2's ReportCellSize (OSC 1337; the reply is
 * ESC ] 1337 ; ReportCellSize = height ; width [; scale] ended by ESC \ or BEL, in points).
 * The bytes read may also hold keys the user typed meanwhile, other
 * replies, garbage, and a reply cut in two by a read: termreply_parse() takes what it recognises
 * and hands every other byte back, in order, so that the caller decides what to do with them.
 * The parser is pure (no I/O, no allocation); the caller owns every buffer.
 */
#ifndef NNCMP_TERMREPLY_H
#define NNCMP_TERMREPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the replies said so far (zero-initialize it before the first call). */
struct termreply {
	bool da1;           /* a DA1 reply arrived */
	bool sixel;         /* ... and it listed attribute 4 */
	int da1_class;      /* its first parameter (62 = VT220, 64 = VT420, ...) */
	int cell_w, cell_h; /* from CSI 6 ; h ; w t, or 0 */
	int text_w, text_h; /* from CSI 4 ; h ; w t, or 0 */
	bool kitty;         /* a kitty graphics reply for image id 31 arrived */
	bool kitty_ok;      /* ... and it said OK (the terminal draws kitty images) */
	char version[64];   /* XTVERSION's name and version (printable ASCII only), or "" */
	int iterm_cell_w, iterm_cell_h; /* ReportCellSize in pixels (points × scale), or 0 */
};

/* The longest reply the parser waits for; a longer sequence is not a reply (its bytes pass
   through). */
#define TERMREPLY_MAX 128

/*
 * Scans buf[0..len): every complete reply updates *r; every byte that is not part of one is
 * appended to other[] (at most other_cap bytes; *n_other counts them, further bytes are
 * dropped). When the buffer ends inside what may still become a reply, that tail is left
 * unconsumed unless `final` is set (then it is passed through as other bytes). Returns the
 * number of bytes consumed: the caller keeps buf[ret..len) and prepends it to the next read.
 */
size_t termreply_parse(const uint8_t *buf, size_t len, bool final, struct termreply *r,
                       uint8_t *other, size_t other_cap, size_t *n_other);

#endif
