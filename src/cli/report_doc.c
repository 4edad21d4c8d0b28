/*
 * report_doc.c — `nncmp report --html/--markdown`: the report as one self-contained file (no
 * network reference: styles inline, images as PNG data: URIs), written atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "nncmp/outfile.h"
#include "nncmp/image.h"
#include "nncmp/issues.h"
#include "nncmp/journal.h"
#include "nncmp/metrics.h"
#include "nncmp/text.h"

/* Suspects listed, and the box their images are fitted into (pixels). */
#define DOC_SUSPECTS  24
#define DOC_IMAGE_BOX 96
/* Longest text shown for a suspect, in bytes (cut on a UTF-8 boundary). */
#define DOC_TEXT_MAX 400
/* Larger confusion matrices are left to --json. */
#define DOC_MAX_CONFUSION 60

struct doc {
	FILE *f;
	bool md;
	size_t images;
};

/* Writes untrusted text: control characters made visible, then escaped for HTML (and for a
 * Markdown table cell: the Markdown characters backslash-escaped, as well). */
static void doc_text(struct doc *d, const char *raw)
{
	char *t = text_sanitize_one_line(raw ? raw : "", false, d->md ? " " : "\u23ce");
	for (const char *p = t; *p; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", d->f);
			break;
		case '<':
			fputs("&lt;", d->f);
			break;
		case '>':
			fputs("&gt;", d->f);
			break;
		case '"':
			fputs("&quot;", d->f);
			break;
		case '\'':
			fputs("&#39;", d->f);
			break;
		default:
			if (d->md && strchr("\\`*_[]|", *p))
				fputc('\\', d->f);
			fputc(*p, d->f);
		}
	}
	free(t);
}

