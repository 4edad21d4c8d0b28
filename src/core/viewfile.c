/* viewfile.c — saved views as views.ini text: reading with inih, writing, where the file lives. */
#include "nncmp/viewfile.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nncmp/outfile.h"

bool viewbook_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 40)
		return false;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' || *c == '-'))
			return false;
	return true;
}

void saved_view_clear(struct saved_view *v)
{
	char **f[] = {&v->name,    &v->filter, &v->sort,  &v->model_a,
	              &v->model_b, &v->layer,  &v->focus, &v->open};
	for (size_t k = 0; k < sizeof f / sizeof *f; k++) {
		free(*f[k]);
		*f[k] = NULL;
	}
	for (size_t r = 0; r < v->n_rows; r++) {
		free(v->rows[r].name);
		free(v->rows[r].expr);
	}
	free(v->rows);
	v->rows = NULL;
	v->n_rows = 0;
}

void viewbook_free(struct view_book *b)
{
	for (size_t i = 0; i < b->n; i++)
		saved_view_clear(&b->v[i]);
	free(b->v);
	b->v = NULL;
	b->n = 0;
}

struct saved_view *viewbook_find(const struct view_book *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->v[i].name, name) == 0)
			return &b->v[i];
	return NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void viewbook_put(struct view_book *b, const struct saved_view *v)
{
	struct saved_view *d = viewbook_find(b, v->name);
	if (d) {
		saved_view_clear(d);
	} else {
		b->v = xreallocarray(b->v, b->n + 1, sizeof *b->v);
		d = &b->v[b->n++];
		memset(d, 0, sizeof *d);
	}
	d->name = xstrdup(v->name);
	d->filter = dup_or_null(v->filter);
	d->sort = dup_or_null(v->sort);
	d->model_a = dup_or_null(v->model_a);
	d->model_b = dup_or_null(v->model_b);
	d->layer = dup_or_null(v->layer);
	d->focus = dup_or_null(v->focus);
	d->open = dup_or_null(v->open);
	d->rows = v->n_rows ? xcalloc(v->n_rows, sizeof *d->rows) : NULL;
	for (size_t r = 0; r < v->n_rows; r++) {
		d->rows[r].name = xstrdup(v->rows[r].name);
		d->rows[r].expr = xstrdup(v->rows[r].expr);
	}
	d->n_rows = v->n_rows;
}

/* ---- reading ---- */

struct read_ctx {
	FILE *f;
	int line;
	bool long_line; /* the line just read was cut: skip it */
	struct view_book *b;
	const char *fname;
	char msg[NN_ERR_MAX - 64];
	size_t n_problems;
};

