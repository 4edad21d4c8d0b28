/*
 * view_matrix.c — the subset × neuron matrix (ActiVis) of the neuron pane's layer: the mean
 * activation of every neuron over each class of the shown instances, or over the outcomes of the
 * pair (both right, only A, only B, both wrong) and the shown instances against the rest. Means
 * come from matrices.h; the cells are heat-coloured on the range of the matrix.
 */
#include "views.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/filter.h"
#include "nncmp/matrices.h"
#include "nncmp/text.h"
#include "nncmp/viewfile.h"

#define CELL_W 7

struct matrix_ctx {
	const struct npy *act;
	char *model, *layer; /* raw names, for the sort key */
	struct matrices_subsets sets[3];
	struct matrices_means means[3];
	bool have[3];
	int mode; /* 0: classes, 1: outcomes of the pair and filter vs rest, 2: the :row rows */
	uint32_t *order; /* display order of the neurons */
	bool sorted;
	size_t sorted_row;
	size_t col_off; /* first neuron column shown */
	double lo[3], hi[3];
	size_t n_sel;
	char pair[160];
};

static void matrix_free(void *p);

static void *matrix_prepare(struct app *app, struct nn_err *err)
{
	const struct study *s = app->s;
	int m, l;
	if (!view_layer(app, &m, &l, err))
		return NULL;
	struct matrix_ctx *c = xcalloc(1, sizeof *c);
	const struct layer *ly = &s->models[m].layers[l];
	c->act = &ly->act;
	c->model = xstrdup(s->models[m].name);
	c->layer = xstrdup(ly->name);
	size_t n;
	uint32_t *sel = view_sel_sorted(app, &n);
	c->n_sel = n;
	matrices_subsets_by_group(&c->sets[0], s->labels, s->n_classes,
	                          (const char *const *)app->class_names, sel, n);
	/* the outcomes of the pair over the shown instances */
	const struct model *pa = &s->models[app->a], *pb = &s->models[app->b];
	uint32_t *buf = xcalloc(s->n ? s->n : 1, sizeof *buf);
	static const char *const outcome[4] = {"both right", "only A right", "only B right",
	                                       "both wrong"};
	for (int k = 0; k < 4; k++) {
		size_t cnt = 0;
		for (size_t j = 0; j < n; j++) {
			uint32_t i = sel[j];
			bool ra = model_pred(pa, i) == s->labels[i],
			     rb = model_pred(pb, i) == s->labels[i];
			int o = ra && rb ? 0 : ra ? 1 : rb ? 2 : 3;
			if (o == k)
				buf[cnt++] = i;
		}
		matrices_subsets_add(&c->sets[1], outcome[k], buf, cnt);
	}
	matrices_subsets_add(&c->sets[1], "shown (filter)", sel, n);
	uint8_t *in = xcalloc(s->n ? s->n : 1, 1);
	for (size_t j = 0; j < n; j++)
		in[sel[j]] = 1;
	size_t cnt = 0;
	for (size_t i = 0; i < s->n; i++)
		if (!in[i])
			buf[cnt++] = (uint32_t)i;
	matrices_subsets_add(&c->sets[1], "rest", buf, cnt);
	free(in);
	/* the :row rows, each over every instance (as nncmp matrix --rows filter) */
	size_t n_rows;
	const struct saved_row *rows = saved_rows(app, &n_rows);
	for (size_t r = 0; r < n_rows; r++) {
		struct nn_err e = {{0}};
		size_t col = 0;
		struct expr *x = expr_compile_condition(s, rows[r].expr, &e, &col);
		size_t k = x ? expr_select(x, s, buf) : 0;
		/* a row over instances that could not be read (act() of a damaged HDF5 chunk: NaN)
		 * or that no longer compiles (a saved view over another study) is refused, not
		 * shown as a smaller or empty subset */
		bool bad = !x || expr_read_error(x, &e) < 0;
		expr_free(x);
		if (bad) {
			nn_err_set(err, "row %s: %s (:row -%s removes it)", rows[r].name, e.msg,
			           rows[r].name);
			free(buf);
			free(sel);
			matrix_free(c);
			return NULL;
		}
		matrices_subsets_add(&c->sets[2], rows[r].name, buf, k);
	}
	c->mode = *saved_matrix_mode(app);
	if (c->mode == 2 && !n_rows)
		c->mode = 0;
	free(buf);
	free(sel);
	snprintf(c->pair, sizeof c->pair, "A=%.40s B=%.40s", app->model_names[app->a],
	         app->model_names[app->b]);
	c->order = xcalloc(ly->act.cols ? ly->act.cols : 1, sizeof *c->order);
	for (size_t j = 0; j < ly->act.cols; j++)
		c->order[j] = (uint32_t)j;
	return c;
}

