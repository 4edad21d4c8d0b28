/* test_classnames.c — class names abbreviated for narrow columns stay distinct and readable. */
#include "testutil.h"

#include <locale.h>

#include "nncmp/classnames.h"
#include "nncmp/text.h"
#include "nncmp/util.h"

/*
 * Abbreviates names (NULL-terminated) to width and checks the kind and each result against want
 * (NULL-terminated, same length); every result must fit the width.
 */
static void check(const char *const *names, int width, bool ascii, enum classnames_kind kind,
                  const char *const *want)
{
	size_t n = 0;
	while (names[n])
		n++;
	char **out = calloc(n ? n : 1, sizeof *out);
	enum classnames_kind got = classnames_abbrev(names, n, width, ascii, out);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(want[i]);
		if (strcmp(out[i], want[i]) != 0)
			fail_msg("width %d, '%s': got '%s', want '%s'", width, names[i], out[i],
			         want[i]);
		if (text_width(out[i]) > (width < 1 ? 1 : width))
			fail_msg("width %d: '%s' is %d columns", width, out[i], text_width(out[i]));
	}
	assert_null(want[n]);
	if (got != kind)
		fail_msg("width %d, first '%s': kind %d, want %d", width, n ? names[0] : "", got,
		         kind);
	classnames_free(out, n);
	free(out);
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *const digits[] = {"digit-0", "digit-1", "digit-2", "digit-3",
                                     "digit-4", "digit-5", "digit-6", "digit-7",
                                     "digit-8", "digit-9", NULL};

static void test_shared_prefix(void **state)
{
	(void)state;
	check(digits, 6, false, CLASSNAMES_SHORT,
	      L("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"));
	check(digits, 1, false, CLASSNAMES_SHORT,
	      L("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"));
	/* they fit: nothing is dropped */
	check(digits, 7, false, CLASSNAMES_FULL,
	      L("digit-0", "digit-1", "digit-2", "digit-3", "digit-4", "digit-5", "digit-6",
	        "digit-7", "digit-8", "digit-9"));
	/* the prefix stops at the separator: class-1x keep both digits */
	check(L("class-10", "class-11", "class-12"), 5, false, CLASSNAMES_SHORT,
	      L("10", "11", "12"));
	check(L("class-00", "class-09", "class-10", "class-14"), 3, false, CLASSNAMES_SHORT,
	      L("00", "09", "10", "14"));
	/* or at a change from letters to digits */
	check(L("layer1", "layer2", "layer10"), 4, false, CLASSNAMES_SHORT, L("1", "2", "10"));
	/* a shared start inside a word stays: "apple" does not become "ple" */
	check(L("apple", "apricot", "banana"), 4, false, CLASSNAMES_SHORT,
	      L("app…", "apr…", "ban…"));
}

static void test_shared_suffix(void **state)
{
	(void)state;
	check(L("cat_train", "dog_train", "cow_train"), 5, false, CLASSNAMES_SHORT,
	      L("cat", "dog", "cow"));
	check(L("img1_x", "img2_x", "img3_x"), 3, false, CLASSNAMES_SHORT, L("1", "2", "3"));
	/* prefix and suffix together */
	check(L("n-alpha-v2", "n-beta-v2", "n-gamma-v2"), 5, false, CLASSNAMES_SHORT,
	      L("alpha", "beta", "gamma"));
	/* a shared end inside a word stays */
	check(L("cation", "nation", "motion"), 4, false, CLASSNAMES_SHORT,
	      L("cat…", "nat…", "mot…"));
}

static void test_distinguishing_end(void **state)
{
	(void)state;
	/* the start is the same for 4 columns: the end is kept */
	check(L("northern-a", "northern-b", "southern-a"), 5, false, CLASSNAMES_SHORT,
	      L("nor…a", "nor…b", "sou…a"));
	check(L("computers", "literature", "politics", "science", "startrek"), 6, false,
	      CLASSNAMES_SHORT, L("compu…", "liter…", "polit…", "scien…", "start…"));
	/* ASCII cuts with ~ */
	check(L("computers", "literature"), 4, true, CLASSNAMES_SHORT, L("com~", "lit~"));
	/* only the last characters differ */
	check(L("longname_x1", "longname_x2", "longnamey"), 4, false, CLASSNAMES_SHORT,
	      L("lo…1", "lo…2", "lo…y"));
}

static void test_prefix_of_another(void **state)
{
	(void)state;
	/* "cat" is a prefix of the others: it must not become empty */
	check(L("cat", "cat-big", "cat-small"), 5, false, CLASSNAMES_SHORT,
	      L("cat", "cat…g", "cat…l"));
	check(L("a", "a-1", "a-2"), 2, false, CLASSNAMES_SHORT, L("a", "…1", "…2"));
	check(L("x-1", "x-1-b"), 2, false, CLASSNAMES_SHORT, L("1", "1…"));
}

