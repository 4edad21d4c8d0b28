/* filter_sort.c — ordering a selection of instances by a key (index, id or a value expression). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/filter.h"

struct sort_item {
	uint32_t index;
	double key;
	const char *id; /* for "id": the instance's id, NULL when it has none */
};

static int by_index(const struct sort_item *x, const struct sort_item *y)
{
	return (x->index > y->index) - (x->index < y->index);
}

static int cmp_desc(const void *pa, const void *pb)
{
	const struct sort_item *x = pa, *y = pb;
	bool xn = isnan(x->key), yn = isnan(y->key);
	if (xn != yn)
		return xn ? 1 : -1; /* undefined values last */
	if (!xn && x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return by_index(x, y);
}

static int cmp_asc(const void *pa, const void *pb)
{
	const struct sort_item *x = pa, *y = pb;
	bool xn = isnan(x->key), yn = isnan(y->key);
	if (xn != yn)
		return xn ? 1 : -1;
	if (!xn && x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return by_index(x, y);
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
	struct sort_item *items = xcalloc(n ? n : 1, sizeof *items);
	bool is_index = strcmp(name, "index") == 0, is_id = strcmp(name, "id") == 0;
	int (*cmp)(const void *, const void *);
	bool reverse = false;
	int rc = 0;
	if (is_index || is_id) {
		for (size_t k = 0; k < n; k++)
			items[k] = (struct sort_item){idx[k], (double)idx[k],
			                              s->ids ? s->ids[idx[k]] : NULL};
		cmp = is_id ? cmp_id : cmp_asc;
		reverse = has_dir && !asc; /* these read naturally ascending */
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
			for (size_t k = 0; k < n; k++)
				items[k] = (struct sort_item){idx[k], expr_value(e, idx[k]), NULL};
		}
		expr_free(e);
		cmp = asc ? cmp_asc : cmp_desc;
	}
	if (rc == 0) {
		qsort(items, n, sizeof *items, cmp);
		if (reverse)
			for (size_t k = 0; k < n / 2; k++) {
				struct sort_item t = items[k];
				items[k] = items[n - 1 - k];
				items[n - 1 - k] = t;
			}
		bool valued = !is_index && !is_id && keys;
		if (valued)
			*keys = xcalloc(n ? n : 1, sizeof **keys);
		for (size_t k = 0; k < n; k++) {
			idx[k] = items[k].index;
			if (valued)
				(*keys)[k] = items[k].key;
		}
	}
	free(items);
	free(name);
	return rc;
}
