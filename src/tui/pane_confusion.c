/*
 * pane_confusion.c — the confusion matrix pane: model A's, B's or the difference B−A
 * (its pane's mode, cycled by the panes' `confusion` action), heat-coloured, the diagonal marked,
 * with a cell cursor (nav.cur the row, nav.left the column, nav.first_col the first column
 * shown). Its own keys (mode "confusion") move the column; Enter or a click opens the cell's
 * instances as a filter.
 */
#include "tui_int.h"

#include "nncmp/filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the pane shows: 0 model A, 1 model B, 2 B − A (struct pane's mode). */
#define CONF_MODE(app) ((app)->panes[PANE_CONFUSION].mode)

/* Value of confusion cell (r, c) in the current view. */
static int64_t conf_value(const struct app *app, size_t r, size_t c)
{
	size_t C = app->s->n_classes;
	int64_t va = app->mm[app->a].confusion[r * C + c];
	int64_t vb = app->mm[app->b].confusion[r * C + c];
	return CONF_MODE(app) == 0 ? va : CONF_MODE(app) == 1 ? vb : vb - va;
}

/*
 * True when class names cut to cols columns would not tell the classes apart (class_000,
 * class_001 ... all become "class…"): the matrix then numbers its columns instead.
 */
static bool headers_by_index(const struct app *app, int cols)
{
	size_t C = app->s->n_classes;
	bool cut = false;
	for (size_t c = 0; c < C; c++)
		cut = cut || text_cols(app->class_names[c]) > cols;
	if (!cut)
		return false;
	if (C > 200 || cols < 2)
		return true;
	size_t keep = (size_t)cols - 1; /* the ellipsis takes one column */
	for (size_t i = 0; i < C; i++)
		for (size_t j = i + 1; j < C; j++)
			if (strncmp(app->class_names[i], app->class_names[j], keep) == 0)
				return true;
	return false;
}

