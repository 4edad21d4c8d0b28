/*
 * matrix.c — `nncmp matrix` (mean activation per class or filter × neuron), `nncmp similarity`
 * (neuron correlation and CKA between two layers) and `nncmp project` (2-D PCA), text or JSON.
 */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "nncmp/filter.h"
#include "nncmp/linalg.h"
#include "nncmp/matrices.h"
#include "nncmp/project.h"
#include "nncmp/similarity.h"
#include "nncmp/text.h"

static const char matrix_help[] =
    "usage: nncmp matrix STUDY --model M --layer L [--rows class|filter] [--filter EXPR]...\n"
    "                    [--sort-row NAME] [--top K] [--json] [--threads N]\n"
    "\n"
    "The mean activation of every neuron of layer L of model M over each row's instances\n"
    "(ActiVis's subset x neuron matrix), with the neurons ordered by one row, highest first.\n"
    "Non-finite activations are left out of the means and counted.\n"
    "\n"
    "  --rows class   one row per ground-truth class (the default without --filter); a\n"
    "                 --filter then restricts the instances of every class row\n"
    "  --rows filter  one row per --filter EXPR (the default with --filter), plus a row\n"
    "                 'rest' (the complement) when there is only one; rows may overlap\n"
    "  --sort-row R   order the neurons by row R: a class name, a filter's text, 'rest',\n"
    "                 or a row number from 0 (default: the first row with instances)\n"
    "  --top K        neurons shown in the text table (default 10; 0: all). JSON always\n"
    "                 holds every neuron\n"
    "  --json         {\"model\", \"layer\", \"neurons\", \"instances\", \"nonfinite\",\n"
    "                 \"sort_row\", \"rows\": [{\"name\", \"n\", \"means\": [...]}],\n"
    "                 \"order\": [neuron indices]} (a mean is null when its row has no\n"
    "                 finite value)\n"
    "  --threads N    BLAS threads (default: OPENBLAS_NUM_THREADS, else every CPU)\n"
    "  --help         this text\n";

static const char similarity_help[] =
    "usage: nncmp similarity STUDY --model A --layer L [--with [B.]L2] [--neuron J] [--top K]\n"
    "                        [--abs] [--cka] [--filter EXPR] [--matrix] [--json] [--threads N]\n"
    "\n"
    "Which neurons of another layer respond like the neurons of A's layer L: the Pearson\n"
    "correlation over the instances between every neuron of A.L and every neuron of B.L2\n"
    "(DeepCompare). Instances with a non-finite activation in either layer are left out and\n"
    "counted; a neuron that is constant over the instances has no correlation and no match.\n"
    "\n"
    "  --with B.L2    the other layer: model B's layer L2, or L2 of model A (default: A.L\n"
    "                 itself, where a neuron's matches leave the neuron out)\n"
    "  --neuron J     list the top K matches of neuron J of A.L (default: every neuron of\n"
    "                 A.L with its best match, or its top K with --top)\n"
    "  --top K        matches per neuron (default 10 with --neuron, else 1)\n"
    "  --abs          rank by |r|, so that strong negative correlations count too\n"
    "  --cka          also the linear CKA of the two layers (Kornblith et al. 2019): 1 for\n"
    "                 representations equal up to rotation and scale, near 0 for unrelated\n"
    "                 ones (costs two more products)\n"
    "  --filter EXPR  correlate over the instances that match EXPR only\n"
    "  --matrix       with --json: also \"matrix\", every r (rows: neurons of A.L)\n"
    "  --json         {\"a\": {\"model\", \"layer\", \"neurons\"}, \"b\": {...}, \"instances\",\n"
    "                 \"used\", \"skipped\", \"by\": \"r\"|\"abs\", \"cka\" (with --cka),\n"
    "                 \"matches\": [{\"neuron\", \"top\": [{\"neuron\", \"r\"}]}]}\n"
    "  --threads N    BLAS threads (default: OPENBLAS_NUM_THREADS, else every CPU)\n"
    "  --help         this text\n";

static const char project_help[] =
    "usage: nncmp project STUDY --model M --layer L [--filter EXPR] [--top K] [--json]\n"
    "                     [--threads N]\n"
    "\n"
    "A 2-D projection of layer L's activations by PCA (the two principal axes of the\n"
    "covariance; each axis signed so that its largest component is positive). Text: a\n"
    "scatter plot labelled by ground-truth class (the most frequent class of each cell; a\n"
    "density ramp when there are more than 62 classes), then the first points.\n"
    "Instances with a non-finite activation are left out of the PCA and get no point.\n"
    "\n"
    "  --filter EXPR  the PCA of the instances that match EXPR only\n"
    "  --top K        points listed in the text (default 10; 0: all)\n"
    "  --json         {\"model\", \"layer\", \"instances\", \"used\", \"skipped\",\n"
    "                 \"explained\": [r1, r2], \"variance\": [l1, l2], \"index\": [...],\n"
    "                 \"points\": [[x, y], ...]} (null coordinates for skipped instances)\n"
    "  --threads N    BLAS threads (default: OPENBLAS_NUM_THREADS, else every CPU)\n"
    "  --help         this text\n";

/* Options shared by the three subcommands. */
struct args {
	const char *cmd;
	const char *study, *model, *layer, *with, *rows, *sort_row;
	const char **filters;
	size_t n_filters;
	long top, neuron, threads;
	bool json, abs, cka, matrix;
};

enum { OPT_SORT_ROW = 256, OPT_THREADS, OPT_WITH, OPT_NEURON, OPT_ABS, OPT_CKA, OPT_MATRIX };

