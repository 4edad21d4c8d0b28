/* manifest.c — study.ini, read with inih. */
#include "nncmp/manifest.h"

#include <ctype.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*
 * Debian's inih reads lines into a 200-byte buffer; longer lines would be cut silently. Values
 * longer than that are taken out of the text before inih sees it (long_values_hide()) and put
 * back in on_entry(); what is left must fit.
 */
#define INI_LINE_LIMIT 199
/* Stands for the N-th long value in the text inih reads. */
#define LONG_TOKEN "@nncmp-long-value-%zu@"
/* ... and section names into a 50-byte one: two [model NAME]s with the same first 43
   characters of NAME would become one. */
#define INI_SECTION_LIMIT 49

void manifest_init(struct manifest *mf)
{
	memset(mf, 0, sizeof *mf);
}

void manifest_free(struct manifest *mf)
{
	for (size_t i = 0; i < mf->n_models; i++) {
		struct manifest_model *mm = &mf->models[i];
		for (size_t j = 0; j < mm->n_layers; j++) {
			free(mm->layers[j].name);
			free(mm->layers[j].act);
			free(mm->layers[j].weights);
			strvec_free(&mm->layers[j].act_shards);
			strvec_free(&mm->layers[j].weights_shards);
		}
		free(mm->layers);
		free(mm->name);
		free(mm->src_path);
		strvec_free(&mm->src_shards);
		free(mm->graph);
		strvec_free(&mm->saliency_layers);
		strvec_free(&mm->saliency_paths);
	}
	free(mf->models);
	free(mf->path);
	free(mf->root);
	free(mf->name);
	free(mf->labels);
	free(mf->classes);
	free(mf->samples);
	strvec_free(&mf->labels_shards);
	strvec_free(&mf->samples_shards);
	strvec_free(&mf->warnings);
	memset(mf, 0, sizeof *mf);
}

struct manifest_model *manifest_add_model(struct manifest *mf, const char *name)
{
	mf->models = xreallocarray(mf->models, mf->n_models + 1, sizeof *mf->models);
	struct manifest_model *mm = &mf->models[mf->n_models++];
	memset(mm, 0, sizeof *mm);
	mm->name = xstrdup(name);
	return mm;
}

/* The layer called name of mm, added when it is not there yet. */
static struct manifest_layer *layer_get(struct manifest_model *mm, const char *name)
{
	for (size_t j = 0; j < mm->n_layers; j++)
		if (strcmp(mm->layers[j].name, name) == 0)
			return &mm->layers[j];
	mm->layers = xreallocarray(mm->layers, mm->n_layers + 1, sizeof *mm->layers);
	struct manifest_layer *l = &mm->layers[mm->n_layers++];
	memset(l, 0, sizeof *l);
	l->name = xstrdup(name);
	return l;
}

void manifest_set_layer(struct manifest_model *mm, const char *layer, bool is_weights, char *path)
{
	struct manifest_layer *l = layer_get(mm, layer);
	char **slot = is_weights ? &l->weights : &l->act;
	free(*slot);
	*slot = path;
	strvec_free(is_weights ? &l->weights_shards : &l->act_shards);
}

struct parse_ctx {
	struct manifest *mf;
	struct nn_err *err;
	bool failed;
	/* a matrix value that ended in a comma, to go on if the next entry is its continuation */
	char *cont_section, *cont_key;
	char **cont_path;
	struct strvec *cont_shards;
	struct strvec long_values; /* values of lines too long for inih, by token number */
};

static void cont_clear(struct parse_ctx *c)
{
	free(c->cont_section);
	free(c->cont_key);
	c->cont_section = c->cont_key = NULL;
	c->cont_path = NULL;
	c->cont_shards = NULL;
}

/* Records the first problem and returns 0 so inih stops and reports the line. */
__attribute__((format(printf, 2, 3))) static int fail(struct parse_ctx *c, const char *fmt, ...)
{
	if (!c->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
		va_end(ap);
		c->failed = true;
	}
	return 0;
}

/*
 * A path from the manifest with "~" or "~/" at its start replaced by $HOME and each "${VAR}" by
 * the variable's value, joined to the manifest's directory when relative. Returns it
 * (allocated), or NULL after fail() when a variable is not set or a "${" is not closed.
 */
