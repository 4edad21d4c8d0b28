/*
 * pane_neurons.c — the neuron pane: the neurons of the current layer ranked by how strongly they
 * separate the selection from the rest (d), each with a sparkline of its activation histogram in
 * the selection and in the rest. The statistics and the ranking are computed on the worker
 * thread (neurons.h); the whole-layer statistics are kept per layer for the session, so that a
 * new filter only reads the rows of the selection. With channels shown (C, a spatial layer) the
 * rows are the layer's channels, ranked on each channel's spatial maximum per instance exactly
 * as `nncmp neurons --channels` does (channels.h); Enter on one opens its patches (view_patches.c).
 */
#include "tui_int.h"
#include "worker.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/channels.h"
#include "nncmp/keysort.h"
#include "nncmp/neurons.h"
#include "nncmp/text.h"

/* Whole-layer statistics of one layer, kept once computed (never freed before the worker). */
struct layer_stats {
	bool ready;
	struct neuron_stats st;
	bool max_open; /* channel slots: the N x C maxima (channels_max_open), once read */
	struct npy max;
};

struct npane {
	size_t n_slots;
	struct layer_stats *slots; /* one per (model, layer), in model order; then as many for
	                              the layers' channels */
	bool channels;             /* the rows are channels (when the layer is spatial) */
	bool ch;                   /* the ranking on screen is of channels */
	/* the ranking on screen */
	int lm, ll;
	bool have; /* a ranking of layer (lm, ll) for the selection of generation gen */
	bool by_d; /* ranked by d (a strict subset); else by std over every instance */
	struct neuron_subset ss;
	bool have_ss;
	uint32_t *order;
	double *score;
	size_t h;
	uint64_t gen;
	bool pending; /* a newer ranking is being computed */
	char error[NN_ERR_MAX];
};

struct njob {
	const struct npy *act;
	const struct npy *layer; /* channels: the (N, C, H, W) layer whose maxima act will be */
	struct npy max;
	bool max_open;                    /* max read here (moved to the slot when done) */
	const struct neuron_stats *stats; /* the layer's, when ready; else computed here */
	struct neuron_stats own;
	bool own_ready;
	uint32_t *idx; /* the selection, ascending */
	size_t n_idx, n;
	struct neuron_subset ss;
	bool ss_ready;
	int lm, ll;
	size_t slot;
	uint64_t gen;
};

static size_t slot_of(const struct study *s, int lm, int ll)
{
	size_t k = 0;
	for (int m = 0; m < lm; m++)
		k += s->models[m].n_layers;
	return k + (size_t)ll;
}

static struct npane *np_get(struct app *app)
{
	if (!app->np) {
		struct npane *np = xcalloc(1, sizeof *np);
		for (size_t m = 0; m < app->s->n_models; m++)
			np->n_slots += app->s->models[m].n_layers;
		np->slots = xcalloc(np->n_slots ? 2 * np->n_slots : 1, sizeof *np->slots);
		np->lm = np->ll = -1;
		app->np = np;
	}
	return app->np;
}

static void ranking_clear(struct npane *np)
{
	if (np->have_ss)
		neurons_subset_free(&np->ss);
	np->have_ss = false;
	free(np->order);
	free(np->score);
	np->order = NULL;
	np->score = NULL;
	np->have = false;
	np->h = 0;
}

void neurons_pane_free(struct app *app)
{
	struct npane *np = app->np;
	if (!np)
		return;
	ranking_clear(np);
	for (size_t k = 0; k < 2 * np->n_slots; k++) {
		if (np->slots[k].ready)
			neurons_stats_free(&np->slots[k].st);
		if (np->slots[k].max_open)
			npy_close(&np->slots[k].max);
	}
	free(np->slots);
	free(np);
	app->np = NULL;
}

static int njob_run(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	struct njob *j = ctx;
	struct neurons_opts opt = {0};
	if (!j->act) {
		if (channels_max_open(j->layer, 0, &j->max, err) != 0)
			return -1;
		j->max_open = true;
		j->act = &j->max;
	}
	if (!j->stats) {
		if (neurons_stats(j->act, &opt, prog, &j->own, err) != 0)
			return -1;
		j->own_ready = true;
		j->stats = &j->own;
	}
	if (j->n_idx == 0 || j->n_idx >= j->n)
		return 0;
	keysort_index(j->idx, j->n_idx); /* the subset statistics read rows in order */
	if (neurons_subset(j->act, j->stats, j->idx, j->n_idx, true, &opt, prog, &j->ss, err) != 0)
		return -1;
	j->ss_ready = true;
	return 0;
}

