/*
 * test_theme_colour.c — the colour arithmetic themes use (colour.h): "#rrggbb" parsing, xterm's
 * 256-colour palette against the published values, and the nearest palette entry against a NumPy
 * brute force over the palette as xterm's 256colres.pl defines it.
 */
#include "testutil.h"

#include "nncmp/colour.h"

static void test_parse_hex(void **state)
{
	(void)state;
	uint32_t v = 0;
	assert_int_equal(colour_parse_hex("#ff8700", &v), 0);
	assert_int_equal(v, 0xff8700);
	assert_int_equal(colour_parse_hex("#00AAbb", &v), 0);
	assert_int_equal(v, 0x00aabb);
	assert_int_equal(colour_parse_hex("#000000", &v), 0);
	assert_int_equal(v, 0);
	const char *bad[] = {"",        "#",        "#fff",     "ff8700",   "#ff87000",
	                     "#ff870",  "#gg0000",  "# ff8700", "#ff8700 ", "#-12345",
	                     "#0x1234", "##ff8700", "#ff 700"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (colour_parse_hex(bad[i], &v) != -1)
			fail_msg("'%s' parsed", bad[i]);
	assert_int_equal(colour_parse_hex(NULL, &v), -1);
}

/* Values from the xterm 256-colour chart (e.g. the table on Wikipedia's "ANSI escape code"). */
static void test_palette_chart(void **state)
{
	(void)state;
	static const struct {
		int index;
		uint32_t rgb;
	} chart[] = {{0, 0x000000},   {1, 0xcd0000},   {7, 0xe5e5e5},   {8, 0x7f7f7f},
	             {12, 0x5c5cff},  {15, 0xffffff},  {16, 0x000000},  {21, 0x0000ff},
	             {24, 0x005f87},  {75, 0x5fafff},  {196, 0xff0000}, {208, 0xff8700},
	             {214, 0xffaf00}, {231, 0xffffff}, {232, 0x080808}, {244, 0x808080},
	             {250, 0xbcbcbc}, {255, 0xeeeeee}};
	for (size_t i = 0; i < sizeof chart / sizeof *chart; i++)
		if (colour_index_rgb(chart[i].index) != chart[i].rgb)
			fail_msg("index %d: %06x, want %06x", chart[i].index,
			         (unsigned)colour_index_rgb(chart[i].index),
			         (unsigned)chart[i].rgb);
	assert_int_equal(colour_index_rgb(-1), 0);
	assert_int_equal(colour_index_rgb(256), 0);
}

/* The palette is its own nearest colour: every cube/grey entry maps to itself (or to the lower
 * index holding the same value), every basic colour on an 8-colour terminal too. */
static void test_nearest_fixed_points(void **state)
{
	(void)state;
	for (int i = 16; i < 256; i++) {
		int got = colour_nearest(colour_index_rgb(i), 256);
		assert_int_equal(colour_index_rgb(got), colour_index_rgb(i));
		assert_true(got >= 16 && got <= i);
	}
	for (int i = 0; i < 8; i++)
		assert_int_equal(colour_nearest(colour_index_rgb(i), 8), i);
	for (int i = 0; i < 16; i++)
		assert_int_equal(colour_nearest(colour_index_rgb(i), 16), i);
	/* never an index the terminal lacks */
	for (int n = 0; n <= 300; n++) {
		int got = colour_nearest(0x123456, n);
		assert_true(got >= 0 && got < (n < 1 ? 1 : n));
	}
}

#define ORACLE_PY                                                                                  \
	"import numpy as np\n"                                                                     \
	"a16 = ['000000','cd0000','00cd00','cdcd00','0000ee','cd00cd','00cdcd','e5e5e5',"          \
	"'7f7f7f','ff0000','00ff00','ffff00','5c5cff','ff00ff','00ffff','ffffff']\n"               \
	"pal = [[int(h[i:i+2], 16) for i in (0, 2, 4)] for h in a16]\n"                            \
	"lv = lambda c: 0 if c == 0 else c * 40 + 55\n"                                            \
	"pal += [[lv(r), lv(g), lv(b)] for r in range(6) for g in range(6) for b in range(6)]\n"   \
	"pal += [[8 + 10 * i] * 3 for i in range(24)]\n"                                           \
	"pal = np.array(pal, dtype=np.int64)\n"                                                    \
	"rng = np.random.default_rng(7)\n"                                                         \
	"cols = list(rng.integers(0, 1 << 24, 3000)) + [0, 0xffffff, 0x808080, 0xff8700, "         \
	"0x7f7f7f, 0x5f5f5f, 0x010203, 0xfefefe, 0x767676, 0x4e4e4e]\n"                            \
	"for c in cols:\n"                                                                         \
	"    v = np.array([c >> 16 & 255, c >> 8 & 255, c & 255])\n"                               \
	"    d = ((pal - v) ** 2).sum(axis=1)\n"                                                   \
	"    for n, lo, hi in ((8, 0, 8), (16, 0, 16), (256, 16, 256)):\n"                         \
	"        print(int(c), n, lo + int(np.argmin(d[lo:hi])))\n"

static void test_nearest_numpy(void **state)
{
	(void)state;
	const char *path = "/tmp/nncmp-test-colour-oracle.py";
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(ORACLE_PY, f);
	fclose(f);
	FILE *p = popen("/usr/bin/python3 /tmp/nncmp-test-colour-oracle.py", "r");
	assert_non_null(p);
	unsigned long c;
	int n, want, lines = 0;
	while (fscanf(p, "%lu %d %d", &c, &n, &want) == 3) {
		int got = colour_nearest((uint32_t)c, n);
		if (got != want)
			fail_msg("#%06lx with %d colours: %d, NumPy says %d", c, n, got, want);
		lines++;
	}
	int rc = pclose(p);
	unlink(path);
	assert_int_equal(rc, 0);
	assert_int_equal(lines, 3010 * 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_hex),
	    cmocka_unit_test(test_palette_chart),
	    cmocka_unit_test(test_nearest_fixed_points),
	    cmocka_unit_test(test_nearest_numpy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
