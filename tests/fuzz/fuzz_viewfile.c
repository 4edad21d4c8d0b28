/* fuzz_viewfile.c — views.ini reading (inih, long lines, bad names and values), and writing back
 * what was read: a book that writes must read back as the same book. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/viewfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const char *a, const char *b)
{
	if ((!a) != (!b) || (a && strcmp(a, b) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	struct view_book b = {0};
	struct nn_err err = {{0}};
	if (viewbook_read(&b, f, "views.ini", &err) != 0 && (!err.msg[0] || strchr(err.msg, '\n')))
		abort(); /* a problem is always said, on one line */
	fclose(f);
	char *out = NULL;
	size_t len = 0;
	FILE *w = open_memstream(&out, &len);
	int rc = viewbook_write(&b, w, &err);
	fclose(w);
	if (rc == 0) {
		struct view_book r = {0};
		FILE *g = fmemopen(out, len ? len : 1, "r");
		if (viewbook_read(&r, g, "again", &err) != 0 || r.n != b.n)
			abort();
		fclose(g);
		for (size_t i = 0; i < b.n; i++) {
			const struct saved_view *x = &b.v[i], *y = viewbook_find(&r, x->name);
			if (!y || y->n_rows != x->n_rows)
				abort();
			same(x->filter, y->filter);
			same(x->sort, y->sort);
			same(x->layer, y->layer);
			same(x->focus, y->focus);
			same(x->open, y->open);
			same(x->model_a, y->model_a);
			same(x->model_b, y->model_b);
			for (size_t k = 0; k < x->n_rows; k++) {
				same(x->rows[k].name, y->rows[k].name);
				same(x->rows[k].expr, y->rows[k].expr);
			}
		}
		viewbook_free(&r);
	}
	free(out);
	viewbook_free(&b);
	return 0;
}
