/*
 * panes.c — drawing the panes from the state in struct app: the models summary, the agreement
 * table of the pair, the confusion matrices, the instance table, the status and help screens.
 * Drawing only formats; the numbers come from app->mm and app->pm (tui.c computes them).
 * Each function draws into its pane's window and queues it with wnoutrefresh; the loop calls
 * doupdate once.
 */
#include "tui_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/text.h"
#include "worker.h"

static bool focused(const struct app *app, enum pane_id p)
{
	return app->focus == p;
}

int pane_list_height(const struct app *app, enum pane_id p)
{
	int h = app->panes[p].h - 2; /* title and column header */
	if (p == PANE_CONFUSION)
		h -= 1; /* the line explaining the cursor cell */
	if (p == PANE_AGREE && app->panes[p].h >= 4)
		h -= 1; /* the pair's significance (agree_significance), when a row is left */
	return h > 0 ? h : 0;
}

size_t pane_rows(const struct app *app, enum pane_id p)
{
	switch (p) {
	case PANE_MODELS:
		return app->s->n_models;
	case PANE_AGREE:
		return app->s->n_classes + 1;
	case PANE_CONFUSION:
		return app->s->n_classes;
	case PANE_NEURONS:
		return neurons_pane_rows(app);
	case PANE_DETAIL:
		return 0;
	default:
		return app->n_sel;
	}
}

void pane_clamp(struct app *app, enum pane_id p)
{
	struct pane *pn = &app->panes[p];
	size_t n = pane_rows(app, p), h = (size_t)pane_list_height(app, p);
	if (pn->cur >= n)
		pn->cur = n ? n - 1 : 0;
	if (h == 0)
		h = 1;
	if (pn->cur < pn->top)
		pn->top = pn->cur;
	if (pn->cur >= pn->top + h)
		pn->top = pn->cur - h + 1;
	if (pn->top + h > n)
		pn->top = n > h ? n - h : 0;
}

void pane_title(struct app *app, enum pane_id p, const char *title, const char *right)
{
	WINDOW *w = app->panes[p].win;
	int width = app->panes[p].w;
	attr_t a = role_attr(focused(app, p) ? ROLE_FOCUS : ROLE_TITLE);
	draw_safe(app, w, 0, 0, width, "", a, true);
	int used = draw_safe(app, w, 0, 1, width - 1, title, a | A_BOLD, false);
	if (right && *right) {
		int rc = text_cols(right);
		if (rc + used + 3 <= width)
			draw_safe(app, w, 0, width - rc - 1, rc, right, a, false);
	}
}

/* Marks a model as A or B in the summary. */
static const char *pair_mark(const struct app *app, size_t m)
{
	return m == app->a ? "A" : m == app->b ? "B" : " ";
}

void pane_models_draw(struct app *app)
{
	struct pane *pn = &app->panes[PANE_MODELS];
	WINDOW *w = pn->win;
	const struct study *s = app->s;
	char right[64];
	/* removed samples left the metrics: say over how many they are */
	size_t used = s->n_models ? app->mm[0].n : app->n_sel;
	if (used != app->n_sel)
		snprintf(right, sizeof right, "over %zu shown (%zu removed)", used,
		         app->n_sel - used);
	else
		snprintf(right, sizeof right, "over %zu shown", app->n_sel);
	werase(w);
	pane_title(app, PANE_MODELS, "Models", right);
	draw_safe(app, w, 1, 0, pn->w, "   model          accuracy  macro-F1    right  wrong",
	          role_attr(ROLE_HEADER), true);
	pane_clamp(app, PANE_MODELS);
	int h = pane_list_height(app, PANE_MODELS);
	for (int r = 0; r < h && pn->top + (size_t)r < s->n_models; r++) {
		size_t m = pn->top + (size_t)r;
		bool sel = focused(app, PANE_MODELS) && m == pn->cur;
		attr_t a = role_attr(sel ? ROLE_SELECTION : ROLE_NORMAL);
		int y = r + 2;
		draw_safe(app, w, y, 0, pn->w, "", a, true);
		draw_safe(app, w, y, 1, 2, pair_mark(app, m), a | A_BOLD, false);
		draw_safe(app, w, y, 3, 14, app->model_names[m], a, true);
		const struct model_metrics *mm = &app->mm[m];
		char buf[96];
		if (mm->n)
			snprintf(buf, sizeof buf, "%8.4f  %8.4f %8lld %6lld", mm->accuracy,
			         mm->macro_f1, (long long)mm->correct,
			         (long long)mm->n - (long long)mm->correct);
		else
			snprintf(buf, sizeof buf, "%8s  %8s %8s %6s", "-", "-", "0", "0");
		draw_safe(app, w, y, 18, pn->w - 18, buf, a, false);
	}
	wnoutrefresh(w);
}

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