/* Parses argv into a; returns -1 to go on, or an exit status (after --help or a usage error). */
static int parse_args(int argc, char **argv, struct args *a, const char *help)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
	                                     {"model", required_argument, NULL, 'm'},
	                                     {"layer", required_argument, NULL, 'l'},
	                                     {"filter", required_argument, NULL, 'f'},
	                                     {"rows", required_argument, NULL, 'r'},
	                                     {"top", required_argument, NULL, 't'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {"sort-row", required_argument, NULL, OPT_SORT_ROW},
	                                     {"threads", required_argument, NULL, OPT_THREADS},
	                                     {"with", required_argument, NULL, OPT_WITH},
	                                     {"neuron", required_argument, NULL, OPT_NEURON},
	                                     {"abs", no_argument, NULL, OPT_ABS},
	                                     {"cka", no_argument, NULL, OPT_CKA},
	                                     {"matrix", no_argument, NULL, OPT_MATRIX},
	                                     {NULL, 0, NULL, 0}};
	int o;
	bool extra = false;
	optind = 1;
	opterr = 0;
	/* "-": positionals come back in order as option 1, wherever they stand */
	while ((o = getopt_long(argc, argv, "-:jm:l:f:r:t:h", opts, NULL)) != -1) {
		switch (o) {
		case 1:
			extra = extra || a->study;
			a->study = optarg;
			break;
		case 'j':
			a->json = true;
			break;
		case 'm':
			a->model = optarg;
			break;
		case 'l':
			a->layer = optarg;
			break;
		case 'f':
			a->filters =
			    xreallocarray(a->filters, a->n_filters + 1, sizeof *a->filters);
			a->filters[a->n_filters++] = optarg;
			break;
		case 'r':
			a->rows = optarg;
			break;
		case 't':
			if ((a->top = cli_parse_count(optarg)) < 0)
				return cli_usage_error(a->cmd, "--top wants a count, not '%s'",
				                       optarg);
			break;
		case OPT_SORT_ROW:
			a->sort_row = optarg;
			break;
		case OPT_THREADS:
			if ((a->threads = cli_parse_count(optarg)) < 1 || a->threads > 4096)
				return cli_usage_error(
				    a->cmd, "--threads wants 1 to 4096, not '%s'", optarg);
			break;
		case OPT_WITH:
			a->with = optarg;
			break;
		case OPT_NEURON:
			if ((a->neuron = cli_parse_count(optarg)) < 0)
				return cli_usage_error(a->cmd, "--neuron wants an index, not '%s'",
				                       optarg);
			break;
		case OPT_ABS:
			a->abs = true;
			break;
		case OPT_CKA:
			a->cka = true;
			break;
		case OPT_MATRIX:
			a->matrix = true;
			break;
		case 'h':
			fputs(help, stdout);
			return EXIT_OK;
		case ':':
			return cli_usage_error(a->cmd, "%s needs a value", argv[optind - 1]);
		default:
			return cli_usage_error(a->cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (!a->study || extra)
		return cli_usage_error(a->cmd, a->study ? "one study expected" : "no study given");
	if (!a->model || !a->layer)
		return cli_usage_error(a->cmd, "--model and --layer are required");
	return -1;
}

/* Prints a one-line error about the study's content; returns EXIT_BAD_INPUT. */
static int input_error(const char *cmd, const char *msg)
{
	char *m = cli_safe(msg);
	fprintf(stderr, "nncmp %s: %s\n", cmd, m);
	free(m);
	return EXIT_BAD_INPUT;
}

/* Appends the names of the layers of m that have activations to buf. */
static void layer_names(const struct model *m, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t l = 0; l < m->n_layers && len < size; l++)
		if (m->layers[l].act_path)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
			                        m->layers[l].name);
	if (!len)
		snprintf(buf, size, "none");
}

/* Finds model.layer with activations; returns it, or NULL after an error message. */
static const struct layer *find_layer(const struct study *s, const char *cmd, const char *model,
                                      const char *layer, const struct model **mp)
{
	char msg[NN_ERR_MAX], names[256];
	int mi = study_model_index(s, model);
	if (mi < 0) {
		size_t len = 0;
		names[0] = '\0';
		for (size_t m = 0; m < s->n_models && len < sizeof names; m++)
			len += (size_t)snprintf(names + len, sizeof names - len, "%s%s",
			                        m ? ", " : "", s->models[m].name);
		snprintf(msg, sizeof msg, "no model '%s' in %s (models: %s)", model, s->name,
		         names);
		input_error(cmd, msg);
		return NULL;
	}
	const struct model *m = &s->models[mi];
	int li = study_layer_index(m, layer);
	if (li < 0 || !m->layers[li].act_path) {
		layer_names(m, names, sizeof names);
		snprintf(msg, sizeof msg, "model %s has no %s '%s' (layers with activations: %s)",
		         m->name, li < 0 ? "layer" : "activations for layer", layer, names);
		input_error(cmd, msg);
		return NULL;
	}
	*mp = m;
	return &m->layers[li];
}

/*
 * Resolves --with: "MODEL.LAYER" (model names are tried at every dot, since layer names such as
 * "block1.conv" hold dots too), else a layer of model a. NULL after an error message.
 */
