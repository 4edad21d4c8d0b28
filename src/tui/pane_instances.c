/*
 * pane_instances.c — the instance table: index, id, truth (the journal's label), each model's
 * prediction as DeepCompare's glyph (the prediction's hue on the truth's), with more than two
 * models how many are right (the filter's `right`), the sort key's value
 * when it is not a column, confidence, issue score and the text or image path on one line. The
 * detail pane follows its cursor; Enter says the instance in full on the message line.
 */
#include "tui_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/metrics.h"
#include "nncmp/text.h"

/* Column widths of the instance table, computed once per draw from the study's shape. */
struct inst_cols {
	int index, id, truth, model[64], right, conf, issue, key;
};

/* Copies src to dst (size bytes) without blanks, for comparing keys as the parser reads them. */
static void squeeze(char *dst, size_t size, const char *src)
{
	size_t o = 0;
	for (; *src && o + 1 < size; src++)
		if (*src != ' ' && *src != '\t')
			dst[o++] = *src;
	dst[o] = '\0';
}

/*
 * Whether the sort key's values get a column of their own, headed by the key (without its
 * direction) in head: a value expression (act(...), conf(M), p(M, C), margin(M), issue ...)
 * that the table does not show already; gt, given and a model's name are the truth and
 * prediction columns, and with `numbers` issue and conf(A) are columns too.
 */
static bool key_column(const struct app *app, bool numbers, char *head, size_t size)
{
	if (!app->sel_keys)
		return false; /* index, id, or the values are still being computed */
	char k[256];
	squeeze(k, sizeof k, app->sort_key);
	char *colon = strrchr(k, ':');
	if (colon && (strcmp(colon, ":asc") == 0 || strcmp(colon, ":desc") == 0))
		*colon = '\0';
	if (strcmp(k, "gt") == 0 || strcmp(k, "given") == 0 || study_model_index(app->s, k) >= 0)
		return false;
	char conf_a[160];
	snprintf(conf_a, sizeof conf_a, "conf(%s)", app->s->models[app->a].name);
	if (numbers && (strcmp(k, "issue") == 0 || strcmp(k, conf_a) == 0))
		return false;
	/* the heading is the key as typed, less the direction */
	char *typed = xstrdup(app->sort_key);
	char *c = strrchr(typed, ':');
	if (c && (strcmp(c, ":asc") == 0 || strcmp(c, ":desc") == 0))
		*c = '\0';
	char *t = text_sanitize(typed, !app->utf8);
	snprintf(head, size, "%s", t);
	free(t);
	free(typed);
	return true;
}

