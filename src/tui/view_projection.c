/*
 * view_projection.c — the PCA projection of the layer's activations over the shown instances
 * (project.h; at most PROJ_MAX of them, taken evenly), drawn as a braille scatter: each cell holds
 * 2 × 4 dots and takes the colour of the class most of its points have (or of model A being right
 * or wrong). Without UTF-8 a cell is '.', ':' or '*' by how many points it holds.
 */
#include "views.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/project.h"
#include "nncmp/text.h"

#define PROJ_MAX 20000

static const enum role class_roles[] = {ROLE_ONLY_A, ROLE_ONLY_B, ROLE_RIGHT,
                                        ROLE_WRONG,  ROLE_HEAT_1, ROLE_NORMAL};
#define N_CLASS_ROLES (sizeof class_roles / sizeof *class_roles)

struct proj_ctx {
	const struct study *s;
	const struct npy *act;
	char *title;
	uint32_t *idx;
	size_t n, n_sel;
	size_t a;    /* model A */
	size_t inst; /* the selected instance, or SIZE_MAX */
	struct projection p;
	bool have;
	int colour;  /* 0: class, 1: A right or wrong */
	bool labels; /* cells show the class's label character instead of dots */
	/* one character per class for the label mode: its distinguishing character when those are
	 * distinct, else the class numbers 0-9a-zA-Z (app_class_abbrev at width 1; borrowed) */
	char *const *chars;
};

static void *proj_prepare(struct app *app, struct nn_err *err)
{
	const struct study *s = app->s;
	int m, l;
	if (!view_layer(app, &m, &l, err))
		return NULL;
	size_t n;
	uint32_t *sel = view_sel_sorted(app, &n);
	if (n < 2) {
		free(sel);
		nn_err_set(err, "fewer than 2 instances are shown: nothing to project");
		return NULL;
	}
	struct proj_ctx *c = xcalloc(1, sizeof *c);
	c->s = s;
	c->act = &s->models[m].layers[l].act;
	char *mn = text_sanitize(s->models[m].name, !app->utf8);
	char *ln = text_sanitize(s->models[m].layers[l].name, !app->utf8);
	c->title = xasprintf("%s.%s", mn, ln);
	free(mn);
	free(ln);
	c->a = app->a;
	c->chars = app_class_abbrev(app, 1, NULL);
	c->n_sel = n;
	c->inst = app_current(app);
	if (n <= PROJ_MAX) {
		c->idx = sel;
		c->n = n;
	} else {
		/* evenly spaced, and the selected instance in its place */
		c->idx = xcalloc(PROJ_MAX + 1, sizeof *c->idx);
		size_t k = 0;
		bool placed = c->inst == SIZE_MAX;
		for (size_t q = 0; q < PROJ_MAX; q++) {
			uint32_t i = sel[(size_t)((double)q * (double)n / PROJ_MAX)];
			if (!placed && c->inst <= i) {
				if (c->inst < i)
					c->idx[k++] = (uint32_t)c->inst;
				placed = true;
			}
			c->idx[k++] = i;
		}
		if (!placed)
			c->idx[k++] = (uint32_t)c->inst;
		c->n = k;
		free(sel);
	}
	return c;
}

static int proj_compute(void *p, struct nn_progress *prog, struct nn_err *err)
{
	struct proj_ctx *c = p;
	if (project_pca(c->act, c->idx, c->n, prog, &c->p, err) != 0)
		return -1;
	c->have = true;
	return 0;
}

static void proj_free(void *p)
{
	struct proj_ctx *c = p;
	if (c->have)
		project_free(&c->p);
	free(c->idx);
	free(c->title);
	free(c);
}

static size_t proj_rows(const void *p)
{
	(void)p;
	return 0;
}

/* The group (class, or 0 right / 1 wrong) of instance i in the current colouring. */
static size_t group_of(const struct proj_ctx *c, uint32_t i)
{
	if (c->colour == 0)
		return (size_t)c->s->labels[i];
	return model_pred(&c->s->models[c->a], i) == c->s->labels[i] ? 0 : 1;
}

static enum role group_role(const struct proj_ctx *c, size_t g)
{
	if (c->colour == 1)
		return g == 0 ? ROLE_RIGHT : ROLE_WRONG;
	return class_roles[g % N_CLASS_ROLES];
}

struct cell {
	uint8_t bits;
	uint32_t count;
	size_t vote; /* Boyer–Moore majority vote over the groups of its points */
	uint32_t vote_n;
};

#define LEGEND_ROWS 4

