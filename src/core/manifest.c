/* manifest.c — study.ini, read with inih. */
#include "nncmp/manifest.h"

#include <ctype.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Debian's inih reads lines into a 200-byte buffer; longer lines would be cut silently. */
#define INI_LINE_LIMIT 199
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
	}
	free(mf->models);
	free(mf->path);
	free(mf->root);
	free(mf->name);
	free(mf->labels);
	free(mf->classes);
	free(mf->samples);
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

static int set_once(struct parse_ctx *c, char **slot, const char *key, const char *value)
{
	if (*slot)
		return fail(c, "'%s' is given twice", key);
	if (!value[0])
		return fail(c, "'%s' is empty", key);
	*slot = path_join(c->mf->root, value);
	return 1;
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
	char *whole = path_join(c->mf->root, value);
	if (!cont && (!strchr(value, ',') || is_file(whole))) {
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
		strvec_push(shards, path_join(c->mf->root, part));
		free(part);
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
		if (strcmp(key, "labels") == 0)
			return set_once(c, &mf->labels, key, value);
		if (strcmp(key, "classes") == 0)
			return set_once(c, &mf->classes, key, value);
		if (strcmp(key, "samples") == 0)
			return set_once(c, &mf->samples, key, value);
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
	return fail(
	    c, "unknown key '%s' in [model %s] (probs, logits, pred, act.LAYER, weights.LAYER)",
	    key, mname);
}

/* A list of one file is that file: its shard list is dropped. */
static void single_shards_drop(struct manifest *mf)
{
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
	if (check_line_lengths(text, name, err) < 0 || check_sections(text, name, err) < 0)
		return -1;
	struct parse_ctx c = {.mf = mf, .err = err};
	int line = ini_parse_string(text, on_entry, &c);
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