static const struct layer *find_with(const struct study *s, const char *cmd, const char *spec,
                                     const struct model *a, const struct model **mp)
{
	for (const char *dot = strchr(spec, '.'); dot; dot = strchr(dot + 1, '.')) {
		char *model = xstrndup(spec, (size_t)(dot - spec));
		int mi = study_model_index(s, model);
		free(model);
		if (mi >= 0) {
			int li = study_layer_index(&s->models[mi], dot + 1);
			if (li >= 0 && s->models[mi].layers[li].act_path) {
				*mp = &s->models[mi];
				return &s->models[mi].layers[li];
			}
		}
	}
	int li = study_layer_index(a, spec);
	if (li >= 0 && a->layers[li].act_path) {
		*mp = a;
		return &a->layers[li];
	}
	char msg[NN_ERR_MAX];
	snprintf(msg, sizeof msg,
	         "--with '%s': no MODEL.LAYER with activations of that name, nor a layer of %s",
	         spec, a->name);
	input_error(cmd, msg);
	return NULL;
}

/* Compiles a filter and selects its instances into idx (s->n entries). Returns the count, or
 * (size_t)-1 after an error message. */
static size_t select_filter(const struct study *s, const char *cmd, const char *filter,
                            uint32_t *idx)
{
	struct nn_err err = {{0}};
	size_t col = 0;
	struct expr *e = expr_compile(s, filter, &err, &col);
	if (!e || !expr_is_bool(e)) {
		char *f = cli_safe(filter), *m = cli_safe(err.msg);
		fprintf(stderr, "nncmp %s: filter: %s\n  %s\n", cmd,
		        e ? "not a condition (compare it with something, e.g. '> 0.5')" : m, f);
		if (col && !e)
			fprintf(stderr, "  %*s^\n", (int)col - 1, "");
		free(f);
		free(m);
		expr_free(e);
		return (size_t)-1;
	}
	size_t n = expr_select(e, s, idx);
	expr_free(e);
	return n;
}

/* Progress on stderr while a long computation runs, when stderr is a terminal. */
struct meter {
	struct nn_progress prog;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool on, stop;
	const char *what;
};

static void *meter_run(void *arg)
{
	struct meter *m = arg;
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	bool shown = false;
	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		t.tv_nsec += 250000000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&m->cond, &m->lock, &t);
		if (m->stop)
			break;
		size_t total = atomic_load(&m->prog.total), done = atomic_load(&m->prog.done);
		if (total) {
			fprintf(stderr, "\rnncmp: %s %3.0f%%", m->what,
			        100.0 * (double)done / (double)total);
			shown = true;
		}
	}
	pthread_mutex_unlock(&m->lock);
	if (shown)
		fprintf(stderr, "\r\033[K");
	return NULL;
}

static struct nn_progress *meter_start(struct meter *m, const char *what)
{
	atomic_init(&m->prog.done, 0);
	atomic_init(&m->prog.total, 0);
	atomic_init(&m->prog.cancel, false);
	m->what = what;
	m->stop = false;
	m->on = isatty(STDERR_FILENO) && getenv("TERM") && strcmp(getenv("TERM"), "dumb") != 0;
	if (m->on) {
		pthread_mutex_init(&m->lock, NULL);
		pthread_cond_init(&m->cond, NULL);
		if (pthread_create(&m->thread, NULL, meter_run, m) != 0) {
			pthread_mutex_destroy(&m->lock);
			pthread_cond_destroy(&m->cond);
			m->on = false;
		}
	}
	return &m->prog;
}

static void meter_stop(struct meter *m)
{
	if (!m->on)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->cond);
	m->on = false;
}

/* Prints sanitized text in exactly `width` columns (cut or padded; right-aligned when right). */
static void print_cell(const char *raw, int width, bool right)
{
	char *s = cli_safe(raw);
	int cols = 0;
	const unsigned char *p = (const unsigned char *)s, *end = p;
	while (*end && cols < width) {
		end += *end < 0x80 ? 1 : (*end & 0xe0) == 0xc0 ? 2 : (*end & 0xf0) == 0xe0 ? 3 : 4;
		cols++;
	}
	if (right)
		printf("%*s", width - cols, "");
	fwrite(p, 1, (size_t)(end - p), stdout);
	if (!right)
		printf("%*s", width - cols, "");
	free(s);
}

/* Decimals that print every |v| <= maxabs in 7 characters with a sign; -1: use %g. */
static int table_decimals(double maxabs)
{
	return maxabs < 9.9995    ? 3
	       : maxabs < 99.995  ? 2
	       : maxabs < 999.95  ? 1
	       : maxabs < 99999.5 ? 0
	                          : -1;
}

/* A mean for a table cell: 7 characters after a space, "-" for NaN. */
static void print_num(double v, int decimals)
{
	if (isnan(v))
		printf(" %7s", "-");
	else if (decimals < 0)
		printf(" %7.2g", v);
	else
		printf(" %7.*f", decimals, v);
}

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

/* Display width of a string as print_cell counts it (code points). */
static int text_width(const char *raw)
{
	char *s = cli_safe(raw);
	int cols = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		cols += (*p & 0xc0) != 0x80;
	free(s);
	return cols;
}

/* A JSON string of text from outside (names, filters); bytes that are not UTF-8 are escaped. */
static json_t *jstr(const char *text)
{
	json_t *v = json_string(text);
	if (!v) {
		char *safe = text_sanitize(text, false);
		v = json_string(safe);
		free(safe);
	}
	return v;
}

/* ---- nncmp matrix ---- */

