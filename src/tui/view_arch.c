/*
 * view_arch.c — a model's architecture as Net2Vis draws it (arch.h, the data `nncmp arch`
 * prints): one line per stage (arch_new_stage), left to right, wrapped where the window is too
 * narrow, consecutive identical blocks folded as "3 × [Conv2d 3×3 64 → BatchNorm2d → ReLU]",
 * each layer with its output shape and parameters (arch_layer_label). The cursor moves over the
 * layers (j k); layers with activations are bold and marked [A] (readable without colour); Enter
 * on one makes it the neuron pane's layer, as :layer does. b switches between models A and B.
 *
 * When models A and B are two snapshots of one model (weights_comparable: a layer name with
 * weights of the same shape in both), each layer with weights is coloured by its relative change
 * ||B - A|| / ||A|| on the heat scale, its number beside it, and the header names the largest
 * (CNNComparator's network view; the numbers are weights_diff_models()'s, computed on the worker,
 * as the snapshot view D and `nncmp arch --vs` compute them). c hides or shows it.
 */
#include "views.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/arch.h"
#include "nncmp/text.h"

struct arch_ctx {
	struct arch a;
	size_t model;    /* the study's model index shown */
	bool is_b;       /* model B of the pair (else A) */
	size_t *blk;     /* blk[layer] = its block */
	struct nn_err e; /* why the other model could not be loaded, or "" */
	/* the weight change from model A to B of the pair, when comparable */
	const struct model *ma, *mb;
	bool comparable, have_d, show;
	struct wdiff d;
	struct nn_err chg_err; /* why the change could not be computed, or "" */
};

static struct keymode arch_keys;

static int arch_ctx_load(struct app *app, struct arch_ctx *c, size_t model, struct nn_err *err)
{
	struct arch a;
	if (arch_load(app->s, &app->s->models[model], &a, err) != 0)
		return -1;
	arch_free(&c->a);
	free(c->blk);
	c->a = a;
	c->model = model;
	c->blk = xcalloc(a.n_layers ? a.n_layers : 1, sizeof *c->blk);
	for (size_t b = 0; b < a.n_blocks; b++)
		for (size_t k = 0; k < a.blocks[b].len * a.blocks[b].repeat; k++)
			c->blk[a.blocks[b].start + k] = b;
	return 0;
}

static void *arch_prepare(struct app *app, struct nn_err *err)
{
	struct arch_ctx *c = xcalloc(1, sizeof *c);
	if (arch_ctx_load(app, c, app->a, err) != 0) {
		free(c);
		return NULL;
	}
	c->ma = &app->s->models[app->a];
	c->mb = &app->s->models[app->b];
	c->comparable = app->a != app->b && weights_comparable(c->ma, c->mb);
	c->show = c->comparable;
	return c;
}

/*
 * The weight change is computed by a view_submit() job that the view starts when it opens, not
 * by a compute(): the architecture is there at once and the view's keys work while the weights
 * are read.
 */
struct change_job {
	const struct model *ma, *mb;
	struct wdiff d;
	bool have;
};

/* On the worker: the change of every comparable layer, as weights_diff_models() gives it. */
static int change_run(void *p, struct nn_progress *prog, struct nn_err *err)
{
	struct change_job *j = p;
	(void)prog;
	if (weights_diff_models(j->ma, j->mb, NULL, 1, WDIFF_DECADES_DEFAULT, &j->d, err) != 0)
		return -1;
	j->have = true;
	return 0;
}

/* On the UI thread: the result moves into the view. */
static void change_done(void *ctx, void *p, int rc, const struct nn_err *err)
{
	struct arch_ctx *c = ctx;
	struct change_job *j = p;
	if (rc != 0 || !j->have) {
		c->chg_err = *err;
		if (!c->chg_err.msg[0])
			snprintf(c->chg_err.msg, sizeof c->chg_err.msg, "cancelled");
		return;
	}
	c->d = j->d;
	c->have_d = true;
	j->have = false;
}

