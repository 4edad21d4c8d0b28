/*
 * arch.c — a model's architecture from graph.json (jansson) or from the study's layers, and the
 * folding of consecutive identical runs of layers into repeated blocks.
 */
#include "nncmp/arch.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *arch_source_name(enum arch_source src)
{
	return src == ARCH_FX ? "fx" : src == ARCH_ORDER ? "order" : "layers";
}

void arch_free(struct arch *a)
{
	for (size_t i = 0; i < a->n_layers; i++) {
		free(a->layers[i].name);
		free(a->layers[i].op);
		free(a->layers[i].inputs);
		free(a->layers[i].chg_why);
	}
	free(a->layers);
	free(a->blocks);
	free(a->model);
	free(a->vs);
	memset(a, 0, sizeof *a);
}

/* A JSON integer in [lo, hi] into *out; returns false when v is not one. */
static bool json_int_in(const json_t *v, json_int_t lo, json_int_t hi, json_int_t *out)
{
	if (!json_is_integer(v))
		return false;
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi)
		return false;
	*out = x;
	return true;
}

/* A non-empty string without NUL of at most max bytes, copied; NULL when v is not one. */
static char *json_name(const json_t *v, size_t max)
{
	if (!json_is_string(v))
		return NULL;
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n == 0 || n > max || memchr(s, '\0', n))
		return NULL;
	return xstrndup(s, n);
}

/* An array of 0..max integers in [lo, hi] into out; returns the count, or -1. */
static int json_ints(const json_t *v, size_t max, json_int_t lo, json_int_t hi, size_t *out)
{
	if (!json_is_array(v) || json_array_size(v) > max)
		return -1;
	for (size_t k = 0; k < json_array_size(v); k++) {
		json_int_t x;
		if (!json_int_in(json_array_get(v, k), lo, hi, &x))
			return -1;
		out[k] = (size_t)x;
	}
	return (int)json_array_size(v);
}

/*
 * Parses module i into *ly (when it is a leaf; *leaf says). leaf_of maps module indices to layer
 * indices (-1: a container) for the inputs. Returns 0, or -1 with err set.
 */
