/*
 * saliency_tui.c — the explanation-map overlay of the detail pane, the review queue and the
 * preview: model m's Grad-CAM map of an instance (models/NAME/saliency/LAYER.npy, saliency.h)
 * blended as heat colour over its image by the graphics layer (gfx_show_over, overlay.h), and
 * the key that turns it on and off for every screen at once.
 */
#include "gfx.h"
#include "tui_int.h"
#include "views.h"

#include <stdio.h>
#include <stdlib.h>

#include "nncmp/image.h"
#include "nncmp/saliency.h"
#include "nncmp/text.h"

/* "A cnn.conv2" (the slot letter when m is model A or B), sanitized into buf. */
static const char *model_label(const struct app *app, int m, char *buf, size_t size)
{
	const struct model *md = &app->s->models[m];
	const char *ab = (size_t)m == app->a ? "A " : (size_t)m == app->b ? "B " : "";
	char *raw = md->saliency_path ? xasprintf("%s%s.%s", ab, md->name, md->saliency_layer)
	                              : xasprintf("%s%s", ab, md->name);
	char *safe = text_sanitize(raw, !app->utf8);
	snprintf(buf, size, "%s", safe);
	free(raw);
	free(safe);
	return buf;
}

int saliency_toggle(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	(void)arg;
	app->saliency = !app->saliency;
	if (!app->s->images) {
		app_message(app, true, "saliency: the study has no images");
		app->saliency = false;
		return REDRAW_STATUS;
	}
	char la[96], lb[96];
	model_label(app, app->a, la, sizeof la);
	model_label(app, app->b, lb, sizeof lb);
	bool ha = app->s->models[app->a].saliency_path, hb = app->s->models[app->b].saliency_path;
	if (!app->saliency)
		app_message(app, false, "saliency overlay off");
	else if (!ha && !hb)
		app_message(app, false, "saliency overlay on, but neither %s nor %s has maps", la,
		            lb);
	else
		app_message(app, false, "saliency overlay on: %s%s, %s%s", la, ha ? "" : " (none)",
		            lb, hb ? "" : " (none)");
	return REDRAW_ALL | REDRAW_STATUS;
}

int saliency_picture(struct app *app, WINDOW *w, int y, int x, int rows, int cols, size_t i,
                     int slot, int m)
{
	char *path = view_picture_path(app, w, y, x, rows, cols, i, slot);
	if (!path)
		return rows;
	const struct model *md = &app->s->models[m];
	if (!app->saliency || rows < 2) {
		int used = gfx_show(app->gfx, w, y, x, rows, cols, path, slot, NULL);
		free(path);
		return used;
	}
	char label[NN_ERR_MAX + 16], name[96];
	model_label(app, m, name, sizeof name);
	struct gfx_overlay ov = {0};
	double *map = NULL;
	if (md->saliency_path && i < md->saliency.rows) {
		ov.mh = (int)md->saliency.h.dims[1];
		ov.mw = (int)md->saliency.h.dims[2];
		map = xcalloc((size_t)ov.mh * (size_t)ov.mw, sizeof *map);
		struct nn_err err = {{0}};
		if (saliency_map(&md->saliency, i, map, &err) == 0) {
			ov.map = map;
			snprintf(label, sizeof label, "Grad-CAM %s %dx%d", name, ov.mh, ov.mw);
		} else {
			snprintf(label, sizeof label, "%s", err.msg);
		}
	} else {
		snprintf(label, sizeof label, "%s: no saliency map", name);
	}
	char *tag = xasprintf("saliency %d %zu", m, i);
	ov.tag = ov.map ? tag : NULL;
	int used = gfx_show_over(app->gfx, w, y, x, rows - 1, cols, path, slot, NULL, &ov);
	free(tag);
	free(map);
	free(path);
	if (ov.map && text_cols(label) > cols)
		snprintf(label, sizeof label, "%s", name); /* narrow: the model and layer only */
	draw_text(app, w, y + used, x, cols, label, role_attr(ov.map ? ROLE_HEADER : ROLE_DIM),
	          false);
	return used + 1;
}
