/*
 * view_classes.c — how far apart a model holds the classes (VAC-CNN's distribution graph,
 * classdist.h; the numbers of `nncmp classes --json`): the class distance matrix as a heat
 * matrix in the core's order (along the layout's first axis, so near classes sit together),
 * the classical-MDS layout with each class drawn at its place as in the projection, and the
 * model's closest pairs as the list (Enter: the instances of the pair the model confuses), and
 * under the matrix each model's closest pair (VAC-CNN: which classes each model separates least).
 * A key switches the model; on a narrow screen another shows the layout instead of the matrix.
 * Every distance matrix is computed on the worker (each model's on opening, for the closest
 * pairs; the next model's after the key, the old result dimmed until it lands). Class names are
 * abbreviated to the room they have, so that 15 classes named class-00 .. still read apart.
 */
#include "views.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/classdist.h"
#include "nncmp/filter.h"

struct kview {
	const struct study *s;
	size_t model;     /* the model cd holds */
	size_t want;      /* the model asked for (another while its job runs) */
	bool layout_only; /* the narrow screen's toggle: the layout instead of the matrix */
	struct class_dist cd;
	bool have;
	struct nn_err err;
	struct class_pair *closest; /* per model, its closest pair (d NaN when it failed) */
};

/* Another model's distances, on the worker. */
struct kjob {
	const struct study *s;
	size_t model;
	struct class_dist cd;
	bool have;
	struct nn_err err;
};

static void *classes_prepare(struct app *app, struct nn_err *err)
{
	if (app->s->n_classes < 2) {
		nn_err_set(err, "the study has one class");
		return NULL;
	}
	struct kview *d = xcalloc(1, sizeof *d);
	d->s = app->s;
	d->closest = xcalloc(app->s->n_models, sizeof *d->closest);
	d->model = d->want = app->a;
	return d;
}

/* Every model's closest pair (one pass over its probabilities each), then model A's whole
 * result: on the worker. */
static int classes_compute(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	struct kview *d = ctx;
	const struct study *s = d->s;
	atomic_store(&prog->total, s->n_models + 1);
	for (size_t m = 0; m < s->n_models; m++) {
		if (atomic_load(&prog->cancel))
			return nn_err_set(err, "cancelled");
		struct class_dist cd;
		struct nn_err e2 = {{0}};
		bool ok = class_dist_compute(s, m, &cd, &e2) == 0;
		d->closest[m] = ok && cd.n_pairs ? cd.pairs[0] : (struct class_pair){0, 0, NAN};
		if (ok && m == d->model) {
			d->cd = cd; /* model A's: kept, not computed again */
			d->have = true;
		} else if (ok) {
			class_dist_free(&cd);
		}
		if (!ok && m == d->model)
			d->err = e2;
		atomic_fetch_add(&prog->done, 1);
	}
	atomic_fetch_add(&prog->done, 1);
	return 0;
}

static int kjob_run(void *p, struct nn_progress *prog, struct nn_err *err)
{
	(void)prog;
	(void)err;
	struct kjob *j = p;
	j->have = class_dist_compute(j->s, j->model, &j->cd, &j->err) == 0;
	return 0;
}

/* UI thread: the model's distances replace the shown ones. */
static void kjob_done(void *ctx, void *p, int rc, const struct nn_err *err)
{
	(void)err;
	struct kview *d = ctx;
	struct kjob *j = p;
	if (rc != 0 || j->model != d->want)
		return;
	if (d->have)
		class_dist_free(&d->cd);
	d->cd = j->cd;
	d->have = j->have;
	d->err = j->err;
	d->model = j->model;
	j->have = false;
}

static void kjob_free(void *p)
{
	struct kjob *j = p;
	if (j->have)
		class_dist_free(&j->cd);
	free(j);
}

static size_t classes_rows(const void *ctx)
{
	const struct kview *d = ctx;
	return d->have ? d->cd.n_pairs : 0;
}

static void classes_free(void *ctx)
{
	struct kview *d = ctx;
	if (d->have)
		class_dist_free(&d->cd);
	free(d->closest);
	free(d);
}

