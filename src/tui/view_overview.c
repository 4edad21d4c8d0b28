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
#include "nncmp/overview.h"
#include "nncmp/text.h"

/* The view draws what overview.h computes, on the worker, for model A. */
struct labels_view {
	const struct study *s;
	int model;
	struct overview ov;
};

static void *overview_prepare(struct app *app, struct nn_err *err)
{
	(void)err;
	struct labels_view *o = xcalloc(1, sizeof *o);
	o->s = app->s; /* the journal, when there is one, is applied to it (triage_open) */
	o->model = (int)app->a;
	return o;
}

static int overview_view_compute(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	struct labels_view *o = ctx;
	return overview_compute(o->s, (size_t)o->model, prog, &o->ov, err);
}

static size_t overview_rows(const void *ctx)
{
	const struct labels_view *o = ctx;
	return o->ov.n_rows;
}

static void overview_view_free(void *ctx)
{
	struct labels_view *o = ctx;
	overview_free(&o->ov);
	free(o);
}

/* The widest abbreviation of a predicted class in an overview cell; its sparkline's width. */
#define CELL_NAME  6
#define CELL_SPARK 10

static void overview_draw(struct app *app, void *ctx, WINDOW *w, struct view_nav *nav)
{
	struct labels_view *lv = ctx;
	const struct overview *o = &lv->ov;
	const struct study *s = app->s;
	int H = getmaxy(w), W = getmaxx(w);
	char line[256];
	snprintf(line, sizeof line,
	         "misclassified by %.40s, per given label (most first); cells: predicted class, "
	         "count, IIES from 0.5 to 1",
	         s->models[lv->model].name);
	draw_text(app, w, 1, 1, W - 2, line, role_attr(ROLE_HEADER), false);
	if (o->n_rows == 0) {
		draw_safe(app, w, 3, 2, W - 4, "no misclassified sample left", role_attr(ROLE_DIM),
		          false);
		return;
	}
	int lw = 16, body = H - 4;
	view_clamp(nav, o->n_rows, (size_t)(body > 0 ? body : 1));
	const struct overview_row *cur = &o->rows[nav->cur];
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
		const struct overview_row *row = &o->rows[k];
		int y = r + 3;
		bool sel = k == nav->cur;
		snprintf(line, sizeof line, "%5zu ", row->errors);
		int x = draw_safe(app, w, y, 1, 6, line, role_attr(ROLE_WRONG), false) + 1;
		draw_safe(app, w, y, x, lw - 7, label[row->label],
		          role_attr(sel ? ROLE_SELECTION : ROLE_NORMAL), true);
		/* the cells, scrolled so the cursor's cell shows */
		size_t first =
		    sel && nav->left >= (size_t)per_row ? nav->left - (size_t)per_row + 1 : 0;
		for (size_t c = first; c < row->n_cells && (int)(c - first) < per_row; c++) {
			const struct overview_cell *cell = &row->cells[c];
			int cx = lw + 1 + (int)(c - first) * cell_w;
			bool at = sel && c == nav->left;
			attr_t a = role_attr(at ? ROLE_SELECTION : ROLE_NORMAL);
			draw_safe(app, w, y, cx, cell_w - 1, "", a, true);
			draw_safe(app, w, y, cx, 1, glyph(app, "\xe2\x86\x92", ">"), a, false);
			draw_safe(app, w, y, cx + 1, nw, pname[cell->pred], a, false);
			snprintf(line, sizeof line, "%*zu", cw, cell->n);
			draw_safe(app, w, y, cx + 2 + nw, cw, line, a, false);
			draw_sparkline(app, w, y, cx + 3 + nw + cw, CELL_SPARK, cell->hist,
			               OVERVIEW_BINS, at ? a : role_attr(ROLE_ONLY_B));
		}
	}
	const struct overview_cell *cc = &cur->cells[nav->left];
	char kh[24], kl[24], ke[24];
	/* the whole names when the line has room, else abbreviations that keep them apart */
	char *const *names = app->class_names;
	for (int pass = 0; pass < 2; pass++) {
		snprintf(line, sizeof line,
		         "given %s, predicted %s: %zu sample%s   %s/%s: cell   %s: review %s",
		         names[cur->label], names[cc->pred], cc->n, cc->n == 1 ? "" : "s",
		         keymode_key(&view_keys, "left", kh, sizeof kh),
		         keymode_key(&view_keys, "right", kl, sizeof kl),
		         keymode_key(&view_keys, "enter", ke, sizeof ke),
		         cc->n == 1 ? "it" : "them");
		if (text_cols(line) <= W - 2)
			break;
		names = app_class_abbrev(app, 20, NULL);
	}
	draw_safe(app, w, H - 1, 1, W - 2, line, role_attr(ROLE_DIM), false);
}

/* Enter: the cell's samples go to a review queue of their own. */
static int overview_enter(struct app *app, void *ctx, struct view_nav *nav)
{
	const struct overview *o = &((struct labels_view *)ctx)->ov;
	if (nav->cur >= o->n_rows || !app->tr)
		return 0;
	const struct overview_row *row = &o->rows[nav->cur];
	const struct overview_cell *c = &row->cells[nav->left < row->n_cells ? nav->left : 0];
	free(app->tr->cell);
	app->tr->cell = xcalloc(c->n, sizeof *app->tr->cell);
	memcpy(app->tr->cell, c->idx, c->n * sizeof *c->idx);
	app->tr->n_cell = c->n;
	/* at most 20 columns a name, cut so that classes sharing a prefix stay apart */
	char *const *ab = app_class_abbrev(app, 20, NULL);
	snprintf(app->tr->cell_title, sizeof app->tr->cell_title, "(given %s, predicted %s)",
	         ab[row->label], ab[c->pred]);
	return view_open(app, "review");
}

/* A row matches by its given label. */
static bool overview_match(const struct app *app, const void *ctx, size_t row, const char *text)
{
	const struct overview *o = &((const struct labels_view *)ctx)->ov;
	return row < o->n_rows && search_has(app->s->classes[o->rows[row].label], text);
}

const struct view_class view_overview = {
    .name = "labels",
    .title = "Label errors overview (Bauerle): given label -> predicted class",
    .help = "misclassified samples per given label, by predicted class",
    .prepare = overview_prepare,
    .compute = overview_view_compute,
    .draw = overview_draw,
    .rows = overview_rows,
    .match = overview_match,
    .enter = overview_enter,
    .free = overview_view_free,
    .follows_models = true,
};
