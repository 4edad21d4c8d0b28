/*
 * view_words.c — frequent words of the filtered subset with their lift over the whole set
 * (DeepCompare), for studies with texts.
 *
 * A word is a run of ASCII letters, digits and apostrophes, or of non-ASCII characters that are
 * not punctuation or spaces (multibyte UTF-8 characters are never split), lowercased in ASCII as
 * the filter's `~` folds case. Counts are document frequencies: df_S in the subset S, df_all in
 * all N texts; lift = (df_S / |S|) / (df_all / N).
 */
#include "views.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORD_MAX 64

struct word {
	char *text;
	size_t df_sel, df_all;
	size_t last_doc; /* while counting: the last document that had it, plus one */
	bool stop;
};

struct words_ctx {
	const struct study *s;
	uint8_t *in_sel; /* N flags */
	size_t n_sel, n;
	char *filter; /* the filter when the view opened */
	/* the table */
	struct word *words;
	size_t n_words, cap;
	size_t *slots, n_slots; /* hash table of indices into words, plus one; 0 = empty */
	/* what is shown */
	size_t *shown, n_shown;
	size_t min_support;
	bool show_stop, by_count;
};

static const char *const stop_words[] = {
    "a",     "about", "after",  "again",   "all",    "also",    "am",     "an",     "and",
    "any",   "are",   "as",     "at",      "be",     "been",    "but",    "by",     "can",
    "could", "did",   "do",     "does",    "don't",  "for",     "from",   "had",    "has",
    "have",  "he",    "her",    "him",     "his",    "how",     "i",      "i'm",    "if",
    "in",    "into",  "is",     "it",      "it's",   "its",     "just",   "me",     "more",
    "most",  "my",    "no",     "not",     "now",    "of",      "on",     "one",    "only",
    "or",    "other", "our",    "out",     "over",   "she",     "so",     "some",   "such",
    "than",  "that",  "the",    "their",   "them",   "then",    "there",  "these",  "they",
    "this",  "those", "to",     "too",     "up",     "us",      "very",   "was",    "we",
    "were",  "what",  "when",   "where",   "which",  "who",     "whom",   "why",    "will",
    "with",  "would", "you",    "your",    "you're", "there's", "that's", "what's", "can't",
    "won't", "isn't", "didn't", "doesn't", "ll",     "re",      "ve",     "s",      "t",
    "d"};

static bool is_stop(const char *w)
{
	for (size_t k = 0; k < sizeof stop_words / sizeof *stop_words; k++)
		if (strcmp(stop_words[k], w) == 0)
			return true;
	return false;
}

static uint64_t hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t k = 0; k < len; k++)
		h = (h ^ (uint8_t)s[k]) * 1099511628211ULL;
	return h;
}

static void table_grow(struct words_ctx *c)
{
	size_t ns = c->n_slots ? c->n_slots * 2 : 4096;
	size_t *slots = xcalloc(ns, sizeof *slots);
	for (size_t k = 0; k < c->n_words; k++) {
		const char *t = c->words[k].text;
		size_t j = hash(t, strlen(t)) & (ns - 1);
		while (slots[j])
			j = (j + 1) & (ns - 1);
		slots[j] = k + 1;
	}
	free(c->slots);
	c->slots = slots;
	c->n_slots = ns;
}

/* Counts one occurrence of the word w (len bytes) in document doc. */
static void word_count(struct words_ctx *c, const char *w, size_t len, size_t doc, bool in)
{
	if (2 * (c->n_words + 1) > c->n_slots)
		table_grow(c);
	size_t j = hash(w, len) & (c->n_slots - 1);
	while (c->slots[j]) {
		struct word *e = &c->words[c->slots[j] - 1];
		if (strncmp(e->text, w, len) == 0 && e->text[len] == '\0') {
			if (e->last_doc != doc + 1) {
				e->last_doc = doc + 1;
				e->df_all++;
				e->df_sel += in;
			}
			return;
		}
		j = (j + 1) & (c->n_slots - 1);
	}
	if (c->n_words == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 1024;
		c->words = xreallocarray(c->words, c->cap, sizeof *c->words);
	}
	struct word *e = &c->words[c->n_words];
	e->text = xstrndup(w, len);
	e->df_all = 1;
	e->df_sel = in;
	e->last_doc = doc + 1;
	e->stop = is_stop(e->text);
	c->slots[j] = ++c->n_words;
}