static void doc_printf(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void doc_printf(struct doc *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(d->f, fmt, ap);
	va_end(ap);
}

static void doc_h2(struct doc *d, const char *id, const char *title)
{
	if (d->md)
		doc_printf(d, "\n## %s\n\n", title);
	else
		doc_printf(d, "<h2 id=\"%s\">%s</h2>\n", id, title);
}

/* A table with trusted column heads (ncols of them); cells follow with doc_cell_*. */
static void doc_table(struct doc *d, const char *id, const char *const *heads, size_t ncols)
{
	if (d->md) {
		fputs("|", d->f);
		for (size_t k = 0; k < ncols; k++)
			doc_printf(d, " %s |", heads[k]);
		fputs("\n|", d->f);
		for (size_t k = 0; k < ncols; k++)
			fputs(" --- |", d->f);
		fputs("\n", d->f);
		return;
	}
	doc_printf(d, "<table id=\"%s\">\n<tr>", id);
	for (size_t k = 0; k < ncols; k++)
		doc_printf(d, "<th>%s</th>", heads[k]);
	fputs("</tr>\n", d->f);
}

/* Opens (or closes) a block whose tables sit side by side where the page is wide enough. */
static void doc_grid(struct doc *d, bool open)
{
	if (!d->md)
		fputs(open ? "<div class=\"grid\">\n" : "</div>\n", d->f);
}

static void doc_row(struct doc *d)
{
	fputs(d->md ? "|" : "<tr>", d->f);
}

static void doc_row_end(struct doc *d)
{
	fputs(d->md ? "\n" : "</tr>\n", d->f);
}

static void doc_table_end(struct doc *d)
{
	fputs(d->md ? "\n" : "</table>\n", d->f);
}

static void doc_cell_text(struct doc *d, const char *raw)
{
	fputs(d->md ? " " : "<td>", d->f);
	doc_text(d, raw);
	fputs(d->md ? " |" : "</td>", d->f);
}

/* A header cell of untrusted text (a class name heading a row). */
static void doc_cell_head(struct doc *d, const char *raw)
{
	fputs(d->md ? " **" : "<th>", d->f);
	doc_text(d, raw);
	fputs(d->md ? "** |" : "</th>", d->f);
}

/* How a number is printed: %.4f, %.3f, %.3g, %+.4f. */
enum num_fmt { NUM_F4, NUM_F3, NUM_G3, NUM_SIGNED };

static void doc_cell_num(struct doc *d, enum num_fmt fmt, double v)
{
	fputs(d->md ? " " : "<td class=\"num\">", d->f);
	if (!isfinite(v))
		fputs("-", d->f);
	else if (fmt == NUM_F4)
		doc_printf(d, "%.4f", v);
	else if (fmt == NUM_F3)
		doc_printf(d, "%.3f", v);
	else if (fmt == NUM_G3)
		doc_printf(d, "%.3g", v);
	else
		doc_printf(d, "%+.4f", v);
	fputs(d->md ? " |" : "</td>", d->f);
}

static void doc_cell_int(struct doc *d, long long v)
{
	doc_printf(d, d->md ? " %lld |" : "<td class=\"num\">%lld</td>", v);
}

/* A confusion cell: its count, on a background as strong as frac (of its row); blue on the
 * diagonal (right), red off it (wrong). Markdown has no colour: the diagonal is bold. */
static void doc_cell_heat(struct doc *d, long long v, double frac, bool diag)
{
	if (d->md) {
		doc_printf(d, diag ? " **%lld** |" : " %lld |", v);
		return;
	}
	if (!(frac > 0))
		frac = 0;
	double a = 0.12 + 0.88 * frac;
	int r = diag ? 40 : 200, g = diag ? 100 : 50, b = diag ? 190 : 40;
	int cr = (int)lround(255 + (r - 255) * a), cg = (int)lround(255 + (g - 255) * a),
	    cb = (int)lround(255 + (b - 255) * a);
	if (v == 0)
		cr = cg = cb = 255;
	doc_printf(d, "<td class=\"num\" style=\"background:#%02x%02x%02x;color:%s\">%lld</td>", cr,
	           cg, cb, a > 0.55 && v ? "#fff" : "#000", v);
}

static const char doc_style[] = "body{font-family:sans-serif;margin:1.5em;color:#111}"
                                "table{border-collapse:collapse;margin:0.5em 0 1.5em}"
                                "th,td{border:1px solid #bbb;padding:2px 6px}th{background:#eee}"
                                "td.num{text-align:right;font-variant-numeric:tabular-nums}"
                                "img{image-rendering:pixelated}td.text{max-width:40em}"
                                ".sig{color:#a00;font-weight:bold}"
                                ".grid{display:flex;flex-wrap:wrap;gap:0 2em}h3{margin:0.3em 0}";

static const char *const src_names[] = {"probs", "logits", "pred"};

static void doc_models(struct doc *d, const struct report_doc *r)
{
	const struct study *s = r->s;
	static const char *const heads[] = {"model", "source", "accuracy", "macro-F1",
	                                    "top-2", "top-3",  "top-5",    "ECE (15 bins)"};
	doc_h2(d, "models", "Models");
	doc_table(d, "models-table", heads, 8);
	for (size_t m = 0; m < s->n_models; m++) {
		const struct model_metrics *mm = &r->mm[m];
		doc_row(d);
		doc_cell_head(d, s->models[m].name);
		doc_cell_text(d, src_names[s->models[m].src]);
		doc_cell_num(d, NUM_F4, mm->accuracy);
		doc_cell_num(d, NUM_F4, mm->macro_f1);
		static const int ks[3] = {2, 3, 5};
		for (int t = 0; t < 3; t++) {
			double v = NAN;
			for (size_t u = 0; u < mm->n_topk; u++)
				if (mm->topk_k[u] == ks[t])
					v = mm->topk[u];
			doc_cell_num(d, NUM_F4, v);
		}
		doc_cell_num(d, NUM_F4, mm->ece);
		doc_row_end(d);
	}
	doc_table_end(d);
}

static void doc_pairs(struct doc *d, const struct report_doc *r)
{
	const struct study *s = r->s;
	if (!r->n_pairs)
		return;
	static const char *const heads[] = {
	    "A",         "B",     "both right", "only A",          "only B",       "both wrong",
	    "agreement", "kappa", "McNemar p",  "acc B &minus; A", "95% interval", "p &lt; 0.05"};
	doc_h2(d, "pairs", "Significance of each pair");
	doc_table(d, "pairs-table", heads, 12);
	for (size_t k = 0; k < r->n_pairs; k++) {
		const struct pair_metrics *pm = &r->pm[k];
		doc_row(d);
		doc_cell_head(d, s->models[pm->a].name);
		doc_cell_head(d, s->models[pm->b].name);
		doc_cell_int(d, pm->all.both_correct);
		doc_cell_int(d, pm->all.only_a);
		doc_cell_int(d, pm->all.only_b);
		doc_cell_int(d, pm->all.both_wrong);
		doc_cell_num(d, NUM_F3, pm->agreement);
		doc_cell_num(d, NUM_F3, pm->kappa);
		doc_cell_num(d, NUM_G3, pm->mcnemar_p);
		doc_cell_num(d, NUM_SIGNED, pm->acc_diff);
		if (isfinite(pm->ci_lo))
			doc_printf(d, d->md ? " [%+.4f, %+.4f] |" : "<td>[%+.4f, %+.4f]</td>",
			           pm->ci_lo, pm->ci_hi);
		else
			doc_cell_text(d, "-");
		bool sig = pm->mcnemar_p < 0.05;
		if (d->md)
			doc_printf(d, " %s |", sig ? "**yes**" : "no");
		else
			doc_printf(d, "<td%s>%s</td>", sig ? " class=\"sig\"" : "",
			           sig ? "yes" : "no");
		doc_row_end(d);
	}
	doc_table_end(d);
}

static void doc_agreement(struct doc *d, const struct report_doc *r)
{
	const struct study *s = r->s;
	if (!r->n_pairs)
		return;
	static const char *const heads[] = {"class", "both right", "only A", "only B",
	                                    "both wrong"};
	doc_h2(d, "agreement", "Agreement per class");
	doc_grid(d, true);
	for (size_t k = 0; k < r->n_pairs; k++) {
		const struct pair_metrics *pm = &r->pm[k];
		fputs(d->md ? "A = " : "<div><h3>A = ", d->f);
		doc_text(d, s->models[pm->a].name);
		fputs(", B = ", d->f);
		doc_text(d, s->models[pm->b].name);
		fputs(d->md ? "\n\n" : "</h3>\n", d->f);
		char id[64];
		snprintf(id, sizeof id, "agreement-%zu", k);
		doc_table(d, id, heads, 5);
		for (size_t y = 0; y < s->n_classes; y++) {
			const struct agreement *g = &pm->per_class[y];
			doc_row(d);
			doc_cell_head(d, s->classes[y]);
			doc_cell_int(d, g->both_correct);
			doc_cell_int(d, g->only_a);
			doc_cell_int(d, g->only_b);
			doc_cell_int(d, g->both_wrong);
			doc_row_end(d);
		}
		doc_table_end(d);
		fputs(d->md ? "" : "</div>\n", d->f);
	}
	doc_grid(d, false);
}

static void doc_confusion(struct doc *d, const struct report_doc *r)
{
	const struct study *s = r->s;
	size_t c = s->n_classes;
	doc_h2(d, "confusion", "Confusion matrices (rows: truth, columns: prediction)");
	if (c > DOC_MAX_CONFUSION) {
		doc_printf(d,
		           d->md ? "%zu classes: see `nncmp report --json`.\n"
		                 : "<p>%zu classes: see <code>nncmp report --json</code>.</p>\n",
		           c);
		return;
	}
	doc_grid(d, true);
	for (size_t m = 0; m < s->n_models; m++) {
		const int64_t *cm = r->mm[m].confusion;
		fputs(d->md ? "" : "<div><h3>", d->f);
		doc_text(d, s->models[m].name);
		fputs(d->md ? "\n\n|  |" : "</h3>\n", d->f);
		if (d->md) {
			for (size_t p = 0; p < c; p++) {
				fputs(" ", d->f);
				doc_text(d, s->classes[p]);
				fputs(" |", d->f);
			}
			fputs("\n| --- |", d->f);
			for (size_t p = 0; p < c; p++)
				fputs(" --- |", d->f);
			fputs("\n", d->f);
		} else {
			doc_printf(
			    d, "<table id=\"confusion-%zu\" class=\"confusion\">\n<tr><th></th>",
			    m);
			for (size_t p = 0; p < c; p++) {
				fputs("<th>", d->f);
				doc_text(d, s->classes[p]);
				fputs("</th>", d->f);
			}
			fputs("</tr>\n", d->f);
		}
		for (size_t y = 0; y < c; y++) {
			int64_t row = 0;
			for (size_t p = 0; p < c; p++)
				row += cm[y * c + p];
			doc_row(d);
			doc_cell_head(d, s->classes[y]);
			for (size_t p = 0; p < c; p++)
				doc_cell_heat(d, cm[y * c + p],
				              row ? (double)cm[y * c + p] / (double)row : 0,
				              p == y);
			doc_row_end(d);
		}
		doc_table_end(d);
		fputs(d->md ? "" : "</div>\n", d->f);
	}
	doc_grid(d, false);
}

/* Instance i's image as an <img> (or Markdown image) of at most DOC_IMAGE_BOX pixels, or why
 * there is none. */
static void doc_image(struct doc *d, const struct study *s, size_t i)
{
	struct nn_err err = {{0}};
	char *path = image_path(s, i, &err), *uri = NULL;
	struct image img = {0}, fit = {0};
	if (path && image_load(path, &img, &err) == 0) {
		if (image_fit(&img, DOC_IMAGE_BOX, DOC_IMAGE_BOX, &fit) == 0)
			uri = image_png_data_uri(&fit, &err);
		else
			nn_err_set(&err, "%s: empty image", path);
	}
	if (uri) {
		doc_printf(d,
		           d->md ? "![instance %zu](%s)" : "<img alt=\"instance %zu\" src=\"%s\">",
		           i, uri);
		d->images++;
	} else {
		doc_text(d, err.msg);
	}
	free(uri);
	image_free(&fit);
	image_free(&img);
	free(path);
}

/* Up to DOC_TEXT_MAX bytes of text, cut where a UTF-8 character starts. */
static char *doc_cut(const char *t)
{
	size_t n = strlen(t);
	if (n <= DOC_TEXT_MAX)
		return xstrdup(t);
	n = DOC_TEXT_MAX;
	while (n > 0 && ((unsigned char)t[n] & 0xC0) == 0x80)
		n--;
	char *out = xmalloc(n + 4);
	memcpy(out, t, n);
	memcpy(out + n, "...", 4);
	return out;
}

static int doc_suspects(struct doc *d, const struct report_doc *r)
{
	const struct study *s = r->s;
	enum issue_method meth = issue_method_default(s);
	struct issue_opts o = {.model = -1};
	/* decided instances leave the ranking, as in `nncmp issues` and the TUI's review queue */
	uint8_t *decided = study_decided_mask(s);
	o.exclude = decided;
	struct issue_list l = {0};
	struct nn_err err = {{0}};
	int rc = issues_rank(s, meth, &o, NULL, &l, &err);
	free(decided);
	if (rc < 0) {
		char *msg = cli_safe(err.msg);
		fprintf(stderr, "nncmp report: label issues: %s\n", msg);
		free(msg);
		return -1;
	}
	/* with a filter, the suspects among its instances (scored over all of them, as `nncmp
	 * issues --filter` lists them): a report of the filter names no instance outside it */
	uint8_t *in = NULL;
	size_t in_flagged = 0;
	if (r->filter && r->idx) {
		in = xcalloc(s->n ? s->n : 1, 1);
		for (size_t k = 0; k < r->n; k++)
			in[r->idx[k]] = 1;
		for (size_t k = 0; k < l.count; k++)
			in_flagged += in[l.index[k]];
	}
	char title[160];
	if (in)
		snprintf(title, sizeof title,
		         "Top suspects of the filter (label issues, method %s: %zu flagged, %zu of "
		         "them in the filter)",
		         issue_method_name(meth), l.count, in_flagged);
	else
		snprintf(title, sizeof title, "Top suspects (label issues, method %s: %zu flagged)",
		         issue_method_name(meth), l.count);
	doc_h2(d, "suspects", title);
	static const char *const heads[] = {"rank",      "index", "id",      "label",
	                                    "suggested", "score", "flagged", "sample"};
	doc_table(d, "suspects-table", heads, 8);
	for (size_t k = 0, shown = 0; k < l.n && shown < DOC_SUSPECTS; k++) {
		size_t i = l.index[k];
		if (in && !in[i])
			continue;
		shown++; /* the rank among those listed, as `nncmp issues --filter` numbers them */
		char buf[32];
		doc_row(d);
		doc_cell_int(d, (long long)shown);
		doc_cell_int(d, (long long)i);
		doc_cell_text(d, study_instance_id(s, i, buf, sizeof buf));
		doc_cell_text(d, s->classes[s->labels[i]]);
		doc_cell_text(d, l.suggested[k] >= 0 ? s->classes[l.suggested[k]] : "-");
		doc_cell_num(d, NUM_F4, l.score[k]);
		doc_cell_text(d, k < l.count ? "yes" : "no");
		fputs(d->md ? " " : "<td class=\"text\">", d->f);
		if (s->images && s->images[i]) {
			doc_image(d, s, i);
		} else if (s->texts && s->texts[i]) {
			char *t = doc_cut(s->texts[i]);
			doc_text(d, t);
			free(t);
		}
		fputs(d->md ? " |" : "</td>", d->f);
		doc_row_end(d);
	}
	doc_table_end(d);
	free(in);
	issue_list_free(&l);
	return 0;
}

static void doc_decisions(struct doc *d, const struct report_doc *r)
{
	const struct study *s = r->s;
	doc_h2(d, "decisions", "Triage decisions");
	size_t count[5] = {0};
	for (size_t i = 0; i < s->n; i++)
		count[study_status(s, i)]++;
	static const char *const heads[] = {"status", "instances"};
	doc_table(d, "decisions-counts", heads, 2);
	static const enum decision_status shown[] = {STATUS_RELABELLED, STATUS_KEPT, STATUS_REMOVED,
	                                             STATUS_UNDECIDED};
	for (size_t k = 0; k < 4; k++) {
		doc_row(d);
		doc_cell_text(d, journal_status_name(shown[k]));
		doc_cell_int(d, (long long)(k == 3 ? count[STATUS_UNDECIDED] + count[STATUS_SKIPPED]
		                                   : count[shown[k]]));
		doc_row_end(d);
	}
	doc_table_end(d);
	if (!s->n_decided) {
		fputs(d->md ? "No decisions yet.\n" : "<p>No decisions yet.</p>\n", d->f);
		return;
	}
	static const char *const dheads[] = {"index", "id", "given label", "label now", "status"};
	doc_table(d, "decisions-table", dheads, 5);
	const int32_t *given = study_given(s);
	for (size_t i = 0; i < s->n; i++) {
		enum decision_status st = study_status(s, i);
		if (st == STATUS_UNDECIDED || st == STATUS_SKIPPED)
			continue;
		char buf[32];
		doc_row(d);
		doc_cell_int(d, (long long)i);
		doc_cell_text(d, study_instance_id(s, i, buf, sizeof buf));
		doc_cell_text(d, s->classes[given[i]]);
		doc_cell_text(d, st == STATUS_REMOVED ? "(removed)" : s->classes[s->labels[i]]);
		doc_cell_text(d, journal_status_name(st));
		doc_row_end(d);
	}
	doc_table_end(d);
}

static int doc_body(struct doc *d, const struct report_doc *r)
{
	const struct study *s = r->s;
	if (d->md) {
		fputs("# nncmp report: ", d->f);
		doc_text(d, s->name);
		fputs("\n\n", d->f);
	} else {
		fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		      "<title>nncmp report: ",
		      d->f);
		doc_text(d, s->name);
		doc_printf(d, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>nncmp report: ",
		           doc_style);
		doc_text(d, s->name);
		fputs("</h1>\n<p>", d->f);
	}
	doc_printf(d, "%zu instance%s", s->n, cli_plural(s->n));
	if (r->filter) {
		doc_printf(d, ", %zu match the filter ", r->n);
		doc_text(d, r->filter);
	}
	doc_printf(d,
	           ", %zu class%s, %zu model%s; %zu triage decision%s applied (%zu removed "
	           "instance%s left out of every figure).",
	           s->n_classes, s->n_classes == 1 ? "" : "es", s->n_models,
	           cli_plural(s->n_models), s->n_decided, cli_plural(s->n_decided), s->n_removed,
	           cli_plural(s->n_removed));
	fputs(d->md ? "\n" : "</p>\n", d->f);
	doc_models(d, r);
	doc_pairs(d, r);
	doc_agreement(d, r);
	doc_confusion(d, r);
	if (doc_suspects(d, r) < 0)
		return -1;
	doc_decisions(d, r);
	if (!d->md)
		fputs("</body>\n</html>\n", d->f);
	return 0;
}

