/* test_image.c — image loading, scaling, the half-block grid and sixel encoding, against pixels
   decoded by PIL (tests/data/images/make.py wrote them beside each fixture as NAME.rgb). */
#include "testutil.h"

#include "nncmp/termgfx.h"
#include "nncmp/study.h"

#define DIR "tests/data/images/"

/* Reads an oracle NAME.rgb: width, height (uint32 LE) and the RGB bytes. */
static struct image oracle(const char *name)
{
	char path[256];
	snprintf(path, sizeof path, DIR "%s.rgb", name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t hdr[8];
	assert_int_equal(fread(hdr, 1, 8, f), 8);
	struct image im;
	im.w = (int)(hdr[0] | hdr[1] << 8 | hdr[2] << 16 | (uint32_t)hdr[3] << 24);
	im.h = (int)(hdr[4] | hdr[5] << 8 | hdr[6] << 16 | (uint32_t)hdr[7] << 24);
	size_t n = (size_t)im.w * im.h * 3;
	im.rgb = malloc(n);
	assert_int_equal(fread(im.rgb, 1, n, f), n);
	fclose(f);
	return im;
}

/* Asserts a and b have the same size and every channel within tol. */
static void same_pixels(const struct image *a, const struct image *b, int tol, const char *what)
{
	assert_int_equal(a->w, b->w);
	assert_int_equal(a->h, b->h);
	for (size_t i = 0; i < (size_t)a->w * a->h * 3; i++) {
		int d = abs(a->rgb[i] - b->rgb[i]);
		if (d > tol)
			fail_msg("%s: byte %zu is %d, PIL says %d", what, i, a->rgb[i], b->rgb[i]);
	}
}

static void check_file(const char *name, int tol)
{
	char path[256];
	snprintf(path, sizeof path, DIR "%s", name);
	struct nn_err err = {{0}};
	struct image im;
	if (image_load(path, &im, &err) != 0)
		fail_msg("%s: %s", name, err.msg);
	struct image want = oracle(name);
	same_pixels(&im, &want, tol, name);
	image_free(&im);
	free(want.rgb);
}

static void test_load_formats(void **state)
{
	(void)state;
	check_file("grey.png", 0);
	check_file("rgb.png", 0);
	check_file("pal.png", 0);
	check_file("bw.png", 0);
	check_file("digit.png", 0);
	check_file("anim.gif", 0);
	/* libsixel's loader drops a PNG's alpha channel (the oracle does the same) */
	check_file("rgba.png", 0);
	/* two JPEG decoders (stb_image in libsixel, libjpeg in PIL) */
	check_file("photo.jpg", 6);
}

static void expect_error(const char *path, const char *needle)
{
	struct nn_err err = {{0}};
	struct image im = {1, 1, NULL};
	assert_int_equal(image_load(path, &im, &err), -1);
	assert_null(im.rgb);
	if (!strstr(err.msg, needle) || !strstr(err.msg, path))
		fail_msg("%s: message '%s' lacks '%s' or the path", path, err.msg, needle);
}

static void test_load_errors(void **state)
{
	(void)state;
	expect_error(DIR "missing.png", "no such file");
	/* refused before libsixel sees it: its image data stream is cut short */
	expect_error(DIR "truncated.png", "a PNG whose image data is truncated or corrupt");
	expect_error(DIR "text.png", "not an image libsixel can read");
	/* found by fuzz_image: 19 bytes libsixel took for a TGA, allocating 150 MB and leaking it
	   (ASan's leak check caught it); no signature, so it never reaches libsixel now */
	expect_error(DIR "tga-like.bin", "not an image libsixel can read");
	expect_error(DIR "empty.png", "empty file");
	expect_error("tests/data/images", "not a regular file");
	/* "-" would be stdin for libsixel: it is a missing file here */
	expect_error("-", "no such file");
}

static void test_fit(void **state)
{
	(void)state;
	struct nn_err err = {{0}};
	struct image digit, out;
	assert_int_equal(image_load(DIR "digit.png", &digit, &err), 0);
	/* 8x8 in 44 x 100: enlarged 5x, nearest neighbour */
	assert_int_equal(image_fit(&digit, 44, 100, &out), 0);
	struct image want = oracle("digit.png.x5");
	same_pixels(&out, &want, 0, "digit x5");
	image_free(&out);
	free(want.rgb);
	/* a box exactly its size: unchanged */
	assert_int_equal(image_fit(&digit, 8, 8, &out), 0);
	same_pixels(&out, &digit, 0, "digit x1");
	image_free(&out);
	image_free(&digit);
	assert_int_equal(image_fit(&digit, 8, 8, &out), -1); /* freed: empty */

	struct image wide;
	assert_int_equal(image_load(DIR "wide.png", &wide, &err), 0);
	assert_int_equal(wide.w, 600);
	assert_int_equal(wide.h, 300);
	/* 600x300 into 200 x 150: reduced 3x by area averaging, aspect kept */
	assert_int_equal(image_fit(&wide, 200, 150, &out), 0);
	want = oracle("wide.png.box200");
	same_pixels(&out, &want, 1, "wide / 3");
	image_free(&out);
	free(want.rgb);
	/* a tall narrow box: the width decides, aspect kept */
	assert_int_equal(image_fit(&wide, 60, 1000, &out), 0);
	assert_int_equal(out.w, 60);
	assert_int_equal(out.h, 30);
	image_free(&out);
	assert_int_equal(image_fit(&wide, 0, 10, &out), -1);
	image_free(&wide);
}

static void test_cells(void **state)
{
	(void)state;
	struct nn_err err = {{0}};
	struct image im;
	assert_int_equal(image_load(DIR "grey.png", &im, &err), 0); /* 5 x 3: odd height */
	struct image want = oracle("grey.png");
	for (int r = 0; r < 2; r++)
		for (int c = 0; c < 5; c++) {
			uint8_t up[3], lo[3] = {1, 2, 3};
			int n = image_cell(&im, r, c, up, lo);
			assert_memory_equal(up, want.rgb + ((2 * r) * 5 + c) * 3, 3);
			if (r == 0) {
				assert_int_equal(n, 2);
				assert_memory_equal(lo, want.rgb + ((2 * r + 1) * 5 + c) * 3, 3);
			} else {
				assert_int_equal(n, 1);
			}
		}
	/* the ANSI rendering: 2 lines of 5 half-blocks with exactly these colours */
	char *text = image_ansi(&im, IMAGE_TRUECOLOR, true);
	int lines = 0, cells = 0;
	for (const char *p = text; (p = strstr(p, "\033[38;2;")); p++) {
		int r, g, b;
		assert_int_equal(sscanf(p, "\033[38;2;%d;%d;%dm", &r, &g, &b), 3);
		const uint8_t *px = want.rgb + ((cells / 5 * 2) * 5 + cells % 5) * 3;
		assert_int_equal(r, px[0]);
		assert_int_equal(g, px[1]);
		assert_int_equal(b, px[2]);
		cells++;
	}
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	assert_int_equal(cells, 10);
	assert_int_equal(lines, 2);
	free(text);
	image_free(&im);
	free(want.rgb);
}

/* xterm's palette as xterm's 256colres.pl defines it, searched exhaustively. */
static void test_xterm256(void **state)
{
	(void)state;
	static const int level[6] = {0, 0x5f, 0x87, 0xaf, 0xd7, 0xff};
	uint8_t pal[256][3];
	for (int i = 16; i < 232; i++) {
		pal[i][0] = (uint8_t)level[(i - 16) / 36];
		pal[i][1] = (uint8_t)level[(i - 16) / 6 % 6];
		pal[i][2] = (uint8_t)level[(i - 16) % 6];
	}
	for (int i = 232; i < 256; i++)
		pal[i][0] = pal[i][1] = pal[i][2] = (uint8_t)(8 + 10 * (i - 232));
	for (int i = 16; i < 256; i++) {
		uint8_t back[3];
		image_xterm256_rgb(i, back);
		assert_memory_equal(back, pal[i], 3);
	}
	for (int r = 0; r < 256; r += 17)
		for (int g = 0; g < 256; g += 15)
			for (int b = 0; b < 256; b += 51) {
				uint8_t c[3] = {(uint8_t)r, (uint8_t)g, (uint8_t)b};
				int best = 1 << 30;
				for (int i = 16; i < 256; i++) {
					int d = (r - pal[i][0]) * (r - pal[i][0]) +
					        (g - pal[i][1]) * (g - pal[i][1]) +
					        (b - pal[i][2]) * (b - pal[i][2]);
					best = d < best ? d : best;
				}
				int k = image_xterm256(c);
				int d = (r - pal[k][0]) * (r - pal[k][0]) +
				        (g - pal[k][1]) * (g - pal[k][1]) +
				        (b - pal[k][2]) * (b - pal[k][2]);
				/* the cube's nearest level per channel is not always the nearest of
				   all 240: allow a small excess */
				if (d > best * 2 + 64)
					fail_msg("(%d,%d,%d) -> %d at %d, best %d", r, g, b, k, d,
					         best);
			}
	uint8_t black[3] = {0, 0, 0}, white[3] = {255, 255, 255};
	assert_int_equal(image_shade(black), ' ');
	assert_int_equal(image_shade(white), '@');
}

static void test_sixel_and_wrap(void **state)
{
	(void)state;
	struct nn_err err = {{0}};
	struct image im;
	assert_int_equal(image_load(DIR "pal.png", &im, &err), 0);
	char *six;
	size_t len;
	assert_int_equal(image_sixel(&im, &six, &len, &err), 0);
	assert_true(len > 10);
	assert_int_equal(strlen(six), len);
	assert_memory_equal(six, "\033P", 2);
	assert_memory_equal(six + len - 2, "\033\\", 2);
	size_t wlen;
	char *w = image_tmux_wrap(six, len, &wlen);
	assert_memory_equal(w, "\033Ptmux;\033\033P", 10);
	size_t escs = 0;
	for (size_t i = 0; i < len; i++)
		escs += six[i] == '\033';
	assert_int_equal(wlen, len + escs + 7 + 2);
	free(w);
	free(six);
	image_free(&im);
}

static void test_path(void **state)
{
	(void)state;
	struct nn_err err = {{0}};
	struct study *s = study_open("demo-data/digits", &err);
	assert_non_null(s);
	char *p = image_path(s, 0, &err);
	assert_non_null(p);
	assert_string_equal(p, "demo-data/digits/images/00000.png");
	free(p);
	assert_null(image_path(s, s->n, &err));
	char *saved = s->images[1];
	s->images[1] = (char *)"../outside.png";
	assert_null(image_path(s, 1, &err));
	assert_non_null(strstr(err.msg, "leaves the study"));
	s->images[1] = (char *)"/etc/passwd";
	assert_null(image_path(s, 1, &err));
	s->images[1] = saved;
	study_free(s);
	s = study_open("demo-data/fortunes", &err);
	assert_non_null(s);
	assert_null(image_path(s, 0, &err));
	assert_non_null(strstr(err.msg, "no images"));
	study_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_formats), cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_fit),          cmocka_unit_test(test_cells),
	    cmocka_unit_test(test_xterm256),     cmocka_unit_test(test_sixel_and_wrap),
	    cmocka_unit_test(test_path),
	};
	return cmocka_run_group_tests_name("image", tests, NULL, NULL);
}
