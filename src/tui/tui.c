/*
 * tui.c — the TUI's main loop: opening the study (tui_study, app_init), taking the terminal
 * (screen_init), the layout of panes for the terminal's size, signals, the one loop that reads a
 * key, hands it to the mode in use (command line, help, view, panes) and acts on the reaction
 * flags (recompute, redraw the dirty panes, relayout) with a single doupdate per key, and giving
 * the terminal back (teardown).
 */
#include "nncmp/tui.h"
#include "tui_int.h"

#include <langinfo.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <setjmp.h>
#include <term.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "nncmp/fault.h"
#include "nncmp/filter.h"
#include "nncmp/journal.h"
#include "nncmp/linalg.h"
#include "nncmp/text.h"
#include "gfx.h"
#include "trace.h"
#include "worker.h"

/* Set by the handler of SIGINT, SIGTERM, SIGHUP and SIGQUIT; the loop quits when it sees it. */
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

void app_message(struct app *app, bool error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(app->msg, sizeof app->msg, fmt, ap);
	va_end(ap);
	app->msg_error = error;
	app->msg_dirty = true;
}

/* The state to open in (tui_set_start), borrowed from main's argv. */
static struct {
	const char *filter, *sort, *a, *b;
} start;

void tui_set_start(const char *filter, const char *sort, const char *model_a, const char *model_b)
{
	start.filter = filter;
	start.sort = sort;
	start.a = model_a;
	start.b = model_b;
}

/*
 * Applies the state of --models, --filter and --sort (in that order: the filter may name the
 * pair's models); false after printing what is wrong on stderr. push: the filter's replacing
 * "all" is a back step (the first time; again after the journal is applied it is not).
 */
static bool start_apply(struct app *app, bool push)
{
	if (start.a && start.b && !(app_set_models(app, start.a, start.b) & RECOMPUTE)) {
		/* app_set_models says RECOMPUTE | REDRAW_ALL, or only REDRAW_STATUS on error */
		goto bad;
	}
	if (start.filter && *start.filter &&
	    !(app_set_filter(app, start.filter, AGREE_CUSTOM, -1, push) & RECOMPUTE))
		goto bad;
	if (start.sort && !(app_set_sort(app, start.sort) & REDRAW_ONE(PANE_INSTANCES)))
		goto bad;
	app->msg[0] = '\0';
	return true;
bad : {
	char *m = text_sanitize(app->msg, true);
	fprintf(stderr, "nncmp: %s\n", m);
	free(m);
	return false;
}
}

/* True when path is a study.ini manifest, or a directory holding one (study_open's rule). */
static bool study_is_manifest(const char *path)
{
	size_t n = strlen(path);
	if (n >= 4 && strcmp(path + n - 4, ".ini") == 0)
		return true;
	char *ini = xasprintf("%s/study.ini", path);
	bool yes = access(ini, F_OK) == 0;
	free(ini);
	return yes;
}

/* ---- layout ---- */

static void pane_place(struct app *app, enum pane_id p, int y, int x, int h, int w)
{
	struct pane *pn = &app->panes[p];
	pn->y = y;
	pn->x = x;
	pn->h = h;
	pn->w = w;
	pn->win = h > 0 && w > 0 ? newwin(h, w, y, x) : NULL;
	if (pn->win)
		leaveok(pn->win, TRUE);
	pn->dirty = true;
}

static void windows_free(struct app *app)
{
	for (int p = 0; p < PANE_COUNT; p++) {
		if (app->panes[p].win)
			delwin(app->panes[p].win);
		app->panes[p].win = NULL;
	}
	WINDOW **ws[] = {&app->status, &app->msgline, &app->helpwin, &app->viewwin};
	for (size_t i = 0; i < sizeof ws / sizeof *ws; i++) {
		if (*ws[i])
			delwin(*ws[i]);
		*ws[i] = NULL;
	}
}

/* Rows an overview pane wants: its title, header and every row. */
static int pane_need(const struct app *app, enum pane_id p)
{
	return pane_classes[p]->need(app);
}

/* The panes of region r from the top (their stack), into out; returns how many. */
static int column_panes(enum pane_region r, enum pane_id out[PANE_COUNT])
{
	int n = 0;
	for (int p = 0; p < PANE_COUNT; p++)
		if (pane_classes[p]->region == r) {
			int k = n++;
			while (k > 0 && pane_classes[out[k - 1]]->stack > pane_classes[p]->stack) {
				out[k] = out[k - 1];
				k--;
			}
			out[k] = (enum pane_id)p;
		}
	return n;
}

