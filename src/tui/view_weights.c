/*
 * view_weights.c — a layer's weights as a red–green heat grid (weights.h, summarised to the
 * window as `nncmp weights` does), with the selected instance's activations of that layer beside
 * the rows: a weight matrix is (out, in), so its rows are this layer's neurons, the neurons whose
 * activations the study stores. A conv layer's (out, in, kh, kw) weights are the matrix
 * out × in·kh·kw (npy.h), and with its (N, C, H, W) activations the overlay is each output
 * channel's mean over its H·W positions.
 */
#include "views.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/text.h"
#include "nncmp/weights.h"

struct weights_ctx {
	const struct npy *w;
	char *title; /* sanitized "model.layer" */
	size_t max_rows, max_cols;
	struct weights_grid grid[2]; /* peak, mean */
	bool have[2];
	int how;
	double *act; /* the instance's activations (h values), or NULL */
	size_t h;
	size_t per_channel; /* > 0: act holds each channel's mean over this many positions */
	size_t inst;
	char inst_id[64];
	char shape[64], dtype[8];
	char layers[300]; /* "layers with weights: ..." */
	char note[400];   /* why this layer and not the neuron pane's, or "" */
};

/* Whether layer l of model m holds weights. */
static bool has_weights(const struct study *s, int m, int l)
{
	return m >= 0 && l >= 0 && (size_t)m < s->n_models && (size_t)l < s->models[m].n_layers &&
	       s->models[m].layers[l].weights_path;
}

/*
 * Where a layer's weights would come from, for a hint: the manifest's key when the study is a
 * study.ini, else the directory's path.
 */
static void weights_source_hint(const struct app *app, const char *mn, const char *ln, char *buf,
                                size_t size)
{
	if (app->manifest)
		snprintf(buf, size, "weights.%.60s = ... in [model %.60s] of study.ini", ln, mn);
	else
		snprintf(buf, size, "models/%.60s/weights/%.60s.npy", mn, ln);
}

/*
 * The layer H shows: the one :layer or L chose for it, else the neuron pane's when it has weights,
 * else the first with weights (model A's first). False when no layer has weights.
 */
static bool weights_layer(const struct app *app, int *m, int *l)
{
	const struct study *s = app->s;
	if (has_weights(s, app->wm, app->wl)) {
		*m = app->wm;
		*l = app->wl;
		return true;
	}
	int nm = -1, nl = -1;
	struct nn_err e2 = {{0}};
	if (view_layer(app, &nm, &nl, &e2) && has_weights(s, nm, nl)) {
		*m = nm;
		*l = nl;
		return true;
	}
	int first = nm >= 0 ? nm : (int)app->a;
	for (size_t k = 0; k < s->n_models; k++) {
		int mi = (int)(((size_t)first + k) % s->n_models);
		for (size_t li = 0; li < s->models[mi].n_layers; li++)
			if (s->models[mi].layers[li].weights_path) {
				*m = mi;
				*l = (int)li;
				return true;
			}
	}
	return false;
}

/* The view's own keys (defined with their handlers below). */
static struct keymode weights_keys;

