/*
 * view_review.c — the review queue (R): the suspects of the default label-issue method (or of an
 * overview cell), one at a time: accept the suggestion, keep, relabel (0-9 or a type-to-search
 * class picker), remove, skip, undo; marks for bulk decisions, which wait for Enter. Its keys are
 * the mode "review"; the picker and a batch waiting for Enter take every key first (capture).
 * The scores are computed on the worker (issues.h) from the labels as the journal has them,
 * leaving decided instances out; :rescore recomputes them.
 */
#include "triage.h"
#include "views.h"
#include "worker.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nncmp/issues.h"
#include "nncmp/journal.h"
#include "nncmp/keysort.h"
#include "nncmp/text.h"

#define PICK_MAX 64

struct review {
	const struct study *s;
	enum issue_method method;
	/*
	 * The journal's labels and statuses, which compute copies into labels and exclude (the
	 * decided ones) on the worker, so that opening the queue costs the UI thread no O(N) work.
	 * The journal is not written while it computes: decisions and undo are this view's own
	 * keys, which wait until it is ready, and the worker runs one job at a time, so an earlier
	 * queue's job has ended before a later one takes keys; the journal is replaced only on the
	 * UI thread (triage_writable), which leaves the old one to the worker to free once a job
	 * still running (a queue closed while it ranked) has ended, and the last one is closed
	 * after the worker is freed.
	 */
	struct journal *j; /* compute also prepares its first apply (journal_prepare_apply) */
	const int32_t *j_labels;
	const uint8_t *j_status;
	uint8_t *exclude;
	int32_t *labels;
	uint32_t *cell; /* from the overview: only these instances */
	size_t n_cell;
	char title[200];
	struct issue_list list;
	/* the queue: instances in order of suspicion */
	uint32_t *queue;
	int32_t *suggested; /* per queue entry */
	double *score;
	size_t n;
	uint8_t *marked; /* per instance */
	size_t n_marked;
	/* a decision on several samples waits for Enter (Esc cancels) */
	struct decision_req *pending;
	size_t n_pending;
	char pending_what[200];
	/* the undecided entries (left_in_queue), as journal left_gen was at left_seq */
	uint64_t left_gen, left_seq;
	bool left_known;
	size_t left;
	/* the class picker */
	bool positioned; /* the cursor was put on the first undecided entry */
	bool picking;
	char pick[PICK_MAX];
	size_t pick_cur;
};

static void *review_prepare(struct app *app, struct nn_err *err)
{
	struct triage *tr = app->tr;
	if (!triage_journal_on()) {
		nn_err_set(err,
		           "--no-journal: triage is off (open the study without it to review)");
		return NULL;
	}
	if (!tr || !tr->j) {
		/* the journal was refused (another study's, a changed study): say why */
		nn_err_set(err, "%s",
		           tr && tr->why_ro[0] ? tr->why_ro : "no journal for this study");
		return NULL;
	}
	triage_writable(app); /* read-only (with its message) when another nncmp has it */
	if (!tr->j) {         /* the journal could not be read again (triage_writable says why) */
		nn_err_set(err, "the journal cannot be read: %s", tr->why_ro);
		return NULL;
	}
	const struct study *s = app->s;
	struct review *r = xcalloc(1, sizeof *r);
	r->s = s;
	r->method = issue_method_default(s);
	r->j = tr->j;
	r->j_labels = journal_labels(tr->j);
	r->j_status = journal_status(tr->j);
	r->marked = xcalloc(s->n ? s->n : 1, 1); /* fresh zero pages: nothing touched yet */
	if (tr->cell) {
		r->cell = tr->cell;
		r->n_cell = tr->n_cell;
		tr->cell = NULL;
		snprintf(r->title, sizeof r->title, "%s", tr->cell_title);
	}
	return r;
}