/* Builds the rows of `nncmp matrix`; returns 0, or an exit status after a message. */
static int matrix_rows(const struct study *s, const struct args *a, bool by_class,
                       struct matrices_subsets *rows, size_t *n_inst)
{
	uint32_t *idx = xcalloc(s->n, sizeof *idx);
	int rc = 0;
	if (by_class) {
		size_t n = s->n;
		if (a->n_filters == 1 &&
		    (n = select_filter(s, a->cmd, a->filters[0], idx)) == (size_t)-1)
			rc = EXIT_BAD_INPUT;
		if (rc == 0) {
			matrices_subsets_by_group(rows, s->labels, s->n_classes,
			                          (const char *const *)s->classes,
			                          a->n_filters ? idx : NULL, n);
			*n_inst = n;
		}
	} else {
		bool *any = xcalloc(s->n, sizeof *any);
		for (size_t f = 0; f < a->n_filters && rc == 0; f++) {
			size_t n = select_filter(s, a->cmd, a->filters[f], idx);
			if (n == (size_t)-1) {
				rc = EXIT_BAD_INPUT;
				break;
			}
			matrices_subsets_add(rows, a->filters[f], idx, n);
			for (size_t k = 0; k < n; k++)
				any[idx[k]] = true;
		}
		if (rc == 0 && a->n_filters == 1) {
			size_t n = 0;
			for (size_t i = 0; i < s->n; i++)
				if (!any[i])
					idx[n++] = (uint32_t)i;
			matrices_subsets_add(rows, "rest", idx, n);
		}
		*n_inst = 0;
		for (size_t i = 0; i < s->n; i++)
			*n_inst += any[i] || a->n_filters == 1;
		free(any);
	}
	free(idx);
	return rc;
}

/* The row --sort-row names (a name first, then a row number), or -1 after a message. */
static long sort_row_index(const struct matrices_subsets *rows, const struct args *a)
{
	if (!a->sort_row) {
		for (size_t r = 0; r < rows->n; r++)
			if (rows->count[r])
				return (long)r; /* the first row with instances */
		return 0;
	}
	for (size_t r = 0; r < rows->n; r++)
		if (strcmp(rows->names[r], a->sort_row) == 0)
			return (long)r;
	long r = cli_parse_count(a->sort_row);
	if (r >= 0 && (size_t)r < rows->n)
		return r;
	char msg[NN_ERR_MAX];
	snprintf(msg, sizeof msg,
	         "--sort-row '%s' is neither a row's name nor a row number below %zu", a->sort_row,
	         rows->n);
	return input_error(a->cmd, msg), -1;
}

static void matrix_text(const struct args *a, const struct matrices_subsets *rows,
                        const struct matrices_means *m, const uint32_t *order, size_t sort,
                        size_t n_inst, bool by_class)
{
	size_t shown = a->top == 0 || (size_t)a->top > m->cols ? m->cols : (size_t)a->top;
	char head[512];
	snprintf(head, sizeof head, "%s.%s: mean activation per %s, %zu neuron%s, %zu instances",
	         a->model, a->layer, by_class ? "class" : "filter", m->cols, plural(m->cols),
	         n_inst);
	print_cell(head, text_width(head), false);
	if (by_class && a->n_filters) {
		printf(" matching '");
		print_cell(a->filters[0], text_width(a->filters[0]), false);
		printf("'");
	}
	printf("\nneurons ordered by their mean in %s", by_class ? "class " : "row '");
	print_cell(rows->names[sort], text_width(rows->names[sort]), false);
	printf("%s, highest first", by_class ? "" : "'");
	if (shown < m->cols)
		printf(" (first %zu; --top 0 for all)", shown);
	printf("\n\n");
	int w = 5;
	for (size_t r = 0; r < rows->n; r++) {
		int tw = text_width(rows->names[r]);
		w = tw > w ? tw : w;
	}
	w = w > 28 ? 28 : w;
	printf("  ");
	print_cell(by_class ? "class" : "row", w, false);
	printf(" %7s  neuron:", "n");
	for (size_t k = 0; k < shown; k++)
		printf(" %7u", order[k]);
	printf("\n");
	double maxabs = 0;
	for (size_t r = 0; r < rows->n; r++)
		for (size_t k = 0; k < shown; k++) {
			double v = fabs(m->mean[r * m->cols + order[k]]);
			maxabs = v > maxabs ? v : maxabs; /* NaN compares false */
		}
	int decimals = table_decimals(maxabs);
	size_t empty = 0;
	for (size_t r = 0; r < rows->n; r++) {
		if (by_class && a->n_filters && m->size[r] == 0 && r != sort) {
			empty++; /* classes the filter leaves empty */
			continue;
		}
		printf("%s ", r == sort ? ">" : " ");
		print_cell(rows->names[r], w, false);
		printf(" %7zu         ", m->size[r]);
		for (size_t k = 0; k < shown; k++)
			print_num(m->mean[r * m->cols + order[k]], decimals);
		printf("\n");
	}
	if (empty)
		printf("\n(%zu class%s without matching instances not shown)\n", empty,
		       empty == 1 ? "" : "es");
	if (m->nonfinite)
		printf("\n%zu non-finite activation%s left out of the means\n", m->nonfinite,
		       m->nonfinite == 1 ? " was" : "s were");
}

static json_t *matrix_json(const struct args *a, const struct matrices_subsets *rows,
                           const struct matrices_means *m, const uint32_t *order, size_t sort,
                           size_t n_inst)
{
	json_t *jrows = json_array(), *jorder = json_array();
	for (size_t r = 0; r < rows->n; r++) {
		json_t *means = json_array();
		for (size_t j = 0; j < m->cols; j++)
			json_array_append_new(means, cli_json_real(m->mean[r * m->cols + j]));
		json_array_append_new(jrows,
		                      json_pack("{s:o, s:I, s:o}", "name", jstr(rows->names[r]),
		                                "n", (json_int_t)m->size[r], "means", means));
	}
	for (size_t j = 0; j < m->cols; j++)
		json_array_append_new(jorder, json_integer(order[j]));
	json_t *filters = json_array();
	for (size_t f = 0; f < a->n_filters; f++)
		json_array_append_new(filters, jstr(a->filters[f]));
	return json_pack("{s:o, s:o, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "model", jstr(a->model),
	                 "layer", jstr(a->layer), "neurons", (json_int_t)m->cols, "instances",
	                 (json_int_t)n_inst, "nonfinite", (json_int_t)m->nonfinite, "filters",
	                 filters, "sort_row", jstr(rows->names[sort]), "rows", jrows, "order",
	                 jorder);
}