static void njob_free(void *ctx)
{
	struct njob *j = ctx;
	if (j->own_ready)
		neurons_stats_free(&j->own);
	if (j->ss_ready)
		neurons_subset_free(&j->ss);
	if (j->max_open)
		npy_close(&j->max);
	free(j->idx);
	free(j);
}

static int njob_done(struct app *app, void *ctx, int rc, const struct nn_err *err)
{
	struct njob *j = ctx;
	struct npane *np = np_get(app);
	if (j->gen != np->gen || j->lm != app->lm || j->ll != app->ll)
		return 0; /* a newer request is on its way */
	struct layer_stats *ls = &np->slots[j->slot];
	if (j->max_open && !ls->max_open) {
		ls->max = j->max; /* moved, like the statistics */
		ls->max_open = true;
		j->max_open = false;
	}
	if (j->own_ready && !ls->ready) {
		ls->st = j->own; /* moved: the layer keeps it */
		ls->ready = true;
		j->own_ready = false;
	}
	ranking_clear(np);
	np->pending = false;
	np->lm = j->lm;
	np->ll = j->ll;
	np->ch = j->slot >= np->n_slots;
	if (rc != 0) {
		snprintf(np->error, sizeof np->error, "%s", err->msg);
		return REDRAW_ONE(PANE_NEURONS) | REDRAW_STATUS;
	}
	np->error[0] = '\0';
	const struct neuron_stats *st = &ls->st;
	np->h = st->h;
	np->score = xcalloc(st->h ? st->h : 1, sizeof *np->score);
	np->order = xcalloc(st->h ? st->h : 1, sizeof *np->order);
	if (j->ss_ready) {
		np->ss = j->ss;
		np->have_ss = true;
		j->ss_ready = false;
		neurons_scores(st, &np->ss, NEURON_BY_D, np->score);
		neurons_rank(np->score, st->h, true, np->order);
		np->by_d = true;
	} else {
		neurons_scores(st, NULL, NEURON_BY_STD, np->score);
		neurons_rank(np->score, st->h, false, np->order);
		np->by_d = false;
	}
	np->have = true;
	app->panes[PANE_NEURONS].nav.cur = app->panes[PANE_NEURONS].nav.top = 0;
	return REDRAW_ONE(PANE_NEURONS) | REDRAW_ONE(PANE_DETAIL) | REDRAW_STATUS;
}

void neurons_request(struct app *app)
{
	struct npane *np = np_get(app);
	np->gen++;
	if (app->lm < 0 || app->ll < 0)
		return;
	np->pending = true;
	const struct layer *L = &app->s->models[app->lm].layers[app->ll];
	struct njob *j = xcalloc(1, sizeof *j);
	bool ch = np->channels && L->act.h.ndim == 4;
	j->lm = app->lm;
	j->ll = app->ll;
	j->slot = slot_of(app->s, app->lm, app->ll) + (ch ? np->n_slots : 0);
	if (!ch)
		j->act = &L->act;
	else if (np->slots[j->slot].max_open)
		j->act = &np->slots[j->slot].max;
	else
		j->layer = &L->act; /* the worker reads the maxima first */
	j->stats = np->slots[j->slot].ready ? &np->slots[j->slot].st : NULL;
	j->n = app->s->n;
	j->n_idx = app->n_sel;
	j->idx = xcalloc(app->n_sel ? app->n_sel : 1, sizeof *j->idx);
	memcpy(j->idx, app->sel, app->n_sel * sizeof *j->idx);
	j->gen = np->gen;
	np->error[0] = '\0';
	struct job job = {
	    .tag = JOB_NEURONS, .ctx = j, .run = njob_run, .done = njob_done, .free = njob_free};
	snprintf(job.what, sizeof job.what, "%s %.20s.%.20s%s", j->stats ? "ranking" : "statistics",
	         app->s->models[app->lm].name, L->name, ch ? " channels" : "");
	if (app->worker) {
		worker_submit(app->worker, &job);
		return;
	}
	struct nn_err err = {{0}};
	struct nn_progress prog = {0};
	int rc = njob_run(j, &prog, &err);
	njob_done(app, j, rc, &err);
	njob_free(j);
}

