/*
 * instances.c — `nncmp instances`: the instances that match a filter, sorted; as a text table,
 * one JSON object, JSON lines, CSV or TSV (the last three for pandas and VisiData).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nncmp/classnames.h"
#include "nncmp/filter.h"
#include "nncmp/journal.h"
#include "nncmp/metrics.h"
#include "nncmp/text.h"

static const char instances_help[] =
    "usage: nncmp instances STUDY [--filter EXPR] [--sort KEY[:asc|:desc]] [--top K]\n"
    "                       [--json | --format text|json|jsonl|csv|tsv]\n"
    "\n"
    "Lists the instances that match EXPR (all without --filter): index, id, label, each\n"
    "model's prediction and confidence, how many models are right, the label-issue score and\n"
    "a text snippet.\n"
    "\n"
    "  --filter EXPR  e.g. 'gt == neg and cnn == gt and lstm != gt', 'conf(cnn) > 0.9'\n"
    "  --sort KEY     index (default), id, or any value expression: conf(M), margin(M),\n"
    "                 p(M, CLASS), act(M.LAYER.J), issue, correct, gt, a model name;\n"
    "                 highest first, or lowest first with ':asc'\n"
    "  --top K        print the first K (default 50; 0 prints all); the count is of all matches\n"
    "  --json         {\"count\", \"instances\": [{\"index\", \"id\", \"label\", \"preds\", "
    "...}]}\n"
    "  --format F     text (default), json (= --json), jsonl (one instance object a line),\n"
    "                 csv or tsv (a header row, then a row per instance; columns as\n"
    "                 pandas.json_normalize names them: preds.MODEL, conf.MODEL)\n"
    "  --help         this text\n";

static void print_error(const char *what, const char *text, const struct nn_err *err, size_t col)
{
	char *t = cli_safe(text);
	fprintf(stderr, "nncmp instances: %s: %s\n  %s\n", what, err->msg, t);
	if (col)
		fprintf(stderr, "  %*s^\n", (int)col - 1, "");
	free(t);
}

/* Sorts the selection by key (expr_sort); returns 0, or EXIT_BAD_INPUT after a message. */
static int sort_selection(const struct study *s, uint32_t *idx, size_t n, const char *key,
                          double **keys)
{
	struct nn_err err = {{0}};
	size_t col = 0;
	int rc = expr_sort(s, idx, n, key, keys, &err, &col);
	/* a damaged chunk under act(): one line naming the file, not the key */
	struct nn_err rerr = {{0}};
	if (study_read_error(s, &rerr) < 0) {
		char *m = cli_safe(rerr.msg);
		fprintf(stderr, "nncmp instances: %s\n", m);
		free(m);
		free(*keys);
		*keys = NULL;
		return EXIT_BAD_INPUT;
	}
	if (rc == 0)
		return 0;
	print_error("sort key", key, &err, col);
	return EXIT_BAD_INPUT;
}

static json_t *instance_json(const struct study *s, size_t i)
{
	char buf[32];
	json_t *preds = json_object(), *conf = json_object();
	for (size_t m = 0; m < s->n_models; m++) {
		const struct model *md = &s->models[m];
		json_object_set_new(preds, md->name, cli_jstr(s->classes[model_pred(md, i)]));
		if (model_has_probs(md))
			json_object_set_new(conf, md->name, cli_json_real(model_conf(md, i)));
	}
	json_t *o = json_pack("{s:I, s:o, s:o, s:i, s:o, s:o, s:i, s:o}", "index", (json_int_t)i,
	                      "id", cli_jstr(study_instance_id(s, i, buf, sizeof buf)), "label",
	                      cli_jstr(s->classes[s->labels[i]]), "label_id", s->labels[i], "preds",
	                      preds, "conf", conf, "correct", metrics_correct_count(s, i), "issue",
	                      cli_json_real(study_issue_score(s, i)));
	if (s->status) { /* a journal was applied: label is the corrected one */
		int32_t g = study_given(s)[i];
		json_object_set_new(o, "given", cli_jstr(s->classes[g]));
		json_object_set_new(o, "given_id", json_integer(g));
		json_object_set_new(o, "status",
		                    json_string(journal_status_name(study_status(s, i))));
	}
	if (s->splits && s->splits[i])
		json_object_set_new(o, "split", cli_jstr(s->splits[i]));
	if (s->images && s->images[i])
		json_object_set_new(o, "image", cli_jstr(s->images[i]));
	if (s->texts && s->texts[i])
		json_object_set_new(o, "text", cli_jstr(s->texts[i]));
	return o;
}

