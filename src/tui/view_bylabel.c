/*
 * view_bylabel.c — instances by label (ActiVis' instance selection): one row per true class of
 * the shown instances, those model A gets right on the left and those it gets wrong on the
 * right, each wrong one marked with the class A predicted. Images as thumbnails (the grid's
 * picture(), gfx.h), texts as a few wrapped lines, else the instance's id. h/l move along a
 * row (each row scrolls by itself), j/k between rows, w jumps between the two sides, Enter puts
 * the instance table's cursor on the instance.
 */
#include "gfx.h"
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/text.h"

#define CELL_ROWS_IMG  4 /* a thumbnail's rows, without its caption */
#define CELL_COLS_IMG  10
#define CELL_ROWS_TEXT 2
#define CELL_COLS_TEXT 22

struct byl_row {
	uint32_t *idx[2]; /* right, wrong: instances in the selection's order */
	size_t n[2];
	size_t at;       /* the cursor: 0..n[0]+n[1]-1 (right ones first) */
	size_t first[2]; /* first cell shown on each side */
};

struct bylabel {
	struct byl_row *rows; /* one per class */
	size_t n_classes;
	size_t model; /* model A when the view opened */
	bool images;
	int shown; /* graphics slots in use, as last drawn */
	int per_side;
	/* for compute (the worker), freed by it: the study and a copy of the selection */
	const struct study *s;
	uint32_t *sel;
	size_t n_sel;
};

static void *byl_prepare(struct app *app, struct nn_err *err)
{
	const struct study *s = app->s;
	if (app->n_sel == 0) {
		nn_err_set(err, "no instance is shown");
		return NULL;
	}
	struct bylabel *v = xcalloc(1, sizeof *v);
	v->n_classes = s->n_classes;
	v->model = app->a;
	v->images = s->images && app->gfx && gfx_mode(app->gfx) != GFX_NONE;
	v->rows = xcalloc(s->n_classes ? s->n_classes : 1, sizeof *v->rows);
	v->s = s;
	v->n_sel = app->n_sel;
	v->sel = xreallocarray(NULL, app->n_sel, sizeof *v->sel);
	memcpy(v->sel, app->sel, app->n_sel * sizeof *v->sel);
	return v;
}

/* Splits the shown instances by label and by A's being right: two passes over them, 40 ms at
 * 4M, more than a frame, so on the worker unless byl_quick. */
static int byl_compute(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	(void)prog;
	(void)err;
	struct bylabel *v = ctx;
	const struct study *s = v->s;
	const struct model *ma = &s->models[v->model];
	size_t *fill = xcalloc(2 * (s->n_classes ? s->n_classes : 1), sizeof *fill);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < v->n_sel; k++) {
			uint32_t i = v->sel[k];
			int32_t t = s->labels[i];
			if (t < 0 || (size_t)t >= s->n_classes)
				continue; /* removed by a decision */
			struct byl_row *r = &v->rows[t];
			int side = model_pred(ma, i) != t;
			if (pass == 0)
				r->n[side]++;
			else
				r->idx[side][fill[2 * t + side]++] = i;
		}
		for (size_t c = 0; pass == 0 && c < s->n_classes; c++)
			for (int sd = 0; sd < 2; sd++)
				v->rows[c].idx[sd] = xcalloc(
				    v->rows[c].n[sd] ? v->rows[c].n[sd] : 1, sizeof(uint32_t));
	}
	free(fill);
	free(v->sel);
	v->sel = NULL;
	return 0;
}

/* Up to this many shown instances the split takes under a millisecond: done at once. */
static bool byl_quick(const void *ctx)
{
	const struct bylabel *v = ctx;
	return v->n_sel <= 100000;
}

static size_t byl_rows(const void *ctx)
{
	const struct bylabel *v = ctx;
	return v->n_classes;
}

static void byl_free(void *ctx)
{
	struct bylabel *v = ctx;
	for (size_t c = 0; c < v->n_classes; c++) {
		free(v->rows[c].idx[0]);
		free(v->rows[c].idx[1]);
	}
	free(v->rows);
	free(v->sel);
	free(v);
}

/* The instance under row r's cursor, or SIZE_MAX for an empty row. */
static size_t byl_at(const struct byl_row *r)
{
	if (r->n[0] + r->n[1] == 0)
		return SIZE_MAX;
	size_t a = r->at < r->n[0] + r->n[1] ? r->at : r->n[0] + r->n[1] - 1;
	return a < r->n[0] ? r->idx[0][a] : r->idx[1][a - r->n[0]];
}

