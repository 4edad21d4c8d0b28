/* overview.c — Bäuerle's label -> prediction overview of the misclassified instances (overview.h).
 */
#include "nncmp/overview.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/issues.h"

/* True when a decision settled instance i (skipped counts as undecided). */
static bool settled(const struct study *s, size_t i)
{
	return status_decided((uint8_t)study_status(s, i));
}

static int cmp_cell(const void *a, const void *b)
{
	const struct overview_cell *x = a, *y = b;
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->pred < y->pred ? -1 : x->pred > y->pred;
}

static int cmp_row(const void *a, const void *b)
{
	const struct overview_row *x = a, *y = b;
	if (x->errors != y->errors)
		return x->errors > y->errors ? -1 : 1;
	return x->label < y->label ? -1 : x->label > y->label;
}

void overview_free(struct overview *o)
{
	for (size_t r = 0; r < o->n_rows; r++) {
		for (size_t k = 0; k < o->rows[r].n_cells; k++)
			free(o->rows[r].cells[k].idx);
		free(o->rows[r].cells);
	}
	free(o->rows);
	memset(o, 0, sizeof *o);
}

int overview_compute(const struct study *s, size_t model, struct nn_progress *prog,
                     struct overview *out, struct nn_err *err)
{
	memset(out, 0, sizeof *out);
	if (model >= s->n_models)
		return nn_err_set(err, "no model %zu in %s", model, s->name);
	size_t N = s->n, C = s->n_classes;
	out->model = model;
	double *iies = xcalloc(N ? N : 1, sizeof *iies);
	if (issues_iies(s, (int)model, iies, err) != 0) {
		free(iies);
		return -1;
	}
	if (prog)
		atomic_store(&prog->total, N);
	const struct model *md = &s->models[model];
	/* counts per (label, prediction), then the cells in label and prediction order */
	size_t *cnt = xcalloc(C ? C * C : 1, sizeof *cnt);
	for (size_t i = 0; i < N; i++) {
		if (settled(s, i))
			out->n_settled++;
		else if (model_pred(md, i) != s->labels[i])
			cnt[(size_t)s->labels[i] * C + (size_t)model_pred(md, i)]++;
	}
	out->rows = xcalloc(C ? C : 1, sizeof *out->rows);
	/* where (label, prediction)'s cell is: its row and position, for the fill below */
	size_t *row_of = xcalloc(C ? C : 1, sizeof *row_of);
	size_t *cell_of = xcalloc(C ? C * C : 1, sizeof *cell_of);
	for (size_t l = 0; l < C; l++) {
		struct overview_row *r = &out->rows[out->n_rows];
		r->label = (int32_t)l;
		for (size_t p = 0; p < C; p++)
			if (cnt[l * C + p]) {
				r->n_cells++;
				r->errors += cnt[l * C + p];
			}
		if (!r->errors)
			continue;
		r->cells = xcalloc(r->n_cells, sizeof *r->cells);
		size_t k = 0;
		for (size_t p = 0; p < C; p++)
			if (cnt[l * C + p]) {
				r->cells[k].pred = (int32_t)p;
				r->cells[k].idx = xcalloc(cnt[l * C + p], sizeof *r->cells[k].idx);
				cell_of[l * C + p] = k++;
			}
		row_of[l] = out->n_rows++;
		out->n_errors += r->errors;
	}
	int rc = 0;
	for (size_t i = 0; i < N; i++) {
		if (!settled(s, i) && model_pred(md, i) != s->labels[i]) {
			size_t l = (size_t)s->labels[i], p = (size_t)model_pred(md, i);
			struct overview_cell *c = &out->rows[row_of[l]].cells[cell_of[l * C + p]];
			c->idx[c->n++] = (uint32_t)i;
			double b = floor((iies[i] - 0.5) * 2 * OVERVIEW_BINS);
			b = isnan(b) ? 0 : b;
			c->hist[b < 0                   ? 0
			        : b > OVERVIEW_BINS - 1 ? OVERVIEW_BINS - 1
			                                : (int)b] += 1;
		}
		if (prog && (i & 0xffff) == 0xffff) {
			atomic_store(&prog->done, i + 1);
			if (atomic_load(&prog->cancel)) {
				rc = nn_err_set(err, "cancelled");
				break;
			}
		}
	}
	free(cell_of);
	free(row_of);
	free(cnt);
	free(iies);
	if (rc) {
		overview_free(out);
		return rc;
	}
	if (prog)
		atomic_store(&prog->done, N);
	for (size_t r = 0; r < out->n_rows; r++)
		qsort(out->rows[r].cells, out->rows[r].n_cells, sizeof *out->rows[r].cells,
		      cmp_cell);
	qsort(out->rows, out->n_rows, sizeof *out->rows, cmp_row);
	return 0;
}
