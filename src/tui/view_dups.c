/*
 * view_dups.c — near-duplicates for review: pairs of instances with the same prediction (of the
 * layer's model) whose activations in the current layer are nearly identical (dups.h, on the
 * worker), most similar first; pairs whose labels differ, a strong hint that one is wrong, are
 * marked. Enter shows the pair in the instance table.
 */
#include "views.h"

#include <stdio.h>
#include <stdlib.h>

#include "nncmp/dups.h"

#define DUPS_VIEW_THRESHOLD 0.99
#define DUPS_VIEW_TOP       5000

struct dview {
	const struct study *s;
	int m, l;
	bool differ_only; /* list only the pairs whose labels differ */
	struct dups_result res;
	bool have;
	size_t *shown; /* indices into res.pairs that the list shows */
	size_t n_shown;
};

static void filter_rows(struct dview *d)
{
	free(d->shown);
	d->shown = xcalloc(d->res.n_pairs ? d->res.n_pairs : 1, sizeof *d->shown);
	d->n_shown = 0;
	for (size_t k = 0; k < d->res.n_pairs; k++) {
		const struct dups_pair *p = &d->res.pairs[k];
		if (!d->differ_only || d->s->labels[p->a] != d->s->labels[p->b])
			d->shown[d->n_shown++] = k;
	}
}

static void *dups_prepare(struct app *app, struct nn_err *err)
{
	int m, l;
	if (!view_layer(app, &m, &l, err))
		return NULL;
	struct dview *d = xcalloc(1, sizeof *d);
	d->s = app->s;
	d->m = m;
	d->l = l;
	return d;
}

static int dups_compute(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	struct dview *d = ctx;
	const struct model *md = &d->s->models[d->m];
	struct dups_opts o = {.act = &md->layers[d->l].act,
	                      .classes = md,
	                      .threshold = DUPS_VIEW_THRESHOLD,
	                      .top = DUPS_VIEW_TOP};
	if (dups_find(d->s, &o, prog, &d->res, err) != 0)
		return -1;
	d->have = true;
	filter_rows(d);
	return 0;
}

static size_t dups_rows(const void *ctx)
{
	const struct dview *d = ctx;
	return d->n_shown;
}

static void dups_view_free(void *ctx)
{
	struct dview *d = ctx;
	if (d->have)
		dups_free(&d->res);
	free(d->shown);
	free(d);
}

