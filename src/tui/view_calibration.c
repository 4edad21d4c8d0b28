/*
 * view_calibration.c — models A and B side by side: each one's reliability diagram over ECE_BINS
 * equal-width bins of confidence (calibration.h, the numbers of `nncmp calibration --json`):
 * per bin its instances, their accuracy as a bar with the bin's mean confidence marked on it
 * (where a calibrated model's bar would end), and the histograms of the confidence of the right
 * and of the wrong predictions. Every bar has its number beside it, so it reads without colour.
 * The diagrams are computed on the worker, on opening and when a key changes a side's model (the
 * old diagram stays, dimmed, until the new one lands), so no key waits for a pass over the
 * probabilities.
 */
#include "views.h"

#include <math.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "nncmp/calibration.h"
#include "nncmp/metrics.h"

struct cview {
	const struct study *s;
	size_t model[2]; /* the models asked for, left and right */
	size_t shown[2]; /* the models cb[] holds (another while its job runs) */
	bool have[2];    /* false: the model has only predictions */
	struct calibration cb[2];
};

/* The diagrams of the sides whose model is not the one shown (want), on the worker. */
struct cjob {
	const struct study *s;
	size_t want[2];
	bool redo[2], have[2];
	struct calibration cb[2];
};

static void side_compute(const struct study *s, size_t m, struct calibration *cb, bool *have)
{
	*have = calibration_compute(s, m, ECE_BINS, cb) == 0;
}

static void *calib_prepare(struct app *app, struct nn_err *err)
{
	const struct study *s = app->s;
	bool any = false;
	for (size_t m = 0; m < s->n_models; m++)
		any = any || model_has_probs(&s->models[m]);
	if (!any) {
		nn_err_set(err, "no model has probabilities or logits (only predictions)");
		return NULL;
	}
	struct cview *d = xcalloc(1, sizeof *d);
	d->s = s;
	d->model[0] = d->shown[0] = app->a;
	d->model[1] = d->shown[1] = app->b;
	return d;
}

/* Both sides' diagrams: one pass over the probabilities each, on the worker. */
static int calib_compute(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	struct cview *d = ctx;
	atomic_store(&prog->total, 2);
	for (int k = 0; k < 2; k++) {
		if (atomic_load(&prog->cancel))
			return nn_err_set(err, "cancelled");
		side_compute(d->s, d->shown[k], &d->cb[k], &d->have[k]);
		atomic_fetch_add(&prog->done, 1);
	}
	return 0;
}

static int cjob_run(void *p, struct nn_progress *prog, struct nn_err *err)
{
	struct cjob *j = p;
	for (int k = 0; k < 2; k++) {
		if (atomic_load(&prog->cancel))
			return nn_err_set(err, "cancelled");
		if (j->redo[k])
			side_compute(j->s, j->want[k], &j->cb[k], &j->have[k]);
	}
	return 0;
}

/* UI thread: the new sides replace the shown ones (their results move into the view). */
static void cjob_done(void *ctx, void *p, int rc, const struct nn_err *err)
{
	(void)err;
	struct cview *d = ctx;
	struct cjob *j = p;
	for (int k = 0; k < 2 && rc == 0; k++) {
		if (!j->redo[k])
			continue;
		if (d->have[k])
			calibration_free(&d->cb[k]);
		d->cb[k] = j->cb[k];
		d->have[k] = j->have[k];
		d->shown[k] = j->want[k];
		j->have[k] = false;
	}
}

static void cjob_free(void *p)
{
	struct cjob *j = p;
	for (int k = 0; k < 2; k++)
		if (j->have[k])
			calibration_free(&j->cb[k]);
	free(j);
}

static size_t calib_rows(const void *ctx)
{
	(void)ctx;
	return ECE_BINS;
}

static void calib_free(void *ctx)
{
	struct cview *d = ctx;
	for (int k = 0; k < 2; k++)
		if (d->have[k])
			calibration_free(&d->cb[k]);
	free(d);
}