static void test_utf8(void **state)
{
	(void)state;
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		skip();
	/* a multi-byte shared prefix goes by whole characters */
	check(L("é-chat", "é-chien", "é-ours"), 4, false, CLASSNAMES_SHORT,
	      L("chat", "chi…", "ours"));
	/* names differing only in a multi-byte character */
	check(L("catégorie-à", "catégorie-é", "catégorie-ü"), 3, false, CLASSNAMES_SHORT,
	      L("à", "é", "ü"));
	/* a cut never splits a character, wide ones take two columns */
	check(L("日本語の名前", "中文的名字"), 5, false, CLASSNAMES_SHORT, L("日本…", "中文…"));
	check(L("日本", "中文"), 1, false, CLASSNAMES_NUMBERS, L("0", "1"));
	setlocale(LC_CTYPE, "C");
}

static void test_one_class(void **state)
{
	(void)state;
	check(L("only"), 8, false, CLASSNAMES_FULL, L("only"));
	check(L("a-very-long-name"), 5, false, CLASSNAMES_SHORT, L("a-ve…"));
	check(L("name"), 1, false, CLASSNAMES_SHORT, L("n"));
	check(L(""), 3, false, CLASSNAMES_FULL, L(""));
}

static void test_short_names(void **state)
{
	(void)state;
	check(L("neg", "pos"), 3, false, CLASSNAMES_FULL, L("neg", "pos"));
	check(L("neg", "pos"), 8, false, CLASSNAMES_FULL, L("neg", "pos"));
	check(L("neg", "pos"), 1, false, CLASSNAMES_SHORT, L("n", "p"));
	check(L("neg", "pos"), 0, false, CLASSNAMES_SHORT, L("n", "p"));
}

static void test_small_widths(void **state)
{
	(void)state;
	const char *const c15[] = {"class-00", "class-01", "class-02", "class-03",
	                           "class-04", "class-05", "class-06", "class-07",
	                           "class-08", "class-09", "class-10", "class-11",
	                           "class-12", "class-13", "class-14", NULL};
	check(c15, 2, false, CLASSNAMES_SHORT,
	      L("00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13",
	        "14"));
	/* one column: no initial tells them apart, so the class numbers in 0-9a-z */
	check(c15, 1, false, CLASSNAMES_NUMBERS,
	      L("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e"));
	check(L("science", "startrek", "politics"), 1, false, CLASSNAMES_NUMBERS, L("0", "1", "2"));
	check(L("science", "startrek", "politics"), 2, false, CLASSNAMES_SHORT,
	      L("…e", "…k", "…s"));
	check(L("science", "startrek", "politics"), 3, false, CLASSNAMES_SHORT,
	      L("sc…", "st…", "po…"));
}

static void test_identical(void **state)
{
	(void)state;
	/* the same name twice can only be told apart by number */
	check(L("dup", "dup", "other"), 3, false, CLASSNAMES_NUMBERS, L("0", "1", "2"));
	/* names the same but for their middle: the shared ends go */
	check(L("ab-xxxxxx-1-cd", "ab-xxxxxx-2-cd"), 3, false, CLASSNAMES_SHORT, L("1", "2"));
	check(L("abcdefgh1ijklmnop", "abcdefgh2ijklmnop"), 3, false, CLASSNAMES_SHORT, L("1", "2"));
	/* no cut of three columns tells these apart */
	check(L("xxxxqxxxx", "xxxxzxxxx"), 3, false, CLASSNAMES_NUMBERS, L("0", "1"));
	/* 100 classes: two-digit numbers, or nothing distinct in one column */
	char *many[101];
	const char *want[101];
	char *wantbuf[100];
	for (int i = 0; i < 100; i++) {
		many[i] = xasprintf("same-prefix-%03d-same-suffix-xyz", i);
		wantbuf[i] = xasprintf("%03d", i);
		want[i] = wantbuf[i];
	}
	many[100] = NULL;
	want[100] = NULL;
	check((const char *const *)many, 3, false, CLASSNAMES_SHORT, want);
	for (int i = 0; i < 100; i++) {
		free(many[i]);
		free(wantbuf[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shared_prefix),
	    cmocka_unit_test(test_shared_suffix),
	    cmocka_unit_test(test_distinguishing_end),
	    cmocka_unit_test(test_prefix_of_another),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_one_class),
	    cmocka_unit_test(test_short_names),
	    cmocka_unit_test(test_small_widths),
	    cmocka_unit_test(test_identical),
	};
	return cmocka_run_group_tests_name("classnames", tests, NULL, NULL);
}
