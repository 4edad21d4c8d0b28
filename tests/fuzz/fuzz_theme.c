/*
 * fuzz_theme.c — the theme loader (theme_load: inih plus our role, colour and attribute parsing)
 * on arbitrary files. Each input is written to a file in a private directory and loaded by path,
 * on one of four curses screens made with newterm on /dev/null (direct colour, 256 colours, 8
 * colours, none; the input's length picks), so that the colour mapping runs too. A failed load must
 * leave a one-line message; every role must still have an attribute afterwards.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/tui/tui_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fuzz-theme-XXXXXX", path[64];
static SCREEN *screens[4];
static int n_screens;

/* Removes the private directory when the fuzzer exits. */
static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

static void setup(void)
{
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	snprintf(path, sizeof path, "%s/theme.ini", dir);
	static const char *const terms[] = {"xterm-direct", "xterm-256color", "xterm", "vt100"};
	for (size_t i = 0; i < 4; i++) {
		FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
		SCREEN *s = out && in ? newterm(terms[i], out, in) : NULL;
		if (s)
			screens[n_screens++] = s; /* kept for the life of the process */
		else {
			if (out)
				fclose(out);
			if (in)
				fclose(in);
		}
	}
	if (n_screens == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!path[0])
		setup();
	set_term(screens[size % (size_t)n_screens]);
	FILE *f = fopen(path, "wb");
	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	struct nn_err err = {{0}};
	if (theme_load(path, &err) != 0) {
		if (!err.msg[0] || memchr(err.msg, '\n', strlen(err.msg)))
			abort(); /* a failure says what went wrong, on one line */
		theme_default();
	}
	volatile attr_t sink = 0;
	for (int r = 0; r < ROLE_COUNT; r++)
		sink |= role_attr((enum role)r);
	(void)sink;
	if (strlen(theme_name()) >= 64)
		abort();
	return 0;
}
