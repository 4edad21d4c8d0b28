/*
 * opts.c — the one option parser of the subcommands: a table of struct cli_opt (cli.h) drives
 * getopt_long, so every subcommand takes --help, one STUDY anywhere among its options (or after
 * "--"), and reports an unknown option, a missing value or a bad value in the same words, naming
 * the command, with exit status 2.
 */
#include "cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/text.h"
#include "nncmp/util.h"

/* getopt_long's val of entry k of the table when it has no short letter (above every char). */
#define LONG_ONLY 256

static int bad_value(const char *cmd, const struct cli_opt *o, const char *value)
{
	char *safe = text_sanitize(value, false);
	int rc;
	if (o->want)
		rc = cli_usage_error(cmd, "--%s wants %s, not '%s'", o->name, o->want, safe);
	else
		rc = cli_usage_error(cmd, "--%s wants %ld to %ld, not '%s'", o->name, o->min,
		                     o->max, safe);
	free(safe);
	return rc;
}

/* "a, b or c" from a NULL-terminated list, for the message of a bad CLI_CHOICE value. */
static char *choice_list(const char *const *choices)
{
	size_t n = 0, len = 1;
	while (choices[n])
		len += strlen(choices[n++]) + 4;
	char *out = xmalloc(len);
	out[0] = '\0';
	for (size_t k = 0; k < n; k++) {
		if (k)
			strcat(out, k + 1 == n ? " or " : ", ");
		strcat(out, choices[k]);
	}
	return out;
}

/* Stores value by o's type; returns -1 when it is good, else an exit status after a message. */
static int take_value(const char *cmd, const struct cli_opt *o, const char *value,
                      const char ***pending)
{
	switch (o->type) {
	case CLI_FLAG:
		*(bool *)o->dest = true;
		break;
	case CLI_STR:
		*(const char **)o->dest = value;
		break;
	case CLI_STRS: {
		struct cli_strs *s = o->dest;
		s->v = xreallocarray(s->v, s->n + 1, sizeof *s->v);
		s->v[s->n++] = value;
		break;
	}
	case CLI_PAIR: {
		const char **pair = o->dest;
		pair[0] = value;
		pair[1] = NULL;
		*pending = &pair[1];
		break;
	}
	case CLI_LONG: {
		long v = cli_parse_count(value);
		if (v < 0 || v < o->min || v > o->max)
			return bad_value(cmd, o, value);
		*(long *)o->dest = v;
		break;
	}
	case CLI_CHOICE: {
		int k = 0;
		while (o->choices[k] && strcmp(value, o->choices[k]) != 0)
			k++;
		if (o->choices[k]) {
			*(int *)o->dest = k;
			break;
		}
		if (!o->want) {
			char *list = choice_list(o->choices);
			struct cli_opt named = *o;
			named.want = list;
			int rc = bad_value(cmd, &named, value);
			free(list);
			return rc;
		}
		return bad_value(cmd, o, value);
	}
	case CLI_FN:
		if (o->fn(value, o->dest) < 0)
			return bad_value(cmd, o, value);
		break;
	}
	if (o->seen)
		*o->seen = true;
	return -1;
}

int cli_parse_args(const char *cmd, const char *help, const struct cli_opt *opts, int argc,
                   char **argv, const char **study)
{
	size_t n = 0;
	while (opts[n].name)
		n++;
	struct option *lo = xcalloc(n + 2, sizeof *lo);
	/* "-": positionals come back in order as option 1, wherever they stand; ":": a missing
	   value is ':', not '?' */
	char *shorts = xmalloc(2 * n + 5), *sp = shorts;
	*sp++ = '-';
	*sp++ = ':';
	for (size_t k = 0; k < n; k++) {
		bool arg = opts[k].type != CLI_FLAG;
		lo[k] = (struct option){opts[k].name, arg ? required_argument : no_argument, NULL,
		                        opts[k].letter ? opts[k].letter : LONG_ONLY + (int)k};
		if (opts[k].letter) {
			*sp++ = opts[k].letter;
			if (arg)
				*sp++ = ':';
		}
	}
	lo[n] = (struct option){"help", no_argument, NULL, 'h'};
	*sp++ = 'h';
	*sp = '\0';
	const char **pending = NULL; /* the second value of a CLI_PAIR, given as a positional */
	bool extra = false;
	int o, rc = -1;
	optind = 1;
	opterr = 0;
	*study = NULL;
	while (rc < 0 && (o = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (o == 1 && pending) {
			*pending = optarg;
			pending = NULL;
		} else if (o == 1) {
			extra = extra || *study;
			*study = optarg;
		} else if (o == 'h') {
			fputs(help, stdout);
			rc = EXIT_OK;
		} else if (o == ':' || o == '?') {
			char *safe = text_sanitize(argv[optind - 1], false);
			rc = cli_usage_error(
			    cmd, o == ':' ? "%s needs a value" : "unknown option '%s'", safe);
			free(safe);
		} else {
			size_t k = 0;
			while (k < n && (opts[k].letter ? opts[k].letter : LONG_ONLY + (int)k) != o)
				k++;
			rc = take_value(cmd, &opts[k], optarg, &pending);
		}
	}
	free(lo);
	free(shorts);
	if (rc >= 0)
		return rc;
	for (; optind < argc; optind++) { /* after "--": a study whose name starts with '-' */
		extra = extra || *study;
		*study = argv[optind];
	}
	if (!*study || extra)
		return cli_usage_error(cmd, *study ? "one study expected" : "no study given");
	return -1;
}

int cli_parse_real(const char *s, double *v)
{
	char *end;
	*v = strtod(s, &end);
	return *s && !*end ? 0 : -1;
}
