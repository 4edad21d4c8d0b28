/*
 * pane_detail.c — the detail pane: the instance under the instance table's cursor. Its id and
 * truth, each model's top probabilities as bars, its label-issue score, its text (wrapped) or its
 * image, and its activation profile over the neuron pane's layer (a sparkline of the activations
 * sorted from most positive to most negative, and the strongest neurons).
 */
#include "tui_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfx.h"
#include "nncmp/derive.h"
#include "nncmp/image.h"
#include "nncmp/neurons.h"
#include "nncmp/text.h"

#define TOP_P 3

/* The top TOP_P classes of model m for instance i (probabilities); returns how many. */
static int top_probs(const struct study *s, const struct model *m, size_t i, int32_t *cls,
                     double *p)
{
	if (m->src == SRC_PRED)
		return 0;
	size_t C = s->n_classes;
	double *row = xcalloc(C, sizeof *row);
	if (npy_row_f64_guarded(&m->probs, i, row, NULL) != 0) { /* changed on disk: none */
		free(row);
		return 0;
	}
	int32_t pred, rank;
	double conf, margin, pl;
	const char *why = NULL;
	if (derive_row(row, C, m->src == SRC_LOGITS, s->labels[i], &pred, &conf, &margin, &pl,
	               &rank, &why) != 0) {
		free(row);
		return 0;
	}
	int n = 0;
	for (int k = 0; k < TOP_P && (size_t)k < C; k++) {
		size_t best = C;
		for (size_t c = 0; c < C; c++) {
			bool taken = false;
			for (int q = 0; q < n; q++)
				taken = taken || cls[q] == (int32_t)c;
			if (!taken && (best == C || row[c] > row[best]))
				best = c;
		}
		cls[n] = (int32_t)best;
		p[n] = row[best];
		n++;
	}
	free(row);
	return n;
}

/* Tab stops of texts, every 8 columns: a text looks as `cat` or `less` show it. */
#define TEXT_TAB_COLS 8

/* Wraps sanitized text into the rectangle, starting a row at each of its line breaks; returns
 * the rows used. */
static int draw_wrapped(const struct app *app, WINDOW *w, int y, int x, int rows, int cols,
                        const char *raw)
{
	char *t = text_sanitize_lines(raw, !app->utf8, TEXT_TAB_COLS);
	int used = 0;
	const char *p = t;
	while (*p && used < rows) {
		/* take up to cols columns, breaking at the last space when there is one */
		const char *line = p, *brk = NULL, *q = p;
		int c = 0;
		while (*q && *q != '\n' && c < cols) {
			if (*q == ' ')
				brk = q;
			/* step one UTF-8 character */
			q++;
			while ((*q & 0xC0) == 0x80)
				q++;
			c++;
		}
		const char *end = q;
		if (*q && *q != '\n' && brk && brk > line)
			end = brk;
		char *seg = xstrndup(line, (size_t)(end - line));
		draw_safe(app, w, y + used, x, cols, seg, role_attr(ROLE_NORMAL), false);
		free(seg);
		used++;
		p = end;
		if (*p == '\n' || *p == ' ')
			p++;
	}
	free(t);
	return used;
}

/* Draws instance i's image into the rectangle as graphics slot `slot`; false when there is no
 * graphics layer (then the caller names the file instead). */
static bool detail_image(struct app *app, WINDOW *w, int y, int x, int rows, int cols, size_t i,
                         int slot)
{
	if (!app->gfx || gfx_mode(app->gfx) == GFX_NONE || rows < 2 || cols < 4)
		return false;
	/* model A's explanation map over it when the overlay is on; a path that leaves the
	 * study says why instead of an image */
	saliency_picture(app, w, y, x, rows, cols, i, slot, app->a);
	return true;
}

void detail_draw_wrapped(const struct app *app, WINDOW *w, int y, int x, int rows, int cols,
                         const char *text, attr_t attr)
{
	const char *p = text;
	for (int r = 0; r < rows && *p; r++) {
		while (*p == ' ')
			p++;
		size_t n = strlen(p), cut = n;
		if (n > (size_t)cols) { /* break at the last space that fits, else mid-word */
			cut = (size_t)cols;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = (size_t)cols;
		}
		char *line = xstrndup(p, cut);
		draw_text(app, w, y + r, x, cols, line, attr, false);
		free(line);
		p += cut;
	}
}