static char *path_expand(struct parse_ctx *c, const char *key, const char *value)
{
	struct strvec parts = {0};
	const char *p = value;
	if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
		const char *home = getenv("HOME");
		if (!home || !home[0]) {
			fail(c, "'%s': '~' needs $HOME, which is not set", key);
			return NULL;
		}
		strvec_push(&parts, xstrdup(home));
		p++;
	}
	while (*p) {
		const char *d = strstr(p, "${");
		if (!d) {
			strvec_push(&parts, xstrdup(p));
			break;
		}
		strvec_push(&parts, xstrndup(p, (size_t)(d - p)));
		const char *close = strchr(d + 2, '}');
		if (!close) {
			strvec_free(&parts);
			fail(c, "'%s': '${' without a closing '}'", key);
			return NULL;
		}
		char *var = xstrndup(d + 2, (size_t)(close - d - 2));
		const char *val = var[0] ? getenv(var) : NULL;
		if (!val) {
			if (var[0])
				fail(c, "'%s': environment variable ${%s} is not set", key, var);
			else
				fail(c, "'%s': '${}' names no variable", key);
			free(var);
			strvec_free(&parts);
			return NULL;
		}
		free(var);
		strvec_push(&parts, xstrdup(val));
		p = close + 1;
	}
	size_t len = 0;
	for (size_t i = 0; i < parts.n; i++)
		len += strlen(parts.v[i]);
	char *joined = xmalloc(len + 1), *w = joined;
	for (size_t i = 0; i < parts.n; i++) {
		size_t l = strlen(parts.v[i]);
		memcpy(w, parts.v[i], l);
		w += l;
	}
	*w = '\0';
	strvec_free(&parts);
	char *full = path_join(c->mf->root, joined);
	free(joined);
	return full;
}

static int set_once(struct parse_ctx *c, char **slot, const char *key, const char *value)
{
	if (*slot)
		return fail(c, "'%s' is given twice", key);
	if (!value[0])
		return fail(c, "'%s' is empty", key);
	*slot = path_expand(c, key, value);
	return *slot ? 1 : 0;
}

#define CONT_HINT                                                                                  \
	" (to continue a list of files on the next line, end the line before with a comma)"

/* The name a list of shards goes by in messages: "a.npy .. c.npy (3 shards)". */
static char *shards_name(const struct strvec *sv)
{
	if (sv->n == 1)
		return xstrdup(sv->v[0]);
	return xasprintf("%s .. %s (%zu shards)", sv->v[0], sv->v[sv->n - 1], sv->n);
}

static bool is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * Sets a matrix's source from value: one file, or the files it lists separated by commas,
 * appended to those already in shards when the entry continues the one before. A value ending
 * in a comma leaves the entry open for continuation. Returns 1, or fail()'s 0.
 */
static int set_matrix(struct parse_ctx *c, const char *section, const char *key, const char *value,
                      char **path, struct strvec *shards)
{
	bool cont = shards->n > 0;
	char *whole = path_expand(c, key, value);
	if (!whole) {
		if (!strchr(value, ','))
			return 0;
		c->failed = false; /* the parts may expand where the whole does not */
	}
	if (whole && !cont && (!strchr(value, ',') || is_file(whole))) {
		free(*path);
		*path = whole;
		return 1;
	}
	free(whole);
	bool open_end = false;
	for (const char *p = value;;) {
		const char *comma = strchr(p, ',');
		const char *e = comma ? comma : p + strlen(p);
		while (p < e && isspace((unsigned char)*p))
			p++;
		while (e > p && isspace((unsigned char)e[-1]))
			e--;
		if (e == p && !comma) {
			open_end = true;
			break;
		}
		if (e == p)
			return fail(c, "'%s' lists an empty file name", key);
		if (shards->n == NPY_MAX_SHARDS)
			return fail(c, "'%s' lists more than %d files", key, NPY_MAX_SHARDS);
		char *part = xstrndup(p, (size_t)(e - p));
		char *full = path_expand(c, key, part);
		free(part);
		if (!full)
			return 0;
		strvec_push(shards, full);
		if (!comma)
			break;
		p = comma + 1;
	}
	if (shards->n == 0)
		return fail(c, "'%s' lists an empty file name", key);
	free(*path);
	*path = shards_name(shards);
	if (open_end) {
		c->cont_section = xstrdup(section);
		c->cont_key = xstrdup(key);
		c->cont_path = path;
		c->cont_shards = shards;
	}
	return 1;
}