static int parse_module(const json_t *m, size_t i, const long *leaf_of, struct arch_layer *ly,
                        bool *leaf, const char *path, struct nn_err *err)
{
	if (!json_is_object(m))
		return nn_err_set(err, "%s: modules[%zu] is not an object", path, i);
	json_int_t x;
	const json_t *id = json_object_get(m, "id");
	if (id && (!json_int_in(id, 0, ARCH_MAX_MODULES, &x) || (size_t)x != i))
		return nn_err_set(err, "%s: modules[%zu]: id must be %zu, its position", path, i,
		                  i);
	const json_t *lf = json_object_get(m, "leaf");
	if (lf && !json_is_boolean(lf))
		return nn_err_set(err, "%s: modules[%zu]: leaf must be true or false", path, i);
	*leaf = !lf || json_is_true(lf);
	if (!(ly->name = json_name(json_object_get(m, "name"), ARCH_MAX_NAME)))
		return nn_err_set(err,
		                  "%s: modules[%zu]: name must be a non-empty string of at most "
		                  "%d bytes",
		                  path, i, ARCH_MAX_NAME);
	if (!(ly->op = json_name(json_object_get(m, "type"), 256)))
		return nn_err_set(err, "%s: modules[%zu] (%.64s): type must be a non-empty string",
		                  path, i, ly->name);
	int nd = json_ints(json_object_get(m, "shape"), ARCH_MAX_DIMS, 0, (json_int_t)1 << 40,
	                   ly->shape);
	if (nd < 0)
		return nn_err_set(err,
		                  "%s: modules[%zu] (%.64s): shape must be an array of at most "
		                  "%d non-negative integers",
		                  path, i, ly->name, ARCH_MAX_DIMS);
	ly->ndim = nd;
	if (!json_int_in(json_object_get(m, "params"), 0, (json_int_t)1 << 50, &x))
		return nn_err_set(err,
		                  "%s: modules[%zu] (%.64s): params must be a non-negative "
		                  "integer",
		                  path, i, ly->name);
	ly->params = (uint64_t)x;
	const json_t *k = json_object_get(m, "kernel");
	if (k) {
		int nk = json_ints(k, 3, 1, 1 << 20, ly->kernel);
		if (nk < 1)
			return nn_err_set(err,
			                  "%s: modules[%zu] (%.64s): kernel must be 1 to 3 "
			                  "positive integers",
			                  path, i, ly->name);
		ly->nkernel = nk;
		static const char *const keys[] = {"stride", "padding", "dilation"};
		for (int q = 0; q < 3; q++) {
			const json_t *v = json_object_get(m, keys[q]);
			if (!v)
				continue;
			if (q == 1 && json_is_string(v)) {
				const char *pm = json_string_value(v);
				if (strcmp(pm, "same") == 0 || strcmp(pm, "valid") == 0) {
					ly->pad_mode =
					    pm[0] == 's' ? ARCH_PAD_SAME : ARCH_PAD_VALID;
					continue;
				}
			}
			size_t *out = q == 0 ? ly->stride : q == 1 ? ly->padding : ly->dilation;
			int nv = json_ints(v, 3, q == 1 ? 0 : 1, 1 << 20, out);
			if (nv != nk)
				return nn_err_set(err,
				                  "%s: modules[%zu] (%.64s): %s must be %d %s "
				                  "integer%s, as many as the kernel's%s",
				                  path, i, ly->name, keys[q], nk,
				                  q == 1 ? "non-negative" : "positive",
				                  nk == 1 ? "" : "s",
				                  q == 1 ? ", or \"same\" or \"valid\"" : "");
			*(q == 0 ? &ly->nstride : q == 1 ? &ly->npad : &ly->ndilation) = nv;
		}
	}
	const json_t *in = json_object_get(m, "inputs");
	if (!*leaf || !in)
		return 0;
	if (!json_is_array(in) || json_array_size(in) > ARCH_MAX_INPUTS)
		return nn_err_set(err,
		                  "%s: modules[%zu] (%.64s): inputs must be an array of at "
		                  "most %d module ids",
		                  path, i, ly->name, ARCH_MAX_INPUTS);
	ly->inputs = xcalloc(json_array_size(in) + 1, sizeof *ly->inputs);
	for (size_t j = 0; j < json_array_size(in); j++) {
		if (!json_int_in(json_array_get(in, j), -1, (json_int_t)i - 1, &x) ||
		    (x >= 0 && leaf_of[x] < 0))
			return nn_err_set(err,
			                  "%s: modules[%zu] (%.64s): input %zu is not -1 or the "
			                  "id of an earlier leaf module",
			                  path, i, ly->name, j);
		ly->inputs[ly->n_inputs++] = x < 0 ? -1 : leaf_of[x];
	}
	return 0;
}

