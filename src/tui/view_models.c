/*
 * view_models.c — the N-model table (VAC-CNN): one row per model with its accuracy, macro-F1,
 * top-k accuracy and calibration error over the shown instances, sortable by any column; below,
 * the spread of per-class recall across the models, the classes where the models diverge most
 * first (metrics_class_spread, as `nncmp report --json` prints it in class_spread). The numbers
 * are copies of app->mm (metrics.h, over the selection) taken at open.
 */
#include "views.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { COL_NAME, COL_ACC, COL_F1, COL_TOPK, COL_ECE, COL_RIGHT, N_COLS };
static const char *const col_names[N_COLS] = {"model", "accuracy", "macro-F1",
                                              "top-k", "ECE",      "right"};

struct mrow {
	size_t m;
	double v[N_COLS]; /* COL_NAME unused */
};

struct models_ctx {
	size_t n_models, n_classes, n_sel;
	char **names;       /* borrowed from app->model_names */
	char **class_names; /* borrowed from app->class_names */
	struct mrow *rows;
	struct class_spread *spread;
	int topk_k; /* the k of the top-k column, 0 when none */
	int sort_col;
	size_t a, b;
};

static const struct models_ctx *sort_ctx;

static int cmp_rows(const void *pa, const void *pb)
{
	const struct mrow *a = pa, *b = pb;
	int col = sort_ctx->sort_col;
	if (col == COL_NAME)
		return strcmp(sort_ctx->names[a->m], sort_ctx->names[b->m]);
	double x = a->v[col], y = b->v[col];
	bool up = col == COL_ECE; /* lower is better: best first */
	if (isnan(x) != isnan(y))
		return isnan(x) ? 1 : -1;
	if (x != y && !isnan(x))
		return (up ? x < y : x > y) ? -1 : 1;
	return a->m < b->m ? -1 : a->m > b->m;
}

static void models_sort(struct models_ctx *c)
{
	sort_ctx = c; /* qsort has no context argument; UI thread only */
	qsort(c->rows, c->n_models, sizeof *c->rows, cmp_rows);
	sort_ctx = NULL;
}

static void *models_prepare(struct app *app, struct nn_err *err)
{
	if (!app->have_metrics) { /* the first counts are on the worker (app_recompute) */
		nn_err_set(err, "the models' metrics are still being computed; open it again when "
		                "the Models pane shows them");
		return NULL;
	}
	const struct study *s = app->s;
	struct models_ctx *c = xcalloc(1, sizeof *c);
	c->n_models = s->n_models;
	c->n_classes = s->n_classes;
	c->n_sel = app->n_sel;
	c->names = app->model_names;
	c->class_names = app->class_names;
	c->a = app->a;
	c->b = app->b;
	c->rows = xcalloc(s->n_models, sizeof *c->rows);
	for (size_t m = 0; m < s->n_models; m++) {
		const struct model_metrics *mm = &app->mm[m];
		if (mm->n_topk && mm->topk_k[mm->n_topk - 1] > c->topk_k)
			c->topk_k = mm->topk_k[mm->n_topk - 1];
	}
	for (size_t m = 0; m < s->n_models; m++) {
		const struct model_metrics *mm = &app->mm[m];
		struct mrow *r = &c->rows[m];
		r->m = m;
		bool empty = app->n_sel == 0;
		r->v[COL_ACC] = empty ? NAN : mm->accuracy;
		r->v[COL_F1] = empty ? NAN : mm->macro_f1;
		r->v[COL_TOPK] = NAN;
		for (size_t k = 0; k < mm->n_topk; k++)
			if (mm->topk_k[k] == c->topk_k && !empty)
				r->v[COL_TOPK] = mm->topk[k];
		r->v[COL_ECE] = mm->has_probs ? mm->ece : NAN;
		r->v[COL_RIGHT] = (double)mm->correct;
	}
	c->sort_col = COL_ACC;
	models_sort(c);
	c->spread = xcalloc(s->n_classes ? s->n_classes : 1, sizeof *c->spread);
	metrics_class_spread(app->mm, s->n_models, s->n_classes, c->spread);
	return c;
}

static void models_free(void *p)
{
	struct models_ctx *c = p;
	free(c->rows);
	free(c->spread);
	free(c);
}

static size_t models_rows(const void *p)
{
	const struct models_ctx *c = p;
	return c->n_models;
}

static void num(char *buf, size_t size, double v, int width)
{
	if (isnan(v))
		snprintf(buf, size, "%*s", width, "-");
	else
		snprintf(buf, size, "%*.4f", width, v);
}

