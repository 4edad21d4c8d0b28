/*
 * pane_agree.c — the agreement pane: for the pair A, B and every ground-truth class the counts
 * of both right / only A / only B / both wrong with a bar, kappa in the title and McNemar's p
 * with the bootstrap interval of the accuracy difference under it (app->pm). Enter on a class row
 * keeps the agreement control's outcome for that class (or narrows a typed filter to it).
 */
#include "tui_int.h"

#include "nncmp/filter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t agree_count(const struct agreement *g, int col)
{
	switch (col) {
	case 0:
		return g->both_correct;
	case 1:
		return g->only_a;
	case 2:
		return g->only_b;
	default:
		return g->both_wrong;
	}
}

/* Draws a bar of width cols split in proportion to the four outcomes. */
static void agree_bar(struct app *app, WINDOW *w, int y, int x, int cols, const struct agreement *g,
                      attr_t base)
{
	static const enum role roles[4] = {ROLE_RIGHT, ROLE_ONLY_A, ROLE_ONLY_B, ROLE_WRONG};
	static const char *const utf[4] = {"\xe2\x96\x88", "\xe2\x96\x93", "\xe2\x96\x92",
	                                   "\xe2\x96\x91"};
	static const char *const asc[4] = {"#", "a", "b", "."};
	int64_t total = 0;
	for (int k = 0; k < 4; k++)
		total += agree_count(g, k);
	wmove(w, y, x);
	if (total == 0 || cols <= 0)
		return;
	int64_t cum = 0;
	int drawn = 0;
	for (int k = 0; k < 4; k++) {
		cum += agree_count(g, k);
		int upto = (int)((cum * cols + total / 2) / total);
		const char *gl = app->utf8 ? (app->shapes ? utf[k] : utf[0]) : asc[k];
		wattrset(w, role_attr(roles[k]) | (base & A_REVERSE));
		for (; drawn < upto; drawn++)
			waddstr(w, gl);
	}
	wattrset(w, A_NORMAL);
}

/*
 * The pair's significance on line y, as `nncmp report` prints it: McNemar's exact p and the
 * accuracy difference B − A with its bootstrap 95% interval ("..." until the worker has it).
 */
static void agree_significance(struct app *app, WINDOW *w, int y, int width)
{
	const struct pair_metrics *pm = &app->pm;
	if (y < 3 || app->a == app->b || pm->n == 0)
		return; /* too low a pane keeps its one row for the table */
	char p[32], ci[80], line[160];
	snprintf(p, sizeof p, "%.3g", pm->mcnemar_p);
	if (app->ci_pending)
		snprintf(ci, sizeof ci, "[%s]", glyph(app, "\xe2\x80\xa6", "..."));
	else if (isfinite(pm->ci_lo))
		snprintf(ci, sizeof ci, "[%+.4f, %+.4f]", pm->ci_lo, pm->ci_hi);
	else
		snprintf(ci, sizeof ci, "[-]");
	snprintf(line, sizeof line, "McNemar p %s  acc B%sA %+.4f, 95%% CI %s", p,
	         glyph(app, "\xe2\x88\x92", "-"), pm->acc_diff, ci);
	draw_safe(app, w, y, 1, width - 1, line, role_attr(ROLE_DIM), false);
}

