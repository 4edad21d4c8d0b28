/*
 * view_images.c — the two image views: a thumbnail grid of the shown instances (Enter puts the
 * instance table's cursor on the chosen one) and a full-pane preview of the instance under the
 * cursor (j/k step through the shown instances). Images go through the graphics layer (gfx.h):
 * sixel where the terminal has it, half-blocks elsewhere.
 */
#include "gfx.h"
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/image.h"
#include "nncmp/text.h"

struct images {
	int per_row;  /* thumbnails per grid row, as last drawn */
	int shown;    /* grid slots in use, as last drawn */
	bool preview; /* the full-pane preview, not the grid */
	size_t start; /* the table's cursor when the view opened */
	bool placed;  /* nav.cur was set to start */
};

static void *images_prepare(struct app *app, bool preview, struct nn_err *err)
{
	if (!app->s->images) {
		nn_err_set(err, "the study has no images (samples.jsonl has no \"image\" field)");
		return NULL;
	}
	if (!app->gfx || gfx_mode(app->gfx) == GFX_NONE) {
		nn_err_set(err, "graphics are off (--graphics none)");
		return NULL;
	}
	if (app->n_sel == 0) {
		nn_err_set(err, "no instance is shown");
		return NULL;
	}
	struct images *v = xcalloc(1, sizeof *v);
	v->preview = preview;
	v->per_row = 1;
	v->start = app->panes[PANE_INSTANCES].nav.cur;
	return v;
}

static void *grid_prepare(struct app *app, struct nn_err *err)
{
	return images_prepare(app, false, err);
}

static void *preview_prepare(struct app *app, struct nn_err *err)
{
	return images_prepare(app, true, err);
}

/* Both views start on the instance under the table's cursor. */
static void place(struct images *v, struct view_nav *nav)
{
	if (!v->placed) {
		nav->cur = v->start;
		v->placed = true;
	}
}

static size_t images_rows(const void *ctx)
{
	(void)ctx;
	return SIZE_MAX; /* the host only needs "more than the cursor": views keep it in range */
}

static void images_free(void *ctx)
{
	free(ctx);
}

/*
 * Draws text in at most cols columns, cut at its start when it does not fit, after a separator
 * where it has one ("digit-00141" -> "…00141"): an id's end is what tells it from its
 * neighbours. Returns the columns used.
 */
int view_draw_tail(struct app *app, WINDOW *w, int y, int x, int cols, const char *raw, attr_t a)
{
	if (cols <= 0)
		return 0;
	char *t = text_sanitize(raw, !app->utf8);
	const char *p = t;
	int used = 0;
	if (text_cols(p) > cols) {
		used = draw_safe(app, w, y, x, 1, glyph(app, "\xe2\x80\xa6", "~"), a, false);
		while (*p && text_cols(p) > cols - used) {
			p++;
			while ((*p & 0xc0) == 0x80) /* whole characters */
				p++;
		}
		/* and whole parts: "…00141", not "…t-00141" */
		const char *sep = strpbrk(p, "-_./: ");
		if (sep && sep[1])
			p = sep + 1;
	}
	used += draw_safe(app, w, y, x + used, cols - used, p, a, false);
	free(t);
	return used;
}

/*
 * One line under a picture: id, truth and whether models A and B got it right. The A/B letters
 * always show; the truth is abbreviated to at most half of the rest, the id cut to what remains.
 */
static void caption(struct app *app, WINDOW *w, int y, int x, int cols, size_t i, attr_t a)
{
	const struct study *s = app->s;
	int32_t t = s->labels[i];
	bool ra = model_pred(&s->models[app->a], i) == t,
	     rb = model_pred(&s->models[app->b], i) == t;
	int ab = 3; /* " AB" */
	int tw = (cols - ab) / 2;
	const char *truth = app_class_abbrev(app, tw < 1 ? 1 : tw, NULL)[t];
	int idw = cols - ab - 1 - text_cols(truth);
	char idb[32];
	int used = view_draw_tail(app, w, y, x, idw, study_instance_id(s, i, idb, sizeof idb), a);
	used += draw_safe(app, w, y, x + used, cols - used, " ", a, false);
	used += draw_safe(app, w, y, x + used, cols - used - ab, truth, a, false);
	used += draw_safe(app, w, y, x + used, cols - used, " ", a, false);
	used += draw_safe(app, w, y, x + used, cols - used, ra ? "A" : "a",
	                  role_attr(ra ? ROLE_RIGHT : ROLE_WRONG), false);
	draw_safe(app, w, y, x + used, cols - used, rb ? "B" : "b",
	          role_attr(rb ? ROLE_RIGHT : ROLE_WRONG), false);
}

