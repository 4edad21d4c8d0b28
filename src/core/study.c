/* study.c — finding a study's files (by convention or manifest), validating and opening them. */
#include "nncmp/study.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nncmp/derive.h"
#include "nncmp/filter.h"
#include "nncmp/csvmat.h"
#include "nncmp/manifest.h"
#include "nncmp/samples.h"

/* "s" after a count that is not 1, for messages. */
static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* True when something is there, even a dangling or looping link: opening it then says why. */
static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Lists the entries of dir (skipping dot files); with `suffix`, only names ending in it, returned
 * without it. Sorted by strcmp. Returns 0, or -1 with err set (a missing directory is not an
 * error when `optional`).
 */
static int list_dir(const char *dir, const char *suffix, bool want_dirs, bool optional,
                    struct strvec *out, struct nn_err *err)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (optional && errno == ENOENT)
			return 0;
		return nn_err_set(err, "%s: %s", dir, strerror(errno));
	}
	struct dirent *e;
	size_t sl = suffix ? strlen(suffix) : 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *full = path_join(dir, e->d_name);
		bool d_ok = is_dir(full);
		free(full);
		if (d_ok != want_dirs)
			continue;
		size_t nl = strlen(e->d_name);
		if (suffix) {
			if (nl <= sl || strcmp(e->d_name + nl - sl, suffix) != 0)
				continue;
			strvec_push(out, xstrndup(e->d_name, nl - sl));
		} else {
			strvec_push(out, xstrdup(e->d_name));
		}
	}
	closedir(d);
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, cmp_str);
	return 0;
}

/* The file types a conventional study's model files may have, the first found used. */
static const char *const src_exts[] = {".npy", ".npz", ".h5", ".hdf5", ".csv", ".tsv"};
#define LAYER_EXTS 4 /* act/ and weights/: the matrix formats, not CSV */

/*
 * Adds the layers in ldir (LAYER.npy, .npz, .h5 or .hdf5) to mm; a layer in two formats is
 * taken from the first in src_exts' order, with a warning for the other.
 */
static int scan_layers(const char *ldir, bool weights, struct manifest_model *mm,
                       struct strvec *warnings, struct nn_err *err)
{
	struct strvec seen = {0};
	int rc = 0;
	for (size_t e = 0; rc == 0 && e < LAYER_EXTS; e++) {
		struct strvec layers = {0};
		rc = list_dir(ldir, src_exts[e], false, true, &layers, err);
		for (size_t j = 0; rc == 0 && j < layers.n; j++) {
			char *file = xasprintf("%s/%s%s", ldir, layers.v[j], src_exts[e]);
			size_t k = 0;
			while (k < seen.n && strcmp(seen.v[k], layers.v[j]) != 0)
				k++;
			if (k < seen.n) {
				strvec_push(warnings,
				            xasprintf("%s: ignored, layer %s is read from "
				                      "another file",
				                      file, layers.v[j]));
				free(file);
				continue;
			}
			strvec_push(&seen, xstrdup(layers.v[j]));
			manifest_set_layer(mm, layers.v[j], weights, file);
		}
		strvec_free(&layers);
	}
	strvec_free(&seen);
	return rc;
}

