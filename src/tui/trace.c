/*
 * trace.c — NNCMP_TRACE (trace.h): wall time from CLOCK_MONOTONIC, the UI thread's CPU time from
 * CLOCK_THREAD_CPUTIME_ID (the worker's threads do not count in it).
 */
#include "trace.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static FILE *out;
static double t0;       /* CLOCK_MONOTONIC at trace_start, seconds */
static double key_wall; /* when the pending key was read; < 0 when none */
static double key_cpu;  /* the UI thread's CPU time then */
static char key_label[32];
static bool first_done, ready_done;

static double now(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void trace_start(void)
{
	const char *path = getenv("NNCMP_TRACE");
	key_wall = -1;
	if (!path || !*path || out)
		return;
	out = fopen(path, "w");
	t0 = now(CLOCK_MONOTONIC);
}

void trace_key(int key, bool is_key)
{
	if (!out)
		return;
	key_wall = now(CLOCK_MONOTONIC);
	key_cpu = now(CLOCK_THREAD_CPUTIME_ID);
	const char *k = is_key ? keyname(key) : NULL;
	if (k)
		snprintf(key_label, sizeof key_label, "%s", k);
	else if (key == '\t' || key == '\r' || key == '\n' || key == 27 || key == 127)
		snprintf(key_label, sizeof key_label, "%s",
		         key == '\t'  ? "Tab"
		         : key == 27  ? "Esc"
		         : key == 127 ? "BS"
		                      : "Enter");
	else if (key > 32 && key < 127)
		snprintf(key_label, sizeof key_label, "%c", key);
	else
		snprintf(key_label, sizeof key_label, "code%d", key);
}

static double poll_wall, poll_cpu;

void trace_poll_start(void)
{
	if (!out)
		return;
	poll_wall = now(CLOCK_MONOTONIC);
	poll_cpu = now(CLOCK_THREAD_CPUTIME_ID);
}

void trace_poll_end(bool landed)
{
	if (!out || !landed || key_wall >= 0)
		return; /* a key's own frame counts the jobs that landed with it */
	key_wall = poll_wall;
	key_cpu = poll_cpu;
	snprintf(key_label, sizeof key_label, "(job)");
}

void trace_frame(bool ready)
{
	if (!out)
		return;
	double w = now(CLOCK_MONOTONIC), c = now(CLOCK_THREAD_CPUTIME_ID);
	if (!first_done) {
		first_done = true;
		fprintf(out, "first-frame wall_ms=%.1f ui_cpu_ms=%.1f ready=%d\n", (w - t0) * 1e3,
		        c * 1e3, ready ? 1 : 0);
	}
	if (ready && !ready_done) {
		ready_done = true;
		fprintf(out, "ready-frame wall_ms=%.1f ui_cpu_ms=%.1f\n", (w - t0) * 1e3, c * 1e3);
	}
	if (key_wall >= 0) {
		bool job = key_label[0] == '(';
		fprintf(out, "%s%s ui_ms=%.2f ui_cpu_ms=%.2f\n", job ? "job" : "key ",
		        job ? "" : key_label, (w - key_wall) * 1e3, (c - key_cpu) * 1e3);
		key_wall = -1;
	}
	fflush(out);
}

void trace_event(const char *what)
{
	if (!out)
		return;
	fprintf(out, "%s wall_ms=%.1f\n", what, (now(CLOCK_MONOTONIC) - t0) * 1e3);
	fflush(out);
}

void trace_end(void)
{
	if (out)
		fclose(out);
	out = NULL;
}