/* Prints at most `width` display columns of sanitized raw, padded to width when `pad`; returns
 * the columns of text printed (before the padding). */
static int print_cell_pad(const char *raw, int width, bool pad)
{
	char *s = cli_safe(raw);
	int cols = cli_put_cols(s, width);
	if (pad)
		printf("%*s", width - cols, "");
	free(s);
	return cols;
}

static void print_cell(const char *raw, int width)
{
	print_cell_pad(raw, width, true);
}

/*
 * The class names (sanitized) abbreviated to a cell's width (classnames.h), each width computed
 * once: with --top 0 a table prints every instance.
 */
struct short_names {
	const struct study *s;
	char **safe;
	struct {
		int width;
		enum classnames_kind kind;
		char **names;
	} w[16];
	size_t n;
};

static const char *short_name(struct short_names *sn, int32_t c, int width)
{
	size_t k = 0, nc = sn->s->n_classes;
	while (k < sn->n && sn->w[k].width != width)
		k++;
	if (k == sn->n) {
		if (k == sizeof sn->w / sizeof *sn->w)
			return sn->safe[c]; /* not reached: the table uses a few widths */
		sn->w[k].width = width;
		sn->w[k].names = xcalloc(nc ? nc : 1, sizeof *sn->w[k].names);
		sn->w[k].kind = classnames_abbrev((const char *const *)sn->safe, nc, width,
		                                  !cli_utf8(), sn->w[k].names);
		sn->n++;
	}
	return sn->w[k].names[c];
}

/* True when some cell shows a class by its number. */
static bool short_numbers(const struct short_names *sn)
{
	for (size_t k = 0; k < sn->n; k++)
		if (sn->w[k].kind == CLASSNAMES_NUMBERS)
			return true;
	return false;
}

static void short_free(struct short_names *sn)
{
	for (size_t k = 0; k < sn->n; k++) {
		classnames_free(sn->w[k].names, sn->s->n_classes);
		free(sn->w[k].names);
	}
	for (size_t c = 0; c < sn->s->n_classes; c++)
		free(sn->safe[c]);
	free(sn->safe);
}

/* A prediction cell's width: "*" + an 8-letter class name + " 0.99" */
#define PRED_COLS 14

/*
 * The prediction cell: "*" when wrong, the class name abbreviated to the columns left, and the
 * confidence rounded to two decimals (0.995 shows 1.00 and 0.994 0.99), always whole.
 */
static void print_pred(struct short_names *sn, const struct model *md, size_t i, int width)
{
	const struct study *s = sn->s;
	bool ok = model_pred(md, i) == s->labels[i];
	char num[32] = "";
	if (model_has_probs(md))
		snprintf(num, sizeof num, " %.2f", model_conf(md, i));
	int name_w = width - (ok ? 0 : 1) - (int)strlen(num);
	if (!ok)
		printf("*");
	int used = print_cell_pad(short_name(sn, model_pred(md, i), name_w), name_w, false);
	printf("%s%*s", num, name_w - used, "");
}

/* The label cell: "given->new" for a relabelled instance, "x name" for a removed one. */
static void print_label(struct short_names *sn, size_t i, int width)
{
	const struct study *s = sn->s;
	int32_t g = study_given(s)[i], now = s->labels[i];
	const char *arrow = cli_utf8() ? "\xe2\x86\x92" : "->";
	char *cell;
	if (study_removed(s, i))
		cell = xasprintf("%s%s", cli_utf8() ? "\xe2\x9c\x95" : "x",
		                 short_name(sn, now, width - 1));
	else if (g != now) {
		int room = width - text_width(arrow), w1 = room / 2;
		cell = xasprintf("%s%s%s", short_name(sn, g, w1), arrow,
		                 short_name(sn, now, room - w1));
	} else
		cell = xstrdup(short_name(sn, now, width));
	print_cell(cell, width);
	free(cell);
}