static void models_draw(struct app *app, void *p, WINDOW *w, struct view_nav *nav)
{
	struct models_ctx *c = p;
	int W = getmaxx(w), H = getmaxy(w);
	char line[600], cell[6][32];
	snprintf(
	    line, sizeof line,
	    "%zu model%s over the %zu shown instance%s; sorted by %s   o or < >: sort column   "
	    "Enter: make the model A",
	    c->n_models, c->n_models == 1 ? "" : "s", c->n_sel, c->n_sel == 1 ? "" : "s",
	    col_names[c->sort_col]);
	draw_safe(app, w, 1, 1, W - 2, line, role_attr(ROLE_DIM), false);
	int nw = 8;
	for (size_t m = 0; m < c->n_models; m++) {
		int t = text_cols(c->names[m]);
		nw = t > nw ? t : nw;
	}
	nw = nw > 24 ? 24 : nw;
	/* the model table gets up to half the rows; the spread table the rest */
	int avail = H - 3;
	int mt = (int)c->n_models + 1;
	int spread_min = (int)c->n_classes + 3 < 8 ? (int)c->n_classes + 3 : 8;
	if (mt > avail - spread_min)
		mt = avail - spread_min > 4 ? avail - spread_min : (avail > 4 ? 4 : avail);
	char topk_head[16];
	snprintf(topk_head, sizeof topk_head, c->topk_k ? "top-%d" : "top-k", c->topk_k);
	int y = 3;
	snprintf(line, sizeof line, "   %-*s %9s %9s %9s %9s %8s", nw, "model", "accuracy",
	         "macro-F1", topk_head, "ECE", "right");
	draw_safe(app, w, y, 0, W, line, role_attr(ROLE_HEADER), true);
	/* underline the sort column's heading */
	{
		int x = c->sort_col == COL_NAME ? 3 : 3 + nw + 1 + (c->sort_col - 1) * 10;
		int cw = c->sort_col == COL_NAME ? nw : c->sort_col == COL_RIGHT ? 8 : 9;
		if (x + cw <= W)
			mvwchgat(w, y, x, cw, role_attr(ROLE_HEADER) | A_UNDERLINE, 0, NULL);
	}
	int vis = mt - 1;
	if (vis < 1)
		vis = 1;
	view_clamp(nav, c->n_models, (size_t)vis);
	for (int r = 0; r < vis && nav->top + (size_t)r < c->n_models; r++) {
		size_t k = nav->top + (size_t)r;
		const struct mrow *row = &c->rows[k];
		attr_t a = role_attr(k == nav->cur ? ROLE_SELECTION : ROLE_NORMAL);
		y = 4 + r;
		draw_safe(app, w, y, 0, W, "", a, true);
		draw_safe(app, w, y, 1, 1,
		          row->m == c->a   ? "A"
		          : row->m == c->b ? "B"
		                           : " ",
		          a | A_BOLD, false);
		draw_safe(app, w, y, 3, nw, c->names[row->m], a, false);
		num(cell[0], sizeof cell[0], row->v[COL_ACC], 9);
		num(cell[1], sizeof cell[1], row->v[COL_F1], 9);
		num(cell[2], sizeof cell[2], row->v[COL_TOPK], 9);
		num(cell[3], sizeof cell[3], row->v[COL_ECE], 9);
		snprintf(line, sizeof line, "%s %s %s %s %8.0f", cell[0], cell[1], cell[2], cell[3],
		         row->v[COL_RIGHT]);
		draw_safe(app, w, y, 3 + nw + 1, W - nw - 4, line, a, false);
	}
	/* the spread of per-class recall */
	y = 4 + vis + 1;
	if (y + 1 >= H)
		return;
	snprintf(
	    line, sizeof line,
	    "Recall per class across the models: where they diverge most (spread = max %s min)",
	    glyph(app, "\xe2\x88\x92", "-"));
	draw_safe(app, w, y++, 1, W - 2, line, role_attr(ROLE_NORMAL) | A_BOLD, false);
	int cw = 5;
	for (size_t k = 0; k < c->n_classes; k++) {
		int t = text_cols(c->class_names[k]);
		cw = t > cw ? t : cw;
	}
	cw = cw > 16 ? 16 : cw;
	int mw = nw > 14 ? 14 : nw < 12 ? 12 : nw;
	snprintf(line, sizeof line, "   %-*s %7s %7s %7s  %-*s %-*s  %s", cw, "class", "shown",
	         "min", "max", mw, "model at min", mw, "model at max", "spread");
	draw_safe(app, w, y++, 0, W, line, role_attr(ROLE_HEADER), true);
	int bar_x = 3 + cw + 1 + 24 + 2 + 2 * mw + 3;
	int bar_w = W - bar_x - 8;
	bar_w = bar_w > 30 ? 30 : bar_w;
	size_t shown = 0;
	for (size_t k = 0; k < c->n_classes && y < H - (k + 1 < c->n_classes ? 1 : 0); k++, y++) {
		const struct class_spread *sp = &c->spread[k];
		draw_safe(app, w, y, 3, cw, c->class_names[sp->c], role_attr(ROLE_NORMAL), false);
		if (isnan(sp->lo)) {
			snprintf(line, sizeof line, "%7lld %7s %7s", (long long)sp->support, "-",
			         "-");
			draw_safe(app, w, y, 3 + cw + 1, W - cw - 4, line, role_attr(ROLE_DIM),
			          false);
		} else {
			snprintf(line, sizeof line, "%7lld %7.3f %7.3f  ", (long long)sp->support,
			         sp->lo, sp->hi);
			int x = 3 + cw + 1;
			x += draw_safe(app, w, y, x, W - x, line, role_attr(ROLE_NORMAL), false);
			draw_safe(app, w, y, x, mw, c->names[sp->at_lo], role_attr(ROLE_WORSE),
			          false);
			x += mw + 1;
			draw_safe(app, w, y, x, mw, c->names[sp->at_hi], role_attr(ROLE_BETTER),
			          false);
			x += mw + 2;
			snprintf(line, sizeof line, "%5.3f ", sp->hi - sp->lo);
			x += draw_safe(app, w, y, x, W - x, line, role_attr(ROLE_NORMAL) | A_BOLD,
			               false);
			if (bar_w > 2)
				draw_bar(app, w, y, x, bar_w, sp->hi - sp->lo,
				         role_attr(ROLE_ONLY_B));
		}
		shown++;
	}
	if (shown < c->n_classes && y < H) {
		snprintf(line, sizeof line, "(%zu more classes, with smaller spreads)",
		         c->n_classes - shown);
		draw_safe(app, w, y, 3, W - 4, line, role_attr(ROLE_DIM), false);
	}
}

