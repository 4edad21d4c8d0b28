/* test_termreply.c — the terminal reply parser: replies as xterm, mlterm, foot and tmux send
   them, split anywhere, mixed with keys and garbage. */
#include "testutil.h"

#include "nncmp/termreply.h"

/* Feeds s to the parser in chunks of `chunk` bytes as a read loop would, then a final call. */
static struct termreply feed(const char *s, size_t chunk, char *other, size_t *n_other)
{
	struct termreply r = {0};
	uint8_t buf[1024];
	size_t have = 0, len = strlen(s), at = 0;
	*n_other = 0;
	while (at < len) {
		size_t n = len - at < chunk ? len - at : chunk;
		memcpy(buf + have, s + at, n);
		at += n;
		have += n;
		size_t used = termreply_parse(buf, have, false, &r, (uint8_t *)other, 255, n_other);
		assert_true(used <= have);
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	termreply_parse(buf, have, true, &r, (uint8_t *)other, 255, n_other);
	other[*n_other] = '\0';
	return r;
}

static void test_replies(void **state)
{
	(void)state;
	/* xterm -ti vt340: CSI 16 t, CSI 14 t, DA1 */
	const char *xterm = "\033[6;20;10t\033[4;480;800t\033[?63;1;2;4;6;9;15;22c";
	for (size_t chunk = 1; chunk <= strlen(xterm); chunk++) {
		char other[256];
		size_t n;
		struct termreply r = feed(xterm, chunk, other, &n);
		assert_true(r.da1);
		assert_true(r.sixel);
		assert_int_equal(r.da1_class, 63);
		assert_int_equal(r.cell_w, 10);
		assert_int_equal(r.cell_h, 20);
		assert_int_equal(r.text_w, 800);
		assert_int_equal(r.text_h, 480);
		assert_int_equal(n, 0);
	}
	/* a plain xterm: no 4 after the class (62;... and a 4 only as the class would be wrong) */
	char other[256];
	size_t n;
	struct termreply r = feed("\033[?64;1;2;6;9;15;18;21;22c", 3, other, &n);
	assert_true(r.da1);
	assert_false(r.sixel);
	r = feed("\033[?4c", 2, other, &n); /* 4 as the class is not the sixel attribute */
	assert_true(r.da1);
	assert_false(r.sixel);
	/* tmux 3.4 built with sixel */
	r = feed("\033[?1;2;4c", 1, other, &n);
	assert_true(r.sixel);
	/* VTE-like: no pixel replies at all */
	r = feed("\033[?65;1;9c", 4, other, &n);
	assert_true(r.da1);
	assert_int_equal(r.cell_w, 0);
}

static void test_keys_and_garbage(void **state)
{
	(void)state;
	char other[256];
	size_t n;
	/* the user typed j, an arrow key and F5 while the replies came */
	struct termreply r = feed("j\033[A\033[6;16;8tq\033[15~\033[?62;4c", 1, other, &n);
	assert_true(r.sixel);
	assert_int_equal(r.cell_w, 8);
	assert_int_equal(r.cell_h, 16);
	assert_int_equal(n, strlen("j\033[Aq\033[15~"));
	assert_string_equal(other, "j\033[Aq\033[15~");
	/* a lone Escape at the end, Alt-x, a CSI with an intermediate byte, a reply with 2 numbers
	 */
	r = feed("\033x\033[ q\033[6;16t\033", 5, other, &n);
	assert_false(r.da1);
	assert_int_equal(r.cell_w, 0);
	assert_string_equal(other, "\033x\033[ q\033[6;16t\033");
	/* an endless parameter string is not waited for */
	char longp[400] = "\033[";
	for (int i = 0; i < 300; i++)
		strcat(longp, "1");
	strcat(longp, "\033[?62;4c");
	r = feed(longp, 64, other, &n);
	assert_true(r.sixel);
	assert_int_equal(n, 255); /* capped at the caller's buffer */
	/* huge numbers do not overflow; too many parameters are not a reply */
	r = feed("\033[6;99999999999999;7t", 1, other, &n);
	assert_int_equal(r.cell_w, 7);
	assert_true(r.cell_h > 0);
	r = feed("\033[?62;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;4c", 7,
	         other, &n);
	assert_false(r.da1);
	/* an unfinished reply at the end: not consumed until final */
	struct termreply r2 = {0};
	const uint8_t part[] = "x\033[?62;";
	size_t no = 0;
	uint8_t ob[16];
	assert_int_equal(termreply_parse(part, 7, false, &r2, ob, sizeof ob, &no), 1);
	assert_int_equal(no, 1);
	assert_int_equal(termreply_parse(part + 1, 6, true, &r2, ob, sizeof ob, &no), 6);
	assert_int_equal(no, 7);
	assert_false(r2.da1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replies),
	    cmocka_unit_test(test_keys_and_garbage),
	};
	return cmocka_run_group_tests_name("termreply", tests, NULL, NULL);
}
