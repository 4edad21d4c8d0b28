/*
 * view_arch.c — a model's architecture as Net2Vis draws it (arch.h, the data `nncmp arch`
 * prints): one line per stage (arch_new_stage), left to right, wrapped where the window is too
 * narrow, consecutive identical blocks folded as "3 × [Conv2d 3×3 64 → BatchNorm2d → ReLU]",
 * each layer with its output shape and parameters (arch_layer_label). The cursor moves over the
 * layers (j k); layers with activations are bold and marked [A] (readable without colour); Enter
 * on one makes it the neuron pane's layer, as :layer does. b switches between models A and B.
 */
#include "views.h"

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
	return c;
}

static void arch_view_free(void *p)
{
	struct arch_ctx *c = p;
	arch_free(&c->a);
	free(c->blk);
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

/* The look of layer i: the cursor's reversed, layers with activations bold. */
static attr_t layer_attr(const struct arch_ctx *c, size_t i, size_t cur)
{
	const struct arch_layer *ly = &c->a.layers[i];
	attr_t a = role_attr(ly->activations ? ROLE_KEY : ROLE_NORMAL);
	if (ly->activations)
		a |= A_BOLD;
	if (i == cur)
		a = role_attr(ROLE_SELECTION) | A_REVERSE;
	return a;
}

static void arch_draw(struct app *app, void *p, WINDOW *w, struct view_nav *nav)
{
	struct arch_ctx *c = p;
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
	draw_safe(
	    app, w, 2, 1, W - 2,
	    "[A] activations in the study (bold; Enter: the neuron pane's layer), [W] weights; "
	    "shapes without the batch dimension",
	    role_attr(ROLE_DIM), false);
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
				arch_layer_label(&a->layers[i], true, app->utf8, buf, sizeof buf);
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
		         arch_layer_label(ly, true, app->utf8, lab, sizeof lab));
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
	snprintf(
	    line, sizeof line, "layer %zu/%zu  %.200s: %s%s%s  %s", cur + 1, a->n_layers, ly->name,
	    arch_layer_label(ly, true, app->utf8, lab, sizeof lab), o ? "  inputs: " : "", in,
	    ly->activations ? "Enter: the neuron pane's layer" : "no activations in the study");
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

static struct key_action arch_acts[] = {
    {"model-other", "show model B (again: model A)", arch_act, 0, K('b')},
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
};
