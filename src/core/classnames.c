/*
 * classnames.c — abbreviations of class names for narrow columns (classnames.h): strip what every
 * name shares, cut the middle of what is still too wide, and fall back to class numbers when no
 * abbreviation keeps the classes apart.
 */
#include "nncmp/classnames.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/text.h"
#include "nncmp/util.h"

/* A name as code points: cp[k], its display columns w[k], its bytes off[k] .. off[k + 1]. */
struct cps {
	size_t n;
	uint32_t *cp;
	int *w;
	size_t *off;
};

static void cps_read(const char *s, struct cps *c)
{
	size_t len = strlen(s);
	c->cp = xcalloc(len + 1, sizeof *c->cp);
	c->w = xcalloc(len + 1, sizeof *c->w);
	c->off = xcalloc(len + 2, sizeof *c->off);
	c->n = 0;
	for (size_t b = 0; b < len;) {
		c->off[c->n] = b;
		size_t n = text_utf8_decode(s + b, len - b, &c->cp[c->n]);
		if (n == 0) /* not UTF-8: the byte alone, one column */
			c->cp[c->n] = (unsigned char)s[b];
		b += n ? n : 1;
		c->w[c->n] = text_cp_width(c->cp[c->n]);
		c->n++;
	}
	c->off[c->n] = len;
}

static void cps_free(struct cps *c)
{
	free(c->cp);
	free(c->w);
	free(c->off);
}

enum kind { K_SEP, K_DIGIT, K_LETTER };

/* Letters are ASCII letters and every non-ASCII character; separators the rest but digits. */
static enum kind kind_of(uint32_t cp)
{
	if (cp >= '0' && cp <= '9')
		return K_DIGIT;
	if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp >= 0x80)
		return K_LETTER;
	return K_SEP;
}

/* True when every name's character at position at[i] (or the end) is of kind k. */
static bool all_of_kind(const struct cps *c, size_t n, const size_t *at, size_t at1, enum kind k)
{
	for (size_t i = 0; i < n; i++) {
		size_t j = at ? at[i] : at1;
		if (j >= c[i].n || kind_of(c[i].cp[j]) != k)
			return false;
	}
	return true;
}

/*
 * The number of leading code points every name shares and that may go: up to a separator (which
 * goes too) or a change between letters and digits, leaving at least one character of each name.
 */
static size_t common_prefix(const struct cps *c, size_t n)
{
	size_t l = c[0].n;
	for (size_t i = 1; i < n; i++) {
		size_t k = 0;
		while (k < l && k < c[i].n && c[i].cp[k] == c[0].cp[k])
			k++;
		l = k;
	}
	for (size_t i = 0; i < n; i++)
		if (l >= c[i].n)
			l = c[i].n ? c[i].n - 1 : 0;
	for (size_t p = l; p > 0; p--) {
		enum kind last = kind_of(c[0].cp[p - 1]);
		if (last == K_SEP)
			return p;
		if (all_of_kind(c, n, NULL, p, last == K_LETTER ? K_DIGIT : K_LETTER))
			return p;
	}
	return 0;
}

