/* termreply.c — a pure parser of terminal replies (DA1, CSI 16 t, CSI 14 t). */
#include "nncmp/termreply.h"

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
		if (buf[i + 1] != '[') {
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
