/*
 * test_overlay.c — overlay.h: the bilinear upsampling against torch's
 * interpolate(mode="bilinear", align_corners=False) (equal to skimage's resize(order=1,
 * mode="edge") to 2e-16), the heat blend against the same computed in NumPy/torch, and the box
 * outline pixel by pixel. The expected values were computed with Debian's python3-torch when the
 * test was written (seeds 3 and 5 of numpy.random).
 */
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/overlay.h"

static const double in34[12] = {0.5507979025745755,  0.70814782261810483,  0.29090473891294433,
                                0.51082760519766301, 0.8929469543476547,   0.89629308893343806,
                                0.12558531046383625, 0.20724287813818676,  0.051467203300829878,
                                0.44080984365063647, 0.029876210878566956, 0.45683322439471108};
static const double up7x10[70] = {
    0.5507979025745755,   0.56653289457892841,  0.62947286259634017,  0.69241283061375192,
    0.58297489750655662,  0.41607766402449242,  0.31289702554141624,  0.40086617205530367,
    0.48883531856919121,  0.51082760519766301,  0.59967633854215829,  0.61321127646854334,
    0.66735102817408387,  0.7214907798796244,   0.59470430577598532,  0.407609089735953,
    0.28730474578282411,  0.36737301809040479,  0.44744129039798564,  0.46745835847488076,
    0.74631164644490644,  0.75324642213738824,  0.7809855249073151,   0.80872462767724207,
    0.62989253058427142,  0.38220336687033485,  0.21052790650704772,  0.26689355619570815,
    0.32325920588436868,  0.33735061830653373,  0.8929469543476547,   0.89328156780623302,
    0.89462002164054633,  0.89595847547485974,  0.66508075539255751,  0.35679764400471664,
    0.13375106723127134,  0.16641409430101153,  0.19907712137075176,  0.20724287813818676,
    0.53231277532758703,  0.54919009617605208,  0.61669937956991216,  0.68420866296377247,
    0.51613032614675391,  0.26952278259277573,  0.10753142937366138,  0.19938864715913757,
    0.29124586494461385,  0.31421016939098284,  0.17167859630751928,  0.20509862454587102,
    0.338778737499278,    0.47245885045268504,  0.36717989690095021,  0.18224792118083474,
    0.081311791516051404, 0.23236320001726365,  0.38341460851847603,  0.42117746064377898,
    0.051467203300829878, 0.090401467335810545, 0.24613852347573317,  0.4018755796156559,
    0.3175297538190156,   0.15315630071018774,  0.072571912230181404, 0.24335471763663902,
    0.41413752304309687,  0.45683322439471108};
static const double down2x3[6] = {0.65614332779769413, 0.50237951049880269, 0.40403866649410614,
                                  0.31064439338066951, 0.30424207037311063, 0.33766361248796395};
static const uint8_t blend_img[60] = {99,  206, 239, 189, 230, 118, 144, 73,  8,   228, 231, 190,
                                      155, 112, 158, 208, 7,   204, 143, 113, 181, 231, 80,  27,
                                      44,  205, 203, 65,  175, 30,  212, 86,  125, 146, 254, 121,
                                      137, 106, 41,  233, 190, 129, 210, 103, 144, 206, 5,   58,
                                      0,   208, 132, 110, 164, 105, 179, 27,  31,  2,   68,  38};
static const double blend_map[6] = {0.048613123258973934, 0.40911109275990132,  1.399687228253115,
                                    1.5590291711110595,   0.045866184878162963, 1.1553257162595121};
static const uint8_t blend_out[60] = {45,  93,  195, 85,  103, 193, 65,  110, 144, 243, 234, 85,
                                      197, 50,  71,  94,  86,  232, 64,  119, 222, 104, 81,  152,
                                      144, 233, 107, 170, 88,  13,  236, 105, 56,  130, 255, 130,
                                      62,  48,  138, 177, 226, 126, 235, 100, 65,  163, 2,   26,
                                      133, 234, 67,  49,  74,  134, 126, 152, 109, 141, 106, 17};

static void test_bilinear(void **state)
{
	(void)state;
	double out[70];
	overlay_bilinear(in34, 3, 4, 7, 10, out);
	for (int k = 0; k < 70; k++)
		assert_float_equal(out[k], up7x10[k], 1e-12);
	/* the same size is the identity; a smaller size is torch's too (no antialiasing) */
	overlay_bilinear(in34, 3, 4, 3, 4, out);
	for (int k = 0; k < 12; k++)
		assert_float_equal(out[k], in34[k], 1e-15);
	overlay_bilinear(in34, 3, 4, 2, 3, out);
	for (int k = 0; k < 6; k++)
		assert_float_equal(out[k], down2x3[k], 1e-12);
	/* a 1 x 1 map fills everything */
	const double one = 0.25;
	overlay_bilinear(&one, 1, 1, 2, 3, out);
	for (int k = 0; k < 6; k++)
		assert_float_equal(out[k], 0.25, 0);
}