/* The same at the end of the names, after the first `pre` code points have gone. */
static size_t common_suffix(const struct cps *c, size_t n, size_t pre)
{
	size_t l = c[0].n - pre;
	for (size_t i = 1; i < n; i++) {
		size_t k = 0;
		while (k < l && k < c[i].n - pre &&
		       c[i].cp[c[i].n - 1 - k] == c[0].cp[c[0].n - 1 - k])
			k++;
		l = k;
	}
	for (size_t i = 0; i < n; i++)
		if (l >= c[i].n - pre)
			l = c[i].n - pre - 1;
	size_t *before = xcalloc(n, sizeof *before);
	size_t found = 0;
	for (size_t s = l; s > 0 && !found; s--) {
		enum kind first = kind_of(c[0].cp[c[0].n - s]);
		if (first == K_SEP) {
			found = s;
			break;
		}
		for (size_t i = 0; i < n; i++)
			before[i] = c[i].n - s - 1;
		if (all_of_kind(c, n, before, 0, first == K_LETTER ? K_DIGIT : K_LETTER))
			found = s;
	}
	free(before);
	return found;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* True when the n strings are pairwise different. */
static bool distinct(char **v, size_t n)
{
	char **sorted = xcalloc(n ? n : 1, sizeof *sorted);
	memcpy(sorted, v, n * sizeof *v);
	qsort(sorted, n, sizeof *sorted, cmp_str);
	bool ok = true;
	for (size_t i = 1; i < n && ok; i++)
		ok = strcmp(sorted[i - 1], sorted[i]) != 0;
	free(sorted);
	return ok;
}

/* The columns of code points [b, e) of c. */
static int span_cols(const struct cps *c, size_t b, size_t e)
{
	int cols = 0;
	for (size_t k = b; k < e; k++)
		cols += c->w[k];
	return cols;
}

/*
 * Code points [b, e) of name s cut to width columns: as they are when they fit; else the most of
 * the start that fits in width - 1 - tail columns, the ellipsis and the most of the end that fits
 * in tail columns; in one column, the first character alone.
 */
static char *cut(const char *s, const struct cps *c, size_t b, size_t e, int width, int tail,
                 const char *ell)
{
	if (span_cols(c, b, e) <= width)
		return xstrndup(s + c->off[b], c->off[e] - c->off[b]);
	if (width == 1) {
		if (b < e && c->w[b] == 1)
			return xstrndup(s + c->off[b], c->off[b + 1] - c->off[b]);
		return xstrdup(ell);
	}
	int head = width - 1 - tail, cols = 0;
	size_t h = b;
	while (h < e && cols + c->w[h] <= head)
		cols += c->w[h++];
	size_t t = e;
	cols = 0;
	while (t > h && cols + c->w[t - 1] <= tail)
		cols += c->w[--t];
	return xasprintf("%.*s%s%.*s", (int)(c->off[h] - c->off[b]), s + c->off[b], ell,
	                 (int)(c->off[e] - c->off[t]), s + c->off[t]);
}

void classnames_free(char **out, size_t n)
{
	for (size_t i = 0; out && i < n; i++) {
		free(out[i]);
		out[i] = NULL;
	}
}

/* The class numbers: decimal when they fit, else one character of 0-9a-zA-Z each. */
static void numbers(size_t n, int width, char **out)
{
	static const char pool[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	int digits = 1;
	for (size_t v = n ? n - 1 : 0; v >= 10; v /= 10)
		digits++;
	for (size_t i = 0; i < n; i++) {
		if (digits <= width || n > sizeof pool - 1)
			out[i] = xasprintf("%zu", i);
		else
			out[i] = xasprintf("%c", pool[i]);
		if ((int)strlen(out[i]) > width)
			out[i][width] = '\0';
	}
}

enum classnames_kind classnames_abbrev(const char *const *names, size_t n, int width, bool ascii,
                                       char **out)
{
	if (width < 1)
		width = 1;
	if (n == 0)
		return CLASSNAMES_FULL;
	bool fit = true;
	for (size_t i = 0; i < n && fit; i++)
		fit = text_width(names[i]) <= width;
	if (fit) {
		for (size_t i = 0; i < n; i++)
			out[i] = xstrdup(names[i]);
		return CLASSNAMES_FULL;
	}
	struct cps *c = xcalloc(n, sizeof *c);
	for (size_t i = 0; i < n; i++)
		cps_read(names[i], &c[i]);
	size_t pre = 0, suf = 0;
	bool empty = false;
	for (size_t i = 0; i < n; i++)
		empty = empty || c[i].n == 0;
	if (n > 1 && !empty) {
		pre = common_prefix(c, n);
		suf = common_suffix(c, n, pre);
	}
	const char *ell = ascii ? "~" : "\xe2\x80\xa6";
	enum classnames_kind kind = CLASSNAMES_NUMBERS;
	/* the fewest columns of the end that keep the abbreviations apart */
	for (int tail = 0; tail < width && kind == CLASSNAMES_NUMBERS; tail++) {
		for (size_t i = 0; i < n; i++)
			out[i] = cut(names[i], &c[i], pre, c[i].n - suf, width, tail, ell);
		if (distinct(out, n))
			kind = CLASSNAMES_SHORT;
		else
			classnames_free(out, n);
		if (width == 1)
			break;
	}
	for (size_t i = 0; i < n; i++)
		cps_free(&c[i]);
	free(c);
	if (kind == CLASSNAMES_NUMBERS)
		numbers(n, width, out);
	return kind;
}
