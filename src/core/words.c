/*
 * words.c — document frequencies of the words of a study's texts, for a subset and for all, and
 * their lift (words.h has the definitions).
 */
#include "nncmp/words.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/text.h"

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

bool words_is_stop(const char *w)
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

static void table_grow(struct word_counts *c)
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

/* Counts the word w (len bytes) once for document doc. */
static void word_count(struct word_counts *c, const char *w, size_t len, size_t doc, bool in)
{
	if (2 * (c->n_words + 1) > c->n_slots)
		table_grow(c);
	size_t j = hash(w, len) & (c->n_slots - 1);
	while (c->slots[j]) {
		struct word_stat *e = &c->words[c->slots[j] - 1];
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
	struct word_stat *e = &c->words[c->n_words];
	e->text = xstrndup(w, len);
	e->df_all = 1;
	e->df_sel = in;
	e->last_doc = doc + 1;
	e->stop = words_is_stop(e->text);
	c->slots[j] = ++c->n_words;
}

/* Byte length of the UTF-8 character at p and its code point (1 and U+FFFD for a bad byte). The
 * decoder stops at the first byte that is not a continuation, so it never reads past the NUL. */
static size_t utf8_char(const unsigned char *p, uint32_t *cp)
{
	size_t n = text_utf8_decode((const char *)p, 4, cp);
	if (n == 0) {
		*cp = 0xfffd;
		return 1;
	}
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

static void doc_count(struct word_counts *c, const char *text, size_t doc, bool in)
{
	const unsigned char *p = (const unsigned char *)text;
	char buf[WORDS_MAX_BYTES + 1];
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
			if (o + len <= WORDS_MAX_BYTES) {
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

int words_count(const struct study *s, const uint32_t *idx, size_t n_idx, struct nn_progress *prog,
                struct word_counts *out, struct nn_err *err)
{
	memset(out, 0, sizeof *out);
	if (!s->texts)
		return nn_err_set(err,
		                  "the study has no texts (samples.jsonl has no \"text\" field)");
	uint8_t *in_sel = xcalloc(s->n ? s->n : 1, 1);
	if (idx) {
		for (size_t k = 0; k < n_idx; k++)
			in_sel[idx[k]] = 1;
	} else {
		memset(in_sel, 1, s->n);
		n_idx = s->n;
	}
	out->n = s->n;
	out->n_sel = n_idx;
	if (prog)
		atomic_store(&prog->total, s->n);
	for (size_t i = 0; i < s->n; i++) {
		if (s->texts[i])
			doc_count(out, s->texts[i], i, in_sel[i] != 0);
		if (prog && (i & 127) == 127) {
			atomic_fetch_add(&prog->done, 128);
			if (atomic_load(&prog->cancel)) {
				free(in_sel);
				words_free(out);
				return nn_err_set(err, "cancelled");
			}
		}
	}
	if (prog)
		atomic_store(&prog->done, s->n);
	free(in_sel);
	return 0;
}

void words_free(struct word_counts *wc)
{
	for (size_t k = 0; k < wc->n_words; k++)
		free(wc->words[k].text);
	free(wc->words);
	free(wc->slots);
	memset(wc, 0, sizeof *wc);
}

double words_lift(const struct word_counts *wc, const struct word_stat *w)
{
	if (wc->n_sel == 0 || w->df_all == 0)
		return NAN;
	return ((double)w->df_sel / (double)wc->n_sel) / ((double)w->df_all / (double)wc->n);
}

/* A word and where it is, so that the comparisons need no context. */
struct ranked {
	const struct word_stat *w;
	size_t k;
};

/*
 * Lift descending, compared exactly: every lift shares |S| and n, so lift_a > lift_b exactly when
 * df_sel_a * df_all_b > df_sel_b * df_all_a (two words of equal lift tie even where the divisions
 * would round apart).
 */
static int cmp_lift(const struct ranked *a, const struct ranked *b)
{
	uint64_t x = (uint64_t)a->w->df_sel * b->w->df_all,
	         y = (uint64_t)b->w->df_sel * a->w->df_all;
	return x > y ? -1 : x < y;
}

static int cmp_by_lift(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;
	int r = cmp_lift(a, b);
	if (r)
		return r;
	if (a->w->df_sel != b->w->df_sel)
		return a->w->df_sel > b->w->df_sel ? -1 : 1;
	return strcmp(a->w->text, b->w->text);
}

static int cmp_by_count(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;
	if (a->w->df_sel != b->w->df_sel)
		return a->w->df_sel > b->w->df_sel ? -1 : 1;
	int r = cmp_lift(a, b);
	if (r)
		return r;
	return strcmp(a->w->text, b->w->text);
}

size_t words_rank(const struct word_counts *wc, size_t min_support, bool with_stop,
                  enum words_order by, size_t *out)
{
	struct ranked *r = xcalloc(wc->n_words ? wc->n_words : 1, sizeof *r);
	size_t n = 0;
	for (size_t k = 0; k < wc->n_words; k++) {
		const struct word_stat *w = &wc->words[k];
		if (w->df_sel >= min_support && (with_stop || !w->stop))
			r[n++] = (struct ranked){w, k};
	}
	qsort(r, n, sizeof *r, by == WORDS_BY_COUNT ? cmp_by_count : cmp_by_lift);
	for (size_t k = 0; k < n; k++)
		out[k] = r[k].k;
	free(r);
	return n;
}