static void confusion_draw(struct app *app)
{
	if (pane_waits(app, PANE_CONFUSION, "Confusion", true))
		return;
	struct pane *pn = &app->panes[PANE_CONFUSION];
	struct view_nav *nv = &pn->nav;
	WINDOW *w = pn->win;
	const struct study *s = app->s;
	size_t C = s->n_classes;
	werase(w);
	char title[160];
	if (CONF_MODE(app) == 2)
		snprintf(title, sizeof title, "Confusion B%sA: %.30s %s %.30s",
		         glyph(app, "\xe2\x88\x92", "-"), app->model_names[app->b],
		         glyph(app, "\xe2\x88\x92", "-"), app->model_names[app->a]);
	else
		snprintf(title, sizeof title, "Confusion %s: %.40s", CONF_MODE(app) ? "B" : "A",
		         app->model_names[CONF_MODE(app) ? app->b : app->a]);
	char right[64], kbuf[32];
	snprintf(right, sizeof right, "%s: A/B/B%sA", action_key("confusion", kbuf, sizeof kbuf),
	         glyph(app, "\xe2\x88\x92", "-"));
	pane_title(app, PANE_CONFUSION, title, right);
	/* widths: row labels, then cells wide enough for the largest value */
	int64_t maxv = 1, max_off = 0;
	for (size_t r = 0; r < C; r++)
		for (size_t c = 0; c < C; c++) {
			int64_t v = conf_value(app, r, c);
			int64_t av = v < 0 ? -v : v;
			if (av > maxv)
				maxv = av;
			if (r != c && av > max_off)
				max_off = av;
		}
	int digits = 1;
	for (int64_t v = maxv; v >= 10; v /= 10)
		digits++;
	int lw = 5, name_w = 1;
	for (size_t c = 0; c < C; c++) {
		int t = text_cols(app->class_names[c]);
		if (t > lw)
			lw = t;
		if (t > name_w)
			name_w = t;
	}
	if (lw > 10)
		lw = 10;
	lw += 1;
	/* cells fit the largest value, and the class names when there is room for them */
	int cw = digits + (CONF_MODE(app) == 2 ? 2 : 1);
	if (cw < 4)
		cw = 4;
	int want = (name_w > 8 ? 8 : name_w) + 1;
	if (want > cw && (int)C * want <= pn->w - lw)
		cw = want;
	else if (want > cw && (pn->w - lw) / (int)C > cw)
		cw = (pn->w - lw) / (int)C;
	int vis_rows = pane_list_height(app, PANE_CONFUSION);
	bool by_index = headers_by_index(app, cw - 1);
	if (by_index) { /* room for the row numbers */
		int row_digits = 1;
		for (size_t v = C - 1; v >= 10; v /= 10)
			row_digits++;
		lw += row_digits + 1;
	}
	int vis_cols = (pn->w - lw) / cw;
	pn->cell_x = lw; /* for a click's cell (confusion_click) */
	pn->cell_w = cw;
	if (vis_rows < 1 || vis_cols < 1) {
		wnoutrefresh(w);
		return;
	}
	if (nv->cur >= C)
		nv->cur = C - 1;
	if (nv->left >= C)
		nv->left = C - 1;
	if (nv->cur < nv->top)
		nv->top = nv->cur;
	if (nv->cur >= nv->top + (size_t)vis_rows)
		nv->top = nv->cur - (size_t)vis_rows + 1;
	if (nv->left < nv->first_col)
		nv->first_col = nv->left;
	if (nv->left >= nv->first_col + (size_t)vis_cols)
		nv->first_col = nv->left - (size_t)vis_cols + 1;
	attr_t hd = role_attr(ROLE_HEADER);
	draw_safe(app, w, 1, 0, pn->w, "", hd, true);
	draw_safe(app, w, 1, 0, lw, glyph(app, "truth\xe2\x86\x93", "truth"), hd, false);
	for (int k = 0; k < vis_cols && nv->first_col + (size_t)k < C; k++) {
		size_t c = nv->first_col + (size_t)k;
		char num[24];
		snprintf(num, sizeof num, "%zu", c);
		const char *name = by_index ? num : app->class_names[c];
		int tc = text_cols(name);
		int pad = cw - 1 - (tc < cw - 1 ? tc : cw - 1);
		draw_safe(app, w, 1, lw + k * cw + pad, cw - 1, name,
		          hd | (c == nv->left ? A_UNDERLINE : 0), false);
	}
	for (int r = 0; r < vis_rows && nv->top + (size_t)r < C; r++) {
		size_t row = nv->top + (size_t)r;
		int y = r + 2;
		char label[320];
		if (by_index) /* the columns are numbered: number the rows too */
			snprintf(label, sizeof label, "%zu %.280s", row, app->class_names[row]);
		else
			snprintf(label, sizeof label, "%.280s", app->class_names[row]);
		draw_safe(app, w, y, 0, lw - 1, label,
		          role_attr(row == nv->cur ? ROLE_HEADER : ROLE_NORMAL), false);
		for (int k = 0; k < vis_cols && nv->first_col + (size_t)k < C; k++) {
			size_t col = nv->first_col + (size_t)k;
			int64_t v = conf_value(app, row, col);
			enum role role;
			if (CONF_MODE(app) == 2)
				role = v == 0                    ? ROLE_HEAT_0
				       : (v > 0) == (row == col) ? ROLE_BETTER
				                                 : ROLE_WORSE;
			else if (row == col)
				role = ROLE_DIAGONAL;
			else if (v == 0)
				role = ROLE_HEAT_0;
			else {
				int64_t lvl = (5 * v + max_off - 1) / (max_off ? max_off : 1);
				role = (enum role)(ROLE_HEAT_0 + (lvl < 1 ? 1 : lvl > 5 ? 5 : lvl));
			}
			attr_t a = role_attr(role);
			if (app->focus == PANE_CONFUSION && row == nv->cur && col == nv->left)
				a = role_attr(ROLE_SELECTION) | A_BOLD;
			char num[32];
			if (v == 0 && row != col)
				snprintf(num, sizeof num, "%*s", cw - 1,
				         glyph(app, "\xc2\xb7", "."));
			else if (CONF_MODE(app) == 2)
				snprintf(num, sizeof num, "%+*lld", cw - 1, (long long)v);
			else
				snprintf(num, sizeof num, "%*lld", cw - 1, (long long)v);
			/* "·" is one column but two bytes: pad by columns, not bytes */
			int nc = text_cols(num);
			draw_safe(app, w, y, lw + k * cw, 1, " ", role_attr(ROLE_NORMAL), false);
			draw_safe(app, w, y, lw + k * cw + 1 + (cw - 1 - nc), nc, num, a, false);
			if (row == col && CONF_MODE(app) != 2 && !app->utf8 &&
			    role == ROLE_DIAGONAL)
				mvwchgat(w, y, lw + k * cw + 1, cw - 1, a | A_UNDERLINE, 0, NULL);
		}
	}
	/* what the cursor cell holds, and what Enter does */
	char kb[32];
	int64_t v = conf_value(app, nv->cur, nv->left);
	action_key("enter", kb, sizeof kb);
	char rbuf[300];
	/* at most 20 columns each, cut so that classes sharing a prefix stay apart (and never
	 * in the middle of a character) */
	char *const *ab = app_class_abbrev(app, 20, NULL);
	char *tr = xstrdup(ab[nv->cur]);
	char *pr = xstrdup(ab[nv->left]);
	if (CONF_MODE(app) == 2)
		snprintf(rbuf, sizeof rbuf, "truth %s %s pred %s: %+lld (B%sA)   %s: open", tr,
		         glyph(app, "\xe2\x86\x92", "->"), pr, (long long)v,
		         glyph(app, "\xe2\x88\x92", "-"), kb);
	else
		snprintf(rbuf, sizeof rbuf, "truth %s %s pred %s: %lld instance%s   %s: open", tr,
		         glyph(app, "\xe2\x86\x92", "->"), pr, (long long)v, v == 1 ? "" : "s", kb);
	free(tr);
	free(pr);
	int fy = 2 + vis_rows;
	if ((size_t)vis_rows > C)
		fy = 2 + (int)C;
	if (fy < pn->h)
		draw_safe(app, w, fy, 0, pn->w, rbuf, role_attr(ROLE_DIM), false);
	pane_dim_pending(app, PANE_CONFUSION);
	wnoutrefresh(w);
}