/* The rows a top column wants: what its panes need, plus their extra rows. */
static int column_need(const struct app *app, enum pane_region r)
{
	enum pane_id ps[PANE_COUNT];
	int n = column_panes(r, ps), need = 0;
	for (int k = 0; k < n; k++)
		need += pane_need(app, ps[k]) + pane_classes[ps[k]]->extra;
	return need;
}

/* The fewest rows a pane gets in a column: its title, header and one row (what it needs when
 * that is less). */
static int pane_min(const struct app *app, enum pane_id p)
{
	int need = pane_need(app, p);
	return need < PANE_MIN_ROWS ? need : PANE_MIN_ROWS;
}

/* Stacks region r's panes in the h x w box at (y, x): each but the last by its share, every one
 * at least its minimum (pane_min) while the box has room for the minimums of those below. */
static void column_place(struct app *app, enum pane_region r, int y, int x, int h, int w)
{
	enum pane_id ps[PANE_COUNT];
	int n = column_panes(r, ps);
	for (int k = 0; k < n; k++) {
		const struct pane_class *c = pane_classes[ps[k]];
		int ph = h;
		int share = config_share(ps[k], c->share);
		if (k + 1 < n && share >= 0)
			ph = h * share / 100;
		else if (k + 1 < n) {
			int cap = h * -share / 100;
			ph = pane_need(app, ps[k]);
			if (ph > cap)
				ph = cap > 3 ? cap : 3;
		}
		if (k + 1 < n) {
			int below = 0; /* what the panes under it must keep */
			for (int j = k + 1; j < n; j++)
				below += pane_min(app, ps[j]);
			int lo = pane_min(app, ps[k]);
			ph = ph < lo ? lo : ph;
			ph = ph > h - below ? h - below : ph;
			ph = ph < 0 ? 0 : ph;
		}
		pane_place(app, ps[k], y, x, ph, w);
		y += ph;
		h -= ph;
	}
}

/* The main list: the bottom-left pane (the instances). */
static enum pane_id pane_main(void)
{
	enum pane_id ps[PANE_COUNT];
	return column_panes(REGION_BOTTOM_LEFT, ps) > 0 ? ps[0] : (enum pane_id)0;
}

/* Builds the windows for the terminal's size; which panes show depends on it. */
static void app_layout(struct app *app)
{
	windows_free(app);
	getmaxyx(stdscr, app->rows, app->cols);
	int rows = app->rows, cols = app->cols;
	app->too_small = cols < 40 || rows < 12;
	werase(stdscr);
	if (app->too_small) {
		const char *m1 = "terminal too small";
		char m2[64];
		snprintf(m2, sizeof m2, "%dx%d, needs 40x12", cols, rows);
		int y = rows / 2 - 1;
		if (y < 0)
			y = 0;
		mvwaddnstr(stdscr, y,
		           (cols - (int)strlen(m1)) / 2 > 0 ? (cols - (int)strlen(m1)) / 2 : 0, m1,
		           cols);
		if (y + 1 < rows)
			mvwaddnstr(stdscr, y + 1,
			           (cols - (int)strlen(m2)) / 2 > 0 ? (cols - (int)strlen(m2)) / 2
			                                            : 0,
			           m2, cols);
		wnoutrefresh(stdscr);
		return;
	}
	wnoutrefresh(stdscr);
	app->status = newwin(1, cols, rows - 2, 0);
	app->msgline = newwin(1, cols, rows - 1, 0);
	leaveok(app->status, TRUE);
	app->status_dirty = app->msg_dirty = true;
	int H = rows - 2;
	if (app->help) {
		app->helpwin = newwin(H, cols, 0, 0);
		return;
	}
	if (app->view) {
		app->viewwin = newwin(H, cols, 0, 0);
		leaveok(app->viewwin, TRUE);
		app->view_dirty = true;
		return;
	}
	if (app->zoom) {
		app->layout = 2;
		pane_place(app, app->focus, 0, 0, H, cols);
		return;
	}
	if (cols >= 120 && rows >= 35) {
		app->layout = 0;
		int lw = cols * 45 / 100; /* the top-left column */
		lw = lw < 62 ? 62 : lw > 84 ? 84 : lw;
		int th = column_need(app, REGION_TOP_LEFT), tr = column_need(app, REGION_TOP_RIGHT);
		th = th > tr ? th : tr;
		if (th > H / 2)
			th = H / 2;
		int rw = cols * 2 / 5; /* the bottom-right column */
		rw = rw < 50 ? 50 : rw > 90 ? 90 : rw;
		column_place(app, REGION_TOP_LEFT, 0, 0, th, lw);
		column_place(app, REGION_TOP_RIGHT, 0, lw + 1, th, cols - lw - 1);
		column_place(app, REGION_BOTTOM_LEFT, th, 0, H - th, cols - rw - 1);
		column_place(app, REGION_BOTTOM_RIGHT, th, cols - rw, H - th, rw);
		return;
	}
	if (cols >= 60 && rows >= 20) {
		app->layout = 1;
		enum pane_id main = pane_main();
		const struct pane_class *u = pane_classes[app->upper];
		int uh = pane_need(app, app->upper) + u->extra;
		if (uh > H - 9)
			uh = H / 2 > H - 9 ? H / 2 : H - 9;
		pane_place(app, app->upper, 0, 0, uh, cols);
		pane_place(app, main, uh, 0, H - uh, cols);
		if (app->focus != main)
			app->focus = app->upper;
		return;
	}
	app->layout = 2;
	pane_place(app, app->focus, 0, 0, H, cols);
}

