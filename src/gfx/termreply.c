/* termreply.c — a pure parser of terminal replies (DA1, CSI 16 t, CSI 14 t, kitty's graphics
   reply, XTVERSION, iTerm2's ReportCellSize). */
#include "nncmp/termreply.h"

#include <stdint.h>
#include <string.h>

#define MAX_PARAMS 32
#define PARAM_CAP  1000000

static void pass(const uint8_t *p, size_t n, uint8_t *other, size_t cap, size_t *n_other)
{
	for (size_t k = 0; k < n; k++)
		if (*n_other < cap)
			other[(*n_other)++] = p[k];
}

/* Applies one complete CSI sequence; returns true when it was a reply nncmp asked for. */
static bool apply(bool private, const int *v, int nv, uint8_t final, struct termreply *r)
{
	if (final == 'c' && private && nv >= 1) {
		r->da1 = true;
		r->da1_class = v[0];
		for (int k = 1; k < nv; k++)
			if (v[k] == 4)
				r->sixel = true;
		return true;
	}
	if (final == 't' && !private && nv == 3 && v[1] > 0 && v[2] > 0) {
		if (v[0] == 6) {
			r->cell_h = v[1];
			r->cell_w = v[2];
			return true;
		}
		if (v[0] == 4) {
			r->text_h = v[1];
			r->text_w = v[2];
			return true;
		}
	}
	return false;
}

/* True when body[0..n) starts with the NUL-terminated prefix p. */
static bool starts(const uint8_t *body, size_t n, const char *p)
{
	size_t k = strlen(p);
	return n >= k && memcmp(body, p, k) == 0;
}

/*
 * Reads a decimal number with an optional fraction ("17", "8.5") at body[*at..n) as
 * thousandths, without the locale (LC_NUMERIC may use a comma). Returns -1 when there is none.
 */
static long milli(const uint8_t *body, size_t n, size_t *at)
{
	long v = 0;
	size_t k = *at;
	if (k >= n || body[k] < '0' || body[k] > '9')
		return -1;
	for (; k < n && body[k] >= '0' && body[k] <= '9'; k++)
		if (v < PARAM_CAP)
			v = v * 10 + (body[k] - '0');
	v *= 1000;
	if (k < n && body[k] == '.') {
		long scale = 100;
		for (k++; k < n && body[k] >= '0' && body[k] <= '9'; k++, scale /= 10)
			v += (body[k] - '0') * scale;
	}
	*at = k;
	return v;
}

/*
 * Applies one complete string sequence (APC, DCS or OSC by its introducer; body is what lies
 * between the introducer and the terminator). Returns true when it was a reply nncmp asked for.
 */
static bool apply_string(uint8_t intro, const uint8_t *body, size_t n, struct termreply *r)
{
	if (intro == '_' && starts(body, n, "G")) {
		/* kitty: G key=value,...;message — ours carries i=31 */
		size_t semi = 1;
		while (semi < n && body[semi] != ';')
			semi++;
		bool ours = false;
		for (size_t k = 1; k < semi;) {
			size_t e = k;
			while (e < semi && body[e] != ',')
				e++;
			if (e - k == 4 && memcmp(body + k, "i=31", 4) == 0)
				ours = true;
			k = e + 1;
		}
		if (!ours)
			return false;
		r->kitty = true;
		r->kitty_ok = n - semi == 3 && memcmp(body + semi, ";OK", 3) == 0;
		return true;
	}
	if (intro == 'P' && starts(body, n, ">|")) {
		size_t k = 0;
		for (size_t j = 2; j < n && k + 1 < sizeof r->version; j++)
			if (body[j] >= 0x20 && body[j] < 0x7f)
				r->version[k++] = (char)body[j];
		r->version[k] = '\0';
		return true;
	}
	if (intro == ']' && starts(body, n, "1337;ReportCellSize=")) {
		size_t at = strlen("1337;ReportCellSize=");
		long h = milli(body, n, &at), w = -1, scale = 1000;
		if (h >= 0 && at < n && body[at] == ';') {
			at++;
			w = milli(body, n, &at);
		}
		if (w >= 0 && at < n && body[at] == ';') {
			at++;
			scale = milli(body, n, &at);
		}
		/* a cell of at most 4096 points, a scale of at most 16: no overflow below */
		if (h <= 0 || w <= 0 || scale <= 0 || at != n || h > 4096000 || w > 4096000 ||
		    scale > 16000)
			return false;
		/* points × scale, rounded: both in thousandths */
		r->iterm_cell_h = (int)((h * scale + 500000) / 1000000);
		r->iterm_cell_w = (int)((w * scale + 500000) / 1000000);
		return r->iterm_cell_h > 0 && r->iterm_cell_w > 0;
	}
	return false;
}

