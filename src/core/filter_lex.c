/*
 * filter_lex.c — the lexer of filter and sort expressions (see filter_parse.c for the language):
 * numbers, quoted strings with \" \' \\ escapes, names, operators and the keywords and/or/not
 * in any case. Errors are recorded in the parser with their column (UTF-8 code points from 1).
 */
#include "nncmp/filter_lex.h"

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------------------------- */

static bool is_name_start(int c)
{
	return filter_name_char(c, true);
}

static bool is_name_char(int c)
{
	return filter_name_char(c, false);
}

const char *filter_clip(const char *text, size_t n, char *buf)
{
	size_t cut = n;
	if (n > CLIP_BYTES) {
		cut = CLIP_BYTES;
		while (cut > 0 && (uc(text[cut]) & 0xC0) == 0x80)
			cut--;
	}
	for (size_t k = 0; k < cut; k++)
		buf[k] = uc(text[k]) < 0x20 || text[k] == 0x7f ? '?' : text[k];
	strcpy(buf + cut, cut < n ? "..." : "");
	return buf;
}

void filter_join_add(struct joiner *j, const char *name)
{
	if (j->full)
		return;
	size_t sep = j->len ? 2 : 0, n = strlen(name);
	/* keep room for ", ..." and the terminator */
	if (j->len + sep + n + 6 > sizeof j->buf) {
		strcpy(j->buf + j->len, j->len ? ", ..." : "...");
		j->full = true;
		return;
	}
	memcpy(j->buf + j->len, ", ", sep);
	memcpy(j->buf + j->len + sep, name, n + 1);
	j->len += sep + n;
}

/* ---- lexer ------------------------------------------------------------------------------ */

static size_t column(const struct parser *p, size_t pos)
{
	size_t col = 1;
	for (size_t k = 0; k < pos && k < p->len; k++)
		col += (uc(p->src[k]) & 0xC0) != 0x80;
	return col;
}

void *filter_fail(struct parser *p, size_t pos, const char *fmt, ...)
{
	if (p->failed)
		return NULL;
	p->failed = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err.msg, sizeof p->err.msg, fmt, ap);
	va_end(ap);
	p->err_col = column(p, pos);
	return NULL;
}

static void lex_error(struct parser *p)
{
	p->tok.kind = T_ERR;
	p->at = p->len;
}

static void lex_string(struct parser *p, size_t start)
{
	const char *src = p->src;
	char q = src[start];
	char *out = xmalloc(p->len - start);
	size_t k = start + 1, n = 0;
	while (k < p->len && src[k] != q) {
		if (src[k] == '\\') {
			char e = src[k + 1];
			if (e == '\0') {
				k = p->len;
				break;
			}
			if (e != '"' && e != '\'' && e != '\\') {
				size_t cl = 1; /* the whole UTF-8 character after the backslash */
				while ((uc(src[k + 1 + cl]) & 0xC0) == 0x80)
					cl++;
				char buf[CLIP_BYTES + 4];
				filter_fail(p, k,
				            "unknown escape '\\%s' (only \\\" \\' \\\\ are known)",
				            filter_clip(src + k + 1, cl, buf));
				free(out);
				lex_error(p);
				return;
			}
			out[n++] = e;
			k += 2;
			continue;
		}
		out[n++] = src[k++];
	}
	if (k >= p->len) {
		filter_fail(p, start, "unterminated string");
		free(out);
		lex_error(p);
		return;
	}
	out[n] = '\0';
	p->tok.kind = T_STR;
	p->tok.str = out;
	p->tok.len = k + 1 - start;
	p->at = k + 1;
}