int cmd_matrix(int argc, char **argv)
{
	struct args a = {.cmd = "matrix", .top = 10, .neuron = -1};
	int rc = parse_args(argc, argv, &a, matrix_help);
	if (rc >= 0) {
		free(a.filters);
		return rc;
	}
	bool by_class = a.rows ? strcmp(a.rows, "class") == 0 : a.n_filters == 0;
	if (a.rows && !by_class && strcmp(a.rows, "filter") != 0)
		rc = cli_usage_error("matrix", "--rows is 'class' or 'filter', not '%s'", a.rows);
	else if (!by_class && a.n_filters == 0)
		rc = cli_usage_error("matrix", "--rows filter needs at least one --filter EXPR");
	else if (by_class && a.n_filters > 1)
		rc = cli_usage_error("matrix", "with --rows class, one --filter at most (it "
		                               "restricts the instances of every class)");
	else if (a.with || a.neuron >= 0 || a.abs || a.cka || a.matrix)
		rc = cli_usage_error("matrix", "--with, --neuron, --abs, --cka and --matrix belong "
		                               "to 'nncmp similarity'");
	if (rc >= 0) {
		free(a.filters);
		return rc;
	}
	struct study *s = cli_open_study(a.study);
	if (!s) {
		free(a.filters);
		return EXIT_BAD_INPUT;
	}
	const struct model *m;
	const struct layer *l = find_layer(s, a.cmd, a.model, a.layer, &m);
	struct matrices_subsets rows = {0};
	size_t n_inst = 0;
	rc = l ? matrix_rows(s, &a, by_class, &rows, &n_inst) : EXIT_BAD_INPUT;
	long sort = rc == 0 ? sort_row_index(&rows, &a) : -1;
	if (rc == 0 && sort < 0)
		rc = EXIT_BAD_INPUT;
	if (rc == 0) {
		linalg_init((int)a.threads);
		struct matrices_means mm;
		struct nn_err err = {{0}};
		struct meter meter;
		struct nn_progress *prog = meter_start(&meter, "computing the means");
		int got = matrices_means(&l->act, &rows, prog, &mm, &err);
		meter_stop(&meter);
		if (got != 0) {
			rc = input_error(a.cmd, err.msg);
		} else {
			uint32_t *order = xcalloc(mm.cols, sizeof *order);
			matrices_order(&mm, (size_t)sort, order);
			if (a.json) {
				rc = cli_json_print(
				    matrix_json(&a, &rows, &mm, order, (size_t)sort, n_inst));
			} else {
				matrix_text(&a, &rows, &mm, order, (size_t)sort, n_inst, by_class);
				rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
			}
			free(order);
			matrices_means_free(&mm);
		}
	}
	matrices_subsets_free(&rows);
	study_free(s);
	free(a.filters);
	return rc;
}

/*
 * Prints the JSON object meta without its closing brace, so that large arrays can follow it
 * streamed (jansson would hold every number as an object). Releases meta. Returns 0 or -1.
 */
