/*
 * view_overview.c — Bäuerle's label errors overview (E): per given label, the classes model A
 * predicts for its misclassified samples, most first, each cell with a sparkline of their IIES;
 * Enter hands a cell's samples to a review queue of their own (triage.h).
 */
#include "triage.h"
#include "views.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nncmp/issues.h"
#include "nncmp/journal.h"
#include "nncmp/keysort.h"
#include "nncmp/text.h"

struct ocell {
	int32_t pred;
	size_t n;
	uint32_t *idx;   /* its samples */
	double hist[10]; /* their IIES in 10 bins over [0.5, 1] */
};

struct orow {
	int32_t label;
	size_t wrong;
	struct ocell *cells; /* by count, descending */
	size_t n_cells;
};

struct overview {
	const struct study *s;
	int model;
	int32_t *labels; /* current labels (the journal's) */
	uint8_t *decided;
	double *iies;
	struct orow *rows;
	size_t n_rows;
};

static void *overview_prepare(struct app *app, struct nn_err *err)
{
	const struct study *s = app->s;
	struct overview *o = xcalloc(1, sizeof *o);
	o->s = s;
	o->model = (int)app->a;
	o->labels = xcalloc(s->n ? s->n : 1, sizeof *o->labels);
	o->decided = xcalloc(s->n ? s->n : 1, 1);
	if (app->tr && app->tr->j) {
		memcpy(o->labels, journal_labels(app->tr->j), s->n * sizeof *o->labels);
		const uint8_t *st = journal_status(app->tr->j);
		for (size_t i = 0; i < s->n; i++)
			o->decided[i] = st[i] != STATUS_UNDECIDED && st[i] != STATUS_SKIPPED;
	} else {
		memcpy(o->labels, s->labels, s->n * sizeof *o->labels);
	}
	(void)err;
	return o;
}

static int cmp_cell(const void *a, const void *b)
{
	const struct ocell *x = a, *y = b;
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->pred < y->pred ? -1 : x->pred > y->pred;
}

static int cmp_row(const void *a, const void *b)
{
	const struct orow *x = a, *y = b;
	if (x->wrong != y->wrong)
		return x->wrong > y->wrong ? -1 : 1;
	return x->label < y->label ? -1 : x->label > y->label;
}

/* Worker: model A's IIES, and the label x prediction cells of its misclassified samples. */
static int overview_compute(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	struct overview *o = ctx;
	const struct study *s = o->s;
	size_t N = s->n, C = s->n_classes;
	o->iies = xcalloc(N ? N : 1, sizeof *o->iies);
	if (issues_iies(s, o->model, o->iies, err) != 0)
		return -1;
	if (prog)
		atomic_store(&prog->total, N);
	const int32_t *pred = s->models[o->model].pred;
	/* counts per (label, prediction), then the cells */
	size_t *cnt = xcalloc(C * C, sizeof *cnt);
	for (size_t i = 0; i < N; i++)
		if (!o->decided[i] && pred[i] != o->labels[i])
			cnt[(size_t)o->labels[i] * C + (size_t)pred[i]]++;
	o->rows = xcalloc(C, sizeof *o->rows);
	for (size_t l = 0; l < C; l++) {
		struct orow *r = &o->rows[o->n_rows];
		r->label = (int32_t)l;
		for (size_t p = 0; p < C; p++)
			if (cnt[l * C + p]) {
				r->n_cells++;
				r->wrong += cnt[l * C + p];
			}
		if (!r->wrong)
			continue;
		r->cells = xcalloc(r->n_cells, sizeof *r->cells);
		size_t k = 0;
		for (size_t p = 0; p < C; p++)
			if (cnt[l * C + p]) {
				r->cells[k].pred = (int32_t)p;
				r->cells[k].idx = xcalloc(cnt[l * C + p], sizeof *r->cells[k].idx);
				k++;
			}
		o->n_rows++;
	}
	/* fill the cells' samples and IIES histograms (rows are still in label order) */
	size_t *row_of = xcalloc(C, sizeof *row_of);
	for (size_t r = 0; r < o->n_rows; r++)
		row_of[o->rows[r].label] = r;
	for (size_t i = 0; i < N; i++) {
		if (o->decided[i] || pred[i] == o->labels[i])
			continue;
		struct orow *r = &o->rows[row_of[o->labels[i]]];
		for (size_t k = 0; k < r->n_cells; k++)
			if (r->cells[k].pred == pred[i]) {
				struct ocell *c = &r->cells[k];
				c->idx[c->n++] = (uint32_t)i;
				int b = (int)floor((o->iies[i] - 0.5) * 20);
				b = b < 0 ? 0 : b > 9 ? 9 : b;
				c->hist[b] += 1;
				break;
			}
		if (prog && (i & 0xffff) == 0) {
			atomic_store(&prog->done, i);
			if (atomic_load(&prog->cancel)) {
				free(row_of);
				free(cnt);
				return nn_err_set(err, "cancelled");
			}
		}
	}
	free(row_of);
	free(cnt);
	for (size_t r = 0; r < o->n_rows; r++)
		qsort(o->rows[r].cells, o->rows[r].n_cells, sizeof *o->rows[r].cells, cmp_cell);
	qsort(o->rows, o->n_rows, sizeof *o->rows, cmp_row);
	return 0;
}

