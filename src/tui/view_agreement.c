/*
 * view_agreement.c — the N-model agreement matrix: for every pair of models the fraction of
 * instances they predict alike, Cohen's kappa of their predictions, or McNemar's exact p-value
 * (metrics_pair, the numbers of `nncmp report --json`'s "pairs"), as a heat-coloured matrix over
 * the shown instances, computed on the worker. Every cell prints its number, so the matrix reads
 * without colour; a McNemar cell below 0.05 is starred. Enter on a cell makes its row model A
 * and its column model B.
 */
#include "views.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/metrics.h"

enum agree_stat { ST_AGREE, ST_KAPPA, ST_MCNEMAR, ST_COUNT };
static const char *const stat_names[ST_COUNT] = {"agreement", "Cohen's kappa", "McNemar p"};

#define CELL_W 7 /* "-0.123 " */

struct aview {
	const struct study *s;
	size_t m;              /* models */
	uint32_t *idx;         /* the shown instances, sorted */
	size_t n;              /* of them */
	double *v[ST_COUNT];   /* m × m each, symmetric; NaN on the diagonal */
	struct agreement *all; /* m × m: outcomes of (row, column) as (a, b) */
	enum agree_stat stat;
	size_t col_top; /* first column drawn */
	bool placed;    /* the cursor has been put on (A, B) */
};

static void *agree_prepare(struct app *app, struct nn_err *err)
{
	const struct study *s = app->s;
	if (s->n_models < 2) {
		nn_err_set(err, "the study has one model: agreement needs two");
		return NULL;
	}
	struct aview *d = xcalloc(1, sizeof *d);
	d->s = s;
	d->m = s->n_models;
	d->idx = view_sel_sorted(app, &d->n);
	for (int k = 0; k < ST_COUNT; k++) {
		d->v[k] = xcalloc(d->m * d->m, sizeof *d->v[k]);
		for (size_t q = 0; q < d->m * d->m; q++)
			d->v[k][q] = NAN;
	}
	d->all = xcalloc(d->m * d->m, sizeof *d->all);
	return d;
}

/* Every pair once (metrics_pair without the bootstrap), both halves of the matrix filled. */
static int agree_compute(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	struct aview *d = ctx;
	size_t m = d->m;
	atomic_store(&prog->total, m * (m - 1) / 2);
	for (size_t a = 0; a < m; a++)
		for (size_t b = a + 1; b < m; b++) {
			if (atomic_load(&prog->cancel))
				return nn_err_set(err, "cancelled");
			struct pair_metrics pm;
			metrics_pair(d->s, a, b, d->idx, d->n, 0, 0, &pm);
			double v[ST_COUNT] = {pm.agreement, pm.kappa, pm.mcnemar_p};
			for (int k = 0; k < ST_COUNT; k++)
				d->v[k][a * m + b] = d->v[k][b * m + a] = v[k];
			d->all[a * m + b] = pm.all;
			d->all[b * m + a] = (struct agreement){.both_correct = pm.all.both_correct,
			                                       .only_a = pm.all.only_b,
			                                       .only_b = pm.all.only_a,
			                                       .both_wrong = pm.all.both_wrong};
			metrics_pair_free(&pm);
			atomic_fetch_add(&prog->done, 1);
		}
	return 0;
}

static size_t agree_rows(const void *ctx)
{
	const struct aview *d = ctx;
	return d->m;
}

static void agree_free(void *ctx)
{
	struct aview *d = ctx;
	for (int k = 0; k < ST_COUNT; k++)
		free(d->v[k]);
	free(d->all);
	free(d->idx);
	free(d);
}

/* A cell's text: 3 decimals; a p-value starred below 0.05, "<.001" below 0.001. */
static void cell_text(char *buf, size_t size, enum agree_stat st, double v)
{
	if (isnan(v))
		snprintf(buf, size, "%*s", CELL_W - 1, "-");
	else if (st == ST_MCNEMAR && v < 0.001) /* the pair's line below has the value */
		snprintf(buf, size, "<.001*");
	else if (st == ST_MCNEMAR)
		snprintf(buf, size, "%5.3f%s", v, v < 0.05 ? "*" : " ");
	else
		snprintf(buf, size, "%6.3f", v);
}

static struct keymode agree_keys;

