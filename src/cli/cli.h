/*
 * cli.h — the headless subcommands and what they share: opening a study with a one-line error,
 * JSON output (jansson), and option parsing conventions.
 *
 * Exit statuses: 0 success, 2 bad input or usage, 1 internal failure (and 3 for gate's verdict).
 */
#ifndef NNCMP_CLI_H
#define NNCMP_CLI_H

#include <jansson.h>
#include <stdbool.h>

#include "nncmp/study.h"

enum { EXIT_OK = 0, EXIT_INTERNAL = 1, EXIT_BAD_INPUT = 2 };
/* `nncmp gate` only: the new model is significantly worse than the base. */
enum { EXIT_GATE_WORSE = 3 };

int cmd_report(int argc, char **argv);
int cmd_instances(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_weights(int argc, char **argv);
int cmd_matrix(int argc, char **argv);
int cmd_similarity(int argc, char **argv);
int cmd_project(int argc, char **argv);
int cmd_neurons(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_decisions(int argc, char **argv);
int cmd_preview(int argc, char **argv);
int cmd_dups(int argc, char **argv);
int cmd_issues(int argc, char **argv);
int cmd_classes(int argc, char **argv);
int cmd_calibration(int argc, char **argv);
int cmd_gate(int argc, char **argv);
int cmd_words(int argc, char **argv);
int cmd_overview(int argc, char **argv);
int cmd_arch(int argc, char **argv);

/*
 * Opens a study, printing warnings and any error (one line) to stderr; NULL on error. The
 * study's triage journal is applied (journal_apply: gt is the corrected label, removed instances
 * leave the metrics), said in one line on stderr, unless cli_set_journal(false) (--no-journal).
 */
struct study *cli_open_study(const char *path);
void cli_set_journal(bool use);
/* --color for every command; cli_colour() says whether stdout gets colour escapes: always,
 * never, or (auto) when it is a terminal that can show them and NO_COLOR is unset. */
void cli_set_colour(enum colour_when when);
bool cli_colour(void);
/* Prints "nncmp CMD: MESSAGE" and a pointer to --help; returns EXIT_BAD_INPUT. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON number, or null for NaN and infinities (which JSON cannot hold). */
json_t *cli_json_real(double v);
/*
 * Writes v to stdout followed by a newline and releases it; returns an exit status. A NULL v (a
 * json_pack that failed) is an internal error with a message on stderr.
 */
int cli_json_print(json_t *v);
/* True when the locale's codeset is UTF-8 (else output uses ASCII glyphs and escapes). */
bool cli_utf8(void);
/* Sanitized copy of untrusted text for stdout (ASCII escapes when the locale is not UTF-8). */
char *cli_safe(const char *s);
/*
 * Selects the instances matching filter (all when filter is NULL) into a new array *idx (caller
 * frees) and their count *n. A bad or non-boolean expression is reported on stderr as
 * "nncmp CMD: filter: MESSAGE", the expression and a caret under the column; returns EXIT_OK or
 * EXIT_BAD_INPUT.
 */
int cli_select(const char *cmd, const struct study *s, const char *filter, uint32_t **idx,
               size_t *n);
/* Parses a non-negative integer option value; returns -1 when it is not one. */
long cli_parse_count(const char *s);

/* ---- report --html / --markdown (report_doc.c) ---- */

struct model_metrics;
struct pair_metrics;
/* What the report computed, borrowed for the document. */
struct report_doc {
	const struct study *s;
	const char *filter; /* NULL: every instance */
	size_t n;           /* instances matching filter */
	const struct model_metrics *mm;
	const struct pair_metrics *pm;
	size_t n_pairs;
};
/*
 * Writes the report as one self-contained HTML (or Markdown) file at path: to a temporary in its
 * directory, fsync'd, then moved into place (an existing path needs force). Says so on stdout;
 * returns an exit status after a one-line error.
 */
int report_doc_write(const struct report_doc *r, const char *path, bool markdown, bool force);

/* ---- what matrix, similarity and project share (layer_cmd.c) ---- */

/* Their options, parsed by one parser so that each can name the options of the others. */
struct layer_args {
	const char *cmd; /* set by the caller, with the defaults of top and neuron */
	const char *study, *model, *layer, *with, *rows, *sort_row;
	const char **filters; /* n_filters --filter values, in order (the array is the caller's to
	                         free) */
	size_t n_filters;
	long top, neuron, threads;
	bool json, abs, cka, matrix;
};
/* Parses argv into a; returns -1 to go on, or an exit status (after --help or a usage error). */
int layer_args_parse(int argc, char **argv, struct layer_args *a, const char *help);
/* Finds model.layer with activations; returns it and sets *mp, or NULL after a one-line error. */
const struct layer *layer_find(const struct study *s, const char *cmd, const char *model,
                               const char *layer, const struct model **mp);
/* Prints "nncmp CMD: MSG" (sanitized) to stderr; returns EXIT_BAD_INPUT. */
int cli_input_error(const char *cmd, const char *msg);

/*
 * Progress on stderr while a long computation runs, when stderr is a terminal: pass
 * cli_meter_prog(m) to the computation, and cli_meter_stop(m) (which frees m) once it returns.
 */
struct cli_meter;
struct cli_meter *cli_meter_start(const char *what);
struct nn_progress *cli_meter_prog(struct cli_meter *m);
void cli_meter_stop(struct cli_meter *m);

/* Prints sanitized text in exactly `width` columns (cut or padded; right-aligned when right). */
void cli_print_cell(const char *raw, int width, bool right);
/* Display width of a string as cli_print_cell counts it (code points). */
int cli_text_width(const char *raw);
/* Prints "model.layer" sanitized. */
void cli_print_layer(const char *model, const char *layer);
/* "" for 1, else "s". */
const char *cli_plural(size_t n);
/*
 * The JSON string of any text from outside (names, ids, paths, filters, texts): every string in
 * JSON output goes through here. Bytes that are not UTF-8 become \xHH, as the text output shows
 * them (text_valid_utf8), so no field is dropped; NULL gives JSON null. Never returns NULL.
 */
json_t *cli_jstr(const char *text);
/*
 * Prints the JSON object meta without its closing brace, so that large arrays can follow it
 * streamed (jansson would hold every number as an object). Releases meta. Returns 0 or -1.
 */
int cli_json_open_object(json_t *meta);
/* A number for streamed JSON: enough digits for a float32 or a double, null when not finite. */
void cli_json_num(double v, bool single);

#endif
