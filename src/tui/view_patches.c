/*
 * view_patches.c — a channel's patches (Enter on a channel in the neuron pane, C): the images of
 * the instances whose channel has the highest spatial maximum, highest first, the same instances
 * in the same order as `nncmp patches --top 10` (channels_top, channels.h), each with the region
 * of its maximum outlined on the image as `nncmp patches` gives it (rfield.h: the receptive
 * field when graph.json allows, else the feature-map cell scaled; drawn into the image: a
 * rectangle in sixel, the region's pixels tinted red in half-blocks) and a caption with the
 * index and the maximum.
 * Enter puts the instance table's cursor on the picked instance.
 */
#include "gfx.h"
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/channels.h"
#include "nncmp/image.h"
#include "nncmp/rfield.h"
#include "nncmp/text.h"

/* As many as `nncmp patches` lists by default. */
#define PATCHES_TOP 10
#define PTHUMB_ROWS 6
#define PTHUMB_COLS 14

struct patches {
	const struct study *s;
	int m, l;
	size_t channel;
	const struct npy *act;
	struct channel_hit *hits;
	size_t n;
	struct rfield rf; /* the region of a position (computed with the hits) */
	int shown;        /* graphics slots in use */
};

static void *patches_prepare(struct app *app, struct nn_err *err)
{
	int c = neurons_pane_neuron(app, app->panes[PANE_NEURONS].nav.cur);
	if (!neurons_pane_channels(app) || c < 0 || app->lm < 0) {
		nn_err_set(err, "patches: show a spatial layer's channels first (C in the neuron "
		                "pane)");
		return NULL;
	}
	if (!app->s->images) {
		nn_err_set(err, "patches: the study has no images");
		return NULL;
	}
	struct patches *v = xcalloc(1, sizeof *v);
	v->s = app->s;
	v->m = app->lm;
	v->l = app->ll;
	v->channel = (size_t)c;
	v->act = &app->s->models[v->m].layers[v->l].act;
	return v;
}

static int patches_compute(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	(void)prog;
	struct patches *v = ctx;
	if (channels_top(v->act, v->channel, PATCHES_TOP, 0, &v->hits, &v->n, err) < 0)
		return -1;
	/* a malformed graph.json is said in the header (rf.why) rather than refused here */
	struct nn_err gerr = {{0}};
	const struct model *md = &v->s->models[v->m];
	rfield_for_layer(v->s, md, md->layers[v->l].name, v->act, &v->rf, &gerr);
	return 0;
}

static size_t patches_rows(const void *ctx)
{
	return ((const struct patches *)ctx)->n;
}

/* Instance k's image with its cell outlined, as slot GFX_SLOT_GRID + slot. */
static void patch_picture(struct app *app, struct patches *v, WINDOW *w, int y, int x, size_t k,
                          int slot)
{
	const struct channel_hit *h = &v->hits[k];
	struct nn_err err = {{0}};
	char *path = image_path(app->s, h->index, &err);
	if (!path) {
		gfx_hide(app->gfx, GFX_SLOT_GRID + slot);
		detail_draw_wrapped(app, w, y, x, PTHUMB_ROWS, PTHUMB_COLS,
		                    detail_image_reason(app, h->index, err.msg),
		                    role_attr(ROLE_ERROR));
		return;
	}
	/* the region of the maximum, as nncmp patches' box_frac */
	struct gfx_overlay ov = {.box = true, .rgb = {255, 40, 40}};
	rfield_region(&v->rf, h->y, h->x, ov.frac, NULL);
	char *tag = xasprintf("patch %u %u", h->y, h->x);
	ov.tag = tag;
	gfx_show_over(app->gfx, w, y, x, PTHUMB_ROWS, PTHUMB_COLS, path, GFX_SLOT_GRID + slot, NULL,
	              &ov);
	free(tag);
	free(path);
}