/*
 * The end of the string sequence that starts at buf[i] (ESC and an introducer): the index just
 * past its terminator (ESC \, or BEL for OSC) with *body_end at the terminator; 0 when the
 * buffer ends before it (it may still come); SIZE_MAX when it is not a reply (too long, or an
 * ESC inside that does not end it).
 */
static size_t string_end(const uint8_t *buf, size_t i, size_t len, size_t *body_end)
{
	for (size_t j = i + 2; j < len; j++) {
		if (j - i >= TERMREPLY_MAX)
			return SIZE_MAX;
		if (buf[j] == 0x07 && buf[i + 1] == ']') {
			*body_end = j;
			return j + 1;
		}
		if (buf[j] == 0x1b) {
			if (j + 1 == len)
				return 0;
			if (buf[j + 1] != '\\')
				return SIZE_MAX;
			*body_end = j;
			return j + 2;
		}
	}
	return len - i >= TERMREPLY_MAX ? SIZE_MAX : 0;
}

size_t termreply_parse(const uint8_t *buf, size_t len, bool final, struct termreply *r,
                       uint8_t *other, size_t other_cap, size_t *n_other)
{
	size_t i = 0;
	while (i < len) {
		if (buf[i] != 0x1b) {
			pass(buf + i, 1, other, other_cap, n_other);
			i++;
			continue;
		}
		if (i + 1 == len) {
			if (!final)
				return i;
			pass(buf + i, 1, other, other_cap, n_other);
			return len;
		}
		uint8_t intro = buf[i + 1];
		if (intro == '_' || intro == 'P' || intro == ']') {
			size_t body_end = 0, end = string_end(buf, i, len, &body_end);
			if (end == 0 && !final)
				return i; /* may still become a reply */
			if (end == 0 || end == SIZE_MAX) {
				pass(buf + i, 1, other, other_cap, n_other);
				i++;
				continue;
			}
			if (!apply_string(intro, buf + i + 2, body_end - (i + 2), r))
				pass(buf + i, end - i, other, other_cap, n_other);
			i = end;
			continue;
		}
		if (intro != '[') {
			pass(buf + i, 1, other, other_cap, n_other);
			i++;
			continue;
		}
		size_t j = i + 2;
		bool private = j < len && buf[j] == '?';
		if (private)
			j++;
		int v[MAX_PARAMS];
		int nv = 0;
		bool in_num = false, ok = true;
		for (; j < len && j - i < TERMREPLY_MAX; j++) {
			uint8_t c = buf[j];
			if (c >= '0' && c <= '9') {
				if (!in_num) {
					if (nv == MAX_PARAMS) {
						ok = false;
						break;
					}
					v[nv++] = 0;
					in_num = true;
				}
				if (v[nv - 1] < PARAM_CAP)
					v[nv - 1] = v[nv - 1] * 10 + (c - '0');
			} else if (c == ';') {
				if (!in_num) {
					if (nv == MAX_PARAMS) {
						ok = false;
						break;
					}
					v[nv++] = 0; /* an empty parameter */
				}
				in_num = false;
			} else {
				break;
			}
		}
		if (ok && j == len && j - i < TERMREPLY_MAX && !final)
			return i; /* may still become a reply */
		if (!ok || j >= len || j - i >= TERMREPLY_MAX || buf[j] < 0x40 || buf[j] > 0x7e) {
			/* not a CSI sequence we understand: its bytes are someone else's */
			pass(buf + i, 1, other, other_cap, n_other);
			i++;
			continue;
		}
		if (!apply(private, v, nv, buf[j], r))
			pass(buf + i, j + 1 - i, other, other_cap, n_other);
		i = j + 1;
	}
	return len;
}