static void change_free(void *p)
{
	struct change_job *j = p;
	if (j->have)
		weights_diff_free(&j->d);
	free(j);
}

/* When the view opens: the change's job, when models A and B compare. */
static void change_start(struct app *app, void *ctx)
{
	struct arch_ctx *c = ctx;
	if (!c->comparable)
		return;
	struct change_job *j = xcalloc(1, sizeof *j);
	j->ma = c->ma;
	j->mb = c->mb;
	view_submit(app, "weight change of A vs B", j, change_run, change_done, change_free);
}

/* The change, onto the layers of the model shown (again after b loads the other one). */
static void arch_map_change(struct arch_ctx *c)
{
	if (c->have_d && !c->a.vs)
		arch_set_change(&c->a, c->is_b ? c->ma : c->mb, &c->d);
}

/* Whether layer ly is drawn with its change. */
static bool shows_change(const struct arch_ctx *c, const struct arch_layer *ly)
{
	return c->show && c->a.vs && (ly->chg == ARCH_CHG_VALUE || ly->chg == ARCH_CHG_NULL);
}

/* A layer whose weights are all zero in A and not in B. */
static bool is_new(const struct arch_layer *ly)
{
	return ly->chg == ARCH_CHG_NULL && strncmp(ly->chg_why, "new", 3) == 0;
}

/*
 * Layer ly's label (arch_layer_label, with marks) and, when shown, its change: " Δ0.344",
 * " Δnew", " Δ-" (no number: the bottom line says why). Returns buf.
 */
static const char *label_change(struct app *app, const struct arch_ctx *c,
                                const struct arch_layer *ly, char *buf, size_t size)
{
	arch_layer_label(ly, true, app->utf8, buf, size);
	if (!shows_change(c, ly))
		return buf;
	size_t n = strlen(buf);
	const char *delta = glyph(app, "\xce\x94", "d");
	if (ly->chg == ARCH_CHG_VALUE)
		snprintf(buf + n, size - n, " %s%.3g", delta, ly->change);
	else
		snprintf(buf + n, size - n, " %s%s", delta, is_new(ly) ? "new" : "-");
	return buf;
}

static void arch_view_free(void *p)
{
	struct arch_ctx *c = p;
	arch_free(&c->a);
	free(c->blk);
	if (c->have_d)
		weights_diff_free(&c->d);
	free(c);
}

static size_t arch_rows(const void *p)
{
	const struct arch_ctx *c = p;
	return c->a.n_layers;
}

/* Where the drawing is: row y, column x of the window, right edge W. */
struct pen {
	int y, x, x0, W, H;
};

/* Draws one item (text), moving to a continuation line when it does not fit. */
static void pen_item(struct app *app, WINDOW *w, struct pen *p, const char *sep, const char *text,
                     attr_t attr)
{
	int need = text_cols(sep) + text_cols(text);
	if (p->x > p->x0 && p->x + need > p->W - 1) {
		p->y++;
		p->x = p->x0 + 3; /* under the stage's text, the arrow leading */
	}
	if (p->y >= p->H)
		return;
	p->x += draw_safe(app, w, p->y, p->x, p->W - 1 - p->x, sep, role_attr(ROLE_DIM), false);
	if (p->x < p->W - 1)
		p->x += draw_text(app, w, p->y, p->x, p->W - 1 - p->x, text, attr, false);
}

/* The look of layer i: the cursor's reversed, layers with activations bold, with the change
 * shown on the heat scale from 0 to the largest change. */
static attr_t layer_attr(const struct arch_ctx *c, size_t i, size_t cur)
{
	const struct arch_layer *ly = &c->a.layers[i];
	attr_t a = role_attr(ly->activations ? ROLE_KEY : ROLE_NORMAL);
	if (shows_change(c, ly) && c->a.largest >= 0)
		a = role_attr(ly->chg == ARCH_CHG_VALUE
		                  ? view_heat(ly->change, 0, c->a.layers[c->a.largest].change)
		              : is_new(ly) ? ROLE_HEAT_5
		                           : ROLE_DIM);
	if (ly->activations)
		a |= A_BOLD;
	if (i == cur)
		a = role_attr(ROLE_SELECTION) | A_REVERSE;
	return a;
}