/* One model's diagram in the columns x .. x+W−1 from row y; the cursor's bin highlighted. */
static void draw_side(struct app *app, WINDOW *w, const struct cview *d, int k, int y, int x, int W,
                      size_t cur)
{
	const struct study *s = app->s;
	char line[300];
	const char *name = s->models[d->shown[k]].name;
	if (!d->have[k]) {
		snprintf(line, sizeof line, "%c %.40s: only predictions, no confidence", "AB"[k],
		         name);
		draw_text(app, w, y, x, W, line, role_attr(ROLE_DIM), false);
		return;
	}
	const struct calibration *cb = &d->cb[k];
	if (d->model[k] != d->shown[k])
		/* its model changed: the old diagram stays, dimmed, until the new one lands */
		snprintf(line, sizeof line, "%c %.40s: computing %s (dimmed: %.40s)", "AB"[k],
		         s -> models[d->model[k]].name, glyph(app, "\xe2\x80\xa6", "..."), name);
	else
		snprintf(line, sizeof line,
		         "%c %.40s  ECE %.4f  n %zu  mean conf right %.3f wrong %.3f", "AB"[k],
		         name, cb -> ece, cb -> n, cb -> mean_conf_right, cb -> mean_conf_wrong);
	draw_text(app, w, y, x, W, line, role_attr(ROLE_HEADER) | A_BOLD, false);
	/* columns: conf ≤ (5), n (8: a million instances in one bin still leaves a space), acc
	 * (6), the diagram's bar, right and wrong histograms */
	int fixed = 5 + 8 + 6 + 3;
	int rest = W - fixed;
	if (rest < 9)
		rest = 9;
	int bar = rest * 2 / 5, hist = (rest - bar) / 2 - 1;
	if (hist < 3)
		hist = 3;
	snprintf(line, sizeof line, "%-5s%8s%6s %-*s %-*s %-*s", "conf", "n", "acc", bar,
	         "accuracy (| mean conf)", hist, "right", hist, "wrong");
	draw_safe(app, w, y + 1, x, W, line, role_attr(ROLE_DIM), false);
	/* each histogram on its own scale: the wrong ones are few beside the right */
	int64_t most[2] = {0, 0};
	for (size_t b = 0; b < cb->bins; b++) {
		int64_t r = cb->correct[b], wr = cb->count[b] - cb->correct[b];
		most[0] = r > most[0] ? r : most[0];
		most[1] = wr > most[1] ? wr : most[1];
	}
	for (size_t b = 0; b < cb->bins; b++) {
		int yy = y + 2 + (int)b;
		attr_t a = role_attr(b == cur ? ROLE_SELECTION : ROLE_NORMAL);
		double acc = cb->accuracy[b];
		char accs[16];
		if (isnan(acc))
			snprintf(accs, sizeof accs, "%6s", "-");
		else
			snprintf(accs, sizeof accs, "%6.3f", acc);
		snprintf(line, sizeof line, "%5.3f%8lld%s ", (double)(b + 1) / (double)cb->bins,
		         (long long)cb->count[b], accs);
		int xx = x + draw_safe(app, w, yy, x, W, line, a, false);
		if (!isnan(acc)) {
			/* a calibrated model's bar ends at the mark: shorter is over-confident */
			draw_bar(
			    app, w, yy, xx, bar, acc,
			    role_attr(acc >= cb->mean_conf[b] - 0.05 ? ROLE_RIGHT : ROLE_WRONG));
			int mx = (int)lround(cb->mean_conf[b] * bar);
			mx = mx >= bar ? bar - 1 : mx;
			draw_safe(app, w, yy, xx + mx, 1, "|", role_attr(ROLE_KEY), false);
		}
		xx += bar + 1;
		int64_t r = cb->correct[b], wr = cb->count[b] - cb->correct[b];
		int64_t two[2] = {r, wr};
		for (int h = 0; h < 2; h++) {
			snprintf(accs, sizeof accs, "%lld", (long long)two[h]);
			int t = draw_safe(app, w, yy, xx, hist, accs, a, false);
			if (most[h] > 0)
				draw_bar(app, w, yy, xx + t + 1, hist - t - 1,
				         (double)two[h] / (double)most[h],
				         role_attr(h == 0 ? ROLE_RIGHT : ROLE_WRONG));
			xx += hist + 1;
		}
	}
}

