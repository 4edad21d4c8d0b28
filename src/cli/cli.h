/*
 * cli.h — the headless subcommands and what they share: opening a study with a one-line error
 * (common.c), the option parser (opts.c), printing text and JSON (print.c), the options of the
 * layer commands (layer_cmd.c). main.c's table lists the subcommands and generates --help.
 *
 * Exit statuses: 0 success, 2 bad input or usage, 1 internal failure (and 3 for gate's verdict).
 */
#ifndef NNCMP_CLI_H
#define NNCMP_CLI_H

#include <jansson.h>
#include <limits.h>
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
int cmd_kernels(int argc, char **argv);
int cmd_patches(int argc, char **argv);
int cmd_saliency(int argc, char **argv);

/*
 * Opens a study, printing warnings and any error (one line) to stderr; NULL on error. The
 * study's triage journal is applied (journal_apply: gt is the corrected label, removed instances
 * leave the metrics), said in one line on stderr, unless cli_set_journal(false) (--no-journal).
 */
struct study *cli_open_study(const char *path);
/* The same with study_open_ex flags. */
struct study *cli_open_study_ex(const char *path, unsigned flags);
void cli_set_journal(bool use);
/* --color for every command; cli_colour() says whether stdout gets colour escapes: always,
 * never, or (auto) when it is a terminal that can show them and NO_COLOR is unset. */
void cli_set_colour(enum colour_when when);
bool cli_colour(void);
/* Prints "nncmp CMD: MSG" (sanitized): an error in the study's content; returns EXIT_BAD_INPUT. */
int cli_input_error(const char *cmd, const char *msg);
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

/* ---- options (opts.c) ---- */

/* What an option takes and where cli_parse_args stores it (dest's type). */
enum cli_opt_type {
	CLI_FLAG,   /* bool: set true; takes no value */
	CLI_STR,    /* const char *: the value (the last one given) */
	CLI_STRS,   /* struct cli_strs: every value, in order (a repeatable option) */
	CLI_PAIR,   /* const char *[2]: the value, and the next STUDY-like word (--models A B) */
	CLI_LONG,   /* long: an integer from min to max */
	CLI_CHOICE, /* int: the index of the value in choices */
	CLI_FN,     /* anything: fn(value, dest) stores it, or returns -1 when it is bad */
};
/* The values of a CLI_STRS option; v points into argv and is the caller's to free. */
struct cli_strs {
	const char **v;
	size_t n;
};
/*
 * One option of a subcommand, --NAME (and -LETTER when letter is not 0). A bad value is
 * reported as "--NAME wants WANT, not 'VALUE'"; without want, a CLI_LONG says "MIN to MAX" and
 * a CLI_CHOICE lists its choices. seen, when not NULL, is set when the option is given.
 */
struct cli_opt {
	const char *name;
	char letter;
	enum cli_opt_type type;
	void *dest;
	const char *want;
	long min, max;              /* CLI_LONG */
	const char *const *choices; /* CLI_CHOICE: NULL-terminated */
	int (*fn)(const char *value, void *dest);
	bool *seen;
};
/* The options many subcommands share, spelt once. */
/* clang-format off */
#define CLI_OPT_JSON(p) {.name = "json", .letter = 'j', .type = CLI_FLAG, .dest = (p)}
#define CLI_OPT_MODEL(p) {.name = "model", .letter = 'm', .type = CLI_STR, .dest = (p)}
#define CLI_OPT_LAYER(p) {.name = "layer", .letter = 'l', .type = CLI_STR, .dest = (p)}
#define CLI_OPT_FILTER(p) {.name = "filter", .letter = 'f', .type = CLI_STR, .dest = (p)}
#define CLI_OPT_FORCE(p) {.name = "force", .type = CLI_FLAG, .dest = (p)}
#define CLI_OPT_TOP(p) \
	{.name = "top", .letter = 't', .type = CLI_LONG, .dest = (p), .want = "a count", \
	 .max = LONG_MAX}
#define CLI_OPT_INDEX(p) \
	{.name = "index", .letter = 'i', .type = CLI_LONG, .dest = (p), \
	 .want = "an instance number", .max = LONG_MAX}
#define CLI_OPT_SEED(p) \
	{.name = "seed", .type = CLI_LONG, .dest = (p), .want = "a number", .max = LONG_MAX}
#define CLI_OPT_THREADS(p, most) \
	{.name = "threads", .type = CLI_LONG, .dest = (p), .min = 1, .max = (most)}
#define CLI_OPT_END {.name = NULL}
/* clang-format on */
/*
 * Parses a subcommand's argv (argv[0] is its name) by the table opts (ended by CLI_OPT_END),
 * plus --help, which prints help; exactly one STUDY is expected, among the options or after
 * "--", and stored in *study (borrowed from argv). --no-journal and --color were taken out by
 * main. Returns -1 to go on, or the exit status to return: EXIT_OK after --help, EXIT_BAD_INPUT
 * after a one-line message naming cmd (unknown option, missing or bad value, no or two studies).
 */