int arch_parse_graph(const char *buf, size_t len, const char *path, struct arch *a,
                     struct nn_err *err)
{
	memset(a, 0, sizeof *a);
	json_error_t je;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return nn_err_set(err, "%s: line %d: %s", path, je.line, je.text);
	int rc = 0;
	json_int_t x;
	const json_t *src = json_object_get(root, "source");
	const json_t *mods = json_object_get(root, "modules");
	const json_t *fmt = json_object_get(root, "format");
	const json_t *model = json_object_get(root, "model");
	const json_t *params = json_object_get(root, "params");
	if (!json_is_object(root)) {
		rc = nn_err_set(err, "%s: expected a JSON object", path);
	} else if (fmt && (!json_is_integer(fmt) || json_integer_value(fmt) != 1)) {
		rc =
		    nn_err_set(err, "%s: format must be 1 (this nncmp reads graph format 1)", path);
	} else if (!json_is_string(src) || (strcmp(json_string_value(src), "fx") != 0 &&
	                                    strcmp(json_string_value(src), "order") != 0)) {
		rc = nn_err_set(err, "%s: source must be \"fx\" or \"order\"", path);
	} else if (!json_is_array(mods) || json_array_size(mods) > ARCH_MAX_MODULES) {
		rc = nn_err_set(err, "%s: modules must be an array of at most %d modules", path,
		                ARCH_MAX_MODULES);
	} else if (model && !json_is_string(model)) {
		rc = nn_err_set(err, "%s: model must be a string", path);
	} else if (params && !json_int_in(params, 0, (json_int_t)1 << 50, &x)) {
		rc = nn_err_set(err, "%s: params must be a non-negative integer", path);
	} else if (json_object_get(root, "input_shape")) {
		int nd = json_ints(json_object_get(root, "input_shape"), ARCH_MAX_DIMS, 0,
		                   (json_int_t)1 << 40, a->in_shape);
		if (nd < 0)
			rc = nn_err_set(err,
			                "%s: input_shape must be an array of at most %d "
			                "non-negative integers",
			                path, ARCH_MAX_DIMS);
		else
			a->in_ndim = nd;
	}
	if (rc) {
		json_decref(root);
		return rc;
	}
	a->source = strcmp(json_string_value(src), "fx") == 0 ? ARCH_FX : ARCH_ORDER;
	size_t n = json_array_size(mods);
	long *leaf_of = xcalloc(n ? n : 1, sizeof *leaf_of);
	a->layers = xcalloc(n ? n : 1, sizeof *a->layers);
	uint64_t sum = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct arch_layer ly = {0};
		bool leaf = true;
		rc = parse_module(json_array_get(mods, i), i, leaf_of, &ly, &leaf, path, err);
		if (rc == 0 && leaf) {
			leaf_of[i] = (long)a->n_layers;
			sum += ly.params;
			a->layers[a->n_layers++] = ly;
		} else {
			leaf_of[i] = -1;
			free(ly.name);
			free(ly.op);
			free(ly.inputs);
		}
	}
	free(leaf_of);
	a->params = params ? (uint64_t)json_integer_value(params) : sum;
	json_decref(root);
	if (rc)
		arch_free(a);
	return rc;
}

bool arch_graph_path(const struct study *s, const struct model *m, char **path)
{
	if (m->graph_path) {
		*path = xstrdup(m->graph_path);
		return true;
	}
	char *p = xasprintf("%s/models/%s/graph.json", s->root ? s->root : ".", m->name);
	struct stat st;
	if (stat(p, &st) != 0) {
		free(p);
		return false;
	}
	*path = p;
	return true;
}

int arch_name_cmp(const char *x, const char *y)
{
	while (*x && *y) {
		if (isdigit((unsigned char)*x) && isdigit((unsigned char)*y)) {
			while (*x == '0')
				x++;
			while (*y == '0')
				y++;
			size_t nx = 0, ny = 0;
			while (isdigit((unsigned char)x[nx]))
				nx++;
			while (isdigit((unsigned char)y[ny]))
				ny++;
			if (nx != ny)
				return nx < ny ? -1 : 1;
			int c = strncmp(x, y, nx);
			if (c)
				return c;
			x += nx;
			y += ny;
			continue;
		}
		if (*x != *y)
			return (unsigned char)*x < (unsigned char)*y ? -1 : 1;
		x++;
		y++;
	}
	return *x ? 1 : *y ? -1 : 0;
}

static int cmp_layer_ptr(const void *p, const void *q)
{
	const struct layer *x = *(const struct layer *const *)p,
	                   *y = *(const struct layer *const *)q;
	return arch_name_cmp(x->name, y->name);
}