static void instances_draw(struct app *app)
{
	struct pane *pn = &app->panes[PANE_INSTANCES];
	WINDOW *w = pn->win;
	const struct study *s = app->s;
	werase(w);
	char title[200];
	snprintf(title, sizeof title, "Instances %zu/%zu", app->n_sel, s->n);
	char right[128];
	const char *gr =
	    app->shapes ? glyph(app, "\xe2\x9c\x93", "+") : glyph(app, "\xe2\x96\xa0", "+");
	const char *gw =
	    app->shapes ? glyph(app, "\xe2\x9c\x97", "x") : glyph(app, "\xe2\x96\xa0", "x");
	char *key = text_sanitize(app->sort_key, !app->utf8); /* typed, but drawn safely */
	snprintf(right, sizeof right, "sort: %.40s%s", key, app->sorting ? " (sorting...)" : "");
	free(key);
	pane_title(app, PANE_INSTANCES, title, right);
	/* legend after the title */
	{
		int tx = text_cols(title) + 4;
		attr_t t = role_attr(app->focus == PANE_INSTANCES ? ROLE_FOCUS : ROLE_TITLE);
		if (class_pair(0, 0) > 0 && tx + 34 < pn->w - text_cols(right) - 2) {
			/* a right one (solid) and a wrong one (a square of another hue) */
			draw_pair_glyph(app, w, 0, tx, "\xe2\x96\xa0", "#", class_pair(2, 2));
			draw_safe(app, w, 0, tx + 1, 7, " right ", t, false);
			draw_pair_glyph(app, w, 0, tx + 8, "\xe2\x96\xa0", "#", class_pair(5, 2));
			draw_safe(app, w, 0, tx + 9, 26, " prediction on truth hue", t, false);
			/* past eight classes hues repeat: a wrong one sharing the truth's is marked
			 */
			if (s->n_classes > 8 && tx + 51 < pn->w - text_cols(right) - 2) {
				draw_pair_glyph(app, w, 0, tx + 34, "\xe2\x96\xa0", "#",
				                class_pair(8, 0));
				draw_safe(app, w, 0, tx + 35, 16, " same hue, wrong", t, false);
			}
		} else if (tx + 20 < pn->w - text_cols(right) - 2) {
			draw_safe(app, w, 0, tx, 2, gr, role_attr(ROLE_RIGHT), false);
			draw_safe(app, w, 0, tx + 2, 6, "right", t, false);
			draw_safe(app, w, 0, tx + 9, 2, gw, role_attr(ROLE_WRONG), false);
			draw_safe(app, w, 0, tx + 11, 6, "wrong", t, false);
		}
	}
	struct inst_cols cols = {.index = 7, .id = app->id_cols, .truth = 5, .conf = 7, .issue = 6};
	if (cols.id > 2 * pn->w / 5) /* a narrow screen keeps room for the predictions */
		cols.id = 2 * pn->w / 5;
	for (size_t c = 0; c < s->n_classes; c++) {
		int t = text_cols(app->class_names[c]);
		if (t > cols.truth)
			cols.truth = t;
	}
	if (cols.truth > 11)
		cols.truth = 11;
	size_t nm = s->n_models < 64 ? s->n_models : 64;
	for (size_t m = 0; m < nm; m++) {
		int t = text_cols(app->model_names[m]);
		cols.model[m] = t < 3 ? 3 : t > 10 ? 10 : t;
		if (cols.model[m] < cols.truth + 2 && cols.model[m] < 8)
			cols.model[m] = cols.truth + 2 < 8 ? cols.truth + 2 : 8;
	}
	/* one width for the predicted names of every model: the same class reads the same */
	int pred_w = 0;
	for (size_t m = 0; m < nm; m++)
		if (pred_w == 0 || cols.model[m] - 2 < pred_w)
			pred_w = cols.model[m] - 2;
	char *const *pred_names = app_class_abbrev(app, pred_w, NULL);
	attr_t hd = role_attr(ROLE_HEADER);
	int x = 0;
	draw_safe(app, w, 1, 0, pn->w, "", hd, true);
	char buf[128];
	snprintf(buf, sizeof buf, "%*s", cols.index, "index");
	x += draw_safe(app, w, 1, x, pn->w - x, buf, hd, false) + 1;
	draw_safe(app, w, 1, x, cols.id, "id", hd, false);
	x += cols.id + 1;
	draw_safe(app, w, 1, x, cols.truth, "truth", hd, false);
	x += cols.truth + 1;
	/* the models' columns: every model when they fit beside conf, issue and some text, else
	 * A and B first and as many others as fit, with the number left out (30 models filled
	 * the row and pushed A and B, conf and the texts off the screen) */
	size_t mo[64], nmo = 0, hidden = 0;
	int need = 0;
	for (size_t m = 0; m < nm; m++)
		need += cols.model[m] + 1;
	int room = pn->w - x - cols.conf - cols.issue - 3 - 16;
	if (need <= room) {
		for (size_t m = 0; m < nm; m++)
			mo[nmo++] = m;
	} else {
		mo[nmo++] = app->a;
		if (app->b != app->a)
			mo[nmo++] = app->b;
		int used = cols.model[app->a] + 1 + (app->b != app->a ? cols.model[app->b] + 1 : 0);
		for (size_t m = 0; m < nm; m++) {
			if (m == app->a || m == app->b)
				continue;
			if (used + cols.model[m] + 1 <= room - 5)
				mo[nmo++] = m, used += cols.model[m] + 1;
			else
				hidden++;
		}
		hidden += s->n_models - nm;
	}
	for (size_t k = 0; k < nmo && x < pn->w; k++) {
		size_t m = mo[k];
		draw_safe(app, w, 1, x, cols.model[m], app->model_names[m], hd, false);
		x += cols.model[m] + 1;
	}
	if (hidden) {
		snprintf(buf, sizeof buf, "+%zu", hidden);
		draw_safe(app, w, 1, x, 4, buf, hd | A_DIM, false);
		x += 5;
	}
	/* how many models are right (the filter's `right`), with several models */
	if (s->n_models > 2) {
		cols.right = 5;
		if (x < pn->w)
			draw_safe(app, w, 1, x, cols.right, "right", hd, false);
		x += cols.right + 1;
	}
	/* a text study on a narrow screen: the text matters more than conf and issue */
	bool numbers = !(s->texts && pn->w - x - cols.conf - cols.issue - 3 < 24);
	/* the sort key's values, when they are not a column already */
	char key_head[128];
	if (key_column(app, numbers, key_head, sizeof key_head)) {
		int t = text_cols(key_head);
		cols.key = t < 9 ? 9 : t > 16 ? 16 : t;
		numbers = numbers &&
		          !(s->texts && pn->w - x - cols.key - cols.conf - cols.issue - 4 < 24);
		char head[160];
		snprintf(head, sizeof head, "%*s", cols.key, key_head);
		if (x < pn->w)
			draw_safe(app, w, 1, x, cols.key, head, hd, false);
		x += cols.key + 1;
	}
	char conf_head[32];
	snprintf(conf_head, sizeof conf_head, "%*s", cols.conf, "conf A");
	if (numbers) {
		if (x < pn->w)
			draw_safe(app, w, 1, x, cols.conf, conf_head, hd, false);
		x += cols.conf + 1;
		if (x < pn->w)
			draw_safe(app, w, 1, x, cols.issue, " issue", hd, false);
		x += cols.issue + 2;
	}
	const char *extra = s->texts ? "text" : s->images ? "image" : "";
	if (x < pn->w)
		draw_safe(app, w, 1, x, pn->w - x, extra, hd, false);

	pane_clamp(app, PANE_INSTANCES);
	int h = pane_list_height(app, PANE_INSTANCES);
	if (app->n_sel == 0 && h > 0)
		draw_safe(app, w, 2, 2, pn->w - 2, "no instance matches the filter (Esc: back)",
		          role_attr(ROLE_DIM), false);
	const struct model *ma = &s->models[app->a];
	for (int r = 0; r < h && pn->nav.top + (size_t)r < app->n_sel; r++) {
		size_t k = pn->nav.top + (size_t)r;
		size_t i = app->sel[k];
		int y = r + 2;
		bool sel = app->focus == PANE_INSTANCES && k == pn->nav.cur;
		attr_t a = role_attr(sel ? ROLE_SELECTION : ROLE_NORMAL);
		draw_safe(app, w, y, 0, pn->w, "", a, true);
		x = 0;
		snprintf(buf, sizeof buf, "%*zu", cols.index, i);
		x += draw_safe(app, w, y, x, pn->w - x, buf, a, false) + 1;
		char idbuf[32];
		draw_text(app, w, y, x, cols.id, study_instance_id(s, i, idbuf, sizeof idbuf), a,
		          false);
		x += cols.id + 1;
		int32_t truth = s->labels[i];
		char lab[160];
		if (study_status(s, i) == STATUS_REMOVED) {
			/* removed: marked, and dim, since it has left the metrics */
			int gx =
			    draw_safe(app, w, y, x, cols.truth, glyph(app, "\xe2\x9c\x95", "x"),
			              role_attr(ROLE_WRONG), false);
			app_label_short(app, i, cols.truth - gx, lab, sizeof lab);
			draw_safe(app, w, y, x + gx, cols.truth - gx, lab,
			          sel ? a : role_attr(ROLE_DIM), false);
		} else {
			app_label_short(app, i, cols.truth, lab, sizeof lab);
			draw_safe(app, w, y, x, cols.truth, lab, a, false);
		}
		x += cols.truth + 1;
		for (size_t k2 = 0; k2 < nmo && x < pn->w; k2++) {
			size_t m = mo[k2];
			int32_t p = model_pred(&s->models[m], i);
			bool ok = p == truth;
			int cp = class_pair(p, truth);
			if (cp > 0) { /* DeepCompare: the prediction's hue on the truth's */
				draw_pair_glyph(app, w, y, x, "\xe2\x96\xa0", "#", cp);
				draw_pair_glyph(app, w, y, x + 1, " ", " ", cp);
			} else
				draw_safe(app, w, y, x, 2, ok ? gr : gw,
				          role_attr(ok ? ROLE_RIGHT : ROLE_WRONG), false);
			/* a wrong one always names its prediction, so no hue alone has to tell */
			if (!ok && cols.model[m] > 2)
				draw_safe(app, w, y, x + 2, cols.model[m] - 2, pred_names[p], a,
				          false);
			x += cols.model[m] + 1;
		}
		x += hidden ? 5 : 0;
		if (cols.right) {
			snprintf(buf, sizeof buf, "%*d", cols.right, metrics_correct_count(s, i));
			if (x < pn->w)
				draw_safe(app, w, y, x, pn->w - x, buf, a, false);
			x += cols.right + 1;
		}
		if (cols.key) {
			double v = app->sel_keys[k];
			if (isnan(v))
				snprintf(buf, sizeof buf, "%*s", cols.key, "-");
			else if (snprintf(buf, sizeof buf, "%*.4g", cols.key, v) > cols.key)
				snprintf(buf, sizeof buf, "%*.2g", cols.key, v);
			if (x < pn->w)
				draw_safe(app, w, y, x, pn->w - x, buf, a, false);
			x += cols.key + 1;
		}
		if (numbers && x < pn->w) {
			if (model_has_probs(ma))
				snprintf(buf, sizeof buf, "%*.3f", cols.conf, model_conf(ma, i));
			else
				snprintf(buf, sizeof buf, "%*s", cols.conf, "-");
			draw_safe(app, w, y, x, pn->w - x, buf, a, false);
		}
		if (numbers) {
			x += cols.conf + 1;
			if (x < pn->w) {
				snprintf(buf, sizeof buf, "%*.3f", cols.issue,
				         study_issue_score(s, i));
				draw_safe(app, w, y, x, pn->w - x, buf, a, false);
			}
			x += cols.issue + 2;
		}
		const char *t = s->texts && s->texts[i]     ? s->texts[i]
		                : s->images && s->images[i] ? s->images[i]
		                                            : NULL;
		if (t && x < pn->w) {
			/* one line: a line break is one mark, runs of blanks one space, the rest
			 * escaped */
			char *line =
			    text_sanitize_one_line(t, !app->utf8, glyph(app, "\xe2\x8f\x8e", "|"));
			size_t o = 0;
			for (size_t j = 0; line[j] && o < 4096; j++)
				if (line[j] != ' ' || (o > 0 && line[o - 1] != ' '))
					line[o++] = line[j];
			line[o] = '\0';
			draw_safe(app, w, y, x, pn->w - x, line, a, false);
			free(line);
		}
	}
	wnoutrefresh(w);
}

