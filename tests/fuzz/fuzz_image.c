/*
 * fuzz_image.c — image decoding (the header size check and libsixel's loader) and everything
 * done with a decoded image: fitting into boxes, half-block cells, ANSI and sixel renderings.
 * The input is written to a file, since the loader reads files; its first byte picks a box.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nncmp/termgfx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!path[0]) {
		snprintf(path, sizeof path, "/tmp/nncmp-fuzz-image-%ld", (long)getpid());
	}
	int box = 1 + data[0] % 48;
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data + 1, 1, size - 1, f);
	fclose(f);
	struct image img;
	struct nn_err err;
	if (image_load(path, &img, &err) == 0) {
		if (img.w <= 0 || img.h <= 0 || (long long)img.w * img.h > IMAGE_MAX_PIXELS)
			abort();
		int sizes[3][2] = {{box, box}, {box * 3, box}, {1, box * 2}};
		for (int k = 0; k < 3; k++) {
			struct image fit;
			if (image_fit(&img, sizes[k][0], sizes[k][1], &fit) != 0)
				abort();
			if (fit.w < 1 || fit.h < 1 || fit.w > sizes[k][0] || fit.h > sizes[k][1])
				abort();
			uint8_t up[3], lo[3];
			for (int r = 0; r < (fit.h + 1) / 2; r++)
				image_cell(&fit, r, fit.w - 1, up, lo);
			char *a = image_ansi(&fit, k ? IMAGE_256 : IMAGE_TRUECOLOR, k != 2);
			free(a);
			if (k == 0) {
				char *six = NULL;
				size_t len;
				if (image_sixel(&fit, &six, &len, &err) == 0)
					free(six);
			}
			image_free(&fit);
		}
		image_free(&img);
	}
	unlink(path);
	return 0;
}