/* The architecture the study's layers tell: names in natural order, shapes from the files. */
static void arch_from_layers(const struct model *m, struct arch *a)
{
	memset(a, 0, sizeof *a);
	a->source = ARCH_LAYERS;
	const struct layer **v = xcalloc(m->n_layers + 1, sizeof *v);
	for (size_t l = 0; l < m->n_layers; l++)
		v[l] = &m->layers[l];
	qsort(v, m->n_layers, sizeof *v, cmp_layer_ptr);
	a->layers = xcalloc(m->n_layers + 1, sizeof *a->layers);
	for (size_t l = 0; l < m->n_layers; l++) {
		struct arch_layer *ly = &a->layers[a->n_layers++];
		const struct layer *sl = v[l];
		ly->name = xstrdup(sl->name);
		const struct npy_header *w = sl->weights_path ? &sl->weights.h : NULL;
		const char *op = "?";
		if (w && w->ndim >= 3 && w->ndim <= 5) {
			static const char *const conv[] = {"Conv1d", "Conv2d", "Conv3d"};
			op = conv[w->ndim - 3];
			ly->nkernel = w->ndim - 2;
			for (int k = 0; k < ly->nkernel; k++)
				ly->kernel[k] = w->dims[2 + k];
		} else if (w && w->ndim == 2) {
			op = "Linear";
		}
		ly->op = xstrdup(op);
		if (sl->act_path) {
			ly->ndim = sl->act.h.ndim > 1 ? sl->act.h.ndim - 1 : 1;
			for (int d = 0; d < ly->ndim; d++)
				ly->shape[d] = sl->act.h.ndim > 1 ? sl->act.h.dims[d + 1] : 1;
		} else if (w && w->ndim == 2) {
			ly->ndim = 1;
			ly->shape[0] = w->dims[0];
		}
		if (w) {
			uint64_t p = 1;
			for (int d = 0; d < w->ndim; d++)
				p *= w->dims[d];
			ly->params = p;
			a->params += p;
		}
	}
	free(v);
}

int arch_load(const struct study *s, const struct model *m, struct arch *a, struct nn_err *err)
{
	char *path;
	if (arch_graph_path(s, m, &path)) {
		size_t len;
		char *buf = file_read_all(path, ARCH_MAX_BYTES, &len, err);
		int rc = buf ? arch_parse_graph(buf, len, path, a, err) : -1;
		free(buf);
		free(path);
		if (rc)
			return rc;
	} else {
		arch_from_layers(m, a);
	}
	a->model = xstrdup(m->name);
	a->largest = -1;
	for (size_t i = 0; i < a->n_layers; i++) {
		int li = study_layer_index(m, a->layers[i].name);
		if (li >= 0) {
			a->layers[i].activations = m->layers[li].act_path != NULL;
			a->layers[i].act_cols = m->layers[li].act_path ? m->layers[li].act.cols : 0;
			a->layers[i].weights = m->layers[li].weights_path != NULL;
		}
	}
	arch_fold(a);
	return 0;
}

bool arch_same_layer(const struct arch_layer *x, const struct arch_layer *y)
{
	if (strcmp(x->op, y->op) != 0 || x->ndim != y->ndim || x->nkernel != y->nkernel ||
	    x->params != y->params)
		return false;
	for (int d = 0; d < x->ndim; d++)
		if (x->shape[d] != y->shape[d])
			return false;
	for (int k = 0; k < x->nkernel; k++)
		if (x->kernel[k] != y->kernel[k])
			return false;
	return true;
}

/* How many times the run of len layers at start repeats back to back (at least 1). */
static size_t repeats(const struct arch *a, size_t start, size_t len)
{
	size_t r = 1;
	while (start + (r + 1) * len <= a->n_layers) {
		size_t off = start + r * len;
		size_t k = 0;
		while (k < len && arch_same_layer(&a->layers[start + k], &a->layers[off + k]))
			k++;
		if (k < len)
			break;
		r++;
	}
	return r;
}

/* The length of a name's parent module ("blocks.0" of "blocks.0.conv"; 0 for "act"). */
static size_t parent_len(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot ? (size_t)(dot - name) : 0;
}

/* True when layer i begins a module: its parent differs from the layer before it. */
static bool starts_module(const struct arch *a, size_t i)
{
	if (i == 0)
		return true;
	const char *x = a->layers[i].name, *y = a->layers[i - 1].name;
	size_t nx = parent_len(x), ny = parent_len(y);
	return nx != ny || strncmp(x, y, nx) != 0;
}

/* The best run at i: the longest cover (repeat × len) with repeat ≥ 2, shortest len on ties. */
static void best_run(const struct arch *a, size_t i, size_t *len, size_t *rep)
{
	*len = 1;
	*rep = 1;
	for (size_t l = 1; l <= ARCH_MAX_BLOCK && i + 2 * l <= a->n_layers; l++) {
		size_t r = repeats(a, i, l);
		if (r >= 2 && r * l > *len * *rep) {
			*len = l;
			*rep = r;
		}
	}
}

