/* report.c — `nncmp report`: every model's scores and every pair's agreement, text or JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nncmp/classnames.h"
#include "nncmp/text.h"
#include "nncmp/filter.h"
#include "nncmp/metrics.h"

static const char report_help[] =
    "usage: nncmp report STUDY [--filter EXPR] [--pairs A:B,...|all] [--json] [--seed N]\n"
    "       nncmp report STUDY (--html OUT.html | --markdown OUT.md) [--force] [--filter EXPR]\n"
    "\n"
    "Accuracy, macro-F1, top-k accuracy and calibration error (ECE, 15 bins) of every model;\n"
    "per-class precision, recall, F1 and support; confusion matrices (rows: truth); for every\n"
    "pair of models the agreement table (both right / only A / only B / both wrong, overall and\n"
    "per ground-truth class), agreement rate, Cohen's kappa, McNemar's exact p-value and a\n"
    "bootstrap 95% interval of the accuracy difference B - A.\n"
    "\n"
    "With more than 16 models the pairs are too many to compare all: only the pairs named with\n"
    "--pairs are, and the report says how many it left out.\n"
    "\n"
    "  --filter EXPR  restrict every figure to the instances that match EXPR\n"
    "  --pairs LIST   compare only these pairs of models (A:B,C:D), or every pair (all)\n"
    "  --json         one JSON object on stdout instead of text\n"
    "  --seed N       seed of the bootstrap (default 1; the same seed gives the same interval)\n"
    "  --html PATH    write the report as one self-contained HTML file (no network reference;\n"
    "                 coloured confusion matrices, the top suspects of the default label-issue\n"
    "                 ranking with their images inlined as PNG, the triage decisions so far)\n"
    "  --markdown PATH  the same as Markdown (images as data: URIs, no colours)\n"
    "  --force        replace an existing PATH\n"
    "  --help         this text\n";

/* Past this many models, the pairs (M(M-1)/2, each with a bootstrap) are compared on request. */
#define REPORT_ALL_PAIRS_MAX_MODELS 16
/* report_compute's threads: at most this many, and one below this many instances. */
#define REPORT_THREADS         8
#define REPORT_THREAD_MIN_ROWS 65536

struct report {
	const struct study *s;
	const uint32_t *idx; /* NULL: all instances */
	size_t n;
	struct model_metrics *mm;
	size_t n_pairs;
	struct pair_metrics *pm;
	size_t pairs_omitted; /* of the M(M-1)/2, how many were not compared */
	int64_t *n_correct;
};

/* The pairs to compare: a (A, B) list of model indices, 2 per pair. */
struct pair_list {
	size_t *ab;
	size_t n;
};

/*
 * Parses --pairs ("A:B,C:D" or "all"; NULL: all when there are few models) into *pl. Returns
 * EXIT_OK, or EXIT_BAD_INPUT after a usage error naming the pair.
 */
static int pairs_parse(const struct study *s, const char *spec, struct pair_list *pl)
{
	size_t m = s->n_models;
	pl->ab = NULL;
	pl->n = 0;
	if (!spec ? m <= REPORT_ALL_PAIRS_MAX_MODELS : strcmp(spec, "all") == 0) {
		pl->ab = xreallocarray(NULL, m * (m - 1) / 2 + 1, 2 * sizeof *pl->ab);
		for (size_t a = 0; a < m; a++)
			for (size_t b = a + 1; b < m; b++) {
				pl->ab[2 * pl->n] = a;
				pl->ab[2 * pl->n++ + 1] = b;
			}
		return EXIT_OK;
	}
	if (!spec)
		return EXIT_OK;
	char *copy = xstrdup(spec);
	int rc = EXIT_OK;
	for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && rc == EXIT_OK;
	     tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		char *safe = cli_safe(tok);
		if (!colon) {
			rc = cli_usage_error("report", "--pairs: '%s' is not MODEL:MODEL", safe);
		} else {
			*colon = '\0';
			int a = study_model_index(s, tok), b = study_model_index(s, colon + 1);
			*colon = ':';
			if (a < 0 || b < 0) {
				char *name = cli_safe(a < 0 ? tok : colon + 1);
				rc = cli_usage_error("report", "--pairs: '%s' names no model '%s'",
				                     safe, name);
				free(name);
			} else if (a == b)
				rc = cli_usage_error(
				    "report", "--pairs: '%s' pairs a model with itself", safe);
			for (size_t k = 0; rc == EXIT_OK && k < pl->n; k++)
				if ((pl->ab[2 * k] == (size_t)a &&
				     pl->ab[2 * k + 1] == (size_t)b) ||
				    (pl->ab[2 * k] == (size_t)b && pl->ab[2 * k + 1] == (size_t)a))
					rc = cli_usage_error("report",
					                     "--pairs: '%s' is named twice", safe);
			if (rc == EXIT_OK) {
				pl->ab = xreallocarray(pl->ab, pl->n + 1, 2 * sizeof *pl->ab);
				pl->ab[2 * pl->n] = (size_t)a;
				pl->ab[2 * pl->n++ + 1] = (size_t)b;
			}
		}
		free(safe);
	}
	free(copy);
	if (rc == EXIT_OK && pl->n == 0)
		rc = cli_usage_error("report", "--pairs names no pair");
	if (rc != EXIT_OK) {
		free(pl->ab);
		pl->ab = NULL;
	}
	return rc;
}

