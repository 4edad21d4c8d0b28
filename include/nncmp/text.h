/*
 * text.h — making untrusted text (sample texts, ids, class, model and file names) safe to show.
 *
 * text_sanitize() returns a new string (caller frees) in which C0 and C1 control characters, DEL,
 * Unicode bidirectional overrides and isolates, and bytes that are not valid UTF-8 are replaced by
 * visible escapes (\e, \n, \t, \x9b, \u202e ...), so nothing from a data file can move the cursor,
 * change the title, write the clipboard or reorder what the terminal shows.
 * With `ascii`, every non-ASCII character is escaped too (for terminals whose locale is not UTF-8).
 */
#ifndef NNCMP_TEXT_H
#define NNCMP_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

char *text_sanitize(const char *s, bool ascii);
/* The same for a buffer of len bytes (which may hold NUL bytes). */
char *text_sanitize_n(const char *s, size_t len, bool ascii);
/*
 * A valid UTF-8 copy of s (caller frees) for JSON, which cannot hold anything else: each byte
 * that is not part of a valid UTF-8 sequence becomes the four characters \xHH, as
 * text_sanitize() writes it; everything else, control characters too, is kept.
 */
char *text_valid_utf8(const char *s);

/*
 * For text laid out over lines (the detail pane, the review queue): as text_sanitize, but each
 * line break ("\n" or "\r\n") stays one real "\n", and each tab becomes the spaces up to the
 * next multiple of `tab_cols` columns, counted from the start of its line (every character, escapes
 * included, counted as one column). Nothing else below 0x20 survives. Caller frees.
 */
char *text_sanitize_lines(const char *s, bool ascii, int tab_cols);

/*
 * For a one-line cell (the instance table): as text_sanitize, but each line break ("\n" or
 * "\r\n") becomes `line_mark` (trusted: "\u23ce", or "|" in ASCII) and each tab one space.
 * Caller frees.
 */
char *text_sanitize_one_line(const char *s, bool ascii, const char *line_mark);

/* ---- UTF-8 and display columns: the one decoder and width that the CLI and the TUI share ---- */

/*
 * Decodes the UTF-8 character at s (len bytes available) into *cp; returns its bytes, or 0 when
 * they are not valid UTF-8 (overlong, surrogate, above U+10FFFF, cut short) or len is 0.
 */
size_t text_utf8_decode(const char *s, size_t len, uint32_t *cp);
/* Display columns of a code point: wcwidth() under the current locale (so 2 for CJK), 1 for
 * ASCII and for what wcwidth does not know. */
int text_cp_width(uint32_t cp);
/* Display columns of a string (a byte that is not UTF-8 counts one); meant for sanitized text. */
int text_width(const char *s);
/* Bytes of the longest start of s that fits in width columns (never half a character); *cols
 * (may be NULL) gets its columns. */
size_t text_fit(const char *s, int width, int *cols);
/* True when the locale's codeset (LC_CTYPE, after setlocale) is UTF-8. */
bool text_locale_utf8(void);

#endif
