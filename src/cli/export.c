/* export.c — `nncmp export` (corrected labels from the triage journal) and `nncmp decisions`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "nncmp/journal.h"

static const char export_help[] =
    "usage: nncmp export STUDY --out PATH [--format npy|csv|jsonl] [--force]\n"
    "\n"
    "Writes the labels corrected in triage (the study's journal, nncmp-journal.jsonl) to PATH,\n"
    "and the decisions that made them next to it: PATH without its extension + .decisions.csv\n"
    "(.decisions.jsonl for jsonl), columns index,id,old,new,action,time, undone ones left out.\n"
    "Both files are written to a temporary, synced and renamed into place.\n"
    "\n"
    "  --out PATH     where to write the labels\n"
    "  --format F     npy: int64 (N,), -1 for removed samples; csv: index,id,label,class,status;\n"
    "                 jsonl: one object per instance. Default: from PATH's extension\n"
    "  --force        replace existing files (else an existing PATH or table is refused)\n"
    "  --help         this text\n";

static const char decisions_help[] =
    "usage: nncmp decisions STUDY [--all] [--json]\n"
    "\n"
    "Lists the decisions of the study's triage journal, oldest first, and how many instances\n"
    "are relabelled, kept, removed and skipped. Reads only: never blocks on, or changes, a\n"
    "journal an open nncmp is writing.\n"
    "\n"
    "  --all    include undone decisions (flagged)\n"
    "  --json   {\"journal\", \"counts\", \"undoable\", \"decisions\": [...]}\n"
    "  --help   this text\n";

static void print_warnings(const struct journal *j)
{
	const struct strvec *w = journal_warnings(j);
	for (size_t i = 0; i < w->n; i++) {
		char *m = cli_safe(w->v[i]);
		fprintf(stderr, "nncmp: warning: %s\n", m);
		free(m);
	}
}

/* Opens the study's journal read-only; prints the error and returns NULL on failure. */
static struct journal *open_journal(const struct study *s)
{
	struct nn_err err = {{0}};
	struct journal *j = journal_open(s, false, &err);
	if (!j) {
		char *m = cli_safe(err.msg);
		fprintf(stderr, "nncmp: %s\n", m);
		free(m);
		return NULL;
	}
	print_warnings(j);
	return j;
}

static int refuse_existing(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return 0;
	char *p = cli_safe(path);
	fprintf(stderr, "nncmp export: %s exists (--force replaces it)\n", p);
	free(p);
	return -1;
}

static const char *format_of(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	return dot && dot != base ? dot + 1 : "";
}

int cmd_export(int argc, char **argv)
{
	const char *study_path, *out = NULL, *format = NULL;
	bool force = false;
	const struct cli_opt opts[] = {
	    {.name = "out", .letter = 'o', .type = CLI_STR, .dest = &out},
	    {.name = "format", .letter = 'f', .type = CLI_STR, .dest = &format},
	    CLI_OPT_FORCE(&force),
	    CLI_OPT_END};
	int prc = cli_parse_args("export", export_help, opts, argc, argv, &study_path);
	if (prc >= 0)
		return prc;
	if (!out || !*out)
		return cli_usage_error("export", "--out PATH is required");
	if (!format)
		format = format_of(out);
	if (strcmp(format, "npy") != 0 && strcmp(format, "csv") != 0 &&
	    strcmp(format, "jsonl") != 0) {
		if (!*format)
			return cli_usage_error("export", "give --format: PATH has no npy, csv or "
			                                 "jsonl extension");
		char *f = cli_safe(format);
		int rc = cli_usage_error("export", "unknown format '%s' (npy, csv or jsonl)", f);
		free(f);
		return rc;
	}
	char *dpath = journal_export_decisions_path(out, format);
	if (!force && (refuse_existing(out) < 0 || refuse_existing(dpath) < 0)) {
		free(dpath);
		return EXIT_BAD_INPUT;
	}
	struct study *s = cli_open_study(study_path);
	if (!s) {
		free(dpath);
		return EXIT_BAD_INPUT;
	}
	struct journal *j = open_journal(s);
	int rc = EXIT_BAD_INPUT;
	if (j) {
		struct nn_err err = {{0}};
		if (journal_export(s, j, out, format, &err) < 0) {
			char *m = cli_safe(err.msg);
			fprintf(stderr, "nncmp export: %s\n", m);
			free(m);
		} else {
			size_t nd, live = 0;
			const struct decision *d = journal_decisions(j, &nd);
			for (size_t k = 0; k < nd; k++)
				live += !d[k].undone;
			char *po = cli_safe(out), *pd = cli_safe(dpath);
			printf("%s: %zu label%s (%zu relabelled, %zu kept, %zu removed, %zu "
			       "skipped)\n%s: %zu decision%s\n",
			       po, s->n, cli_plural(s->n), journal_count(j, DECIDE_RELABEL),
			       journal_count(j, DECIDE_KEEP), journal_count(j, DECIDE_REMOVE),
			       journal_count(j, DECIDE_SKIP), pd, live, cli_plural(live));
			free(po);
			free(pd);
			rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
		}
		journal_close(j);
	}
	free(dpath);
	study_free(s);
	return rc;
}