/* Builds the manifest a conventional study directory implies. */
static int convention_scan(const char *root, struct manifest *mf, struct nn_err *err)
{
	char *p;
	p = path_join(root, "labels.npy");
	if (exists(p)) {
		mf->labels = p;
		char *csv = path_join(root, "labels.csv");
		if (exists(csv))
			strvec_push(&mf->warnings,
			            xasprintf("%s: ignored, labels.npy is used", csv));
		free(csv);
	} else {
		free(p);
		p = path_join(root, "labels.csv");
		if (!exists(p)) {
			free(p);
			return nn_err_set(
			    err, "%s: not a study: no labels.npy, labels.csv or study.ini", root);
		}
		mf->labels = p;
	}
	p = path_join(root, "classes.txt");
	if (exists(p))
		mf->classes = p;
	else
		free(p);
	p = path_join(root, "samples.jsonl");
	if (exists(p))
		mf->samples = p;
	else
		free(p);

	char *models_dir = path_join(root, "models");
	struct strvec names = {0};
	int rc = list_dir(models_dir, NULL, true, true, &names, err);
	for (size_t i = 0; rc == 0 && i < names.n; i++) {
		struct manifest_model *mm = manifest_add_model(mf, names.v[i]);
		char *mdir = path_join(models_dir, names.v[i]);
		static const char *const srcs[] = {"probs", "logits", "pred"};
		for (int k = 0; k < 3; k++)
			for (size_t e = 0; e < sizeof src_exts / sizeof *src_exts; e++) {
				/* predicted ids are class numbers: no CSV of floats for them */
				if (k == 2 && src_exts[e][1] != 'n' && src_exts[e][1] != 'h')
					continue;
				char *sp = xasprintf("%s/%s%s", mdir, srcs[k], src_exts[e]);
				if (!exists(sp)) {
					free(sp);
					continue;
				}
				if (mm->src_path) {
					strvec_push(
					    &mf->warnings,
					    xasprintf("%s: ignored, %s is used", sp, mm->src_path));
					free(sp);
					continue;
				}
				mm->src = (enum prob_source)k;
				mm->src_path = sp;
			}
		if (!mm->src_path)
			rc =
			    nn_err_set(err,
			               "%s: no probs, logits or pred file (.npy, .npz, .h5, .hdf5; "
			               "probs and logits also .csv, .tsv)",
			               mdir);
		for (int kind = 0; rc == 0 && kind < 2; kind++) {
			char *ldir = path_join(mdir, kind == 0 ? "act" : "weights");
			rc = scan_layers(ldir, kind == 1, mm, &mf->warnings, err);
			free(ldir);
		}
		free(mdir);
	}
	strvec_free(&names);
	free(models_dir);
	return rc;
}

/* Reads classes.txt (study_parse_classes). */
static int load_classes(struct study *s, const char *path, struct nn_err *err)
{
	size_t len;
	char *buf = file_read_all(path, (size_t)64 << 20, &len, err);
	if (!buf)
		return -1;
	int rc = study_parse_classes(s, buf, len, path, err);
	free(buf);
	return rc;
}

/*
 * Opens a matrix the manifest names: path (an npy file or a safetensors tensor), or the shards
 * when it lists more than one (shards may be NULL).
 */
static int open_matrix(struct npy *a, const char *path, const struct strvec *shards,
                       struct nn_err *err)
{
	if (shards && shards->n > 1)
		return npy_open_shards(a, (const char *const *)shards->v, shards->n, path, err);
	return npy_open_any(a, path, err);
}

/* Whether path names a CSV or TSV file by its extension. */
static bool is_csv(const char *path)
{
	size_t l = strlen(path);
	return l > 4 && (strcmp(path + l - 4, ".csv") == 0 || strcmp(path + l - 4, ".tsv") == 0);
}

/*
 * Opens a model's probabilities or logits: as open_matrix(), but a single CSV/TSV file gets the
 * class names of classes.txt to check its header against.
 */
static int open_source(const struct study *s, struct npy *a, const char *path,
                       const struct strvec *shards, struct nn_err *err)
{
	if ((!shards || shards->n <= 1) && is_csv(path))
		return csvmat_open(a, path,
		                   s->classes_path ? (const char *const *)s->classes : NULL,
		                   s->n_classes, s->classes_path, err);
	return open_matrix(a, path, shards, err);
}

/*
 * The common case of load_class_vector: a mapped int32 or int64 vector in this machine's byte
 * order, copied into v in one pass. False when it is not that, or holds a value that is not a
 * class id (the general loop then names it).
 */
static bool ids_direct(const struct npy *a, int32_t *v)
{
	if (a->h.kind != NPY_INT || a->h.swap || !npy_contiguous(a) ||
	    (a->h.itemsize != 4 && a->h.itemsize != 8) || (uintptr_t)a->data % a->h.itemsize != 0)
		return false;
	uint32_t bad = 0;
	if (a->h.itemsize == 4) {
		const int32_t *x = (const int32_t *)(const void *)a->data;
		for (size_t i = 0; i < a->rows; i++) {
			bad |= x[i] < 0;
			v[i] = x[i];
		}
	} else {
		const int64_t *x = (const int64_t *)(const void *)a->data;
		for (size_t i = 0; i < a->rows; i++) {
			bad |= x[i] < 0 || x[i] > INT32_MAX;
			v[i] = (int32_t)x[i];
		}
	}
	return !bad;
}