static void calib_draw(struct app *app, void *ctx, WINDOW *w, struct view_nav *nav)
{
	struct cview *d = ctx;
	int H = getmaxy(w), W = getmaxx(w);
	view_clamp(nav, ECE_BINS, ECE_BINS);
	char ka[24], kb[24], line[200];
	snprintf(line, sizeof line,
	         "%s/%s: another model left/right   %d bins: conf in ((b-1)/%d, b/%d]; right and "
	         "wrong each on its own scale",
	         keymode_key(view_own_keys(app), "left-model", ka, sizeof ka),
	         keymode_key(view_own_keys(app), "right-model", kb, sizeof kb), ECE_BINS, ECE_BINS,
	         ECE_BINS);
	draw_safe(app, w, 1, 1, W - 2, line, role_attr(ROLE_DIM), false);
	if (W >= 2 * 58 || H < 2 * (ECE_BINS + 3) + 3) {
		/* side by side; on a narrow, short screen still side by side, with shorter bars */
		int half = (W - 3) / 2;
		draw_side(app, w, d, 0, 3, 1, half, nav->cur);
		draw_side(app, w, d, 1, 3, 2 + half, W - 3 - half, nav->cur);
		if (d->model[0] != d->shown[0])
			view_dim(w, 4, 3 + ECE_BINS + 2, 1, half);
		if (d->model[1] != d->shown[1])
			view_dim(w, 4, 3 + ECE_BINS + 2, 2 + half, W - 3 - half);
	} else {
		int y1 = 3 + ECE_BINS + 3;
		draw_side(app, w, d, 0, 3, 1, W - 2, nav->cur);
		draw_side(app, w, d, 1, y1, 1, W - 2, nav->cur);
		if (d->model[0] != d->shown[0])
			view_dim(w, 4, 3 + ECE_BINS + 2, 1, W - 2);
		if (d->model[1] != d->shown[1])
			view_dim(w, y1 + 1, y1 + ECE_BINS + 2, 1, W - 2);
	}
}

/* Another model with confidence on a side (arg 0: left, 1: right). */
static int calib_act(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)nav;
	struct cview *d = ctx;
	const struct study *s = app->s;
	size_t m = d->model[arg];
	for (size_t k = 0; k < s->n_models; k++) {
		m = (m + 1) % s->n_models;
		if (model_has_probs(&s->models[m]))
			break;
	}
	d->model[arg] = m;
	/* a job for every side not showing its model: it replaces one for the other side */
	struct cjob *j = xcalloc(1, sizeof *j);
	j->s = s;
	for (int k = 0; k < 2; k++) {
		j->want[k] = d->model[k];
		j->redo[k] = d->model[k] != d->shown[k];
	}
	char what[64];
	snprintf(what, sizeof what, "calibration of %.40s", s->models[m].name);
	view_submit(app, what, j, cjob_run, cjob_done, cjob_free);
	return 0;
}

static struct key_action calib_acts[] = {
    {"left-model", "the next model on the left", calib_act, 0, K('a')},
    {"right-model", "the next model on the right", calib_act, 1, K('b')},
};
static KEYMODE(calib_keys, "calibration", "Keys of the calibration view", calib_acts);

const struct view_class view_calibration = {
    .name = "calibration",
    .title = "Calibration of models A and B",
    .help = "reliability diagrams and the confidence of right and wrong predictions",
    .prepare = calib_prepare,
    .compute = calib_compute,
    .draw = calib_draw,
    .rows = calib_rows,
    .keys = &calib_keys,
    .free = calib_free,
    .follows_models = true,
};