/* Worker: ranks the suspects and builds the queue (the flagged ones, or the cell's samples). */
static int review_compute(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	struct review *r = ctx;
	const struct study *s = r->s;
	journal_prepare_apply(r->j); /* so that the first decision costs what it changes */
	/* tests only: a ranking that waits, so that a test can close and reopen the queue before
	 * it reads the journal (tests/screen/review_trust.sh) */
	worker_test_sleep("NNCMP_TEST_REVIEW_DELAY_MS");
	r->exclude = xcalloc(s->n ? s->n : 1, 1);
	r->labels = xcalloc(s->n ? s->n : 1, sizeof *r->labels);
	memcpy(r->labels, r->j_labels, s->n * sizeof *r->labels);
	for (size_t i = 0; i < s->n; i++)
		r->exclude[i] = status_decided(r->j_status[i]);
	struct issue_opts o = {.model = -1, .exclude = r->exclude, .labels = r->labels};
	if (issues_rank(s, r->method, &o, prog, &r->list, err) != 0)
		return -1;
	int32_t *sugg = xcalloc(s->n ? s->n : 1, sizeof *sugg);
	for (size_t i = 0; i < s->n; i++)
		sugg[i] = r->labels[i];
	for (size_t k = 0; k < r->list.n; k++)
		sugg[r->list.index[k]] = r->list.suggested[k];
	if (r->cell) {
		r->n = r->n_cell;
		r->queue = xcalloc(r->n ? r->n : 1, sizeof *r->queue);
		memcpy(r->queue, r->cell, r->n * sizeof *r->queue);
		/* highest score first, NaN last, ties by index */
		keysort_index(r->queue, r->n);
		keysort_by(r->queue, r->n, r->list.all_scores, true);
	} else {
		r->n = r->list.count;
		r->queue = xcalloc(r->n ? r->n : 1, sizeof *r->queue);
		memcpy(r->queue, r->list.index, r->n * sizeof *r->queue);
	}
	r->suggested = xcalloc(r->n ? r->n : 1, sizeof *r->suggested);
	r->score = xcalloc(r->n ? r->n : 1, sizeof *r->score);
	for (size_t k = 0; k < r->n; k++) {
		r->suggested[k] = sugg[r->queue[k]];
		r->score[k] = r->list.all_scores[r->queue[k]];
	}
	free(sugg);
	return 0;
}

static size_t review_rows(const void *ctx)
{
	const struct review *r = ctx;
	return r->n;
}

static void review_free(void *ctx)
{
	struct review *r = ctx;
	issue_list_free(&r->list);
	free(r->exclude);
	free(r->labels);
	free(r->cell);
	free(r->queue);
	free(r->suggested);
	free(r->score);
	free(r->marked);
	free(r->pending);
	free(r);
}

/* The queue entry's instance, or SIZE_MAX. */
static size_t entry(const struct review *r, size_t k)
{
	return k < r->n ? r->queue[k] : SIZE_MAX;
}

static bool undecided(const struct app *app, size_t i)
{
	if (!app->tr->j)
		return false; /* the journal could not be read again: nothing to decide */
	uint8_t st = journal_status(app->tr->j)[i];
	return st == STATUS_UNDECIDED || st == STATUS_SKIPPED; /* skip is not a decision */
}

/* Moves the cursor to the first undecided entry at or after from (or keeps it). */
static void next_open(const struct app *app, const struct review *r, struct view_nav *nav,
                      size_t from)
{
	for (size_t k = from; k < r->n; k++)
		if (undecided(app, r->queue[k])) {
			nav->cur = k;
			return;
		}
}

/* The undecided entries: counted again only when the journal changed (a frame that only moves
 * the cursor costs no pass over a long queue). */
static size_t left_in_queue(const struct app *app, struct review *r)
{
	const struct journal *j = app->tr->j;
	if (j && r->left_known && r->left_gen == app->tr->j_gen &&
	    r->left_seq == journal_last_seq(j))
		return r->left;
	size_t n = 0;
	for (size_t k = 0; k < r->n; k++)
		n += undecided(app, r->queue[k]);
	r->left_known = j != NULL;
	r->left_gen = app->tr->j_gen;
	r->left_seq = j ? journal_last_seq(j) : 0;
	r->left = n;
	return n;
}

/* Classes whose name contains the picker's text (case-insensitive), in class order. */
static size_t pick_matches(const struct app *app, const struct review *r, int32_t *out, size_t max)
{
	size_t n = 0, pl = strlen(r->pick);
	for (size_t c = 0; c < app->s->n_classes && n < max; c++) {
		const char *name = app->s->classes[c];
		bool ok = pl == 0;
		for (const char *p = name; !ok && *p; p++)
			ok = strncasecmp(p, r->pick, pl) == 0;
		if (ok)
			out[n++] = (int32_t)c;
	}
	return n;
}

/* The label a decision starts from: the journal's current one. */
static int32_t current_label(const struct app *app, size_t i)
{
	return app->tr->j ? journal_labels(app->tr->j)[i] : study_given(app->s)[i];
}