/* Byte length of the UTF-8 character at p (1 for a stray byte) and its code point. */
static size_t utf8_char(const unsigned char *p, uint32_t *cp)
{
	size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 1;
	uint32_t v = n == 1 ? p[0] : p[0] & (0x3f >> (n - 1));
	for (size_t k = 1; k < n; k++) {
		if ((p[k] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return 1;
		}
		v = (v << 6) | (p[k] & 0x3f);
	}
	*cp = v;
	return n;
}

/* True when code point cp belongs to a word. */
static bool word_char(uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
		       (cp >= '0' && cp <= '9') || cp == '\'';
	if (cp < 0xc0 || cp == 0xd7 || cp == 0xf7 || cp == 0xfffd)
		return false; /* Latin-1 punctuation and signs, × ÷ */
	if ((cp >= 0x2000 && cp <= 0x2bff) || (cp >= 0x3000 && cp <= 0x303f) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff0f))
		return false; /* general punctuation, symbols, CJK punctuation */
	return true;
}

static void doc_count(struct words_ctx *c, const char *text, size_t doc)
{
	bool in = c->in_sel[doc] != 0;
	const unsigned char *p = (const unsigned char *)text;
	char buf[WORD_MAX * 4 + 8];
	while (*p) {
		uint32_t cp;
		size_t len = utf8_char(p, &cp);
		if (!word_char(cp)) {
			p += len;
			continue;
		}
		size_t o = 0;
		bool too_long = false;
		while (*p) {
			len = utf8_char(p, &cp);
			if (!word_char(cp))
				break;
			if (o + len < sizeof buf - 1) {
				for (size_t k = 0; k < len; k++)
					buf[o++] =
					    (char)(p[k] >= 'A' && p[k] <= 'Z' ? p[k] + 32 : p[k]);
			} else {
				too_long = true;
			}
			p += len;
		}
		/* apostrophes are quotes at either end of a word */
		size_t b = 0;
		while (b < o && buf[b] == '\'')
			b++;
		while (o > b && buf[o - 1] == '\'')
			o--;
		if (!too_long && o > b)
			word_count(c, buf + b, o - b, doc, in);
	}
}

static int words_compute(void *p, struct nn_progress *prog, struct nn_err *err)
{
	struct words_ctx *c = p;
	atomic_store(&prog->total, c->n);
	for (size_t i = 0; i < c->n; i++) {
		if (c->s->texts[i])
			doc_count(c, c->s->texts[i], i);
		if ((i & 127) == 127) {
			atomic_fetch_add(&prog->done, 128);
			if (atomic_load(&prog->cancel))
				return nn_err_set(err, "cancelled");
		}
	}
	atomic_store(&prog->done, c->n);
	return 0;
}

static double lift(const struct words_ctx *c, const struct word *w)
{
	if (c->n_sel == 0 || w->df_all == 0)
		return NAN;
	return ((double)w->df_sel / (double)c->n_sel) / ((double)w->df_all / (double)c->n);
}

static const struct words_ctx *sort_ctx;

static int cmp_words(const void *pa, const void *pb)
{
	const struct words_ctx *c = sort_ctx;
	const struct word *a = &c->words[*(const size_t *)pa], *b = &c->words[*(const size_t *)pb];
	if (!c->by_count) {
		double la = lift(c, a), lb = lift(c, b);
		if (la != lb)
			return la > lb ? -1 : 1;
	}
	if (a->df_sel != b->df_sel)
		return a->df_sel > b->df_sel ? -1 : 1;
	if (c->by_count) {
		double la = lift(c, a), lb = lift(c, b);
		if (la != lb)
			return la > lb ? -1 : 1;
	}
	return strcmp(a->text, b->text);
}