static void agree_draw(struct app *app)
{
	if (pane_waits(app, PANE_AGREE, "Agreement per class", true))
		return;
	struct pane *pn = &app->panes[PANE_AGREE];
	WINDOW *w = pn->win;
	const struct study *s = app->s;
	werase(w);
	char title[160];
	snprintf(title, sizeof title, "Agreement per class   A=%.30s  B=%.30s",
	         app->model_names[app->a], app->model_names[app->b]);
	char right[80];
	snprintf(right, sizeof right, "kappa %.3f", app->pm.kappa);
	pane_title(app, PANE_AGREE, title, isnan(app->pm.kappa) ? "" : right);
	int lw = 5;
	for (size_t c = 0; c < s->n_classes; c++) {
		int cw = text_cols(app->class_names[c]);
		if (cw > lw)
			lw = cw;
	}
	if (lw > 12)
		lw = 12;
	static const char *const heads_utf[4] = {"both \xe2\x9c\x93", "only A", "only B",
	                                         "both \xe2\x9c\x97"};
	static const char *const heads_asc[4] = {"both ok", "only A", "only B", "both x"};
	static const enum agree_mode col_mode[4] = {AGREE_BOTH_RIGHT, AGREE_ONLY_A, AGREE_ONLY_B,
	                                            AGREE_BOTH_WRONG};
	int x0 = 2 + lw + 1, colw = 8;
	draw_safe(app, w, 1, 0, pn->w, "", role_attr(ROLE_HEADER), true);
	draw_safe(app, w, 1, 2, lw, "class", role_attr(ROLE_HEADER), false);
	for (int k = 0; k < 4; k++) {
		const char *hd = app->utf8 ? heads_utf[k] : heads_asc[k];
		/* each outcome's heading in its bar colour: the legend of the bars */
		static const enum role head_role[4] = {ROLE_RIGHT, ROLE_ONLY_A, ROLE_ONLY_B,
		                                       ROLE_WRONG};
		attr_t a = app->mode == col_mode[k] ? role_attr(ROLE_SELECTION)
		                                    : role_attr(head_role[k]) | A_BOLD;
		int x = x0 + k * colw + (colw - 1 - text_cols(hd));
		if (x0 + (k + 1) * colw <= pn->w)
			draw_safe(app, w, 1, x, colw - 1, hd, a, false);
	}
	int bar_x = x0 + 4 * colw + 1, bar_w = pn->w - bar_x - 1;
	if (bar_w > 30)
		bar_w = 30;
	pane_clamp(app, PANE_AGREE);
	int h = pane_list_height(app, PANE_AGREE);
	for (int r = 0; r < h && pn->nav.top + (size_t)r <= s->n_classes; r++) {
		size_t row = pn->nav.top + (size_t)r;
		int y = r + 2;
		const struct agreement *g = row == 0 ? &app->pm.all : &app->pm.per_class[row - 1];
		bool sel = app->focus == PANE_AGREE && row == pn->nav.cur;
		attr_t a = role_attr(sel ? ROLE_SELECTION : ROLE_NORMAL);
		draw_safe(app, w, y, 0, pn->w, "", a, true);
		bool active = (int)row - 1 == app->cls;
		draw_safe(app, w, y, 0, 2, active ? glyph(app, "\xe2\x96\xb6", ">") : " ",
		          a | A_BOLD, false);
		draw_safe(app, w, y, 2, lw,
		          row == 0 ? "all" : app_class_abbrev(app, lw, NULL)[row - 1],
		          a | (row == 0 ? A_BOLD : 0), false);
		for (int k = 0; k < 4; k++) {
			if (x0 + (k + 1) * colw > pn->w)
				break;
			char num[32];
			snprintf(num, sizeof num, "%*lld", colw - 1, (long long)agree_count(g, k));
			draw_safe(app, w, y, x0 + k * colw, colw - 1, num, a, false);
		}
		if (bar_w >= 4)
			agree_bar(app, w, y, bar_x, bar_w, g, a);
	}
	agree_significance(app, w, pn->h - 1, pn->w);
	pane_dim_pending(app, PANE_AGREE);
	wnoutrefresh(w);
}

static size_t agree_rows(const struct app *app)
{
	return app->s->n_classes + 1;
}

static int agree_need(const struct app *app)
{
	return (int)app->s->n_classes + 3;
}

/* The pair's significance (agree_significance) takes the last row when a row is left. */
static int agree_footer(const struct app *app, int h)
{
	(void)app;
	return h >= 4 ? 1 : 0;
}

/* Enter: a class row opens that class ("all" every class) for the agreement control. */
static int agree_enter(struct app *app)
{
	size_t row = app->panes[PANE_AGREE].nav.cur;
	int cls = row == 0 ? -1 : (int)row - 1;
	if (app->mode == AGREE_CUSTOM && *app->filter) {
		if (cls < 0)
			return 0;
		char *c = filter_agreement(app->s, app->a, app->b, OUTCOME_ANY, cls);
		char *f = filter_and(app->filter, c);
		int rc = app_set_filter(app, f, AGREE_CUSTOM, cls, true);
		free(f);
		free(c);
		return rc;
	}
	return app_agree(app, app->mode == AGREE_CUSTOM ? AGREE_ALL : app->mode, cls);
}

static bool agree_match(const struct app *app, size_t row, const char *text)
{
	return row == 0 ? search_has("all", text) : search_has(app->s->classes[row - 1], text);
}

const struct pane_class pane_agree = {
    .name = "agree",
    .cursor = CURSOR_ROWS,
    .need = agree_need,
    .rows = agree_rows,
    .footer = agree_footer,
    .draw = agree_draw,
    .enter = agree_enter,
    .match = agree_match,
    .follower = -1,
    .region = REGION_TOP_LEFT,
    .stack = 1,
};