static void patches_draw(struct app *app, void *ctx, WINDOW *w, struct view_nav *nav)
{
	struct patches *v = ctx;
	int H = getmaxy(w), W = getmaxx(w);
	const struct model *md = &app->s->models[v->m];
	char *ln = xasprintf("%s.%s", md->name, md->layers[v->l].name);
	char *lns = text_sanitize(ln, !app->utf8);
	char line[200], region[400];
	snprintf(line, sizeof line,
	         "%.60s channel %zu: the %zu instance%s of highest spatial maximum (nncmp patches)"
	         "   Enter: go to it",
	         lns, v->channel, v->n, v->n == 1 ? "" : "s");
	if (v->rf.exact)
		snprintf(region, sizeof region,
		         "outlined: the receptive field of the maximum, %zu%s%zu pixels of the "
		         "%zu%s%zu input, clipped",
		         v->rf.size[1], app->utf8 ? "\xc3\x97" : "x", v->rf.size[0], v->rf.in[1],
		         app->utf8 ? "\xc3\x97" : "x", v->rf.in[0]);
	else
		snprintf(region, sizeof region,
		         "outlined: the cell of the maximum scaled to the image (no receptive "
		         "field: %s)",
		         v->rf.why);
	char *rs = text_sanitize(region, !app->utf8);
	free(ln);
	free(lns);
	draw_safe(app, w, 1, 1, W - 2, line, role_attr(ROLE_DIM), false);
	draw_safe(app, w, 2, 1, W - 2, rs, role_attr(ROLE_DIM), false);
	free(rs);
	if (v->n == 0) {
		draw_safe(app, w, 3, 2, W - 3, "no instance has a finite value in this channel",
		          role_attr(ROLE_DIM), false);
		return;
	}
	int per_row = (W - 1) / (PTHUMB_COLS + 2);
	int grid_rows = (H - 3) / (PTHUMB_ROWS + 1);
	per_row = per_row < 1 ? 1 : per_row;
	grid_rows = grid_rows < 1 ? 1 : grid_rows;
	size_t per_page = (size_t)(per_row * grid_rows);
	if (nav->cur >= v->n)
		nav->cur = v->n - 1;
	nav->top = nav->cur / per_page * per_page;
	int k = 0;
	for (size_t pos = nav->top; pos < v->n && pos < nav->top + per_page; pos++, k++) {
		int r = k / per_row, c = k % per_row;
		int y = 3 + r * (PTHUMB_ROWS + 1), x = 1 + c * (PTHUMB_COLS + 2);
		patch_picture(app, v, w, y, x, pos, k);
		char cap[64];
		snprintf(cap, sizeof cap, "%zu. #%u %.3g", pos + 1, v->hits[pos].index,
		         (double)v->hits[pos].value);
		draw_safe(app, w, y + PTHUMB_ROWS, x, PTHUMB_COLS + 1, cap,
		          role_attr(pos == nav->cur ? ROLE_SELECTION : ROLE_DIM), false);
	}
	for (int j = k; j < v->shown; j++)
		gfx_hide(app->gfx, GFX_SLOT_GRID + j);
	v->shown = k;
}

/* Enter: the instance table's cursor on the picked instance (a filter for it when the current
 * filter leaves it out). */
static int patches_enter(struct app *app, void *ctx, struct view_nav *nav)
{
	struct patches *v = ctx;
	if (nav->cur >= v->n)
		return 0;
	uint32_t i = v->hits[nav->cur].index;
	for (size_t p = 0; p < app->n_sel; p++)
		if (app->sel[p] == i) {
			app->panes[PANE_INSTANCES].nav.cur = p;
			app->focus = PANE_INSTANCES;
			return VIEW_CLOSE | REDRAW_ALL;
		}
	char f[48];
	snprintf(f, sizeof f, "index == %u", i);
	return app_set_filter(app, f, AGREE_CUSTOM, -1, true) | VIEW_CLOSE;
}

/* A patch matches by its instance's index, exactly. */
static bool patches_match(const struct app *app, const void *ctx, size_t row, const char *text)
{
	(void)app;
	const struct patches *v = ctx;
	if (row >= v->n)
		return false;
	char buf[24];
	snprintf(buf, sizeof buf, "%u", v->hits[row].index);
	return strcmp(buf, text) == 0;
}

static void patches_free(void *ctx)
{
	struct patches *v = ctx;
	free(v->hits);
	rfield_free(&v->rf);
	free(v);
}

const struct view_class view_patches = {
    .name = "patches",
    .title = "Patches of a channel",
    .help = "the images that most activate a channel, the receptive field of the maximum "
            "outlined",
    .prepare = patches_prepare,
    .compute = patches_compute,
    .draw = patches_draw,
    .rows = patches_rows,
    .match = patches_match,
    .enter = patches_enter,
    .free = patches_free,
};
