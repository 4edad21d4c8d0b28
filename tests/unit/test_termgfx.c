/*
 * test_termgfx.c — choosing the graphics mode from what terminals answer nncmp's probe (kitty's
 * graphics query, XTVERSION, iTerm2's ReportCellSize, CSI 16 t / 14 t, DA1). The replies are
 * written as each terminal's documentation and source describe them (kitty's graphics protocol
 * page, WezTerm's and iTerm2's escape-sequence docs, xterm's ctlseqs for -ti vt340, VTE), not
 * captured from the terminals themselves: none runs here. Each is fed to the parser in pieces,
 * as reads would cut it, with a key the user typed in the middle.
 */
#include "testutil.h"

#include "nncmp/termgfx.h"
#include "nncmp/termreply.h"

/* Parses s in chunks of `chunk` bytes (then a final call) into *r; the other bytes into other. */
static void parse(const char *s, size_t chunk, struct termreply *r, char *other, size_t cap)
{
	memset(r, 0, sizeof *r);
	uint8_t buf[1024];
	size_t have = 0, len = strlen(s), at = 0, n_other = 0;
	while (at < len) {
		size_t n = len - at < chunk ? len - at : chunk;
		assert_true(have + n <= sizeof buf);
		memcpy(buf + have, s + at, n);
		at += n;
		have += n;
		size_t used =
		    termreply_parse(buf, have, false, r, (uint8_t *)other, cap - 1, &n_other);
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	termreply_parse(buf, have, true, r, (uint8_t *)other, cap - 1, &n_other);
	other[n_other] = '\0';
}

struct terminal {
	const char *name;
	const char *replies; /* in the order the queries went out, DA1 last */
	struct gfx_hints hints;
	enum gfx_mode want;
	int cell_w, cell_h;   /* from CSI 16 t, or 0 */
	int iterm_w, iterm_h; /* from ReportCellSize, or 0 */
	const char *version;  /* XTVERSION, or "" */
};

#define KITTY_OK "\033_Gi=31;OK\033\\"

static const struct terminal terminals[] = {
    {"kitty",
     KITTY_OK "\033P>|kitty(0.26.5)\033\\\033[6;20;10t\033[4;1000;800t\033[?62;c",
     {.term = "xterm-kitty"},
     GFX_KITTY,
     10,
     20,
     0,
     0,
     "kitty(0.26.5)"},
    {"WezTerm",
     KITTY_OK "\033P>|WezTerm 20230712-072601-f4abf8fd\033\\\033[6;32;16t"
              "\033[?65;4;6;18;22c",
     {.term = "xterm-256color", .term_program = "WezTerm"},
     GFX_KITTY,
     16,
     32,
     0,
     0,
     "WezTerm 20230712-072601-f4abf8fd"},
    {"Ghostty",
     KITTY_OK "\033P>|ghostty 1.0.0\033\\\033[?62;22c",
     {.term = "xterm-ghostty"},
     GFX_KITTY,
     0,
     0,
     0,
     0,
     "ghostty 1.0.0"},
    {"Konsole", KITTY_OK "\033[?62;1;4c", {.term = "xterm-256color"}, GFX_KITTY, 0, 0, 0, 0, ""},
    /* iTerm2 over ssh: TERM_PROGRAM is not forwarded, LC_TERMINAL is (SendEnv LC_*) */
    {"iTerm2",
     "\033P>|iTerm2 3.5.0\033\\\033]1337;ReportCellSize=17.0;8.0;2.0\033\\"
     "\033[?62;4c",
     {.term = "xterm-256color", .lc_terminal = "iTerm2"},
     GFX_ITERM,
     0,
     0,
     16,
     34,
     "iTerm2 3.5.0"},
    /* an older iTerm2: no XTVERSION, the BEL-ended OSC, a fractional point size */
    {"iTerm2 3.4",
     "\033]1337;ReportCellSize=16.5;7.5\a\033[?62;c",
     {.term = "xterm-256color", .term_program = "iTerm.app"},
     GFX_ITERM,
     0,
     0,
     8,
     17,
     ""},
    {"xterm -ti vt340",
     "\033P>|XTerm(379)\033\\\033[6;20;10t\033[4;480;800t"
     "\033[?63;1;2;4;6;9;15;22c",
     {.term = "xterm"},
     GFX_SIXEL,
     10,
     20,
     0,
     0,
     "XTerm(379)"},
    /* kitty's query refused (a terminal that parses it but does not draw): sixel still wins */
    {"mlterm",
     "\033_Gi=31;ENOTSUPPORTED:no graphics\033\\\033[?63;1;2;3;4;7;29c",
     {.term = "mlterm"},
     GFX_SIXEL,
     0,
     0,
     0,
     0,
     ""},
    {"GNOME Terminal (VTE, no sixel)",
     "\033P>|VTE(7600)\033\\\033[?65;1;9c",
     {.term = "xterm-256color"},
     GFX_BLOCKS,
     0,
     0,
     0,
     0,
     "VTE(7600)"},
    {"plain xterm",
     "\033P>|XTerm(379)\033\\\033[?64;1;2;6;9;15;18;21;22c",
     {.term = "xterm"},
     GFX_BLOCKS,
     0,
     0,
     0,
     0,
     "XTerm(379)"},
    /* tmux 3.4 with sixel, inside iTerm2: tmux answers, and LC_TERMINAL is the outer one's */
    {"tmux 3.4 in iTerm2",
     "\033P>|tmux 3.4\033\\\033[?1;2;4c",
     {.term = "tmux-256color", .term_program = "tmux", .lc_terminal = "iTerm2", .in_tmux = true},
     GFX_SIXEL,
     0,
     0,
     0,
     0,
     "tmux 3.4"},
    {"tmux 3.3 in kitty",
     "\033P>|tmux 3.3a\033\\\033[?1;2c",
     {.term = "screen-256color", .in_tmux = true},
     GFX_BLOCKS,
     0,
     0,
     0,
     0,
     "tmux 3.3a"},
    {"tmux 3.3, passthrough opted in",
     "\033[?1;2c",
     {.term = "screen-256color", .in_tmux = true, .passthrough = true},
     GFX_SIXEL,
     0,
     0,
     0,
     0,
     ""},
    /* a kitty reply that reached a program inside tmux (tmux forwards none): tmux would not
       pass the images on, so they are not drawn that way */
    {"kitty's reply inside tmux",
     KITTY_OK "\033[?1;2c",
     {.term = "tmux-256color", .in_tmux = true},
     GFX_BLOCKS,
     0,
     0,
     0,
     0,
     ""},
    /* "OK" must be the whole message */
    {"OKAY", "\033_Gi=31;OKAY\033\\\033[?62;c", {.term = "xterm"}, GFX_BLOCKS, 0, 0, 0, 0, ""},
    {"no reply in time", "", {.term = "xterm"}, GFX_BLOCKS, 0, 0, 0, 0, ""},
};

static void test_terminals(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof terminals / sizeof *terminals; k++) {
		const struct terminal *t = &terminals[k];
		/* the user pressed j just before DA1's reply */
		char with_key[512];
		const char *da1 = strstr(t->replies, "\033[?");
		size_t pre = da1 ? (size_t)(da1 - t->replies) : strlen(t->replies);
		snprintf(with_key, sizeof with_key, "%.*sj%s", (int)pre, t->replies,
		         t->replies + pre);
		for (size_t chunk = 1; chunk <= strlen(with_key); chunk += (chunk < 8 ? 1 : 13)) {
			struct termreply r;
			char other[64];
			parse(with_key, chunk, &r, other, sizeof other);
			char why[160];
			enum gfx_mode got = gfx_choose(&r, &t->hints, why, sizeof why);
			if (got != t->want || strcmp(other, "j") != 0)
				fail_msg("%s (chunks of %zu): %s, want %s (%s); other bytes \"%s\"",
				         t->name, chunk, gfx_mode_name(got), gfx_mode_name(t->want),
				         why, other);
			assert_int_equal(r.cell_w, t->cell_w);
			assert_int_equal(r.cell_h, t->cell_h);
			assert_int_equal(r.iterm_cell_w, t->iterm_w);
			assert_int_equal(r.iterm_cell_h, t->iterm_h);
			assert_string_equal(r.version, t->version);
			assert_int_equal(r.da1, da1 != NULL);
			assert_true(strncmp(why, gfx_mode_name(got), strlen(gfx_mode_name(got))) ==
			            0);
		}
	}
}

