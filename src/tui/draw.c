/*
 * draw.c — putting text on the screen safely: every string from a data file is sanitized
 * (text_sanitize) and clipped by display columns (wcwidth) so a wide character or an escape
 * sequence can neither break a pane's edge nor reach the terminal raw; and the small glyph
 * graphics every pane and view shares (bars, sparklines, a glyph in any colour pair).
 */
#include "tui_int.h"

#include <math.h>
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

/* A bar of cols columns filled to frac (eighths in UTF-8); a positive frac shows at least one. */
void draw_bar(const struct app *app, WINDOW *w, int y, int x, int cols, double frac, attr_t a)
{
	static const char *const eighths[8] = {"",
	                                       "\xe2\x96\x8f",
	                                       "\xe2\x96\x8e",
	                                       "\xe2\x96\x8d",
	                                       "\xe2\x96\x8c",
	                                       "\xe2\x96\x8b",
	                                       "\xe2\x96\x8a",
	                                       "\xe2\x96\x89"};
	if (cols <= 0 || !(frac > 0))
		return;
	if (frac > 1)
		frac = 1;
	int units = (int)lround(frac * cols * 8);
	if (units < 1)
		units = 1;
	wmove(w, y, x);
	wattrset(w, a);
	for (int k = 0; k < units / 8; k++)
		waddstr(w, app->utf8 ? "\xe2\x96\x88" : "#");
	if (units % 8)
		waddstr(w, app->utf8 ? eighths[units % 8] : (units % 8 >= 4 ? "+" : ""));
	wattrset(w, A_NORMAL);
}

/* Eight heights of a sparkline bar, from empty to full. */
static const char *const spark_utf8[] = {" ",
                                         "\xe2\x96\x81",
                                         "\xe2\x96\x82",
                                         "\xe2\x96\x83",
                                         "\xe2\x96\x84",
                                         "\xe2\x96\x85",
                                         "\xe2\x96\x86",
                                         "\xe2\x96\x87",
                                         "\xe2\x96\x88"};
static const char *const spark_ascii[] = {" ", ".", ".", ":", ":", "=", "=", "#", "#"};

int draw_sparkline(const struct app *app, WINDOW *w, int y, int x, int cols, const double *v,
                   size_t n, attr_t attr)
{
	if (cols <= 0 || n == 0)
		return 0;
	if ((size_t)cols > n)
		cols = (int)n;
	double mx = 0;
	double *cell = xcalloc((size_t)cols, sizeof *cell);
	for (size_t i = 0; i < n; i++) {
		size_t c = i * (size_t)cols / n;
		if (isfinite(v[i]))
			cell[c] += v[i];
	}
	for (int c = 0; c < cols; c++)
		if (cell[c] > mx)
			mx = cell[c];
	for (int c = 0; c < cols; c++) {
		int lvl = mx > 0 ? (int)ceil(cell[c] / mx * 8) : 0;
		lvl = lvl < 0 ? 0 : lvl > 8 ? 8 : lvl;
		draw_safe(app, w, y, x + c, 1, app->utf8 ? spark_utf8[lvl] : spark_ascii[lvl], attr,
		          false);
	}
	free(cell);
	return cols;
}