static json_t *decision_json(const struct study *s, const struct decision *d, bool all)
{
	char idbuf[32];
	json_t *o = json_pack("{s:I, s:I, s:I, s:o, s:s, s:i, s:i, s:o}", "seq", (json_int_t)d->seq,
	                      "batch", (json_int_t)d->batch, "index", (json_int_t)d->index, "id",
	                      cli_jstr(study_instance_id(s, d->index, idbuf, sizeof idbuf)),
	                      "action", journal_action_name(d->action), "old", (int)d->old_label,
	                      "new", (int)d->new_label, "time", cli_jstr(d->time));
	if (all)
		json_object_set_new(o, "undone", json_boolean(d->undone));
	return o;
}

int cmd_decisions(int argc, char **argv)
{
	const char *study_path;
	bool json = false, all = false;
	const struct cli_opt opts[] = {
	    CLI_OPT_JSON(&json),
	    {.name = "all", .letter = 'a', .type = CLI_FLAG, .dest = &all},
	    CLI_OPT_END};
	int prc = cli_parse_args("decisions", decisions_help, opts, argc, argv, &study_path);
	if (prc >= 0)
		return prc;
	struct study *s = cli_open_study(study_path);
	if (!s)
		return EXIT_BAD_INPUT;
	struct journal *j = open_journal(s);
	if (!j) {
		study_free(s);
		return EXIT_BAD_INPUT;
	}
	size_t nd;
	const struct decision *d = journal_decisions(j, &nd);
	int rc = EXIT_OK;
	if (json) {
		json_t *list = json_array();
		for (size_t k = 0; k < nd; k++)
			if (all || !d[k].undone)
				json_array_append_new(list, decision_json(s, &d[k], all));
		json_t *counts = json_object();
		for (int a = DECIDE_RELABEL; a <= DECIDE_SKIP; a++)
			json_object_set_new(counts, journal_action_name(a),
			                    json_integer((json_int_t)journal_count(j, a)));
		rc = cli_json_print(json_pack(
		    "{s:o, s:o, s:I, s:o}", "journal", cli_jstr(journal_path(j)), "counts", counts,
		    "undoable", (json_int_t)journal_undoable(j), "decisions", list));
	} else {
		char *p = cli_safe(journal_path(j));
		struct stat st;
		printf("journal %s%s\n", p, stat(journal_path(j), &st) == 0 ? "" : " (none yet)");
		free(p);
		printf("%6s %6s %8s  %-20s %-8s %5s %5s  %s\n", "seq", "batch", "index", "id",
		       "action", "old", "new", "time");
		for (size_t k = 0; k < nd; k++) {
			if (d[k].undone && !all)
				continue;
			char idbuf[32];
			printf("%6llu %6llu %8u  ", (unsigned long long)d[k].seq,
			       (unsigned long long)d[k].batch, d[k].index);
			cli_print_cell(study_instance_id(s, d[k].index, idbuf, sizeof idbuf), 20,
			               false);
			printf(" %-8s %5d %5d  %s%s\n", journal_action_name(d[k].action),
			       d[k].old_label, d[k].new_label, d[k].time,
			       d[k].undone ? "  (undone)" : "");
		}
		printf("%zu relabelled, %zu kept, %zu removed, %zu skipped; %zu batch%s to undo\n",
		       journal_count(j, DECIDE_RELABEL), journal_count(j, DECIDE_KEEP),
		       journal_count(j, DECIDE_REMOVE), journal_count(j, DECIDE_SKIP),
		       journal_undoable(j), journal_undoable(j) == 1 ? "" : "es");
		if (fflush(stdout) != 0)
			rc = EXIT_INTERNAL;
	}
	journal_close(j);
	study_free(s);
	return rc;
}
