/*
 * tui.c — the TUI's main loop: opening the study, the layout of panes for the terminal's size,
 * signals, and the one loop that reads a key, runs its action and acts on the reaction flags
 * (recompute, redraw the dirty panes, relayout) with a single doupdate per key.
 */
#include "nncmp/tui.h"
#include "tui_int.h"

#include <langinfo.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <unistd.h>

#include "nncmp/filter.h"
#include "nncmp/text.h"
#include "gfx.h"
#include "worker.h"

#define KEY_ESC 27

/* Set by the handler of SIGINT, SIGTERM and SIGHUP; the loop quits when it sees it. */
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

bool pane_visible(const struct app *app, enum pane_id p)
{
	return app->panes[p].win != NULL;
}

/* Rows an overview pane wants: its title, header and every row. */
static int pane_need(const struct app *app, enum pane_id p)
{
	int c = (int)app->s->n_classes, m = (int)app->s->n_models;
	switch (p) {
	case PANE_MODELS:
		return m + 2;
	case PANE_DETAIL:
		return m + 12;
	case PANE_NEURONS:
		return 16;
	default:
		return c + 3;
	}
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
		int lw = cols * 45 / 100;
		lw = lw < 62 ? 62 : lw > 84 ? 84 : lw;
		int need_l = pane_need(app, PANE_MODELS) + pane_need(app, PANE_AGREE);
		int need_r = pane_need(app, PANE_CONFUSION) + 1;
		int th = need_l > need_r ? need_l : need_r;
		if (th > H / 2)
			th = H / 2;
		int mh = pane_need(app, PANE_MODELS);
		if (mh > th / 2)
			mh = th / 2 > 3 ? th / 2 : 3;
		pane_place(app, PANE_MODELS, 0, 0, mh, lw);
		pane_place(app, PANE_AGREE, mh, 0, th - mh, lw);
		pane_place(app, PANE_CONFUSION, 0, lw + 1, th, cols - lw - 1);
		/* below: the instances, and beside them the detail over the neurons */
		int rw = cols * 2 / 5;
		rw = rw < 50 ? 50 : rw > 90 ? 90 : rw;
		int bh = H - th;
		int dh = bh * 11 / 20;
		pane_place(app, PANE_INSTANCES, th, 0, bh, cols - rw - 1);
		pane_place(app, PANE_DETAIL, th, cols - rw, dh, rw);
		pane_place(app, PANE_NEURONS, th + dh, cols - rw, bh - dh, rw);
		return;
	}
	if (cols >= 60 && rows >= 20) {
		app->layout = 1;
		int uh = pane_need(app, app->upper) + (app->upper == PANE_CONFUSION ? 1 : 0);
		if (uh > H - 9)
			uh = H / 2 > H - 9 ? H / 2 : H - 9;
		pane_place(app, app->upper, 0, 0, uh, cols);
		pane_place(app, PANE_INSTANCES, uh, 0, H - uh, cols);
		if (app->focus != PANE_INSTANCES)
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
		/* the pane keys do not apply inside a view: name the ones that do */
		int x = 1 + draw_safe(app, w, 0, 1, width - 1, "Esc", role_attr(ROLE_KEY), false);
		x += draw_safe(app, w, 0, x, width - x, " close the view  ", role_attr(ROLE_DIM),
		               false);
		x += draw_safe(app, w, 0, x, width - x, "j k g G", role_attr(ROLE_KEY), false);
		x += draw_safe(app, w, 0, x, width - x, " move  ", role_attr(ROLE_DIM), false);
		x += draw_safe(app, w, 0, x, width - x, ":", role_attr(ROLE_KEY), false);
		draw_safe(app, w, 0, x, width - x, " command", role_attr(ROLE_DIM), false);
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
		static void (*const draw[PANE_COUNT])(struct app *) = {
		    pane_models_draw,    pane_agree_draw,   pane_confusion_draw,
		    pane_instances_draw, pane_neurons_draw, pane_detail_draw};
		for (int p = 0; p < PANE_COUNT; p++)
			if (app->panes[p].win && app->panes[p].dirty) {
				draw[p](app);
				app->panes[p].dirty = false;
			}
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
	if (flags & RECOMPUTE) {
		app_recompute(app);
		neurons_request(app);
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
		if (app->focus == PANE_INSTANCES) /* the detail follows the cursor */
			app->panes[PANE_DETAIL].dirty = true;
	}
	if (flags & (REDRAW_ALL | RELAYOUT | REDRAW_STATUS))
		app->view_dirty = true;
	for (int p = 0; p < PANE_COUNT; p++)
		if (flags & REDRAW_ONE(p))
			app->panes[p].dirty = true;
	if (flags & REDRAW_STATUS)
		app->status_dirty = app->msg_dirty = true;
}