/*
 * The decision for queue entry k: `accept` gives the entry its own suggestion; otherwise action
 * a with label. A relabel to the label it has already is a keep; keep means the given label.
 */
static struct decision_req entry_req(const struct app *app, const struct review *r, size_t k,
                                     bool accept, enum decision_action a, int32_t label)
{
	uint32_t i = r->queue[k];
	if (accept) {
		int32_t sg = r->suggested[k];
		if (sg == current_label(app, i))
			return (struct decision_req){.index = i, .action = DECIDE_KEEP};
		return (struct decision_req){.index = i, .action = DECIDE_RELABEL, .label = sg};
	}
	/* keeping the given label of a sample relabelled before is relabelling it back */
	int32_t given = study_given(app->s)[i];
	if (a == DECIDE_KEEP && current_label(app, i) != given)
		return (struct decision_req){.index = i, .action = DECIDE_RELABEL, .label = given};
	/* relabelling to the label it has is confirming it */
	if (a == DECIDE_RELABEL && label == current_label(app, i))
		return (struct decision_req){.index = i, .action = DECIDE_KEEP};
	return (struct decision_req){.index = i, .action = a, .label = label};
}

/* "3 relabelled, 1 kept": what a batch does, per action. */
static void batch_summary(const struct app *app, const struct decision_req *req, size_t n,
                          bool accept, char *buf, size_t size)
{
	size_t cnt[4] = {0};
	int32_t to = 0; /* the class of the relabels, when they all have one */
	for (size_t k = 0; k < n; k++) {
		cnt[req[k].action]++;
		if (req[k].action == DECIDE_RELABEL)
			to = req[k].label;
	}
	static const char *const done[4] = {"relabelled", "kept", "removed", "skipped"};
	size_t o = 0;
	buf[0] = '\0';
	for (int a = 0; a < 3; a++) {
		if (!cnt[a])
			continue;
		int w;
		if (a == DECIDE_RELABEL && accept)
			w = snprintf(buf + o, size - o, "%s%zu relabelled to their own suggestions",
			             o ? ", " : "", cnt[a]);
		else if (a == DECIDE_RELABEL)
			w = snprintf(buf + o, size - o, "%s%zu relabelled to %.60s", o ? ", " : "",
			             cnt[a], app->class_names[to]);
		else
			w = snprintf(buf + o, size - o, "%s%zu %s", o ? ", " : "", cnt[a], done[a]);
		if (w < 0 || (size_t)w >= size - o)
			return;
		o += (size_t)w;
	}
	/* the first relabels, so the user sees what "their own" means before confirming */
	size_t shown = 0;
	for (size_t k = 0; accept && k < n && shown < 3; k++) {
		if (req[k].action != DECIDE_RELABEL)
			continue;
		const int32_t *lab = journal_labels(app->tr->j);
		int w = snprintf(buf + o, size - o, "%s#%u %.20s%s%.20s", shown ? ", " : " (",
		                 req[k].index, app->class_names[lab[req[k].index]],
		                 glyph(app, "\xe2\x86\x92", "->"), app->class_names[req[k].label]);
		if (w < 0 || (size_t)w >= size - o)
			return;
		o += (size_t)w;
		shown++;
	}
	if (shown)
		snprintf(buf + o, size - o, "%s)", shown < cnt[DECIDE_RELABEL] ? ", ..." : "");
}

/* Writes a batch to the journal; durable before the screen changes. */
static int commit(struct app *app, struct review *r, struct view_nav *nav,
                  const struct decision_req *req, size_t n, const char *what)
{
	struct nn_err err = {{0}};
	if (journal_decide_batch(app->tr->j, req, n, &err) != 0) {
		app_message(app, true, "not saved: %s", err.msg);
		return REDRAW_STATUS;
	}
	for (size_t k = 0; k < n; k++)
		if (r->marked[req[k].index]) {
			r->marked[req[k].index] = 0;
			r->n_marked--;
		}
	int flags = triage_applied(app);
	if (n == 1)
		app_message(app, false, "#%u %s (saved; u undoes)", req[0].index, what);
	else
		app_message(app, false, "%zu samples: %s (saved; u undoes all %zu)", n, what, n);
	next_open(app, r, nav, nav->cur);
	return flags;
}

/*
 * Whether decisions can be written, trying again to take the journal when it was read-only (the
 * other nncmp may have quit since): then the panes take what that one decided, if anything
 * (triage_writable marks it), and *flags gets what they need redrawn. False with the reason on
 * the status line.
 */