/*
 * Row 3: "weights of A vs B (cnn vs cnn_early): Δ = ||B−A|| / ||A||, largest change: fc1 0.789"
 * and the heat scale, or why there is no change to show.
 */
static void draw_change_line(struct app *app, const struct arch_ctx *c, WINDOW *w, int W)
{
	char line[600], kb[24];
	const char *key = keymode_key(&arch_keys, "change", kb, sizeof kb);
	const struct arch *a = &c->a;
	char *an = text_sanitize(c->ma->name, !app->utf8),
	     *bn = text_sanitize(c->mb->name, !app->utf8);
	if (!c->comparable || !c->show) {
		if (!c->comparable && c->ma != c->mb)
			snprintf(
			    line, sizeof line,
			    "weights of A vs B (%.100s vs %.100s): none to compare (no layer with "
			    "weights of the same shape in both)",
			    an, bn);
		else
			snprintf(
			    line, sizeof line,
			    "weights of A vs B (%.100s vs %.100s): hidden   %s: show the change",
			    an, bn, key);
		if (c->ma != c->mb)
			draw_safe(app, w, 3, 1, W - 2, line, role_attr(ROLE_DIM), false);
		free(an);
		free(bn);
		return;
	}
	char top[300] = "none";
	if (a->largest >= 0) {
		char *ln = text_sanitize(a->layers[a->largest].name, !app->utf8);
		snprintf(top, sizeof top, "%.200s %.3g", ln, a->layers[a->largest].change);
		free(ln);
	}
	if (!c->have_d) {
		if (c->chg_err.msg[0])
			snprintf(line, sizeof line, "weights of A vs B (%.100s vs %.100s): %.300s",
			         an, bn, c->chg_err.msg);
		else
			snprintf(line, sizeof line,
			         "weights of A vs B (%.100s vs %.100s): reading the weights...", an,
			         bn);
		draw_safe(app, w, 3, 1, W - 2, line, role_attr(ROLE_DIM), false);
		free(an);
		free(bn);
		return;
	}
	const char *delta = glyph(app, "\xce\x94", "d"), *minus = glyph(app, "\xe2\x88\x92", "-");
	snprintf(line, sizeof line,
	         "weights of A vs B (%.100s vs %.100s): largest change %s; %s = ||B%sA||/||A|| ",
	         an, bn, top, delta, minus);
	/* the scale (six levels) and the key need about 60 more columns: else the short form */
	if (text_width(line) + 60 > W - 2)
		snprintf(line, sizeof line, "%s vs %.40s, largest %s ", delta, bn, top);
	free(an);
	free(bn);
	int x = 1 + draw_safe(app, w, 3, 1, W - 2, line, role_attr(ROLE_NORMAL), false);
	/* the scale, each level's lower edge in its colour: 0 to the largest change in six */
	double hi = a->largest >= 0 ? a->layers[a->largest].change : 0;
	for (int k = 0; k < 6 && hi > 0 && x < W - 2; k++) {
		snprintf(line, sizeof line, " %s%.2g ", k ? glyph(app, "\xe2\x89\xa5", ">=") : "",
		         hi * k / 6);
		x += draw_safe(app, w, 3, x, W - 1 - x, line,
		               role_attr((enum role)(ROLE_HEAT_0 + k)), false);
	}
	snprintf(line, sizeof line, "   %s: hide", key);
	draw_safe(app, w, 3, x, W - 1 - x, line, role_attr(ROLE_DIM), false);
}