/* The matrix at (y, x), cells of cw columns, rows labelled in lw columns; returns its width. */
static int draw_matrix(struct app *app, WINDOW *w, const struct kview *d, int y, int x, int lw,
                       int cw, int rows, const struct class_pair *cur)
{
	const struct class_dist *cd = &d->cd;
	size_t c = cd->c;
	char *const *ab = app_class_abbrev(app, cw - 1, NULL);
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < c; i++)
		for (size_t j = 0; j < c; j++)
			if (i != j && isfinite(cd->d[i * c + j])) {
				lo = cd->d[i * c + j] < lo ? cd->d[i * c + j] : lo;
				hi = cd->d[i * c + j] > hi ? cd->d[i * c + j] : hi;
			}
	attr_t hd = role_attr(ROLE_HEADER);
	for (size_t q = 0; q < c; q++)
		draw_text(app, w, y, x + lw + (int)q * cw, cw - 1, ab[cd->order[q]], hd, false);
	for (size_t r = 0; r < c && (int)r + 1 < rows; r++) {
		size_t i = cd->order[r];
		draw_text(app, w, y + 1 + (int)r, x, lw - 1, app->class_names[i], hd, false);
		for (size_t q = 0; q < c; q++) {
			size_t j = cd->order[q];
			double v = cd->d[i * c + j];
			char cb[16];
			if (i == j)
				snprintf(cb, sizeof cb, "%*s", cw - 1, "-");
			else if (cw - 1 >= 4)
				snprintf(cb, sizeof cb, "%*.2f", cw - 1, v);
			else /* ".43" */
				snprintf(cb, sizeof cb, "%*.0f", cw - 1, 100 * v);
			bool on =
			    cur && ((cur->i == i && cur->j == j) || (cur->i == j && cur->j == i));
			attr_t a = i == j ? role_attr(ROLE_DIM)
			           : on   ? role_attr(ROLE_SELECTION) | A_BOLD
			                  : role_attr(view_heat(hi - v, 0, hi - lo));
			draw_safe(app, w, y + 1 + (int)r, x + lw + (int)q * cw, cw - 1, cb, a,
			          false);
		}
	}
	return lw + (int)c * cw;
}

/* The MDS layout in the box (y, x, h, wd): each class's name at its place, the pair marked. */
static void draw_layout(struct app *app, WINDOW *w, const struct kview *d, int y, int x, int h,
                        int wd, const struct class_pair *cur)
{
	const struct class_dist *cd = &d->cd;
	if (h < 3 || wd < 8)
		return;
	double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
	for (size_t i = 0; i < cd->c; i++) {
		double px = cd->layout[2 * i], py = cd->layout[2 * i + 1];
		x0 = px < x0 ? px : x0;
		x1 = px > x1 ? px : x1;
		y0 = py < y0 ? py : y0;
		y1 = py > y1 ? py : y1;
	}
	/* one scale on both axes (a cell is about twice as high as wide), so distances read true */
	double sx = x1 > x0 ? (wd - 8) / (x1 - x0) : 1;
	if (y1 > y0 && (y1 - y0) * sx / 2 > h - 1)
		sx = 2 * (h - 1) / (y1 - y0);
	char *const *ab = app_class_abbrev(app, 6, NULL);
	/* a label that would cover another moves to the nearest free row; the pair's go last */
	uint8_t *used = xcalloc((size_t)h * (size_t)wd, 1);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < cd->c; i++) {
			bool on = cur && (cur->i == i || cur->j == i);
			if (on != (pass == 1))
				continue;
			double px = cd->layout[2 * i], py = cd->layout[2 * i + 1];
			int lw = text_cols(ab[i]) + 1;
			int cx = (int)lround((px - x0) * sx);
			int cy = (int)lround((y1 - py) * sx / 2);
			cx = cx < 0 ? 0 : cx > wd - lw - 1 ? wd - lw - 1 : cx;
			cy = cy < 0 ? 0 : cy >= h ? h - 1 : cy;
			for (int k = 0; k < 2 * h; k++) {
				int ty = cy + (k % 2 ? -(k + 1) / 2 : k / 2);
				if (ty < 0 || ty >= h)
					continue;
				bool free_row = true;
				for (int q = cx; q < cx + lw + 1 && q < wd; q++)
					free_row =
					    free_row && !used[(size_t)ty * (size_t)wd + (size_t)q];
				if (free_row) {
					cy = ty;
					break;
				}
			}
			for (int q = cx; q < cx + lw + 1 && q < wd; q++)
				used[(size_t)cy * (size_t)wd + (size_t)q] = 1;
			enum role r = on ? ROLE_SELECTION : (enum role)(ROLE_HEAT_1 + i % 5);
			draw_safe(app, w, y + cy, x + cx, 1, glyph(app, "\xe2\x97\x8f", "o"),
			          role_attr(r), false);
			draw_text(app, w, y + cy, x + cx + 1, lw - 1, ab[i], role_attr(r), false);
		}
	free(used);
}

