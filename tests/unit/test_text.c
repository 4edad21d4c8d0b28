/* test_text.c — untrusted text becomes visible escapes, never terminal control. */
#include "testutil.h"

#include "nncmp/text.h"

static void expect(const char *in, bool ascii, const char *want)
{
	char *got = text_sanitize(in, ascii);
	if (strcmp(got, want) != 0)
		fail_msg("sanitize(%s): got '%s', want '%s'", ascii ? "ascii" : "utf8", got, want);
	free(got);
}

static void test_controls(void **state)
{
	(void)state;
	expect("plain text", false, "plain text");
	expect("a\tb\nc\rd", false, "a\\tb\\nc\\rd");
	/* OSC 52 clipboard write, title change, screen clear, DCS */
	expect("\033]52;c;aGk=\007x", false, "\\e]52;c;aGk=\\x07x");
	expect("\033]0;owned\033\\", false, "\\e]0;owned\\e\\");
	expect("\033[2J\033[H", false, "\\e[2J\\e[H");
	expect("\033P1$r\033\\", false, "\\eP1$r\\e\\");
	expect("del\x7f", false, "del\\x7f");
	/* C1 controls as UTF-8: CSI (U+009B) and OSC (U+009D) */
	expect("\xc2\x9b"
	       "31m",
	       false, "\\u009b31m");
	expect("\xc2\x9d"
	       "0;x",
	       false, "\\u009d0;x");
	/* bidi overrides and isolates */
	expect("abc\xe2\x80\xae"
	       "def",
	       false, "abc\\u202edef");
	expect("\xe2\x81\xa6x\xe2\x81\xa9", false, "\\u2066x\\u2069");
}

static void test_utf8(void **state)
{
	(void)state;
	expect("caf\xc3\xa9 \xf0\x9f\x98\x80", false, "caf\xc3\xa9 \xf0\x9f\x98\x80");
	expect("caf\xc3\xa9 \xf0\x9f\x98\x80", true, "caf\\u00e9 \\U0001f600");
	/* invalid: a lone continuation byte, a truncated sequence, an overlong '/', a surrogate */
	expect("a\x80z", false, "a\\x80z");
	expect("a\xc3", false, "a\\xc3");
	expect("\xc0\xaf", false, "\\xc0\\xaf");
	expect("\xed\xa0\x80", false, "\\xed\\xa0\\x80");
	char *nul = text_sanitize_n("a\0b", 3, false);
	assert_string_equal(nul, "a\\x00b");
	free(nul);
}

static void expect_lines(const char *in, bool ascii, int tab, const char *want)
{
	char *got = text_sanitize_lines(in, ascii, tab);
	if (strcmp(got, want) != 0)
		fail_msg("sanitize_lines(tab %d): got '%s', want '%s'", tab, got, want);
	free(got);
}

static void expect_one_line(const char *in, bool ascii, const char *mark, const char *want)
{
	char *got = text_sanitize_one_line(in, ascii, mark);
	if (strcmp(got, want) != 0)
		fail_msg("sanitize_one_line: got '%s', want '%s'", got, want);
	free(got);
}

/* Line breaks stay line breaks and tabs reach the next tab stop of their own line. */
static void test_lines(void **state)
{
	(void)state;
	expect_lines("alpha bravo\ncharlie\tdelta\n\techo", false, 8,
	             "alpha bravo\ncharlie delta\n        echo");
	expect_lines("a\tb\n\t\tc", false, 4, "a   b\n        c");
	expect_lines("12345678\tx", false, 8, "12345678        x");
	/* CRLF is one break; a lone CR and every other control stays escaped */
	expect_lines("a\r\nb\rc\033[2J", false, 8, "a\nb\\rc\\e[2J");
	/* columns count characters, escapes as they are shown */
	expect_lines("\xc3\xa9\tx", false, 4, "\xc3\xa9   x");
	expect_lines("\xc3\xa9\tx", true, 8, "\\u00e9  x");
	expect_lines("\n\n", false, 8, "\n\n");
}

/* In one line a break is one visible mark and a tab one space. */
static void test_one_line(void **state)
{
	(void)state;
	expect_one_line("alpha bravo\ncharlie\tdelta\r\n\techo", false, "\xe2\x8f\x8e",
	                "alpha bravo\xe2\x8f\x8e"
	                "charlie delta\xe2\x8f\x8e echo");
	expect_one_line("a\nb\033]0;x\007", true, "|", "a|b\\e]0;x\\x07");
	expect_one_line("caf\xc3\xa9\n", true, "|", "caf\\u00e9|");
}

static void expect_valid(const char *in, const char *want)
{
	char *got = text_valid_utf8(in);
	if (strcmp(got, want) != 0)
		fail_msg("valid_utf8: got '%s', want '%s'", got, want);
	/* the invalid bytes read as text_sanitize shows them */
	char *a = text_sanitize(in, false), *b = text_sanitize(got, false);
	assert_string_equal(a, b);
	free(a);
	free(b);
	free(got);
}

/* JSON's rule: invalid bytes become \xHH, everything valid (controls too) is kept. */
static void test_valid_utf8(void **state)
{
	(void)state;
	expect_valid("plain", "plain");
	expect_valid("zero\xff", "zero\\xff");
	expect_valid("caf\xc3\xa9 \xe2\x82", "caf\xc3\xa9 \\xe2\\x82");
	expect_valid("\xed\xa0\x80", "\\xed\\xa0\\x80");          /* a surrogate */
	expect_valid("\xc0\xaf", "\\xc0\\xaf");                   /* overlong '/' */
	expect_valid("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* past U+10FFFF */
	expect_valid("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
	char *esc = text_valid_utf8("a\033b\n");
	assert_string_equal(esc, "a\033b\n");
	free(esc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_controls),   cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_lines),      cmocka_unit_test(test_one_line),
	    cmocka_unit_test(test_valid_utf8),
	};
	return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