static void agree_draw(struct app *app, void *ctx, WINDOW *w, struct view_nav *nav)
{
	struct aview *d = ctx;
	const struct study *s = app->s;
	int H = getmaxy(w), W = getmaxx(w);
	size_t m = d->m;
	char line[400], kc[24];
	snprintf(line, sizeof line,
	         "%s between every pair of models over %zu instance%s%s   %s: next statistic",
	         stat_names[d->stat], d->n, d->n == 1 ? "" : "s",
	         d->n < s->n ? " (the filter)" : "",
	         keymode_key(&agree_keys, "stat", kc, sizeof kc));
	draw_safe(app, w, 1, 1, W - 2, line, role_attr(ROLE_HEADER), false);
	/* the row names' column: the longest name, at most 16 */
	int nw = 5;
	for (size_t i = 0; i < m; i++) {
		int t = text_cols(app->model_names[i]);
		nw = t > nw ? t : nw;
	}
	nw = nw > 16 ? 16 : nw;
	int x0 = 1 + nw + 1;
	size_t vis_c = W > x0 ? (size_t)(W - x0) / CELL_W : 0;
	vis_c = vis_c < 1 ? 1 : vis_c;
	if (!d->placed) { /* the view opens on the current pair */
		nav->cur = app->a;
		nav->left = app->b;
		d->placed = true;
	}
	/* h l move the cell's column; the drawn columns follow it */
	if (nav->left >= m)
		nav->left = m - 1;
	size_t col = nav->left;
	if (col < d->col_top)
		d->col_top = col;
	if (col >= d->col_top + vis_c)
		d->col_top = col - vis_c + 1;
	int body = H - 6; /* header, column names, the pair's line, the legend */
	view_clamp(nav, m, (size_t)(body > 0 ? body : 1));
	/* the scale of the heat: off-diagonal values; McNemar's p on −log10 */
	double lo = INFINITY, hi = -INFINITY;
	for (size_t q = 0; q < m * m; q++) {
		double v = d->v[d->stat][q];
		if (d->stat == ST_MCNEMAR)
			v = -log10(v > 1e-300 ? v : 1e-300);
		if (isfinite(v)) {
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
	}
	attr_t hd = role_attr(ROLE_HEADER);
	draw_safe(app, w, 2, 0, W, "", hd, true);
	draw_safe(app, w, 2, 1, nw, "A \\ B", hd, false);
	for (size_t j = d->col_top; j < m && j < d->col_top + vis_c; j++) {
		int x = x0 + (int)(j - d->col_top) * CELL_W;
		draw_text(app, w, 2, x, CELL_W - 1, s->models[j].name,
		          j == col ? hd | A_UNDERLINE : hd, false);
	}
	for (int r = 0; r < body && nav->top + (size_t)r < m; r++) {
		size_t i = nav->top + (size_t)r;
		int y = 3 + r;
		attr_t na = role_attr(i == nav->cur ? ROLE_SELECTION : ROLE_NORMAL);
		draw_text(app, w, y, 1, nw, s->models[i].name, na, false);
		for (size_t j = d->col_top; j < m && j < d->col_top + vis_c; j++) {
			int x = x0 + (int)(j - d->col_top) * CELL_W;
			double v = d->v[d->stat][i * m + j];
			double hv = d->stat == ST_MCNEMAR ? -log10(v > 1e-300 ? v : 1e-300) : v;
			char cb[32];
			cell_text(cb, sizeof cb, d->stat, v);
			attr_t a = i == j                      ? role_attr(ROLE_DIM)
			           : i == nav->cur && j == col ? role_attr(ROLE_SELECTION) | A_BOLD
			                                       : role_attr(view_heat(hv, lo, hi));
			draw_safe(app, w, y, x, CELL_W - 1, cb, a, false);
		}
	}
	/* the cursor's pair in words, on two lines so that a narrow screen keeps them */
	size_t i = nav->cur, j = col;
	int y = H - 3;
	if (i != j && i < m && j < m) {
		const struct agreement *g = &d->all[i * m + j];
		snprintf(line, sizeof line,
		         "A %.30s, B %.30s: agreement %.4f  kappa %.4f  McNemar p %.4g",
		         s->models[i].name, s->models[j].name, d->v[ST_AGREE][i * m + j],
		         d->v[ST_KAPPA][i * m + j], d->v[ST_MCNEMAR][i * m + j]);
		draw_text(app, w, y, 1, W - 2, line, role_attr(ROLE_NORMAL), false);
		snprintf(
		    line, sizeof line,
		    "  both right %lld  only A %lld  only B %lld  both wrong %lld   Enter: make "
		    "them A and B",
		    (long long)g->both_correct, (long long)g->only_a, (long long)g->only_b,
		    (long long)g->both_wrong);
		draw_safe(app, w, y + 1, 1, W - 2, line, role_attr(ROLE_NORMAL), false);
	} else {
		draw_safe(app, w, y, 1, W - 2, "the diagonal: a model against itself (h l: column)",
		          role_attr(ROLE_DIM), false);
	}
	snprintf(line, sizeof line, "rows: model A, columns: model B%s%s",
	         d->stat == ST_MCNEMAR ? "   * p < 0.05 (the pair's accuracies differ)" : "",
	         d->col_top > 0 || d->col_top + vis_c < m ? "   (h l scroll the columns)" : "");
	draw_safe(app, w, H - 1, 1, W - 2, line, role_attr(ROLE_DIM), false);
}

/* c: the next statistic (arg 1) or the previous one (−1). */
static int agree_act(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)app;
	(void)nav;
	struct aview *d = ctx;
	d->stat = (enum agree_stat)(((int)d->stat + (int)arg + ST_COUNT) % ST_COUNT);
	return 0;
}

static bool agree_match(const struct app *app, const void *ctx, size_t row, const char *text)
{
	(void)ctx;
	return row < app->s->n_models && search_has(app->s->models[row].name, text);
}

static struct key_action agree_acts[] = {
    {"stat", "the next statistic: agreement, kappa, McNemar p", agree_act, 1, K('c')},
    {"stat-prev", "the previous statistic", agree_act, -1, K('C')},
};
static KEYMODE(agree_keys, "agreement", "Keys of the agreement matrix", agree_acts);

/* Enter: the cell's row becomes model A, its column model B. */
static int agree_enter(struct app *app, void *ctx, struct view_nav *nav)
{
	struct aview *d = ctx;
	size_t i = nav->cur, j = nav->left;
	if (i >= d->m || j >= d->m)
		return 0;
	if (i == j) {
		app_message(app, true, "a model against itself: pick a cell off the diagonal");
		return REDRAW_STATUS;
	}
	return app_set_models(app, app->s->models[i].name, app->s->models[j].name) | VIEW_CLOSE;
}

const struct view_class view_agreement = {
    .name = "agreement",
    .title = "Agreement of every pair of models",
    .help = "pairwise agreement, Cohen's kappa and McNemar p of all models; Enter: A and B",
    .prepare = agree_prepare,
    .compute = agree_compute,
    .draw = agree_draw,
    .rows = agree_rows,
    .keys = &agree_keys,
    .match = agree_match,
    .enter = agree_enter,
    .free = agree_free,
    .follows_filter = true,
};
