/*
 * view_words.c — frequent words of the filtered subset with their lift over the whole set
 * (DeepCompare), for studies with texts: draws what words.h counts and ranks (`nncmp words`
 * prints the same numbers), with keys for the order, the stop words and the minimum support.
 */
#include "views.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/filter.h"
#include "nncmp/words.h"

struct words_ctx {
	const struct study *s;
	uint32_t *sel; /* the shown instances when the view opened */
	size_t n_sel;
	struct word_counts wc;
	/* what is shown: indices into wc.words, as words_rank orders them */
	size_t *shown, n_shown;
	size_t min_support;
	bool show_stop, by_count;
};

static int words_compute(void *p, struct nn_progress *prog, struct nn_err *err)
{
	struct words_ctx *c = p;
	return words_count(c->s, c->sel, c->n_sel, prog, &c->wc, err);
}

/* Rebuilds the list of shown words after a change of support, stop words or order. */
static void words_list(struct words_ctx *c)
{
	free(c->shown);
	c->shown = xcalloc(c->wc.n_words ? c->wc.n_words : 1, sizeof *c->shown);
	c->n_shown = words_rank(&c->wc, c->min_support, c->show_stop,
	                        c->by_count ? WORDS_BY_COUNT : WORDS_BY_LIFT, c->shown);
}

static void *words_prepare(struct app *app, struct nn_err *err)
{
	const struct study *s = app->s;
	if (!s->texts) {
		nn_err_set(err, "the study has no texts (samples.jsonl has no \"text\" field)");
		return NULL;
	}
	struct words_ctx *c = xcalloc(1, sizeof *c);
	c->s = s;
	c->sel = xcalloc(app->n_sel ? app->n_sel : 1, sizeof *c->sel);
	memcpy(c->sel, app->sel, app->n_sel * sizeof *c->sel);
	c->n_sel = app->n_sel;
	c->min_support = 3;
	c->by_count = app->n_sel == s->n; /* without a filter every lift is 1 */
	return c;
}

static void words_view_free(void *p)
{
	struct words_ctx *c = p;
	words_free(&c->wc);
	free(c->shown);
	free(c->sel);
	free(c);
}

static size_t words_rows(const void *p)
{
	const struct words_ctx *c = p;
	return c->n_shown;
}

/* The view's own keys (defined with their handlers below). */
static struct keymode words_keys;