static void arch_draw(struct app *app, void *p, WINDOW *w, struct view_nav *nav)
{
	struct arch_ctx *c = p;
	arch_map_change(c);
	const struct arch *a = &c->a;
	int W = getmaxx(w), H = getmaxy(w);
	if (nav->cur >= a->n_layers)
		nav->cur = a->n_layers ? a->n_layers - 1 : 0;
	char line[800], kb[24];
	char *mn = text_sanitize(a->model, !app->utf8);
	snprintf(line, sizeof line,
	         "model %s: %s, %zu layer%s, %llu parameters (%s%s)   %s: model %s",
	         c->is_b ? "B" : "A", mn, a->n_layers, a->n_layers == 1 ? "" : "s",
	         (unsigned long long)a->params,
	         a->source == ARCH_LAYERS ? "the study's layers" : "graph.json, ",
	         a->source == ARCH_LAYERS ? "" : arch_source_name(a->source),
	         keymode_key(&arch_keys, "model-other", kb, sizeof kb), c->is_b ? "A" : "B");
	free(mn);
	draw_safe(app, w, 1, 1, W - 2, line, role_attr(ROLE_NORMAL), false);
	static const char legend[] =
	    "[A] activations in the study (bold; Enter: the neuron pane's layer), [W] weights; "
	    "shapes without the batch dimension";
	draw_safe(app, w, 2, 1, W - 2,
	          (int)sizeof legend - 1 <= W - 2
	              ? legend
	              : "[A] activations (bold; Enter: the neuron pane's layer), [W] weights; "
	                "no batch dimension",
	          role_attr(ROLE_DIM), false);
	draw_change_line(app, c, w, W);
	const char *arrow = glyph(app, " \xe2\x86\x92 ", " -> ");
	const char *times = glyph(app, "\xc3\x97", "x");
	size_t cur = nav->cur, cur_blk = a->n_layers ? c->blk[cur] : 0;
	struct pen pn = {.y = 3, .x = 0, .x0 = 1, .W = W, .H = H - 3};
	size_t stage = 0;
	char buf[600], sb[16];
	for (size_t b = 0; b < a->n_blocks; b++) {
		const struct arch_block *bk = &a->blocks[b];
		if (arch_new_stage(a, b)) {
			pn.y++;
			pn.x = pn.x0;
			snprintf(sb, sizeof sb, "%2zu  ", ++stage);
			if (pn.y < pn.H)
				pn.x += draw_safe(app, w, pn.y, pn.x, W - 2, sb,
				                  role_attr(ROLE_DIM), false);
		}
		const char *sep = arch_new_stage(a, b) ? "" : arrow;
		if (bk->repeat > 1) {
			snprintf(buf, sizeof buf, "%zu %s [", bk->repeat, times);
			pen_item(app, w, &pn, sep, buf, role_attr(ROLE_HEADER));
			/* the template's k-th layer stands for layer start + r·len + k of every
			 * copy r; the cursor's copy is the one drawn */
			size_t r = cur_blk == b ? (cur - bk->start) / bk->len : 0;
			for (size_t k = 0; k < bk->len; k++) {
				size_t i = bk->start + r * bk->len + k;
				label_change(app, c, &a->layers[i], buf, sizeof buf);
				pen_item(app, w, &pn, k ? arrow : "", buf, layer_attr(c, i, cur));
			}
			const struct arch_layer *l0 = &a->layers[bk->start];
			const struct arch_layer *l1 =
			    &a->layers[bk->start + bk->len * bk->repeat - 1];
			snprintf(buf, sizeof buf, "]  %.200s .. %.200s", l0->name, l1->name);
			pen_item(app, w, &pn, "", buf, role_attr(ROLE_HEADER));
			continue;
		}
		const struct arch_layer *ly = &a->layers[bk->start];
		char lab[500];
		snprintf(buf, sizeof buf, "%.200s: %s", ly->name,
		         label_change(app, c, ly, lab, sizeof lab));
		pen_item(app, w, &pn, sep, buf, layer_attr(c, bk->start, cur));
	}
	if (!a->n_layers || H < 3)
		return;
	/* the cursor's layer in full */
	const struct arch_layer *ly = &a->layers[cur];
	char lab[500], in[200] = "";
	size_t o = 0;
	for (size_t k = 0; k < ly->n_inputs && o + 24 < sizeof in; k++)
		o += (size_t)snprintf(in + o, sizeof in - o, "%s%s", k ? ", " : "",
		                      ly->inputs[k] < 0 ? "input"
		                      : (size_t)ly->inputs[k] < a->n_layers
		                          ? a->layers[ly->inputs[k]].name
		                          : "?");
	char chg[300] = "";
	if (c->show && a->vs && ly->chg == ARCH_CHG_VALUE)
		snprintf(chg, sizeof chg, "  %s %.4g%s", glyph(app, "\xce\x94", "d"), ly->change,
		         ly->chg_nonfinite ? " (NaN/inf weights left out)" : "");
	else if (c->show && a->vs && ly->chg_why)
		snprintf(chg, sizeof chg, "  no change: %.250s", ly->chg_why);
	snprintf(line, sizeof line, "layer %zu/%zu  %.200s: %s%s%s%s  %s", cur + 1, a->n_layers,
	         ly->name, arch_layer_label(ly, true, app->utf8, lab, sizeof lab), chg,
	         o ? "  inputs: " : "", in,
	         ly->activations ? "Enter: the neuron pane's layer"
	                         : "no activations in the study");
	draw_text(app, w, H - 2, 1, W - 2, line, role_attr(ROLE_HEADER), true);
}