static bool review_take(struct app *app, int *flags)
{
	struct triage *tr = app->tr;
	if (!tr->j)
		return false;
	if (!tr->read_only)
		return true;
	if (!triage_writable(app)) /* it says why, as things are now */
		return false;
	*flags |= triage_poll(app); /* a refilter only when the journal changed meanwhile */
	return true;
}

/*
 * A decision on the marked entries (in queue order), or on the cursor's entry when none is
 * marked: accept gives each its own suggestion, the other actions apply a (and label) to each.
 * One sample is decided at once; several wait for Enter, the screen saying what will change.
 */
static int decide(struct app *app, struct review *r, struct view_nav *nav, bool accept,
                  enum decision_action a, int32_t label)
{
	int took = 0;
	if (!review_take(app, &took))
		return REDRAW_STATUS;
	size_t n = 0;
	struct decision_req *req;
	if (r->n_marked) {
		req = xcalloc(r->n_marked, sizeof *req);
		for (size_t k = 0; k < r->n && n < r->n_marked; k++)
			if (r->marked[r->queue[k]])
				req[n++] = entry_req(app, r, k, accept, a, label);
	} else {
		if (nav->cur >= r->n)
			return 0;
		req = xcalloc(1, sizeof *req);
		req[n++] = entry_req(app, r, nav->cur, accept, a, label);
	}
	char what[200];
	if (n == 1 && req[0].action == DECIDE_RELABEL)
		snprintf(what, sizeof what, "relabelled to %.60s", app->class_names[req[0].label]);
	else if (n == 1)
		snprintf(what, sizeof what, "%s",
		         journal_status_name(req[0].action == DECIDE_KEEP ? STATUS_KEPT
		                                                          : STATUS_REMOVED));
	else
		batch_summary(app, req, n, accept, what, sizeof what);
	if (n == 1) {
		int flags = commit(app, r, nav, req, n, what);
		free(req);
		return flags | took;
	}
	free(r->pending);
	r->pending = req;
	r->n_pending = n;
	snprintf(r->pending_what, sizeof r->pending_what, "%s", what);
	return REDRAW_STATUS | took;
}

/* Enter carries out the pending batch; any other key cancels it. */
/* The review's own keys and the picker's (defined with their handlers below). */
static struct keymode review_keys;
struct keymode picker_keys;

static int confirm_key(struct app *app, struct review *r, struct view_nav *nav, int key)
{
	struct decision_req *req = r->pending;
	size_t n = r->n_pending;
	r->pending = NULL;
	r->n_pending = 0;
	int flags = REDRAW_STATUS;
	const struct key_action *a = keymode_find(&review_keys, key);
	if (a && strcmp(a->name, "confirm") == 0)
		flags = commit(app, r, nav, req, n, r->pending_what);
	else
		app_message(app, false, "cancelled: nothing changed (%zu still marked)",
		            r->n_marked);
	free(req);
	return flags;
}

/* The class picker and a batch waiting for Enter take every key; -1 otherwise. */
static int review_capture(struct app *app, void *ctx, struct view_nav *nav, int key)
{
	struct review *r = ctx;
	if (r->pending)
		return confirm_key(app, r, nav, key);
	if (!r->picking)
		return -1;
	const struct key_action *a = keymode_find(&picker_keys, key);
	if (a)
		return a->run(app, r, nav, a->arg);
	size_t len = strlen(r->pick);
	if (key >= 0x20 && key < 0x7f && len + 1 < PICK_MAX) { /* typed: the search narrows */
		r->pick[len] = (char)key;
		r->pick[len + 1] = '\0';
		r->pick_cur = 0;
	}
	return 0;
}

/* The picker's keys: arg 0 close it, 1 relabel to the class under its cursor, 2 erase the last
 * character typed, 3 and 4 the next and the previous class. */
static int pact(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	struct review *r = ctx;
	int32_t m[PICK_MAX];
	size_t nm = pick_matches(app, r, m, PICK_MAX);
	size_t len = strlen(r->pick);
	switch (arg) {
	case 0:
		r->picking = false;
		break;
	case 1:
		r->picking = false;
		if (nm)
			return decide(app, r, nav, false, DECIDE_RELABEL,
			              m[r->pick_cur < nm ? r->pick_cur : 0]);
		break;
	case 2:
		if (len)
			r->pick[len - 1] = '\0';
		r->pick_cur = 0;
		break;
	case 3:
		if (r->pick_cur + 1 < nm)
			r->pick_cur++;
		break;
	default:
		if (r->pick_cur)
			r->pick_cur--;
		break;
	}
	return 0;
}