/* Reads an (N,) or (N, 1) integer vector of class ids into a new int32 array. */
static int32_t *load_class_vector(const char *path, const struct strvec *shards, const char *what,
                                  size_t *n_out, struct nn_err *err)
{
	struct npy a;
	if (open_matrix(&a, path, shards, err) < 0)
		return NULL;
	char dt[8];
	if (a.h.ndim == 0 || a.h.ndim > 2 || (a.h.ndim == 2 && a.cols != 1)) {
		nn_err_set(err, "%s: shape (%zu, %zu), expected a vector of %s", path, a.h.shape[0],
		           a.h.shape[1], what);
		npy_close(&a);
		return NULL;
	}
	if (a.h.kind == NPY_BOOL) {
		nn_err_set(err, "%s: dtype %s, expected integer %s", path, npy_dtype_str(&a.h, dt),
		           what);
		npy_close(&a);
		return NULL;
	}
	int32_t *v = xreallocarray(NULL, a.rows ? a.rows : 1, sizeof *v);
	if (ids_direct(&a, v)) {
		*n_out = a.rows;
		npy_close(&a);
		return v;
	}
	for (size_t i = 0; i < a.rows; i++) {
		double x = npy_at(&a, i, 0);
		if (!isfinite(x) || x != floor(x) || x < 0 || x > INT32_MAX) {
			nn_err_set(err, "%s: row %zu holds %g, not a class id", path, i, x);
			free(v);
			npy_close(&a);
			return NULL;
		}
		v[i] = (int32_t)x;
	}
	*n_out = a.rows;
	npy_close(&a);
	return v;
}

static int check_ids_in_range(const int32_t *v, size_t n, size_t n_classes, const char *path,
                              struct nn_err *err)
{
	for (size_t i = 0; i < n; i++)
		if ((size_t)v[i] >= n_classes)
			return nn_err_set(err,
			                  "%s: row %zu holds class %d, but there are %zu class%s",
			                  path, i, v[i], n_classes, n_classes == 1 ? "" : "es");
	return 0;
}

static int check_model_name(const char *name, const char *where, struct nn_err *err)
{
	if (!(isalpha((unsigned char)name[0]) || name[0] == '_'))
		return nn_err_set(err, "%s: model name '%s' must start with a letter or '_'", where,
		                  name);
	for (const char *c = name; *c; c++)
		if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-'))
			return nn_err_set(err,
			                  "%s: model name '%s' may hold only letters, digits, '_' "
			                  "and '-'",
			                  where, name);
	if (filter_reserved(name, false))
		return nn_err_set(err, "%s: model name '%s' is reserved by the filter language",
		                  where, name);
	return 0;
}

/* Opens a model's layers: activations must have one row per instance. */
static int open_layers(struct study *s, struct model *m, const struct manifest_model *mm,
                       struct nn_err *err)
{
	m->n_layers = mm->n_layers;
	m->layers = xcalloc(mm->n_layers ? mm->n_layers : 1, sizeof *m->layers);
	for (size_t j = 0; j < mm->n_layers; j++) {
		const struct manifest_layer *ml = &mm->layers[j];
		struct layer *l = &m->layers[j];
		l->name = xstrdup(ml->name);
		if (ml->act) {
			l->act_path = xstrdup(ml->act);
			if (open_matrix(&l->act, l->act_path, &ml->act_shards, err) < 0)
				return -1;
			if (l->act.h.ndim == 0)
				return nn_err_set(
				    err, "%s: a scalar, expected an (N, H) activation matrix",
				    l->act_path);
			if (l->act.rows != s->n)
				return nn_err_set(err, "%s: %zu row%s, but %s has %zu", l->act_path,
				                  l->act.rows, plural(l->act.rows), s->labels_path,
				                  s->n);
			if (l->act.h.kind == NPY_BOOL)
				return nn_err_set(err, "%s: boolean activations are not supported",
				                  l->act_path);
		}
		if (ml->weights) {
			l->weights_path = xstrdup(ml->weights);
			if (open_matrix(&l->weights, l->weights_path, &ml->weights_shards, err) < 0)
				return -1;
			if (l->weights.h.ndim == 0)
				return nn_err_set(err, "%s: a scalar, expected a weight matrix",
				                  l->weights_path);
		}
	}
	return 0;
}