/* Everything below the title line: the matrix, the layout, the closest pairs. */
static void classes_body(struct app *app, struct kview *d, WINDOW *w, struct view_nav *nav)
{
	const struct study *s = app->s;
	int H = getmaxy(w), W = getmaxx(w);
	char line[400];
	if (!d->have) {
		draw_text(app, w, 3, 2, W - 4, d->err.msg, role_attr(ROLE_ERROR), false);
		return;
	}
	const struct class_dist *cd = &d->cd;
	size_t c = cd->c;
	view_clamp(nav, cd->n_pairs, 1);
	const struct class_pair *cur = nav->cur < cd->n_pairs ? &cd->pairs[nav->cur] : NULL;
	int lw = 1;
	for (size_t i = 0; i < c; i++) {
		int t = text_cols(app->class_names[i]);
		lw = t > lw ? t : lw;
	}
	lw = (lw > 10 ? 10 : lw) + 1;
	int cw = 5;
	if (lw + (int)c * cw > W - 2)
		cw = 4;
	int mw = lw + (int)c * cw;
	/* the list of closest pairs: at the right, or below on a narrow screen */
	int list_w = 34;
	bool matrix = !d->layout_only && mw + 2 < W;
	int top = 3;
	int used = 0;
	if (matrix && (int)c + 1 <= H - top - 1)
		used = draw_matrix(app, w, d, top, 1, lw, cw, H - top, cur);
	else
		matrix = false;
	if (matrix && s->n_models > 1 && top + (int)c + 3 < H) {
		/* which pair each model separates least, under the matrix */
		int y = top + (int)c + 2;
		draw_safe(app, w, y++, 1, used, "each model's closest pair", role_attr(ROLE_HEADER),
		          false);
		int nw = 1;
		for (size_t m = 0; m < s->n_models; m++) {
			int tc = text_cols(app->model_names[m]);
			nw = tc > nw ? tc : nw;
		}
		nw = nw > 16 ? 16 : nw;
		for (size_t m = 0; m < s->n_models && y < H; m++, y++) {
			const struct class_pair *p = &d->closest[m];
			attr_t a = role_attr(m == d->model ? ROLE_SELECTION : ROLE_NORMAL);
			draw_text(app, w, y, 1, nw, s->models[m].name, a, false);
			int x = 1 + nw;
			if (isnan(p->d))
				continue;
			snprintf(line, sizeof line, " %6.4f ", p->d);
			x += draw_safe(app, w, y, x, used - x, line, a, false);
			/* the names when they fit in half the rest, else abbreviations that keep
			 * the classes apart (a cut name reads "class…" for every class) */
			char *const *ab = app_class_abbrev(app, (used + 1 - x - 3) / 2, NULL);
			x += draw_safe(app, w, y, x, used + 1 - x, ab[p->i], a, false);
			x += draw_safe(app, w, y, x, 3, " - ", a, false);
			draw_safe(app, w, y, x, used + 1 - x, ab[p->j], a, false);
		}
	}
	int rx = 1 + used + 2, rw = W - rx - 1;
	int layout_h = H - top - 1;
	if (matrix && rw < list_w + 20) {
		/* no room beside the matrix for the layout: only the list there */
		layout_h = 0;
	}
	int lx = rx, lwid = rw - list_w - 1;
	if (!matrix) {
		lx = 1;
		lwid = W - list_w - 3;
	}
	if (layout_h > 0 && lwid >= 16) {
		draw_safe(app, w, top, lx, lwid, "2-D layout (classical MDS)", role_attr(ROLE_DIM),
		          false);
		draw_layout(app, w, d, top + 1, lx, layout_h - 1, lwid, cur);
	}
	/* the closest pairs */
	int px = layout_h > 0 && lwid >= 16 ? lx + lwid + 1 : rx;
	int pw = W - px - 1;
	if (pw < 12) { /* a narrow screen: the list is with the layout */
		if (top + 1 + (int)c < H)
			draw_safe(app, w, top + 1 + (int)c, 1, W - 2,
			          "(no room for the layout and the closest pairs here: press v)",
			          role_attr(ROLE_DIM), false);
		return;
	}
	/* a narrow list (beside a wide matrix) gives the names more room: 3 decimals, "a-b" */
	bool narrow = pw < 7 + 3 + 2 * 6;
	draw_safe(app, w, top, px, pw,
	          pw >= 31 ? "closest pairs (least separated)"
	          : narrow ? "closest"
	                   : "closest pairs",
	          role_attr(ROLE_HEADER), false);
	const char *dash = narrow ? "-" : " - ";
	int nwid = (pw - (narrow ? 6 : 7) - (int)strlen(dash)) / 2;
	char *const *ab = app_class_abbrev(app, nwid, NULL);
	int body = H - top - 1;
	view_clamp(nav, cd->n_pairs, (size_t)(body > 0 ? body : 1));
	for (int r = 0; r < body && nav->top + (size_t)r < cd->n_pairs; r++) {
		size_t k = nav->top + (size_t)r;
		const struct class_pair *p = &cd->pairs[k];
		attr_t a = role_attr(k == nav->cur ? ROLE_SELECTION : ROLE_NORMAL);
		snprintf(line, sizeof line, narrow ? "%5.3f " : "%6.4f ", p->d);
		int x = px + draw_safe(app, w, top + 1 + r, px, pw, line, a, false);
		x += draw_safe(app, w, top + 1 + r, x, px + pw - x, ab[p->i], a, false);
		x += draw_safe(app, w, top + 1 + r, x, px + pw - x, dash, a, false);
		draw_safe(app, w, top + 1 + r, x, px + pw - x, ab[p->j], a, false);
	}
}