/*
 * Lays out the class legend (each class's dot colour or letter, then its name) from row y,
 * column x, wrapping at the window's edge, at most LEGEND_ROWS rows; draws it when draw.
 * Returns the rows it takes.
 */
static int class_legend(struct app *app, const struct proj_ctx *c, WINDOW *w, int y, int x, int W,
                        bool draw)
{
	int rows = 1;
	for (size_t k = 0; k < c->s->n_classes; k++) {
		const char *mark = c->labels ? c->chars[k] : glyph(app, "\xe2\x96\xa0", "#");
		const char *name = app->class_names[k];
		int nw = text_cols(name) > 20 ? 20 : text_cols(name);
		int ew = text_cols(mark) + 1 + nw;
		if (x > 1 && x + ew > W - 1) {
			if (rows == LEGEND_ROWS)
				break;
			rows++;
			x = 1;
		}
		if (draw) {
			int yy = y + rows - 1;
			draw_safe(app, w, yy, x, W - x, mark, role_attr(group_role(c, k)) | A_BOLD,
			          false);
			draw_safe(app, w, yy, x + text_cols(mark) + 1, nw, name,
			          role_attr(ROLE_NORMAL), false);
		}
		x += ew + 2;
	}
	return rows;
}

/* The view's own keys (defined with their handlers below). */
static struct keymode proj_keys;

