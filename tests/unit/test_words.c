/*
 * test_words.c — words.h on a study built by hand: tokenizing, document frequencies, lift and
 * both orders. Every expected value is worked out below from the texts, not by running the code.
 *
 *   doc  text                        words (document frequency counts each once)
 *    0   "The cat sat. Cat!"         the (stop), cat, sat
 *    1   "Dog's day: 'dog' and cat"  dog's, day, dog, and (stop), cat
 *    2   "Über straße — ÜBER"        Über (ASCII lowercased only: ÜBER -> Über), straße
 *    3   (no text)
 *    4   "cat\ndog"                  cat, dog
 *    5   "x×y"                       x, y (× separates words)
 *    6   300 'a's, then " cat"       cat (the long run is no word)
 *
 * The subset is {0, 1, 4}: n_sel = 3, n = 7, lift = 7 df_sel / (3 df_all).
 *   cat 3/4 -> 1.75; dog 2/2, sat, day, dog's, the, and 1/1 -> 7/3; Über, straße, x, y 0/1 -> 0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/words.h"

#define N      7
#define STR(s) ((char *)(s))

static char long_text[400];
static char *texts[N] = {STR("The cat sat. Cat!"),
                         STR("Dog's day: 'dog' and cat"),
                         STR("\xc3\x9c"
                             "ber stra\xc3\x9f"
                             "e \xe2\x80\x94 \xc3\x9c"
                             "BER"),
                         NULL,
                         STR("cat\ndog"),
                         STR("x\xc3\x97y"),
                         long_text};

static struct study make_study(void)
{
	memset(long_text, 'a', 300);
	strcpy(long_text + 300, " cat");
	struct study s;
	memset(&s, 0, sizeof s);
	s.name = STR("hand");
	s.n = N;
	s.texts = texts;
	return s;
}

static const struct word_stat *find(const struct word_counts *wc, const char *w)
{
	for (size_t k = 0; k < wc->n_words; k++)
		if (strcmp(wc->words[k].text, w) == 0)
			return &wc->words[k];
	return NULL;
}

/* The ranked words joined by spaces. */
static void ranked(const struct word_counts *wc, size_t min, bool stop, enum words_order by,
                   char *out, size_t size)
{
	size_t *r = calloc(wc->n_words + 1, sizeof *r);
	size_t n = words_rank(wc, min, stop, by, r);
	out[0] = '\0';
	for (size_t k = 0; k < n; k++) {
		strncat(out, k ? " " : "", size - strlen(out) - 1);
		strncat(out, wc->words[r[k]].text, size - strlen(out) - 1);
	}
	free(r);
}

static void test_counts(void **state)
{
	(void)state;
	struct study s = make_study();
	uint32_t sel[] = {4, 0, 1}; /* any order */
	struct word_counts wc;
	struct nn_err err = {{0}};
	assert_int_equal(words_count(&s, sel, 3, NULL, &wc, &err), 0);
	assert_int_equal(wc.n, 7);
	assert_int_equal(wc.n_sel, 3);
	assert_int_equal(wc.n_words, 11);
	static const struct {
		const char *w;
		size_t sel, all;
		bool stop;
	} want[] = {{"cat", 3, 4, false},
	            {"the", 1, 1, true},
	            {"sat", 1, 1, false},
	            {"dog's", 1, 1, false},
	            {"day", 1, 1, false},
	            {"dog", 2, 2, false},
	            {"and", 1, 1, true},
	            {"\xc3\x9c"
	             "ber",
	             0, 1, false},
	            {"stra\xc3\x9f"
	             "e",
	             0, 1, false},
	            {"x", 0, 1, false},
	            {"y", 0, 1, false}};
	for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
		const struct word_stat *w = find(&wc, want[k].w);
		assert_non_null(w);
		assert_int_equal(w->df_sel, want[k].sel);
		assert_int_equal(w->df_all, want[k].all);
		assert_int_equal(w->stop, want[k].stop);
	}
	/* quotes around a word are not part of it; "dog" and "dog's" are two words */
	assert_null(find(&wc, "'dog'"));
	assert_null(find(&wc, "The"));
	assert_true(fabs(words_lift(&wc, find(&wc, "cat")) - 1.75) < 1e-12);
	assert_true(fabs(words_lift(&wc, find(&wc, "dog")) - 7.0 / 3.0) < 1e-12);
	assert_true(words_lift(&wc, find(&wc, "x")) == 0.0);
	words_free(&wc);
}

static void test_orders(void **state)
{
	(void)state;
	struct study s = make_study();
	uint32_t sel[] = {0, 1, 4};
	struct word_counts wc;
	struct nn_err err = {{0}};
	assert_int_equal(words_count(&s, sel, 3, NULL, &wc, &err), 0);
	char buf[512];
	/* equal lifts 7/3: dog (2 texts) first, then by the word's bytes */
	ranked(&wc, 1, false, WORDS_BY_LIFT, buf, sizeof buf);
	assert_string_equal(buf, "dog day dog's sat cat");
	ranked(&wc, 1, true, WORDS_BY_LIFT, buf, sizeof buf);
	assert_string_equal(buf, "dog and day dog's sat the cat");
	ranked(&wc, 1, false, WORDS_BY_COUNT, buf, sizeof buf);
	assert_string_equal(buf, "cat dog day dog's sat");
	ranked(&wc, 2, false, WORDS_BY_LIFT, buf, sizeof buf);
	assert_string_equal(buf, "dog cat");
	/* support 0 lets the words outside the subset in, last, by bytes (Ü is 0xc3 0x9c) */
	ranked(&wc, 0, false, WORDS_BY_LIFT, buf, sizeof buf);
	assert_string_equal(buf, "dog day dog's sat cat stra\xc3\x9f"
	                         "e x y \xc3\x9c"
	                         "ber");
	words_free(&wc);
}

static void test_whole_and_empty(void **state)
{
	(void)state;
	struct study s = make_study();
	struct word_counts wc;
	struct nn_err err = {{0}};
	/* every instance: each lift is exactly 1 */
	assert_int_equal(words_count(&s, NULL, 0, NULL, &wc, &err), 0);
	assert_int_equal(wc.n_sel, 7);
	for (size_t k = 0; k < wc.n_words; k++)
		assert_true(words_lift(&wc, &wc.words[k]) == 1.0);
	char buf[512];
	ranked(&wc, 2, false, WORDS_BY_COUNT, buf, sizeof buf);
	assert_string_equal(buf, "cat dog");
	words_free(&wc);
	/* an empty subset: lifts are NaN and no word has support */
	uint32_t none[1] = {0};
	assert_int_equal(words_count(&s, none, 0, NULL, &wc, &err), 0);
	assert_true(isnan(words_lift(&wc, &wc.words[0])));
	ranked(&wc, 1, true, WORDS_BY_LIFT, buf, sizeof buf);
	assert_string_equal(buf, "");
	words_free(&wc);
	/* no texts at all */
	s.texts = NULL;
	assert_int_equal(words_count(&s, NULL, 0, NULL, &wc, &err), -1);
	assert_non_null(strstr(err.msg, "no texts"));
	assert_int_equal(wc.n_words, 0);
	words_free(&wc);
}

static void test_stop(void **state)
{
	(void)state;
	assert_true(words_is_stop("the"));
	assert_true(words_is_stop("don't"));
	assert_false(words_is_stop("The"));
	assert_false(words_is_stop("cat"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_orders),
	    cmocka_unit_test(test_whole_and_empty),
	    cmocka_unit_test(test_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