/* Computes every table on as many threads as there are CPUs (metrics_study). */
static void report_compute(struct report *r, const struct pair_list *pl, uint64_t seed)
{
	const struct study *s = r->s;
	size_t m = s->n_models;
	r->mm = xcalloc(m ? m : 1, sizeof *r->mm);
	r->n_pairs = pl->n;
	r->pairs_omitted = m * (m - 1) / 2 - pl->n;
	r->pm = xcalloc(r->n_pairs ? r->n_pairs : 1, sizeof *r->pm);
	r->n_correct = xcalloc(m + 1, sizeof *r->n_correct);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned nt = cpus > 1 ? (unsigned)(cpus < REPORT_THREADS ? cpus : REPORT_THREADS) : 1;
	nt = (r->idx ? r->n : s->n) < REPORT_THREAD_MIN_ROWS ? 1 : nt; /* not worth a thread */
	metrics_study(s, r->idx, r->n, pl->ab, pl->n, BOOT_REPS, seed, nt, r->mm, r->pm,
	              r->n_correct);
}

static void report_free(struct report *r)
{
	for (size_t m = 0; m < r->s->n_models; m++)
		metrics_model_free(&r->mm[m]);
	for (size_t k = 0; k < r->n_pairs; k++)
		metrics_pair_free(&r->pm[k]);
	free(r->mm);
	free(r->pm);
	free(r->n_correct);
}

static const char *const src_names[] = {"probs", "logits", "pred"};

static json_t *agreement_json(const struct agreement *g)
{
	return json_pack("{s:I, s:I, s:I, s:I}", "both_correct", (json_int_t)g->both_correct,
	                 "only_a", (json_int_t)g->only_a, "only_b", (json_int_t)g->only_b,
	                 "both_wrong", (json_int_t)g->both_wrong);
}

/*
 * Per class, the lowest and highest recall across the models (metrics_class_spread), the
 * classes where they diverge most first; nulls for a class without support.
 */
static json_t *spread_json(const struct report *r)
{
	const struct study *s = r->s;
	struct class_spread *sp = xcalloc(s->n_classes ? s->n_classes : 1, sizeof *sp);
	metrics_class_spread(r->mm, s->n_models, s->n_classes, sp);
	json_t *a = json_array();
	for (size_t k = 0; k < s->n_classes; k++) {
		const struct class_spread *c = &sp[k];
		bool none = isnan(c->lo);
		json_array_append_new(
		    a,
		    json_pack(
		        "{s:o, s:I, s:o, s:o, s:o, s:o, s:o}", "class", cli_jstr(s->classes[c->c]),
		        "support", (json_int_t)c->support, "min_recall", cli_json_real(c->lo),
		        "max_recall", cli_json_real(c->hi), "spread", cli_json_real(c->hi - c->lo),
		        "model_at_min", none ? json_null() : cli_jstr(s->models[c->at_lo].name),
		        "model_at_max", none ? json_null() : cli_jstr(s->models[c->at_hi].name)));
	}
	free(sp);
	return a;
}

