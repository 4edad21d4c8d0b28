/* samples.c — samples.jsonl (jansson) and labels.csv (libcsv). */
#include "nncmp/samples.h"

#include <csv.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum field { F_ID, F_TEXT, F_IMAGE, F_SPLIT, F_COUNT };
static const char *const field_names[F_COUNT] = {"id", "text", "image", "split"};

/* An image path must stay inside the study: relative, without ".." components. */
static bool path_stays_inside(const char *p)
{
	if (p[0] == '/')
		return false;
	const char *c = p;
	while (*c) {
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t)(slash - c) : strlen(c);
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return false;
		if (!slash)
			break;
		c = slash + 1;
	}
	return true;
}

static int take_line(struct study *s, char ***arrays, size_t row, const char *line, size_t len,
                     const char *name, struct nn_err *err)
{
	json_error_t je;
	json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (!obj)
		return nn_err_set(err, "%s:%zu: %s (column %d)", name, row + 1, je.text, je.column);
	int rc = 0;
	if (!json_is_object(obj)) {
		rc = nn_err_set(err, "%s:%zu: expected a JSON object", name, row + 1);
		goto out;
	}
	for (int f = 0; f < F_COUNT; f++) {
		json_t *v = json_object_get(obj, field_names[f]);
		if (!v || json_is_null(v))
			continue;
		char *val;
		if (json_is_string(v)) {
			size_t n = json_string_length(v);
			if (memchr(json_string_value(v), '\0', n)) {
				rc = nn_err_set(err, "%s:%zu: NUL character in \"%s\"", name,
				                row + 1, field_names[f]);
				goto out;
			}
			val = xstrndup(json_string_value(v), n);
		} else if (f == F_ID && json_is_integer(v)) {
			val = xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
		} else {
			rc = nn_err_set(err, "%s:%zu: \"%s\" must be a string", name, row + 1,
			                field_names[f]);
			goto out;
		}
		if (f == F_IMAGE && !path_stays_inside(val)) {
			rc = nn_err_set(err, "%s:%zu: image path '%s' leaves the study directory",
			                name, row + 1, val);
			free(val);
			goto out;
		}
		if (!arrays[f])
			arrays[f] = xcalloc(s->n, sizeof *arrays[f]);
		arrays[f][row] = val;
	}
out:
	json_decref(obj);
	return rc;
}

/*
 * Reads the lines of f into arrays from row *row on, advancing it; name is used in messages.
 * Returns 0, or -1 with err set.
 */
static int parse_lines(struct study *s, FILE *f, const char *name, char ***arrays, size_t *row,
                       struct nn_err *err)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	int rc = 0;
	while ((got = getline(&line, &cap, f)) >= 0) {
		size_t len = (size_t)got;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len == 0 && *row >= s->n)
			continue; /* blank lines after the last instance */
		if (*row >= s->n) {
			rc = nn_err_set(err, "%s: more than the %zu lines labels have", name, s->n);
			break;
		}
		if (len == 0) {
			rc = nn_err_set(err, "%s:%zu: empty line, expected a JSON object", name,
			                *row + 1);
			break;
		}
		if ((rc = take_line(s, arrays, *row, line, len, name, err)) < 0)
			break;
		(*row)++;
	}
	if (rc == 0 && ferror(f))
		rc = nn_err_set(err, "%s: %s", name, strerror(errno));
	free(line);
	return rc;
}

static void arrays_take(struct study *s, char ***arrays)
{
	s->ids = arrays[F_ID];
	s->texts = arrays[F_TEXT];
	s->images = arrays[F_IMAGE];
	s->splits = arrays[F_SPLIT];
}

int samples_parse(struct study *s, FILE *f, const char *name, struct nn_err *err)
{
	char **arrays[F_COUNT] = {0};
	size_t row = 0;
	int rc = parse_lines(s, f, name, arrays, &row, err);
	if (rc == 0 && row != s->n)
		rc = nn_err_set(err, "%s: %zu lines, but %s has %zu instances", name, row,
		                s->labels_path ? s->labels_path : "the labels", s->n);
	arrays_take(s, arrays);
	return rc;
}

int samples_read(struct study *s, const char *path, struct nn_err *err)
{
	FILE *f = nn_fopen_regular(path, err);
	if (!f)
		return -1;
	int rc = samples_parse(s, f, path, err);
	fclose(f);
	return rc;
}

int samples_read_shards(struct study *s, const char *const *paths, size_t n, struct nn_err *err)
{
	char **arrays[F_COUNT] = {0};
	size_t row = 0;
	int rc = 0;
	for (size_t k = 0; k < n && rc == 0; k++) {
		FILE *f = nn_fopen_regular(paths[k], err);
		if (!f) {
			rc = -1;
			break;
		}
		rc = parse_lines(s, f, paths[k], arrays, &row, err);
		fclose(f);
	}
	if (rc == 0 && row != s->n)
		rc = nn_err_set(err, "%s .. %s: %zu lines in all, but %s has %zu instances",
		                paths[0], paths[n - 1], row,
		                s->labels_path ? s->labels_path : "the labels", s->n);
	arrays_take(s, arrays);
	return rc;
}