static int json_open_object(json_t *meta)
{
	char *text = json_dumps(meta, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(meta);
	if (!text)
		return -1;
	size_t len = strlen(text);
	fwrite(text, 1, len - 1, stdout); /* without the final '}' */
	free(text);
	return 0;
}

/* A number for streamed JSON: enough digits for a float32 or a double, null when not finite. */
static void json_num(double v, bool single)
{
	if (!isfinite(v))
		fputs("null", stdout);
	else
		printf(single ? "%.9g" : "%.17g", v);
}

/* ---- nncmp similarity ---- */

static json_t *layer_json(const char *model, const char *layer, size_t neurons)
{
	return json_pack("{s:o, s:o, s:I}", "model", jstr(model), "layer", jstr(layer), "neurons",
	                 (json_int_t)neurons);
}

/* Prints "model.layer" sanitized. */
static void print_layer(const char *model, const char *layer)
{
	char *name = xasprintf("%s.%s", model, layer);
	print_cell(name, text_width(name), false);
	free(name);
}

struct sim_view {
	const struct args *a;
	const char *model_b, *layer_b;
	const struct similarity *sim;
	size_t n_inst, top, skip_self; /* skip_self: 1 when B is A's own layer */
	const uint32_t *neurons;       /* neurons of A to list */
	size_t n_neurons;
};

static size_t sim_matches(const struct sim_view *v, size_t i, struct similarity_match *out)
{
	return similarity_top(v->sim, i, v->top, v->a->abs, v->skip_self ? i : SIZE_MAX, out);
}

static void similarity_text(const struct sim_view *v)
{
	const struct args *a = v->a;
	const struct similarity *sim = v->sim;
	print_layer(a->model, a->layer);
	if (a->neuron >= 0)
		printf(" neuron %ld", a->neuron);
	else
		printf(" (%zu neuron%s)", sim->h1, plural(sim->h1));
	printf(" vs ");
	print_layer(v->model_b, v->layer_b);
	printf(" (%zu neuron%s): Pearson r over %zu instances", sim->h2, plural(sim->h2),
	       sim->used);
	if (a->n_filters) {
		printf(" matching '");
		print_cell(a->filters[0], text_width(a->filters[0]), false);
		putchar('\'');
	}
	printf("\n");
	if (sim->skipped)
		printf("(%zu instance%s with non-finite activations left out)\n", sim->skipped,
		       sim->skipped == 1 ? "" : "s");
	if (a->cka) {
		printf("linear CKA: ");
		if (isnan(sim->cka))
			printf("undefined (a layer is constant)\n");
		else
			printf("%.4f\n", sim->cka);
	}
	struct similarity_match *mt = xcalloc(v->top ? v->top : 1, sizeof *mt);
	if (a->neuron >= 0) {
		size_t got = sim_matches(v, (size_t)a->neuron, mt);
		printf("\n%4s %7s %8s%s\n", "rank", "neuron", "r",
		       a->abs ? "   (ranked by |r|)" : "");
		for (size_t t = 0; t < got; t++)
			printf("%4zu %7u %8.4f\n", t + 1, mt[t].neuron, mt[t].r);
		if (!got)
			printf("no match: neuron %ld is constant over these instances\n",
			       a->neuron);
		free(mt);
		return;
	}
	/* summary of the best matches */
	size_t with = 0, hi = 0, mid = 0;
	double sum = 0;
	for (size_t i = 0; i < sim->h1; i++) {
		struct similarity_match best;
		if (similarity_top(sim, i, 1, a->abs, v->skip_self ? i : SIZE_MAX, &best) == 0)
			continue;
		double key = a->abs ? fabs(best.r) : best.r;
		with++;
		sum += key;
		hi += key >= 0.9;
		mid += key >= 0.5;
	}
	const char *by = a->abs ? "|r|" : "r";
	if (v->skip_self)
		printf("(the layer with itself: a neuron's matches leave the neuron out)\n");
	if (with)
		printf("\nbest matches of the %zu non-constant neurons (by %s): mean %.3f; "
		       "%s >= 0.9 for %zu, >= 0.5 for %zu\n",
		       with, by, sum / (double)with, by, hi, mid);
	else
		printf("\nno matches: every neuron is constant over these instances\n");
	if (!with) {
		free(mt);
		return;
	}
	printf("\n%6s", "neuron");
	for (size_t t = 0; t < v->top && t < 8; t++)
		printf(" %6s %7s", t ? "next" : "match", "r");
	printf("\n");
	for (size_t i = 0; i < sim->h1; i++) {
		size_t got = sim_matches(v, i, mt);
		printf("%6zu", i);
		for (size_t t = 0; t < got; t++)
			printf(" %6u %7.3f", mt[t].neuron, mt[t].r);
		if (!got)
			printf("  (constant over these instances)");
		printf("\n");
	}
	free(mt);
}

static int similarity_json(const struct sim_view *v)
{
	const struct args *a = v->a;
	const struct similarity *sim = v->sim;
	json_t *matches = json_array();
	struct similarity_match *mt = xcalloc(v->top ? v->top : 1, sizeof *mt);
	for (size_t k = 0; k < v->n_neurons; k++) {
		size_t i = v->neurons[k], got = sim_matches(v, i, mt);
		json_t *top = json_array();
		for (size_t t = 0; t < got; t++)
			json_array_append_new(top,
			                      json_pack("{s:i, s:o}", "neuron", (int)mt[t].neuron,
			                                "r", cli_json_real(mt[t].r)));
		json_array_append_new(matches,
		                      json_pack("{s:I, s:o}", "neuron", (json_int_t)i, "top", top));
	}
	free(mt);
	json_t *o =
	    json_pack("{s:o, s:o, s:o, s:I, s:I, s:I, s:s, s:o}", "a",
	              layer_json(a->model, a->layer, sim->h1), "b",
	              layer_json(v->model_b, v->layer_b, sim->h2), "filter",
	              a->n_filters ? jstr(a->filters[0]) : json_null(), "instances",
	              (json_int_t)v->n_inst, "used", (json_int_t)sim->used, "skipped",
	              (json_int_t)sim->skipped, "by", a->abs ? "abs" : "r", "matches", matches);
	if (a->cka)
		json_object_set_new(o, "cka", cli_json_real(sim->cka));
	if (!a->matrix)
		return cli_json_print(o);
	if (json_open_object(o) != 0)
		return EXIT_INTERNAL;
	fputs(",\"matrix\":[", stdout);
	for (size_t i = 0; i < sim->h1; i++) {
		fputs(i ? ",[" : "[", stdout);
		for (size_t j = 0; j < sim->h2; j++) {
			if (j)
				putchar(',');
			json_num(sim->r[i * sim->h2 + j], false);
		}
		putchar(']');
	}
	fputs("]}\n", stdout);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
}

int cmd_similarity(int argc, char **argv)
{
	struct args a = {.cmd = "similarity", .top = -1, .neuron = -1};
	int rc = parse_args(argc, argv, &a, similarity_help);
	if (rc < 0) {
		if (a.rows || a.sort_row)
			rc = cli_usage_error(a.cmd,
			                     "--rows and --sort-row belong to 'nncmp matrix'");
		else if (a.n_filters > 1)
			rc = cli_usage_error(a.cmd, "one --filter at most");
		else if (a.matrix && !a.json)
			rc = cli_usage_error(a.cmd, "--matrix goes with --json");
	}
	if (rc >= 0) {
		free(a.filters);
		return rc;
	}
	struct study *s = cli_open_study(a.study);
	if (!s) {
		free(a.filters);
		return EXIT_BAD_INPUT;
	}
	const struct model *ma = NULL, *mb = NULL;
	const struct layer *la = find_layer(s, a.cmd, a.model, a.layer, &ma), *lb = la;
	mb = ma;
	if (la && a.with)
		lb = find_with(s, a.cmd, a.with, ma, &mb);
	uint32_t *idx = NULL;
	size_t n = s->n;
	rc = la && lb ? -1 : EXIT_BAD_INPUT;
	if (rc < 0 && a.neuron >= 0 && (size_t)a.neuron >= la->act.cols) {
		char msg[NN_ERR_MAX];
		snprintf(msg, sizeof msg, "--neuron %ld: %s.%s has neurons 0 to %zu", a.neuron,
		         ma->name, la->name, la->act.cols - 1);
		rc = input_error(a.cmd, msg);
	}
	if (rc < 0 && a.n_filters) {
		idx = xcalloc(s->n, sizeof *idx);
		if ((n = select_filter(s, a.cmd, a.filters[0], idx)) == (size_t)-1)
			rc = EXIT_BAD_INPUT;
	}
	if (rc < 0) {
		linalg_init((int)a.threads);
		struct similarity sim;
		struct nn_err err = {{0}};
		struct meter meter;
		struct nn_progress *prog = meter_start(&meter, "correlating");
		int got = similarity_compute(&la->act, &lb->act, idx, n, a.cka, prog, &sim, &err);
		meter_stop(&meter);
		if (got != 0) {
			rc = input_error(a.cmd, err.msg);
		} else {
			size_t top = a.top >= 0 ? (size_t)a.top : a.neuron >= 0 ? 10 : 1;
			uint32_t *neurons = xcalloc(sim.h1, sizeof *neurons);
			size_t n_neurons = 0;
			if (a.neuron >= 0)
				neurons[n_neurons++] = (uint32_t)a.neuron;
			else
				for (size_t i = 0; i < sim.h1; i++)
					neurons[n_neurons++] = (uint32_t)i;
			struct sim_view v = {
			    &a,       mb->name, lb->name,
			    &sim,     n,        top == 0 || top > sim.h2 ? sim.h2 : top,
			    la == lb, neurons,  n_neurons};
			if (a.json) {
				rc = similarity_json(&v);
			} else {
				similarity_text(&v);
				rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
			}
			free(neurons);
			similarity_free(&sim);
		}
	}
	free(idx);
	study_free(s);
	free(a.filters);
	return rc;
}

/* ---- nncmp project ---- */

#define PLOT_W 64
#define PLOT_H 20

static const char class_glyphs[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/* The scatter plot: each cell shows the most frequent class of its points (ties: the lower
 * class), or a density ramp when there are too many classes for one glyph each. */
static void project_plot(const struct study *s, const struct projection *p, const uint32_t *idx)
{
	double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
	for (size_t k = 0; k < p->n; k++) {
		float x = p->points[2 * k], y = p->points[2 * k + 1];
		if (isnan(x))
			continue;
		x0 = x < x0 ? x : x0;
		x1 = x > x1 ? x : x1;
		y0 = y < y0 ? y : y0;
		y1 = y > y1 ? y : y1;
	}
	if (!(x0 <= x1))
		return;
	size_t C = s->n_classes, cells = PLOT_W * PLOT_H;
	bool by_class = C <= sizeof class_glyphs - 1;
	size_t *count = xcalloc(cells * (by_class ? C : 1), sizeof *count);
	size_t *total = xcalloc(cells, sizeof *total), peak = 0;
	for (size_t k = 0; k < p->n; k++) {
		float x = p->points[2 * k], y = p->points[2 * k + 1];
		if (isnan(x))
			continue;
		size_t cx = x1 > x0 ? (size_t)lround((x - x0) / (x1 - x0) * (PLOT_W - 1)) : 0;
		size_t cy = y1 > y0 ? (size_t)lround((y1 - y) / (y1 - y0) * (PLOT_H - 1)) : 0;
		size_t c = cy * PLOT_W + cx;
		total[c]++;
		peak = total[c] > peak ? total[c] : peak;
		if (by_class)
			count[c * C + (size_t)s->labels[idx ? idx[k] : k]]++;
	}
	static const char ramp[] = ".:-=+*#%@";
	printf("%9.3g +", y1);
	for (size_t c = 0; c < PLOT_W; c++)
		putchar('-');
	printf("+\n");
	for (size_t r = 0; r < PLOT_H; r++) {
		printf("%9s |", r == PLOT_H / 2 ? "axis 2" : "");
		for (size_t c = 0; c < PLOT_W; c++) {
			size_t cell = r * PLOT_W + c;
			char g = ' ';
			if (total[cell] && by_class) {
				size_t best = 0;
				for (size_t k = 1; k < C; k++)
					best =
					    count[cell * C + k] > count[cell * C + best] ? k : best;
				g = class_glyphs[best];
			} else if (total[cell]) {
				size_t level = (total[cell] * (sizeof ramp - 1) + peak - 1) / peak;
				g = ramp[level - 1];
			}
			putchar(g);
		}
		printf("|\n");
	}
	printf("%9.3g +", y0);
	for (size_t c = 0; c < PLOT_W; c++)
		putchar('-');
	printf("+\n%10s%-9.3g%*s%9.3g\n", "", x0, PLOT_W - 16, "axis 1", x1);
	bool self_named = by_class;
	for (size_t k = 0; k < C && self_named; k++)
		self_named = s->classes[k][0] == class_glyphs[k] && !s->classes[k][1];
	if (by_class && !self_named) {
		printf("\nclasses:");
		int col = 8;
		for (size_t k = 0; k < C; k++) {
			int w = text_width(s->classes[k]);
			w = w > 20 ? 20 : w;
			if (col + w + 4 > 80) {
				printf("\n        ");
				col = 8;
			}
			printf(" %c=", class_glyphs[k]);
			print_cell(s->classes[k], w, false);
			col += w + 3;
		}
		printf("\n");
	} else if (!by_class) {
		printf("\ndensity: '%c' fewest points per cell ... '%c' most (%zu)\n", ramp[0],
		       ramp[sizeof ramp - 2], peak);
	}
	free(count);
	free(total);
}

static void project_text(const struct study *s, const struct args *a, const struct projection *p,
                         const uint32_t *idx)
{
	print_layer(a->model, a->layer);
	printf(": PCA of %zu instances", p->used);
	if (a->n_filters) {
		printf(" matching '");
		print_cell(a->filters[0], text_width(a->filters[0]), false);
		putchar('\'');
	}
	printf(" (%zu neuron%s)\n", p->h, plural(p->h));
	if (p->skipped)
		printf("(%zu instance%s with non-finite activations left out)\n", p->skipped,
		       p->skipped == 1 ? "" : "s");
	if (isnan(p->explained[0])) {
		printf("the activations are constant over these instances: nothing to project\n");
		return;
	}
	printf("axis 1 explains %.1f%% of the variance, axis 2 %.1f%% (%.1f%% together)\n\n",
	       100 * p->explained[0], 100 * p->explained[1],
	       100 * (p->explained[0] + p->explained[1]));
	project_plot(s, p, idx);
	size_t shown = a->top == 0 || (size_t)a->top > p->n ? p->n : (size_t)a->top;
	printf("\n%8s  %-14s %-14s %10s %10s\n", "index", "id", "label", "axis 1", "axis 2");
	for (size_t k = 0; k < shown; k++) {
		size_t i = idx ? idx[k] : k;
		char buf[32];
		printf("%8zu  ", i);
		print_cell(study_instance_id(s, i, buf, sizeof buf), 14, false);
		putchar(' ');
		print_cell(s->classes[s->labels[i]], 14, false);
		if (isnan(p->points[2 * k]))
			printf(" %10s %10s\n", "-", "-");
		else
			printf(" %10.4g %10.4g\n", p->points[2 * k], p->points[2 * k + 1]);
	}
	if (shown < p->n)
		printf("(first %zu of %zu; --top 0 for all, --json for every point)\n", shown,
		       p->n);
}

static int project_json(const struct args *a, const struct projection *p, const uint32_t *idx)
{
	json_t *meta = json_pack(
	    "{s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:[o, o], s:[o, o]}", "model", jstr(a->model),
	    "layer", jstr(a->layer), "filter", a->n_filters ? jstr(a->filters[0]) : json_null(),
	    "neurons", (json_int_t)p->h, "instances", (json_int_t)p->n, "used", (json_int_t)p->used,
	    "skipped", (json_int_t)p->skipped, "explained", cli_json_real(p->explained[0]),
	    cli_json_real(p->explained[1]), "variance", cli_json_real(p->variance[0]),
	    cli_json_real(p->variance[1]));
	if (!meta || json_open_object(meta) != 0)
		return EXIT_INTERNAL;
	fputs(",\"index\":[", stdout);
	for (size_t k = 0; k < p->n; k++)
		printf(k ? ",%zu" : "%zu", idx ? (size_t)idx[k] : k);
	fputs("],\"points\":[", stdout);
	for (size_t k = 0; k < p->n; k++) {
		fputs(k ? ",[" : "[", stdout);
		json_num(p->points[2 * k], true);
		putchar(',');
		json_num(p->points[2 * k + 1], true);
		putchar(']');
	}
	fputs("]}\n", stdout);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
}

int cmd_project(int argc, char **argv)
{
	struct args a = {.cmd = "project", .top = 10, .neuron = -1};
	int rc = parse_args(argc, argv, &a, project_help);
	if (rc < 0) {
		if (a.rows || a.sort_row || a.with || a.neuron >= 0 || a.abs || a.cka || a.matrix)
			rc = cli_usage_error(a.cmd, "takes --model, --layer, --filter, --top, "
			                            "--json and --threads only");
		else if (a.n_filters > 1)
			rc = cli_usage_error(a.cmd, "one --filter at most");
	}
	if (rc >= 0) {
		free(a.filters);
		return rc;
	}
	struct study *s = cli_open_study(a.study);
	if (!s) {
		free(a.filters);
		return EXIT_BAD_INPUT;
	}
	const struct model *m;
	const struct layer *l = find_layer(s, a.cmd, a.model, a.layer, &m);
	uint32_t *idx = NULL;
	size_t n = s->n;
	rc = l ? -1 : EXIT_BAD_INPUT;
	if (rc < 0 && a.n_filters) {
		idx = xcalloc(s->n, sizeof *idx);
		if ((n = select_filter(s, a.cmd, a.filters[0], idx)) == (size_t)-1)
			rc = EXIT_BAD_INPUT;
	}
	if (rc < 0) {
		linalg_init((int)a.threads);
		struct projection p;
		struct nn_err err = {{0}};
		struct meter meter;
		struct nn_progress *prog = meter_start(&meter, "projecting");
		int got = project_pca(&l->act, idx, n, prog, &p, &err);
		meter_stop(&meter);
		if (got != 0) {
			rc = input_error(a.cmd, err.msg);
		} else {
			if (a.json) {
				rc = project_json(&a, &p, idx);
			} else {
				project_text(s, &a, &p, idx);
				rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
			}
			project_free(&p);
		}
	}
	free(idx);
	study_free(s);
	free(a.filters);
	return rc;
}
