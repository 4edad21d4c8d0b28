/*
 * print.c — how the subcommands print: text cut and padded by display columns, streamed JSON,
 * "model.layer" names, and a progress meter on stderr for long computations.
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

/*
 * One heat cell: a glyph for the band of |v| / scale, in both signs, so that the picture reads
 * without colour; with colour, red for negative and green for positive, brighter when stronger.
 */
void cli_print_heat_cell(double v, double scale, bool utf8, bool colour)
{
	if (!isfinite(v)) {
		fputs("?", stdout);
		return;
	}
	double t = scale > 0 ? v / scale : 0;
	double a = fabs(t);
	int band = a < 0.1 ? 0 : a < 0.35 ? 1 : a < 0.7 ? 2 : 3;
	static const char *const neg[4] = {".", "-", "=", "#"};
	static const char *const pos[4] = {".", "+", "*", "@"};
	const char *glyph = band == 0 ? (utf8 ? "\u00b7" : ".") : t < 0 ? neg[band] : pos[band];
	if (colour && band > 0) {
		static const char *const style[4] = {"", "2;", "", "1;"};
		printf("\033[%s%dm%s\033[0m", style[band], t < 0 ? 31 : 32, glyph);
	} else {
		fputs(glyph, stdout);
	}
}