static json_t *report_json(const struct report *r, const char *filter)
{
	const struct study *s = r->s;
	size_t c = s->n_classes;
	json_t *classes = json_array();
	for (size_t j = 0; j < c; j++)
		json_array_append_new(classes, cli_jstr(s->classes[j]));
	json_t *models = json_array();
	for (size_t m = 0; m < s->n_models; m++) {
		const struct model_metrics *mm = &r->mm[m];
		json_t *conf = json_array(), *per = json_array(), *topk = json_object();
		for (size_t y = 0; y < c; y++) {
			json_t *row = json_array();
			for (size_t p = 0; p < c; p++)
				json_array_append_new(row, json_integer(mm->confusion[y * c + p]));
			json_array_append_new(conf, row);
			const struct class_scores *cs = &mm->per_class[y];
			json_array_append_new(per, json_pack("{s:o, s:o, s:o, s:I}", "precision",
			                                     json_real(cs->precision), "recall",
			                                     json_real(cs->recall), "f1",
			                                     json_real(cs->f1), "support",
			                                     (json_int_t)cs->support));
		}
		for (size_t t = 0; t < mm->n_topk; t++) {
			char key[8];
			snprintf(key, sizeof key, "%d", mm->topk_k[t]);
			json_object_set_new(topk, key, cli_json_real(mm->topk[t]));
		}
		json_array_append_new(
		    models,
		    json_pack("{s:o, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "name",
		              cli_jstr(s->models[m].name), "source", src_names[s->models[m].src],
		              "correct", (json_int_t)mm->correct, "accuracy",
		              cli_json_real(mm->accuracy), "macro_f1", cli_json_real(mm->macro_f1),
		              "ece", cli_json_real(mm->ece), "top_k", topk, "confusion", conf,
		              "per_class", per));
	}
	json_t *pairs = json_array();
	for (size_t k = 0; k < r->n_pairs; k++) {
		const struct pair_metrics *pm = &r->pm[k];
		json_t *per = json_array();
		for (size_t y = 0; y < c; y++)
			json_array_append_new(per, agreement_json(&pm->per_class[y]));
		json_t *o = agreement_json(&pm->all);
		json_object_set_new(o, "a", cli_jstr(s->models[pm->a].name));
		json_object_set_new(o, "b", cli_jstr(s->models[pm->b].name));
		json_object_set_new(o, "per_class", per);
		json_object_set_new(o, "agreement", cli_json_real(pm->agreement));
		json_object_set_new(o, "kappa", cli_json_real(pm->kappa));
		json_object_set_new(o, "mcnemar_p", cli_json_real(pm->mcnemar_p));
		json_object_set_new(o, "acc_diff", cli_json_real(pm->acc_diff));
		json_object_set_new(
		    o, "acc_diff_ci",
		    json_pack("[o, o]", cli_json_real(pm->ci_lo), cli_json_real(pm->ci_hi)));
		json_object_set_new(o, "bootstrap_reps", json_integer(pm->boot_reps));
		json_array_append_new(pairs, o);
	}
	json_t *ncorrect = json_array();
	for (size_t k = 0; k <= s->n_models; k++)
		json_array_append_new(ncorrect, json_integer(r->n_correct[k]));
	json_t *o =
	    json_pack("{s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:I, s:o}", "study", cli_jstr(s->name),
	              "n", (json_int_t)r->n, "total", (json_int_t)s->n, "filter", cli_jstr(filter),
	              "classes", classes, "models", models, "pairs", pairs, "pairs_omitted",
	              (json_int_t)r->pairs_omitted, "n_correct", ncorrect);
	json_object_set_new(o, "class_spread", spread_json(r));
	/* the journal's decisions in effect: gt is corrected, removed instances are left out */
	json_object_set_new(o, "decisions_applied", json_integer((json_int_t)s->n_decided));
	json_object_set_new(o, "removed", json_integer((json_int_t)s->n_removed));
	return o;
}

/* Width of the longest sanitized name among models (at least min). */
static int name_width(char **names, size_t n, int min)
{
	int w = min;
	for (size_t i = 0; i < n; i++) {
		int l = text_width(names[i]);
		if (l > w)
			w = l;
	}
	return w;
}

static void print_num(double v, int width, int prec)
{
	if (isfinite(v))
		printf(" %*.*f", width, prec, v);
	else
		printf(" %*s", width, "-");
}

