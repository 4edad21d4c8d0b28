/*
 * view_kernels.c — a convolution layer's (out, in, kh, kw) weights as CNNComparator's kernel
 * map (kernels.h, what `nncmp kernels` prints): one column per output kernel, one kh × kw tile
 * per input channel, on a diverging scale centred on 0 (weights.h's colour scale; the theme's
 * "worse" colour below 0, its "better" colour above). When models A and B both have the layer
 * with the same shape, b shows B − A, then each weight's level of relative change d. The map is
 * a picture drawn by the graphics layer (gfx.h): sixel (or kitty, iTerm2) where the terminal
 * has it, colour half-blocks elsewhere, and glyphs when there is no colour. + and - zoom; the
 * cursor (h l: output kernel, j k: input channel) pans the map; Enter shows the numbers of the
 * kernel under it.
 *
 * The cursor is marked on the axis labels, which curses draws, not in the picture: moving it
 * sends a few bytes, and only a pan, a zoom or another mode sends the picture again.
 */
#include "views.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfx.h"
#include "nncmp/kernels.h"
#include "nncmp/text.h"
#include "nncmp/weights.h"

#define KZOOM_MAX 16
#define KZOOM_FIT 8 /* the first zoom is the largest up to this that shows every kernel */

enum kmode { KM_WEIGHTS, KM_DIFF, KM_LEVEL };

struct kern_ctx {
	const struct npy *wa, *wb; /* wb: B's layer of the same shape, or NULL */
	char *title;               /* sanitized "model.layer" */
	char *name_a, *name_b;     /* sanitized model names (name_b NULL without B) */
	char dtype[8];
	char layers[300];       /* "layers with kernels: ..." */
	char note[300];         /* why this layer and not the neuron pane's, or "" */
	char no_b[200];         /* why there is no B − A, or "" */
	struct kernel_map k[2]; /* the weights of A; B − A with the levels */
	bool have[2];
	int mode; /* enum kmode */
	int zoom; /* a weight's size in columns; 0 until the first draw fits it */
	bool numbers;
	size_t vis_c; /* input channels shown by the last draw (PgUp PgDn move by it) */
};

static struct keymode kernels_keys;

static bool is_conv(const struct layer *ly)
{
	return ly->weights_path && ly->weights.h.ndim == 4;
}

static bool conv_at(const struct study *s, int m, int l)
{
	return m >= 0 && l >= 0 && (size_t)m < s->n_models && (size_t)l < s->models[m].n_layers &&
	       is_conv(&s->models[m].layers[l]);
}

/* The first layer of model m with (out, in, kh, kw) weights, or -1. */
static int first_conv(const struct model *md)
{
	for (size_t l = 0; l < md->n_layers; l++)
		if (is_conv(&md->layers[l]))
			return (int)l;
	return -1;
}

/*
 * The layer K shows: the one L chose, else the neuron pane's layer in model A (or in the
 * pane's own model) when it has kernels, else model A's first layer with kernels, else any
 * model's. False when no layer has 4-D weights.
 */
static bool kernels_layer(const struct app *app, int *m, int *l)
{
	const struct study *s = app->s;
	if (conv_at(s, app->km, app->kl)) {
		*m = app->km;
		*l = app->kl;
		return true;
	}
	int nm = -1, nl = -1;
	struct nn_err e2 = {{0}};
	if (view_layer(app, &nm, &nl, &e2)) {
		int la = study_layer_index(&s->models[app->a], s->models[nm].layers[nl].name);
		if (conv_at(s, (int)app->a, la)) {
			*m = (int)app->a;
			*l = la;
			return true;
		}
		if (conv_at(s, nm, nl)) {
			*m = nm;
			*l = nl;
			return true;
		}
	}
	for (size_t k = 0; k < s->n_models; k++) {
		size_t mi = (app->a + k) % s->n_models;
		int li = first_conv(&s->models[mi]);
		if (li >= 0) {
			*m = (int)mi;
			*l = li;
			return true;
		}
	}
	return false;
}

static bool same_dims(const struct npy *a, const struct npy *b)
{
	if (a->h.ndim != b->h.ndim)
		return false;
	for (int k = 0; k < a->h.ndim; k++)
		if (a->h.dims[k] != b->h.dims[k])
			return false;
	return true;
}