static int matrix_compute(void *p, struct nn_progress *prog, struct nn_err *err)
{
	struct matrix_ctx *c = p;
	for (int k = 0; k < 3; k++) {
		if (k == 2 && c->sets[2].n == 0)
			break;
		if (matrices_means(c->act, &c->sets[k], prog, &c->means[k], err) != 0)
			return -1;
		c->have[k] = true;
		double lo = INFINITY, hi = -INFINITY;
		const struct matrices_means *m = &c->means[k];
		for (size_t q = 0; q < m->rows * m->cols; q++)
			if (isfinite(m->mean[q])) {
				lo = m->mean[q] < lo ? m->mean[q] : lo;
				hi = m->mean[q] > hi ? m->mean[q] : hi;
			}
		c->lo[k] = lo;
		c->hi[k] = hi;
	}
	return 0;
}

static void matrix_free(void *p)
{
	struct matrix_ctx *c = p;
	for (int k = 0; k < 3; k++) {
		matrices_subsets_free(&c->sets[k]);
		if (c->have[k])
			matrices_means_free(&c->means[k]);
	}
	free(c->order);
	free(c->model);
	free(c->layer);
	free(c);
}

static size_t matrix_rows(const void *p)
{
	const struct matrix_ctx *c = p;
	return c->means[c->mode].rows;
}

/* The view's own keys (defined with their handlers below). */
static struct keymode matrix_keys;