static int on_entry(void *user, const char *section, const char *key, const char *value)
{
	struct parse_ctx *c = user;
	struct manifest *mf = c->mf;
	if (c->failed)
		return 0;
	size_t tok;
	int used = 0;
	if (sscanf(value, LONG_TOKEN "%n", &tok, &used) == 1 && value[used] == '\0' &&
	    tok < c->long_values.n)
		value = c->long_values.v[tok];
	if (c->cont_key) {
		/* inih hands an indented line on as another value of the same key */
		bool same = strcmp(section, c->cont_section) == 0 && strcmp(key, c->cont_key) == 0;
		char **path = c->cont_path;
		struct strvec *shards = c->cont_shards;
		cont_clear(c);
		if (same) {
			/* inih leaves inline comments on such lines: " ; comment" ends the value */
			char *v = xstrdup(value);
			for (char *q = v; *q; q++)
				if (*q == ';' && q > v && isspace((unsigned char)q[-1])) {
					*q = '\0';
					break;
				}
			int rc = set_matrix(c, section, key, v, path, shards);
			free(v);
			return rc;
		}
	}
	if (strcmp(section, "study") == 0) {
		if (strcmp(key, "name") == 0) {
			free(mf->name);
			mf->name = xstrdup(value);
			return 1;
		}
		bool is_labels = strcmp(key, "labels") == 0;
		if (is_labels || strcmp(key, "samples") == 0) {
			char **slot = is_labels ? &mf->labels : &mf->samples;
			if (*slot)
				return fail(c, "'%s' is given twice%s", key, CONT_HINT);
			if (!value[0])
				return fail(c, "'%s' is empty", key);
			return set_matrix(c, section, key, value, slot,
			                  is_labels ? &mf->labels_shards : &mf->samples_shards);
		}
		if (strcmp(key, "classes") == 0)
			return set_once(c, &mf->classes, key, value);
		return fail(c, "unknown key '%s' in [study] (name, labels, classes, samples)", key);
	}
	if (strncmp(section, "model ", 6) != 0)
		return fail(c, "unknown section [%s] (expected [study] or [model NAME])", section);
	const char *mname = section + 6;
	while (*mname == ' ')
		mname++;
	if (!*mname)
		return fail(c, "[model] section without a name");
	struct manifest_model *mm = NULL;
	if (mf->n_models && strcmp(mf->models[mf->n_models - 1].name, mname) == 0)
		mm = &mf->models[mf->n_models - 1];
	else
		for (size_t i = 0; i < mf->n_models; i++)
			if (strcmp(mf->models[i].name, mname) == 0)
				return fail(c, "model '%s' is defined twice", mname);
	if (!mm)
		mm = manifest_add_model(mf, mname);
	static const char *const srcs[] = {"probs", "logits", "pred"};
	for (int k = 0; k < 3; k++)
		if (strcmp(key, srcs[k]) == 0) {
			if (mm->src_path && mm->src == (enum prob_source)k)
				return fail(c, "'%s' is given twice%s", key, CONT_HINT);
			if (mm->src_path)
				return fail(c,
				            "model '%s' names more than one of probs, logits, pred",
				            mname);
			if (!value[0])
				return fail(c, "'%s' is empty", key);
			mm->src = (enum prob_source)k;
			return set_matrix(c, section, key, value, &mm->src_path, &mm->src_shards);
		}
	bool is_w = strncmp(key, "weights.", 8) == 0;
	if (strncmp(key, "act.", 4) == 0 || is_w) {
		const char *layer = key + (is_w ? 8 : 4);
		if (!*layer)
			return fail(c, "'%s' names no layer", key);
		if (!value[0])
			return fail(c, "'%s' is empty", key);
		struct manifest_layer *l = layer_get(mm, layer);
		if (is_w ? l->weights : l->act)
			return fail(c, "'%s' is given twice%s", key, CONT_HINT);
		return set_matrix(c, section, key, value, is_w ? &l->weights : &l->act,
		                  is_w ? &l->weights_shards : &l->act_shards);
	}
	if (strcmp(key, "graph") == 0)
		return set_once(c, &mm->graph, key, value);
	if (strncmp(key, "saliency.", 9) == 0) {
		const char *layer = key + 9;
		if (!*layer)
			return fail(c, "'%s' names no layer", key);
		for (size_t j = 0; j < mm->saliency_layers.n; j++)
			if (strcmp(mm->saliency_layers.v[j], layer) == 0)
				return fail(c, "'%s' is given twice", key);
		char *path = NULL;
		if (!set_once(c, &path, key, value))
			return 0;
		strvec_push(&mm->saliency_layers, xstrdup(layer));
		strvec_push(&mm->saliency_paths, path);
		return 1;
	}
	return fail(c,
	            "unknown key '%s' in [model %s] (probs, logits, pred, act.LAYER, "
	            "weights.LAYER, graph, saliency.LAYER)",
	            key, mname);
}