static void print_text(const struct report *r, char **mnames, char **cnames, const char *filter)
{
	const struct study *s = r->s;
	size_t c = s->n_classes;
	char *sname = cli_safe(s->name);
	printf("%s — %zu instance%s", sname, s->n, cli_plural(s->n));
	free(sname);
	if (filter) {
		char *f = cli_safe(filter);
		printf(", %zu match '%s'", r->n, f);
		free(f);
	}
	printf(", %zu class%s, %zu model%s", c, c == 1 ? "" : "es", s->n_models,
	       cli_plural(s->n_models));
	if (s->n_decided)
		printf("; %zu triage decision%s applied (%zu removed instance%s left out)",
		       s->n_decided, cli_plural(s->n_decided), s->n_removed,
		       cli_plural(s->n_removed));
	printf("\n\n");

	int mw = name_width(mnames, s->n_models, 5);
	printf("%-*s  %-6s %9s %9s %7s %7s %7s %7s\n", mw, "model", "source", "accuracy",
	       "macro-F1", "top-2", "top-3", "top-5", "ECE");
	for (size_t m = 0; m < s->n_models; m++) {
		const struct model_metrics *mm = &r->mm[m];
		cli_put_padded(mnames[m], mw);
		printf("  %-6s", src_names[s->models[m].src]);
		print_num(mm->accuracy, 9, 4);
		print_num(mm->macro_f1, 9, 4);
		static const int ks[3] = {2, 3, 5};
		for (int t = 0; t < 3; t++) {
			double v = NAN;
			for (size_t u = 0; u < mm->n_topk; u++)
				if (mm->topk_k[u] == ks[t])
					v = mm->topk[u];
			print_num(v, 7, 4);
		}
		print_num(mm->ece, 7, 4);
		printf("\n");
	}

	if (r->n_pairs) {
		printf("\n%-*s %10s %7s %7s %10s %6s %6s %10s  %s\n", 2 * mw + 4, "pair (A vs B)",
		       "both right", "only A", "only B", "both wrong", "agree", "kappa",
		       "McNemar p", "acc B-A [95% CI]");
		for (size_t k = 0; k < r->n_pairs; k++) {
			const struct pair_metrics *pm = &r->pm[k];
			char label[512];
			snprintf(label, sizeof label, "%s vs %s", mnames[pm->a], mnames[pm->b]);
			cli_put_padded(label, 2 * mw + 4);
			printf(" %10lld %7lld %7lld %10lld", (long long)pm->all.both_correct,
			       (long long)pm->all.only_a, (long long)pm->all.only_b,
			       (long long)pm->all.both_wrong);
			print_num(pm->agreement, 6, 3);
			print_num(pm->kappa, 6, 3);
			printf(" %10.3e  ", pm->mcnemar_p);
			if (isfinite(pm->acc_diff) && isfinite(pm->ci_lo))
				printf("%+.4f [%+.4f, %+.4f]\n", pm->acc_diff, pm->ci_lo,
				       pm->ci_hi);
			else
				printf("-\n");
		}
	}
	if (r->pairs_omitted)
		printf("\n(pairwise tables omitted for %zu of %zu pairs of models: name pairs with "
		       "--pairs A:B,C:D, or --pairs all)\n",
		       r->pairs_omitted, r->pairs_omitted + r->n_pairs);
	printf("\nmodels right per instance:");
	for (size_t k = 0; k <= s->n_models; k++)
		printf("  %zu: %lld", k, (long long)r->n_correct[k]);
	printf("\n");

	int cw = name_width(cnames, c, 5);
	printf("\nper class: F1 of each model (precision / recall in --json)\n%-*s %8s", cw,
	       "class", "support");
	for (size_t m = 0; m < s->n_models; m++)
		printf(" %*s%s", (mw > 8 ? mw : 8) - text_width(mnames[m]), "", mnames[m]);
	printf("\n");
	for (size_t y = 0; y < c; y++) {
		cli_put_padded(cnames[y], cw);
		printf(" %8lld", (long long)r->mm[0].per_class[y].support);
		for (size_t m = 0; m < s->n_models; m++)
			print_num(r->mm[m].per_class[y].f1, mw > 8 ? mw : 8, 4);
		printf("\n");
	}

	for (size_t k = 0; k < r->n_pairs; k++) {
		const struct pair_metrics *pm = &r->pm[k];
		printf("\nagreement per class, A = %s, B = %s\n%-*s %10s %7s %7s %10s\n",
		       mnames[pm->a], mnames[pm->b], cw, "class", "both right", "only A", "only B",
		       "both wrong");
		for (size_t y = 0; y < c; y++) {
			const struct agreement *g = &pm->per_class[y];
			cli_put_padded(cnames[y], cw);
			printf(" %10lld %7lld %7lld %10lld\n", (long long)g->both_correct,
			       (long long)g->only_a, (long long)g->only_b,
			       (long long)g->both_wrong);
		}
	}

	if (c <= 20) {
		/* columns as wide as the largest count, headed by names that stay distinct */
		int w = 5;
		for (size_t m = 0; m < s->n_models; m++)
			for (size_t k = 0; k < c * c; k++)
				for (int64_t v = r->mm[m].confusion[k], d = 1; v >= 10; v /= 10)
					if (++d > w)
						w = (int)d;
		char **heads = xcalloc(c, sizeof *heads);
		enum classnames_kind kind =
		    classnames_abbrev((const char *const *)cnames, c, w, !cli_utf8(), heads);
		for (size_t m = 0; m < s->n_models; m++) {
			printf("\nconfusion matrix of %s (rows: truth, columns: prediction)\n%-*s",
			       mnames[m], cw, "");
			for (size_t p = 0; p < c; p++)
				printf(" %*s%s", w - text_width(heads[p]), "", heads[p]);
			printf("\n");
			for (size_t y = 0; y < c; y++) {
				cli_put_padded(cnames[y], cw);
				for (size_t p = 0; p < c; p++)
					printf(" %*lld", w,
					       (long long)r->mm[m].confusion[y * c + p]);
				printf("\n");
			}
		}
		if (kind == CLASSNAMES_NUMBERS) {
			printf("\ncolumns by class number:");
			for (size_t p = 0; p < c; p++)
				printf("%s %s %s", p ? "," : "", heads[p], cnames[p]);
			printf("\n");
		}
		classnames_free(heads, c);
		free(heads);
	} else {
		printf("\n(confusion matrices of %zu classes: see --json)\n", c);
	}
}