static void *weights_prepare(struct app *app, struct nn_err *err)
{
	const struct study *s = app->s;
	int m = -1, l = -1;
	if (!weights_layer(app, &m, &l)) {
		char hint[200];
		const struct model *m0 = &s->models[app->a];
		char *mn = text_sanitize(m0->name, !app->utf8);
		char *ln = text_sanitize(m0->n_layers ? m0->layers[0].name : "LAYER", !app->utf8);
		weights_source_hint(app, mn, ln, hint, sizeof hint);
		nn_err_set(err, "the study has no layer weights (%s)", hint);
		free(mn);
		free(ln);
		return NULL;
	}
	const struct model *md = &s->models[m];
	const struct layer *ly = &md->layers[l];
	char *mn = text_sanitize(md->name, !app->utf8), *ln = text_sanitize(ly->name, !app->utf8);
	struct weights_ctx *c = xcalloc(1, sizeof *c);
	c->w = &ly->weights;
	c->title = xasprintf("%s.%s", mn, ln);
	free(mn);
	free(ln);
	/* the other layers with weights, and why the neuron pane's layer is not the one shown */
	size_t o = (size_t)snprintf(c->layers, sizeof c->layers, "layers with weights:");
	size_t n_with = 0;
	for (size_t mi = 0; mi < s->n_models; mi++)
		for (size_t li = 0; li < s->models[mi].n_layers; li++) {
			if (!s->models[mi].layers[li].weights_path || o + 8 >= sizeof c->layers)
				continue;
			char *a = text_sanitize(s->models[mi].name, !app->utf8);
			char *b = text_sanitize(s->models[mi].layers[li].name, !app->utf8);
			bool here = (int)mi == m && (int)li == l;
			o += (size_t)snprintf(c->layers + o, sizeof c->layers - o,
			                      " %s%.40s.%.40s%s", here ? "[" : "", a, b,
			                      here ? "]" : "");
			n_with++;
			free(a);
			free(b);
		}
	if (n_with > 1 && o < sizeof c->layers) {
		char kb[24];
		snprintf(c->layers + o, sizeof c->layers - o, "   %s: next",
		         keymode_key(&weights_keys, "layer-next", kb, sizeof kb));
	}
	int nm = -1, nl = -1;
	struct nn_err e2 = {{0}};
	if (view_layer(app, &nm, &nl, &e2) && !has_weights(s, nm, nl) &&
	    !has_weights(s, app->wm, app->wl)) {
		char *a = text_sanitize(s->models[nm].name, !app->utf8);
		char *b = text_sanitize(s->models[nm].layers[nl].name, !app->utf8);
		char hint[200];
		weights_source_hint(app, a, b, hint, sizeof hint);
		snprintf(
		    c->note, sizeof c->note,
		    "the neuron pane's layer %.40s.%.40s has no weights (%.150s); showing %.60s", a,
		    b, hint, c->title);
		free(a);
		free(b);
	}
	int H = app->rows - 2 - 7, W = app->cols - 16;
	c->max_rows = H < 1 ? 1 : (size_t)H;
	c->max_cols = W < 1 ? 1 : (size_t)W;
	const struct npy_header *hd = &ly->weights.h;
	o = 0;
	for (int k = 0; k < (hd->ndim < 1 ? 1 : hd->ndim) && o < sizeof c->shape - 24; k++)
		o += (size_t)snprintf(c->shape + o, sizeof c->shape - o, "%s%zu", k ? " x " : "",
		                      hd->ndim < 1 ? (size_t)1 : hd->dims[k]);
	npy_dtype_str(hd, c->dtype);
	size_t i = app_current(app);
	c->inst = i;
	if (i != SIZE_MAX && ly->act_path && ly->act.rows == s->n) {
		c->h = ly->act.cols;
		c->act = xcalloc(c->h ? c->h : 1, sizeof *c->act);
		npy_row_f64(&ly->act, i, c->act);
		/* (N, C, H, W) activations of a conv layer whose weights are (C, ...): a row of the
		 * weights is an output channel, so the overlay is each channel's mean over its
		 * positions */
		const struct npy_header *ah = &ly->act.h;
		if (ah->ndim >= 3 && hd->ndim >= 1 && ah->dims[1] == hd->dims[0] && ah->dims[1] &&
		    c->h % ah->dims[1] == 0) {
			size_t C = ah->dims[1], per = c->h / C;
			for (size_t ch = 0; ch < C; ch++) {
				double sum = 0;
				size_t k = 0;
				for (size_t j = ch * per; j < (ch + 1) * per; j++)
					if (isfinite(c->act[j])) {
						sum += c->act[j];
						k++;
					}
				c->act[ch] = k ? sum / (double)k : NAN;
			}
			c->h = C;
			c->per_channel = per;
		}
		char buf[32];
		char *id = text_sanitize(study_instance_id(s, i, buf, sizeof buf), !app->utf8);
		snprintf(c->inst_id, sizeof c->inst_id, "%.60s", id);
		free(id);
	}
	return c;
}

static int weights_compute(void *p, struct nn_progress *prog, struct nn_err *err)
{
	struct weights_ctx *c = p;
	atomic_store(&prog->total, 2);
	for (int k = 0; k < 2; k++) {
		if (weights_grid(c->w, c->max_rows, c->max_cols, k ? WSUM_MEAN : WSUM_PEAK,
		                 &c->grid[k], err) != 0)
			return -1;
		c->have[k] = true;
		atomic_fetch_add(&prog->done, 1);
		if (atomic_load(&prog->cancel))
			return nn_err_set(err, "cancelled");
	}
	return 0;
}