static void proj_draw(struct app *app, void *p, WINDOW *w, struct view_nav *nav)
{
	(void)nav;
	struct proj_ctx *c = p;
	const struct projection *pr = &c->p;
	int W = getmaxx(w), H = getmaxy(w);
	char line[600];
	snprintf(line, sizeof line,
	         "%s: PCA of %zu instance%s%s; PC1 %.1f%% and PC2 %.1f%% of the variance%s",
	         c->title, pr->used, pr->used == 1 ? "" : "s",
	         c->n < c->n_sel ? " (an even sample of the shown)" : " (all shown)",
	         100 * pr->explained[0], 100 * pr->explained[1],
	         pr->skipped ? "; some left out (non-finite)" : "");
	draw_safe(app, w, 1, 1, W - 2, line, role_attr(ROLE_NORMAL), false);
	char kc[24], kt[24];
	snprintf(
	    line, sizeof line, "colour: %s (%s: by %s)   %s: %s   PC1 %s, PC2 %s",
	    c->colour ? "model A right or wrong" : "ground-truth class",
	    keymode_key(&proj_keys, "colour", kc, sizeof kc), c->colour ? "class" : "A right/wrong",
	    keymode_key(&proj_keys, "letters", kt, sizeof kt), c->labels ? "dots" : "class labels",
	    glyph(app, "\xe2\x86\x92", "->"), glyph(app, "\xe2\x86\x91", "^"));
	draw_safe(app, w, 2, 1, W - 2, line, role_attr(ROLE_DIM), false);
	/* the legend below the plot: the selected instance, then the classes, wrapped */
	char sel_buf[64] = "";
	if (c->inst != SIZE_MAX)
		snprintf(sel_buf, sizeof sel_buf, "%s #%zu  ", glyph(app, "\xe2\x97\x86", "@"),
		         c->inst);
	int legend_x = 1 + text_cols(sel_buf);
	int legend = c->colour == 1 ? 1 : class_legend(app, c, w, 0, legend_x, W, false);
	int y0 = 3, ph = H - y0 - legend, pw = W - 2;
	if (ph < 2 || pw < 4)
		return;
	float x0 = INFINITY, x1 = -INFINITY, yl = INFINITY, yh = -INFINITY;
	for (size_t k = 0; k < pr->n; k++) {
		float x = pr->points[2 * k], y = pr->points[2 * k + 1];
		if (!isfinite(x) || !isfinite(y))
			continue;
		x0 = x < x0 ? x : x0;
		x1 = x > x1 ? x : x1;
		yl = y < yl ? y : yl;
		yh = y > yh ? y : yh;
	}
	if (!(x1 >= x0))
		return;
	struct cell *cells = xcalloc((size_t)ph * (size_t)pw, sizeof *cells);
	int dw = 2 * pw, dh = 4 * ph;
	int sel_cx = -1, sel_cy = -1;
	for (size_t k = 0; k < pr->n; k++) {
		float x = pr->points[2 * k], y = pr->points[2 * k + 1];
		if (!isfinite(x) || !isfinite(y))
			continue;
		int dx = x1 > x0 ? (int)((x - x0) / (x1 - x0) * (float)(dw - 1) + 0.5f) : dw / 2;
		int dy = yh > yl ? (int)((yh - y) / (yh - yl) * (float)(dh - 1) + 0.5f) : dh / 2;
		dx = dx < 0 ? 0 : dx >= dw ? dw - 1 : dx;
		dy = dy < 0 ? 0 : dy >= dh ? dh - 1 : dy;
		struct cell *ce = &cells[(size_t)(dy / 4) * (size_t)pw + (size_t)(dx / 2)];
		static const uint8_t bit[2][4] = {{0x01, 0x02, 0x04, 0x40},
		                                  {0x08, 0x10, 0x20, 0x80}};
		ce->bits |= bit[dx % 2][dy % 4];
		ce->count++;
		size_t g = group_of(c, c->idx[k]);
		if (ce->vote_n == 0) {
			ce->vote = g;
			ce->vote_n = 1;
		} else if (ce->vote == g) {
			ce->vote_n++;
		} else {
			ce->vote_n--;
		}
		if (c->idx[k] == c->inst) {
			sel_cx = dx / 2;
			sel_cy = dy / 4;
		}
	}
	for (int r = 0; r < ph; r++)
		for (int q = 0; q < pw; q++) {
			const struct cell *ce = &cells[(size_t)r * (size_t)pw + (size_t)q];
			if (!ce->count)
				continue;
			char gl[8];
			if (c->labels && c->colour == 0) {
				snprintf(gl, sizeof gl, "%s", c->chars[ce->vote]);
			} else if (c->labels) {
				gl[0] = ce->vote ? 'x' : 'o';
				gl[1] = '\0';
			} else if (app->utf8) {
				gl[0] = (char)0xe2;
				gl[1] = (char)(0xa0 + (ce->bits >> 6));
				gl[2] = (char)(0x80 | (ce->bits & 0x3f));
				gl[3] = '\0';
			} else {
				snprintf(gl, sizeof gl, "%c",
				         ce->count == 1   ? '.'
				         : ce->count <= 3 ? ':'
				                          : '*');
			}
			draw_safe(app, w, y0 + r, 1 + q, 1, gl,
			          role_attr(ce->vote_n ? group_role(c, ce->vote) : ROLE_DIM),
			          false);
		}
	free(cells);
	if (sel_cx >= 0)
		draw_safe(app, w, y0 + sel_cy, 1 + sel_cx, 1, glyph(app, "\xe2\x97\x86", "@"),
		          role_attr(ROLE_SELECTION) | A_BOLD, false);
	/* the legend */
	int x = 1, y = H - legend;
	if (sel_cx >= 0)
		draw_safe(app, w, y, x, W - x, sel_buf, role_attr(ROLE_SELECTION), false);
	x = legend_x;
	if (c->colour == 1) {
		x += draw_safe(app, w, y, x, W - x, glyph(app, "\xe2\x96\xa0 ", "# "),
		               role_attr(ROLE_RIGHT), false);
		x += draw_safe(app, w, y, x, W - x, "A right  ", role_attr(ROLE_NORMAL), false);
		x += draw_safe(app, w, y, x, W - x, glyph(app, "\xe2\x96\xa0 ", "# "),
		               role_attr(ROLE_WRONG), false);
		draw_safe(app, w, y, x, W - x, "A wrong   (a cell takes its points' majority)",
		          role_attr(ROLE_NORMAL), false);
		return;
	}
	class_legend(app, c, w, y, x, W, true);
}

/* c: colour by class or by A right (arg 0); t: class letters instead of dots (1). */
static int proj_act(struct app *app, void *p, struct view_nav *nav, long arg)
{
	(void)app;
	(void)nav;
	struct proj_ctx *c = p;
	if (arg == 0)
		c->colour = !c->colour;
	else
		c->labels = !c->labels;
	return 0;
}

static struct key_action proj_acts[] = {
    {"colour", "colour by class, or by whether model A is right", proj_act, 0, K('c')},
    {"letters", "class letters instead of dots", proj_act, 1, K('t')},
};
static KEYMODE(proj_keys, "projection", "Keys of the projection", proj_acts);

const struct view_class view_projection = {
    .name = "projection",
    .title = "Projection (PCA)",
    .help = "2-D PCA of the layer's activations over the shown instances, coloured by class",
    .prepare = proj_prepare,
    .compute = proj_compute,
    .draw = proj_draw,
    .rows = proj_rows,
    .keys = &proj_keys,
    .enter = NULL,
    .free = proj_free,
    .follows_filter = true,
    .follows_models = true,
};