/* ---- the loop ---- */

static void msg_draw(struct app *app)
{
	WINDOW *w = app->msgline;
	if (!w)
		return;
	if (app->cmd_active) {
		cmdline_draw(app);
		return;
	}
	werase(w);
	int width = getmaxx(w);
	if (app->msg[0]) {
		draw_text(app, w, 0, 0, width, app->msg,
		          role_attr(app->msg_error ? ROLE_ERROR : ROLE_NORMAL), false);
	} else if (app->view) {
		/* the pane keys do not apply inside a view: name the ones that do (view_keys) */
		static const struct {
			const char *action, *label;
		} hints[] = {{"close", "close the view"}, {"down", "down"}, {"up", "up"},
		             {"search", "search"},        {"help", "keys"}, {"command", "command"}};
		int x = 1;
		for (size_t i = 0; i < sizeof hints / sizeof *hints; i++) {
			char kb[24], lab[48];
			keymode_key(&view_keys, hints[i].action, kb, sizeof kb);
			snprintf(lab, sizeof lab, " %s  ", hints[i].label);
			if (x + text_cols(kb) + text_cols(lab) > width)
				break;
			x += draw_safe(app, w, 0, x, width - x, kb, role_attr(ROLE_KEY), false);
			x += draw_safe(app, w, 0, x, width - x, lab, role_attr(ROLE_DIM), false);
		}
	} else {
		static const struct {
			const char *action, *label;
		} hints[] = {{"help", "help"},
		             {"focus-next", "pane"},
		             {"enter", "open"},
		             {"back", "back"},
		             {"agree-only-a", "only A"},
		             {"agree-only-b", "only B"},
		             {"agree-wrong", "both wrong"},
		             {"class-next", "class"},
		             {"confusion", "A/B/B-A"},
		             {"command", "command"},
		             {"quit", "quit"}};
		int x = 1;
		for (size_t i = 0; i < sizeof hints / sizeof *hints; i++) {
			char kb[24], lab[48];
			if (strcmp(hints[i].action, "back") == 0 && app->n_back == 0)
				continue; /* named only while there is a filter to go back to */
			action_key(hints[i].action, kb, sizeof kb);
			snprintf(lab, sizeof lab, " %s  ", hints[i].label);
			int need = text_cols(kb) + text_cols(lab);
			if (x + need > width)
				break;
			x += draw_safe(app, w, 0, x, width - x, kb, role_attr(ROLE_KEY), false);
			x += draw_safe(app, w, 0, x, width - x, lab, role_attr(ROLE_DIM), false);
		}
	}
	wnoutrefresh(w);
}

static void draw_dirty(struct app *app)
{
	if (app->too_small)
		return;
	if (app->help) {
		help_draw(app);
	} else if (app->view) {
		if (app->view_dirty)
			view_draw(app);
		app->view_dirty = false;
	} else {
		panes_draw_dirty(app);
	}
	if (app->status_dirty)
		status_draw(app);
	app->status_dirty = false;
	if (app->msg_dirty || app->cmd_active)
		msg_draw(app);
	app->msg_dirty = false;
}