/* Collects labels.csv cells row by row. */
struct csv_ctx {
	struct strvec cells;  /* the current row */
	struct strvec values; /* the label column, one per data row */
	long label_col;       /* -1 until known */
	size_t row;
	bool header_checked;
	bool failed;
	char msg[NN_ERR_MAX];
};

static void on_cell(void *data, size_t len, void *user)
{
	struct csv_ctx *c = user;
	/* a NUL would end the C string early: "1\0" must not read as 1 */
	if (data && memchr(data, '\0', len) && !c->failed) {
		snprintf(c->msg, sizeof c->msg, "row %zu: NUL byte in a cell", c->row + 1);
		c->failed = true;
	}
	strvec_push(&c->cells, xstrndup(data ? data : "", len));
}

static void on_row(int term, void *user)
{
	(void)term;
	struct csv_ctx *c = user;
	c->row++;
	if (!c->failed) {
		if (!c->header_checked) {
			c->header_checked = true;
			for (size_t i = 0; i < c->cells.n; i++)
				if (strcasecmp(c->cells.v[i], "label") == 0)
					c->label_col = (long)i;
			if (c->label_col < 0 && c->cells.n != 1) {
				snprintf(c->msg, sizeof c->msg,
				         "%zu columns and no 'label' column in the header row",
				         c->cells.n);
				c->failed = true;
			} else if (c->label_col < 0) {
				c->label_col = 0; /* a single column without header */
				goto data;
			}
			goto clear;
		}
	data:
		if ((long)c->cells.n <= c->label_col) {
			snprintf(c->msg, sizeof c->msg, "row %zu has no label column", c->row);
			c->failed = true;
		} else {
			strvec_push(&c->values, c->cells.v[c->label_col]);
			c->cells.v[c->label_col] = NULL;
		}
	}
clear:
	strvec_free(&c->cells);
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Turns the label strings into class ids (numbers, or names of s->classes). */
static int resolve_labels(struct study *s, struct strvec *vals, const char *name,
                          struct nn_err *err)
{
	bool all_numeric = true;
	for (size_t i = 0; i < vals->n && all_numeric; i++) {
		const char *v = vals->v[i];
		if (!*v)
			return nn_err_set(err, "%s: row %zu has an empty label", name, i + 1);
		for (const char *p = v; *p; p++)
			if (*p < '0' || *p > '9')
				all_numeric = false;
	}
	if (!s->classes && !all_numeric) {
		/* names without classes.txt: sorted distinct names, as LabelEncoder does */
		char **sorted = xcalloc(vals->n, sizeof *sorted);
		memcpy(sorted, vals->v, vals->n * sizeof *sorted);
		qsort(sorted, vals->n, sizeof *sorted, cmp_strp);
		size_t c = 0;
		for (size_t i = 0; i < vals->n; i++)
			if (i == 0 || strcmp(sorted[i], sorted[i - 1]) != 0)
				sorted[c++] = sorted[i];
		s->classes = xcalloc(c, sizeof *s->classes);
		for (size_t i = 0; i < c; i++)
			s->classes[i] = xstrdup(sorted[i]);
		s->n_classes = c;
		free(sorted);
		strvec_push(
		    &s->warnings,
		    xasprintf("%s: no classes.txt; classes are the %zu label names in sorted "
		              "order",
		              name, c));
	}
	s->labels = xcalloc(vals->n, sizeof *s->labels);
	s->n = vals->n;
	for (size_t i = 0; i < vals->n; i++) {
		const char *v = vals->v[i];
		int id = s->classes ? study_class_index(s, v) : -1;
		if (id < 0) {
			char *end;
			errno = 0;
			long x = strtol(v, &end, 10);
			if (*end || errno || x < 0 || x > INT32_MAX)
				return nn_err_set(err,
				                  "%s: row %zu: '%s' is not a class id or name",
				                  name, i + 1, v);
			id = (int)x;
		}
		s->labels[i] = id;
	}
	return 0;
}

int samples_parse_labels_csv(struct study *s, const char *buf, size_t len, const char *name,
                             struct nn_err *err)
{
	struct csv_parser p;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
		return nn_err_set(err, "%s: cannot start the CSV parser", name);
	struct csv_ctx c = {.label_col = -1};
	int rc = 0;
	/* a UTF-8 byte order mark (spreadsheets write one) is not part of the first cell */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	if (csv_parse(&p, buf, len, on_cell, on_row, &c) != len ||
	    csv_fini(&p, on_cell, on_row, &c) != 0)
		rc = nn_err_set(err, "%s: malformed CSV near row %zu: %s", name, c.row + 1,
		                csv_strerror(csv_error(&p)));
	csv_free(&p);
	strvec_free(&c.cells);
	if (rc == 0 && c.failed)
		rc = nn_err_set(err, "%s: %s", name, c.msg);
	if (rc == 0)
		rc = resolve_labels(s, &c.values, name, err);
	strvec_free(&c.values);
	return rc;
}

int samples_read_labels_csv(struct study *s, const char *path, struct nn_err *err)
{
	size_t len;
	char *buf = file_read_all(path, (size_t)1 << 30, &len, err);
	if (!buf)
		return -1;
	int rc = samples_parse_labels_csv(s, buf, len, path, err);
	free(buf);
	return rc;
}