static size_t confusion_rows(const struct app *app)
{
	return app->s->n_classes;
}

static int confusion_need(const struct app *app)
{
	return (int)app->s->n_classes + 3;
}

/* The line explaining the cursor cell. */
static int confusion_footer(const struct app *app, int h)
{
	(void)app;
	(void)h;
	return 1;
}

/* Enter: the cursor cell's instances become the filter, and the instance table the focus. */
static int confusion_enter(struct app *app)
{
	const struct study *s = app->s;
	const struct view_nav *nv = &app->panes[PANE_CONFUSION].nav;
	size_t C = s->n_classes, cell_at = nv->cur * C + nv->left;
	if (nv->cur >= C || nv->left >= C)
		return 0;
	if (!app->have_metrics) {
		app_message(app, false, "the confusion counts are still being computed");
		return REDRAW_STATUS;
	}
	int64_t in_a = app->mm[app->a].confusion[cell_at];
	int64_t in_b = app->mm[app->b].confusion[cell_at];
	if ((CONF_MODE(app) == 0 && in_a == 0) || (CONF_MODE(app) == 1 && in_b == 0) ||
	    (CONF_MODE(app) == 2 && in_a == 0 && in_b == 0)) {
		app_message(app, false, "that cell is empty: nothing to open");
		return REDRAW_STATUS;
	}
	/* view 0 and 1: model A's or B's cell; 2: the difference, either model's */
	char *cell = filter_confusion_cell(s, (int)nv->cur, (int)nv->left,
	                                   CONF_MODE(app) == 1 ? app->b : app->a,
	                                   CONF_MODE(app) == 2 ? (int)app->b : -1);
	char *f = filter_and(app->filter, cell);
	int rc = app_set_filter(app, f, AGREE_CUSTOM, app->cls, true);
	free(f);
	free(cell);
	if (rc & RECOMPUTE) {
		app->focus = PANE_INSTANCES;
		rc |= app->layout != 0 || app->zoom ? RELAYOUT : REDRAW_ALL;
	}
	return rc;
}

static bool confusion_match(const struct app *app, size_t row, const char *text)
{
	return search_has(app->s->classes[row], text);
}

/* A click on a cell selects it and opens it, as Enter would. */
static int confusion_click(struct app *app, int ry, int rx)
{
	struct pane *pn = &app->panes[PANE_CONFUSION];
	int cw = pn->cell_w, lw = pn->cell_x;
	if (cw <= 0 || rx < lw)
		return REDRAW_PANE;
	size_t r = pn->nav.top + (size_t)(ry - 2);
	size_t c = pn->nav.first_col + (size_t)((rx - lw) / cw);
	if (r >= app->s->n_classes || c >= app->s->n_classes)
		return REDRAW_PANE;
	pn->nav.cur = r;
	pn->nav.left = c;
	return REDRAW_PANE | confusion_enter(app);
}

/* h l: the cursor's column, by arg. */
static int confusion_col(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	long c = (long)nav->left + arg, n = (long)app->s->n_classes;
	nav->left = (size_t)(c < 0 ? 0 : c >= n ? n - 1 : c);
	return REDRAW_PANE;
}

int pane_confusion_cycle(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)ctx;
	(void)nav;
	(void)arg;
	CONF_MODE(app) = (CONF_MODE(app) + 1) % 3;
	if (pane_visible(app, PANE_CONFUSION) || app->zoom)
		return REDRAW_ONE(PANE_CONFUSION);
	/* a smaller layout hides the matrix: bring it into view */
	app->upper = PANE_CONFUSION;
	if (app->layout == 2 || app->focus != PANE_INSTANCES)
		app->focus = PANE_CONFUSION;
	return RELAYOUT;
}

static struct key_action confusion_acts[] = {
    {"left", "previous column of the matrix", confusion_col, -1, K('h', KEY_LEFT)},
    {"right", "next column of the matrix", confusion_col, 1, K('l', KEY_RIGHT)},
};
static KEYMODE(confusion_keys, "confusion", "Keys of the confusion pane", confusion_acts);

const struct pane_class pane_confusion = {
    .name = "confusion",
    .cursor = CURSOR_CELLS,
    .need = confusion_need,
    .rows = confusion_rows,
    .footer = confusion_footer,
    .draw = confusion_draw,
    .enter = confusion_enter,
    .match = confusion_match,
    .click = confusion_click,
    .keys = &confusion_keys,
    .follower = -1,
    .region = REGION_TOP_RIGHT,
    .extra = 1,
};
