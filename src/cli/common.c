/* common.c — what the subcommands share. */
#include "cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nncmp/filter.h"
#include "nncmp/journal.h"
#include "nncmp/text.h"

/* Whether cli_open_study applies the study's journal (--no-journal turns it off). */
static bool use_journal = true;

static enum colour_when colour_when = COLOUR_AUTO;

void cli_set_colour(enum colour_when when)
{
	colour_when = when;
}

bool cli_colour(void)
{
	if (colour_when != COLOUR_AUTO)
		return colour_when == COLOUR_ALWAYS;
	const char *term = getenv("TERM"), *no = getenv("NO_COLOR");
	return isatty(STDOUT_FILENO) && !(no && *no) && term && *term && strcmp(term, "dumb") != 0;
}

void cli_set_journal(bool use)
{
	use_journal = use;
}

/*
 * Applies the study's triage journal, saying so in one line on stderr when it holds decisions;
 * -1 after a one-line error when the journal cannot be read (never guessed around).
 */
static int apply_journal(struct study *s)
{
	struct nn_err err = {{0}};
	struct journal *j = journal_open(s, false, &err);
	if (!j) {
		char *msg = cli_safe(err.msg);
		fprintf(stderr, "nncmp: %s (--no-journal reads the labels as in the files)\n", msg);
		free(msg);
		return -1;
	}
	const struct strvec *w = journal_warnings(j);
	for (size_t i = 0; i < w->n; i++) {
		char *msg = cli_safe(w->v[i]);
		fprintf(stderr, "nncmp: warning: %s\n", msg);
		free(msg);
	}
	size_t n_dec;
	journal_decisions(j, &n_dec);
	if (n_dec > 0) {
		journal_apply(j, s);
		char *where = cli_safe(journal_path(j));
		fprintf(stderr,
		        "nncmp: %zu decision%s applied from %s (%zu relabelled, %zu removed, %zu "
		        "kept; --no-journal ignores them)\n",
		        s->n_decided, cli_plural(s->n_decided), where,
		        journal_count(j, DECIDE_RELABEL), s->n_removed,
		        journal_count(j, DECIDE_KEEP));
		free(where);
	}
	journal_close(j);
	return 0;
}

struct study *cli_open_study(const char *path)
{
	return cli_open_study_ex(path, 0);
}

struct study *cli_open_study_ex(const char *path, unsigned flags)
{
	struct nn_err err = {{0}};
	struct study *s = study_open_ex(path, flags, &err);
	if (!s) {
		char *msg = cli_safe(err.msg);
		fprintf(stderr, "nncmp: %s\n", msg);
		free(msg);
		return NULL;
	}
	for (size_t i = 0; i < s->warnings.n; i++) {
		char *msg = cli_safe(s->warnings.v[i]);
		fprintf(stderr, "nncmp: warning: %s\n", msg);
		free(msg);
	}
	if (use_journal && apply_journal(s) < 0) {
		study_free(s);
		return NULL;
	}
	return s;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "nncmp %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see 'nncmp %s --help')\n", cmd);
	va_end(ap);
	return EXIT_BAD_INPUT;
}

int cli_input_error(const char *cmd, const char *msg)
{
	char *m = cli_safe(msg);
	fprintf(stderr, "nncmp %s: %s\n", cmd, m);
	free(m);
	return EXIT_BAD_INPUT;
}

json_t *cli_json_real(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *cli_jstr(const char *text)
{
	if (!text)
		return json_null();
	char *valid = text_valid_utf8(text);
	json_t *v = json_string(valid);
	free(valid);
	if (!v) { /* valid UTF-8 without NUL: only out of memory is left */
		fputs("nncmp: out of memory building JSON\n", stderr);
		exit(EXIT_INTERNAL);
	}
	return v;
}

/* ASCII only: C1 controls and bidi overrides in data must not reach a terminal even as JSON. */
int cli_json_print(json_t *v)
{
	if (!v) {
		fputs("nncmp: internal error: a value could not be encoded as JSON\n", stderr);
		return EXIT_INTERNAL;
	}
	/* encoded into memory and written once: json_dumpf writes through stdio a token at a
	 * time, about 1 ms of a report's 150 KB */
	char *t = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(17));
	int rc = t ? EXIT_OK : EXIT_INTERNAL;
	if (t) {
		fputs(t, stdout);
		free(t);
	}
	json_decref(v);
	putchar('\n');
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = EXIT_INTERNAL;
	return rc;
}

bool cli_utf8(void)
{
	static int utf8 = -1;
	if (utf8 < 0)
		utf8 = text_locale_utf8();
	return utf8;
}

char *cli_safe(const char *s)
{
	return text_sanitize(s, !cli_utf8());
}

int cli_select(const char *cmd, const struct study *s, const char *filter, uint32_t **idx,
               size_t *n)
{
	*idx = xcalloc(s->n, sizeof **idx);
	if (!filter) {
		*n = expr_select(NULL, s, *idx);
		return EXIT_OK;
	}
	struct nn_err err = {{0}};
	size_t col = 0;
	struct expr *e = expr_compile_condition(s, filter, &err, &col);
	if (!e) {
		char *f = cli_safe(filter), *m = cli_safe(err.msg);
		fprintf(stderr, "nncmp %s: filter: %s\n  %s\n", cmd, m, f);
		if (col)
			fprintf(stderr, "  %*s^\n", (int)col - 1, "");
		free(f);
		free(m);
		expr_free(e);
		free(*idx);
		*idx = NULL;
		return EXIT_BAD_INPUT;
	}
	*n = expr_select(e, s, *idx);
	expr_free(e);
	if (study_read_error(s, &err) < 0) { /* act() over a damaged chunk read as NaN */
		char *m = cli_safe(err.msg);
		fprintf(stderr, "nncmp %s: %s\n", cmd, m);
		free(m);
		free(*idx);
		*idx = NULL;
		return EXIT_BAD_INPUT;
	}
	return EXIT_OK;
}

long cli_parse_count(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 0)
		return -1;
	return v;
}