static struct key_action picker_acts[] = {
    {"cancel", "close the picker, nothing decided", pact, 0, K(KEY_ESC)},
    {"choose", "relabel to the class under the cursor", pact, 1, K('\n', '\r', KEY_ENTER)},
    {"erase", "erase the last character typed", pact, 2, K(KEY_BACKSPACE, 127, 8)},
    {"next", "the next matching class", pact, 3, K(KEY_DOWN, '\t')},
    {"prev", "the previous matching class", pact, 4, K(KEY_UP, KEY_BTAB)},
};
KEYMODE(picker_keys, "picker", "Keys of the review's class picker (other keys type)", picker_acts);

/* Enter with a batch waiting (confirm_key runs it); nothing otherwise. */
static int ract_confirm(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)app;
	(void)ctx;
	(void)nav;
	(void)arg;
	return 0;
}

/* The decisions: arg 0 accept the suggestion, 1 keep the given label, 2 remove. */
static int ract_decide(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	struct review *r = ctx;
	if (entry(r, nav->cur) == SIZE_MAX)
		return 0;
	if (arg == 0)
		return decide(app, r, nav, true, DECIDE_RELABEL, 0);
	return decide(app, r, nav, false, arg == 1 ? DECIDE_KEEP : DECIDE_REMOVE, 0);
}

/* 0-9: relabel to class arg (when the study has it). */
static int ract_relabel(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	struct review *r = ctx;
	if (entry(r, nav->cur) == SIZE_MAX || arg < 0 || (size_t)arg >= app->s->n_classes)
		return 0;
	return decide(app, r, nav, false, DECIDE_RELABEL, (int32_t)arg);
}

/* Not a decision: on to the next undecided sample, nothing written. */
static int ract_skip(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)arg;
	struct review *r = ctx;
	next_open(app, r, nav, nav->cur + 1);
	return 0;
}

/* The type-to-search class picker. */
static int ract_pick(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)app;
	(void)arg;
	struct review *r = ctx;
	if (entry(r, nav->cur) == SIZE_MAX)
		return 0;
	r->picking = true;
	r->pick[0] = '\0';
	r->pick_cur = 0;
	return 0;
}

/* m: marks the cursor's sample (and moves on); M (arg 1): every undecided one, or none. */
static int ract_mark(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	struct review *r = ctx;
	size_t i = entry(r, nav->cur);
	if (i == SIZE_MAX)
		return 0;
	if (arg == 0) {
		r->marked[i] = !r->marked[i];
		r->n_marked += r->marked[i] ? 1 : (size_t)-1;
		if (nav->cur + 1 < r->n)
			nav->cur++;
		return 0;
	}
	bool clear = r->n_marked > 0;
	memset(r->marked, 0, app->s->n);
	r->n_marked = 0;
	for (size_t k = 0; !clear && k < r->n; k++)
		if (undecided(app, r->queue[k])) {
			r->marked[r->queue[k]] = 1;
			r->n_marked++;
		}
	return 0;
}

/* Undoes the newest decision (a batch at once) and shows its first sample. */
static int ract_undo(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)arg;
	struct review *r = ctx;
	if (!app->tr->j)
		return REDRAW_STATUS;
	if (app->tr->read_only) {
		/* not taken here: the newest batch would be the other nncmp's */
		app_message(app, true, "triage is read-only: %s", app->tr->why_ro);
		return REDRAW_STATUS;
	}
	size_t n_undone = 0;
	struct nn_err err = {{0}};
	const struct decision *d;
	size_t nd;
	d = journal_decisions(app->tr->j, &nd);
	/* the first sample of the newest live batch, to show it after the undo */
	size_t back = SIZE_MAX;
	for (size_t k = nd; k-- > 0;)
		if (!d[k].undone) {
			while (k > 0 && d[k - 1].batch == d[k].batch)
				k--;
			back = d[k].index;
			break;
		}
	if (journal_undo(app->tr->j, &n_undone, &err) != 0) {
		app_message(app, true, "%s", err.msg);
		return REDRAW_STATUS;
	}
	for (size_t k = 0; back != SIZE_MAX && k < r->n; k++)
		if (r->queue[k] == back) {
			nav->cur = k;
			break;
		}
	int flags = triage_applied(app);
	app_message(app, false, "undid %zu decision%s", n_undone, n_undone == 1 ? "" : "s");
	return flags;
}