/* Opens path as model m's saliency maps of layer: (N, h, w) float maps, one per instance. */
static int saliency_open(struct study *s, struct model *m, const char *layer, const char *path,
                         struct nn_err *err)
{
	m->saliency_layer = xstrdup(layer);
	m->saliency_path = xstrdup(path);
	const struct npy *a = &m->saliency;
	if (npy_open(&m->saliency, m->saliency_path, err) < 0)
		return -1;
	if (a->h.ndim != 3)
		return nn_err_set(err, "%s: %d-dimensional, expected (N, h, w) saliency maps",
		                  m->saliency_path, a->h.ndim);
	if (a->h.dims[0] != s->n)
		return nn_err_set(err, "%s: %zu row%s, but %s has %zu", m->saliency_path,
		                  a->h.dims[0], plural(a->h.dims[0]), s->labels_path, s->n);
	if (a->h.dims[1] == 0 || a->h.dims[2] == 0)
		return nn_err_set(err, "%s: empty %zu x %zu maps", m->saliency_path, a->h.dims[1],
		                  a->h.dims[2]);
	if (a->h.kind != NPY_FLOAT)
		return nn_err_set(err, "%s: %s dtype, expected float saliency maps",
		                  m->saliency_path, a->h.kind == NPY_BOOL ? "boolean" : "integer");
	return 0;
}

/*
 * Opens model m's saliency maps: the first saliency.LAYER the manifest gives (the others
 * warned about), else, in a conventional study (root), the first .npy in name order in
 * models/NAME/saliency, when the directory exists.
 */
static int open_saliency(struct study *s, struct model *m, const struct manifest_model *mm,
                         const char *root, struct nn_err *err)
{
	if (mm->saliency_paths.n > 0) {
		for (size_t k = 1; k < mm->saliency_paths.n; k++)
			strvec_push(&s->warnings,
			            xasprintf("%s: ignored, %s is model %s's saliency",
			                      mm->saliency_paths.v[k], mm->saliency_paths.v[0],
			                      m->name));
		return saliency_open(s, m, mm->saliency_layers.v[0], mm->saliency_paths.v[0], err);
	}
	if (!root)
		return 0;
	char *dir = xasprintf("%s/models/%s/saliency", root, m->name);
	struct strvec files = {0};
	int rc = list_dir(dir, ".npy", false, true, &files, err);
	if (rc == 0 && files.n > 0) {
		char *path = xasprintf("%s/%s.npy", dir, files.v[0]);
		for (size_t k = 1; k < files.n; k++)
			strvec_push(&s->warnings,
			            xasprintf("%s/%s.npy: ignored, %s is model %s's saliency", dir,
			                      files.v[k], path, m->name));
		rc = saliency_open(s, m, files.v[0], path, err);
		free(path);
	}
	strvec_free(&files);
	free(dir);
	return rc;
}

/* Opens the probability source of each model and checks its shape against the study. */
static int open_models(struct study *s, const struct manifest *mf, struct nn_err *err)
{
	s->n_models = mf->n_models;
	s->models = xcalloc(mf->n_models, sizeof *s->models);
	for (size_t i = 0; i < mf->n_models; i++) {
		const struct manifest_model *mm = &mf->models[i];
		struct model *m = &s->models[i];
		m->name = xstrdup(mm->name);
		m->src = mm->src;
		m->src_path = xstrdup(mm->src_path);
		if (check_model_name(m->name, mm->src_path, err) < 0)
			return -1;
		for (size_t k = 0; k < i; k++)
			if (strcmp(s->models[k].name, m->name) == 0)
				return nn_err_set(err, "%s: model '%s' is defined twice",
				                  mf->path ? mf->path : s->root, m->name);
		if (m->src == SRC_PRED) {
			size_t n;
			m->d_pred = load_class_vector(m->src_path, &mm->src_shards,
			                              "predicted class ids", &n, err);
			if (!m->d_pred)
				return -1;
			m->id_size = sizeof(int32_t);
			if (n != s->n)
				return nn_err_set(err, "%s: %zu row%s, but %s has %zu", m->src_path,
				                  n, plural(n), s->labels_path, s->n);
		} else {
			if (open_source(s, &m->probs, m->src_path, &mm->src_shards, err) < 0)
				return -1;
			if (m->probs.h.ndim != 2)
				return nn_err_set(err,
				                  "%s: %d-dimensional, expected an (N, C) matrix",
				                  m->src_path, m->probs.h.ndim);
			if (m->probs.rows != s->n)
				return nn_err_set(err, "%s: %zu row%s, but %s has %zu", m->src_path,
				                  m->probs.rows, plural(m->probs.rows),
				                  s->labels_path, s->n);
			if (m->probs.cols == 0)
				return nn_err_set(err, "%s: 0 columns, expected (N, C) with C >= 1",
				                  m->src_path);
			if (m->probs.h.kind != NPY_FLOAT && m->probs.h.kind != NPY_BFLOAT)
				return nn_err_set(
				    err, "%s: %s dtype, expected float %s", m->src_path,
				    m->probs.h.kind == NPY_BOOL ? "boolean" : "integer",
				    m->src == SRC_LOGITS ? "logits" : "probabilities");
		}
		if (open_layers(s, m, mm, err) < 0)
			return -1;
		if (open_saliency(s, m, mm, mf->path ? NULL : mf->root, err) < 0)
			return -1;
		if (mm->graph) {
			struct stat st;
			if (stat(mm->graph, &st) != 0) /* its kind and text are checked when read */
				return nn_err_set(err, "%s: %s", mm->graph, strerror(errno));
			m->graph_path = xstrdup(mm->graph);
		}
	}
	return 0;
}

