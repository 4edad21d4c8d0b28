/* study_classes.c — the class names of classes.txt (study_parse_classes, study.h). */
#include "nncmp/study.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: the hash of the duplicate check below. */
static uint64_t str_hash(const char *s)
{
	uint64_t h = 14695981039346656037u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

/*
 * The index of the first name equal to an earlier one, or n when all differ: an open-addressing
 * set of indices (linear probing, at most half full), so n names cost O(n).
 */
static size_t first_duplicate(char *const *v, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	size_t *slot = xreallocarray(NULL, cap, sizeof *slot);
	for (size_t k = 0; k < cap; k++)
		slot[k] = SIZE_MAX;
	size_t dup = n;
	for (size_t i = 0; i < n && dup == n; i++) {
		size_t k = (size_t)str_hash(v[i]) & (cap - 1);
		for (; slot[k] != SIZE_MAX; k = (k + 1) & (cap - 1))
			if (strcmp(v[slot[k]], v[i]) == 0) {
				dup = i;
				break;
			}
		slot[k] = i;
	}
	free(slot);
	return dup;
}

int study_parse_classes(struct study *s, const char *buf, size_t len, const char *path,
                        struct nn_err *err)
{
	/* the limit first: what follows is linear, but a huge list has no use being read */
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	if (len && buf[len - 1] != '\n')
		lines++;
	if (lines > STUDY_MAX_CLASSES)
		return nn_err_set(err, "%s: %zu classes; at most %d are supported", path, lines,
		                  STUDY_MAX_CLASSES);
	struct strvec names = {0};
	size_t line = 0;
	const char *p = buf, *end = buf + len;
	int rc = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		line++;
		size_t n = (size_t)(le - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (memchr(p, '\0', n)) {
			rc = nn_err_set(err, "%s:%zu: NUL byte in a class name", path, line);
			break;
		}
		if (n == 0) {
			rc = nn_err_set(err, "%s:%zu: empty class name", path, line);
			break;
		}
		strvec_push(&names, xstrndup(p, n));
		p = nl ? nl + 1 : end;
	}
	if (rc == 0 && names.n == 0)
		rc = nn_err_set(err, "%s: no class names", path);
	size_t dup = rc == 0 ? first_duplicate(names.v, names.n) : names.n;
	if (dup < names.n)
		rc = nn_err_set(err, "%s:%zu: class '%s' is listed twice", path, dup + 1,
		                names.v[dup]);
	if (rc < 0) {
		strvec_free(&names);
		return -1;
	}
	s->classes = names.v;
	s->n_classes = names.n;
	return 0;
}