/* The list of layers with kernels, the shown one in brackets. */
static void list_layers(const struct app *app, int m, int l, char *buf, size_t size)
{
	const struct study *s = app->s;
	size_t o = (size_t)snprintf(buf, size, "layers with kernels:");
	size_t n = 0;
	for (size_t mi = 0; mi < s->n_models; mi++)
		for (size_t li = 0; li < s->models[mi].n_layers; li++) {
			if (!is_conv(&s->models[mi].layers[li]) || o + 8 >= size)
				continue;
			char *a = text_sanitize(s->models[mi].name, !app->utf8);
			char *b = text_sanitize(s->models[mi].layers[li].name, !app->utf8);
			bool here = (int)mi == m && (int)li == l;
			o += (size_t)snprintf(buf + o, size - o, " %s%.40s.%.40s%s",
			                      here ? "[" : "", a, b, here ? "]" : "");
			n++;
			free(a);
			free(b);
		}
	if (n > 1 && o < size) {
		char kb[24];
		snprintf(buf + o, size - o, "   %s: next",
		         keymode_key(&kernels_keys, "layer-next", kb, sizeof kb));
	}
}

static void *kernels_prepare(struct app *app, struct nn_err *err)
{
	const struct study *s = app->s;
	int m = -1, l = -1;
	if (!kernels_layer(app, &m, &l)) {
		nn_err_set(err, "no layer has a convolution's (out, in, kh, kw) weights "
		                "(models/M/weights/LAYER.npy)");
		return NULL;
	}
	const struct model *md = &s->models[m];
	const struct layer *ly = &md->layers[l];
	struct kern_ctx *c = xcalloc(1, sizeof *c);
	c->wa = &ly->weights;
	c->name_a = text_sanitize(md->name, !app->utf8);
	char *ln = text_sanitize(ly->name, !app->utf8);
	c->title = xasprintf("%s.%s", c->name_a, ln);
	npy_dtype_str(&ly->weights.h, c->dtype);
	list_layers(app, m, l, c->layers, sizeof c->layers);
	int nm = -1, nl = -1;
	struct nn_err e2 = {{0}};
	if (app->km < 0 && view_layer(app, &nm, &nl, &e2) && (nm != m || nl != l) &&
	    !conv_at(s, nm, nl)) {
		char *a = text_sanitize(s->models[nm].name, !app->utf8);
		char *b = text_sanitize(s->models[nm].layers[nl].name, !app->utf8);
		snprintf(c->note, sizeof c->note,
		         "the neuron pane's layer %.40s.%.40s has no (out, in, kh, kw) weights; "
		         "showing %.80s",
		         a, b, c->title);
		free(a);
		free(b);
	}
	/* B: the other model of the pair, its layer of the same name and shape */
	size_t other = (size_t)m == app->a ? app->b : app->a;
	if (other == (size_t)m) {
		snprintf(c->no_b, sizeof c->no_b, "no B - A: models A and B are one model");
	} else {
		const struct model *mb = &s->models[other];
		int lb = study_layer_index(mb, ly->name);
		char *bn = text_sanitize(mb->name, !app->utf8);
		if (lb < 0 || !is_conv(&mb->layers[lb]))
			snprintf(c->no_b, sizeof c->no_b,
			         "no B - A: %.40s has no kernels for %.40s", bn, ln);
		else if (!same_dims(&ly->weights, &mb->layers[lb].weights))
			snprintf(c->no_b, sizeof c->no_b, "no B - A: %.40s.%.40s has another shape",
			         bn, ln);
		else {
			c->wb = &mb->layers[lb].weights;
			c->name_b = bn;
			bn = NULL;
		}
		free(bn);
	}
	free(ln);
	return c;
}

static int kernels_compute(void *p, struct nn_progress *prog, struct nn_err *err)
{
	struct kern_ctx *c = p;
	atomic_store(&prog->total, c->wb ? 2 : 1);
	for (int k = 0; k < (c->wb ? 2 : 1); k++) {
		if (kernels_map(c->wa, k ? c->wb : NULL, &c->k[k], err) != 0)
			return -1;
		c->have[k] = true;
		atomic_fetch_add(&prog->done, 1);
		if (atomic_load(&prog->cancel))
			return nn_err_set(err, "cancelled");
	}
	return 0;
}