static size_t instances_rows(const struct app *app)
{
	return app->n_sel;
}

static int instances_need(const struct app *app)
{
	return (int)app->s->n_classes + 3;
}

/* Enter: the instance's id, truth and text on the message line. */
static int instances_enter(struct app *app)
{
	const struct study *s = app->s;
	size_t i = app_current(app);
	if (i == SIZE_MAX)
		return 0;
	char idb[32];
	const char *t = s->texts && s->texts[i]     ? s->texts[i]
	                : s->images && s->images[i] ? s->images[i]
	                                            : "";
	/* the message line sanitizes when it draws */
	app_message(app, false, "#%zu  id %.60s  truth %.60s: %.300s", i,
	            study_instance_id(s, i, idb, sizeof idb), s->classes[s->labels[i]], t);
	return REDRAW_STATUS;
}

/* An instance matches by its id, truth, text or image path. */
static bool instances_match(const struct app *app, size_t row, const char *text)
{
	const struct study *s = app->s;
	size_t i = app->sel[row];
	char idb[32];
	return search_has(study_instance_id(s, i, idb, sizeof idb), text) ||
	       search_has(s->classes[s->labels[i]], text) ||
	       (s->texts && search_has(s->texts[i], text)) ||
	       (s->images && search_has(s->images[i], text));
}

const struct pane_class pane_instances = {
    .name = "instances",
    .cursor = CURSOR_ROWS,
    .need = instances_need,
    .rows = instances_rows,
    .draw = instances_draw,
    .enter = instances_enter,
    .match = instances_match,
    .follower = PANE_DETAIL,
    .region = REGION_BOTTOM_LEFT,
};