/* The sort column: the next (arg 1) or previous (-1). */
static int models_act(struct app *app, void *p, struct view_nav *nav, long arg)
{
	(void)app;
	struct models_ctx *c = p;
	size_t m = nav->cur < c->n_models ? c->rows[nav->cur].m : 0;
	c->sort_col = (c->sort_col + (arg > 0 ? 1 : N_COLS - 1)) % N_COLS;
	if (c->sort_col == COL_TOPK && !c->topk_k)
		c->sort_col = arg < 0 ? COL_F1 : COL_ECE;
	models_sort(c);
	for (size_t k = 0; k < c->n_models; k++) /* the cursor stays on its model */
		if (c->rows[k].m == m)
			nav->cur = k;
	return 0;
}

static bool models_match(const struct app *app, const void *p, size_t row, const char *text)
{
	const struct models_ctx *c = p;
	return row < c->n_models && search_has(app->s->models[c->rows[row].m].name, text);
}

static struct key_action models_acts[] = {
    {"sort-next", "sort by the next column", models_act, 1, K('o', '>')},
    {"sort-prev", "sort by the previous column", models_act, -1, K('<')},
};
static KEYMODE(models_keys, "models", "Keys of the models view", models_acts);

static int models_enter(struct app *app, void *p, struct view_nav *nav)
{
	struct models_ctx *c = p;
	if (nav->cur >= c->n_models)
		return 0;
	size_t m = c->rows[nav->cur].m;
	const struct study *s = app->s;
	if (m == app->a)
		return VIEW_CLOSE;
	/* the chosen model becomes A; B stays, or takes A's place when it was the one chosen */
	size_t b = m == app->b ? app->a : app->b;
	int rc = app_set_models(app, s->models[m].name, s->models[b].name);
	if (app->a == m)
		rc |= VIEW_CLOSE;
	return rc;
}

const struct view_class view_models = {
    .name = "models",
    .title = "Models",
    .help = "every model's accuracy, macro-F1, top-k and ECE; classes where the models diverge",
    .prepare = models_prepare,
    .compute = NULL,
    .draw = models_draw,
    .rows = models_rows,
    .keys = &models_keys,
    .match = models_match,
    .enter = models_enter,
    .free = models_free,
    .follows_filter = true,
    .follows_models = true,
};