static void print_text(const struct study *s, const uint32_t *idx, size_t shown, size_t count,
                       const double *keys)
{
	struct short_names sn = {.s = s,
	                         .safe = xcalloc(s->n_classes ? s->n_classes : 1, sizeof *sn.safe)};
	for (size_t c = 0; c < s->n_classes; c++)
		sn.safe[c] = cli_safe(s->classes[c]);
	printf("%zu of %zu instance%s match%s", count, s->n, cli_plural(s->n),
	       count == 1 ? "es" : "");
	if (shown < count)
		printf(" (first %zu shown; --top 0 for all)", shown);
	printf("\n\n%8s  %-14s %-12s", "index", "id", "label");
	if (keys)
		printf(" %10s", "sort key");
	for (size_t m = 0; m < s->n_models; m++) {
		printf(" ");
		print_cell(s->models[m].name, PRED_COLS);
	}
	printf(" %5s %6s%s\n", "right", "issue", s->texts ? "  text" : s->images ? "  image" : "");
	for (size_t k = 0; k < shown; k++) {
		size_t i = idx[k];
		char buf[32];
		printf("%8zu  ", i);
		print_cell(study_instance_id(s, i, buf, sizeof buf), 14);
		printf(" ");
		print_label(&sn, i, 12);
		if (keys)
			printf(" %10.4g", keys[k]);
		for (size_t m = 0; m < s->n_models; m++) {
			const struct model *md = &s->models[m];
			printf(" ");
			print_pred(&sn, md, i, PRED_COLS);
		}
		printf(" %5d %6.3f", metrics_correct_count(s, i), study_issue_score(s, i));
		if (s->texts && s->texts[i]) {
			/* one line, as the TUI's table shows it: a line break is one mark */
			char *t = text_sanitize_one_line(s->texts[i], !cli_utf8(),
			                                 cli_utf8() ? "\xe2\x8f\x8e" : "|");
			printf("  ");
			print_cell_pad(t, 60, false);
			free(t);
		} else if (s->images && s->images[i]) {
			printf("  ");
			print_cell_pad(s->images[i], 40, false);
		}
		printf("\n");
	}
	if (shown)
		printf(
		    "\n(* marks a prediction that differs from the label; numbers are the model's "
		    "confidence)\n");
	if (shown && short_numbers(&sn)) {
		printf("(classes by number:");
		for (size_t c = 0; c < s->n_classes; c++)
			printf("%s %zu %s", c ? "," : "", c, sn.safe[c]);
		printf(")\n");
	}
	short_free(&sn);
}

enum inst_format { FMT_TEXT, FMT_JSON, FMT_JSONL, FMT_CSV, FMT_TSV };

/*
 * One CSV/TSV cell (RFC 4180 quoting): quoted when it holds the separator, a quote or a line
 * break, quotes doubled. Control characters other than tab and line breaks, DEL and the C1
 * controls become \uXXXX, so that no escape sequence reaches a terminal.
 */
static void dsv_cell(const char *v, char sep)
{
	bool quote = strchr(v, sep) || strpbrk(v, "\"\r\n");
	if (quote)
		putchar('"');
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"')
			fputs("\"\"", stdout);
		else if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
			printf("\\u%04x", *p);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			printf("\\u%04x", *++p);
		else
			putchar(*p);
	}
	if (quote)
		putchar('"');
}

/* A JSON value as a cell: a string as it is, a number as --json writes it, null empty. */
static void dsv_value(const json_t *v, char sep)
{
	if (!v || json_is_null(v))
		return;
	if (json_is_string(v)) {
		dsv_cell(json_string_value(v), sep);
		return;
	}
	char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
	if (t)
		fputs(t, stdout);
	free(t);
}

/* The columns of the CSV/TSV form: the instance objects' keys, "preds" and "conf" flattened
 * to "preds.MODEL" and "conf.MODEL" as pandas.json_normalize names them. */
struct dsv_cols {
	const char *key[16];
	size_t n_keys;
};

static void dsv_columns(const struct study *s, bool keys, struct dsv_cols *c)
{
	static const char *const head[] = {"index", "id", "label", "label_id"};
	c->n_keys = 0;
	for (size_t k = 0; k < 4; k++)
		c->key[c->n_keys++] = head[k];
	if (s->status) {
		c->key[c->n_keys++] = "given";
		c->key[c->n_keys++] = "given_id";
		c->key[c->n_keys++] = "status";
	}
	c->key[c->n_keys++] = "preds";
	c->key[c->n_keys++] = "conf";
	c->key[c->n_keys++] = "correct";
	c->key[c->n_keys++] = "issue";
	if (keys)
		c->key[c->n_keys++] = "sort_value";
	if (s->splits)
		c->key[c->n_keys++] = "split";
	if (s->images)
		c->key[c->n_keys++] = "image";
	if (s->texts)
		c->key[c->n_keys++] = "text";
}