/*
 * With no classes.txt, the header of the first CSV/TSV source with one names the classes; every
 * other header must name the same. 0, or -1 with err naming the first differing column.
 */
static int classes_from_headers(struct study *s, struct nn_err *err)
{
	const struct model *first = NULL;
	for (size_t i = 0; i < s->n_models; i++) {
		const struct model *m = &s->models[i];
		if (m->src == SRC_PRED || m->probs.colnames.n == 0)
			continue;
		const struct strvec *h = first ? &first->probs.colnames : &m->probs.colnames;
		if (csvmat_header_check(&m->probs.colnames, m->src_path, (const char *const *)h->v,
		                        h->n, first ? first->src_path : m->src_path, err) < 0)
			return -1;
		if (!first)
			first = m;
	}
	if (!first)
		return 0;
	const struct strvec *h = &first->probs.colnames;
	s->n_classes = h->n;
	s->classes = xcalloc(h->n, sizeof *s->classes);
	for (size_t j = 0; j < h->n; j++)
		s->classes[j] = xstrdup(h->v[j]);
	s->classes_path = xstrdup(first->src_path);
	return 0;
}

/* Settles the number of classes: classes.txt, else the probability columns, else the ids seen. */
static int settle_classes(struct study *s, struct nn_err *err)
{
	if (!s->classes && classes_from_headers(s, err) < 0)
		return -1;
	size_t cols = 0;
	const char *cols_from = NULL;
	for (size_t i = 0; i < s->n_models; i++) {
		const struct model *m = &s->models[i];
		if (m->src == SRC_PRED)
			continue;
		if (s->classes && m->probs.cols != s->n_classes)
			return nn_err_set(err, "%s: %zu column%s, but %s names %zu class%s",
			                  m->src_path, m->probs.cols, plural(m->probs.cols),
			                  s->classes_path ? s->classes_path : s->labels_path,
			                  s->n_classes, s->n_classes == 1 ? "" : "es");
		if (!cols_from) {
			cols = m->probs.cols;
			cols_from = m->src_path;
		} else if (m->probs.cols != cols) {
			return nn_err_set(err, "%s: %zu column%s, but %s has %zu", m->src_path,
			                  m->probs.cols, plural(m->probs.cols), cols_from, cols);
		}
	}
	if (s->classes) {
		if (s->n_classes > STUDY_MAX_CLASSES)
			return nn_err_set(err, "%s: %zu classes; at most %d are supported",
			                  s->classes_path ? s->classes_path : s->labels_path,
			                  s->n_classes, STUDY_MAX_CLASSES);
		return 0;
	}
	size_t c = cols;
	if (!cols_from) {
		/* only predictions: as many classes as the largest id seen */
		for (size_t i = 0; i < s->n; i++)
			if ((size_t)s->labels[i] + 1 > c)
				c = (size_t)s->labels[i] + 1;
		for (size_t k = 0; k < s->n_models; k++)
			for (size_t i = 0; s->models[k].src == SRC_PRED && i < s->n; i++)
				if ((size_t)model_pred(&s->models[k], i) + 1 > c)
					c = (size_t)model_pred(&s->models[k], i) + 1;
	}
	if (c > STUDY_MAX_CLASSES)
		return nn_err_set(err, "%s: class ids up to %zu; at most %d classes are supported",
		                  cols_from ? cols_from : s->labels_path, c - 1, STUDY_MAX_CLASSES);
	s->n_classes = c;
	s->classes = xcalloc(c, sizeof *s->classes);
	for (size_t i = 0; i < c; i++)
		s->classes[i] = xasprintf("%zu", i);
	return 0;
}