#define RELABEL(d)                                                                                 \
	{                                                                                          \
		"relabel-" #d, "relabel to class " #d, ract_relabel, d, K('0' + d)                 \
	}

static struct key_action review_acts[] = {
    {"accept", "accept the suggestion (each marked sample its own)", ract_decide, 0, K('a')},
    {"keep", "keep the given label", ract_decide, 1, K('c')},
    {"remove", "remove the sample", ract_decide, 2, K('x')},
    {"relabel", "relabel: a type-to-search class picker", ract_pick, 0, K('r')},
    {"skip", "skip: on to the next, no decision", ract_skip, 0, K('s')},
    {"undo", "undo the last decision (a batch at once)", ract_undo, 0, K('u')},
    {"mark", "mark the sample (the next decision applies to every marked one)", ract_mark, 0,
     K('m')},
    {"mark-all", "mark every undecided sample, or none", ract_mark, 1, K('M')},
    {"saliency", "model A's explanation map over the image, or not", saliency_toggle, 0, K('S')},
    {"confirm", "carry out a decision on several marked samples (other keys cancel it)",
     ract_confirm, 0, K('\n', '\r', KEY_ENTER)},
    RELABEL(0),
    RELABEL(1),
    RELABEL(2),
    RELABEL(3),
    RELABEL(4),
    RELABEL(5),
    RELABEL(6),
    RELABEL(7),
    RELABEL(8),
    RELABEL(9),
};
static KEYMODE(review_keys, "review", "Keys of the review queue", review_acts);

/* The hint line of the review's keys, from its table: "a accept  c keep ...". */
static void review_hint(char *buf, size_t size, const char *const *names, size_t n)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t k = 0; k < n; k++) {
		const char *label = names[k] + strlen(names[k]) + 1; /* after the name's NUL */
		const char *name = names[k];
		char kb[24];
		const struct keymode *m =
		    strncmp(name, "view.", 5) == 0 ? &view_keys : &review_keys;
		if (m == &view_keys)
			name += 5;
		keymode_key(m, name, kb, sizeof kb);
		/* "0-9 relabel": a label that goes on from the key starts with '-' */
		int w = snprintf(buf + o, size - o, "%s%s%s%s", o ? "  " : "", kb,
		                 label[0] == '-' ? "" : " ", label);
		if (w < 0 || (size_t)w >= size - o)
			return;
		o += (size_t)w;
	}
}

/* Draws the picker's matches in a box at the right of the window. */
static void picker_draw(struct app *app, const struct review *r, WINDOW *w)
{
	int H = getmaxy(w), W = getmaxx(w);
	int bw = W / 3 < 30 ? (W < 32 ? W - 2 : 30) : W / 3, x0 = W - bw - 1;
	int32_t m[PICK_MAX];
	size_t nm = pick_matches(app, r, m, PICK_MAX);
	char line[PICK_MAX + 32];
	snprintf(line, sizeof line, " relabel to: %s_", r->pick);
	draw_safe(app, w, 2, x0, bw, line, role_attr(ROLE_FOCUS), true);
	/* the names whole when every match fits, else abbreviated as the instance table does, so
	 * that names sharing a long prefix stay apart (cut to one width they read alike) */
	int room = bw - 4;
	char *const *names = app->class_names;
	for (size_t k = 0; k < nm; k++)
		if (text_cols(app->class_names[m[k]]) > room)
			names = app_class_abbrev(app, room, NULL);
	int y = 3;
	for (size_t k = 0; k < nm && y < H - 1; k++, y++) {
		attr_t a = role_attr(k == r->pick_cur ? ROLE_SELECTION : ROLE_NORMAL);
		draw_safe(app, w, y, x0, bw, "", a, true);
		snprintf(line, sizeof line, "%3d ", m[k]);
		int x = draw_safe(app, w, y, x0, bw, line, a, false);
		draw_text(app, w, y, x0 + x, bw - x, names[m[k]], a, false);
	}
	if (nm == 0)
		draw_safe(app, w, y, x0, bw, " no class matches", role_attr(ROLE_DIM), true);
}