int cmd_report(int argc, char **argv)
{
	bool json = false, force = false;
	const char *filter = NULL, *html = NULL, *markdown = NULL, *pairs = NULL, *study_path;
	long seed = 1;
	const struct cli_opt opts[] = {CLI_OPT_JSON(&json),
	                               CLI_OPT_FILTER(&filter),
	                               CLI_OPT_SEED(&seed),
	                               {.name = "html", .type = CLI_STR, .dest = &html},
	                               {.name = "markdown", .type = CLI_STR, .dest = &markdown},
	                               CLI_OPT_FORCE(&force),
	                               {.name = "pairs", .type = CLI_STR, .dest = &pairs},
	                               CLI_OPT_END};
	int prc = cli_parse_args("report", report_help, opts, argc, argv, &study_path);
	if (prc >= 0)
		return prc;
	if ((html && markdown) || ((html || markdown) && json))
		return cli_usage_error("report",
		                       "--html, --markdown and --json exclude each other");
	struct study *s = cli_open_study(study_path);
	if (!s)
		return EXIT_BAD_INPUT;
	struct report r = {.s = s};
	struct pair_list pl;
	if (pairs_parse(s, pairs, &pl) != EXIT_OK) {
		study_free(s);
		return EXIT_BAD_INPUT;
	}
	uint32_t *idx = NULL;
	r.n = s->n; /* without a filter, every instance: no index list (4 bytes an instance) */
	if (filter && cli_select("report", s, filter, &idx, &r.n) != EXIT_OK) {
		free(pl.ab);
		study_free(s);
		return EXIT_BAD_INPUT;
	}
	r.idx = idx;
	report_compute(&r, &pl, (uint64_t)seed);
	free(pl.ab);
	int rc;
	if (html || markdown) {
		struct report_doc d = {.s = s,
		                       .filter = filter,
		                       .idx = r.idx,
		                       .n = r.n,
		                       .mm = r.mm,
		                       .pm = r.pm,
		                       .n_pairs = r.n_pairs};
		rc = report_doc_write(&d, html ? html : markdown, !html, force);
	} else if (json) {
		rc = cli_json_print(report_json(&r, filter));
	} else {
		char **mnames = xcalloc(s->n_models, sizeof *mnames);
		char **cnames = xcalloc(s->n_classes, sizeof *cnames);
		for (size_t m = 0; m < s->n_models; m++)
			mnames[m] = cli_safe(s->models[m].name);
		for (size_t j = 0; j < s->n_classes; j++)
			cnames[j] = cli_safe(s->classes[j]);
		print_text(&r, mnames, cnames, filter);
		for (size_t m = 0; m < s->n_models; m++)
			free(mnames[m]);
		for (size_t j = 0; j < s->n_classes; j++)
			free(cnames[j]);
		free(mnames);
		free(cnames);
		rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
	}
	report_free(&r);
	free(idx);
	study_free(s);
	return rc;
}

int report_html_selection(const struct study *s, const char *filter, const uint32_t *idx, size_t n,
                          const char *path, bool force, size_t *images, struct nn_err *err)
{
	struct report r = {.s = s, .idx = idx, .n = n};
	struct pair_list pl;
	pairs_parse(s, NULL, &pl);  /* the default pairs: cannot fail */
	report_compute(&r, &pl, 1); /* --seed's default */
	free(pl.ab);
	struct report_doc d = {.s = s,
	                       .filter = filter,
	                       .idx = idx,
	                       .n = r.n,
	                       .mm = r.mm,
	                       .pm = r.pm,
	                       .n_pairs = r.n_pairs};
	int rc = report_doc_save(&d, path, false, force, images, err);
	report_free(&r);
	return rc;
}
