/*
 * words.h — the frequent words of a subset of a study's texts and their lift over all texts
 * (DeepCompare's word view): what `nncmp words` prints and the TUI's words view draws.
 *
 * A word is a run of ASCII letters, digits and apostrophes, or of non-ASCII characters that are
 * not punctuation or spaces (U+0080..U+00BF, × and ÷, U+2000..U+2BFF, U+3000..U+303F,
 * U+FE30..U+FE4F, U+FF00..U+FF0F and bytes that are not UTF-8 separate words; multibyte
 * characters are never split), lowercased in ASCII as the filter's `~` folds case, with the
 * apostrophes at either end dropped. A run longer than WORDS_MAX_BYTES bytes is not a word.
 * Counts are document frequencies over the study's n instances (those without a text have no
 * words): df_sel in the subset S, df_all in all of them; lift = (df_sel / |S|) / (df_all / n),
 * NaN when S is empty. Stop words (a fixed English list, words_is_stop) are counted and flagged.
 *
 * words_count() owns every word text in its result until words_free(); words_rank() only fills
 * an array of indices into it. Nothing here is shared between threads: count on any one thread,
 * then read.
 */
#ifndef NNCMP_WORDS_H
#define NNCMP_WORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/study.h"
#include "nncmp/util.h"

#define WORDS_MAX_BYTES 256

struct word_stat {
	char *text;    /* lowercased, UTF-8 as in the texts */
	size_t df_sel; /* texts of the subset that hold it */
	size_t df_all; /* texts of the study that hold it */
	bool stop;
	size_t last_doc; /* private: the last instance counted, plus one */
};

struct word_counts {
	size_t n;                /* the study's instances */
	size_t n_sel;            /* the subset's */
	struct word_stat *words; /* n_words, in order of first appearance */
	size_t n_words;
	size_t cap, *slots, n_slots; /* private: the hash table */
};

enum words_order {
	/* lift (compared exactly, as the fractions df_sel/df_all), then df_sel, descending; then
	   the word's bytes ascending (strcmp) */
	WORDS_BY_LIFT,
	WORDS_BY_COUNT, /* df_sel, then lift, descending; then the word's bytes ascending */
};

/*
 * Counts the words of study s's texts: the subset is the n_idx instances idx (in any order,
 * without repeats; NULL means every instance). prog may be NULL; cancelling it fails with
 * "cancelled". Returns 0, or -1 with err set (no texts in the study, cancelled), out then
 * empty (words_free is still allowed).
 */
int words_count(const struct study *s, const uint32_t *idx, size_t n_idx, struct nn_progress *prog,
                struct word_counts *out, struct nn_err *err);
void words_free(struct word_counts *wc);

/* The lift of word w (see above); NaN for an empty subset. */
double words_lift(const struct word_counts *wc, const struct word_stat *w);

/*
 * Writes into out (room for wc->n_words) the indices of the words with df_sel >= min_support
 * (stop words only when with_stop), in the order `by`; returns how many.
 */
size_t words_rank(const struct word_counts *wc, size_t min_support, bool with_stop,
                  enum words_order by, size_t *out);

/* True when w (lowercase) is one of the stop words. */
bool words_is_stop(const char *w);

#endif