/* Keys while the help screen is up: scroll it, or close it. */
static int help_key(struct app *app, int key)
{
	const struct action *act = action_for_key(key);
	const char *name = act ? act->name : "";
	if (strcmp(name, "down") == 0) {
		app->help_top++;
	} else if (strcmp(name, "up") == 0) {
		if (app->help_top)
			app->help_top--;
	} else if (strcmp(name, "page-down") == 0) {
		app->help_top += (size_t)(app->rows > 6 ? app->rows - 6 : 1);
	} else if (strcmp(name, "page-up") == 0) {
		size_t pg = (size_t)(app->rows > 6 ? app->rows - 6 : 1);
		app->help_top = app->help_top > pg ? app->help_top - pg : 0;
	} else if (strcmp(name, "top") == 0) {
		app->help_top = 0;
	} else if (key == 'q' || key == KEY_ESC || strcmp(name, "help") == 0 ||
	           strcmp(name, "quit") == 0 || strcmp(name, "enter") == 0) {
		app->help = false;
		return RELAYOUT;
	} else {
		return 0;
	}
	return REDRAW_ALL;
}

static void app_free(struct app *app)
{
	if (app->view)
		view_close(app);
	worker_free(app->worker); /* before anything its jobs point into */
	app->worker = NULL;
	triage_close(app);
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
	free(app->sel);
	free(app->filter);
	free(app->sort_key);
	free(app->search);
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

int tui_run(const char *path, const char *theme, const char *graphics)
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
		return 2;
	}
	struct study *s = study_open(path, &err);
	if (!s) {
		char *m = text_sanitize(err.msg, true);
		fprintf(stderr, "nncmp: %s\n", m);
		free(m);
		return 2;
	}
	if (s->n_models == 0 || s->n_classes == 0) {
		fprintf(stderr, "nncmp: the study has no models to compare\n");
		study_free(s);
		return 2;
	}
	struct app app_storage;
	struct app *app = &app_storage;
	memset(app, 0, sizeof *app);
	app->s = s;
	const char *cs = nl_langinfo(CODESET);
	app->utf8 = cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
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

	/* the terminal is asked about sixel before curses owns it */
	bool passthrough = false;
	const char *cfg_graphics = config_graphics(&passthrough);
	struct gfx_term term;
	if (gfx_probe(graphics && *graphics ? graphics : cfg_graphics, passthrough, &term) != 0) {
		char *m = text_sanitize(term.why, true);
		fprintf(stderr, "nncmp: %s\n", m);
		free(m);
		app_free(app);
		return 2;
	}

	install_signals();
	initscr();
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(50);
	curs_set(0);
	wtimeout(stdscr, 1000);
	theme_default();
	if (theme && theme_load(theme, &err) != 0)
		app_message(app, true, "%s; using the default theme", err.msg);
	app->shapes = theme_needs_shapes();
	app->gfx = gfx_new(&term, app->utf8);
	for (size_t k = term.n_pending; k-- > 0;) /* keys typed while the terminal was asked */
		ungetch(term.pending[k]);
	if (cfg_rc != 0)
		app_message(app, true, "%s", cfg_err.msg);
	else if (s->warnings.n)
		app_message(app, false, "warning: %s%s", s->warnings.v[0],
		            s->warnings.n > 1 ? " (and more: nncmp check)" : "");
	app->worker = worker_new();
	triage_open(app);
	app_recompute(app);
	neurons_request(app);
	react(app, RELAYOUT);

	bool was_busy = false;
	while (!got_signal) {
		if (app->worker) {
			react(app, worker_poll(app->worker, app));
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
		draw_dirty(app);
		doupdate();
		if (app->gfx)
			gfx_flush(app->gfx);
		wint_t ch;
		int kr = get_wch(&ch);
		if (kr == ERR)
			continue; /* timeout or a signal: the loop condition decides */
		bool is_key = kr == KEY_CODE_YES;
		int key = (int)ch;
		if (is_key && key == KEY_RESIZE) {
			react(app, RELAYOUT | CLEAR);
			continue;
		}
		if (app->too_small) {
			if (!is_key && (key == 'q' || key == 3))
				break;
			continue;
		}
		int flags;
		if (app->cmd_active)
			flags = cmdline_key(app, ch, is_key);
		else if (app->help)
			flags = help_key(app, key);
		else if (app->view && !(is_key == false && key == ':'))
			flags = view_key(app, key, is_key);
		else {
			/* a character that is not ASCII may share its number with a KEY_ code */
			const struct action *act =
			    !is_key && key > 255 ? NULL : action_for_key(key);
			if (!act)
				continue;
			if (app->msg[0]) {
				app->msg[0] = '\0';
				app->msg_dirty = true;
			}
			flags = act->run(app);
		}
		if (flags & QUIT)
			break;
		react(app, flags);
	}
	if (app->gfx)
		gfx_hide_all(app->gfx);
	windows_free(app);
	endwin();
	gfx_free(app->gfx);
	app->gfx = NULL;
	int sig = got_signal;
	app_free(app);
	if (sig)
		fprintf(stderr, "nncmp: stopped by signal %d\n", sig);
	return sig ? 128 + sig : 0;
}