static char *default_name(const char *path)
{
	char *copy = xstrdup(path);
	size_t n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	const char *base = strrchr(copy, '/');
	char *name = xstrdup(base ? base + 1 : copy);
	free(copy);
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || !name[0]) {
		free(name);
		char *cwd = realpath(path, NULL);
		if (cwd) {
			const char *b = strrchr(cwd, '/');
			name = xstrdup(b && b[1] ? b + 1 : cwd);
			free(cwd);
		} else {
			name = xstrdup("study");
		}
	}
	return name;
}

int study_derive(struct study *s, struct nn_err *err)
{
	int rc = derive_models(s, err);
	/* a read that failed gave NaN, which derive_models() may have refused first */
	for (size_t k = 0; k < s->n_models; k++)
		if (s->models[k].src != SRC_PRED && npy_read_failed(&s->models[k].probs))
			rc = npy_read_error(&s->models[k].probs, err);
	return rc;
}

struct study *study_open(const char *path, struct nn_err *err)
{
	return study_open_ex(path, 0, err);
}

/* The identity of a file as it is now (all 0 when it cannot be stat'ed). */
static void study_labels_sign(const char *path, uint64_t sig[4])
{
	struct stat st;
	memset(sig, 0, 4 * sizeof *sig);
	if (stat(path, &st) < 0)
		return;
	sig[0] = (uint64_t)st.st_dev;
	sig[1] = (uint64_t)st.st_ino;
	sig[2] = (uint64_t)st.st_size;
	sig[3] = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
}

int study_labels_same(const struct study *s, struct nn_err *err)
{
	uint64_t now[4];
	study_labels_sign(s->labels_path, now);
	if (memcmp(now, s->labels_sig, sizeof now) == 0)
		return 0;
	return nn_err_set(err, "%s changed on disk since the study was opened: reopen the study",
	                  s->labels_path);
}