/* One cell: the picture or text of instance i at (y, x), its caption under it. */
static void byl_cell(struct app *app, struct bylabel *v, WINDOW *w, int y, int x, int rows,
                     int cols, size_t i, bool wrong, bool cur, int *slot)
{
	const struct study *s = app->s;
	if (v->images) {
		view_picture(app, w, y, x, rows, cols, i, GFX_SLOT_GRID + *slot);
		(*slot)++;
	} else if (s->texts && s->texts[i]) {
		detail_draw_wrapped(app, w, y, x, rows, cols, s->texts[i],
		                    role_attr(cur ? ROLE_SELECTION : ROLE_NORMAL));
	}
	char cap[96], idb[32];
	attr_t a = role_attr(cur ? ROLE_SELECTION : wrong ? ROLE_WRONG : ROLE_DIM);
	if (wrong) {
		int32_t p = v->model < s->n_models ? model_pred(&s->models[v->model], i) : -1;
		const char *pn = p >= 0 && (size_t)p < s->n_classes
		                     ? app_class_abbrev(app, cols - 2 > 1 ? cols - 2 : 1, NULL)[p]
		                     : "?";
		snprintf(cap, sizeof cap, "%s%s", glyph(app, "\xe2\x86\x92", ">"), pn);
		draw_safe(app, w, y + rows, x, cols, cap, a | A_BOLD, true);
	} else {
		draw_safe(app, w, y + rows, x, cols, "", a, true);
		view_draw_tail(app, w, y + rows, x, cols, study_instance_id(s, i, idb, sizeof idb),
		               a);
	}
}

static void byl_draw(struct app *app, void *ctx, WINDOW *w, struct view_nav *nav)
{
	struct bylabel *v = ctx;
	const struct study *s = app->s;
	int H = getmaxy(w), W = getmaxx(w);
	int crows = v->images ? CELL_ROWS_IMG : s->texts ? CELL_ROWS_TEXT : 0;
	int ccols = v->images ? CELL_COLS_IMG : s->texts ? CELL_COLS_TEXT : 14;
	int band = 2 + crows; /* the class line, the cells, their captions */
	char line[256], kw[24];
	snprintf(line, sizeof line,
	         "model %.40s: right on the left, wrong on the right (-> its prediction)   "
	         "h/l move   j/k class   %s: other side   Enter: to the table",
	         app->model_names[v->model],
	         keymode_key(view_own_keys(app), "side", kw, sizeof kw));
	draw_safe(app, w, 1, 1, W - 2, line, role_attr(ROLE_DIM), false);
	int vis = (H - 3) / band;
	vis = vis < 1 ? 1 : vis;
	view_clamp(nav, v->n_classes, (size_t)vis);
	int half = (W - 3) / 2;
	int per = half / (ccols + 1);
	per = per < 1 ? 1 : per;
	v->per_side = per;
	int slot = 0;
	for (int k = 0; k < vis && nav->top + (size_t)k < v->n_classes; k++) {
		size_t c = nav->top + (size_t)k;
		struct byl_row *r = &v->rows[c];
		int y = 2 + k * band;
		bool cur_row = c == nav->cur;
		size_t tot = r->n[0] + r->n[1];
		if (tot && r->at >= tot)
			r->at = tot - 1;
		int side_at = r->at < r->n[0] ? 0 : 1;
		size_t pos_at = side_at ? r->at - r->n[0] : r->at;
		for (int sd = 0; sd < 2; sd++) { /* each side scrolls to keep its cursor shown */
			size_t p = sd == side_at ? pos_at : r->first[sd];
			if (p < r->first[sd])
				r->first[sd] = p;
			if (p >= r->first[sd] + (size_t)per)
				r->first[sd] = p - (size_t)per + 1;
		}
		for (int sd = 0; sd < 2; sd++) {
			int x0 = 1 + sd * (half + 1);
			size_t last = r->first[sd] + (size_t)per < r->n[sd]
			                  ? r->first[sd] + (size_t)per
			                  : r->n[sd];
			if (sd == 0)
				snprintf(line, sizeof line, "%s: %zu right", app->class_names[c],
				         r->n[0]);
			else
				snprintf(line, sizeof line, "%zu wrong", r->n[1]);
			int u = draw_safe(app, w, y, x0, half, line,
			                  role_attr(cur_row ? ROLE_HEADER
			                            : sd    ? ROLE_WRONG
			                                    : ROLE_NORMAL) |
			                      A_BOLD,
			                  false);
			if (r->n[sd] > (size_t)per) { /* where this side has scrolled to */
				snprintf(line, sizeof line, "  %zu-%zu of %zu", r->first[sd] + 1,
				         last, r->n[sd]);
				draw_safe(app, w, y, x0 + u, half - u, line, role_attr(ROLE_DIM),
				          false);
			}
			for (size_t p = r->first[sd]; p < last; p++) {
				bool cur = cur_row && sd == side_at && p == pos_at;
				byl_cell(app, v, w, y + 1,
				         x0 + (int)(p - r->first[sd]) * (ccols + 1), crows, ccols,
				         r->idx[sd][p], sd == 1, cur, &slot);
			}
		}
		for (int q = 0; q <= crows; q++)
			draw_safe(app, w, y + 1 + q, 1 + half, 1, glyph(app, "\xe2\x94\x82", "|"),
			          role_attr(ROLE_DIM), false);
	}
	for (int j = slot; j < v->shown; j++)
		gfx_hide(app->gfx, GFX_SLOT_GRID + j);
	v->shown = slot;
	size_t i = byl_at(&v->rows[nav->cur < v->n_classes ? nav->cur : 0]);
	if (i != SIZE_MAX && H > 3) {
		char idb[32], lab[128], full[400];
		app_label_text(app, i, lab, sizeof lab);
		char *id = text_sanitize(study_instance_id(s, i, idb, sizeof idb), !app->utf8);
		snprintf(full, sizeof full, "%s: label %s, %.40s predicts %s", id, lab,
		         app->model_names[v->model],
		         app->class_names[model_pred(&s->models[v->model], i)]);
		free(id);
		draw_safe(app, w, H - 1, 1, W - 2, full, role_attr(ROLE_NORMAL), false);
	}
}

