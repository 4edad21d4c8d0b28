/*
 * test_worker.c — the TUI worker's hold (worker_hold/worker_release): while held no queued job
 * starts, and worker_hold says whether a job that started before is still running. A decision
 * changes the study's labels only when nothing on the worker reads them (triage_applied).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <time.h>

#include "../../src/tui/worker.h"

struct flag_job {
	atomic_int started, finished;
	atomic_bool go; /* run() waits for it (or its cancellation) */
};

static int flag_run(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	(void)err;
	struct flag_job *f = ctx;
	atomic_store(&f->started, 1);
	while (!atomic_load(&f->go) && !atomic_load(&prog->cancel)) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	atomic_store(&f->finished, 1);
	return 0;
}

/* Waits up to 5 s for *v to become 1. */
static bool wait_for(atomic_int *v)
{
	for (int t = 0; t < 5000 && !atomic_load(v); t++) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return atomic_load(v) == 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static void test_hold_idle(void **state)
{
	(void)state;
	struct worker *w = worker_new();
	assert_non_null(w);
	assert_false(worker_hold(w)); /* nothing running */
	static struct flag_job f;
	atomic_store(&f.go, true);
	struct job j = {.tag = JOB_OTHER, .ctx = &f, .run = flag_run};
	worker_submit(w, &j);
	sleep_ms(200);
	assert_int_equal(atomic_load(&f.started), 0); /* held: it waits in the queue */
	worker_release(w);
	assert_true(wait_for(&f.finished));
	worker_free(w);
}

static void test_hold_running(void **state)
{
	(void)state;
	struct worker *w = worker_new();
	static struct flag_job a, b;
	atomic_store(&b.go, true);
	struct job ja = {.tag = JOB_NEURONS, .ctx = &a, .run = flag_run};
	struct job jb = {.tag = JOB_VIEW, .ctx = &b, .run = flag_run};
	worker_submit(w, &ja);
	assert_true(wait_for(&a.started));
	assert_true(worker_hold(w)); /* a is still running */
	worker_submit(w, &jb);
	atomic_store(&a.go, true);
	assert_true(wait_for(&a.finished));
	sleep_ms(200);
	assert_int_equal(atomic_load(&b.started), 0); /* b does not start while held */
	for (int t = 0; t < 5000 && worker_hold(w); t++)
		sleep_ms(1); /* a's node leaves the worker's running slot right after run() */
	assert_false(worker_hold(w));
	worker_release(w);
	assert_true(wait_for(&b.finished));
	worker_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hold_idle),
	    cmocka_unit_test(test_hold_running),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
