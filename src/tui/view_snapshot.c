/*
 * view_snapshot.c — two snapshots of a model compared layer by layer (CNNComparator): models A
 * and B of the pair, every layer whose weights have the same shape in both. Per layer the
 * distance ||A − B||, the relative distance ||A − B|| / ||A||, the share of weights in each level
 * of relative change d = 2|a − b| / (|a| + |b|), and for the layer under the cursor the histogram
 * of |Δw| per level (weights.h, the same computation as `nncmp diff`).
 */
#include "views.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/text.h"
#include "nncmp/weights.h"

struct snap_ctx {
	const struct model *a, *b;
	char *name_a, *name_b; /* sanitized */
	struct wdiff d;
	bool have;
};

static void *snap_prepare(struct app *app, struct nn_err *err)
{
	const struct study *s = app->s;
	const struct model *a = &s->models[app->a], *b = &s->models[app->b];
	if (app->a == app->b) {
		nn_err_set(err, "the study has one model: there is nothing to compare it with");
		return NULL;
	}
	if (!weights_comparable(a, b)) {
		/* name a pair that would work, if there is one */
		char hint[200] = "";
		for (size_t i = 0; i < s->n_models && !*hint; i++)
			for (size_t j = i + 1; j < s->n_models && !*hint; j++)
				if (weights_comparable(&s->models[i], &s->models[j]))
					snprintf(hint, sizeof hint, " (try :models %.60s %.60s)",
					         app->model_names[i], app->model_names[j]);
		nn_err_set(err,
		           "models %.60s and %.60s have no layer with weights of the same shape%s",
		           app->model_names[app->a], app->model_names[app->b], hint);
		return NULL;
	}
	struct snap_ctx *c = xcalloc(1, sizeof *c);
	c->a = a;
	c->b = b;
	c->name_a = xstrdup(app->model_names[app->a]);
	c->name_b = xstrdup(app->model_names[app->b]);
	return c;
}

static int snap_compute(void *p, struct nn_progress *prog, struct nn_err *err)
{
	struct snap_ctx *c = p;
	(void)prog;
	if (weights_diff_models(c->a, c->b, NULL, WDIFF_BINS_DEFAULT, WDIFF_DECADES_DEFAULT, &c->d,
	                        err) != 0)
		return -1;
	c->have = true;
	return 0;
}

static void snap_free(void *p)
{
	struct snap_ctx *c = p;
	if (c->have)
		weights_diff_free(&c->d);
	free(c->name_a);
	free(c->name_b);
	free(c);
}

static size_t snap_rows(const void *p)
{
	const struct snap_ctx *c = p;
	return c->d.n_layers;
}

/* A layer row matches by its name. */
static bool snap_match(const struct app *app, const void *ctx, size_t row, const char *text)
{
	(void)app;
	const struct snap_ctx *c = ctx;
	return c->have && row < c->d.n_layers && search_has(c->d.layers[row].name, text);
}

static void shape_text(const struct wdiff_layer *l, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int k = 0; k < (l->ndim < 1 ? 1 : l->ndim) && o + 24 < size; k++)
		o += (size_t)snprintf(buf + o, size - o, "%s%zu", k ? "x" : "",
		                      l->ndim < 1 ? (size_t)1 : l->dims[k]);
}