/* Prints one row: the header (the column names) when o is NULL, else o's values. */
static void dsv_row(const struct study *s, const struct dsv_cols *c, const json_t *o, char sep)
{
	bool first = true;
	for (size_t k = 0; k < c->n_keys; k++) {
		bool nested = strcmp(c->key[k], "preds") == 0 || strcmp(c->key[k], "conf") == 0;
		for (size_t m = 0; m < (nested ? s->n_models : 1); m++) {
			if (nested && c->key[k][0] == 'c' && !model_has_probs(&s->models[m]))
				continue;
			if (!first)
				putchar(sep);
			first = false;
			if (!o) {
				char *name = nested
				                 ? xasprintf("%s.%s", c->key[k], s->models[m].name)
				                 : xstrdup(c->key[k]);
				json_t *j = cli_jstr(name); /* the name as JSON writes it */
				dsv_cell(json_string_value(j), sep);
				json_decref(j);
				free(name);
				continue;
			}
			const json_t *v = json_object_get(o, c->key[k]);
			if (nested) {
				json_t *j = cli_jstr(s->models[m].name);
				v = v ? json_object_get(v, json_string_value(j)) : NULL;
				json_decref(j);
			}
			dsv_value(v, sep);
		}
	}
	putchar('\n');
}

/* Writes the shown instances as JSON lines, CSV or TSV; returns an exit status. */
static int print_rows(const struct study *s, const uint32_t *idx, size_t shown, const double *keys,
                      int fmt)
{
	char sep = fmt == FMT_TSV ? '\t' : ',';
	struct dsv_cols c;
	dsv_columns(s, keys != NULL, &c);
	if (fmt != FMT_JSONL)
		dsv_row(s, &c, NULL, sep);
	int rc = EXIT_OK;
	for (size_t k = 0; k < shown && rc == EXIT_OK; k++) {
		json_t *inst = instance_json(s, idx[k]);
		if (keys)
			json_object_set_new(inst, "sort_value", cli_json_real(keys[k]));
		if (fmt == FMT_JSONL) {
			if (json_dumpf(inst, stdout,
			               JSON_COMPACT | JSON_ENSURE_ASCII |
			                   JSON_REAL_PRECISION(17)) != 0)
				rc = EXIT_INTERNAL;
			putchar('\n');
		} else
			dsv_row(s, &c, inst, sep);
		json_decref(inst);
	}
	if (fflush(stdout) != 0)
		rc = EXIT_INTERNAL;
	return rc;
}

int cmd_instances(int argc, char **argv)
{
	static const char *const formats[] = {"text", "json", "jsonl", "csv", "tsv", NULL};
	bool json = false;
	int fmt = FMT_TEXT;
	const char *filter = NULL, *sort = NULL, *study_path;
	long top = 50;
	const struct cli_opt opts[] = {
	    CLI_OPT_JSON(&json),
	    CLI_OPT_FILTER(&filter),
	    {.name = "sort", .letter = 's', .type = CLI_STR, .dest = &sort},
	    CLI_OPT_TOP(&top),
	    {.name = "format", .letter = 'F', .type = CLI_CHOICE, .dest = &fmt, .choices = formats},
	    CLI_OPT_END};
	int prc = cli_parse_args("instances", instances_help, opts, argc, argv, &study_path);
	if (prc >= 0)
		return prc;
	if (json && fmt == FMT_TEXT)
		fmt = FMT_JSON;
	struct study *s = cli_open_study(study_path);
	if (!s)
		return EXIT_BAD_INPUT;
	uint32_t *idx = NULL;
	size_t count = 0;
	double *keys = NULL;
	int rc = cli_select("instances", s, filter, &idx, &count);
	if (rc == EXIT_OK && sort)
		rc = sort_selection(s, idx, count, sort, &keys);
	if (rc == EXIT_OK) {
		size_t shown = top == 0 || (size_t)top > count ? count : (size_t)top;
		if (fmt == FMT_JSONL || fmt == FMT_CSV || fmt == FMT_TSV) {
			rc = print_rows(s, idx, shown, keys, fmt);
		} else if (fmt == FMT_JSON) {
			json_t *arr = json_array();
			for (size_t k = 0; k < shown; k++) {
				json_t *inst = instance_json(s, idx[k]);
				if (keys)
					json_object_set_new(inst, "sort_value",
					                    cli_json_real(keys[k]));
				json_array_append_new(arr, inst);
			}
			rc = cli_json_print(json_pack("{s:I, s:I, s:o, s:o, s:o}", "count",
			                              (json_int_t)count, "total", (json_int_t)s->n,
			                              "filter", cli_jstr(filter), "sort",
			                              cli_jstr(sort), "instances", arr));
		} else {
			print_text(s, idx, shown, count, keys);
			rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
		}
	}
	free(keys);
	free(idx);
	study_free(s);
	return rc;
}