/* A list of one file is that file: its shard list is dropped. */
static void single_shards_drop(struct manifest *mf)
{
	if (mf->labels_shards.n == 1)
		strvec_free(&mf->labels_shards);
	if (mf->samples_shards.n == 1)
		strvec_free(&mf->samples_shards);
	for (size_t i = 0; i < mf->n_models; i++) {
		struct manifest_model *mm = &mf->models[i];
		if (mm->src_shards.n == 1)
			strvec_free(&mm->src_shards);
		for (size_t j = 0; j < mm->n_layers; j++) {
			if (mm->layers[j].act_shards.n == 1)
				strvec_free(&mm->layers[j].act_shards);
			if (mm->layers[j].weights_shards.n == 1)
				strvec_free(&mm->layers[j].weights_shards);
		}
	}
}

/*
 * The text with every line longer than inih reads rewritten to fit: a "key = value" or indented
 * continuation line keeps its key and indent and gets a token in place of its value (the value
 * as inih would hand it on, inline comment and outer spaces removed, goes to *vals), a comment
 * line becomes ";". Other long lines are left for check_line_lengths() to refuse. Returns new
 * text (allocated).
 */
static char *long_values_hide(const char *text, struct strvec *vals)
{
	size_t cap = strlen(text) + 1, len = 0;
	char *out = xmalloc(cap);
	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');
		size_t ll = e ? (size_t)(e - p) : strlen(p);
		const char *line = p;
		char *repl = NULL;
		if (ll > INI_LINE_LIMIT) {
			const char *s = line, *end = line + ll;
			while (s < end && (*s == ' ' || *s == '\t'))
				s++;
			const char *delim = NULL;
			if (s < end && (*s == ';' || *s == '#')) {
				repl = xstrdup(";");
			} else if (s < end && *s != '[') {
				if (s == line) {
					for (const char *q = s; q < end && !delim; q++)
						if (*q == '=' || *q == ':')
							delim = q;
				} else {
					delim =
					    s - 1; /* a continuation: the whole text is the value */
				}
			}
			if (delim && (size_t)(delim - line) < INI_LINE_LIMIT - 40) {
				const char *v = delim + 1;
				while (v < end && isspace((unsigned char)*v))
					v++;
				const char *ve = v;
				while (ve < end &&
				       !(*ve == ';' && ve > v && isspace((unsigned char)ve[-1])))
					ve++;
				while (ve > v && isspace((unsigned char)ve[-1]))
					ve--;
				strvec_push(vals, xstrndup(v, (size_t)(ve - v)));
				char tok[48];
				snprintf(tok, sizeof tok, LONG_TOKEN, vals->n - 1);
				repl = xasprintf("%.*s%s%s", (int)(delim + 1 - line), line,
				                 s == line ? " " : "", tok);
			}
		}
		const char *src = repl ? repl : line;
		size_t sl = repl ? strlen(repl) : ll;
		if (len + sl + 2 > cap) {
			cap = (len + sl + 2) * 2;
			out = xreallocarray(out, cap, 1);
		}
		memcpy(out + len, src, sl);
		len += sl;
		if (e)
			out[len++] = '\n';
		free(repl);
		p = e ? e + 1 : p + ll;
	}
	out[len] = '\0';
	return out;
}

/* Refuses lines inih would truncate, naming the line. */
static int check_line_lengths(const char *text, const char *name, struct nn_err *err)
{
	size_t line = 1, len = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '\n') {
			line++;
			len = 0;
		} else if (++len > INI_LINE_LIMIT) {
			return nn_err_set(err, "%s:%zu: line longer than %d characters", name, line,
			                  INI_LINE_LIMIT);
		}
	}
	return 0;
}

struct section_at {
	char *name; /* "study", or "model " and the model's name */
	size_t line;
};

static int section_cmp(const void *a, const void *b)
{
	const struct section_at *p = a, *q = b;
	int c = strcmp(p->name, q->name);
	return c ? c : (p->line > q->line) - (p->line < q->line);
}

/*
 * Refuses section headers inih would cut, and a section given twice (inih hands entries on one
 * by one, so a repeated header would silently merge into the section before). Reads the lines as
 * inih does: comments, indented continuation lines, "[name]" up to the first ']'. A header inih
 * cannot read is left for inih to report.
 */