static void test_not_replies(void **state)
{
	(void)state;
	struct termreply r;
	char other[256];
	/* a kitty reply for another image id is someone else's; so are unknown APC, DCS and OSC
	   strings (a colour reply), which pass through whole */
	const char *s = "\033_Gi=7;OK\033\\\033P1$r0m\033\\\033]11;rgb:0000/0000/0000\a";
	parse(s, 3, &r, other, sizeof other);
	assert_false(r.kitty);
	assert_string_equal(other, s);
	/* id 31 but more keys, and an error: a reply, not OK */
	parse("\033_Gi=31,p=2;EINVAL:bad\033\\", 1, &r, other, sizeof other);
	assert_true(r.kitty);
	assert_false(r.kitty_ok);
	assert_string_equal(other, "");
	/* "i=310" is not i=31 */
	parse("\033_Gi=310;OK\033\\", 1, &r, other, sizeof other);
	assert_false(r.kitty);
	/* XTVERSION keeps printable ASCII only, and at most 63 bytes */
	parse("\033P>|ev\x01il\x9b"
	      "2J\033\\",
	      2, &r, other, sizeof other);
	assert_string_equal(r.version, "evil2J");
	char lng[200] = "\033P>|";
	for (int i = 0; i < 100; i++)
		strcat(lng, "x");
	strcat(lng, "\033\\");
	parse(lng, 5, &r, other, sizeof other);
	assert_int_equal(strlen(r.version), 63);
	/* a string that never ends (Alt-_ typed, then keys) is let go at the end, in order */
	parse("\033_abc", 1, &r, other, sizeof other);
	assert_string_equal(other, "\033_abc");
	/* longer than TERMREPLY_MAX: not waited for, its bytes are passed on */
	char huge[400] = "\033]";
	for (int i = 0; i < 300; i++)
		strcat(huge, "1");
	strcat(huge, "\a\033[?62;4c");
	parse(huge, 64, &r, other, sizeof other);
	assert_true(r.sixel);
	assert_int_equal(strlen(other), 255);
	/* ReportCellSize with garbage, a zero size, or extra fields is not a cell size */
	parse("\033]1337;ReportCellSize=abc\a\033]1337;ReportCellSize=0;8\a"
	      "\033]1337;ReportCellSize=17;8;2;9\a",
	      4, &r, other, sizeof other);
	assert_int_equal(r.iterm_cell_w, 0);
	/* sizes whose product overflowed (found by fuzz_termreply): refused, not wrapped */
	parse("\033]1337;ReportCellSize=155;655555555.5;65555111110\a", 7, &r, other, sizeof other);
	assert_int_equal(r.iterm_cell_w, 0);
	assert_int_equal(r.iterm_cell_h, 0);
	parse("\033]1337;ReportCellSize=4096;4096;16\a", 7, &r, other, sizeof other);
	assert_int_equal(r.iterm_cell_w, 65536);
	/* an ESC inside a string that does not end it: the sequence is broken, not a reply */
	parse("\033P>|ab\033xy\033\\", 1, &r, other, sizeof other);
	assert_string_equal(r.version, "");
}

static void test_mode_names(void **state)
{
	(void)state;
	const char *names[] = {"none", "blocks", "sixel", "kitty", "iterm"};
	for (size_t k = 0; k < 5; k++) {
		enum gfx_mode m;
		assert_int_equal(gfx_mode_parse(names[k], &m), 0);
		assert_string_equal(gfx_mode_name(m), names[k]);
		assert_int_equal(gfx_mode_is_pixels(m), k >= 2);
	}
	enum gfx_mode m;
	assert_int_equal(gfx_mode_parse("iterm2", &m), -1);
	assert_int_equal(gfx_mode_parse("Kitty", &m), -1);
	assert_int_equal(gfx_mode_parse("", &m), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_terminals),
	    cmocka_unit_test(test_not_replies),
	    cmocka_unit_test(test_mode_names),
	};
	return cmocka_run_group_tests_name("termgfx", tests, NULL, NULL);
}