char *view_picture_path(struct app *app, WINDOW *w, int y, int x, int rows, int cols, size_t i,
                        int slot)
{
	struct nn_err err = {{0}};
	char *path = image_path(app->s, i, &err);
	if (!path) {
		gfx_hide(app->gfx, slot);
		detail_draw_wrapped(app, w, y, x, rows, cols, detail_image_reason(app, i, err.msg),
		                    role_attr(ROLE_ERROR));
	}
	return path;
}

/* Shows instance i's image in a rectangle as slot `slot`, or the reason it has none. */
void view_picture(struct app *app, WINDOW *w, int y, int x, int rows, int cols, size_t i, int slot)
{
	char *path = view_picture_path(app, w, y, x, rows, cols, i, slot);
	if (!path)
		return;
	gfx_show(app->gfx, w, y, x, rows, cols, path, slot, NULL);
	free(path);
}

#define THUMB_ROWS 5
#define THUMB_COLS 12

static void grid_draw(struct app *app, void *ctx, WINDOW *w, struct view_nav *nav)
{
	struct images *v = ctx;
	int H = getmaxy(w), W = getmaxx(w);
	int per_row = (W - 1) / (THUMB_COLS + 2);
	int grid_rows = (H - 2) / (THUMB_ROWS + 1);
	per_row = per_row < 1 ? 1 : per_row;
	grid_rows = grid_rows < 1 ? 1 : grid_rows;
	v->per_row = per_row;
	place(v, nav);
	if (nav->cur >= app->n_sel)
		nav->cur = app->n_sel - 1;
	/* the first visible grid row keeps the cursor in view */
	size_t row = nav->cur / (size_t)per_row, top = nav->top / (size_t)per_row;
	if (row < top)
		top = row;
	if (row >= top + (size_t)grid_rows)
		top = row - (size_t)grid_rows + 1;
	nav->top = top * (size_t)per_row;
	char line[128];
	snprintf(line, sizeof line, "%zu of %zu shown   h j k l move   Enter: pick   Esc: close",
	         nav->cur + 1, app->n_sel);
	draw_safe(app, w, 1, 1, W - 2, line, role_attr(ROLE_DIM), false);
	int k = 0;
	for (int r = 0; r < grid_rows; r++)
		for (int c = 0; c < per_row; c++) {
			size_t pos = nav->top + (size_t)(r * per_row + c);
			if (pos >= app->n_sel)
				break;
			size_t i = app->sel[pos];
			int y = 2 + r * (THUMB_ROWS + 1), x = 1 + c * (THUMB_COLS + 2);
			bool at = pos == nav->cur;
			view_picture(app, w, y, x, THUMB_ROWS, THUMB_COLS, i, GFX_SLOT_GRID + k);
			caption(app, w, y + THUMB_ROWS, x, THUMB_COLS + 1, i,
			        role_attr(at ? ROLE_SELECTION : ROLE_DIM));
			k++;
		}
	for (int j = k; j < v->shown; j++)
		gfx_hide(app->gfx, GFX_SLOT_GRID + j);
	v->shown = k;
}

/* The grid's moves: arg 0 a row down, 1 up, 2 a cell right, 3 left, 4 the first, 5 the last. */
static int grid_act(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	struct images *v = ctx;
	long n = (long)app->n_sel;
	long step = arg == 0   ? v->per_row
	            : arg == 1 ? -v->per_row
	            : arg == 2 ? 1
	            : arg == 3 ? -1
	            : arg == 4 ? -n
	                       : n;
	long cur = (long)nav->cur + step;
	cur = cur < 0 ? 0 : cur >= n ? n - 1 : cur;
	nav->cur = (size_t)cur;
	return 0;
}

static struct key_action grid_acts[] = {
    {"down", "the row below", grid_act, 0, K('j', KEY_DOWN)},
    {"up", "the row above", grid_act, 1, K('k', KEY_UP)},
    {"right", "the next image", grid_act, 2, K('l', KEY_RIGHT)},
    {"left", "the previous image", grid_act, 3, K('h', KEY_LEFT)},
    {"top", "the first image", grid_act, 4, K('g', KEY_HOME)},
    {"bottom", "the last image", grid_act, 5, K('G', KEY_END)},
};
static KEYMODE(grid_keys, "grid", "Keys of the thumbnails", grid_acts);