struct study *study_open_ex(const char *path, unsigned flags, struct nn_err *err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		nn_err_set(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct manifest mf;
	manifest_init(&mf);
	int rc;
	char *ini = NULL;
	if (S_ISDIR(st.st_mode)) {
		ini = path_join(path, "study.ini");
		if (!exists(ini)) {
			free(ini);
			ini = NULL;
		}
	} else {
		ini = xstrdup(path);
	}
	if (ini) {
		rc = manifest_read(&mf, ini, err);
		free(ini);
	} else {
		mf.root = xstrdup(path);
		rc = convention_scan(path, &mf, err);
	}
	if (rc == 0 && mf.n_models == 0)
		rc = nn_err_set(err,
		                "%s: no models (expected models/NAME/probs.npy, logits.npy or "
		                "pred.npy)",
		                mf.path ? mf.path : path);
	if (rc < 0) {
		manifest_free(&mf);
		return NULL;
	}

	struct study *s = xcalloc(1, sizeof *s);
	s->root = xstrdup(mf.root);
	s->name = mf.name ? xstrdup(mf.name) : default_name(S_ISDIR(st.st_mode) ? path : mf.root);
	s->labels_path = xstrdup(mf.labels);
	s->warnings = mf.warnings;
	mf.warnings = (struct strvec){0};

	study_labels_sign(s->labels_path, s->labels_sig);
	rc = 0;
	if (mf.classes) {
		s->classes_path = xstrdup(mf.classes);
		rc = load_classes(s, mf.classes, err);
	}
	if (rc == 0) {
		size_t ll = strlen(mf.labels);
		if (ll >= 4 && strcmp(mf.labels + ll - 4, ".csv") == 0)
			rc = samples_read_labels_csv(s, mf.labels, err);
		else if (!(s->labels = load_class_vector(mf.labels, &mf.labels_shards, "class ids",
		                                         &s->n, err)))
			rc = -1;
	}
	if (rc == 0 && s->n == 0)
		rc = nn_err_set(err, "%s: no instances", mf.labels);
	if (rc == 0)
		rc = open_models(s, &mf, err);
	if (rc == 0)
		rc = settle_classes(s, err);
	if (rc == 0)
		rc = check_ids_in_range(s->labels, s->n, s->n_classes, s->labels_path, err);
	for (size_t k = 0; rc == 0 && k < s->n_models; k++)
		if (s->models[k].src == SRC_PRED)
			rc = check_ids_in_range(s->models[k].d_pred, s->n, s->n_classes,
			                        s->models[k].src_path, err);
	if (rc == 0 && mf.samples_shards.n > 1)
		rc = samples_read_shards(s, (const char *const *)mf.samples_shards.v,
		                         mf.samples_shards.n, err);
	else if (rc == 0 && mf.samples)
		rc = samples_read(s, mf.samples, err);
	s->probs_again = flags & STUDY_PROBS_AGAIN;
	if (rc == 0 && !(flags & STUDY_DEFER_DERIVE))
		rc = study_derive(s, err);
	manifest_free(&mf);
	if (rc < 0) {
		study_free(s);
		return NULL;
	}
	return s;
}

static void free_strings(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int study_read_error(const struct study *s, struct nn_err *err)
{
	for (size_t k = 0; k < s->n_models; k++) {
		const struct model *m = &s->models[k];
		if (m->src != SRC_PRED && npy_read_error(&m->probs, err) < 0)
			return -1;
		for (size_t j = 0; j < m->n_layers; j++)
			if ((m->layers[j].act_path && npy_read_error(&m->layers[j].act, err) < 0) ||
			    (m->layers[j].weights_path &&
			     npy_read_error(&m->layers[j].weights, err) < 0))
				return -1;
	}
	return 0;
}

/*
 * Unmapping a big file mapping whose pages are in the page table one by one (a page cache of
 * small folios) takes the unmapping thread 50 ms per GB: study_free first empties the study's
 * mappings of at least ZAP_MIN bytes with MADV_DONTNEED, ZAP_PIECE bytes at a time on every CPU
 * (which the kernel allows side by side), so that their munmap finds nothing left to undo.
 */
#define ZAP_MIN     ((size_t)64 << 20)
#define ZAP_PIECE   ((size_t)32 << 20)
#define ZAP_THREADS 8

struct zap_work {
	uint8_t **at;
	size_t *len, n;
	atomic_size_t next;
};

static void zap_add(struct zap_work *z, size_t *cap, void *map, size_t len)
{
	if (!map || len < ZAP_MIN)
		return;
	for (size_t off = 0; off < len; off += ZAP_PIECE) {
		if (z->n == *cap) {
			*cap = *cap ? 2 * *cap : 64;
			z->at = xreallocarray(z->at, *cap, sizeof *z->at);
			z->len = xreallocarray(z->len, *cap, sizeof *z->len);
		}
		z->at[z->n] = (uint8_t *)map + off;
		z->len[z->n++] = len - off < ZAP_PIECE ? len - off : ZAP_PIECE;
	}
}

static void zap_add_npy(struct zap_work *z, size_t *cap, const struct npy *a)
{
	zap_add(z, cap, a->map, a->map_len);
	for (size_t k = 0; k < a->n_shards; k++)
		zap_add_npy(z, cap, &a->shards[k]);
}

static void *zap_run(void *arg)
{
	struct zap_work *z = arg;
	for (size_t k; (k = atomic_fetch_add(&z->next, 1)) < z->n;)
		madvise(z->at[k], z->len[k], MADV_DONTNEED);
	return NULL;
}

static void study_zap(const struct study *s)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 2)
		return;
	struct zap_work z = {0};
	size_t cap = 0;
	for (size_t k = 0; k < s->n_models; k++) {
		const struct model *m = &s->models[k];
		zap_add_npy(&z, &cap, &m->probs);
		zap_add(&z, &cap, m->d_map, m->d_map_len);
		for (size_t j = 0; j < m->n_layers; j++) {
			zap_add_npy(&z, &cap, &m->layers[j].act);
			zap_add_npy(&z, &cap, &m->layers[j].weights);
		}
	}
	if (z.n > 1) {
		atomic_init(&z.next, 0);
		size_t nt = (size_t)cpus < ZAP_THREADS ? (size_t)cpus : ZAP_THREADS;
		nt = nt < z.n ? nt : z.n;
		pthread_t tids[ZAP_THREADS];
		bool started[ZAP_THREADS] = {false};
		for (size_t t = 1; t < nt; t++)
			started[t] = pthread_create(&tids[t], NULL, zap_run, &z) == 0;
		zap_run(&z);
		for (size_t t = 1; t < nt; t++)
			if (started[t])
				pthread_join(tids[t], NULL);
	}
	free(z.at);
	free(z.len);
}