void pane_agree_draw(struct app *app)
{
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
	for (int r = 0; r < h && pn->top + (size_t)r <= s->n_classes; r++) {
		size_t row = pn->top + (size_t)r;
		int y = r + 2;
		const struct agreement *g = row == 0 ? &app->pm.all : &app->pm.per_class[row - 1];
		bool sel = focused(app, PANE_AGREE) && row == pn->cur;
		attr_t a = role_attr(sel ? ROLE_SELECTION : ROLE_NORMAL);
		draw_safe(app, w, y, 0, pn->w, "", a, true);
		bool active = (int)row - 1 == app->cls;
		draw_safe(app, w, y, 0, 2, active ? glyph(app, "\xe2\x96\xb6", ">") : " ",
		          a | A_BOLD, false);
		draw_safe(app, w, y, 2, lw, row == 0 ? "all" : app->class_names[row - 1],
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
	wnoutrefresh(w);
}

/* Value of confusion cell (r, c) in the current view. */
static int64_t conf_value(const struct app *app, size_t r, size_t c)
{
	size_t C = app->s->n_classes;
	int64_t va = app->mm[app->a].confusion[r * C + c];
	int64_t vb = app->mm[app->b].confusion[r * C + c];
	return app->conf_view == 0 ? va : app->conf_view == 1 ? vb : vb - va;
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

void pane_confusion_draw(struct app *app)
{
	struct pane *pn = &app->panes[PANE_CONFUSION];
	WINDOW *w = pn->win;
	const struct study *s = app->s;
	size_t C = s->n_classes;
	werase(w);
	char title[160];
	if (app->conf_view == 2)
		snprintf(title, sizeof title, "Confusion B%sA: %.30s %s %.30s",
		         glyph(app, "\xe2\x88\x92", "-"), app->model_names[app->b],
		         glyph(app, "\xe2\x88\x92", "-"), app->model_names[app->a]);
	else
		snprintf(title, sizeof title, "Confusion %s: %.40s", app->conf_view ? "B" : "A",
		         app->model_names[app->conf_view ? app->b : app->a]);
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
	int cw = digits + (app->conf_view == 2 ? 2 : 1);
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
	app->conf_lw = lw; /* for a click's cell (mouse.c) */
	app->conf_cw = cw;
	if (vis_rows < 1 || vis_cols < 1) {
		wnoutrefresh(w);
		return;
	}
	if (app->conf_r >= C)
		app->conf_r = C - 1;
	if (app->conf_c >= C)
		app->conf_c = C - 1;
	if (app->conf_r < app->conf_top)
		app->conf_top = app->conf_r;
	if (app->conf_r >= app->conf_top + (size_t)vis_rows)
		app->conf_top = app->conf_r - (size_t)vis_rows + 1;
	if (app->conf_c < app->conf_left)
		app->conf_left = app->conf_c;
	if (app->conf_c >= app->conf_left + (size_t)vis_cols)
		app->conf_left = app->conf_c - (size_t)vis_cols + 1;
	attr_t hd = role_attr(ROLE_HEADER);
	draw_safe(app, w, 1, 0, pn->w, "", hd, true);
	draw_safe(app, w, 1, 0, lw, glyph(app, "truth\xe2\x86\x93", "truth"), hd, false);
	for (int k = 0; k < vis_cols && app->conf_left + (size_t)k < C; k++) {
		size_t c = app->conf_left + (size_t)k;
		char num[24];
		snprintf(num, sizeof num, "%zu", c);
		const char *name = by_index ? num : app->class_names[c];
		int tc = text_cols(name);
		int pad = cw - 1 - (tc < cw - 1 ? tc : cw - 1);
		draw_safe(app, w, 1, lw + k * cw + pad, cw - 1, name,
		          hd | (c == app->conf_c ? A_UNDERLINE : 0), false);
	}
	for (int r = 0; r < vis_rows && app->conf_top + (size_t)r < C; r++) {
		size_t row = app->conf_top + (size_t)r;
		int y = r + 2;
		char label[320];
		if (by_index) /* the columns are numbered: number the rows too */
			snprintf(label, sizeof label, "%zu %.280s", row, app->class_names[row]);
		else
			snprintf(label, sizeof label, "%.280s", app->class_names[row]);
		draw_safe(app, w, y, 0, lw - 1, label,
		          role_attr(row == app->conf_r ? ROLE_HEADER : ROLE_NORMAL), false);
		for (int k = 0; k < vis_cols && app->conf_left + (size_t)k < C; k++) {
			size_t col = app->conf_left + (size_t)k;
			int64_t v = conf_value(app, row, col);
			enum role role;
			if (app->conf_view == 2)
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
			if (focused(app, PANE_CONFUSION) && row == app->conf_r &&
			    col == app->conf_c)
				a = role_attr(ROLE_SELECTION) | A_BOLD;
			char num[32];
			if (v == 0 && row != col)
				snprintf(num, sizeof num, "%*s", cw - 1,
				         glyph(app, "\xc2\xb7", "."));
			else if (app->conf_view == 2)
				snprintf(num, sizeof num, "%+*lld", cw - 1, (long long)v);
			else
				snprintf(num, sizeof num, "%*lld", cw - 1, (long long)v);
			/* "·" is one column but two bytes: pad by columns, not bytes */
			int nc = text_cols(num);
			draw_safe(app, w, y, lw + k * cw, 1, " ", role_attr(ROLE_NORMAL), false);
			draw_safe(app, w, y, lw + k * cw + 1 + (cw - 1 - nc), nc, num, a, false);
			if (row == col && app->conf_view != 2 && !app->utf8 &&
			    role == ROLE_DIAGONAL)
				mvwchgat(w, y, lw + k * cw + 1, cw - 1, a | A_UNDERLINE, 0, NULL);
		}
	}
	/* what the cursor cell holds, and what Enter does */
	char kb[32];
	int64_t v = conf_value(app, app->conf_r, app->conf_c);
	action_key("enter", kb, sizeof kb);
	char rbuf[300];
	char *tr = xstrdup(app->class_names[app->conf_r]);
	char *pr = xstrdup(app->class_names[app->conf_c]);
	if (app->conf_view == 2)
		snprintf(rbuf, sizeof rbuf, "truth %.20s %s pred %.20s: %+lld (B%sA)   %s: open",
		         tr, glyph(app, "\xe2\x86\x92", "->"), pr, (long long)v,
		         glyph(app, "\xe2\x88\x92", "-"), kb);
	else
		snprintf(rbuf, sizeof rbuf, "truth %.20s %s pred %.20s: %lld instance%s   %s: open",
		         tr, glyph(app, "\xe2\x86\x92", "->"), pr, (long long)v, v == 1 ? "" : "s",
		         kb);
	free(tr);
	free(pr);
	int fy = 2 + vis_rows;
	if ((size_t)vis_rows > C)
		fy = 2 + (int)C;
	if (fy < pn->h)
		draw_safe(app, w, fy, 0, pn->w, rbuf, role_attr(ROLE_DIM), false);
	wnoutrefresh(w);
}

/* Column widths of the instance table, computed once per draw from the study's shape. */
struct inst_cols {
	int index, id, truth, model[64], conf, issue, key;
};

/* Copies src to dst (size bytes) without blanks, for comparing keys as the parser reads them. */
static void squeeze(char *dst, size_t size, const char *src)
{
	size_t o = 0;
	for (; *src && o + 1 < size; src++)
		if (*src != ' ' && *src != '\t')
			dst[o++] = *src;
	dst[o] = '\0';
}

/*
 * Whether the sort key's values get a column of their own, headed by the key (without its
 * direction) in head: a value expression (act(...), conf(M), p(M, C), margin(M), issue ...)
 * that the table does not show already; gt, given and a model's name are the truth and
 * prediction columns, and with `numbers` issue and conf(A) are columns too.
 */
static bool key_column(const struct app *app, bool numbers, char *head, size_t size)
{
	if (!app->sel_keys)
		return false; /* index, id, or the values are still being computed */
	char k[256];
	squeeze(k, sizeof k, app->sort_key);
	char *colon = strrchr(k, ':');
	if (colon && (strcmp(colon, ":asc") == 0 || strcmp(colon, ":desc") == 0))
		*colon = '\0';
	if (strcmp(k, "gt") == 0 || strcmp(k, "given") == 0 || study_model_index(app->s, k) >= 0)
		return false;
	char conf_a[160];
	snprintf(conf_a, sizeof conf_a, "conf(%s)", app->s->models[app->a].name);
	if (numbers && (strcmp(k, "issue") == 0 || strcmp(k, conf_a) == 0))
		return false;
	/* the heading is the key as typed, less the direction */
	char *typed = xstrdup(app->sort_key);
	char *c = strrchr(typed, ':');
	if (c && (strcmp(c, ":asc") == 0 || strcmp(c, ":desc") == 0))
		*c = '\0';
	char *t = text_sanitize(typed, !app->utf8);
	snprintf(head, size, "%s", t);
	free(t);
	free(typed);
	return true;
}

void pane_instances_draw(struct app *app)
{
	struct pane *pn = &app->panes[PANE_INSTANCES];
	WINDOW *w = pn->win;
	const struct study *s = app->s;
	werase(w);
	char title[200];
	snprintf(title, sizeof title, "Instances %zu/%zu", app->n_sel, s->n);
	char right[128];
	const char *gr =
	    app->shapes ? glyph(app, "\xe2\x9c\x93", "+") : glyph(app, "\xe2\x96\xa0", "+");
	const char *gw =
	    app->shapes ? glyph(app, "\xe2\x9c\x97", "x") : glyph(app, "\xe2\x96\xa0", "x");
	char *key = text_sanitize(app->sort_key, !app->utf8); /* typed, but drawn safely */
	snprintf(right, sizeof right, "sort: %.40s%s", key, app->sorting ? " (sorting...)" : "");
	free(key);
	pane_title(app, PANE_INSTANCES, title, right);
	/* legend after the title */
	{
		int tx = text_cols(title) + 4;
		attr_t t = role_attr(focused(app, PANE_INSTANCES) ? ROLE_FOCUS : ROLE_TITLE);
		if (class_pair(0, 0) > 0 && tx + 34 < pn->w - text_cols(right) - 2) {
			/* a right one (solid) and a wrong one (a square of another hue) */
			draw_pair_glyph(app, w, 0, tx, "\xe2\x96\xa0", "#", class_pair(2, 2));
			draw_safe(app, w, 0, tx + 1, 7, " right ", t, false);
			draw_pair_glyph(app, w, 0, tx + 8, "\xe2\x96\xa0", "#", class_pair(5, 2));
			draw_safe(app, w, 0, tx + 9, 26, " prediction on truth hue", t, false);
			/* past eight classes hues repeat: a wrong one sharing the truth's is marked
			 */
			if (s->n_classes > 8 && tx + 51 < pn->w - text_cols(right) - 2) {
				draw_pair_glyph(app, w, 0, tx + 34, "\xe2\x96\xa0", "#",
				                class_pair(8, 0));
				draw_safe(app, w, 0, tx + 35, 16, " same hue, wrong", t, false);
			}
		} else if (tx + 20 < pn->w - text_cols(right) - 2) {
			draw_safe(app, w, 0, tx, 2, gr, role_attr(ROLE_RIGHT), false);
			draw_safe(app, w, 0, tx + 2, 6, "right", t, false);
			draw_safe(app, w, 0, tx + 9, 2, gw, role_attr(ROLE_WRONG), false);
			draw_safe(app, w, 0, tx + 11, 6, "wrong", t, false);
		}
	}
	struct inst_cols cols = {.index = 7, .id = app->id_cols, .truth = 5, .conf = 7, .issue = 6};
	if (cols.id > 2 * pn->w / 5) /* a narrow screen keeps room for the predictions */
		cols.id = 2 * pn->w / 5;
	for (size_t c = 0; c < s->n_classes; c++) {
		int t = text_cols(app->class_names[c]);
		if (t > cols.truth)
			cols.truth = t;
	}
	if (cols.truth > 11)
		cols.truth = 11;
	size_t nm = s->n_models < 64 ? s->n_models : 64;
	for (size_t m = 0; m < nm; m++) {
		int t = text_cols(app->model_names[m]);
		cols.model[m] = t < 3 ? 3 : t > 10 ? 10 : t;
		if (cols.model[m] < cols.truth + 2 && cols.model[m] < 8)
			cols.model[m] = cols.truth + 2 < 8 ? cols.truth + 2 : 8;
	}
	/* one width for the predicted names of every model: the same class reads the same */
	int pred_w = 0;
	for (size_t m = 0; m < nm; m++)
		if (pred_w == 0 || cols.model[m] - 2 < pred_w)
			pred_w = cols.model[m] - 2;
	char *const *pred_names = app_class_abbrev(app, pred_w, NULL);
	attr_t hd = role_attr(ROLE_HEADER);
	int x = 0;
	draw_safe(app, w, 1, 0, pn->w, "", hd, true);
	char buf[128];
	snprintf(buf, sizeof buf, "%*s", cols.index, "index");
	x += draw_safe(app, w, 1, x, pn->w - x, buf, hd, false) + 1;
	draw_safe(app, w, 1, x, cols.id, "id", hd, false);
	x += cols.id + 1;
	draw_safe(app, w, 1, x, cols.truth, "truth", hd, false);
	x += cols.truth + 1;
	for (size_t m = 0; m < nm && x < pn->w; m++) {
		draw_safe(app, w, 1, x, cols.model[m], app->model_names[m], hd, false);
		x += cols.model[m] + 1;
	}
	/* a text study on a narrow screen: the text matters more than conf and issue */
	bool numbers = !(s->texts && pn->w - x - cols.conf - cols.issue - 3 < 24);
	/* the sort key's values, when they are not a column already */
	char key_head[128];
	if (key_column(app, numbers, key_head, sizeof key_head)) {
		int t = text_cols(key_head);
		cols.key = t < 9 ? 9 : t > 16 ? 16 : t;
		numbers = numbers &&
		          !(s->texts && pn->w - x - cols.key - cols.conf - cols.issue - 4 < 24);
		char head[160];
		snprintf(head, sizeof head, "%*s", cols.key, key_head);
		if (x < pn->w)
			draw_safe(app, w, 1, x, cols.key, head, hd, false);
		x += cols.key + 1;
	}
	char conf_head[32];
	snprintf(conf_head, sizeof conf_head, "%*s", cols.conf, "conf A");
	if (numbers) {
		if (x < pn->w)
			draw_safe(app, w, 1, x, cols.conf, conf_head, hd, false);
		x += cols.conf + 1;
		if (x < pn->w)
			draw_safe(app, w, 1, x, cols.issue, " issue", hd, false);
		x += cols.issue + 2;
	}
	const char *extra = s->texts ? "text" : s->images ? "image" : "";
	if (x < pn->w)
		draw_safe(app, w, 1, x, pn->w - x, extra, hd, false);

	pane_clamp(app, PANE_INSTANCES);
	int h = pane_list_height(app, PANE_INSTANCES);
	if (app->n_sel == 0 && h > 0)
		draw_safe(app, w, 2, 2, pn->w - 2, "no instance matches the filter (Esc: back)",
		          role_attr(ROLE_DIM), false);
	const struct model *ma = &s->models[app->a];
	for (int r = 0; r < h && pn->top + (size_t)r < app->n_sel; r++) {
		size_t k = pn->top + (size_t)r;
		size_t i = app->sel[k];
		int y = r + 2;
		bool sel = focused(app, PANE_INSTANCES) && k == pn->cur;
		attr_t a = role_attr(sel ? ROLE_SELECTION : ROLE_NORMAL);
		draw_safe(app, w, y, 0, pn->w, "", a, true);
		x = 0;
		snprintf(buf, sizeof buf, "%*zu", cols.index, i);
		x += draw_safe(app, w, y, x, pn->w - x, buf, a, false) + 1;
		char idbuf[32];
		draw_text(app, w, y, x, cols.id, study_instance_id(s, i, idbuf, sizeof idbuf), a,
		          false);
		x += cols.id + 1;
		int32_t truth = s->labels[i];
		char lab[160];
		if (study_status(s, i) == STATUS_REMOVED) {
			/* removed: marked, and dim, since it has left the metrics */
			int gx =
			    draw_safe(app, w, y, x, cols.truth, glyph(app, "\xe2\x9c\x95", "x"),
			              role_attr(ROLE_WRONG), false);
			app_label_short(app, i, cols.truth - gx, lab, sizeof lab);
			draw_safe(app, w, y, x + gx, cols.truth - gx, lab,
			          sel ? a : role_attr(ROLE_DIM), false);
		} else {
			app_label_short(app, i, cols.truth, lab, sizeof lab);
			draw_safe(app, w, y, x, cols.truth, lab, a, false);
		}
		x += cols.truth + 1;
		for (size_t m = 0; m < nm && x < pn->w; m++) {
			int32_t p = s->models[m].pred[i];
			bool ok = p == truth;
			int cp = class_pair(p, truth);
			if (cp > 0) { /* DeepCompare: the prediction's hue on the truth's */
				draw_pair_glyph(app, w, y, x, "\xe2\x96\xa0", "#", cp);
				draw_pair_glyph(app, w, y, x + 1, " ", " ", cp);
			} else
				draw_safe(app, w, y, x, 2, ok ? gr : gw,
				          role_attr(ok ? ROLE_RIGHT : ROLE_WRONG), false);
			/* a wrong one always names its prediction, so no hue alone has to tell */
			if (!ok && cols.model[m] > 2)
				draw_safe(app, w, y, x + 2, cols.model[m] - 2, pred_names[p], a,
				          false);
			x += cols.model[m] + 1;
		}
		if (cols.key) {
			double v = app->sel_keys[k];
			if (isnan(v))
				snprintf(buf, sizeof buf, "%*s", cols.key, "-");
			else if (snprintf(buf, sizeof buf, "%*.4g", cols.key, v) > cols.key)
				snprintf(buf, sizeof buf, "%*.2g", cols.key, v);
			if (x < pn->w)
				draw_safe(app, w, y, x, pn->w - x, buf, a, false);
			x += cols.key + 1;
		}
		if (numbers && x < pn->w) {
			if (ma->conf)
				snprintf(buf, sizeof buf, "%*.3f", cols.conf, ma->conf[i]);
			else
				snprintf(buf, sizeof buf, "%*s", cols.conf, "-");
			draw_safe(app, w, y, x, pn->w - x, buf, a, false);
		}
		if (numbers) {
			x += cols.conf + 1;
			if (x < pn->w) {
				snprintf(buf, sizeof buf, "%*.3f", cols.issue,
				         study_issue_score(s, i));
				draw_safe(app, w, y, x, pn->w - x, buf, a, false);
			}
			x += cols.issue + 2;
		}
		const char *t = s->texts && s->texts[i]     ? s->texts[i]
		                : s->images && s->images[i] ? s->images[i]
		                                            : NULL;
		if (t && x < pn->w) {
			/* one line: a line break is one mark, runs of blanks one space, the rest
			 * escaped */
			char *line =
			    text_sanitize_one_line(t, !app->utf8, glyph(app, "\xe2\x8f\x8e", "|"));
			size_t o = 0;
			for (size_t j = 0; line[j] && o < 4096; j++)
				if (line[j] != ' ' || (o > 0 && line[o - 1] != ' '))
					line[o++] = line[j];
			line[o] = '\0';
			draw_safe(app, w, y, x, pn->w - x, line, a, false);
			free(line);
		}
	}
	wnoutrefresh(w);
}

void status_draw(struct app *app)
{
	WINDOW *w = app->status;
	if (!w)
		return;
	int width = app->cols;
	attr_t a = role_attr(ROLE_STATUS);
	werase(w);
	draw_safe(app, w, 0, 0, width, "", a, true);
	const char *sep = glyph(app, " \xe2\x94\x82 ", " | ");
	char right[512];
	char *key = text_sanitize(app->sort_key, !app->utf8);
	char work[96] = "";
	double frac = -1;
	char what[64];
	if (app->worker && worker_busy(app->worker, what, sizeof what, &frac)) {
		char *ws = text_sanitize(what, !app->utf8);
		if (frac >= 0)
			snprintf(work, sizeof work, "%s%s %2.0f%%", sep, ws, 100 * frac);
		else
			snprintf(work, sizeof work, "%s%s...", sep, ws);
		free(ws);
	}
	char dec[64] = "";
	if (app->s->n_decided)
		snprintf(dec, sizeof dec, "%s%zu decision%s applied", sep, app->s->n_decided,
		         app->s->n_decided == 1 ? "" : "s");
	/* the back step is a key of its own (Esc only closes things): say when there is one */
	char back[48] = "", kb[24];
	if (app->n_back)
		snprintf(back, sizeof back, "%s%s back", sep, action_key("back", kb, sizeof kb));
	snprintf(right, sizeof right, "%s%zu/%zu%s%s%ssort: %.40s%sA=%.24s B=%.24s%s ", sep,
	         app->n_sel, app->s->n, back, dec, sep, key, sep, app->model_names[app->a],
	         app->model_names[app->b], work);
	int rc = text_cols(right);
	int x = draw_text(app, w, 0, 1, 24, app->s->name, a | A_BOLD, false) + 1;
	x += draw_safe(app, w, 0, x, width - x, sep, a, false);
	x += draw_safe(app, w, 0, x, width - x, "filter: ", a, false);
	int room = width - x - rc;
	if (room < 20) {
		/* narrow: the filter and the count matter more than the pair (the panes name it) */
		snprintf(right, sizeof right, "%s%zu/%zu%s%s%ssort: %.40s%s ", sep, app->n_sel,
		         app->s->n, back, dec, sep, key, work);
		rc = text_cols(right);
		room = width - x - rc;
	}
	if (room < 8) {
		/* narrower: the count and the way back */
		snprintf(right, sizeof right, "%s%zu/%zu%s ", sep, app->n_sel, app->s->n, back);
		rc = text_cols(right);
		room = width - x - rc;
	}
	free(key);
	draw_text(app, w, 0, x, room, *app->filter ? app->filter : "(all)", a | A_BOLD, false);
	if (width - rc > x)
		draw_safe(app, w, 0, width - rc, rc, right, a, false);
	wnoutrefresh(w);
}

void help_draw(struct app *app)
{
	WINDOW *w = app->helpwin;
	if (!w)
		return;
	werase(w);
	int H = getmaxy(w), W = getmaxx(w);
	/* the lines: actions from the table, then the commands */
	static const char *const commands[] = {
	    ":filter EXPR      keep the instances matching EXPR (see README: filter expressions)",
	    ":filter           show every instance",
	    ":sort KEY[:asc]   index, id, conf(M), margin(M), p(M, CLASS), act(M.L.J), issue ...",
	    ":models A B       compare model A with model B",
	    ":theme NAME       themes/NAME.ini (default, light, colorblind, monochrome)",
	    ":layer M.L        the neuron pane's layer (a layer with weights only: for H)",
	    ":copy FIELD       copy id, index, text, image, gt, given, split or a model's "
	    "prediction",
	    ":q                quit",
	};
	size_t n_cmd = sizeof commands / sizeof *commands;
	size_t total = n_actions + n_cmd + 3;
	int body = H - 2;
	if (body < 1)
		body = 1;
	if (app->help_top + (size_t)body > total)
		app->help_top = total > (size_t)body ? total - (size_t)body : 0;
	draw_safe(app, w, 0, 0, W,
	          " nncmp help: keys (rebind in ~/.config/nncmp/config.ini [keys])",
	          role_attr(ROLE_FOCUS) | A_BOLD, true);
	for (int r = 0; r < body; r++) {
		size_t k = app->help_top + (size_t)r;
		int y = r + 1;
		if (k < n_actions) {
			char keys[64] = "", kb[24];
			for (int j = 0; j < KEYS_MAX && actions[k].keys[j]; j++) {
				key_label(actions[k].keys[j], kb, sizeof kb);
				bool seen = false; /* Enter is \n, \r and KEY_ENTER: name it once */
				for (int q = 0; q < j; q++) {
					char prev[24];
					key_label(actions[k].keys[q], prev, sizeof prev);
					seen = seen || strcmp(prev, kb) == 0;
				}
				if (seen)
					continue;
				if (*keys)
					strcat(keys, " ");
				strcat(keys, kb);
			}
			draw_safe(app, w, y, 1, 16, keys, role_attr(ROLE_KEY), false);
			draw_safe(app, w, y, 18, 18, actions[k].name, role_attr(ROLE_DIM), false);
			draw_safe(app, w, y, 37, W - 37, actions[k].help, role_attr(ROLE_NORMAL),
			          false);
		} else if (k == n_actions + 1) {
			draw_safe(app, w, y, 1, W - 1, "Commands (after :)", role_attr(ROLE_HEADER),
			          false);
		} else if (k >= n_actions + 2 && k - n_actions - 2 < n_cmd) {
			draw_safe(app, w, y, 1, W - 1, commands[k - n_actions - 2],
			          role_attr(ROLE_NORMAL), false);
		}
	}
	draw_safe(app, w, H - 1, 0, W, " j/k scroll   q, Esc or ? closes", role_attr(ROLE_STATUS),
	          true);
	wnoutrefresh(w);
}