size_t neurons_pane_rows(const struct app *app)
{
	const struct npane *np = app->np;
	return np && np->have ? np->h : 0;
}

int neurons_pane_neuron(const struct app *app, size_t row)
{
	const struct npane *np = app->np;
	if (!np || !np->have || row >= np->h)
		return -1;
	return (int)np->order[row];
}

static void neurons_draw(struct app *app)
{
	if (app->lm >= 0 && pane_waits(app, PANE_NEURONS, "Neurons", false))
		return;
	struct pane *pn = &app->panes[PANE_NEURONS];
	WINDOW *w = pn->win;
	struct npane *np = np_get(app);
	werase(w);
	char title[160], right[96] = "";
	if (app->lm < 0) {
		pane_title(app, PANE_NEURONS, "Neurons", NULL);
		draw_safe(app, w, 2, 2, pn->w - 2, "no layer with activations in this study",
		          role_attr(ROLE_DIM), false);
		wnoutrefresh(w);
		return;
	}
	const struct model *m = &app->s->models[app->lm];
	char *ln = xasprintf("%s.%s", m->name, m->layers[app->ll].name);
	char *lns = text_sanitize(ln, !app->utf8);
	free(ln);
	bool ch = np->channels && m->layers[app->ll].act.h.ndim == 4;
	bool current = np->have && np->lm == app->lm && np->ll == app->ll && np->ch == ch;
	snprintf(title, sizeof title, "%s %.60s", ch ? "Channels" : "Neurons", lns);
	free(lns);
	if (current && np->pending)
		snprintf(right, sizeof right, "updating...");
	else if (current && np->by_d)
		snprintf(right, sizeof right, "by |d|: filter vs rest");
	else if (current)
		snprintf(right, sizeof right, "by std: all instances");
	pane_title(app, PANE_NEURONS, title, right);
	attr_t hd = role_attr(ROLE_HEADER);
	int W = pn->w;
	draw_safe(app, w, 1, 0, W, "", hd, true);
	if (np->error[0]) {
		draw_text(app, w, 2, 1, W - 1, np->error, role_attr(ROLE_ERROR), false);
		wnoutrefresh(w);
		return;
	}
	if (!current) {
		draw_safe(app, w, 2, 2, W - 2, "computing (see the status line)...",
		          role_attr(ROLE_DIM), false);
		wnoutrefresh(w);
		return;
	}
	const struct neuron_stats *st =
	    &np->slots[slot_of(app->s, np->lm, np->ll) + (ch ? np->n_slots : 0)].st;
	const char *unit = ch ? "chan" : "neuron";
	/* columns: neuron, score, mean in S, mean in R, sparklines */
	int spark = (W - 34) / 2;
	if (spark > (int)st->bins)
		spark = (int)st->bins;
	char hbuf[160];
	if (np->by_d)
		snprintf(hbuf, sizeof hbuf, "%6s %6s %7s %7s  %-*s %s", unit, "d", "mean S",
		         "mean R", spark > 0 ? spark : 0, "in filter", "rest");
	else
		snprintf(hbuf, sizeof hbuf, "%6s %6s %7s %7s  %s", unit, "std", "mean", "dead%",
		         "histogram");
	draw_safe(app, w, 1, 0, W, hbuf, hd, false);
	pane_clamp(app, PANE_NEURONS);
	int h = pane_list_height(app, PANE_NEURONS);
	double *hv = xcalloc(st->bins ? st->bins : 1, sizeof *hv);
	double *hr = xcalloc(st->bins ? st->bins : 1, sizeof *hr);
	for (int r = 0; r < h && pn->nav.top + (size_t)r < np->h; r++) {
		size_t k = pn->nav.top + (size_t)r;
		uint32_t j = np->order[k];
		int y = r + 2;
		bool sel = app->focus == PANE_NEURONS && k == pn->nav.cur;
		attr_t a = role_attr(sel ? ROLE_SELECTION : ROLE_NORMAL);
		draw_safe(app, w, y, 0, W, "", a, true);
		char buf[96];
		if (np->by_d) {
			double d = np->score[j];
			snprintf(buf, sizeof buf, "%6u %+6.2f %7.3g %7.3g  ", j, d,
			         np->ss.mean_in[j], np->ss.mean_out[j]);
		} else {
			snprintf(buf, sizeof buf, "%6u %6.3g %7.3g %6.1f%%  ", j, np->score[j],
			         st->mean[j], 100 * neurons_dead_frac(st, j));
		}
		int x = draw_safe(app, w, y, 0, W, buf, a, false);
		for (unsigned b = 0; b < st->bins; b++) {
			uint64_t all = st->hist[(size_t)j * st->bins + b];
			uint64_t in = np->have_ss ? np->ss.hist_in[(size_t)j * st->bins + b] : all;
			/* log counts: a ReLU layer's zero bin would flatten everything else */
			hv[b] = log1p((double)in);
			hr[b] = log1p((double)(all - in));
		}
		if (np->by_d) {
			x += draw_sparkline(app, w, y, x, spark, hv, st->bins,
			                    sel ? a : role_attr(ROLE_ONLY_A));
			x += 1;
			draw_sparkline(app, w, y, x, spark, hr, st->bins,
			               sel ? a : role_attr(ROLE_DIM));
		} else {
			draw_sparkline(app, w, y, x, W - x - 1, hv, st->bins,
			               sel ? a : role_attr(ROLE_ONLY_A));
		}
	}
	free(hv);
	free(hr);
	wnoutrefresh(w);
}