static void matrix_draw(struct app *app, void *p, WINDOW *w, struct view_nav *nav)
{
	struct matrix_ctx *c = p;
	const struct matrices_means *m = &c->means[c->mode];
	const struct matrices_subsets *ss = &c->sets[c->mode];
	int W = getmaxx(w), H = getmaxy(w);
	char line[512];
	char *mn = text_sanitize(c->model, !app->utf8), *ln = text_sanitize(c->layer, !app->utf8);
	snprintf(line, sizeof line,
	         "%s.%s: mean activation of each neuron (columns) over %s; %zu instance%s shown",
	         mn, ln,
	         c->mode == 2   ? "your rows (:row [NAME =] EXPR, each over every instance)"
	         : c->mode == 1 ? "outcomes of the pair and the filter vs the rest"
	                        : "each class",
	         c->n_sel, c->n_sel == 1 ? "" : "s");
	draw_safe(app, w, 1, 1, W - 2, line, role_attr(ROLE_NORMAL), false);
	char kr[24], ko[24], kh[24], kl[24], ke[24], kx[24];
	snprintf(line, sizeof line,
	         "%s: rows by %s   %s: %s   %s/%s: column   %s: sort instances by the neuron%s%s",
	         keymode_key(&matrix_keys, "rows", kr, sizeof kr),
	         c->mode == 0                       ? "outcome"
	         : c->mode == 1 && c->sets[2].n > 0 ? "your :row rows"
	                                            : "class",
	         keymode_key(&matrix_keys, "order", ko, sizeof ko),
	         c->sorted ? "neuron order" : "sort by this row",
	         keymode_key(&view_keys, "left", kh, sizeof kh),
	         keymode_key(&view_keys, "right", kl, sizeof kl),
	         keymode_key(&view_keys, "enter", ke, sizeof ke), c->mode == 2 ? "   " : "",
	         c->mode == 2 ? keymode_key(&matrix_keys, "row-remove", kx, sizeof kx) : "");
	if (c->mode == 2)
		snprintf(line + strlen(line), sizeof line - strlen(line), ": remove the row");
	draw_safe(app, w, 2, 1, W - 2, line, role_attr(ROLE_DIM), false);
	if (m->cols == 0) {
		free(mn);
		free(ln);
		return;
	}
	if (nav->left >= m->cols)
		nav->left = m->cols - 1;
	int lw = 12;
	for (size_t r = 0; r < m->rows; r++) {
		int t = text_cols(ss->names[r]) + 7;
		lw = t > lw ? t : lw;
	}
	lw = lw > 26 ? 26 : lw;
	int vis_cols = (W - lw - 1) / CELL_W;
	if (vis_cols < 1)
		vis_cols = 1;
	if (nav->left < c->col_off)
		c->col_off = nav->left;
	if (nav->left >= c->col_off + (size_t)vis_cols)
		c->col_off = nav->left - (size_t)vis_cols + 1;
	int y0 = 5, vis = H - y0 - 2;
	if (vis < 1)
		vis = 1;
	view_clamp(nav, m->rows, (size_t)vis);
	attr_t hd = role_attr(ROLE_HEADER);
	draw_safe(app, w, y0 - 1, 0, W, "", hd, true);
	snprintf(line, sizeof line, "%s (n)", c->mode == 2 ? "row" : c->mode ? "subset" : "class");
	draw_safe(app, w, y0 - 1, 1, lw - 1, line, hd, false);
	for (int k = 0; k < vis_cols && c->col_off + (size_t)k < m->cols; k++) {
		size_t pos = c->col_off + (size_t)k;
		snprintf(line, sizeof line, "%*s#%u",
		         CELL_W - 2 - snprintf(NULL, 0, "%u", c->order[pos]), "", c->order[pos]);
		draw_safe(app, w, y0 - 1, lw + k * CELL_W, CELL_W, line,
		          hd | (pos == nav->left ? A_UNDERLINE : 0), false);
	}
	for (int r = 0; r < vis && nav->top + (size_t)r < m->rows; r++) {
		size_t row = nav->top + (size_t)r;
		int y = y0 + r;
		bool cur = row == nav->cur;
		snprintf(line, sizeof line, "%.200s (%zu)", ss->names[row], m->size[row]);
		draw_safe(app, w, y, 1, lw - 1, line,
		          role_attr(cur ? ROLE_HEADER : ROLE_NORMAL) |
		              (c->sorted && row == c->sorted_row ? A_UNDERLINE : 0),
		          false);
		for (int k = 0; k < vis_cols && c->col_off + (size_t)k < m->cols; k++) {
			size_t pos = c->col_off + (size_t)k;
			double v = m->mean[row * m->cols + c->order[pos]];
			attr_t a = role_attr(view_heat(v, c->lo[c->mode], c->hi[c->mode]));
			if (cur && pos == nav->left)
				a = role_attr(ROLE_SELECTION) | A_BOLD;
			if (isnan(v))
				snprintf(line, sizeof line, "%*s", CELL_W - 1, "-");
			else
				snprintf(line, sizeof line, "%*.*f", CELL_W - 1,
				         fabs(v) < 99.5 ? 2 : 0, v);
			draw_safe(app, w, y, lw + k * CELL_W, 1, " ", role_attr(ROLE_NORMAL),
			          false);
			draw_safe(app, w, y, lw + k * CELL_W + 1, CELL_W - 1, line, a, false);
		}
	}
	/* the cursor cell, and the colour scale */
	size_t row = nav->cur < m->rows ? nav->cur : 0;
	uint32_t j = c->order[nav->left];
	double v = m->mean[row * m->cols + j];
	snprintf(line, sizeof line,
	         "%.60s, neuron %u: mean %.4g over %zu instance%s   heat: %.3g (dim) .. %.3g "
	         "(red)   columns %zu-%zu of %zu",
	         ss->names[row], j, v, m->valid[row * m->cols + j],
	         m->valid[row * m->cols + j] == 1 ? "" : "s", c->lo[c->mode], c->hi[c->mode],
	         c->col_off,
	         c->col_off + (size_t)vis_cols - 1 < m->cols - 1 ? c->col_off + (size_t)vis_cols - 1
	                                                         : m->cols - 1,
	         m->cols);
	if (H - 1 > y0)
		draw_safe(app, w, H - 1, 1, W - 2, line, role_attr(ROLE_DIM), false);
	free(mn);
	free(ln);
}