static void kernels_view_free(void *p)
{
	struct kern_ctx *c = p;
	for (int k = 0; k < 2; k++)
		if (c->have[k])
			kernels_free(&c->k[k]);
	free(c->title);
	free(c->name_a);
	free(c->name_b);
	free(c);
}

static size_t kernels_rows(const void *p)
{
	const struct kern_ctx *c = p;
	return c->k[0].in;
}

/* ---- how the map is laid out ---- */

/*
 * The map in units: a weight is zw × zh units, a tile (kw × kh weights) is followed by a gap of
 * one unit. A unit is one column wide and half a row high in a picture (two per half-block
 * cell), a whole row with glyphs.
 */
struct geom {
	bool picture;
	int zw, zh, upr;        /* units of a weight across and down; units per row */
	int tw, th;             /* a tile and its gap, in units */
	int y0, x0, rows, cols; /* the map's area in the window */
	size_t n_o, n_c;        /* output kernels and input channels that fit */
};

/* Whether the map is a picture: a graphics layer that draws in colour, and colours wanted
 * (grey shades would lose the sign: glyphs say it); half-blocks need UTF-8 (an ASCII cell
 * would average the two weights it holds). */
static bool use_picture(const struct app *app)
{
	return app->gfx && gfx_colour(app->gfx) && !theme_no_colour() &&
	       (app->utf8 || gfx_mode_is_pixels(gfx_mode(app->gfx)));
}

static void geom_set(struct geom *g, const struct kernel_map *k, int zoom, bool picture)
{
	g->picture = picture;
	g->zw = zoom;
	g->zh = picture ? zoom : (zoom + 1) / 2;
	g->upr = picture ? 2 : 1;
	g->tw = (int)k->kw * g->zw + 1;
	g->th = (int)k->kh * g->zh + 1;
	int nc = (g->cols + 1) / g->tw, nr = (g->rows * g->upr + 1) / g->th;
	g->n_o = nc < 1 ? 1 : (size_t)nc;
	g->n_c = nr < 1 ? 1 : (size_t)nr;
	if (g->n_o > k->out)
		g->n_o = k->out;
	if (g->n_c > k->in)
		g->n_c = k->in;
}

/* The largest zoom up to KZOOM_FIT that shows the whole map, else 1. */
static int zoom_fit(struct geom *g, const struct kernel_map *k, bool picture)
{
	for (int z = KZOOM_FIT; z > 1; z--) {
		geom_set(g, k, z, picture);
		if (g->n_o == k->out && g->n_c == k->in)
			return z;
	}
	return 1;
}

/* ---- colours ---- */

struct kpal {
	uint8_t neg[3], pos[3], zero[3], gap[3], nan[3], level[WDIFF_LEVELS][3];
};

static void pal_role(enum role r, bool bg, const uint8_t dflt[3], uint8_t out[3])
{
	if (!role_rgb(r, bg, out))
		memcpy(out, dflt, 3);
}

static void pal_init(struct kpal *p)
{
	static const uint8_t red[3] = {255, 95, 95}, green[3] = {0, 215, 0},
	                     blue[3] = {95, 175, 255}, l1[3] = {255, 215, 135},
	                     l2[3] = {255, 95, 0}, l3[3] = {215, 0, 0};
	pal_role(ROLE_WORSE, false, red, p->neg);
	pal_role(ROLE_BETTER, false, green, p->pos);
	pal_role(ROLE_KEY, false, blue, p->nan);
	memcpy(p->zero, (const uint8_t[3]){64, 64, 64}, 3);
	memset(p->gap, 0, 3);
	memcpy(p->level[0], p->zero, 3);
	pal_role(ROLE_HEAT_2, true, l1, p->level[1]);
	pal_role(ROLE_HEAT_4, true, l2, p->level[2]);
	pal_role(ROLE_HEAT_5, true, l3, p->level[3]);
}

/* The colour of value v on the diverging scale (zero grey, |v| ≥ scale the full colour). */
static void value_rgb(const struct kpal *p, double v, double scale, uint8_t out[3])
{
	if (!isfinite(v)) {
		memcpy(out, p->nan, 3);
		return;
	}
	double t = scale > 0 ? v / scale : 0, a = fabs(t) > 1 ? 1 : fabs(t);
	const uint8_t *end = t < 0 ? p->neg : p->pos;
	for (int k = 0; k < 3; k++)
		out[k] = (uint8_t)lround(p->zero[k] + (end[k] - p->zero[k]) * a);
}

