/* common.c — what the subcommands share. */
#include "cli.h"

#include <langinfo.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/text.h"

struct study *cli_open_study(const char *path)
{
	struct nn_err err = {{0}};
	struct study *s = study_open(path, &err);
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

json_t *cli_json_real(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

int cli_json_print(json_t *v)
{
	int rc = json_dumpf(v, stdout, JSON_COMPACT | JSON_REAL_PRECISION(17)) == 0 ? EXIT_OK
	                                                                            : EXIT_INTERNAL;
	json_decref(v);
	putchar('\n');
	if (fflush(stdout) != 0)
		rc = EXIT_INTERNAL;
	return rc;
}

char *cli_safe(const char *s)
{
	static int utf8 = -1;
	if (utf8 < 0) {
		const char *cs = nl_langinfo(CODESET);
		utf8 = cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
	}
	return text_sanitize(s, !utf8);
}

long cli_parse_count(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 0)
		return -1;
	return v;
}