/* r: per class, per outcome or per :row (arg 0); o: sort the neurons by the cursor row, or
 * unsort (1); x: remove the :row under the cursor (2). */
static int matrix_act(struct app *app, void *p, struct view_nav *nav, long arg)
{
	struct matrix_ctx *c = p;
	size_t cols = c->means[c->mode].cols;
	if (arg == 2) {
		if (c->mode != 2 || nav->cur >= c->sets[2].n) {
			app_message(app, true,
			            "rows are removed in the rows of :row (r to show them)");
			return REDRAW_STATUS;
		}
		char *name = xstrdup(c->sets[2].names[nav->cur]);
		int rc = saved_row_remove(app, name); /* reopens the view: c is gone */
		free(name);
		return rc;
	}
	if (arg == 0) {
		c->mode = (c->mode + 1) % (c->sets[2].n ? 3 : 2);
		*saved_matrix_mode(app) = c->mode;
		c->sorted = false;
		nav->cur = nav->top = 0;
		for (size_t j = 0; j < cols; j++)
			c->order[j] = (uint32_t)j;
		return 0;
	}
	if (c->sorted) {
		for (size_t j = 0; j < cols; j++)
			c->order[j] = (uint32_t)j;
		c->sorted = false;
	} else {
		matrices_order(&c->means[c->mode], nav->cur, c->order);
		c->sorted = true;
		c->sorted_row = nav->cur;
	}
	nav->left = 0;
	c->col_off = 0;
	return 0;
}

static struct key_action matrix_acts[] = {
    {"rows", "rows: per class, or per outcome of the pair", matrix_act, 0, K('r')},
    {"order", "sort the neurons by the cursor row (again: unsorted)", matrix_act, 1, K('o')},
    {"row-remove", "remove the :row row under the cursor", matrix_act, 2, K('x')},
};
static KEYMODE(matrix_keys, "matrix", "Keys of the subset x neuron matrix", matrix_acts);

static int matrix_enter(struct app *app, void *p, struct view_nav *nav)
{
	struct matrix_ctx *c = p;
	size_t cols = c->means[c->mode].cols;
	if (cols == 0)
		return 0;
	if (nav->left >= cols)
		nav->left = cols - 1;
	char *key = xasprintf("act(%s.%s.%u)", c->model, c->layer, c->order[nav->left]);
	int rc = app_set_sort(app, key);
	free(key);
	if (rc & REDRAW_ONE(PANE_INSTANCES))
		rc |= VIEW_CLOSE;
	return rc;
}

const struct view_class view_matrix = {
    .name = "matrix",
    .title = "Subset x neuron matrix",
    .help = "mean activation of the layer's neurons per class or per outcome of the pair",
    .prepare = matrix_prepare,
    .compute = matrix_compute,
    .draw = matrix_draw,
    .rows = matrix_rows,
    .keys = &matrix_keys,
    .enter = matrix_enter,
    .free = matrix_free,
    .follows_filter = true,
    .follows_models = true,
};