/* h/l: a cell left or right along the row (arg -1, 1); w: the other side (arg 0). */
static int byl_act(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)app;
	struct bylabel *v = ctx;
	if (nav->cur >= v->n_classes)
		return 0;
	struct byl_row *r = &v->rows[nav->cur];
	size_t tot = r->n[0] + r->n[1];
	if (!tot)
		return 0;
	if (arg == 0)
		r->at =
		    r->at < r->n[0]
		        ? (r->n[1] ? r->n[0] + (r->first[1] < r->n[1] ? r->first[1] : 0) : r->at)
		        : (r->n[0] ? r->first[0] : r->at);
	else if (arg < 0)
		r->at = r->at ? r->at - 1 : 0;
	else
		r->at = r->at + 1 < tot ? r->at + 1 : tot - 1;
	return 0;
}

static struct key_action byl_acts[] = {
    {"left", "the previous instance of the class", byl_act, -1, K('h', KEY_LEFT)},
    {"right", "the next instance of the class", byl_act, 1, K('l', KEY_RIGHT)},
    {"side", "from the right ones to the wrong ones and back", byl_act, 0, K('w', '\t')},
};
static KEYMODE(byl_keys, "bylabel", "Keys of the instances by label", byl_acts);

/* Enter: the table's cursor goes to the instance under the cursor. */
static int byl_enter(struct app *app, void *ctx, struct view_nav *nav)
{
	struct bylabel *v = ctx;
	size_t i = nav->cur < v->n_classes ? byl_at(&v->rows[nav->cur]) : SIZE_MAX;
	if (i == SIZE_MAX)
		return 0;
	for (size_t k = 0; k < app->n_sel; k++)
		if (app->sel[k] == i) {
			app->panes[PANE_INSTANCES].nav.cur = k;
			app->focus = PANE_INSTANCES;
			return VIEW_CLOSE | REDRAW_ALL;
		}
	app_message(app, true, "that instance is no longer shown");
	return REDRAW_STATUS;
}

static bool byl_match(const struct app *app, const void *ctx, size_t row, const char *text)
{
	(void)ctx;
	return row < app->s->n_classes && search_has(app->class_names[row], text);
}

const struct view_class view_bylabel = {
    .name = "bylabel",
    .title = "Instances by label",
    .help = "per true class, the instances model A gets right and those it gets wrong",
    .prepare = byl_prepare,
    .compute = byl_compute,
    .quick = byl_quick,
    .draw = byl_draw,
    .rows = byl_rows,
    .keys = &byl_keys,
    .match = byl_match,
    .enter = byl_enter,
    .free = byl_free,
    .follows_filter = true,
    .follows_models = true,
};