static size_t overview_rows(const void *ctx)
{
	const struct overview *o = ctx;
	return o->n_rows;
}

static void overview_free(void *ctx)
{
	struct overview *o = ctx;
	for (size_t r = 0; r < o->n_rows; r++) {
		for (size_t k = 0; k < o->rows[r].n_cells; k++)
			free(o->rows[r].cells[k].idx);
		free(o->rows[r].cells);
	}
	free(o->rows);
	free(o->labels);
	free(o->decided);
	free(o->iies);
	free(o);
}

/* The widest abbreviation of a predicted class in an overview cell; its sparkline's width. */
#define CELL_NAME  6
#define CELL_SPARK 10

static void overview_draw(struct app *app, void *ctx, WINDOW *w, struct view_nav *nav)
{
	struct overview *o = ctx;
	const struct study *s = app->s;
	int H = getmaxy(w), W = getmaxx(w);
	char line[256];
	snprintf(line, sizeof line,
	         "misclassified by %.40s, per given label (most first); cells: predicted class, "
	         "count, IIES from 0.5 to 1",
	         s->models[o->model].name);
	draw_text(app, w, 1, 1, W - 2, line, role_attr(ROLE_HEADER), false);
	if (o->n_rows == 0) {
		draw_safe(app, w, 3, 2, W - 4, "no misclassified sample left", role_attr(ROLE_DIM),
		          false);
		return;
	}
	int lw = 16, body = H - 4;
	view_clamp(nav, o->n_rows, (size_t)(body > 0 ? body : 1));
	struct orow *cur = &o->rows[nav->cur];
	if (nav->left >= cur->n_cells)
		nav->left = cur->n_cells - 1;
	/* aligned columns in every cell: arrow, name, count, sparkline */
	char *const *label = app_class_abbrev(app, lw - 7, NULL);
	char *const *pname = app_class_abbrev(app, CELL_NAME, NULL);
	int nw = 1, cw = 1;
	for (size_t c = 0; c < s->n_classes; c++)
		if (text_cols(pname[c]) > nw)
			nw = text_cols(pname[c]);
	for (size_t r = 0; r < o->n_rows; r++)
		for (size_t k = 0; k < o->rows[r].n_cells; k++)
			for (size_t v = o->rows[r].cells[k].n, d = 1; v >= 10; v /= 10)
				if ((int)++d > cw)
					cw = (int)d;
	int cell_w = 1 + nw + 1 + cw + 1 + CELL_SPARK + 2;
	int per_row = (W - lw - 2) / cell_w;
	if (per_row < 1)
		per_row = 1;
	for (int r = 0; r < body && nav->top + (size_t)r < o->n_rows; r++) {
		size_t k = nav->top + (size_t)r;
		struct orow *row = &o->rows[k];
		int y = r + 3;
		bool sel = k == nav->cur;
		snprintf(line, sizeof line, "%5zu ", row->wrong);
		int x = draw_safe(app, w, y, 1, 6, line, role_attr(ROLE_WRONG), false) + 1;
		draw_safe(app, w, y, x, lw - 7, label[row->label],
		          role_attr(sel ? ROLE_SELECTION : ROLE_NORMAL), true);
		/* the cells, scrolled so the cursor's cell shows */
		size_t first =
		    sel && nav->left >= (size_t)per_row ? nav->left - (size_t)per_row + 1 : 0;
		for (size_t c = first; c < row->n_cells && (int)(c - first) < per_row; c++) {
			struct ocell *cell = &row->cells[c];
			int cx = lw + 1 + (int)(c - first) * cell_w;
			bool at = sel && c == nav->left;
			attr_t a = role_attr(at ? ROLE_SELECTION : ROLE_NORMAL);
			draw_safe(app, w, y, cx, cell_w - 1, "", a, true);
			draw_safe(app, w, y, cx, 1, glyph(app, "\xe2\x86\x92", ">"), a, false);
			draw_safe(app, w, y, cx + 1, nw, pname[cell->pred], a, false);
			snprintf(line, sizeof line, "%*zu", cw, cell->n);
			draw_safe(app, w, y, cx + 2 + nw, cw, line, a, false);
			draw_sparkline(app, w, y, cx + 3 + nw + cw, CELL_SPARK, cell->hist, 10,
			               at ? a : role_attr(ROLE_ONLY_B));
		}
	}
	struct ocell *cc = &cur->cells[nav->left];
	char kh[24], kl[24], ke[24];
	snprintf(line, sizeof line,
	         "given %.40s, predicted %.40s: %zu samples   %s/%s: cell   %s: review them",
	         s->classes[cur->label], s->classes[cc->pred], cc->n,
	         keymode_key(&view_keys, "left", kh, sizeof kh),
	         keymode_key(&view_keys, "right", kl, sizeof kl),
	         keymode_key(&view_keys, "enter", ke, sizeof ke));
	draw_text(app, w, H - 1, 1, W - 2, line, role_attr(ROLE_DIM), false);
}