static void classes_draw(struct app *app, void *ctx, WINDOW *w, struct view_nav *nav)
{
	struct kview *d = ctx;
	const struct study *s = app->s;
	int H = getmaxy(w), W = getmaxx(w);
	char line[400], km[24], kl[24];
	struct keymode *keys = view_own_keys(app);
	bool stale = d->want != d->model;
	if (stale)
		/* the old model's result stays, dimmed, until the new one lands */
		snprintf(line, sizeof line, "model %.40s: computing %s (below, dimmed: %.40s)",
		         s->models[d->want].name, glyph(app, "\xe2\x80\xa6", "..."),
		         s->models[d->model].name);
	else {
		keymode_key(keys, "model", km, sizeof km);
		keymode_key(keys, "layout", kl, sizeof kl);
		snprintf(line, sizeof line,
		         "model %.40s: distance between classes (mean 1 - P[other], both ways)   "
		         "%s: next model   %s: layout / matrix",
		         s->models[d->model].name, km, kl);
		if ((int)strlen(line) > W - 2) /* the keys stay readable at 100 columns */
			snprintf(line, sizeof line,
			         "model %.40s: mean 1 - P[other]   %s: next model   %s: layout",
			         s->models[d->model].name, km, kl);
	}
	draw_text(app, w, 1, 1, W - 2, line, role_attr(ROLE_HEADER), false);
	classes_body(app, d, w, nav);
	if (stale)
		view_dim(w, 2, H, 0, -1);
}

/* m: the next model (arg 0); v: the layout instead of the matrix, or back (1). */
static int classes_act(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	struct kview *d = ctx;
	if (arg == 1) {
		d->layout_only = !d->layout_only;
		return 0;
	}
	d->want = (d->want + 1) % app->s->n_models;
	struct kjob *j = xcalloc(1, sizeof *j);
	j->s = app->s;
	j->model = d->want;
	char what[64];
	snprintf(what, sizeof what, "class distances of %.40s", app->s->models[d->want].name);
	view_submit(app, what, j, kjob_run, kjob_done, kjob_free);
	nav->cur = nav->top = 0;
	return 0;
}

/* A pair matches by either class's name. */
static bool classes_match(const struct app *app, const void *ctx, size_t row, const char *text)
{
	const struct kview *d = ctx;
	if (!d->have || row >= d->cd.n_pairs)
		return false;
	return search_has(app->s->classes[d->cd.pairs[row].i], text) ||
	       search_has(app->s->classes[d->cd.pairs[row].j], text);
}

static struct key_action classes_acts[] = {
    {"model", "the next model", classes_act, 0, K('m')},
    {"layout", "the 2-D layout instead of the matrix (again: the matrix)", classes_act, 1, K('v')},
};
static KEYMODE(classes_keys, "classes", "Keys of the class distances", classes_acts);

/* Enter: the instances of the pair's classes that the model gives to the other one. */
static int classes_enter(struct app *app, void *ctx, struct view_nav *nav)
{
	struct kview *d = ctx;
	if (!d->have || nav->cur >= d->cd.n_pairs)
		return 0;
	const struct class_pair *p = &d->cd.pairs[nav->cur];
	char *one = filter_confusion_cell(app->s, (int)p->i, (int)p->j, d->model, -1);
	char *two = filter_confusion_cell(app->s, (int)p->j, (int)p->i, d->model, -1);
	char *g = xasprintf("(%s) or (%s)", one, two);
	free(one);
	free(two);
	int rc = app_set_filter(app, g, AGREE_CUSTOM, -1, true) | VIEW_CLOSE;
	free(g);
	return rc;
}

const struct view_class view_classdist = {
    .name = "classes",
    .title = "Distances between classes",
    .help = "VAC-CNN's class distances as a matrix and a 2-D layout; the closest pairs",
    .prepare = classes_prepare,
    .compute = classes_compute,
    .draw = classes_draw,
    .rows = classes_rows,
    .keys = &classes_keys,
    .match = classes_match,
    .enter = classes_enter,
    .free = classes_free,
    .follows_models = true,
};