static void words_draw(struct app *app, void *p, WINDOW *w, struct view_nav *nav)
{
	struct words_ctx *c = p;
	if (!c->shown)
		words_list(c);
	int W = getmaxx(w), H = getmaxy(w);
	char line[512];
	snprintf(line, sizeof line,
	         "%zu of %zu text%s shown; words in at least %zu of them%s; sorted by %s", c->n_sel,
	         c->wc.n, c->wc.n == 1 ? "" : "s", c->min_support,
	         c->show_stop ? "" : ", stop words hidden", c->by_count ? "count" : "lift");
	draw_safe(app, w, 1, 1, W - 2, line, role_attr(ROLE_NORMAL), false);
	snprintf(line, sizeof line,
	         "lift = (%% of shown texts with the word) / (%% of all texts with it)%s",
	         c->n_sel == c->wc.n ? "; no filter, so every lift is 1: filter first (f, 1, 2, w)"
	                             : "");
	draw_safe(app, w, 2, 1, W - 2, line, role_attr(ROLE_DIM), false);
	char ko[24], ks[24], kp[24], km[24], ke[24];
	snprintf(line, sizeof line,
	         "%s: sort by lift/count   %s: stop words   %s %s: min support   %s: keep texts "
	         "containing the word",
	         keymode_key(&words_keys, "sort", ko, sizeof ko),
	         keymode_key(&words_keys, "stop-words", ks, sizeof ks),
	         keymode_key(&words_keys, "support-up", kp, sizeof kp),
	         keymode_key(&words_keys, "support-down", km, sizeof km),
	         keymode_key(&view_keys, "enter", ke, sizeof ke));
	draw_safe(app, w, 3, 1, W - 2, line, role_attr(ROLE_DIM), false);
	int y0 = 5, ww = 18;
	attr_t hd = role_attr(ROLE_HEADER);
	snprintf(line, sizeof line, " %-*s %9s %7s %7s %7s  %s", ww, "word", "in shown", "% shown",
	         "% all", "lift", c->by_count ? "bar: texts" : "bar: lift");
	draw_safe(app, w, y0 - 1, 0, W, line, hd, true);
	int vis = H - y0;
	if (vis < 1)
		return;
	if (c->n_shown == 0) {
		draw_safe(app, w, y0, 2, W - 4, "no word reaches the minimum support (-: lower it)",
		          role_attr(ROLE_DIM), false);
		return;
	}
	view_clamp(nav, c->n_shown, (size_t)vis);
	double top = 0;
	for (size_t k = 0; k < c->n_shown; k++) {
		const struct word_stat *e = &c->wc.words[c->shown[k]];
		double v = c->by_count ? (double)e->df_sel : words_lift(&c->wc, e);
		if (v > top)
			top = v;
	}
	int bar_x = 1 + ww + 1 + 9 + 1 + 7 + 1 + 7 + 1 + 7 + 2;
	int bar_w = W - bar_x - 1;
	if (bar_w > 40)
		bar_w = 40;
	for (int r = 0; r < vis && nav->top + (size_t)r < c->n_shown; r++) {
		size_t k = nav->top + (size_t)r;
		const struct word_stat *e = &c->wc.words[c->shown[k]];
		bool sel = k == nav->cur;
		attr_t a = role_attr(sel ? ROLE_SELECTION : ROLE_NORMAL);
		int y = y0 + r;
		draw_safe(app, w, y, 0, W, "", a, true);
		draw_text(app, w, y, 1, ww, e->text, a | (e->stop ? A_DIM : 0), false);
		double l = words_lift(&c->wc, e);
		snprintf(line, sizeof line, "%9zu %6.1f%% %6.1f%% %7.2f", e->df_sel,
		         c->n_sel ? 100.0 * (double)e->df_sel / (double)c->n_sel : 0.0,
		         100.0 * (double)e->df_all / (double)c->wc.n, l);
		draw_safe(app, w, y, 1 + ww + 1, W - ww - 2, line, a, false);
		double v = c->by_count ? (double)e->df_sel : l;
		if (bar_w > 2 && top > 0)
			draw_bar(app, w, y, bar_x, bar_w, v / top,
			         role_attr(l > 1 ? ROLE_BETTER : ROLE_DIM) | (sel ? A_REVERSE : 0));
	}
}

/* The words view's keys: arg 0 sort by lift/count, 1 stop words, 2 and 3 the minimum support up
 * and down. */
static int words_act(struct app *app, void *p, struct view_nav *nav, long arg)
{
	(void)app;
	struct words_ctx *c = p;
	if (arg == 0)
		c->by_count = !c->by_count;
	else if (arg == 1)
		c->show_stop = !c->show_stop;
	else if (arg == 2)
		c->min_support++;
	else if (c->min_support > 1)
		c->min_support--;
	words_list(c);
	nav->cur = nav->top = 0;
	return 0;
}

static int words_enter(struct app *app, void *p, struct view_nav *nav)
{
	struct words_ctx *c = p;
	if (nav->cur >= c->n_shown)
		return 0;
	const char *word = c->wc.words[c->shown[nav->cur]].text;
	char *q = filter_quote(word);
	char *cond = xasprintf("text ~ %s", q);
	char *f = filter_and(app->filter, cond);
	free(cond);
	int rc = app_set_filter(app, f, AGREE_CUSTOM, app->cls, true);
	free(f);
	free(q);
	if (rc & RECOMPUTE)
		rc |= VIEW_CLOSE;
	return rc;
}

static bool words_match(const struct app *app, const void *p, size_t row, const char *text)
{
	(void)app;
	const struct words_ctx *c = p;
	return row < c->n_shown && search_has(c->wc.words[c->shown[row]].text, text);
}

static struct key_action words_acts[] = {
    {"sort", "sort by lift or by count", words_act, 0, K('o')},
    {"stop-words", "show or hide the stop words", words_act, 1, K('s')},
    {"support-up", "raise the minimum support", words_act, 2, K('+', '=')},
    {"support-down", "lower the minimum support", words_act, 3, K('-')},
};
static KEYMODE(words_keys, "words", "Keys of the frequent words view", words_acts);

const struct view_class view_words = {
    .name = "words",
    .title = "Frequent words",
    .help = "frequent words of the shown texts and their lift over all texts",
    .prepare = words_prepare,
    .compute = words_compute,
    .draw = words_draw,
    .rows = words_rows,
    .keys = &words_keys,
    .match = words_match,
    .enter = words_enter,
    .free = words_view_free,
    .follows_filter = true,
};