/* Enter: the cell's samples go to a review queue of their own. */
static int overview_enter(struct app *app, void *ctx, struct view_nav *nav)
{
	struct overview *o = ctx;
	if (nav->cur >= o->n_rows || !app->tr)
		return 0;
	struct orow *row = &o->rows[nav->cur];
	struct ocell *c = &row->cells[nav->left < row->n_cells ? nav->left : 0];
	free(app->tr->cell);
	app->tr->cell = xcalloc(c->n, sizeof *app->tr->cell);
	memcpy(app->tr->cell, c->idx, c->n * sizeof *c->idx);
	app->tr->n_cell = c->n;
	char *a = text_sanitize(app->s->classes[row->label], !app->utf8);
	char *b = text_sanitize(app->s->classes[c->pred], !app->utf8);
	snprintf(app->tr->cell_title, sizeof app->tr->cell_title, "(given %.30s, predicted %.30s)",
	         a, b);
	free(a);
	free(b);
	return view_open(app, "review");
}

/* A row matches by its given label. */
static bool overview_match(const struct app *app, const void *ctx, size_t row, const char *text)
{
	const struct overview *o = ctx;
	return row < o->n_rows && search_has(app->s->classes[o->rows[row].label], text);
}

const struct view_class view_overview = {
    .name = "labels",
    .title = "Label errors overview (Bauerle): given label -> predicted class",
    .help = "misclassified samples per given label, by predicted class",
    .prepare = overview_prepare,
    .compute = overview_compute,
    .draw = overview_draw,
    .rows = overview_rows,
    .match = overview_match,
    .enter = overview_enter,
    .free = overview_free,
};
