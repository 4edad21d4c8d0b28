/*
 * view_cka.c — how alike the layers of all models represent the instances: the linear CKA
 * between every two layers that have activations (similarity.h, the number `nncmp similarity
 * --cka [--filter EXPR] --json` prints for the pair), over the instances the panes show (CKA
 * compares how two layers represent a set of inputs; the filter chooses the set, as in every
 * other view), computed on the worker pair by pair with progress; and, for the neuron under the
 * neuron pane's cursor, its most correlated neurons in model B's layer (the one of the same name,
 * else B's first layer with activations) over the same instances.
 * Every cell prints its value, so the matrix reads without colour.
 */
#include "views.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/similarity.h"

#define CKA_MAX_NEURONS 4096 /* a wider layer's Gram matrix is left out (h² doubles) */
#define CKA_TOP         10
#define CKA_CELL        6

struct cka_layer {
	size_t m, l;
};

struct ckview {
	const struct study *s;
	uint32_t *idx; /* the shown instances, sorted; NULL: all of them */
	size_t n;      /* of them */
	bool filtered; /* a filter (or removed instances) leaves some out */
	size_t n_layers;
	struct cka_layer *layers;
	double *cka; /* n_layers²; NaN where undefined or left out */
	/* the neuron pane's neuron and its matches in B's layer */
	int nm, nl, neuron; /* -1: none */
	int bm, bl;
	struct similarity corr;   /* the pane layer's neurons against B's layer's */
	bool have_corr, signed_r; /* signed_r: rank by r, not |r| */
	struct similarity_match top[CKA_TOP];
	size_t n_top;
	char note[200]; /* why there is no match list */
	size_t col_top;
};

static size_t layer_width(const struct layer *ly)
{
	return ly->act.cols;
}

static void *cka_prepare(struct app *app, struct nn_err *err)
{
	const struct study *s = app->s;
	struct ckview *d = xcalloc(1, sizeof *d);
	d->s = s;
	for (size_t m = 0; m < s->n_models; m++)
		for (size_t l = 0; l < s->models[m].n_layers; l++)
			if (s->models[m].layers[l].act_path) {
				d->layers =
				    xreallocarray(d->layers, d->n_layers + 1, sizeof *d->layers);
				d->layers[d->n_layers++] = (struct cka_layer){m, l};
			}
	if (d->n_layers == 0) {
		free(d);
		nn_err_set(err, "the study has no layer activations (models/M/act/LAYER.npy)");
		return NULL;
	}
	d->filtered = app->filter[0] || app->n_sel != s->n;
	d->n = s->n;
	if (d->filtered)
		d->idx = view_sel_sorted(app, &d->n);
	d->cka = xcalloc(d->n_layers * d->n_layers, sizeof *d->cka);
	for (size_t q = 0; q < d->n_layers * d->n_layers; q++)
		d->cka[q] = NAN;
	d->neuron = d->nm = d->nl = d->bm = d->bl = -1;
	if (app->lm >= 0 && app->ll >= 0)
		d->neuron = neurons_pane_neuron(app, app->panes[PANE_NEURONS].nav.cur);
	if (d->neuron < 0) {
		snprintf(d->note, sizeof d->note,
		         "no neuron under the neuron pane's cursor (its ranking is not there yet)");
		return d;
	}
	d->nm = app->lm;
	d->nl = app->ll;
	const struct model *mb = &s->models[app->b];
	const char *lname = s->models[d->nm].layers[d->nl].name;
	for (size_t l = 0; l < mb->n_layers && d->bl < 0; l++)
		if (mb->layers[l].act_path && strcmp(mb->layers[l].name, lname) == 0)
			d->bl = (int)l;
	for (size_t l = 0; l < mb->n_layers && d->bl < 0; l++)
		if (mb->layers[l].act_path)
			d->bl = (int)l;
	if (d->bl < 0)
		snprintf(d->note, sizeof d->note, "model B (%.40s) has no layer activations",
		         mb->name);
	else
		d->bm = (int)app->b;
	return d;
}

/* CKA of layers i and j (one similarity pass); NaN when it fails or a layer is too wide. */
static double pair_cka(const struct ckview *d, const struct cka_layer *x, const struct cka_layer *y,
                       atomic_bool *cancel)
{
	const struct study *s = d->s;
	const struct layer *lx = &s->models[x->m].layers[x->l], *ly = &s->models[y->m].layers[y->l];
	if (layer_width(lx) > CKA_MAX_NEURONS || layer_width(ly) > CKA_MAX_NEURONS)
		return NAN;
	struct nn_progress p;
	atomic_init(&p.done, 0);
	atomic_init(&p.total, 0);
	atomic_init(&p.cancel, atomic_load(cancel));
	struct similarity sim;
	struct nn_err err = {{0}};
	if (similarity_compute(&lx->act, &ly->act, d->idx, d->n, true, &p, &sim, &err) != 0)
		return NAN;
	double v = sim.cka;
	similarity_free(&sim);
	return v;
}

