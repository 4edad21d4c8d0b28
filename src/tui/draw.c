/*
 * draw.c — putting text on the screen safely: every string from a data file is sanitized
 * (text_sanitize) and clipped by display columns (wcwidth) so a wide character or an escape
 * sequence can neither break a pane's edge nor reach the terminal raw.
 */
#include "tui_int.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "nncmp/text.h"

/* Decodes one character of s (UTF-8 or ASCII) into *wc; returns its byte length (>= 1). */
static size_t next_char(const char *s, wchar_t *wc, int *width)
{
	mbstate_t st;
	memset(&st, 0, sizeof st);
	size_t n = mbrtowc(wc, s, MB_CUR_MAX, &st);
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
		*wc = L'?';
		*width = 1;
		return 1;
	}
	int w = wcwidth(*wc);
	*width = w < 0 ? 1 : w;
	return n;
}

int text_cols(const char *text)
{
	int cols = 0;
	for (const char *p = text; *p;) {
		wchar_t wc;
		int w;
		p += next_char(p, &wc, &w);
		cols += w;
	}
	return cols;
}

int draw_safe(const struct app *app, WINDOW *w, int y, int x, int maxcols, const char *text,
              attr_t attr, bool fill)
{
	if (maxcols <= 0)
		return 0;
	int cols = 0, total = text_cols(text);
	const char *p = text;
	size_t bytes = 0;
	/* when the text does not fit, keep one column for an ellipsis */
	int room = total > maxcols ? maxcols - 1 : maxcols;
	while (p[bytes]) {
		wchar_t wc;
		int cw;
		size_t n = next_char(p + bytes, &wc, &cw);
		if (cols + cw > room)
			break;
		cols += cw;
		bytes += n;
	}
	wattrset(w, attr);
	if (bytes)
		mvwaddnstr(w, y, x, text, (int)bytes);
	else
		wmove(w, y, x);
	if (total > maxcols && maxcols >= 1) {
		waddstr(w, glyph(app, "\xe2\x80\xa6", "~"));
		cols++;
	}
	if (fill)
		for (; cols < maxcols; cols++)
			waddch(w, ' ');
	wattrset(w, A_NORMAL);
	return cols;
}

int draw_text(const struct app *app, WINDOW *w, int y, int x, int maxcols, const char *raw,
              attr_t attr, bool fill)
{
	char *safe = text_sanitize(raw ? raw : "", !app->utf8);
	int cols = draw_safe(app, w, y, x, maxcols, safe, attr, fill);
	free(safe);
	return cols;
}

const char *glyph(const struct app *app, const char *utf8, const char *ascii)
{
	return app->utf8 ? utf8 : ascii;
}

void draw_pair_glyph(const struct app *app, WINDOW *w, int y, int x, const char *utf8,
                     const char *ascii, int pair)
{
	const char *g = app->utf8 ? utf8 : ascii;
	cchar_t cc;
	wchar_t wc[2] = {0, 0};
	if (mbtowc(&wc[0], g, strlen(g)) <= 0)
		wc[0] = L'#';
	setcchar(&cc, wc, A_NORMAL, (short)pair, NULL);
	mvwadd_wch(w, y, x, &cc);
}