static int arch_enter(struct app *app, void *p, struct view_nav *nav)
{
	struct arch_ctx *c = p;
	if (nav->cur >= c->a.n_layers)
		return 0;
	const struct arch_layer *ly = &c->a.layers[nav->cur];
	if (!ly->activations) {
		char *n = text_sanitize(ly->name, !app->utf8);
		app_message(app, false, "%.200s has no activations in the study", n);
		free(n);
		return REDRAW_STATUS;
	}
	char *spec = xasprintf("%s.%s", app->s->models[c->model].name, ly->name);
	int r = app_set_layer(app, spec);
	free(spec);
	return r | VIEW_CLOSE;
}

static bool arch_match(const struct app *app, const void *p, size_t row, const char *text)
{
	(void)app;
	const struct arch_ctx *c = p;
	return row < c->a.n_layers &&
	       (search_has(c->a.layers[row].name, text) || search_has(c->a.layers[row].op, text));
}

/* b: the other model of the pair. */
static int arch_act(struct app *app, void *p, struct view_nav *nav, long arg)
{
	(void)arg;
	struct arch_ctx *c = p;
	size_t m = c->is_b ? app->a : app->b;
	struct nn_err err = {{0}};
	if (m >= app->s->n_models || arch_ctx_load(app, c, m, &err) != 0) {
		app_message(app, true, "%s", err.msg[0] ? err.msg : "no model B");
		return REDRAW_STATUS;
	}
	c->is_b = !c->is_b;
	nav->cur = nav->top = 0;
	return REDRAW_VIEW;
}

/* c: the weight change of models A and B shown or hidden. */
static int arch_change_act(struct app *app, void *p, struct view_nav *nav, long arg)
{
	(void)nav;
	(void)arg;
	struct arch_ctx *c = p;
	if (!c->comparable) {
		app_message(
		    app, true,
		    "models A and B have no layer with weights of the same shape (:models A B)");
		return REDRAW_STATUS;
	}
	c->show = !c->show;
	return REDRAW_VIEW;
}

static struct key_action arch_acts[] = {
    {"model-other", "show model B (again: model A)", arch_act, 0, K('b')},
    {"change", "colour by the weight change from A to B (hide / show)", arch_change_act, 0, K('c')},
};
static KEYMODE(arch_keys, "arch", "Keys of the architecture view", arch_acts);

const struct view_class view_arch = {
    .name = "arch",
    .title = "Architecture",
    .help = "model A's layers left to right, repeated blocks folded (nncmp arch)",
    .prepare = arch_prepare,
    .compute = NULL,
    .draw = arch_draw,
    .rows = arch_rows,
    .keys = &arch_keys,
    .match = arch_match,
    .enter = arch_enter,
    .free = arch_view_free,
    .start = change_start,
    .follows_models = true,
};