static void test_heat(void **state)
{
	(void)state;
	uint8_t c[3];
	overlay_heat(0, c); /* dark blue */
	assert_int_equal(c[0], 0);
	assert_int_equal(c[1], 0);
	assert_int_equal(c[2], 128);
	overlay_heat(1, c); /* dark red */
	assert_int_equal(c[0], 128);
	assert_int_equal(c[1], 0);
	assert_int_equal(c[2], 0);
	overlay_heat(0.5, c); /* green */
	assert_int_equal(c[0], 128);
	assert_int_equal(c[1], 255);
	assert_int_equal(c[2], 128);
	uint8_t n[3];
	overlay_heat(NAN, n);
	overlay_heat(0, c);
	assert_memory_equal(n, c, 3);
	overlay_heat(7, n);
	overlay_heat(1, c);
	assert_memory_equal(n, c, 3);
}

static void test_blend(void **state)
{
	(void)state;
	struct image img = {.w = 5, .h = 4, .rgb = malloc(60)};
	memcpy(img.rgb, blend_img, 60);
	overlay_blend(&img, blend_map, 2, 3);
	for (int k = 0; k < 60; k++)
		assert_int_equal(img.rgb[k], blend_out[k]);
	image_free(&img);
}

static void test_box(void **state)
{
	(void)state;
	struct image img = {.w = 8, .h = 6, .rgb = calloc(8 * 6, 3)};
	const uint8_t red[3] = {255, 0, 0};
	/* x 2..5, y 3..4: the cell (1, 1) of a 3 x 4 grid on 8 x 6 pixels is x 2..3, y 2..3 */
	const double frac[4] = {0.25, 0.5, 0.75, 5.0 / 6};
	overlay_box(&img, frac, 1, red);
	static const char want[6][9] = {"........", "........", "........",
	                                "..####..", "..####..", "........"};
	for (int y = 0; y < 6; y++)
		for (int x = 0; x < 8; x++) {
			const uint8_t *p = &img.rgb[(y * 8 + x) * 3];
			bool on = p[0] == 255 && p[1] == 0 && p[2] == 0;
			bool off = p[0] == 0 && p[1] == 0 && p[2] == 0;
			assert_true(want[y][x] == '#' ? on : off);
		}
	/* a bigger box keeps its inside: only the border is drawn */
	memset(img.rgb, 0, 8 * 6 * 3);
	const double all[4] = {0, 0, 1, 1};
	overlay_box(&img, all, 1, red);
	for (int y = 0; y < 6; y++)
		for (int x = 0; x < 8; x++) {
			bool border = x == 0 || y == 0 || x == 7 || y == 5;
			assert_int_equal(img.rgb[(y * 8 + x) * 3], border ? 255 : 0);
		}
	/* an empty box still marks one pixel, and a box off the image is clipped */
	memset(img.rgb, 0, 8 * 6 * 3);
	const double dot[4] = {0.5, 0.5, 0.5, 0.5};
	overlay_box(&img, dot, 2, red);
	int lit = 0;
	for (int k = 0; k < 48; k++)
		lit += img.rgb[k * 3] == 255;
	assert_int_equal(lit, 1);
	assert_int_equal(img.rgb[(3 * 8 + 4) * 3], 255);
	image_free(&img);
}

static void test_tint(void **state)
{
	(void)state;
	struct image img = {.w = 4, .h = 2, .rgb = malloc(4 * 2 * 3)};
	memset(img.rgb, 100, 4 * 2 * 3);
	const uint8_t red[3] = {255, 0, 0};
	/* x 2..3, y 1: 0.6 of red over grey 100 is (193, 40, 40) (0.4·100 + 0.6·255 = 193) */
	const double frac[4] = {0.5, 0.5, 1, 1};
	overlay_tint(&img, frac, 0.6, red);
	for (int y = 0; y < 2; y++)
		for (int x = 0; x < 4; x++) {
			const uint8_t *p = &img.rgb[(y * 4 + x) * 3];
			bool in = y == 1 && x >= 2;
			assert_int_equal(p[0], in ? 193 : 100);
			assert_int_equal(p[1], in ? 40 : 100);
			assert_int_equal(p[2], in ? 40 : 100);
		}
	image_free(&img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bilinear), cmocka_unit_test(test_heat),
	    cmocka_unit_test(test_blend),    cmocka_unit_test(test_box),
	    cmocka_unit_test(test_tint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