int report_doc_save(const struct report_doc *r, const char *path, bool markdown, bool force,
                    size_t *images, struct nn_err *err)
{
	struct stat st;
	if (!force && lstat(path, &st) == 0) {
		nn_err_set(err, "%s exists (--force replaces it)", path);
		return EXIT_BAD_INPUT;
	}
	struct outfile out;
	int rc = EXIT_OK;
	bool exists = false;
	struct doc d = {.md = markdown};
	if (outfile_open(&out, path, 0666, err) < 0) {
		rc = EXIT_BAD_INPUT;
	} else {
		d.f = out.f;
		if (doc_body(&d, r) < 0) {
			nn_err_set(err, "%s: cannot write the report", path);
			rc = EXIT_INTERNAL;
		}
		if (outfile_finish(&out, err) < 0 && rc == EXIT_OK)
			rc = EXIT_INTERNAL;
		if (rc == EXIT_OK && outfile_commit(&out, force, &exists, err) < 0) {
			rc = exists ? EXIT_BAD_INPUT : EXIT_INTERNAL;
			if (exists) {
				size_t o = strlen(err->msg);
				snprintf(err->msg + o, sizeof err->msg - o,
				         " meanwhile (--force replaces it)");
			}
		}
	}
	outfile_discard(&out);
	*images = d.images;
	return rc;
}

int report_doc_write(const struct report_doc *r, const char *path, bool markdown, bool force)
{
	struct nn_err err = {{0}};
	size_t images = 0;
	int rc = report_doc_save(r, path, markdown, force, &images, &err);
	if (rc != EXIT_OK) {
		char *m = cli_safe(err.msg);
		fprintf(stderr, "nncmp report: %s\n", m);
		free(m);
	} else {
		char *safe = cli_safe(path);
		printf("wrote %s (%s, %zu image%s)\n", safe, markdown ? "Markdown" : "HTML", images,
		       cli_plural(images));
		free(safe);
	}
	return rc;
}