/* Rebuilds the list of shown words after a change of support, stop words or order. */
static void words_list(struct words_ctx *c)
{
	free(c->shown);
	c->shown = xcalloc(c->n_words ? c->n_words : 1, sizeof *c->shown);
	c->n_shown = 0;
	for (size_t k = 0; k < c->n_words; k++) {
		const struct word *w = &c->words[k];
		if (w->df_sel >= c->min_support && (c->show_stop || !w->stop))
			c->shown[c->n_shown++] = k;
	}
	sort_ctx = c; /* qsort has no context argument; this runs on the UI thread only */
	qsort(c->shown, c->n_shown, sizeof *c->shown, cmp_words);
	sort_ctx = NULL;
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
	c->n = s->n;
	c->in_sel = xcalloc(s->n ? s->n : 1, 1);
	for (size_t k = 0; k < app->n_sel; k++)
		c->in_sel[app->sel[k]] = 1;
	c->n_sel = app->n_sel;
	c->filter = xstrdup(app->filter);
	c->min_support = 3;
	c->by_count = app->n_sel == s->n; /* without a filter every lift is 1 */
	return c;
}

static void words_free(void *p)
{
	struct words_ctx *c = p;
	for (size_t k = 0; k < c->n_words; k++)
		free(c->words[k].text);
	free(c->words);
	free(c->slots);
	free(c->shown);
	free(c->in_sel);
	free(c->filter);
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
	         "%zu of %zu texts shown; words in at least %zu of them%s; sorted by %s", c->n_sel,
	         c->n, c->min_support, c->show_stop ? "" : ", stop words hidden",
	         c->by_count ? "count" : "lift");
	draw_safe(app, w, 1, 1, W - 2, line, role_attr(ROLE_NORMAL), false);
	snprintf(line, sizeof line,
	         "lift = (%% of shown texts with the word) / (%% of all texts with it)%s",
	         c->n_sel == c->n ? "; no filter, so every lift is 1: filter first (f, 1, 2, w)"
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
		const struct word *e = &c->words[c->shown[k]];
		double v = c->by_count ? (double)e->df_sel : lift(c, e);
		if (v > top)
			top = v;
	}
	int bar_x = 1 + ww + 1 + 9 + 1 + 7 + 1 + 7 + 1 + 7 + 2;
	int bar_w = W - bar_x - 1;
	if (bar_w > 40)
		bar_w = 40;
	for (int r = 0; r < vis && nav->top + (size_t)r < c->n_shown; r++) {
		size_t k = nav->top + (size_t)r;
		const struct word *e = &c->words[c->shown[k]];
		bool sel = k == nav->cur;
		attr_t a = role_attr(sel ? ROLE_SELECTION : ROLE_NORMAL);
		int y = y0 + r;
		draw_safe(app, w, y, 0, W, "", a, true);
		draw_text(app, w, y, 1, ww, e->text, a | (e->stop ? A_DIM : 0), false);
		double l = lift(c, e);
		snprintf(line, sizeof line, "%9zu %6.1f%% %6.1f%% %7.2f", e->df_sel,
		         c->n_sel ? 100.0 * (double)e->df_sel / (double)c->n_sel : 0.0,
		         100.0 * (double)e->df_all / (double)c->n, l);
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
	const char *word = c->words[c->shown[nav->cur]].text;
	/* quoted with the \" and \\ escapes (a word holds neither, but stay safe) */
	size_t len = strlen(word), o = 0;
	char *q = xmalloc(2 * len + 3);
	q[o++] = '"';
	for (size_t k = 0; k < len; k++) {
		if (word[k] == '"' || word[k] == '\\')
			q[o++] = '\\';
		q[o++] = word[k];
	}
	q[o++] = '"';
	q[o] = '\0';
	char *f = *app->filter ? xasprintf("(%s) and text ~ %s", app->filter, q)
	                       : xasprintf("text ~ %s", q);
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
	return row < c->n_shown && search_has(c->words[c->shown[row]].text, text);
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
    .free = words_free,
};
