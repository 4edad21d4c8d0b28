/* probe.c — asking the terminal, before curses starts, whether it draws sixel and how large a
   cell is in pixels. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "gfx.h"
#include "nncmp/termreply.h"
#include "nncmp/util.h"

#define CELL_W_DEFAULT 10
#define CELL_H_DEFAULT 20

int gfx_mode_parse(const char *s, enum gfx_mode *mode)
{
	if (strcmp(s, "sixel") == 0)
		*mode = GFX_SIXEL;
	else if (strcmp(s, "blocks") == 0)
		*mode = GFX_BLOCKS;
	else if (strcmp(s, "none") == 0)
		*mode = GFX_NONE;
	else
		return -1;
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * Sends the queries on fd and reads replies until DA1's (which every terminal sends, and sends
 * last, since it answers in order) or until timeout_ms. Returns what the replies said; the
 * bytes that were not replies go to t->pending.
 */
static struct termreply ask(int fd, bool want_cell, long timeout_ms, struct gfx_term *t)
{
	struct termreply r = {0};
	struct termios saved, raw;
	if (tcgetattr(fd, &saved) != 0)
		return r;
	raw = saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSANOW, &raw) != 0)
		return r;
	const char *ask = want_cell ? "\033[16t\033[14t\033[c" : "\033[c";
	(void)write_all(fd, ask, strlen(ask));

	uint8_t buf[512];
	size_t have = 0;
	long deadline = now_ms() + timeout_ms;
	while (!r.da1) {
		long left = deadline - now_ms();
		if (left <= 0)
			break;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int pr = poll(&p, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		if (have == sizeof buf) /* a tail that never completes: let it go */
			have = 0;
		ssize_t n = read(fd, buf + have, sizeof buf - have);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		size_t used = termreply_parse(buf, have, false, &r, t->pending, sizeof t->pending,
		                              &t->n_pending);
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	termreply_parse(buf, have, true, &r, t->pending, sizeof t->pending, &t->n_pending);
	tcsetattr(fd, TCSANOW, &saved);
	return r;
}

/* True for NNCMP_TMUX_PASSTHROUGH=1 (or yes/true). */
static bool env_on(const char *name)
{
	const char *v = getenv(name);
	return v && (strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "true") == 0);
}

int gfx_probe(const char *override, bool passthrough, struct gfx_term *t)
{
	memset(t, 0, sizeof *t);
	t->cell_w = CELL_W_DEFAULT;
	t->cell_h = CELL_H_DEFAULT;
	enum gfx_mode forced = GFX_NONE;
	bool auto_mode = !override || strcmp(override, "auto") == 0;
	if (!auto_mode && gfx_mode_parse(override, &forced) != 0) {
		snprintf(t->why, sizeof t->why,
		         "unknown graphics mode (sixel, blocks, none, auto)");
		return -1;
	}
	passthrough = passthrough || env_on("NNCMP_TMUX_PASSTHROUGH");
	const char *term = getenv("TERM");
	if (!auto_mode && forced != GFX_SIXEL) {
		t->mode = forced;
		snprintf(t->why, sizeof t->why, "%s (as asked)", override);
		return 0;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO) || !term || !*term ||
	    strcmp(term, "dumb") == 0) {
		t->mode = auto_mode ? GFX_BLOCKS : GFX_SIXEL;
		snprintf(t->why, sizeof t->why, "%s (not a terminal that can be asked)",
		         auto_mode ? "blocks" : "sixel");
		return 0;
	}

	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int qfd = fd >= 0 ? fd : STDIN_FILENO;
	struct winsize ws;
	if (ioctl(qfd, TIOCGWINSZ, &ws) == 0 && ws.ws_xpixel > 0 && ws.ws_ypixel > 0 &&
	    ws.ws_col > 0 && ws.ws_row > 0) {
		t->cell_w = ws.ws_xpixel / ws.ws_col;
		t->cell_h = ws.ws_ypixel / ws.ws_row;
		t->cell_known = t->cell_w > 0 && t->cell_h > 0;
	}
	long timeout = 1500;
	const char *te = getenv("NNCMP_PROBE_TIMEOUT_MS");
	if (te && atol(te) > 0)
		timeout = atol(te) > 10000 ? 10000 : atol(te);
	struct termreply r = ask(qfd, !t->cell_known, timeout, t);
	if (fd >= 0)
		close(fd);

	t->da1 = r.da1;
	if (!t->cell_known && r.cell_w > 0 && r.cell_h > 0) {
		t->cell_w = r.cell_w;
		t->cell_h = r.cell_h;
		t->cell_known = true;
	} else if (!t->cell_known && r.text_w > 0 && r.text_h > 0 &&
	           ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
		t->cell_w = r.text_w / ws.ws_col;
		t->cell_h = r.text_h / ws.ws_row;
		t->cell_known = t->cell_w > 0 && t->cell_h > 0;
		if (!t->cell_known) {
			t->cell_w = CELL_W_DEFAULT;
			t->cell_h = CELL_H_DEFAULT;
		}
	}
	bool in_tmux = getenv("TMUX") && *getenv("TMUX");
	if (!auto_mode) {
		t->mode = GFX_SIXEL;
		t->tmux_passthrough = in_tmux && !r.sixel && passthrough;
		snprintf(t->why, sizeof t->why, "sixel (as asked)%s",
		         t->tmux_passthrough ? " through tmux passthrough" : "");
	} else if (r.sixel) {
		t->mode = GFX_SIXEL;
		snprintf(t->why, sizeof t->why, "sixel (%s answers DA1 with 4)",
		         in_tmux ? "tmux" : "the terminal");
	} else if (in_tmux && passthrough) {
		/* tmux before 3.4 (or built without sixel) answers for itself: the user vouches for
		   the terminal outside */
		t->mode = GFX_SIXEL;
		t->tmux_passthrough = true;
		snprintf(t->why, sizeof t->why, "sixel through tmux passthrough (opted in)");
	} else {
		t->mode = GFX_BLOCKS;
		snprintf(t->why, sizeof t->why, "blocks (%s)",
		         r.da1 ? "no sixel in the DA1 reply" : "no DA1 reply in time");
	}
	return 0;
}