/* What is drawn for weight index i: its colour. */
static void weight_rgb(const struct kern_ctx *c, const struct kpal *p, size_t i, uint8_t out[3])
{
	const struct kernel_map *k = &c->k[c->mode == KM_WEIGHTS ? 0 : 1];
	if (c->mode == KM_LEVEL) {
		uint8_t l = k->level[i];
		memcpy(out, l < WDIFF_LEVELS ? p->level[l] : p->nan, 3);
	} else {
		value_rgb(p, k->v[i], k->scale, out);
	}
}

/* The glyph and role of weight index i, in the bands of `nncmp kernels` (its levels 0-3). */
static void weight_glyph(const struct app *app, const struct kern_ctx *c, size_t i, const char **gl,
                         enum role *r)
{
	static const char *const neg[4] = {".", "-", "=", "#"};
	static const char *const pos[4] = {".", "+", "*", "@"};
	static const char *const digit[WDIFF_LEVELS] = {"0", "1", "2", "3"};
	static const enum role lrole[WDIFF_LEVELS] = {ROLE_HEAT_0, ROLE_HEAT_2, ROLE_HEAT_4,
	                                              ROLE_HEAT_5};
	const struct kernel_map *k = &c->k[c->mode == KM_WEIGHTS ? 0 : 1];
	if (c->mode == KM_LEVEL) {
		uint8_t l = k->level[i];
		*gl = l < WDIFF_LEVELS ? digit[l] : "?";
		*r = l < WDIFF_LEVELS ? lrole[l] : ROLE_DIM;
		return;
	}
	double v = k->v[i];
	if (!isfinite(v)) {
		*gl = "?";
		*r = ROLE_DIM;
		return;
	}
	double t = k->scale > 0 ? v / k->scale : 0, a = fabs(t);
	int band = a < 0.1 ? 0 : a < 0.35 ? 1 : a < 0.7 ? 2 : 3;
	*gl = band == 0 ? glyph(app, "\xc2\xb7", ".") : t < 0 ? neg[band] : pos[band];
	*r = band == 0 ? ROLE_DIM : t < 0 ? ROLE_WORSE : ROLE_BETTER;
}

/* ---- drawing ---- */

/* Fills pixels [x0, x1) × [y0, y1) of img with rgb (clipped). */
static void fill_px(struct image *img, int x0, int y0, int x1, int y1, const uint8_t rgb[3])
{
	x1 = x1 > img->w ? img->w : x1;
	y1 = y1 > img->h ? img->h : y1;
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			memcpy(img->rgb + ((size_t)y * (size_t)img->w + (size_t)x) * 3, rgb, 3);
}

/* The map from kernel o0 and channel c0 as a picture: each unit cw × ch/2 pixels, so that the
 * picture lies on the cells the layout gives it (gfx_cell_px). */
static void draw_picture(struct app *app, struct kern_ctx *c, WINDOW *w, const struct geom *g,
                         size_t o0, size_t c0, size_t no, size_t nc)
{
	const struct kernel_map *k = &c->k[0];
	int cw, ch;
	gfx_cell_px(app->gfx, &cw, &ch);
	int uw = (int)no * g->tw - 1, uh = (int)nc * g->th - 1;
	int rows = (uh + 1) / 2, cols = uw;
	rows = rows > g->rows ? g->rows : rows;
	cols = cols > g->cols ? g->cols : cols;
	int pw, ph;
	gfx_box(app->gfx, w, g->y0, rows, cols, &pw, &ph);
	if (pw <= 0 || ph <= 0)
		return;
	struct image img = {.w = uw * cw, .h = uh * ch / 2};
	img.w = img.w > pw ? pw : img.w;
	img.h = img.h > ph ? ph : img.h;
	if (img.w <= 0 || img.h <= 0)
		return;
	img.rgb = xcalloc((size_t)img.w * (size_t)img.h, 3);
	struct kpal pal;
	pal_init(&pal);
	fill_px(&img, 0, 0, img.w, img.h, pal.gap);
	for (size_t o = o0; o < o0 + no; o++)
		for (size_t ci = c0; ci < c0 + nc; ci++)
			for (size_t y = 0; y < k->kh; y++)
				for (size_t x = 0; x < k->kw; x++) {
					uint8_t rgb[3];
					weight_rgb(c, &pal, kernels_index(k, o, ci, y, x), rgb);
					int ux = (int)(o - o0) * g->tw + (int)x * g->zw;
					int uy = (int)(ci - c0) * g->th + (int)y * g->zh;
					fill_px(&img, ux * cw, uy * ch / 2, (ux + g->zw) * cw,
					        (uy + g->zh) * ch / 2, rgb);
				}
	char tag[400];
	snprintf(tag, sizeof tag, "kernels %s %s %d %d %zu %zu %zu %zu %s", c->title,
	         c->name_b ? c->name_b : "-", c->mode, g->zw, o0, c0, no, nc, theme_name());
	gfx_show_image(app->gfx, w, g->y0, g->x0, rows, cols, &img, tag, GFX_SLOT_KERNELS, NULL);
	free(img.rgb);
}

