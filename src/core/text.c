/* text.c — visible escapes for untrusted text; UTF-8 decoding, display width, the locale. */
#include "nncmp/text.h"

#include <langinfo.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "nncmp/util.h"

struct buf {
	char *p;
	size_t n, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		while (b->n + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 64;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, v = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

static bool is_bidi_control(uint32_t cp)
{
	return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e ||
	       cp == 0x200f || cp == 0x061c;
}

/* How line breaks and tabs come out: escaped, laid out over lines, or marked in one line. */
struct layout {
	enum { LAYOUT_ESCAPE, LAYOUT_LINES, LAYOUT_ONE_LINE } mode;
	int tab;          /* LAYOUT_LINES: tab stops every `tab` columns */
	const char *mark; /* LAYOUT_ONE_LINE: what a line break becomes */
};

/* Columns since the last line break of what b holds (each character one column). */
static int line_cols(const struct buf *b)
{
	int cols = 0;
	for (size_t k = b->n; k > 0 && b->p[k - 1] != '\n'; k--)
		cols += ((unsigned char)b->p[k - 1] & 0xc0) != 0x80;
	return cols;
}

static char *sanitize(const char *s, size_t len, bool ascii, const struct layout *lay)
{
	struct buf b = {0};
	put(&b, "", 0);
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(p + i, len - i, &cp);
		char esc[16];
		if (n == 0) {
			snprintf(esc, sizeof esc, "\\x%02x", p[i]);
			put(&b, esc, strlen(esc));
			i++;
			continue;
		}
		bool crlf = cp == '\r' && i + 1 < len && p[i + 1] == '\n';
		if (lay->mode != LAYOUT_ESCAPE && (cp == '\n' || crlf)) {
			if (lay->mode == LAYOUT_LINES)
				put(&b, "\n", 1);
			else
				put(&b, lay->mark, strlen(lay->mark));
			i += crlf ? 2 : 1;
			continue;
		}
		if (lay->mode != LAYOUT_ESCAPE && cp == '\t') {
			int spaces = 1;
			if (lay->mode == LAYOUT_LINES && lay->tab > 0)
				spaces = lay->tab - line_cols(&b) % lay->tab;
			for (int k = 0; k < spaces; k++)
				put(&b, " ", 1);
			i++;
			continue;
		}
		if (cp < 0x20 || cp == 0x7f) {
			const char *named = cp == '\n'   ? "\\n"
			                    : cp == '\t' ? "\\t"
			                    : cp == '\r' ? "\\r"
			                    : cp == 0x1b ? "\\e"
			                                 : NULL;
			if (named)
				put(&b, named, 2);
			else {
				snprintf(esc, sizeof esc, "\\x%02x", (unsigned)cp);
				put(&b, esc, strlen(esc));
			}
		} else if ((cp >= 0x80 && cp <= 0x9f) || is_bidi_control(cp) ||
		           (ascii && cp >= 0x80)) {
			snprintf(esc, sizeof esc, cp > 0xffff ? "\\U%08x" : "\\u%04x",
			         (unsigned)cp);
			put(&b, esc, strlen(esc));
		} else {
			put(&b, (const char *)p + i, n);
		}
		i += n;
	}
	return b.p;
}

char *text_sanitize_n(const char *s, size_t len, bool ascii)
{
	const struct layout lay = {.mode = LAYOUT_ESCAPE};
	return sanitize(s, len, ascii, &lay);
}

char *text_sanitize_lines(const char *s, bool ascii, int tab_cols)
{
	const struct layout lay = {.mode = LAYOUT_LINES, .tab = tab_cols};
	return sanitize(s, strlen(s), ascii, &lay);
}

char *text_sanitize_one_line(const char *s, bool ascii, const char *line_mark)
{
	const struct layout lay = {.mode = LAYOUT_ONE_LINE, .mark = line_mark};
	return sanitize(s, strlen(s), ascii, &lay);
}

char *text_sanitize(const char *s, bool ascii)
{
	return text_sanitize_n(s, strlen(s), ascii);
}

char *text_valid_utf8(const char *s)
{
	struct buf b = {0};
	put(&b, "", 0);
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s);
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(p + i, len - i, &cp);
		if (n == 0) {
			char esc[8];
			snprintf(esc, sizeof esc, "\\x%02x", p[i]);
			put(&b, esc, 4);
			i++;
		} else {
			put(&b, (const char *)p + i, n);
			i += n;
		}
	}
	return b.p;
}

size_t text_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
	return len ? utf8_decode((const unsigned char *)s, len, cp) : 0;
}

int text_cp_width(uint32_t cp)
{
	if (cp < 0x80)
		return 1;
	int w = wcwidth((wchar_t)cp);
	return w < 0 ? 1 : w;
}

/* The code point and columns of the character at s (len bytes left); returns its bytes. */
static size_t char_at(const char *s, size_t len, int *cols)
{
	uint32_t cp;
	size_t n = utf8_decode((const unsigned char *)s, len, &cp);
	if (n == 0) { /* a byte that is not UTF-8: one column, as its escape starts */
		*cols = 1;
		return 1;
	}
	*cols = text_cp_width(cp);
	return n;
}

int text_width(const char *s)
{
	int cols = 0, w;
	for (size_t len = strlen(s), k = 0; k < len;) {
		k += char_at(s + k, len - k, &w);
		cols += w;
	}
	return cols;
}

size_t text_fit(const char *s, int width, int *cols)
{
	size_t len = strlen(s), k = 0;
	int used = 0, w;
	while (k < len) {
		size_t n = char_at(s + k, len - k, &w);
		if (used + w > width)
			break;
		used += w;
		k += n;
	}
	if (cols)
		*cols = used;
	return k;
}

bool text_locale_utf8(void)
{
	const char *cs = nl_langinfo(CODESET);
	return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}
