/* filter_sort.c — ordering a selection of instances by a key (index, id or a value expression). */
#include <stdlib.h>
#include <string.h>

#include "nncmp/filter.h"
#include "nncmp/keysort.h"

struct sort_item {
	uint32_t index;
	const char *id; /* the instance's id, NULL when it has none */
};

static int by_index(const struct sort_item *x, const struct sort_item *y)
{
	return (x->index > y->index) - (x->index < y->index);
}

/* Ids compare as text; an instance without an id sorts before those with one, by index. */
static int cmp_id(const void *pa, const void *pb)
{
	const struct sort_item *x = pa, *y = pb;
	if (x->id && y->id) {
		int c = strcmp(x->id, y->id);
		if (c)
			return c;
	} else if (x->id || y->id) {
		return x->id ? 1 : -1;
	}
	return by_index(x, y);
}

/* Reverses idx[0 .. n) in place. */
static void reverse_u32(uint32_t *idx, size_t n)
{
	for (size_t k = 0; k < n / 2; k++) {
		uint32_t t = idx[k];
		idx[k] = idx[n - 1 - k];
		idx[n - 1 - k] = t;
	}
}

int expr_sort(const struct study *s, uint32_t *idx, size_t n, const char *key, double **keys,
              struct nn_err *err, size_t *err_col)
{
	if (keys)
		*keys = NULL;
	*err_col = 0;
	char *name = xstrdup(key);
	char *colon = strrchr(name, ':');
	bool has_dir = colon && (strcmp(colon, ":asc") == 0 || strcmp(colon, ":desc") == 0);
	bool asc = has_dir && strcmp(colon, ":asc") == 0;
	if (has_dir)
		*colon = '\0';
	int rc = 0;
	if (strcmp(name, "index") == 0) {
		keysort_index(idx, n);
		if (has_dir && !asc) /* read naturally ascending */
			reverse_u32(idx, n);
	} else if (strcmp(name, "id") == 0) {
		struct sort_item *items = xcalloc(n ? n : 1, sizeof *items);
		for (size_t k = 0; k < n; k++)
			items[k] = (struct sort_item){idx[k], s->ids ? s->ids[idx[k]] : NULL};
		qsort(items, n, sizeof *items, cmp_id);
		for (size_t k = 0; k < n; k++)
			idx[k] = items[k].index;
		free(items);
		if (has_dir && !asc)
			reverse_u32(idx, n);
	} else {
		struct expr *e = expr_compile(s, name, err, err_col);
		if (!e) {
			rc = -1;
		} else if (expr_is_bool(e)) {
			nn_err_set(err,
			           "'%.100s' is a condition, not a value (filter with it instead)",
			           name);
			rc = -1;
		} else {
			/* ties by index: index order first, then a stable sort by value; the
			 * act() columns read once in blocks (expr_gather), not through the map */
			keysort_index(idx, n);
			expr_gather(e, idx, n);
			double *v = xmalloc((n ? n : 1) * sizeof *v);
			for (size_t k = 0; k < n; k++)
				v[k] = expr_value(e, idx[k]);
			if (expr_read_error(e, err) < 0) { /* NaN keys of rows never read */
				rc = -1;
				free(v);
			} else {
				keysort(idx, v, n, !asc);
				if (keys)
					*keys = v;
				else
					free(v);
			}
		}
		expr_free(e);
	}
	free(name);
	return rc;
}