static void problem(struct read_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct read_ctx *c, const char *fmt, ...)
{
	c->n_problems++;
	size_t o = strlen(c->msg);
	if (c->n_problems > 4 || o + 8 >= sizeof c->msg)
		return;
	char one[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(one, sizeof one, fmt, ap);
	va_end(ap);
	for (char *p = one; *p; p++) /* one line, whatever the file holds */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	snprintf(c->msg + o, sizeof c->msg - o, "%sline %d: %s", o ? "; " : "", c->line, one);
}

/* inih's reader: fgets counting lines; a line longer than inih's buffer is skipped whole. */
static char *read_line(char *str, int num, void *stream)
{
	struct read_ctx *c = stream;
	char *r = fgets(str, num, c->f);
	if (!r)
		return NULL;
	c->line++;
	size_t n = strlen(str);
	if (n + 1 >= (size_t)num && str[n - 1] != '\n') {
		int ch;
		while ((ch = fgetc(c->f)) != EOF && ch != '\n')
			;
		problem(c, "longer than %d characters, skipped", VIEW_LINE_MAX);
		str[0] = '\n';
		str[1] = '\0';
	}
	return r;
}

/* Copies a value inih gave, or sets the problem; a second word for "models". */
static int read_models(struct read_ctx *c, struct saved_view *v, const char *value)
{
	const char *sp = strpbrk(value, " \t");
	const char *b = sp;
	while (b && (*b == ' ' || *b == '\t'))
		b++;
	if (!sp || !*b || strpbrk(b, " \t")) {
		problem(c, "models wants two model names, got '%.60s'", value);
		return 1;
	}
	free(v->model_a);
	free(v->model_b);
	v->model_a = xstrndup(value, (size_t)(sp - value));
	v->model_b = xstrdup(b);
	return 1;
}

static int read_row(struct read_ctx *c, struct saved_view *v, const char *value)
{
	const char *eq = strchr(value, '=');
	if (!eq) {
		problem(c, "row wants NAME = EXPR, got '%.60s'", value);
		return 1;
	}
	size_t nl = (size_t)(eq - value);
	while (nl && (value[nl - 1] == ' ' || value[nl - 1] == '\t'))
		nl--;
	char *name = xstrndup(value, nl);
	const char *e = eq + 1;
	while (*e == ' ' || *e == '\t')
		e++;
	if (!viewbook_name_ok(name) || !*e) {
		problem(c, "row wants NAME = EXPR (NAME of letters, digits, _ . -), got '%.60s'",
		        value);
		free(name);
		return 1;
	}
	for (size_t r = 0; r < v->n_rows; r++)
		if (strcmp(v->rows[r].name, name) == 0) {
			problem(c, "row '%.40s' given twice (the first is kept)", name);
			free(name);
			return 1;
		}
	v->rows = xreallocarray(v->rows, v->n_rows + 1, sizeof *v->rows);
	v->rows[v->n_rows].name = name;
	v->rows[v->n_rows++].expr = xstrdup(e);
	return 1;
}

static int read_entry(void *user, const char *section, const char *key, const char *value)
{
	struct read_ctx *c = user;
	if (!strcmp(section, "") ||
	    (!viewbook_name_ok(section) && strcmp(section, VIEW_LAST) != 0)) {
		problem(c, "'%.60s' is not a view name (letters, digits, _ . -; 40 at most)",
		        section);
		return 1;
	}
	struct saved_view *v = viewbook_find(c->b, section);
	if (!v) {
		struct saved_view blank = {.name = (char *)section};
		viewbook_put(c->b, &blank);
		v = viewbook_find(c->b, section);
	}
	char **slot = NULL;
	if (!strcasecmp(key, "filter"))
		slot = &v->filter;
	else if (!strcasecmp(key, "sort"))
		slot = &v->sort;
	else if (!strcasecmp(key, "layer"))
		slot = &v->layer;
	else if (!strcasecmp(key, "focus"))
		slot = &v->focus;
	else if (!strcasecmp(key, "view"))
		slot = &v->open;
	else if (!strcasecmp(key, "models"))
		return read_models(c, v, value);
	else if (!strcasecmp(key, "row"))
		return read_row(c, v, value);
	if (!slot) {
		problem(c, "unknown key '%.40s'", key);
		return 1;
	}
	if (!strcasecmp(key, "sort") && !*value) {
		problem(c, "%s is empty", key);
		return 1;
	}
	free(*slot);
	*slot = xstrdup(value);
	return 1;
}

/* inih calls the handler with a NULL key for a section with no keys (INI_CALL_HANDLER_ON_NEW_
 * SECTION): not in Debian's build, so an empty section is simply no view. */
int viewbook_read(struct view_book *b, FILE *f, const char *fname, struct nn_err *err)
{
	struct read_ctx c = {.f = f, .b = b, .fname = fname};
	/* inih goes on after a syntax error and returns the first one's line */
	int bad = ini_parse_stream(read_line, &c, read_entry, &c);
	if (bad > 0) {
		int keep = c.line;
		c.line = bad;
		problem(&c, "%s", "syntax error (want [NAME] or key = value)");
		c.line = keep;
	} else if (bad < 0) {
		return nn_err_set(err, "%s: cannot read it", fname);
	}
	/* a section whose every line was refused is no view (it would not be written back) */
	size_t k = 0;
	for (size_t i = 0; i < b->n; i++) {
		const struct saved_view *v = &b->v[i];
		if (v->filter || v->sort || v->model_a || v->layer || v->focus || v->open ||
		    v->n_rows)
			b->v[k++] = b->v[i];
		else
			saved_view_clear(&b->v[i]);
	}
	b->n = k;
	if (!c.n_problems)
		return 0;
	if (c.n_problems > 4)
		nn_err_set(err, "%s: %s; and %zu more (ignored)", fname, c.msg, c.n_problems - 4);
	else
		nn_err_set(err, "%s: %s (ignored)", fname, c.msg);
	return -1;
}

int viewbook_load(struct view_book *b, const char *path, struct nn_err *err)
{
	struct stat st;
	if (stat(path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	FILE *f = nn_fopen_regular(path, err);
	if (!f)
		return -1;
	int rc = viewbook_read(b, f, path, err);
	fclose(f);
	return rc;
}

/* ---- writing ---- */

/* Whether "key = value" reads back as value through inih. */
static bool value_ok(const char *key, const char *value, const char *row, struct nn_err *err)
{
	size_t n = strlen(value);
	size_t line = strlen(key) + 3 + (row ? strlen(row) + 3 : 0) + n;
	const char *why = NULL;
	if (strpbrk(value, "\r\n"))
		why = "holds a line break";
	else if (value[0] == ';' || strstr(value, " ;") || strstr(value, "\t;"))
		why = "holds ' ;', which starts a comment in an ini file";
	else if (n && (value[0] == ' ' || value[0] == '\t' || value[n - 1] == ' ' ||
	               value[n - 1] == '\t'))
		why = "starts or ends with a space";
	else if (line > VIEW_LINE_MAX)
		why = "is too long for one line of views.ini (198 characters)";
	if (why)
		nn_err_set(err, "cannot save %s '%.60s': it %s", key, value, why);
	return !why;
}

int viewbook_write(const struct view_book *b, FILE *f, struct nn_err *err)
{
	fprintf(f, "# nncmp saved views: [NAME] then filter, sort, models A B, layer M.L, focus,\n"
	           "# view and row = NAME = EXPR lines (:save NAME, :open NAME, nncmp STUDY "
	           "--view NAME)\n");
	for (size_t i = 0; i < b->n; i++) {
		const struct saved_view *v = &b->v[i];
		fprintf(f, "\n[%s]\n", v->name);
		const char *keys[] = {"filter", "sort", "layer", "focus", "view"};
		const char *vals[] = {v->filter, v->sort, v->layer, v->focus, v->open};
		for (size_t k = 0; k < 5; k++) {
			if (!vals[k])
				continue;
			if (!value_ok(keys[k], vals[k], NULL, err))
				return -1;
			fprintf(f, "%s = %s\n", keys[k], vals[k]);
		}
		if (v->model_a && v->model_b) {
			if (strpbrk(v->model_a, " \t") || strpbrk(v->model_b, " \t"))
				return nn_err_set(err, "cannot save a model name with a space");
			char *both = xasprintf("%s %s", v->model_a, v->model_b);
			bool ok = value_ok("models", both, NULL, err);
			if (ok)
				fprintf(f, "models = %s\n", both);
			free(both);
			if (!ok)
				return -1;
		}
		for (size_t r = 0; r < v->n_rows; r++) {
			if (!viewbook_name_ok(v->rows[r].name))
				return nn_err_set(err, "cannot save row '%.60s': not a name",
				                  v->rows[r].name);
			if (!value_ok("row", v->rows[r].expr, v->rows[r].name, err))
				return -1;
			fprintf(f, "row = %s = %s\n", v->rows[r].name, v->rows[r].expr);
		}
	}
	return 0;
}

int viewbook_save(const struct view_book *b, const char *path, struct nn_err *err)
{
	char *dir = path_dirname(path);
	int made = mkdir_p(dir, 0777);
	int e = errno;
	if (made != 0) {
		nn_err_set(err, "%s: %s", dir, strerror(e));
		free(dir);
		return -1;
	}
	free(dir);
	struct outfile o;
	if (outfile_open(&o, path, 0666, err) != 0)
		return -1;
	int rc = viewbook_write(b, o.f, err);
	if (rc == 0)
		rc = outfile_finish(&o, err);
	if (rc == 0)
		rc = outfile_commit(&o, true, NULL, err);
	outfile_discard(&o);
	return rc;
}

char *viewbook_path(const char *root, char **alt)
{
	char *dir = path_join(root, ".nncmp");
	char *here = path_join(dir, "views.ini");
	if (alt)
		*alt = NULL;
	bool writable = access(here, F_OK) == 0  ? access(here, W_OK) == 0 && access(dir, W_OK) == 0
	                : access(dir, F_OK) == 0 ? access(dir, W_OK) == 0
	                                         : access(root, W_OK) == 0;
	free(dir);
	if (writable)
		return here;
	char *fb = state_path_keyed("views", root, ".ini");
	if (!fb)
		return here;
	if (alt && access(here, R_OK) == 0)
		*alt = here;
	else
		free(here);
	return fb;
}