/* Appends printf-style text to buf (size bytes, len used so far); returns the new length. */
static size_t label_add(char *buf, size_t size, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t label_add(char *buf, size_t size, size_t len, const char *fmt, ...)
{
	if (len >= size)
		return len;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
	return n < 0 ? len : len + (size_t)n;
}

const char *arch_layer_marks(const struct arch_layer *ly, char *buf, size_t size)
{
	size_t want = ly->ndim ? 1 : 0, len = 0;
	for (int d = 0; d < ly->ndim; d++)
		want *= ly->shape[d];
	buf[0] = '\0';
	if (!ly->activations && !ly->weights)
		return buf;
	len = label_add(buf, size, len, "[");
	if (ly->activations && want && want != ly->act_cols)
		len = label_add(buf, size, len, "A(%zu)", ly->act_cols);
	else if (ly->activations)
		len = label_add(buf, size, len, "A");
	label_add(buf, size, len, "%s%s]", ly->activations && ly->weights ? " " : "",
	          ly->weights ? "W" : "");
	return buf;
}

const char *arch_layer_label(const struct arch_layer *ly, bool marks, bool utf8, char *buf,
                             size_t size)
{
	const char *times = utf8 ? "\xc3\x97" : "x";
	size_t len = label_add(buf, size, 0, "%s", ly->op);
	buf[len < size ? len : size - 1] = '\0';
	for (int k = 0; k < ly->nkernel; k++)
		len = label_add(buf, size, len, "%s%zu", k ? times : " ", ly->kernel[k]);
	if (strncmp(ly->op, "Conv", 4) == 0 && ly->ndim) /* Net2Vis's "Conv2d 3×3 64" */
		len = label_add(buf, size, len, " %zu", ly->shape[0]);
	len = label_add(buf, size, len, " ");
	for (int d = 0; d < ly->ndim; d++)
		len = label_add(buf, size, len, "%s%zu", d ? times : "", ly->shape[d]);
	if (!ly->ndim)
		len = label_add(buf, size, len, "?");
	if (ly->params)
		len = label_add(buf, size, len, " (%llu)", (unsigned long long)ly->params);
	if (marks && (ly->activations || ly->weights)) {
		char m[48];
		label_add(buf, size, len, " %s", arch_layer_marks(ly, m, sizeof m));
	}
	return buf;
}

/* Whether two layers' outputs have the same spatial size (dimensions after the first). */
static bool same_spatial(const struct arch_layer *x, const struct arch_layer *y)
{
	if (x->ndim != y->ndim)
		return false;
	for (int d = 1; d < x->ndim; d++)
		if (x->shape[d] != y->shape[d])
			return false;
	return true;
}

bool arch_new_stage(const struct arch *a, size_t b)
{
	if (b == 0 || b >= a->n_blocks || a->blocks[b].repeat > 1 || a->blocks[b - 1].repeat > 1)
		return true;
	const struct arch_block *pb = &a->blocks[b - 1];
	return !same_spatial(&a->layers[pb->start + pb->len - 1], &a->layers[a->blocks[b].start]);
}

void arch_fold(struct arch *a)
{
	free(a->blocks);
	a->blocks = xcalloc(a->n_layers + 1, sizeof *a->blocks);
	a->n_blocks = 0;
	size_t i = 0;
	while (i < a->n_layers) {
		size_t len, rep;
		best_run(a, i, &len, &rep);
		/*
		 * A run that starts mid-module ("act, conv, bn" repeated) is the phase-shifted twin
		 * of one a few layers on that starts where a module does ("conv, bn, relu"): prefer
		 * that.
		 */
		if (rep >= 2 && !starts_module(a, i)) {
			for (size_t d = 1; d < len; d++) {
				size_t l2, r2;
				best_run(a, i + d, &l2, &r2);
				if (r2 >= 2 && starts_module(a, i + d) && l2 * r2 >= len * rep) {
					len = 1;
					rep = 1;
					break;
				}
			}
		}
		a->blocks[a->n_blocks++] = (struct arch_block){i, len, rep};
		i += len * rep;
	}
}