static void weights_free(void *p)
{
	struct weights_ctx *c = p;
	for (int k = 0; k < 2; k++)
		if (c->have[k])
			weights_grid_free(&c->grid[k]);
	free(c->act);
	free(c->title);
	free(c);
}

static size_t weights_rows(const void *p)
{
	const struct weights_ctx *c = p;
	return c->grid[c->how].grid_rows;
}

/* The glyph and role of a cell, in the bands of `nncmp weights`. */
static void cell_look(const struct app *app, double v, double scale, const char **g, enum role *r)
{
	static const char *const neg[4] = {".", "-", "=", "#"};
	static const char *const pos[4] = {".", "+", "*", "@"};
	if (!isfinite(v)) {
		*g = "?";
		*r = ROLE_DIM;
		return;
	}
	double t = scale > 0 ? v / scale : 0, a = fabs(t);
	int band = a < 0.1 ? 0 : a < 0.35 ? 1 : a < 0.7 ? 2 : 3;
	*g = band == 0 ? glyph(app, "\xc2\xb7", ".") : t < 0 ? neg[band] : pos[band];
	*r = band == 0 ? ROLE_DIM : t < 0 ? ROLE_WORSE : ROLE_BETTER;
}

static void weights_draw(struct app *app, void *p, WINDOW *w, struct view_nav *nav)
{
	struct weights_ctx *c = p;
	const struct weights_grid *g = &c->grid[c->how];
	int W = getmaxx(w), H = getmaxy(w);
	char line[600];
	bool whole = g->grid_rows == g->rows && g->grid_cols == g->cols;
	snprintf(line, sizeof line,
	         "%s weights (%s) %s, a row per %s of the layer: min %.4g max %.4g mean %.4g std "
	         "%.4g; grid %zu x %zu, %s",
	         c->title, c->shape, c->dtype, c->w->h.ndim >= 3 ? "output channel" : "neuron",
	         g->min, g->max, g->mean, g->std, g->grid_rows, g->grid_cols,
	         whole    ? "one cell per weight"
	         : c->how ? "each cell the mean of its block"
	                  : "each cell the strongest weight of its block");
	draw_safe(app, w, 1, 1, W - 2, line, role_attr(ROLE_NORMAL), false);
	char km[24], how[48] = "";
	if (!whole)
		snprintf(how, sizeof how, "   %s: %s",
		         keymode_key(&weights_keys, "cells", km, sizeof km),
		         c->how ? "strongest weights" : "block means");
	snprintf(
	    line, sizeof line,
	    "# = -  below -0.7 -0.35 -0.1 x scale   %s |v| < 0.1 x scale   + * @  above 0.1 0.35 "
	    "0.7 x scale   (scale %.4g)%s",
	    glyph(app, "\xc2\xb7", "."), g->scale, how);
	draw_safe(app, w, 2, 1, W - 2, line, role_attr(ROLE_DIM), false);
	bool overlay = c->act && c->h == g->rows;
	double lo = INFINITY, hi = -INFINITY;
	for (size_t j = 0; overlay && j < c->h; j++)
		if (isfinite(c->act[j])) {
			lo = c->act[j] < lo ? c->act[j] : lo;
			hi = c->act[j] > hi ? c->act[j] : hi;
		}
	if (overlay && c->per_channel)
		snprintf(line, sizeof line,
		         "act: instance #%zu (%s), the mean activation of the row's output channel "
		         "over its %zu positions (mean over the row's block), heat %.3g .. %.3g",
		         c->inst, c->inst_id, c->per_channel, lo, hi);
	else if (overlay)
		snprintf(
		    line, sizeof line,
		    "act: instance #%zu (%s), its activation of the row's neurons (mean over the "
		    "row's block), heat %.3g .. %.3g",
		    c->inst, c->inst_id, lo, hi);
	else if (c->act)
		snprintf(
		    line, sizeof line,
		    "no overlay: the layer's activations have %zu neuron%s, its weights %zu row%s",
		    c->h, c->h == 1 ? "" : "s", g->rows, g->rows == 1 ? "" : "s");
	else
		snprintf(line, sizeof line, "no overlay: %s",
		         c->inst == SIZE_MAX ? "no instance is selected"
		                             : "the layer has no activations");
	draw_safe(app, w, 3, 1, W - 2, line, role_attr(ROLE_DIM), false);
	if (c->note[0])
		snprintf(line, sizeof line, "%.290s   %.290s", c->note, c->layers);
	else
		snprintf(line, sizeof line, "%s", c->layers);
	draw_safe(app, w, 4, 1, W - 2, line, role_attr(ROLE_DIM), false);
	int y0 = 6, vis = H - y0;
	if (vis < 1)
		return;
	view_clamp(nav, g->grid_rows, (size_t)vis);
	snprintf(line, sizeof line, "%5s %7s  inputs 0..%zu %s", "row", overlay ? "act" : "",
	         g->cols - 1, glyph(app, "\xe2\x86\x92", "->"));
	draw_safe(app, w, y0 - 1, 0, W, line, role_attr(ROLE_HEADER), true);
	if (nav->left > 0)
		nav->left = 0; /* the grid fits the window */
	for (int r = 0; r < vis && nav->top + (size_t)r < g->grid_rows; r++) {
		size_t gr = nav->top + (size_t)r;
		int y = y0 + r;
		size_t r0 = weights_block_start(g->rows, g->grid_rows, gr);
		size_t r1 = weights_block_start(g->rows, g->grid_rows, gr + 1);
		snprintf(line, sizeof line, "%5zu", r0);
		draw_safe(app, w, y, 0, 6, line,
		          role_attr(gr == nav->cur ? ROLE_HEADER : ROLE_NORMAL), false);
		if (overlay) {
			double sum = 0;
			size_t k = 0;
			for (size_t j = r0; j < r1; j++)
				if (isfinite(c->act[j])) {
					sum += c->act[j];
					k++;
				}
			double v = k ? sum / (double)k : NAN;
			snprintf(line, sizeof line, "%7.3f", v);
			draw_safe(app, w, y, 6, 7, k ? line : "      -",
			          role_attr(view_heat(v, lo, hi)), false);
		}
		draw_safe(app, w, y, 14, 1, glyph(app, "\xe2\x94\x82", "|"), role_attr(ROLE_DIM),
		          false);
		int x = 15;
		for (size_t j = 0; j < g->grid_cols && x < W - 1; j++, x++) {
			const char *gl;
			enum role role;
			cell_look(app, g->cell[gr * g->grid_cols + j], g->scale, &gl, &role);
			draw_safe(app, w, y, x, 1, gl, role_attr(role), false);
		}
		draw_safe(app, w, y, x, 1, glyph(app, "\xe2\x94\x82", "|"), role_attr(ROLE_DIM),
		          false);
	}
}