/* Applies a handler's reaction flags. */
static void react(struct app *app, int flags)
{
	if (flags & VIEW_CLOSE) {
		view_close(app);
		flags |= RELAYOUT;
	}
	if ((flags & RECOMPUTE) && app->ready) {
		app_recompute(app);
		if (!app->select_pending) /* else once the selection lands (selection.c) */
			neurons_request(app);
	}
	if (app->view_refilter || app->view_remodel) {
		/* an open view over the shown instances or the pair follows them */
		bool f = app->view_refilter, m = app->view_remodel;
		app->view_refilter = app->view_remodel = false;
		flags |= view_refollow(app, f, m);
	}
	if (flags & RELAYOUT) {
		if (app->gfx) /* the windows that held images are about to go */
			gfx_hide_all(app->gfx);
		app_layout(app);
	}
	if (flags & CLEAR) {
		clearok(curscr, TRUE);
		if (app->gfx)
			gfx_invalidate(app->gfx);
	}
	if (flags & (REDRAW_ALL | RECOMPUTE | RELAYOUT)) {
		for (int p = 0; p < PANE_COUNT; p++)
			app->panes[p].dirty = true;
		app->status_dirty = app->msg_dirty = true;
	}
	if (flags & REDRAW_PANE) {
		app->panes[app->focus].dirty = true;
		int f = pane_classes[app->focus]->follower; /* the detail follows the instances */
		if (f >= 0)
			app->panes[f].dirty = true;
	}
	if (flags & (REDRAW_ALL | RELAYOUT | REDRAW_STATUS | REDRAW_VIEW))
		app->view_dirty = true;
	for (int p = 0; p < PANE_COUNT; p++)
		if (flags & REDRAW_ONE(p))
			app->panes[p].dirty = true;
	if (flags & REDRAW_STATUS)
		app->status_dirty = app->msg_dirty = true;
}

static void app_free(struct app *app)
{
	if (app->view)
		view_close(app);
	worker_free(app->worker); /* before anything its jobs point into */
	free(app->exporting);
	free(app->fatal);
	app->worker = NULL;
	triage_close(app);
	saved_free(app);
	neurons_pane_free(app);
	windows_free(app);
	for (size_t m = 0; app->mm && m < app->s->n_models; m++)
		metrics_model_free(&app->mm[m]);
	free(app->mm);
	metrics_pair_free(&app->pm);
	for (size_t i = 0; i < app->n_back; i++)
		free(app->back[i].filter);
	free(app->back);
	for (size_t i = 0; i < app->n_hist; i++)
		free(app->hist[i]);
	for (size_t c = 0; app->class_names && c < app->s->n_classes; c++)
		free(app->class_names[c]);
	for (size_t m = 0; app->model_names && m < app->s->n_models; m++)
		free(app->model_names[m]);
	free(app->class_names);
	free(app->model_names);
	for (size_t k = 0; k < app->n_abbrev; k++) {
		classnames_free(app->abbrev[k].names, app->s->n_classes);
		free(app->abbrev[k].names);
	}
	free(app->sel);
	free(app->sel_keys);
	free(app->filter);
	free(app->pending_filter);
	free(app->sort_key);
	free(app->search);
	free(app->cmd_pending);
	study_free(app->s);
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a blocked read returns so the loop sees the flag */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL); /* Ctrl-\: quit as Ctrl-C does, the terminal restored */
	/* a mask inherited blocked (from a launcher) would keep them from ever arriving */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/*
 * Whether the terminal is gone: its pty closed under a process that got no SIGHUP (the signal
 * blocked, or the terminal not the process's controlling one). Reads then fail at once, so the
 * loop would spin on them; it quits as on SIGHUP instead.
 */