/* The map as glyphs, a weight zw × zh cells. */
static void draw_glyphs(struct app *app, struct kern_ctx *c, WINDOW *w, const struct geom *g,
                        size_t o0, size_t c0, size_t no, size_t nc)
{
	const struct kernel_map *k = &c->k[0];
	for (size_t o = o0; o < o0 + no; o++)
		for (size_t ci = c0; ci < c0 + nc; ci++)
			for (size_t y = 0; y < k->kh; y++)
				for (size_t x = 0; x < k->kw; x++) {
					const char *gl;
					enum role r;
					weight_glyph(app, c, kernels_index(k, o, ci, y, x), &gl,
					             &r);
					int cx = g->x0 + (int)(o - o0) * g->tw + (int)x * g->zw;
					int cy = g->y0 + (int)(ci - c0) * g->th + (int)y * g->zh;
					for (int dy = 0; dy < g->zh; dy++)
						for (int dx = 0; dx < g->zw; dx++)
							if (cy + dy < g->y0 + g->rows &&
							    cx + dx < g->x0 + g->cols)
								draw_safe(app, w, cy + dy, cx + dx,
								          1, gl, role_attr(r),
								          false);
				}
}

/* The numbers of kernel o, a tile per input channel, from the line of tiles holding channel
 * cur. */
static void draw_numbers(struct app *app, struct kern_ctx *c, WINDOW *w, int y0, size_t o,
                         size_t cur)
{
	const struct kernel_map *k = &c->k[c->mode == KM_WEIGHTS ? 0 : 1];
	int W = getmaxx(w), H = getmaxy(w);
	bool lv = c->mode != KM_WEIGHTS;
	int nw = lv ? 11 : 8; /* "%8.4f" or "%8.4f[d]" */
	int tile_w = (int)k->kw * (nw + 1) - 1;
	int per = (W - 2 + 3) / (tile_w + 3);
	per = per < 1 ? 1 : per;
	int line_h = (int)k->kh + 2; /* the label, kh rows, a blank */
	int lines = (H - y0) / line_h;
	lines = lines < 1 ? 1 : lines;
	size_t n_lines = (k->in + (size_t)per - 1) / (size_t)per;
	size_t first = cur / (size_t)per;
	if (first + (size_t)lines > n_lines)
		first = n_lines > (size_t)lines ? n_lines - (size_t)lines : 0;
	char buf[64];
	for (size_t L = first; L < n_lines && (int)(L - first) < lines; L++) {
		int y = y0 + (int)(L - first) * line_h;
		for (int t = 0; t < per; t++) {
			size_t ci = L * (size_t)per + (size_t)t;
			if (ci >= k->in)
				break;
			int x = 1 + t * (tile_w + 3);
			snprintf(buf, sizeof buf, "in %zu", ci);
			draw_safe(app, w, y, x, tile_w, buf,
			          role_attr(ci == cur ? ROLE_SELECTION : ROLE_HEADER), false);
			for (size_t ky = 0; ky < k->kh && y + 1 + (int)ky < H; ky++)
				for (size_t kx = 0; kx < k->kw; kx++) {
					size_t i = kernels_index(k, o, ci, ky, kx);
					int n = snprintf(buf, sizeof buf, "%8.4f", k->v[i]);
					if (lv && k->level[i] < WDIFF_LEVELS)
						snprintf(buf + n, sizeof buf - (size_t)n, "[%u]",
						         k->level[i]);
					else if (lv)
						snprintf(buf + n, sizeof buf - (size_t)n, "[?]");
					draw_safe(app, w, y + 1 + (int)ky, x + (int)kx * (nw + 1),
					          nw, buf, role_attr(ROLE_NORMAL), false);
				}
		}
	}
}

