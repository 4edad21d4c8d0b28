/*
 * cli.h — the headless subcommands and what they share: opening a study with a one-line error,
 * JSON output (jansson), and option parsing conventions.
 *
 * Exit statuses: 0 success, 2 bad input or usage, 1 internal failure.
 */
#ifndef NNCMP_CLI_H
#define NNCMP_CLI_H

#include <jansson.h>
#include <stdbool.h>

#include "nncmp/study.h"

enum { EXIT_OK = 0, EXIT_INTERNAL = 1, EXIT_BAD_INPUT = 2 };

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

/* Opens a study, printing warnings and any error (one line) to stderr; NULL on error. */
struct study *cli_open_study(const char *path);
/* Prints "nncmp CMD: MESSAGE" and a pointer to --help; returns EXIT_BAD_INPUT. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON number, or null for NaN and infinities (which JSON cannot hold). */
json_t *cli_json_real(double v);
/* Writes v to stdout followed by a newline and releases it; returns an exit status. */
int cli_json_print(json_t *v);
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

#endif