static void lex_number(struct parser *p, size_t start)
{
	const char *src = p->src;
	size_t k = start;
	while (is_digit(uc(src[k])))
		k++;
	if (src[k] == '.') {
		k++;
		while (is_digit(uc(src[k])))
			k++;
	}
	if (src[k] == 'e' || src[k] == 'E') {
		size_t e = k + 1;
		if (src[e] == '+' || src[e] == '-')
			e++;
		if (is_digit(uc(src[e]))) {
			while (is_digit(uc(src[e])))
				e++;
			k = e;
		}
	}
	if (is_name_char(uc(src[k])) && src[k] != '-') {
		size_t end = k;
		while (is_name_char(uc(src[end])) && src[end] != '-')
			end++;
		char buf[CLIP_BYTES + 4];
		filter_fail(p, start, "malformed number '%s'",
		            filter_clip(src + start, end - start, buf));
		lex_error(p);
		return;
	}
	/* strtod follows LC_NUMERIC, which the terminal front may have set from the environment */
	const char *dp = localeconv()->decimal_point;
	size_t dpl = dp ? strlen(dp) : 0;
	if (dpl == 0 || dpl > 4) {
		dp = ".";
		dpl = 1;
	}
	char *tmp = xmalloc((k - start) * 4 + 1), *t = tmp;
	for (size_t j = start; j < k; j++) {
		if (src[j] == '.') {
			memcpy(t, dp, dpl);
			t += dpl;
		} else {
			*t++ = src[j];
		}
	}
	*t = '\0';
	p->tok.num = strtod(tmp, NULL);
	free(tmp);
	p->tok.kind = T_NUM;
	p->tok.len = k - start;
	p->at = k;
}

static bool word_is(const char *s, size_t n, const char *kw)
{
	if (strlen(kw) != n)
		return false;
	for (size_t k = 0; k < n; k++)
		if (filter_fold(uc(s[k])) != kw[k])
			return false;
	return true;
}

void filter_lex_next(struct parser *p)
{
	free(p->tok.str);
	p->tok = (struct tok){.kind = T_END};
	const char *src = p->src;
	size_t at = p->at;
	while (at < p->len && is_space(uc(src[at])))
		at++;
	p->tok.pos = at;
	if (at >= p->len) {
		p->at = at;
		return;
	}
	int c = uc(src[at]), d = uc(src[at + 1]);
	enum tok_kind kind;
	size_t n = 1;
	switch (c) {
	case '(':
		kind = T_LP;
		break;
	case ')':
		kind = T_RP;
		break;
	case ',':
		kind = T_COMMA;
		break;
	case '~':
		kind = T_MATCH;
		break;
	case '-':
		kind = T_MINUS;
		break;
	case '=':
		kind = T_EQ;
		n = d == '=' ? 2 : 1;
		break;
	case '!':
		kind = d == '=' ? T_NE : T_NOT;
		n = d == '=' ? 2 : 1;
		break;
	case '<':
		kind = d == '=' ? T_LE : T_LT;
		n = d == '=' ? 2 : 1;
		break;
	case '>':
		kind = d == '=' ? T_GE : T_GT;
		n = d == '=' ? 2 : 1;
		break;
	case '&':
	case '|':
		if (d != c) {
			filter_fail(p, at, "unexpected '%c' (write '%c%c' or '%s')", c, c, c,
			            c == '&' ? "and" : "or");
			lex_error(p);
			return;
		}
		kind = c == '&' ? T_AND : T_OR;
		n = 2;
		break;
	case '"':
	case '\'':
		lex_string(p, at);
		return;
	default:
		if (is_digit(c) || (c == '.' && is_digit(d))) {
			lex_number(p, at);
			return;
		}
		if (is_name_start(c)) {
			size_t k = at;
			while (is_name_char(uc(src[k])))
				k++;
			n = k - at;
			kind = word_is(src + at, n, "and")   ? T_AND
			       : word_is(src + at, n, "or")  ? T_OR
			       : word_is(src + at, n, "not") ? T_NOT
			                                     : T_NAME;
			break;
		}
		if (c < 0x20 || c == 0x7f)
			filter_fail(p, at, "unexpected control character 0x%02x", (unsigned)c);
		else
			filter_fail(p, at, "unexpected '%c'", c);
		lex_error(p);
		return;
	}
	p->tok.kind = kind;
	p->tok.len = n;
	p->at = at + n;
}