/* L: the next layer with weights after the one shown (any model), wrapping. */
static int weights_next_layer(struct app *app)
{
	const struct study *s = app->s;
	int m = -1, l = -1;
	if (!weights_layer(app, &m, &l))
		return 0;
	size_t total = 0;
	for (size_t mi = 0; mi < s->n_models; mi++)
		total += s->models[mi].n_layers;
	size_t mi = (size_t)m, li = (size_t)l;
	for (size_t k = 0; k < total; k++) {
		if (++li >= s->models[mi].n_layers) {
			li = 0;
			do
				mi = (mi + 1) % s->n_models;
			while (s->models[mi].n_layers == 0);
		}
		if (s->models[mi].layers[li].weights_path)
			break;
	}
	app->wm = (int)mi;
	app->wl = (int)li;
	return view_open(app, "weights"); /* a new grid for that layer */
}

/* m: strongest weight or block mean (arg 0); L: the next layer with weights (1). */
static int weights_act(struct app *app, void *p, struct view_nav *nav, long arg)
{
	(void)nav;
	struct weights_ctx *c = p;
	if (arg == 1)
		return weights_next_layer(app);
	c->how = !c->how;
	return 0;
}

static struct key_action weights_acts[] = {
    {"cells", "a cell shows the strongest weight or the block mean", weights_act, 0, K('m')},
    {"layer-next", "the next layer with weights", weights_act, 1, K('L')},
};
static KEYMODE(weights_keys, "weights", "Keys of the layer weights view", weights_acts);

const struct view_class view_weights = {
    .name = "weights",
    .title = "Layer weights",
    .help = "the layer's weights as a heat grid, with the selected instance's activations",
    .prepare = weights_prepare,
    .compute = weights_compute,
    .draw = weights_draw,
    .rows = weights_rows,
    .keys = &weights_keys,
    .enter = NULL,
    .free = weights_free,
    .follows_models = true,
};