int cli_parse_args(const char *cmd, const char *help, const struct cli_opt *opts, int argc,
                   char **argv, const char **study);
/* Parses a whole option value as a number into *v (for CLI_FN); returns 0, or -1 when it is not. */
int cli_parse_real(const char *s, double *v);

/* ---- report --html / --markdown (report_doc.c) ---- */

struct model_metrics;
struct pair_metrics;
/* What the report computed, borrowed for the document. */
struct report_doc {
	const struct study *s;
	const char *filter;  /* NULL: every instance */
	const uint32_t *idx; /* the n instances matching filter, sorted (with a filter) */
	size_t n;            /* instances matching filter */
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
/* The same without printing: the number of inlined images in *images, or an exit status with
 * err set ("PATH exists (--force replaces it)"). */
int report_doc_save(const struct report_doc *r, const char *path, bool markdown, bool force,
                    size_t *images, struct nn_err *err);
/*
 * `nncmp report --html` for the instances idx[0..n) (filter: their expression, for the title;
 * NULL for all), as the TUI's :export-report writes it: the same pairs, seed and document.
 * Returns an exit status with err set; *images as report_doc_save.
 */
int report_html_selection(const struct study *s, const char *filter, const uint32_t *idx, size_t n,
                          const char *path, bool force, size_t *images, struct nn_err *err);

/* ---- what weights and diff share (weights.c) ---- */

/* The shape as stored: [out, in, kh, kw] for a conv kernel, [n] for a vector; as JSON, or as
 * text such as "(64, 256)" into buf. */
json_t *cli_shape_json(int ndim, const size_t *dims);
void cli_shape_text(int ndim, const size_t *dims, char *buf, size_t size);

/* ---- what matrix, similarity and project share (layer_cmd.c) ---- */

/* Their options, parsed by one parser so that each can name the options of the others. */
struct layer_args {
	/* cmd is set by the caller, with many_filters and the defaults of top and neuron */
	const char *cmd;
	const char *study, *model, *layer, *with, *rows, *sort_row;
	const char **filters; /* n_filters --filter values, in order (the array is the caller's to
	                         free) */
	size_t n_filters;
	long top, neuron, threads;
	bool json, abs, cka, matrix;
	bool many_filters; /* --filter may be given more than once (matrix) */
};
/*
 * Parses argv into a: the options of all three, an option of another of them refused as "--X
 * belongs to 'nncmp Y'"; --model and --layer are required. Returns -1 to go on, or an exit status
 * (after --help or a usage error; then a->filters is freed).
 */
int layer_args_parse(int argc, char **argv, struct layer_args *a, const char *help);
/* Opens a->study as cli_open_study does; on failure frees a->filters and returns NULL. */
struct study *layer_args_open(struct layer_args *a);
/* Finds model.layer with activations; returns it and sets *mp, or NULL after a one-line error. */
const struct layer *layer_find(const struct study *s, const char *cmd, const char *model,
                               const char *layer, const struct model **mp);

/* ---- printing (print.c) ---- */

/*
 * Progress on stderr while a long computation runs, when stderr is a terminal: pass
 * cli_meter_prog(m) to the computation, and cli_meter_stop(m) (which frees m) once it returns.
 */
struct cli_meter;
struct cli_meter *cli_meter_start(const char *what);
struct nn_progress *cli_meter_prog(struct cli_meter *m);
void cli_meter_stop(struct cli_meter *m);

/*
 * Columns are display columns everywhere (text_width: wcwidth, so a CJK character is two, as in
 * the TUI); a cut never splits a character, and a wide one that does not fit leaves a space.
 * cli_print_cell prints raw sanitized in exactly `width` columns (cut or padded; right-aligned
 * when right); cli_text_width is the columns of raw sanitized.
 */
void cli_print_cell(const char *raw, int width, bool right);
int cli_text_width(const char *raw);
/* For text already sanitized: prints at most width columns of it and returns how many it
 * printed; cli_put_padded pads it with spaces to width, left-aligned. */
int cli_put_cols(const char *safe, int width);
void cli_put_padded(const char *safe, int width);
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
/*
 * One heat cell of a grid (weights, saliency maps): a glyph for the band of |v| / scale (below
 * 0.1, 0.35, 0.7, above), in both signs so the picture reads without colour; with colour, red for
 * negative and green for positive, brighter when stronger. "?" for a value that is not finite.
 */
void cli_print_heat_cell(double v, double scale, bool utf8, bool colour);
/* A number for streamed JSON: enough digits for a float32 or a double, null when not finite. */
void cli_json_num(double v, bool single);

#endif