static bool terminal_gone(void)
{
	struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

/*
 * On a fatal signal (a crash, or SIGBUS outside a guard) curses cannot be called: what restores
 * the terminal is prepared beforehand and written with write(2) from the handler — the tty
 * modes as they were before curses, and the strings that leave the alternate screen, show the
 * cursor, reset attributes and leave keypad mode.
 */
static struct termios saved_tty;
static bool have_tty;
static char restore_bytes[256];
static size_t restore_len;

static void restore_prepare(void)
{
	have_tty = tcgetattr(STDIN_FILENO, &saved_tty) == 0;
}

static void restore_add(const char *cap)
{
	const char *v = tigetstr(cap);
	if (!v || v == (const char *)-1)
		return;
	size_t n = strlen(v);
	if (n <= sizeof restore_bytes - restore_len) {
		memcpy(restore_bytes + restore_len, v, n);
		restore_len += n;
	}
}

static void restore_now(int sig)
{
	if (have_tty)
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
	ssize_t w = write(STDOUT_FILENO, restore_bytes, restore_len);
	static const char bus[] = "\nnncmp: a mapped file changed on disk while open (SIGBUS); "
	                          "reopen the study\n";
	static const char other[] = "\nnncmp: fatal signal; the terminal was restored\n";
	if (sig == SIGBUS)
		w = write(STDERR_FILENO, bus, sizeof bus - 1);
	else
		w = write(STDERR_FILENO, other, sizeof other - 1);
	(void)w;
}

/* With curses started (terminfo loaded): the restoring bytes, and the hook that writes them. */
static void restore_arm(void)
{
	restore_len = 0;
	restore_add("sgr0");
	restore_add("rmkx");
	restore_add("cnorm");
	restore_add("rmcup");
	fault_on_fatal(restore_now);
}

/*
 * The TUI needs a terminal that can move the cursor: with TERM unset or unknown initscr() would
 * exit with its own message, and with TERM=dumb it would draw an unreadable stream of lines.
 */
static bool terminal_usable(void)
{
	int e = 0;
	if (setupterm(NULL, STDOUT_FILENO, &e) != OK)
		return false;
	const char *cup = tigetstr("cup");
	bool ok = cup != NULL && cup != (const char *)-1;
	del_curterm(cur_term);
	return ok;
}

/* The actions that work before the derivation lands (app->ready): they read no derived data. */
static bool works_unready(const struct key_action *act)
{
	static const char *const ok[] = {
	    "help",    "quit", "focus-next", "focus-prev", "down", "up",     "page-down",
	    "page-up", "top",  "bottom",     "dismiss",    "zoom", "redraw", "command"};
	for (size_t k = 0; k < sizeof ok / sizeof *ok; k++)
		if (strcmp(act->name, ok[k]) == 0)
			return true;
	return false;
}

/* A key that needs derived data, pressed before it landed: says so on the message line. */
static int not_ready(struct app *app)
{
	app_message(app, false,
	            "not ready: the models' predictions are still being derived "
	            "(moving, Tab, z, ?, : and q work)");
	return REDRAW_STATUS;
}

/* The loop: a key, its action, the reaction; until q or a signal. */
static void run_loop(struct app *app)
{
	bool was_busy = false;
	while (!got_signal) {
		if (app->worker) {
			trace_poll_start();
			int landed = worker_poll(app->worker, app);
			trace_poll_end(landed != 0);
			react(app, landed);
			react(app, triage_poll(app));
			bool busy = worker_busy(app->worker, NULL, 0, NULL);
			if (busy || was_busy) { /* progress, or its end, on the status line */
				app->status_dirty = true;
				if (app->view && !app->view_ready)
					app->view_dirty = true;
			}
			if (busy != was_busy)
				wtimeout(stdscr, busy ? 100 : 1000);
			was_busy = busy;
		}
		if (app->fatal)
			return; /* the derivation refused the study: teardown says why */
		/* the view the saved state names opens once the numbers it is prepared from are in
		 */
		if (app->ready && app->have_metrics && !app->select_pending)
			react(app, saved_open_pending(app));
		if (app->ready && app->cmd_pending) {
			int f = cmdline_run_pending(app);
			if (f & QUIT)
				return;
			react(app, f);
		}
		draw_dirty(app);
		doupdate();
		if (app->gfx)
			gfx_flush(app->gfx);
		trace_frame(app->ready);
		wint_t ch;
		int kr = get_wch(&ch);
		if (kr == ERR) { /* timeout or a signal: the loop condition decides */
			if (!got_signal && terminal_gone())
				got_signal = SIGHUP;
			continue;
		}
		bool is_key = kr == KEY_CODE_YES;
		int key = (int)ch;
		trace_key(key, is_key);
		if (is_key && key == KEY_RESIZE) {
			react(app, RELAYOUT | CLEAR);
			continue;
		}
		if (app->too_small) {
			if (!is_key && (key == 'q' || key == 3))
				return;
			continue;
		}
		int flags;
		if (is_key && key == KEY_MOUSE && !app->ready) {
			MEVENT ev; /* taken from curses' queue, and left alone */
			getmouse(&ev);
			flags = not_ready(app);
		} else if (is_key && key == KEY_MOUSE)
			flags = mouse_event(app);
		else if (app->cmd_active)
			flags = cmdline_key(app, ch, is_key);
		else if (app->help)
			flags = help_key(app, key, is_key);
		else if (app->view)
			flags = view_key(app, key, is_key);
		else {
			/* a character that is not ASCII may share its number with a KEY_ code */
			const struct key_action *act =
			    !is_key && key > 255 ? NULL : panes_find(app, key);
			if (!act)
				continue;
			if (app->msg[0]) {
				app->msg[0] = '\0';
				app->msg_dirty = true;
			}
			flags =
			    app->ready || works_unready(act) ? panes_run(app, act) : not_ready(app);
		}
		if (flags & QUIT)
			return;
		react(app, flags);
	}
}

/* Studies with at most this many probabilities (N x classes, summed over the models) are derived
 * before the first screen: about 15 ms on the 2-core test machine, under a frame. */
#define DERIVE_QUICK_VALUES (8u << 20)

/* Whether study_derive on s is quick enough to run before the first screen. */
static bool derive_quick(const struct study *s)
{
	if (worker_test_delayed()) /* tests of the screen while it runs */
		return false;
	size_t values = 0;
	for (size_t m = 0; m < s->n_models; m++)
		if (s->models[m].src != SRC_PRED)
			values += s->n * s->models[m].probs.cols;
	return values <= DERIVE_QUICK_VALUES;
}

/* Opens the study for the TUI, or says on stderr why it cannot (NULL: exit status 2). */
static struct study *tui_study(const char *path)
{
	struct nn_err err = {{0}};
	if (!terminal_usable()) {
		const char *t = getenv("TERM");
		char *m = text_sanitize(t ? t : "", true);
		fprintf(
		    stderr,
		    "nncmp: TERM=%s is unknown or cannot move the cursor, so the TUI cannot run; "
		    "set TERM (e.g. xterm-256color) or use nncmp report\n",
		    *m ? m : "(unset)");
		free(m);
		return NULL;
	}
	/* the derivation runs on the worker once the first screen is up (screen_init) */
	struct study *s = study_open_ex(path, STUDY_DEFER_DERIVE, &err);
	if (!s) {
		char *m = text_sanitize(err.msg, true);
		fprintf(stderr, "nncmp: %s\n", m);
		free(m);
		return NULL;
	}
	if (s->n_models == 0 || s->n_classes == 0) {
		fprintf(stderr, "nncmp: the study has no models to compare\n");
		study_free(s);
		return NULL;
	}
	return s;
}

/* The app's state before the screen: names, the pair, the layer, every instance shown. */
static void app_init(struct app *app, struct study *s, const char *path)
{
	memset(app, 0, sizeof *app);
	app->s = s;
	app->utf8 = text_locale_utf8();
	app->class_names = xcalloc(s->n_classes, sizeof *app->class_names);
	for (size_t c = 0; c < s->n_classes; c++)
		app->class_names[c] = text_sanitize(s->classes[c], !app->utf8);
	app->model_names = xcalloc(s->n_models, sizeof *app->model_names);
	for (size_t m = 0; m < s->n_models; m++)
		app->model_names[m] = text_sanitize(s->models[m].name, !app->utf8);
	app->a = 0;
	app->b = s->n_models > 1 ? 1 : 0;
	/* the neuron pane starts on the first layer with activations, model A's if it has one */
	app->lm = app->ll = -1;
	app->wm = app->wl = -1;
	app->km = app->kl = -1;
	app->manifest = study_is_manifest(path);
	for (size_t m = 0; m < s->n_models && app->lm < 0; m++)
		for (size_t l = 0; l < s->models[m].n_layers; l++)
			if (s->models[m].layers[l].act_path) {
				app->lm = (int)m;
				app->ll = (int)l;
				break;
			}
	app->id_cols = 5;
	for (size_t i = 0; s->ids && i < s->n && app->id_cols < 20; i++) {
		int w =
		    s->ids[i] ? (int)strlen(s->ids[i]) : 0; /* bytes: an upper bound of columns */
		if (w > app->id_cols)
			app->id_cols = w > 20 ? 20 : w;
	}
	if (!s->ids) {
		char buf[32];
		app->id_cols =
		    (int)strlen(study_instance_id(s, s->n ? s->n - 1 : 0, buf, sizeof buf));
	}
	app->filter = xstrdup("");
	app->sort_key = xstrdup("index");
	app->cls = -1;
	app->mm = xcalloc(s->n_models, sizeof *app->mm);
	app->focus = PANE_INSTANCES;
	app->upper = PANE_AGREE;
	app->sel = xcalloc(s->n ? s->n : 1, sizeof *app->sel);
	app->n_sel = expr_select(NULL, s, app->sel);
}

/* The config file's problem, shown once the start state is applied (it is the one to fix). */
static char cfg_problem[NN_ERR_MAX];

/*
 * Once the derivation has landed: the journal, the saved state, --filter and --sort again over
 * the journal's labels, then the metrics and the neuron ranking. Returns reaction flags.
 */
static int app_ready(struct app *app)
{
	app->ready = true;
	if (!app->tr) /* else the derivation job brought the journal (derive_job_done) */
		triage_open(app);
	saved_start(app);
	if (start.filter || start.sort) { /* again, over the journal's labels */
		char keep[sizeof app->msg];
		memcpy(keep, app->msg, sizeof keep); /* the journal's message */
		start_apply(app, false);
		memcpy(app->msg, keep, sizeof keep);
	}
	if (cfg_problem[0])
		app_message(app, true, "%s", cfg_problem);
	app_recompute(app);
	neurons_request(app);
	return REDRAW_ALL | REDRAW_STATUS;
}

/* The derivation on the worker (study_derive), and the journal opened (triage_load): the study
 * is the UI's, which reads none of what they write until done() (app->derived). */
struct derive_job {
	struct study *s;
	struct journal *j; /* until done() hands it to triage_attach */
	struct nn_err jerr;
};

static int derive_job_run(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	struct derive_job *dj = ctx;
	if (worker_test_delay(prog) != 0)
		return nn_err_set(err, "cancelled");
	if (study_derive(dj->s, err) != 0)
		return -1;
	dj->j = triage_load(dj->s, &dj->jerr);
	size_t n_dec = 0;
	if (dj->j)
		journal_decisions(dj->j, &n_dec);
	if (n_dec > 0)
		journal_prepare_apply(dj->j); /* triage_attach applies it, on the UI thread */
	/* BLAS and LAPACK now, so that a view's product never has to end the TUI from a worker
	 * (linalg.h): a missing library is said at open, as bad probabilities are */
	return linalg_load(err);
}

static void derive_job_free(void *ctx)
{
	struct derive_job *dj = ctx;
	journal_close(dj->j);
	free(dj);
}

static int derive_job_done(struct app *app, void *ctx, int rc, const struct nn_err *err)
{
	struct derive_job *dj = ctx;
	if (rc != 0) { /* bad probabilities, or a file changed under us: the study cannot be used */
		app->fatal = xstrdup(err->msg);
		return 0;
	}
	triage_attach(app, dj->j, &dj->jerr);
	dj->j = NULL;
	app->derived = true;
	trace_event("derived");
	return app_ready(app);
}

/*
 * Takes the terminal: the config file, the graphics probe (before curses owns the terminal),
 * curses, the theme and the worker, then the first screen; the study's derivation goes to the
 * worker and app_ready() follows it. Returns 0, or 2 after saying on stderr why the probe failed
 * (the terminal untouched).
 */
static int screen_init(struct app *app, const char *theme, const char *graphics)
{
	struct nn_err err = {{0}};
	char cfg_theme[128] = "";
	struct nn_err cfg_err = {{0}};
	int cfg_rc = config_load(cfg_theme, sizeof cfg_theme, &cfg_err);
	const char *env_theme = getenv("NNCMP_THEME");
	/* --theme, then $NNCMP_THEME, then the config file; with NO_COLOR set the environment's
	 * theme is left out (no-color.org: command-line options and configuration files win) */
	if (theme_no_colour())
		env_theme = NULL;
	if (!theme || !*theme)
		theme = env_theme && *env_theme ? env_theme : cfg_theme[0] ? cfg_theme : NULL;
	if (theme_colour_when() == COLOUR_NEVER)
		theme =
		    NULL; /* --color=never: the monochrome attributes, whatever theme is named */

	/* the terminal is asked about sixel before curses owns it */
	bool passthrough = false;
	const char *cfg_graphics = config_graphics(&passthrough);
	struct gfx_term term;
	if (gfx_probe(graphics && *graphics ? graphics : cfg_graphics, passthrough, &term) != 0) {
		char *m = text_sanitize(term.why, true);
		fprintf(stderr, "nncmp: %s\n", m);
		free(m);
		return 2;
	}

	install_signals();
	restore_prepare();
	initscr();
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(50);
	curs_set(0);
	wtimeout(stdscr, 1000);
	restore_arm();
	mouse_start();
	theme_default();
	if (theme && theme_load(theme, &err) != 0)
		app_message(app, true, "%s; using the default theme", err.msg);
	app->shapes = theme_needs_shapes();
	app->gfx = gfx_new(&term, app->utf8);
	for (size_t k = term.n_pending; k-- > 0;) /* keys typed while the terminal was asked */
		ungetch(term.pending[k]);
	if (app->s->warnings.n)
		app_message(app, false, "warning: %s%s", app->s->warnings.v[0],
		            app->s->warnings.n > 1 ? " (and more: nncmp check)" : "");
	history_load(app);
	app->worker = worker_new();
	if (cfg_rc != 0) { /* last: what is wrong in the config file is the one to fix */
		snprintf(cfg_problem, sizeof cfg_problem, "%s", cfg_err.msg);
		app_message(app, true, "%s", cfg_err.msg);
	}
	if (!app->derived && app->worker) {
		struct derive_job *dj = xcalloc(1, sizeof *dj);
		dj->s = app->s;
		struct job job = {.tag = JOB_DERIVE,
		                  .ctx = dj,
		                  .run = derive_job_run,
		                  .done = derive_job_done,
		                  .free = derive_job_free};
		snprintf(job.what, sizeof job.what, "deriving the predictions");
		worker_submit(app->worker, &job);
		react(app, RELAYOUT);
		return 0;
	}
	if (!app->derived) { /* no worker thread: derived here, before the first screen */
		struct nn_err derr = {{0}};
		if (study_derive(app->s, &derr) != 0) {
			app->fatal = xstrdup(derr.msg);
			return 0;
		}
		app->derived = true;
	}
	struct nn_err lerr = {{0}};
	if (linalg_load(&lerr) < 0) { /* as the derivation job does (derive_job_run) */
		app->fatal = xstrdup(lerr.msg);
		return 0;
	}
	react(app, app_ready(app) | RELAYOUT);
	return 0;
}

/*
 * The loop, under a guard: a mapped file truncated under us faults (SIGBUS) and lands here;
 * fault_path then names the file (size bytes), else it stays "".
 */
static void loop_guarded(struct app *app, char *fault_path, size_t size)
{
	struct fault_guard g;
	fault_push(&g);
	if (sigsetjmp(g.env, 1) == 0) {
		run_loop(app);
		fault_pop(&g);
	} else if (!fault_map_path(g.addr, fault_path, size)) {
		snprintf(fault_path, size, "a mapped file");
	}
}

/*
 * Quitting before the derivation landed (the terminal is given back already): its job is
 * cancelled, but study_derive cannot stop midway, and at 4M it may run for seconds (more when the
 * probabilities come from the disk). Rather than a silent wait, one line says so, and a second
 * Ctrl-C (the default action again) ends the process at once.
 */
static void derive_wait(struct worker *w)
{
	worker_cancel(w, JOB_DERIVE);
	for (int t = 0; t < 20 && worker_busy(w, NULL, 0, NULL); t++) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (!worker_busy(w, NULL, 0, NULL))
		return;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	fprintf(stderr, "nncmp: letting the derivation of the predictions finish before exiting "
	                "(Ctrl-C stops now)\n");
}

/* Gives the terminal back and frees the app; returns the exit status. */
static int teardown(struct app *app, const char *fault_path)
{
	if (!fault_path[0] && app->ready) /* before, the state is not the user's: kept as it was */
		saved_quit(app);
	if (app->gfx)
		gfx_hide_all(app->gfx);
	windows_free(app);
	endwin();
	fault_on_fatal(NULL);
	gfx_free(app->gfx);
	app->gfx = NULL;
	int sig = got_signal;
	char *fatal = app->fatal ? text_sanitize(app->fatal, true) : NULL;
	if (app->worker && !app->derived)
		derive_wait(app->worker);
	app_free(app); /* joins the worker: a derivation still running is waited for */
	trace_end();
	if (fatal) {
		fprintf(stderr, "nncmp: %s\n", fatal);
		free(fatal);
		return 2;
	}
	if (fault_path[0]) {
		char *m = text_sanitize(fault_path, true);
		fprintf(stderr, "nncmp: " FAULT_CHANGED "\n", m);
		free(m);
		return 2;
	}
	if (sig) {
		fprintf(stderr, "nncmp: stopped by signal %d\n", sig);
		/*
		 * Everything is saved and freed by now. Leave without the exit handlers: the one
		 * LeakSanitizer adds was seen to hang (its tracer waiting, the process spinning)
		 * when a terminal closed under an ASan build, which then ran on at full CPU through
		 * the rest of a test run. A quit by q still ends through them, so the same teardown
		 * is still checked for leaks.
		 */
		fflush(NULL);
		_exit(128 + sig);
	}
	return 0;
}

int tui_run(const char *path, const char *theme, const char *graphics)
{
	trace_start();
	struct study *s = tui_study(path);
	if (!s)
		return 2;
	struct app app_storage;
	struct app *app = &app_storage;
	app_init(app, s, path);
	/* --filter and --sort compile against the derived arrays (conf(M), margin(M), ...) and
	 * must be refused before the screen is touched: with them the derivation comes first; so
	 * it does for a small study, where it takes less than a frame */
	if (start.filter || start.sort || derive_quick(s)) {
		struct nn_err err = {{0}};
		if (study_derive(s, &err) != 0) {
			char *m = text_sanitize(err.msg, true);
			fprintf(stderr, "nncmp: %s\n", m);
			free(m);
			app_free(app);
			trace_end();
			return 2;
		}
		app->derived = true;
	}
	/* --models, --filter, --sort: checked before the screen is touched */
	if (!start_apply(app, true) || !saved_check_start(app) ||
	    screen_init(app, theme, graphics) != 0) {
		app_free(app);
		return 2;
	}
	char fault_path[PATH_MAX] = "";
	loop_guarded(app, fault_path, sizeof fault_path);
	return teardown(app, fault_path);
}