static int check_sections(const char *text, const char *name, struct nn_err *err)
{
	struct section_at *v = NULL;
	size_t n = 0, line = 0;
	bool after_entry = false; /* an indented line then continues the entry's value */
	int rc = 0;
	for (const char *p = text; *p && rc == 0;) {
		const char *e = strchr(p, '\n');
		if (!e)
			e = p + strlen(p);
		line++;
		const char *start = p;
		if (line == 1 && strncmp(start, "\xef\xbb\xbf", 3) == 0)
			start += 3;
		const char *end = e;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
		while (start < end && isspace((unsigned char)*start))
			start++;
		if (start == end || *start == ';' || *start == '#') {
			/* a comment or an empty line */
		} else if (after_entry && start > p) {
			/* a continuation line */
		} else if (*start == '[') {
			const char *close = start + 1;
			while (close < end && *close != ']' &&
			       !(*close == ';' && isspace((unsigned char)close[-1])))
				close++;
			if (close < end && *close == ']') {
				size_t len = (size_t)(close - start - 1);
				if (len > INI_SECTION_LIMIT) {
					rc = nn_err_set(err,
					                "%s:%zu: section name longer than %d "
					                "characters",
					                name, line, INI_SECTION_LIMIT);
					break;
				}
				char *sec = xstrndup(start + 1, len);
				if (strncmp(sec, "model ", 6) == 0) {
					const char *m = sec + 6;
					while (*m == ' ')
						m++;
					char *norm = xasprintf("model %s", m);
					free(sec);
					sec = norm;
				}
				v = xreallocarray(v, n + 1, sizeof *v);
				v[n++] = (struct section_at){sec, line};
			}
			after_entry = false;
		} else {
			after_entry = true;
		}
		p = *e ? e + 1 : e;
	}
	if (rc == 0 && n > 1) {
		qsort(v, n, sizeof *v, section_cmp);
		size_t best = 0; /* the earliest second header */
		for (size_t i = 1; i < n; i++)
			if (strcmp(v[i].name, v[i - 1].name) == 0 &&
			    (!best || v[i].line < v[best].line))
				best = i;
		if (best) {
			/* the first header of this name sorts right before the group */
			size_t first = best - 1;
			while (first > 0 && strcmp(v[first - 1].name, v[best].name) == 0)
				first--;
			if (strncmp(v[best].name, "model ", 6) == 0)
				rc =
				    nn_err_set(err,
				               "%s:%zu: model '%s' is defined twice (first at "
				               "line %zu)",
				               name, v[best].line, v[best].name + 6, v[first].line);
			else
				rc =
				    nn_err_set(err,
				               "%s:%zu: section [%s] is given twice (first at line "
				               "%zu)",
				               name, v[best].line, v[best].name, v[first].line);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return rc;
}

int manifest_parse(struct manifest *mf, const char *text, const char *name, const char *root,
                   struct nn_err *err)
{
	free(mf->root);
	mf->root = xstrdup(root);
	struct parse_ctx c = {.mf = mf, .err = err};
	char *short_text = long_values_hide(text, &c.long_values);
	if (check_line_lengths(short_text, name, err) < 0 ||
	    check_sections(short_text, name, err) < 0) {
		free(short_text);
		strvec_free(&c.long_values);
		return -1;
	}
	int line = ini_parse_string(short_text, on_entry, &c);
	free(short_text);
	strvec_free(&c.long_values);
	cont_clear(&c);
	single_shards_drop(mf);
	if (line != 0) {
		if (c.failed) {
			char msg[NN_ERR_MAX];
			snprintf(msg, sizeof msg, "%s", err->msg);
			return nn_err_set(err, "%s:%d: %s", name, line, msg);
		}
		return nn_err_set(err, "%s:%d: not 'key = value' or '[section]'", name, line);
	}
	if (!mf->labels)
		return nn_err_set(err, "%s: [study] does not name 'labels'", name);
	for (size_t i = 0; i < mf->n_models; i++)
		if (!mf->models[i].src_path)
			return nn_err_set(err, "%s: [model %s] names none of probs, logits, pred",
			                  name, mf->models[i].name);
	return 0;
}

int manifest_read(struct manifest *mf, const char *ini_path, struct nn_err *err)
{
	size_t len;
	char *text = file_read_all(ini_path, (size_t)1 << 20, &len, err);
	if (!text)
		return -1;
	if (len == 0 || strlen(text) != len) {
		free(text);
		return nn_err_set(err, "%s: %s", ini_path,
		                  len ? "NUL byte in the manifest" : "empty manifest");
	}
	mf->path = xstrdup(ini_path);
	char *root = path_dirname(ini_path);
	int rc = manifest_parse(mf, text, ini_path, root, err);
	free(root);
	free(text);
	return rc;
}