/* The neuron's best matches in B's layer, by |r| or by r. */
static void rank_matches(struct ckview *d)
{
	bool same = d->nm == d->bm && d->nl == d->bl;
	d->n_top = similarity_top(&d->corr, (size_t)d->neuron, CKA_TOP, !d->signed_r,
	                          same ? (size_t)d->neuron : SIZE_MAX, d->top);
}

static int cka_compute(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	struct ckview *d = ctx;
	const struct study *s = d->s;
	size_t L = d->n_layers;
	atomic_store(&prog->total, L * (L + 1) / 2 + (d->bl >= 0));
	for (size_t i = 0; i < L; i++)
		for (size_t j = i; j < L; j++) {
			if (atomic_load(&prog->cancel))
				return nn_err_set(err, "cancelled");
			double v = pair_cka(d, &d->layers[i], &d->layers[j], &prog->cancel);
			d->cka[i * L + j] = d->cka[j * L + i] = v;
			atomic_fetch_add(&prog->done, 1);
		}
	if (d->bl >= 0) {
		const struct layer *lx = &s->models[d->nm].layers[d->nl];
		const struct layer *ly = &s->models[d->bm].layers[d->bl];
		struct similarity sim;
		struct nn_err e2 = {{0}};
		if (similarity_compute(&lx->act, &ly->act, d->idx, d->n, false, prog, &sim, &e2) !=
		    0) {
			snprintf(d->note, sizeof d->note, "%.190s", e2.msg);
		} else {
			d->corr = sim;
			d->have_corr = true;
			rank_matches(d);
		}
	}
	return 0;
}

static size_t cka_rows(const void *ctx)
{
	const struct ckview *d = ctx;
	return d->n_layers;
}

static void cka_free(void *ctx)
{
	struct ckview *d = ctx;
	if (d->have_corr)
		similarity_free(&d->corr);
	free(d->layers);
	free(d->cka);
	free(d->idx);
	free(d);
}

static void layer_label(const struct study *s, const struct cka_layer *ly, char *buf, size_t size)
{
	snprintf(buf, size, "%s.%s", s->models[ly->m].name, s->models[ly->m].layers[ly->l].name);
}

static struct keymode cka_keys;