/* Enter: the table's cursor goes to the picked instance. */
static int images_enter(struct app *app, void *ctx, struct view_nav *nav)
{
	(void)ctx;
	if (nav->cur < app->n_sel) {
		app->panes[PANE_INSTANCES].nav.cur = nav->cur;
		app->focus = PANE_INSTANCES;
	}
	return VIEW_CLOSE | REDRAW_ALL;
}

/* The view's own keys (defined with their handlers below). */
static struct keymode preview_keys;

static void preview_draw(struct app *app, void *ctx, WINDOW *w, struct view_nav *nav)
{
	place(ctx, nav);
	int H = getmaxy(w), W = getmaxx(w);
	if (nav->cur >= app->n_sel)
		nav->cur = app->n_sel - 1;
	size_t i = app->sel[nav->cur];
	char line[128];
	char kn[24], kp[24];
	snprintf(line, sizeof line, "#%zu  (%zu of %zu shown)   %s/%s: next/previous   ", i,
	         nav->cur + 1, app->n_sel, keymode_key(&preview_keys, "next", kn, sizeof kn),
	         keymode_key(&preview_keys, "prev", kp, sizeof kp));
	int x = draw_safe(app, w, 1, 1, W - 2, line, role_attr(ROLE_DIM), false) + 1;
	caption(app, w, 1, x, W - x - 1, i, role_attr(ROLE_NORMAL) | A_BOLD);
	int rows = H - 3 - (int)app->s->n_models;
	if (rows < 2)
		rows = H - 3;
	if (app->saliency && app->gfx && gfx_mode(app->gfx) != GFX_NONE) {
		/* models A and B side by side, each with its own map */
		int half = (W - 3) / 2;
		saliency_picture(app, w, 2, 1, rows, half, i, GFX_SLOT_PREVIEW, app->a);
		saliency_picture(app, w, 2, 2 + half, rows, W - 3 - half, i, GFX_SLOT_PREVIEW_B,
		                 app->b);
	} else {
		if (app->gfx)
			gfx_hide(app->gfx, GFX_SLOT_PREVIEW_B);
		view_picture(app, w, 2, 1, rows, W - 2, i, GFX_SLOT_PREVIEW);
	}
	if (rows < H - 3)
		detail_models(app, w, 2 + rows, 1, H - 2 - rows, W - 2, i);
}

/* The preview steps through the shown instances by arg (±MOVE_ALL: the first, the last); the
 * table follows. */
static int preview_act(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	nav_move(nav, app->n_sel, 10, arg);
	app->panes[PANE_INSTANCES].nav.cur = nav->cur; /* the table follows */
	return 0;
}

static struct key_action preview_acts[] = {
    {"next", "the next instance", preview_act, 1, K('j', KEY_DOWN, ' ')},
    {"prev", "the previous instance", preview_act, -1, K('k', KEY_UP)},
    {"page-down", "ten instances on", preview_act, 10, K(KEY_NPAGE)},
    {"page-up", "ten instances back", preview_act, -10, K(KEY_PPAGE)},
    {"first", "the first instance", preview_act, -MOVE_ALL, K('g', KEY_HOME)},
    {"last", "the last instance", preview_act, MOVE_ALL, K('G', KEY_END)},
    {"saliency", "models A and B side by side, each with its explanation map over the image",
     saliency_toggle, 0, K('S')},
};
static KEYMODE(preview_keys, "preview", "Keys of the image preview", preview_acts);

const struct view_class view_grid = {
    .name = "grid",
    .title = "Thumbnails of the shown instances",
    .help = "a grid of the shown instances' images",
    .prepare = grid_prepare,
    .draw = grid_draw,
    .rows = images_rows,
    .keys = &grid_keys,
    .enter = images_enter,
    .free = images_free,
};

const struct view_class view_preview = {
    .name = "preview",
    .title = "Image preview",
    .help = "the instance's image, as large as the screen allows",
    .prepare = preview_prepare,
    .draw = preview_draw,
    .rows = images_rows,
    .keys = &preview_keys,
    .enter = images_enter,
    .free = images_free,
};