static void snap_draw(struct app *app, void *p, WINDOW *w, struct view_nav *nav)
{
	struct snap_ctx *c = p;
	const struct wdiff *d = &c->d;
	int W = getmaxx(w), H = getmaxy(w);
	char line[600];
	snprintf(line, sizeof line,
	         "A = %s, B = %s: %zu layer%s with weights of the same shape%s; d = 2|a%sb| / "
	         "(|a|+|b|) per weight",
	         c->name_a, c->name_b, d->n_layers, d->n_layers == 1 ? "" : "s",
	         d->n_skipped ? " (others skipped)" : "", glyph(app, "\xe2\x88\x92", "-"));
	draw_safe(app, w, 1, 1, W - 2, line, role_attr(ROLE_NORMAL), false);
	int nw = 5;
	for (size_t i = 0; i < d->n_layers; i++) {
		int t = (int)strlen(d->layers[i].name);
		nw = t > nw ? t : nw;
	}
	nw = nw > 16 ? 16 : nw;
	/* a narrow screen leaves out ||A|| and max |dw| (the histogram's title has them) */
	bool wide = W >= nw + 95;
	if (wide)
		snprintf(line, sizeof line,
		         " %-*s %-12s %10s %10s %9s %10s  %% of weights with d in:", nw, "layer",
		         "shape", "||A-B||", "||A||", "relative", "max |dw|");
	else
		snprintf(line, sizeof line, " %-*s %-12s %10s %9s  %% of weights with d in:", nw,
		         "layer", "shape", "||A-B||", "relative");
	draw_safe(app, w, 2, 0, W, line, role_attr(ROLE_HEADER), true);
	snprintf(line, sizeof line, " %-*s %-12s %10s %9s %s %7s %7s %7s %7s", nw, "", "", "", "",
	         wide ? "                      " : "", "[0,.1)", "[.1,.5)", "[.5,1)", "[1,2]");
	draw_safe(app, w, 3, 0, W, line, role_attr(ROLE_HEADER), true);
	int hist_h = 2 + WDIFF_LEVELS;
	int vis = H - 4 - hist_h - 1;
	if (vis < 1)
		vis = 1;
	view_clamp(nav, d->n_layers, (size_t)vis);
	int y = 4;
	for (int r = 0; r < vis && nav->top + (size_t)r < d->n_layers; r++, y++) {
		size_t k = nav->top + (size_t)r;
		const struct wdiff_layer *l = &d->layers[k];
		attr_t a = role_attr(k == nav->cur ? ROLE_SELECTION : ROLE_NORMAL);
		char shape[64];
		shape_text(l, shape, sizeof shape);
		draw_safe(app, w, y, 0, W, "", a, true);
		draw_text(app, w, y, 1, nw, l->name, a, false);
		if (wide)
			snprintf(line, sizeof line, "%-12s %10.4g %10.4g %9.4g %10.4g ", shape,
			         l->l2, l->norm_a, l->relative, l->max_abs_delta);
		else
			snprintf(line, sizeof line, "%-12s %10.4g %9.4g ", shape, l->l2,
			         l->relative);
		int x = 1 + nw + 1;
		x += draw_safe(app, w, y, x, W - x, line, a, false);
		for (int v = 0; v < WDIFF_LEVELS; v++) {
			snprintf(line, sizeof line, " %6.2f%%",
			         l->n ? 100.0 * (double)l->level_count[v] / (double)l->n : 0.0);
			x += draw_safe(app, w, y, x, W - x, line, a, false);
		}
	}
	if (d->n_layers == 0)
		draw_safe(app, w, y++, 2, W - 4, "no layer to compare", role_attr(ROLE_DIM), false);
	y++;
	if (y + hist_h > H)
		y = H - hist_h;
	if (d->n_layers == 0 || y <= 4)
		return;
	const struct wdiff_layer *l = &d->layers[nav->cur < d->n_layers ? nav->cur : 0];
	char *name = text_sanitize(l->name, !app->utf8);
	if (l->max_abs_delta == 0)
		snprintf(line, sizeof line, "%s: identical in A and B (every |dw| is 0)", name);
	else if (l->bins > 1)
		snprintf(
		    line, sizeof line,
		    "%s, %zu weight%s, ||A|| %.4g: |dw| per level of d; bin 0 is [0, %.3g), then "
		    "%zu log-spaced bins up to max |dw| %.4g",
		    name, l->n, l->n == 1 ? "" : "s", l->norm_a, l->bin_edges[1], l->bins - 1,
		    l->max_abs_delta);
	else
		snprintf(line, sizeof line, "%s: one bin, [0, %.4g]", name, l->max_abs_delta);
	free(name);
	draw_safe(app, w, y++, 1, W - 2, line, role_attr(ROLE_NORMAL) | A_BOLD, false);
	snprintf(line, sizeof line,
	         "  %-16s %9s %7s  |dw|, small %s large (each line scaled to its "
	         "tallest bin)",
	         "relative change", "weights", "%", glyph(app, "\xe2\x86\x92", "->"));
	draw_safe(app, w, y++, 0, W, line, role_attr(ROLE_HEADER), true);
	static const enum role level_role[WDIFF_LEVELS] = {ROLE_RIGHT, ROLE_HEAT_1, ROLE_ONLY_B,
	                                                   ROLE_WRONG};
	for (int v = 0; v < WDIFF_LEVELS && y < H; v++, y++) {
		char range[64];
		snprintf(range, sizeof range, "d in [%g, %g%s", wdiff_level_edges[v],
		         wdiff_level_edges[v + 1], v == WDIFF_LEVELS - 1 ? "]" : ")");
		snprintf(line, sizeof line, "  %-16s %9zu %6.2f%%  ", range, l->level_count[v],
		         l->n ? 100.0 * (double)l->level_count[v] / (double)l->n : 0.0);
		int x = draw_safe(app, w, y, 0, W, line, role_attr(ROLE_NORMAL), false);
		x += draw_safe(app, w, y, x, 1, glyph(app, "\xe2\x94\x82", "|"),
		               role_attr(ROLE_DIM), false);
		if (x + (int)l->bins + 1 < W) {
			const size_t *h = &l->hist[(size_t)v * l->bins];
			double *hv = xcalloc(l->bins ? l->bins : 1, sizeof *hv);
			for (size_t j = 0; j < l->bins; j++)
				hv[j] = (double)h[j];
			draw_sparkline(app, w, y, x, (int)l->bins, hv, l->bins,
			               role_attr(level_role[v]));
			free(hv);
			draw_safe(app, w, y, x + (int)l->bins, 1, glyph(app, "\xe2\x94\x82", "|"),
			          role_attr(ROLE_DIM), false);
		}
	}
}

const struct view_class view_snapshot = {
    .name = "snapshot",
    .title = "Snapshot comparison",
    .help = "models A and B as two snapshots: weight change per layer (needs equal shapes)",
    .prepare = snap_prepare,
    .compute = snap_compute,
    .draw = snap_draw,
    .rows = snap_rows,
    .match = snap_match,
    .enter = NULL,
    .free = snap_free,
    .follows_models = true,
};