static void cka_draw(struct app *app, void *ctx, WINDOW *w, struct view_nav *nav)
{
	struct ckview *d = ctx;
	const struct study *s = app->s;
	int H = getmaxy(w), W = getmaxx(w);
	size_t L = d->n_layers;
	char line[400], lab[200], kc[24];
	size_t wide = 0;
	for (size_t i = 0; i < L; i++)
		wide += layer_width(&s->models[d->layers[i].m].layers[d->layers[i].l]) >
		        CKA_MAX_NEURONS;
	char wides[80] = "";
	if (wide)
		snprintf(wides, sizeof wides, "; %zu layer%s over %d neurons left out (-)", wide,
		         wide == 1 ? "" : "s", CKA_MAX_NEURONS);
	char over[64];
	if (d->filtered)
		snprintf(over, sizeof over, "%zu filtered instance%s", d->n, d->n == 1 ? "" : "s");
	else
		snprintf(over, sizeof over, "all %zu instances", s->n);
	snprintf(line, sizeof line,
	         "linear CKA over %s, between the layers of every model%s (1: the same "
	         "representation up to rotation and scale)",
	         over, wides);
	draw_safe(app, w, 1, 1, W - 2, line, role_attr(ROLE_HEADER), false);
	int nw = 6;
	for (size_t i = 0; i < L; i++) {
		layer_label(s, &d->layers[i], lab, sizeof lab);
		int t = text_cols(lab) + snprintf(NULL, 0, "%zu ", i + 1);
		nw = t > nw ? t : nw;
	}
	nw = nw > 26 ? 26 : nw;
	int x0 = 1 + nw + 1;
	size_t vis_c = W > x0 ? (size_t)(W - x0) / CKA_CELL : 1;
	vis_c = vis_c < 1 ? 1 : vis_c;
	if (nav->left >= L)
		nav->left = L - 1;
	size_t col = nav->left;
	if (col < d->col_top)
		d->col_top = col;
	if (col >= d->col_top + vis_c)
		d->col_top = col - vis_c + 1;
	int list_h = 3 + CKA_TOP;
	int body = H - 3 - list_h;
	if (body < 3)
		body = H - 4, list_h = 0;
	view_clamp(nav, L, (size_t)(body > 0 ? body : 1));
	attr_t hd = role_attr(ROLE_HEADER);
	draw_safe(app, w, 2, 0, W, "", hd, true);
	for (size_t j = d->col_top; j < L && j < d->col_top + vis_c; j++) {
		/* a column is headed by its index in the row list: names do not fit in 5 columns */
		snprintf(line, sizeof line, "%*zu", CKA_CELL - 1, j + 1);
		draw_safe(app, w, 2, x0 + (int)(j - d->col_top) * CKA_CELL, CKA_CELL - 1, line,
		          j == col ? hd | A_UNDERLINE : hd, false);
	}
	for (int r = 0; r < body && nav->top + (size_t)r < L; r++) {
		size_t i = nav->top + (size_t)r;
		int y = 3 + r;
		layer_label(s, &d->layers[i], lab, sizeof lab);
		snprintf(line, sizeof line, "%zu %s", i + 1, lab);
		draw_text(app, w, y, 1, nw, line,
		          role_attr(i == nav->cur ? ROLE_SELECTION : ROLE_NORMAL), false);
		for (size_t j = d->col_top; j < L && j < d->col_top + vis_c; j++) {
			double v = d->cka[i * L + j];
			char cb[16];
			if (isnan(v))
				snprintf(cb, sizeof cb, "%*s", CKA_CELL - 1, "-");
			else
				snprintf(cb, sizeof cb, "%*.3f", CKA_CELL - 1, v);
			attr_t a = i == nav->cur && j == col ? role_attr(ROLE_SELECTION) | A_BOLD
			                                     : role_attr(view_heat(v, 0, 1));
			draw_safe(app, w, y, x0 + (int)(j - d->col_top) * CKA_CELL, CKA_CELL - 1,
			          cb, a, false);
		}
	}
	int y = 3 + (body < (int)L ? body : (int)L) + 1;
	if (nav->cur < L && col < L) {
		char la[200], lb[200];
		layer_label(s, &d->layers[nav->cur], la, sizeof la);
		layer_label(s, &d->layers[col], lb, sizeof lb);
		snprintf(line, sizeof line, "CKA(%.150s, %.150s) = %.6f   (h l: column)", la, lb,
		         d->cka[nav->cur * L + col]);
		draw_text(app, w, y++, 1, W - 2, line, role_attr(ROLE_NORMAL), false);
	}
	if (list_h == 0 || y >= H)
		return;
	if (d->n_top == 0) {
		draw_text(app, w, y, 1, W - 2, d->note[0] ? d->note : "no correlated neuron",
		          role_attr(ROLE_DIM), false);
		return;
	}
	snprintf(line, sizeof line,
	         "neuron %d of %s.%s: most correlated neurons of %s.%s, by %s (%s: by %s)",
	         d->neuron, s->models[d->nm].name, s->models[d->nm].layers[d->nl].name,
	         s->models[d->bm].name, s->models[d->bm].layers[d->bl].name,
	         d->signed_r ? "r" : "|r|", keymode_key(&cka_keys, "signed", kc, sizeof kc),
	         d->signed_r ? "|r|" : "r");
	draw_text(app, w, y++, 1, W - 2, line, role_attr(ROLE_HEADER), false);
	for (size_t k = 0; k < d->n_top && y < H; k++, y++) {
		snprintf(line, sizeof line, "%6u  r %+.4f ", d->top[k].neuron, d->top[k].r);
		int x = 1 + draw_safe(app, w, y, 1, W - 2, line, role_attr(ROLE_NORMAL), false);
		draw_bar(app, w, y, x, 20, fabs(d->top[k].r),
		         role_attr(d->top[k].r >= 0 ? ROLE_RIGHT : ROLE_WRONG));
	}
}

/* A layer matches by "model.layer". */
static bool cka_match(const struct app *app, const void *ctx, size_t row, const char *text)
{
	const struct ckview *d = ctx;
	if (row >= d->n_layers)
		return false;
	char lab[200];
	layer_label(app->s, &d->layers[row], lab, sizeof lab);
	return search_has(lab, text);
}

/* r: rank the matches by r, or back by |r|. */
static int cka_act(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)app;
	(void)nav;
	(void)arg;
	struct ckview *d = ctx;
	d->signed_r = !d->signed_r;
	if (d->have_corr)
		rank_matches(d);
	return 0;
}

static struct key_action cka_acts[] = {
    {"signed", "rank the neuron's matches by r (again: by |r|)", cka_act, 0, K('r')},
};
static KEYMODE(cka_keys, "cka", "Keys of the CKA view", cka_acts);

/* Enter: the row's layer becomes the neuron pane's. */
static int cka_enter(struct app *app, void *ctx, struct view_nav *nav)
{
	struct ckview *d = ctx;
	if (nav->cur >= d->n_layers)
		return 0;
	char lab[200];
	layer_label(app->s, &d->layers[nav->cur], lab, sizeof lab);
	return app_set_layer(app, lab) | VIEW_CLOSE;
}

const struct view_class view_cka = {
    .name = "cka",
    .title = "Linear CKA between layers",
    .help = "how alike every two layers represent the instances; the neuron's matches in B",
    .prepare = cka_prepare,
    .compute = cka_compute,
    .draw = cka_draw,
    .rows = cka_rows,
    .keys = &cka_keys,
    .match = cka_match,
    .enter = cka_enter,
    .free = cka_free,
    .follows_filter = true,
    .follows_models = true,
};
