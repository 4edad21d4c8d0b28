/* probe.c — asking the terminal, before curses starts (or with no curses at all), which image
   protocol it draws and how large a cell is in pixels. The only terminal I/O of the gfx module;
   gfx_choose (choose.c) decides from the replies. */
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

#include "nncmp/termgfx.h"
#include "nncmp/termreply.h"
#include "nncmp/util.h"

#define CELL_W_DEFAULT 10
#define CELL_H_DEFAULT 20

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* kitty's graphics query: a 1×1 RGB image with id 31, queried (a=q), not stored */
#define KITTY_QUERY "\033_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\033\\"
#define XTVERSION   "\033[>0q"
#define ITERM_CELL  "\033]1337;ReportCellSize\a"

/*
 * Sends the queries on fd and reads replies until DA1's (which every terminal sends, and sends
 * last, since it answers in order) or until timeout_ms. Returns what the replies said; the
 * bytes that were not replies go to t->pending. The Linux console is asked DA1 (and the cell
 * size) only: it knows none of the other sequences.
 */
static struct termreply ask(int fd, bool want_cell, bool ask_protocols, bool ask_iterm,
                            long timeout_ms, struct gfx_term *t)
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
	char q[160];
	snprintf(q, sizeof q, "%s%s%s%s", ask_protocols ? KITTY_QUERY XTVERSION : "",
	         ask_iterm ? ITERM_CELL : "", want_cell ? "\033[16t\033[14t" : "", "\033[c");
	(void)write_all(fd, q, strlen(q));

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
		         "unknown graphics mode (sixel, kitty, iterm, blocks, none, auto)");
		return -1;
	}
	struct gfx_hints h = {
	    .term = getenv("TERM"),
	    .term_program = getenv("TERM_PROGRAM"),
	    .lc_terminal = getenv("LC_TERMINAL"),
	    .in_tmux = getenv("TMUX") && *getenv("TMUX"),
	    .passthrough = passthrough || env_on("NNCMP_TMUX_PASSTHROUGH"),
	};
	const char *term = h.term;
	if (!auto_mode && !gfx_mode_is_pixels(forced)) {
		t->mode = forced;
		snprintf(t->why, sizeof t->why, "%s (as asked)", override);
		return 0;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO) || !term || !*term ||
	    strcmp(term, "dumb") == 0) {
		t->mode = auto_mode ? GFX_BLOCKS : forced;
		t->tmux_passthrough =
		    !auto_mode && forced != GFX_SIXEL && h.in_tmux && h.passthrough;
		snprintf(t->why, sizeof t->why, "%s (not a terminal that can be asked)",
		         gfx_mode_name(t->mode));
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
	bool console = strcmp(term, "linux") == 0;
	/* ReportCellSize only where the environment names iTerm2 (inside tmux too, for
	   --graphics iterm): other terminals need not see OSC 1337 */
	const char *tp = h.term_program, *lc = h.lc_terminal;
	bool ask_iterm =
	    !console && ((tp && strcmp(tp, "iTerm.app") == 0) || (lc && strcmp(lc, "iTerm2") == 0));
	struct termreply r = ask(qfd, !t->cell_known, !console, ask_iterm, timeout, t);
	if (fd >= 0)
		close(fd);

	t->da1 = r.da1;
	if (!t->cell_known && r.cell_w > 0 && r.cell_h > 0) {
		t->cell_w = r.cell_w;
		t->cell_h = r.cell_h;
		t->cell_known = true;
	} else if (!t->cell_known && r.iterm_cell_w > 0 && r.iterm_cell_h > 0) {
		t->cell_w = r.iterm_cell_w;
		t->cell_h = r.iterm_cell_h;
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
	if (!auto_mode) {
		t->mode = forced;
		/* sixel goes through tmux's passthrough only when tmux cannot draw it itself; kitty
		   and iTerm2 images always need it */
		t->tmux_passthrough =
		    h.in_tmux && h.passthrough && (forced != GFX_SIXEL || !r.sixel);
		snprintf(t->why, sizeof t->why, "%s (as asked)%s", override,
		         t->tmux_passthrough ? " through tmux passthrough" : "");
		return 0;
	}
	t->mode = gfx_choose(&r, &h, t->why, sizeof t->why);
	t->tmux_passthrough = t->mode == GFX_SIXEL && h.in_tmux && h.passthrough && !r.sixel;
	return 0;
}