void study_free(struct study *s)
{
	if (!s)
		return;
	study_zap(s);
	for (size_t k = 0; k < s->n_models; k++) {
		struct model *m = &s->models[k];
		free(m->name);
		free(m->src_path);
		npy_close(&m->probs);
		model_derived_free(m);
		for (size_t j = 0; j < m->n_layers; j++) {
			free(m->layers[j].name);
			free(m->layers[j].act_path);
			free(m->layers[j].weights_path);
			npy_close(&m->layers[j].act);
			npy_close(&m->layers[j].weights);
		}
		free(m->layers);
		free(m->saliency_layer);
		free(m->saliency_path);
		free(m->graph_path);
		npy_close(&m->saliency);
	}
	free(s->models);
	free_strings(s->classes, s->n_classes);
	free_strings(s->ids, s->n);
	free_strings(s->texts, s->n);
	free_strings(s->images, s->n);
	free_strings(s->splits, s->n);
	free(s->labels);
	free(s->given);
	free(s->status);
	free(s->name);
	free(s->root);
	free(s->labels_path);
	free(s->classes_path);
	strvec_free(&s->warnings);
	free(s);
}

int study_model_index(const struct study *s, const char *name)
{
	for (size_t i = 0; i < s->n_models; i++)
		if (strcmp(s->models[i].name, name) == 0)
			return (int)i;
	return -1;
}

int study_class_index(const struct study *s, const char *name)
{
	for (size_t i = 0; i < s->n_classes; i++)
		if (strcmp(s->classes[i], name) == 0)
			return (int)i;
	return -1;
}

int study_layer_index(const struct model *m, const char *name)
{
	for (size_t i = 0; i < m->n_layers; i++)
		if (strcmp(m->layers[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *study_instance_id(const struct study *s, size_t i, char *buf, size_t bufsize)
{
	if (s->ids && s->ids[i])
		return s->ids[i];
	snprintf(buf, bufsize, "%zu", i);
	return buf;
}

double study_issue_score(const struct study *s, size_t i)
{
	double sum = 0;
	size_t n = 0, wrong = 0;
	for (size_t k = 0; k < s->n_models; k++) {
		const struct model *m = &s->models[k];
		if (model_pred(m, i) != s->labels[i])
			wrong++;
		if (!model_has_probs(m))
			continue;
		sum += (model_conf(m, i) + 1.0 - model_p_label(m, i)) / 2.0;
		n++;
	}
	if (n)
		return sum / (double)n;
	return s->n_models ? (double)wrong / (double)s->n_models : 0.0;
}

uint8_t *study_decided_mask(const struct study *s)
{
	if (!s->status)
		return NULL;
	uint8_t *m = xcalloc(s->n ? s->n : 1, 1);
	for (size_t i = 0; i < s->n; i++)
		m[i] = status_decided(s->status[i]);
	return m;
}

void model_derived_alloc(struct model *m, size_t n, uint8_t id_size, uint8_t val_size,
                         bool with_probs)
{
	model_derived_free(m);
	m->id_size = id_size;
	m->val_size = val_size;
	m->d_pred = xcalloc_big(n, id_size);
	if (!with_probs)
		return;
	m->d_rank = xcalloc_big(n, id_size);
	m->d_conf = xcalloc_big(n, val_size);
	m->d_p_label = xcalloc_big(n, val_size);
	m->d_second = xcalloc_big(n, val_size);
}

void model_derived_free(struct model *m)
{
	if (m->d_map)
		munmap(m->d_map, m->d_map_len);
	else {
		free(m->d_pred);
		free(m->d_rank);
		free(m->d_conf);
		free(m->d_p_label);
		free(m->d_second);
	}
	m->d_map = NULL;
	m->d_map_len = 0;
	m->d_pred = m->d_rank = m->d_conf = m->d_p_label = m->d_second = NULL;
}

void model_derived_writable(struct model *m)
{
	/* MAP_PRIVATE: a written page becomes the process's own copy */
	if (m->d_map && mprotect(m->d_map, m->d_map_len, PROT_READ | PROT_WRITE) < 0) {
		fprintf(stderr,
		        "nncmp: cannot make the derived-data cache's mapping writable: %s\n",
		        strerror(errno));
		abort();
	}
}
