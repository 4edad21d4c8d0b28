/* words.c — `nncmp words`: the frequent words of the filtered texts and their lift (words.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nncmp/words.h"

static const char words_help[] =
    "usage: nncmp words STUDY [--filter EXPR] [--min N] [--by lift|count] [--stop] [--top K]\n"
    "                   [--json]\n"
    "\n"
    "The words of the texts (samples.jsonl's \"text\") matching EXPR, each with the number of\n"
    "those texts that hold it and its lift over all texts: lift = (df_sel / n_sel) /\n"
    "(df_all / n), df_sel being the matching texts with the word, n_sel the matching\n"
    "instances, df_all and n the same over the whole study. A word is a run of letters,\n"
    "digits and apostrophes (non-ASCII letters included), lowercased; the TUI's words view (W)\n"
    "shows the same list.\n"
    "\n"
    "  --filter EXPR  the subset (default: every instance; then every lift is 1)\n"
    "  --min N        only words in at least N matching texts (default 3, at least 1)\n"
    "  --by KEY       lift (default with --filter) or count (default without): highest first;\n"
    "                 ties by the other key, then by the word\n"
    "  --stop         keep the stop words (the, and, of, ...; hidden by default)\n"
    "  --top K        only the first K words (default: all)\n"

    "  --json         one JSON object on stdout instead of text\n"
    "  --help         this text\n"
    "\n"
    "JSON: {\"n\", \"n_subset\", \"n_words\" (words reaching --min), \"words\": [{\"word\",\n"
    "\"in_subset\", \"in_all\", \"share_subset\", \"share_all\", \"lift\", \"stop\"}], ...}.\n";

struct words_args {
	const char *study, *filter, *by;
	long min, top;
	bool json, stop;
};

/* Returns -1 to go on, or an exit status after --help or a usage error. */
static int words_parse(int argc, char **argv, struct words_args *a)
{
	static const char *const keys[] = {"lift", "count", NULL};
	int by = 0;
	bool by_set = false;
	const struct cli_opt opts[] = {
	    CLI_OPT_JSON(&a->json),
	    CLI_OPT_FILTER(&a->filter),
	    {.name = "min",
	     .letter = 'n',
	     .type = CLI_LONG,
	     .dest = &a->min,
	     .want = "a count of at least 1",
	     .min = 1,
	     .max = LONG_MAX},
	    {.name = "by",
	     .letter = 'b',
	     .type = CLI_CHOICE,
	     .dest = &by,
	     .choices = keys,
	     .seen = &by_set},
	    {.name = "stop", .letter = 's', .type = CLI_FLAG, .dest = &a->stop},
	    {.name = "top",
	     .letter = 't',
	     .type = CLI_LONG,
	     .dest = &a->top,
	     .want = "a count of at least 1",
	     .min = 1,
	     .max = LONG_MAX},
	    CLI_OPT_END};
	int rc = cli_parse_args("words", words_help, opts, argc, argv, &a->study);
	if (by_set)
		a->by = keys[by];
	return rc;
}

static json_t *words_json(const struct study *s, const struct words_args *a,
                          const struct word_counts *wc, const size_t *rank, size_t n, size_t total)
{
	json_t *list = json_array();
	for (size_t k = 0; k < n; k++) {
		const struct word_stat *w = &wc->words[rank[k]];
		json_array_append_new(
		    list, json_pack("{s:o, s:I, s:I, s:o, s:o, s:o, s:b}", "word",
		                    cli_jstr(w->text), "in_subset", (json_int_t)w->df_sel, "in_all",
		                    (json_int_t)w->df_all, "share_subset",
		                    cli_json_real(wc->n_sel ? (double)w->df_sel / (double)wc->n_sel
		                                            : NAN),
		                    "share_all", cli_json_real((double)w->df_all / (double)wc->n),
		                    "lift", cli_json_real(words_lift(wc, w)), "stop", w->stop));
	}
	return json_pack("{s:o, s:o, s:I, s:I, s:I, s:s, s:b, s:I, s:o}", "study",
	                 cli_jstr(s->name), "filter", cli_jstr(a->filter), "n", (json_int_t)wc->n,
	                 "n_subset", (json_int_t)wc->n_sel, "min", (json_int_t)a->min, "by", a->by,
	                 "stop_words", a->stop, "n_words", (json_int_t)total, "words", list);
}

static void words_text(const struct word_counts *wc, const struct words_args *a, const size_t *rank,
                       size_t n, size_t total)
{
	printf("%zu of %zu instances; words in at least %ld of their texts%s; by %s", wc->n_sel,
	       wc->n, a->min, a->stop ? "" : ", stop words hidden", a->by);
	if (n < total)
		printf("; the first %zu of %zu", n, total);
	printf("\n");
	if (!n) {
		printf("no word reaches the minimum support (--min)\n");
		return;
	}
	int ww = 4;
	for (size_t k = 0; k < n; k++) {
		int t = cli_text_width(wc->words[rank[k]].text);
		ww = t > ww ? t : ww;
	}
	ww = ww > 30 ? 30 : ww;
	cli_print_cell("word", ww, false);
	printf(" %9s %8s %8s %8s\n", "in subset", "% subset", "% all", "lift");
	for (size_t k = 0; k < n; k++) {
		const struct word_stat *w = &wc->words[rank[k]];
		cli_print_cell(w->text, ww, false);
		printf(" %9zu %7.1f%% %7.1f%% %8.3f\n", w->df_sel,
		       wc->n_sel ? 100.0 * (double)w->df_sel / (double)wc->n_sel : 0.0,
		       100.0 * (double)w->df_all / (double)wc->n, words_lift(wc, w));
	}
}

int cmd_words(int argc, char **argv)
{
	struct words_args a = {.min = 3};
	int rc = words_parse(argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (!a.by)
		a.by = a.filter ? "lift" : "count"; /* without a filter every lift is 1 */
	struct study *s = cli_open_study(a.study);
	if (!s)
		return EXIT_BAD_INPUT;
	uint32_t *idx = NULL;
	size_t n_idx = 0;
	rc = cli_select("words", s, a.filter, &idx, &n_idx);
	struct word_counts wc;
	struct nn_err err = {{0}};
	if (rc == EXIT_OK && words_count(s, idx, n_idx, NULL, &wc, &err) != 0) {
		char *msg = xasprintf("%s: %s", s->name, err.msg);
		rc = cli_input_error("words", msg);
		free(msg);
	}
	free(idx);
	if (rc != EXIT_OK) {
		study_free(s);
		return rc;
	}
	size_t *rank = xcalloc(wc.n_words ? wc.n_words : 1, sizeof *rank);
	size_t total =
	    words_rank(&wc, (size_t)a.min, a.stop,
	               strcmp(a.by, "count") == 0 ? WORDS_BY_COUNT : WORDS_BY_LIFT, rank);
	size_t n = a.top && (size_t)a.top < total ? (size_t)a.top : total;
	if (a.json) {
		rc = cli_json_print(words_json(s, &a, &wc, rank, n, total));
	} else {
		words_text(&wc, &a, rank, n, total);
		rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
	}
	free(rank);
	words_free(&wc);
	study_free(s);
	return rc;
}