static void review_draw(struct app *app, void *ctx, WINDOW *w, struct view_nav *nav)
{
	struct review *r = ctx;
	const struct study *s = app->s;
	int H = getmaxy(w), W = getmaxx(w);
	if (!app->tr->j) { /* lost when taking it failed and reading it again failed too */
		werase(w);
		char line[400];
		snprintf(line, sizeof line, " the journal cannot be read: %.300s (Esc closes)",
		         app->tr->why_ro);
		draw_safe(app, w, 0, 0, W, line, role_attr(ROLE_WRONG), false);
		return;
	}
	const uint8_t *st = journal_status(app->tr->j);
	const int32_t *lab = journal_labels(app->tr->j);
	if (!r->positioned) {
		r->positioned = true;
		next_open(app, r, nav, 0);
	}
	/* the queue, then the journal's decisions, which add up, then the errors expected */
	size_t left = left_in_queue(app, r);
	struct journal *j = app->tr->j;
	size_t relab = journal_count(j, DECIDE_RELABEL), removed = journal_count(j, DECIDE_REMOVE);
	size_t kept = journal_count(j, DECIDE_KEEP), decided = relab + removed + kept;
	char est[120];
	if (decided > 0)
		snprintf(est, sizeof est, "errors left ~%.0f (%zu of %zu decision%s so far %s)",
		         (double)left * (double)(relab + removed) / (double)decided,
		         relab + removed, decided, decided == 1 ? "" : "s",
		         relab + removed == 1 ? "was an error" : "were errors");
	else if (r->cell) /* a cell of the overview: every sample in it is misclassified */
		snprintf(est, sizeof est, "errors left ~%zu (no decisions yet: every sample here)",
		         left);
	else
		snprintf(est, sizeof est, "errors left ~%zu (%s's own estimate; no decisions yet)",
		         r->list.estimated, issue_method_name(r->method));
	char line[640];
	int n =
	    snprintf(line, sizeof line,
	             "%s%s%s: %zu %s, %zu left  |  decided %zu = %zu relabelled + %zu removed + "
	             "%zu kept",
	             issue_method_name(r->method), r->title[0] ? " " : "", r->title, r->n,
	             r->cell ? "in this cell" : "flagged", left, decided, relab, removed, kept);
	/* on a narrow screen the estimate gets a row of its own, and the rest moves down one */
	int off = n < 0 || (size_t)n >= sizeof line || text_cols(line) + 5 + text_cols(est) > W - 2;
	if (!off)
		snprintf(line + n, sizeof line - (size_t)n, "  |  %s", est);
	draw_text(app, w, 1, 1, W - 2, line, role_attr(ROLE_HEADER), false);
	if (off)
		draw_text(app, w, 2, 1, W - 2, est, role_attr(ROLE_HEADER), false);
	if (r->pending) {
		/* what the batch does, cut when it must: the keys that answer always show */
		char kc[24], keys[64];
		snprintf(keys, sizeof keys, "?  %s confirms, Esc cancels",
		         keymode_key(&review_keys, "confirm", kc, sizeof kc));
		snprintf(line, sizeof line, "%zu samples: %s", r->n_pending, r->pending_what);
		int kw = text_cols(keys), lw0 = W - 2 - kw;
		int x0 = 1 + draw_text(app, w, 2 + off, 1, lw0 > 1 ? lw0 : 1, line,
		                       role_attr(ROLE_FOCUS) | A_BOLD, false);
		draw_safe(app, w, 2 + off, x0, W - 1 - x0, keys, role_attr(ROLE_FOCUS) | A_BOLD,
		          false);
	} else if (r->n_marked) {
		snprintf(line, sizeof line, "%zu marked: the next decision applies to each of them",
		         r->n_marked);
		draw_safe(app, w, 2 + off, 1, W - 2, line, role_attr(ROLE_ONLY_B), false);
	}
	if (r->n == 0) {
		draw_safe(app, w, 4 + off, 2, W - 4,
		          "nothing flagged: no suspect left (:rescore after relabelling)",
		          role_attr(ROLE_DIM), false);
		return;
	}
	view_clamp(nav, r->n, 1);
	size_t i = r->queue[nav->cur];
	char idb[32];
	snprintf(line, sizeof line, "%zu/%zu  #%zu  id ", nav->cur + 1, r->n, i);
	int x =
	    draw_safe(app, w, 3 + off, 1, W - 2, line, role_attr(ROLE_NORMAL) | A_BOLD, false) + 1;
	x += draw_text(app, w, 3 + off, x, W - x - 1, study_instance_id(s, i, idb, sizeof idb),
	               role_attr(ROLE_NORMAL) | A_BOLD, false);
	if (r->marked[i])
		x += draw_safe(app, w, 3 + off, x, W - x, "  [marked]", role_attr(ROLE_ONLY_B),
		               false);
	int y = 4 + off;
	/* the two names whole when they fit, else abbreviated so that the classes stay apart
	 * (class-name-07 and class-name-08 cut to one width would both read class-na…) */
	int32_t gl = study_given(s)[i], sl = r->suggested[nav->cur];
	snprintf(line, sizeof line, "   score %.3f", r->score[nav->cur]);
	int room = W - 3 - text_cols("given ") - text_cols("   suggested ") - text_cols(line);
	const char *gname = app->class_names[gl], *sname = app->class_names[sl];
	if (text_cols(gname) + text_cols(sname) > room) {
		char *const *ab = app_class_abbrev(app, room / 2, NULL);
		gname = ab[gl];
		sname = ab[sl];
	}
	x = draw_safe(app, w, y, 1, W - 2, "given ", role_attr(ROLE_DIM), false) + 1;
	x += draw_safe(app, w, y, x, W - x - 1, gname, role_attr(ROLE_WRONG) | A_BOLD, false);
	x += draw_safe(app, w, y, x, W - x - 1, "   suggested ", role_attr(ROLE_DIM), false);
	x += draw_safe(app, w, y, x, W - x - 1, sname, role_attr(ROLE_RIGHT) | A_BOLD, false);
	x += draw_safe(app, w, y, x, W - x - 1, line, role_attr(ROLE_DIM), false);
	y++;
	if (!undecided(app, i)) {
		snprintf(line, sizeof line, "decided: %s%s%.60s  (u undoes the last decision)",
		         journal_status_name((enum decision_status)st[i]),
		         st[i] == STATUS_RELABELLED ? " to " : "",
		         st[i] == STATUS_RELABELLED ? s->classes[lab[i]] : "");
		draw_text(app, w, y, 1, W - 2, line, role_attr(ROLE_ONLY_A) | A_BOLD, false);
	}
	y += 2;
	/* the sample on the left, the models' probabilities on the right */
	int lw = W / 2, body = H - y - 3;
	if (body > 0)
		detail_sample(app, w, y, 1, body, lw - 2, i, GFX_SLOT_REVIEW);
	if (body > 0)
		detail_models(app, w, y, lw + 1, body, W - lw - 2, i);
	/* the keys */
	/* "name\0label": the keys as the tables have them now */
	static const char *const n1[] = {"accept\0accept suggestion",
	                                 "keep\0keep given",
	                                 "relabel\0relabel...",
	                                 "relabel-0\0-9 relabel to class",
	                                 "remove\0remove",
	                                 "skip\0skip (no decision)",
	                                 "undo\0undo"};
	static const char *const n2[] = {
	    "mark\0mark",  "mark-all\0mark all/none", "view.down\0down",
	    "view.up\0up", "view.help\0keys",         "view.close\0close  :rescore  :export PATH"};
	char k1[320], k2[320];
	review_hint(k1, sizeof k1, n1, sizeof n1 / sizeof *n1);
	review_hint(k2, sizeof k2, n2, sizeof n2 / sizeof *n2);
	draw_safe(app, w, H - 2, 1, W - 2, k1, role_attr(ROLE_KEY), false);
	draw_safe(app, w, H - 1, 1, W - 2, k2, role_attr(ROLE_DIM), false);
	if (r->picking)
		picker_draw(app, r, w);
}

/* A queue entry matches by its id, given label or suggestion. */
static bool review_match(const struct app *app, const void *ctx, size_t row, const char *text)
{
	const struct review *r = ctx;
	if (row >= r->n)
		return false;
	const struct study *s = app->s;
	size_t i = r->queue[row];
	char idb[32];
	return search_has(study_instance_id(s, i, idb, sizeof idb), text) ||
	       search_has(s->classes[study_given(s)[i]], text) ||
	       search_has(s->classes[r->suggested[row]], text);
}

const struct view_class view_review = {
    .name = "review",
    .title = "Review queue: likely label errors, one at a time",
    .help = "review the suspects of the default label-issue method",
    .prepare = review_prepare,
    .compute = review_compute,
    .draw = review_draw,
    .rows = review_rows,
    .keys = &review_keys,
    .capture = review_capture,
    .match = review_match,
    .enter = NULL,
    .free = review_free,
    .free_anywhere = true,
};
