/* preview.c — `nncmp preview`: one instance's image on stdout as sixel, kitty's graphics
   protocol, an iTerm2 inline image or coloured half-blocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nncmp/termgfx.h"

static const char preview_help[] =
    "usage: nncmp preview STUDY --index I [--graphics sixel|kitty|iterm|blocks] [--width PX]\n"
    "\n"
    "Writes the image of instance I (its \"image\" field in samples.jsonl, relative to the\n"
    "study) to stdout: as sixel, with kitty's graphics protocol, as an iTerm2 inline image, or\n"
    "as Unicode half-blocks in colour (ASCII shades when the locale is not UTF-8; 24-bit colour\n"
    "when COLORTERM is truecolor or 24bit, else the xterm 256-colour palette). The default is\n"
    "what the terminal on stdout answers it draws (kitty, then iTerm2, then sixel), else blocks;\n"
    "piped, blocks.\n"
    "\n"
    "  --index I         the instance (0-based, file order)\n"
    "  --graphics MODE   sixel, kitty, iterm or blocks\n"
    "  --width PX        the width in pixels (default 256); blocks take one column per 8 px.\n"
    "                    Small images are enlarged by a whole factor (nearest neighbour), large\n"
    "                    ones reduced; the aspect ratio is kept\n"
    "  --help            this text\n"
    "\n"
    "Exit status 2 when the study has no images, or the image is missing or unreadable.\n";

static bool truecolor(void)
{
	const char *ct = getenv("COLORTERM");
	return ct && (strcmp(ct, "truecolor") == 0 || strcmp(ct, "24bit") == 0);
}

int cmd_preview(int argc, char **argv)
{
	const char *study_path, *mode_arg = NULL;
	long index = -1, width = 256;
	const struct cli_opt opts[] = {
	    CLI_OPT_INDEX(&index),
	    {.name = "graphics", .letter = 'g', .type = CLI_STR, .dest = &mode_arg},
	    {.name = "width",
	     .letter = 'w',
	     .type = CLI_LONG,
	     .dest = &width,
	     .want = "pixels, from 8 to 4096",
	     .min = 8,
	     .max = 4096},
	    CLI_OPT_END};
	int prc = cli_parse_args("preview", preview_help, opts, argc, argv, &study_path);
	if (prc >= 0)
		return prc;
	if (index < 0)
		return cli_usage_error("preview", "--index I is required");
	enum gfx_mode mode = GFX_BLOCKS;
	if (mode_arg && (gfx_mode_parse(mode_arg, &mode) != 0 || mode == GFX_NONE))
		return cli_usage_error("preview", "--graphics wants sixel, kitty, iterm or blocks");

	struct study *s = cli_open_study(study_path);
	if (!s)
		return EXIT_BAD_INPUT;
	int rc = EXIT_OK;
	struct nn_err err = {{0}};
	char *path = NULL;
	struct image src = {0}, fit = {0};
	if ((size_t)index >= s->n) {
		rc = cli_usage_error("preview", "--index %ld: the study has %zu instance%s", index,
		                     s->n, cli_plural(s->n));
		goto out;
	}
	if (!(path = image_path(s, (size_t)index, &err)) || image_load(path, &src, &err) != 0) {
		rc = cli_input_error("preview", err.msg);
		goto out;
	}
	/* kitty and iTerm2 images are laid out in cells: their size comes from the probe too */
	struct gfx_term t = {.cell_w = 10, .cell_h = 20};
	if (!mode_arg || mode == GFX_KITTY || mode == GFX_ITERM) {
		gfx_probe(mode_arg, false, &t);
		if (!mode_arg)
			mode = t.mode == GFX_NONE ? GFX_BLOCKS : t.mode;
	}
	if (mode == GFX_KITTY || mode == GFX_ITERM) {
		image_fit(&src, (int)width, (int)width * 8, &fit);
		int cols = (fit.w + t.cell_w - 1) / t.cell_w,
		    rows = (fit.h + t.cell_h - 1) / t.cell_h;
		char *seq;
		size_t len;
		int erc = mode == GFX_KITTY
		              ? image_kitty(&fit, cols, rows, t.cell_w, t.cell_h, &seq, &len, &err)
		              : image_iterm(&fit, cols, rows, t.cell_w, t.cell_h, &seq, &len, &err);
		if (erc != 0) {
			rc = cli_input_error("preview", err.msg);
			goto out;
		}
		if (t.tmux_passthrough) {
			size_t wlen;
			char *w = image_tmux_wrap(seq, len, &wlen);
			free(seq);
			seq = w;
			len = wlen;
		}
		fwrite(seq, 1, len, stdout);
		/* kitty's placement keeps the cursor: the next line is below the image */
		for (int r = 0; r < (mode == GFX_KITTY ? rows : 1); r++)
			fputc('\n', stdout);
		free(seq);
	} else if (mode == GFX_SIXEL) {
		/* no height limit beyond a generous one: the width decides */
		image_fit(&src, (int)width, (int)width * 8, &fit);
		char *six;
		size_t len;
		if (image_sixel(&fit, &six, &len, &err) != 0) {
			rc = cli_input_error("preview", err.msg);
			goto out;
		}
		const char *tmux = getenv("TMUX");
		const char *pt = getenv("NNCMP_TMUX_PASSTHROUGH");
		if (tmux && *tmux && pt && strcmp(pt, "1") == 0) {
			size_t wlen;
			char *w = image_tmux_wrap(six, len, &wlen);
			free(six);
			six = w;
			len = wlen;
		}
		fwrite(six, 1, len, stdout);
		fputc('\n', stdout);
		free(six);
	} else {
		int cols = (int)(width / 8);
		image_fit(&src, cols, cols * 8, &fit);
		char *text =
		    image_ansi(&fit, truecolor() ? IMAGE_TRUECOLOR : IMAGE_256, cli_utf8());
		fputs(text, stdout);
		free(text);
	}
	if (fflush(stdout) != 0)
		rc = EXIT_INTERNAL;
out:
	image_free(&fit);
	image_free(&src);
	free(path);
	study_free(s);
	return rc;
}