static void dups_draw(struct app *app, void *ctx, WINDOW *w, struct view_nav *nav)
{
	struct dview *d = ctx;
	const struct study *s = app->s;
	int H = getmaxy(w), W = getmaxx(w);
	char line[256];
	size_t differ = 0;
	for (size_t k = 0; k < d->res.n_pairs; k++)
		differ += s->labels[d->res.pairs[k].a] != s->labels[d->res.pairs[k].b];
	snprintf(
	    line, sizeof line,
	    "%.40s.%.40s: %zu pair%s with the same prediction and cosine >= %.2f%s, %zu of the "
	    "listed with different labels (*)   d: %s",
	    s->models[d->m].name, s->models[d->m].layers[d->l].name, d->res.count,
	    d->res.count == 1 ? "" : "s", DUPS_VIEW_THRESHOLD,
	    d->res.count > d->res.n_pairs ? " (the closest listed)" : "", differ,
	    d->differ_only ? "every pair" : "only differing labels");
	draw_text(app, w, 1, 1, W - 2, line, role_attr(ROLE_HEADER), false);
	if (d->n_shown == 0) {
		draw_safe(app, w, 3, 2, W - 4, "no pair", role_attr(ROLE_DIM), false);
		return;
	}
	int idw = app->id_cols < 24 ? app->id_cols : 24;
	/* columns: mark and cosine (12), a and b (idw + 9 each), predicted (13), labels */
	snprintf(line, sizeof line, "     cosine %-*s%-*s%-13s%s", idw + 9, "a", idw + 9, "b",
	         "predicted", "labels a / b");
	draw_safe(app, w, 2, 0, W, line, role_attr(ROLE_HEADER), true);
	int body = H - 3;
	view_clamp(nav, d->n_shown, (size_t)(body > 0 ? body : 1));
	for (int r = 0; r < body && nav->top + (size_t)r < d->n_shown; r++) {
		size_t k = nav->top + (size_t)r;
		const struct dups_pair *p = &d->res.pairs[d->shown[k]];
		bool differ_p = s->labels[p->a] != s->labels[p->b];
		attr_t a = role_attr(k == nav->cur ? ROLE_SELECTION : ROLE_NORMAL);
		int y = r + 3;
		draw_safe(app, w, y, 0, W, "", a, true);
		snprintf(line, sizeof line, " %s %8.5f ", differ_p ? "*" : " ", p->cosine);
		int x = draw_safe(app, w, y, 0, W, line, a, false);
		char ib[32], nb[32];
		uint32_t two[2] = {p->a, p->b};
		for (int q = 0; q < 2; q++) {
			snprintf(nb, sizeof nb, "#%u ", two[q]);
			int used = draw_safe(app, w, y, x, W - x, nb, a, false);
			draw_text(app, w, y, x + used, idw,
			          study_instance_id(s, two[q], ib, sizeof ib), a, false);
			x += idw + 9;
		}
		if (x >= W)
			continue;
		draw_text(app, w, y, x, 12, s->classes[model_pred(&s->models[d->m], p->a)], a,
		          false);
		x += 13;
		if (x >= W)
			continue;
		x += draw_text(app, w, y, x, (W - x) / 2, s->classes[s->labels[p->a]],
		               differ_p ? role_attr(ROLE_WRONG) : a, false);
		x += draw_safe(app, w, y, x, W - x, " / ", a, false);
		draw_text(app, w, y, x, W - x, s->classes[s->labels[p->b]],
		          differ_p ? role_attr(ROLE_WRONG) : a, false);
	}
}

/* d: only the pairs whose labels differ, or every pair. */
static int dups_act(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)app;
	(void)arg;
	struct dview *d = ctx;
	d->differ_only = !d->differ_only;
	filter_rows(d);
	nav->cur = nav->top = 0;
	return 0;
}

/* A pair matches by either sample's id. */
static bool dups_match(const struct app *app, const void *ctx, size_t row, const char *text)
{
	const struct dview *d = ctx;
	if (row >= d->n_shown)
		return false;
	const struct dups_pair *p = &d->res.pairs[d->shown[row]];
	char ia[32], ib[32];
	return search_has(study_instance_id(app->s, p->a, ia, sizeof ia), text) ||
	       search_has(study_instance_id(app->s, p->b, ib, sizeof ib), text);
}

static struct key_action dups_acts[] = {
    {"differ", "only the pairs whose labels differ (again: every pair)", dups_act, 0, K('d')},
};
static KEYMODE(dups_keys, "dups", "Keys of the near-duplicates view", dups_acts);

/* Enter: the instance table shows the pair. */
static int dups_enter(struct app *app, void *ctx, struct view_nav *nav)
{
	struct dview *d = ctx;
	if (nav->cur >= d->n_shown)
		return 0;
	const struct dups_pair *p = &d->res.pairs[d->shown[nav->cur]];
	char f[64];
	snprintf(f, sizeof f, "index == %u or index == %u", p->a, p->b);
	return app_set_filter(app, f, AGREE_CUSTOM, -1, true) | VIEW_CLOSE;
}

const struct view_class view_dups = {
    .name = "dups",
    .title = "Near-duplicates in the layer (same prediction)",
    .help = "pairs of instances with nearly identical activations",
    .prepare = dups_prepare,
    .compute = dups_compute,
    .draw = dups_draw,
    .rows = dups_rows,
    .keys = &dups_keys,
    .match = dups_match,
    .enter = dups_enter,
    .free = dups_view_free,
};