static const char *mode_name(const struct kern_ctx *c, char *buf, size_t size)
{
	if (c->mode == KM_DIFF)
		snprintf(buf, size, "B - A (%s - %s)", c->name_b, c->name_a);
	else if (c->mode == KM_LEVEL)
		snprintf(buf, size, "the change level d of each weight, %s to %s", c->name_a,
		         c->name_b);
	else
		snprintf(buf, size, "the weights of %s", c->name_a);
	return buf;
}

static void kernels_draw(struct app *app, void *p, WINDOW *w, struct view_nav *nav)
{
	struct kern_ctx *c = p;
	const struct kernel_map *k = &c->k[0];
	const struct kernel_map *kv = &c->k[c->mode == KM_WEIGHTS ? 0 : 1];
	int W = getmaxx(w), H = getmaxy(w);
	char line[900], mb[200], k1[24], k2[24], k3[24];
	snprintf(line, sizeof line,
	         "%s kernels (%zu x %zu x %zu x %zu) %s: a column per output kernel, a %zu x %zu "
	         "tile per input channel; %s",
	         c->title, k->out, k->in, k->kh, k->kw, c->dtype, k->kh, k->kw,
	         mode_name(c, mb, sizeof mb));
	draw_safe(app, w, 1, 1, W - 2, line, role_attr(ROLE_NORMAL), false);
	bool picture = use_picture(app);
	char bkey[64] = "";
	if (c->wb)
		snprintf(bkey, sizeof bkey, "   %s: %s",
		         keymode_key(&kernels_keys, "compare", k1, sizeof k1),
		         c->mode == KM_WEIGHTS ? "B - A"
		         : c->mode == KM_DIFF  ? "change levels"
		                               : "weights of A");
	if (c->mode == KM_LEVEL) {
		size_t cnt[WDIFF_LEVELS + 1] = {0};
		size_t n = k->out * k->in * k->kh * k->kw;
		for (size_t i = 0; i < n; i++)
			cnt[kv->level[i] < WDIFF_LEVELS ? kv->level[i] : WDIFF_LEVELS]++;
		snprintf(
		    line, sizeof line,
		    "d = 2|a-b| / (|a|+|b|): %s0 [0, .1) %zu, 1 [.1, .5) %zu, 2 [.5, 1) %zu, 3 "
		    "[1, 2] %zu%s%s",
		    picture ? "grey to red: " : "", cnt[0], cnt[1], cnt[2], cnt[3],
		    cnt[WDIFF_LEVELS] ? ", ? NaN/Inf" : "", bkey);
	} else if (picture) {
		snprintf(
		    line, sizeof line,
		    "red < 0 < green, full at |v| = scale %.4g (99th percentile of |%s|), grey "
		    "0, blue NaN%s",
		    kv->scale, c->mode == KM_DIFF ? "b - a" : "w", bkey);
	} else {
		snprintf(
		    line, sizeof line,
		    "# = -  below -0.7 -0.35 -0.1 x scale   %s |v| < 0.1 x scale   + * @  above "
		    "0.1 0.35 0.7 x scale   (scale %.4g)%s",
		    glyph(app, "\xc2\xb7", "."), kv->scale, bkey);
	}
	draw_safe(app, w, 2, 1, W - 2, line, role_attr(ROLE_DIM), false);

	/* the cursor: output kernel (nav->left), input channel (nav->cur) */
	if (nav->left >= k->out)
		nav->left = k->out - 1;
	if (nav->cur >= k->in)
		nav->cur = k->in - 1;
	size_t o = nav->left, ci = nav->cur;

	int lw = snprintf(NULL, 0, "in %zu", k->in - 1) + 1;
	struct geom g = {.y0 = 6, .x0 = lw, .rows = H - 6, .cols = W - lw - 1};
	if (g.rows < 1 || g.cols < 1) {
		gfx_hide(app->gfx, GFX_SLOT_KERNELS);
		return;
	}
	if (picture) { /* the cells a picture can take (gfx.h: sixel's largest image) */
		int pw, ph, cw, ch;
		gfx_box(app->gfx, w, g.y0, g.rows, g.cols, &pw, &ph);
		gfx_cell_px(app->gfx, &cw, &ch);
		g.cols = pw / cw < g.cols ? pw / cw : g.cols;
		g.rows = ph / ch < g.rows ? ph / ch : g.rows;
		if (g.rows < 1 || g.cols < 1) {
			gfx_hide(app->gfx, GFX_SLOT_KERNELS);
			return;
		}
	}
	if (c->zoom == 0)
		c->zoom = zoom_fit(&g, k, picture);
	geom_set(&g, k, c->zoom, picture);
	/* pan so that the cursor shows: first_col is the first kernel, top the first channel */
	if (o < nav->first_col)
		nav->first_col = o;
	if (o >= nav->first_col + g.n_o)
		nav->first_col = o - g.n_o + 1;
	if (nav->first_col + g.n_o > k->out)
		nav->first_col = k->out - g.n_o;
	view_clamp(nav, k->in, g.n_c);
	size_t o0 = nav->first_col, c0 = nav->top;
	c->vis_c = g.n_c;

	snprintf(line, sizeof line,
	         "cursor: output kernel %zu, input channel %zu   shown: kernels %zu-%zu of %zu, "
	         "channels %zu-%zu of %zu   zoom %d (%s %s)   %s: %s",
	         o, ci, o0, o0 + g.n_o - 1, k->out, c0, c0 + g.n_c - 1, k->in, c->zoom,
	         keymode_key(&kernels_keys, "zoom-in", k2, sizeof k2),
	         keymode_key(&kernels_keys, "zoom-out", k3, sizeof k3),
	         keymode_key(&kernels_keys, "enter", k1, sizeof k1),
	         c->numbers ? "back to the map" : "the kernel's numbers");
	draw_safe(app, w, 3, 1, W - 2, line, role_attr(ROLE_NORMAL), false);
	if (c->note[0] || c->no_b[0])
		snprintf(line, sizeof line, "%s%s%s   %s", c->note, c->note[0] ? "   " : "",
		         c->no_b, c->layers);
	else
		snprintf(line, sizeof line, "%s", c->layers);
	draw_safe(app, w, 4, 1, W - 2, line, role_attr(ROLE_DIM), false);

	if (c->numbers) {
		gfx_hide(app->gfx, GFX_SLOT_KERNELS);
		snprintf(line, sizeof line, "output kernel %zu of %s: %s%s", o, c->title,
		         mode_name(c, mb, sizeof mb),
		         c->mode == KM_WEIGHTS ? "" : ", [d] its change level (0-3)");
		draw_safe(app, w, 5, 1, W - 2, line, role_attr(ROLE_HEADER), false);
		draw_numbers(app, c, w, 6, o, ci);
		return;
	}
	/* axis labels, the cursor's highlighted */
	int dig = snprintf(NULL, 0, "%zu", k->out - 1);
	int step = (dig + 1 + g.tw - 1) / g.tw;
	char buf[32];
	for (size_t oi = o0; oi < o0 + g.n_o; oi++) {
		int x = g.x0 + (int)(oi - o0) * g.tw;
		bool here = oi == o;
		if (!here && (oi % (size_t)step != 0 || (o > oi && o - oi < (size_t)step)))
			continue;
		snprintf(buf, sizeof buf, "%zu", oi);
		draw_safe(app, w, 5, x, W - x, buf, role_attr(here ? ROLE_SELECTION : ROLE_DIM),
		          false);
	}
	for (size_t cc = c0; cc < c0 + g.n_c; cc++) {
		int y = g.y0 + (int)(cc - c0) * g.th / g.upr;
		snprintf(buf, sizeof buf, "in %zu", cc);
		draw_safe(app, w, y, 0, lw - 1, buf,
		          role_attr(cc == ci ? ROLE_SELECTION : ROLE_DIM), false);
	}
	if (picture)
		draw_picture(app, c, w, &g, o0, c0, g.n_o, g.n_c);
	else
		draw_glyphs(app, c, w, &g, o0, c0, g.n_o, g.n_c);
}

