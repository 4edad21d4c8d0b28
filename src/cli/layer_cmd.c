/*
 * layer_cmd.c — what the subcommands over one layer's activations (matrix, similarity, project)
 * share: their options, finding a layer, a progress meter, and printing names and numbers.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "nncmp/text.h"

int layer_args_parse(int argc, char **argv, struct layer_args *a, const char *help)
{
	struct cli_strs filters = {0};
	/* seen[k]: option k of the table was given (only the options of one command are checked) */
	bool seen[16] = {false};
	const struct cli_opt opts[] = {
	    CLI_OPT_JSON(&a->json),
	    CLI_OPT_MODEL(&a->model),
	    CLI_OPT_LAYER(&a->layer),
	    {.name = "filter", .letter = 'f', .type = CLI_STRS, .dest = &filters},
	    CLI_OPT_TOP(&a->top),
	    CLI_OPT_THREADS(&a->threads, 4096),
	    /* from here on, options of one command (owner[] below) */
	    {.name = "rows", .letter = 'r', .type = CLI_STR, .dest = &a->rows, .seen = &seen[6]},
	    {.name = "sort-row", .type = CLI_STR, .dest = &a->sort_row, .seen = &seen[7]},
	    {.name = "with", .type = CLI_STR, .dest = &a->with, .seen = &seen[8]},
	    {.name = "neuron",
	     .type = CLI_LONG,
	     .dest = &a->neuron,
	     .want = "an index",
	     .max = LONG_MAX,
	     .seen = &seen[9]},
	    {.name = "abs", .type = CLI_FLAG, .dest = &a->abs, .seen = &seen[10]},
	    {.name = "cka", .type = CLI_FLAG, .dest = &a->cka, .seen = &seen[11]},
	    {.name = "matrix", .type = CLI_FLAG, .dest = &a->matrix, .seen = &seen[12]},
	    CLI_OPT_END};
	static const char *const owner[] = {
	    [6] = "matrix",      [7] = "matrix",      [8] = "similarity", [9] = "similarity",
	    [10] = "similarity", [11] = "similarity", [12] = "similarity"};
	int rc = cli_parse_args(a->cmd, help, opts, argc, argv, &a->study);
	a->filters = filters.v;
	a->n_filters = filters.n;
	for (size_t k = 6; rc < 0 && k < sizeof owner / sizeof *owner; k++)
		if (seen[k] && strcmp(owner[k], a->cmd) != 0)
			rc = cli_usage_error(a->cmd, "--%s belongs to 'nncmp %s'", opts[k].name,
			                     owner[k]);
	if (rc < 0 && (!a->model || !a->layer))
		rc = cli_usage_error(a->cmd, "--model and --layer are required");
	if (rc < 0 && !a->many_filters && a->n_filters > 1)
		rc = cli_usage_error(a->cmd, "one --filter at most");
	if (rc >= 0) {
		free(a->filters);
		a->filters = NULL;
	}
	return rc;
}

struct study *layer_args_open(struct layer_args *a)
{
	struct study *s = cli_open_study(a->study);
	if (!s) {
		free(a->filters);
		a->filters = NULL;
	}
	return s;
}

/* Prints a one-line error about the study's content; returns EXIT_BAD_INPUT. */
int cli_input_error(const char *cmd, const char *msg)
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
const struct layer *layer_find(const struct study *s, const char *cmd, const char *model,
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
		cli_input_error(cmd, msg);
		return NULL;
	}
	const struct model *m = &s->models[mi];
	int li = study_layer_index(m, layer);
	if (li < 0 || !m->layers[li].act_path) {
		layer_names(m, names, sizeof names);
		snprintf(msg, sizeof msg, "model %s has no %s '%s' (layers with activations: %s)",
		         m->name, li < 0 ? "layer" : "activations for layer", layer, names);
		cli_input_error(cmd, msg);
		return NULL;
	}
	*mp = m;
	return &m->layers[li];
}

struct cli_meter {
	struct nn_progress prog;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool on, stop;
	const char *what;
};

static void *meter_run(void *arg)
{
	struct cli_meter *m = arg;
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

struct cli_meter *cli_meter_start(const char *what)
{
	struct cli_meter *m = xcalloc(1, sizeof *m);
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
	return m;
}

struct nn_progress *cli_meter_prog(struct cli_meter *m)
{
	return &m->prog;
}

void cli_meter_stop(struct cli_meter *m)
{
	if (m->on) {
		pthread_mutex_lock(&m->lock);
		m->stop = true;
		pthread_cond_signal(&m->cond);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->thread, NULL);
		pthread_mutex_destroy(&m->lock);
		pthread_cond_destroy(&m->cond);
	}
	free(m);
}

/* Prints sanitized text in exactly `width` columns (cut or padded; right-aligned when right). */
int cli_put_cols(const char *safe, int width)
{
	int cols;
	fwrite(safe, 1, text_fit(safe, width, &cols), stdout);
	return cols;
}

void cli_put_padded(const char *safe, int width)
{
	int cols = cli_put_cols(safe, width);
	printf("%*s", width - cols, "");
}

void cli_print_cell(const char *raw, int width, bool right)
{
	char *s = cli_safe(raw);
	int cols;
	size_t n = text_fit(s, width, &cols);
	if (right)
		printf("%*s", width - cols, "");
	fwrite(s, 1, n, stdout);
	if (!right)
		printf("%*s", width - cols, "");
	free(s);
}

const char *cli_plural(size_t n)
{
	return n == 1 ? "" : "s";
}

int cli_text_width(const char *raw)
{
	char *s = cli_safe(raw);
	int cols = text_width(s);
	free(s);
	return cols;
}

/*
 * Prints the JSON object meta without its closing brace, so that large arrays can follow it
 * streamed (jansson would hold every number as an object). Releases meta. Returns 0 or -1.
 */
int cli_json_open_object(json_t *meta)
{
	char *text =
	    meta ? json_dumps(meta, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(17))
	         : NULL;
	json_decref(meta);
	if (!text) {
		fputs("nncmp: internal error: a value could not be encoded as JSON\n", stderr);
		return -1;
	}
	size_t len = strlen(text);
	fwrite(text, 1, len - 1, stdout); /* without the final '}' */
	free(text);
	return 0;
}

/* A number for streamed JSON: enough digits for a float32 or a double, null when not finite. */
void cli_json_num(double v, bool single)
{
	if (!isfinite(v))
		fputs("null", stdout);
	else
		printf(single ? "%.9g" : "%.17g", v);
}

/* Prints "model.layer" sanitized. */
void cli_print_layer(const char *model, const char *layer)
{
	char *name = xasprintf("%s.%s", model, layer);
	cli_print_cell(name, cli_text_width(name), false);
	free(name);
}