static int neurons_need(const struct app *app)
{
	(void)app;
	return 16;
}

bool neurons_pane_channels(const struct app *app)
{
	const struct npane *np = app->np;
	return np && np->have && np->ch;
}

/* Enter: the instances sorted by the neuron's activation, highest first; on a channel, the
 * patches that activate it most. */
static int neurons_enter(struct app *app)
{
	const struct study *s = app->s;
	int j = neurons_pane_neuron(app, app->panes[PANE_NEURONS].nav.cur);
	if (j < 0 || app->lm < 0)
		return 0;
	if (neurons_pane_channels(app))
		return view_open(app, "patches");
	const struct model *m = &s->models[app->lm];
	char *key = xasprintf("act(%s.%s.%d)", m->name, m->layers[app->ll].name, j);
	int rc = app_set_sort(app, key);
	free(key);
	if (rc & REDRAW_ONE(PANE_INSTANCES)) {
		app->focus = PANE_INSTANCES;
		app->panes[PANE_INSTANCES].nav.cur = app->panes[PANE_INSTANCES].nav.top = 0;
		app_message(app, false, "instances sorted by neuron %d, highest first", j);
		rc |= app->layout != 0 || app->zoom ? RELAYOUT : REDRAW_ALL;
	}
	return rc;
}

/* A neuron matches by its number, exactly. */
static bool neurons_match(const struct app *app, size_t row, const char *text)
{
	int j = neurons_pane_neuron(app, row);
	char buf[24];
	snprintf(buf, sizeof buf, "%d", j);
	return j >= 0 && strcmp(buf, text) == 0;
}

/* C: channels or neurons, for a spatial layer. */
static int nact_channels(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	(void)arg;
	struct npane *np = np_get(app);
	if (app->lm < 0)
		return 0;
	const struct layer *L = &app->s->models[app->lm].layers[app->ll];
	if (L->act.h.ndim != 4) {
		np->channels = false;
		app_message(app, true,
		            "channels: %s.%s is not spatial (its activations are not N, C, H, W)",
		            app->s->models[app->lm].name, L->name);
		return REDRAW_STATUS;
	}
	np->channels = !np->channels;
	app->panes[PANE_NEURONS].nav.cur = app->panes[PANE_NEURONS].nav.top = 0;
	neurons_request(app);
	app_message(app, false,
	            np->channels ? "channels of %s.%s: Enter shows a channel's patches"
	                         : "neurons of %s.%s",
	            app->s->models[app->lm].name, L->name);
	return REDRAW_ONE(PANE_NEURONS) | REDRAW_STATUS;
}

static struct key_action neurons_acts[] = {
    {"channels",
     "a spatial layer's channels (spatial maximum) or its neurons; Enter on a "
     "channel: its top patches",
     nact_channels, 0, K('C')},
};
static KEYMODE(neurons_keys, "neurons", "Keys of the neuron pane", neurons_acts);

const struct pane_class pane_neurons = {
    .name = "neurons",
    .cursor = CURSOR_ROWS,
    .need = neurons_need,
    .rows = neurons_pane_rows,
    .draw = neurons_draw,
    .enter = neurons_enter,
    .match = neurons_match,
    .keys = &neurons_keys,
    .follower = -1,
    .region = REGION_BOTTOM_RIGHT,
    .stack = 1,
};