/* With the numbers up, Esc and q go back to the map instead of closing the view. */
static int kernels_capture(struct app *app, void *p, struct view_nav *nav, int key)
{
	(void)app;
	(void)nav;
	struct kern_ctx *c = p;
	if (c->numbers && (key == KEY_ESC || key == 'q')) {
		c->numbers = false;
		return 0;
	}
	return -1;
}

/* L: the next layer with kernels after the one shown (any model), wrapping. */
static int kernels_next_layer(struct app *app)
{
	const struct study *s = app->s;
	int m = -1, l = -1;
	if (!kernels_layer(app, &m, &l))
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
		if (is_conv(&s->models[mi].layers[li]))
			break;
	}
	app->km = (int)mi;
	app->kl = (int)li;
	return view_open(app, "kernels");
}

/* The cursor: h l the output kernel (arg ∓1), j k the input channel (±2); the draw pans the
 * map to it. */
static int kernels_move(struct app *app, void *p, struct view_nav *nav, long arg)
{
	(void)app;
	const struct kern_ctx *c = p;
	if (arg == -1 && nav->left > 0)
		nav->left--;
	else if (arg == 1 && nav->left + 1 < c->k[0].out)
		nav->left++;
	else if (arg == -2 && nav->cur > 0)
		nav->cur--;
	else if (arg == 2 && nav->cur + 1 < c->k[0].in)
		nav->cur++;
	return 0;
}