const char *detail_image_reason(const struct app *app, size_t i, const char *msg)
{
	const char *rel = app->s->images && i < app->s->n ? app->s->images[i] : NULL;
	size_t n = rel ? strlen(rel) : 0;
	if (n && strncmp(msg, rel, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
		return msg + n + 2;
	return msg;
}

int detail_models(struct app *app, WINDOW *w, int y0, int x0, int rows, int cols, size_t i)
{
	const struct study *s = app->s;
	int32_t truth = s->labels[i];
	int W = x0 + cols, y = y0, x;
	int name_w = 4;
	for (size_t m = 0; m < s->n_models; m++) {
		int t = text_cols(app->model_names[m]);
		if (t > name_w)
			name_w = t > 12 ? 12 : t;
	}
	/* more models than rows: A and B first (else A and B of 30 models may not show) */
	size_t *order = xcalloc(s->n_models ? s->n_models : 1, sizeof *order), no = 0;
	bool ab_first = s->n_models > (size_t)(rows > 0 ? rows : 0);
	if (ab_first) {
		order[no++] = app->a;
		if (app->b != app->a)
			order[no++] = app->b;
	}
	for (size_t m = 0; m < s->n_models; m++)
		if (!ab_first || (m != app->a && m != app->b))
			order[no++] = m;
	for (size_t mi = 0; mi < no && y < y0 + rows; mi++, y++) {
		size_t m = order[mi];
		const struct model *md = &s->models[m];
		draw_safe(app, w, y, x0, name_w, app->model_names[m],
		          role_attr(m == app->a   ? ROLE_ONLY_A
		                    : m == app->b ? ROLE_ONLY_B
		                                  : ROLE_DIM),
		          false);
		x = x0 + name_w + 1;
		int32_t cls[TOP_P];
		double p[TOP_P];
		int n = top_probs(s, md, i, cls, p);
		if (n == 0) {
			int32_t pr = model_pred(md, i);
			x +=
			    draw_safe(app, w, y, x, W - x, "predicts ", role_attr(ROLE_DIM), false);
			draw_safe(app, w, y, x, W - x, app->class_names[pr],
			          role_attr(pr == truth ? ROLE_RIGHT : ROLE_WRONG), false);
			continue;
		}
		int fit = (W - x) / 14; /* fewer classes on a narrow pane, at least the top one */
		n = fit < 1 ? 1 : fit < n ? fit : n;
		int cell = (W - x) / n;
		int nw = 1; /* the widest class name, within reason */
		for (size_t c = 0; c < s->n_classes && nw < 10; c++) {
			int t = text_cols(app->class_names[c]);
			nw = t > nw ? (t > 10 ? 10 : t) : nw;
		}
		if (nw > cell - 8)
			nw = cell - 8 > 1 ? cell - 8 : 1;
		for (int k = 0; k < n && cell >= 7; k++) {
			int cx = x + k * cell;
			attr_t ca = role_attr(cls[k] == truth ? ROLE_RIGHT : ROLE_WRONG);
			/* abbreviated to nw so that classes sharing a long prefix stay apart */
			draw_safe(app, w, y, cx, nw, app_class_abbrev(app, nw, NULL)[cls[k]], ca,
			          false);
			char pb[16];
			snprintf(pb, sizeof pb, "%4.2f", p[k]);
			draw_safe(app, w, y, cx + nw + 1, 4, pb, role_attr(ROLE_NORMAL), false);
			draw_bar(app, w, y, cx + nw + 6, cell - nw - 7, p[k], ca);
		}
	}
	free(order);
	return y - y0;
}

void detail_sample(struct app *app, WINDOW *w, int y, int x, int rows, int cols, size_t i, int slot)
{
	const struct study *s = app->s;
	bool shown = false;
	if (s->texts && s->texts[i])
		draw_wrapped(app, w, y, x, rows, cols, s->texts[i]);
	else if (s->images && s->images[i])
		shown = detail_image(app, w, y, x, rows, cols, i, slot);
	if (!shown && app->gfx)
		gfx_hide(app->gfx, slot);
	if (!shown && s->images && s->images[i] && !(s->texts && s->texts[i]))
		draw_text(app, w, y, x, cols, s->images[i], role_attr(ROLE_DIM), false);
}

static void detail_draw(struct app *app)
{
	if (pane_waits(app, PANE_DETAIL, "Instance", false))
		return;
	struct pane *pn = &app->panes[PANE_DETAIL];
	WINDOW *w = pn->win;
	const struct study *s = app->s;
	werase(w);
	size_t i = app_current(app);
	char title[160];
	char idb[32];
	if (i == SIZE_MAX) {
		if (app->gfx)
			gfx_hide(app->gfx, GFX_SLOT_DETAIL);
		pane_title(app, PANE_DETAIL, "Instance", NULL);
		draw_safe(app, w, 2, 2, pn->w - 2, "no instance selected", role_attr(ROLE_DIM),
		          false);
		wnoutrefresh(w);
		return;
	}
	char *id = text_sanitize(study_instance_id(s, i, idb, sizeof idb), !app->utf8);
	snprintf(title, sizeof title, "Instance #%zu  %.40s", i, id);
	free(id);
	char right[64];
	snprintf(right, sizeof right, "issue %.3f", study_issue_score(s, i));
	pane_title(app, PANE_DETAIL, title, right);
	int W = pn->w, H = pn->h, y = 1;
	int x = draw_safe(app, w, y, 1, W - 1, "truth ", role_attr(ROLE_DIM), false) + 1;
	char lab[160];
	enum decision_status st = app_label_text(app, i, lab, sizeof lab);
	x += draw_safe(app, w, y, x, W - x, lab, role_attr(ROLE_HEADER), false);
	if (st == STATUS_RELABELLED)
		draw_safe(app, w, y, x, W - x, "  (relabelled: given, then the decision)",
		          role_attr(ROLE_DIM), false);
	else if (st == STATUS_KEPT)
		draw_safe(app, w, y, x, W - x, "  (kept: the given label confirmed)",
		          role_attr(ROLE_DIM), false);
	else if (st == STATUS_REMOVED)
		draw_safe(app, w, y, x, W - x, "  (removed: left out of every metric)",
		          role_attr(ROLE_WRONG), false);
	y++;
	/* the activation profile of the neuron pane's layer takes the last two rows */
	int prof_rows = app->lm >= 0 ? 2 : 0;
	int body_end = H - prof_rows;
	bool image_right = s->images && !s->texts && W >= 50 && body_end - 1 >= 3;
	if (image_right) {
		/* an image beside the bars: it keeps the height of the pane instead of a leftover
		 */
		int iw = (body_end - 1) * 2;
		iw = iw > W / 3 ? W / 3 : iw;
		detail_models(app, w, y, 1, body_end - y, W - iw - 3, i);
		detail_sample(app, w, 1, W - iw - 1, body_end - 1, iw, i, GFX_SLOT_DETAIL);
	} else {
		y += detail_models(app, w, y, 1, H - 1 - y, W - 1, i);
		y++;
		if (y < body_end)
			detail_sample(app, w, y, 1, body_end - y, W - 2, i, GFX_SLOT_DETAIL);
		else if (app->gfx)
			gfx_hide(app->gfx, GFX_SLOT_DETAIL);
	}
	if (prof_rows && H - 2 > 2) {
		const struct model *md = &s->models[app->lm];
		const struct layer *L = &md->layers[app->ll];
		size_t h = L->act.cols;
		if (h && i < L->act.rows) {
			float *v = xcalloc(h, sizeof *v);
			uint32_t *order = xcalloc(h, sizeof *order);
			struct nn_err perr = {{0}};
			if (neurons_profile_guarded(&L->act, i, v, order, &perr) != 0) {
				/* the file shrank under us: say so where the profile goes */
				draw_safe(app, w, H - 2, 1, W - 2, perr.msg, role_attr(ROLE_DIM),
				          false);
			} else {
				char *ln = text_sanitize(L->name, !app->utf8);
				char head[160];
				int yy = H - 2;
				snprintf(head, sizeof head, "profile %.30s:", ln);
				free(ln);
				int hx = draw_safe(app, w, yy, 1, W - 2, head, role_attr(ROLE_DIM),
				                   false) +
				         2;
				for (int k = 0; k < 4 && (size_t)k < h; k++) {
					char nb[48];
					snprintf(nb, sizeof nb, "#%u %.3g  ", order[k],
					         (double)v[order[k]]);
					hx += draw_safe(app, w, yy, hx, W - hx, nb,
					                role_attr(ROLE_NORMAL), false);
				}
				/* sorted values, shifted so the minimum is 0, as a sparkline */
				double *sv = xcalloc(h, sizeof *sv);
				double lo = INFINITY;
				for (size_t k = 0; k < h; k++)
					if (isfinite(v[order[k]]) && v[order[k]] < lo)
						lo = v[order[k]];
				for (size_t k = 0; k < h; k++)
					sv[k] = isfinite(v[order[k]]) ? v[order[k]] - lo : 0;
				draw_sparkline(app, w, H - 1, 1, W - 2, sv, h,
				               role_attr(ROLE_ONLY_A));
				free(sv);
			}
			free(v);
			free(order);
		}
	}
	wnoutrefresh(w);
}

static int detail_need(const struct app *app)
{
	return (int)app->s->n_models + 12;
}

const struct pane_class pane_detail = {
    .name = "detail",
    .cursor = CURSOR_NONE,
    .need = detail_need,
    .draw = detail_draw,
    .follower = -1,
    .region = REGION_BOTTOM_RIGHT,
    .stack = 0,
    .share = 55,
};