/* + - zoom (arg ±1), b the next comparison (2), L the next layer (3), PgDn PgUp (±4), Enter
 * the kernel's numbers or the map (5). */
static int kernels_act(struct app *app, void *p, struct view_nav *nav, long arg)
{
	struct kern_ctx *c = p;
	if (arg == 5) {
		c->numbers = !c->numbers;
		return 0;
	}
	if (arg == 3)
		return kernels_next_layer(app);
	if (arg == 2) {
		if (!c->wb) {
			app_message(app, true, "%s", c->no_b);
			return REDRAW_STATUS;
		}
		c->mode = (c->mode + 1) % 3;
		return 0;
	}
	if (arg == 4 || arg == -4) {
		size_t step = c->vis_c ? c->vis_c : 1;
		if (arg > 0)
			nav->cur = nav->cur + step < c->k[0].in ? nav->cur + step : c->k[0].in - 1;
		else
			nav->cur = nav->cur > step ? nav->cur - step : 0;
		return 0;
	}
	int z = c->zoom + (int)arg;
	c->zoom = z < 1 ? 1 : z > KZOOM_MAX ? KZOOM_MAX : z;
	return 0;
}

static struct key_action kernels_acts[] = {
    {"left", "the previous output kernel (column)", kernels_move, -1, K('h', KEY_LEFT)},
    {"right", "the next output kernel (column)", kernels_move, 1, K('l', KEY_RIGHT)},
    {"down", "the next input channel (row of tiles)", kernels_move, 2, K('j', KEY_DOWN)},
    {"up", "the previous input channel", kernels_move, -2, K('k', KEY_UP)},
    {"enter", "the numbers of the kernel under the cursor (again: the map)", kernels_act, 5,
     K('\n', '\r', KEY_ENTER)},
    {"zoom-in", "larger weights (zoom in)", kernels_act, 1, K('+', '=')},
    {"zoom-out", "smaller weights (zoom out)", kernels_act, -1, K('-')},
    {"compare", "weights of A, B - A, each weight's change level d (models A and B)", kernels_act,
     2, K('b')},
    {"layer-next", "the next layer with kernels", kernels_act, 3, K('L')},
    {"page-down", "the next screen of input channels", kernels_act, 4, K(KEY_NPAGE)},
    {"page-up", "the previous screen of input channels", kernels_act, -4, K(KEY_PPAGE)},
};
static KEYMODE(kernels_keys, "kernels", "Keys of the kernel map", kernels_acts);

const struct view_class view_kernels = {
    .name = "kernels",
    .title = "Kernel map",
    .help = "a conv layer's kernels: a column per output kernel, a tile per input channel",
    .prepare = kernels_prepare,
    .compute = kernels_compute,
    .draw = kernels_draw,
    .rows = kernels_rows,
    .keys = &kernels_keys,
    .capture = kernels_capture,
    .enter = NULL,
    .free = kernels_view_free,
    .follows_models = true,
};
