/*
 * test_worker.c — the TUI worker's hold (worker_hold/worker_release): while held no queued job
 * starts, and worker_hold says whether a job that started before is still running. A decision
 * changes the study's labels only when nothing on the worker reads them (triage_applied).
 * And the TUI's deferred derivation: a study opened with STUDY_DEFER_DERIVE, derived by a job
 * while this thread reads what the first screen reads (labels, ids), gives the same arrays as
 * study_open (run it under TSan too: the arrays are read only after worker_poll's done()).
 * And worker_dispose: a free() run on the worker thread, held or not, before the next job.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nncmp/study.h"

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

struct disposed {
	atomic_int ran;  /* how many times */
	atomic_int when; /* the order, among the disposals and jobs of a test */
	pthread_t thread;
};

static atomic_int order;

static void dispose_fn(void *ctx)
{
	struct disposed *d = ctx;
	d->thread = pthread_self();
	atomic_store(&d->when, atomic_fetch_add(&order, 1) + 1);
	atomic_fetch_add(&d->ran, 1);
}

static int order_run(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	(void)prog;
	(void)err;
	struct disposed *d = ctx;
	atomic_store(&d->when, atomic_fetch_add(&order, 1) + 1);
	atomic_fetch_add(&d->ran, 1);
	return 0;
}

static void test_dispose(void **state)
{
	(void)state;
	atomic_store(&order, 0);
	struct worker *w = worker_new();
	/* held, with a job queued: the disposal runs on the worker thread, and the job does not */
	static struct disposed d1, job;
	assert_false(worker_hold(w));
	struct job j = {.tag = JOB_OTHER, .ctx = &job, .run = order_run};
	worker_submit(w, &j);
	worker_dispose(w, dispose_fn, &d1);
	assert_true(wait_for(&d1.ran));
	assert_false(pthread_equal(d1.thread, pthread_self()));
	sleep_ms(100);
	assert_int_equal(atomic_load(&job.ran), 0);
	worker_release(w);
	assert_true(wait_for(&job.ran));
	assert_int_equal(atomic_load(&d1.when), 1);
	assert_int_equal(atomic_load(&job.when), 2);
	/* one that waits behind a running job runs before the job queued after it */
	static struct flag_job f;
	static struct disposed d2, next;
	struct job jf = {.tag = JOB_NEURONS, .ctx = &f, .run = flag_run};
	struct job jn = {.tag = JOB_VIEW, .ctx = &next, .run = order_run};
	worker_submit(w, &jf);
	assert_true(wait_for(&f.started));
	worker_submit(w, &jn);
	worker_dispose(w, dispose_fn, &d2);
	atomic_store(&f.go, true);
	assert_true(wait_for(&next.ran));
	assert_int_equal(atomic_load(&d2.ran), 1);
	assert_true(atomic_load(&d2.when) < atomic_load(&next.when));
	/* those still waiting when the worker is freed run then, once each */
	static struct flag_job g;
	static struct disposed d3;
	struct job jg = {.tag = JOB_NEURONS, .ctx = &g, .run = flag_run};
	worker_submit(w, &jg);
	assert_true(wait_for(&g.started));
	worker_dispose(w, dispose_fn, &d3);
	worker_free(w); /* cancels g, which ends; d3 runs on the worker or here */
	assert_int_equal(atomic_load(&d3.ran), 1);
	assert_int_equal(atomic_load(&d1.ran), 1);
	assert_int_equal(atomic_load(&d2.ran), 1);
}

static int derive_run(void *ctx, struct nn_progress *prog, struct nn_err *err)
{
	(void)prog;
	return study_derive(ctx, err);
}

static atomic_int derive_rc = -2;

static int derive_done(struct app *app, void *ctx, int rc, const struct nn_err *err)
{
	(void)app;
	(void)ctx;
	(void)err;
	atomic_store(&derive_rc, rc);
	return 0;
}

static void test_derive_on_worker(void **state)
{
	(void)state;
	setenv("NNCMP_CACHE", "0", 1); /* derived from the probabilities, not a cache */
	struct nn_err err = {{0}};
	struct study *ref = study_open("demo-data/digits", &err);
	assert_non_null(ref);
	struct study *s = study_open_ex("demo-data/digits", STUDY_DEFER_DERIVE, &err);
	assert_non_null(s);
	assert_int_equal(s->n, ref->n);
	for (size_t m = 0; m < s->n_models; m++)
		if (s->models[m].src != SRC_PRED)
			assert_null(s->models[m].d_pred); /* nothing derived yet */
	struct worker *w = worker_new();
	struct job j = {.tag = JOB_OTHER, .ctx = s, .run = derive_run, .done = derive_done};
	worker_submit(w, &j);
	/* what the first screen reads meanwhile: the labels and the ids */
	long sum = 0;
	for (int t = 0; t < 5000 && atomic_load(&derive_rc) == -2; t++) {
		for (size_t i = 0; i < s->n; i++)
			sum += s->labels[i] + (s->ids && s->ids[i] ? s->ids[i][0] : 0);
		worker_poll(w, NULL);
		sleep_ms(1);
	}
	assert_true(sum > 0);
	assert_int_equal(atomic_load(&derive_rc), 0);
	for (size_t m = 0; m < s->n_models; m++) {
		const struct model *a = &s->models[m], *b = &ref->models[m];
		assert_int_equal(a->id_size, b->id_size);
		assert_int_equal(a->val_size, b->val_size);
		for (size_t i = 0; i < s->n; i++) {
			assert_int_equal(model_pred(a, i), model_pred(b, i));
			if (a->src == SRC_PRED)
				continue;
			assert_int_equal(model_rank(a, i), model_rank(b, i));
			/* the same bits: derived by the same code from the same rows */
			assert_memory_equal(&(double){model_conf(a, i)},
			                    &(double){model_conf(b, i)}, sizeof(double));
			assert_memory_equal(&(double){model_margin(a, i)},
			                    &(double){model_margin(b, i)}, sizeof(double));
			assert_memory_equal(&(double){model_p_label(a, i)},
			                    &(double){model_p_label(b, i)}, sizeof(double));
		}
	}
	worker_free(w);
	study_free(s);
	study_free(ref);
	unsetenv("NNCMP_CACHE");
}

/* A study whose probabilities are bad opens deferred and is refused by study_derive. */
static void test_derive_refuses(void **state)
{
	(void)state;
	char dir[] = "/tmp/nncmp-derive-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char cmd[512];
	snprintf(cmd, sizeof cmd,
	         "mkdir -p %s/models/m && /usr/bin/python3 -c \"import numpy as np; "
	         "np.save('%s/labels.npy', np.array([0, 1])); "
	         "np.save('%s/models/m/probs.npy', np.array([[0.5, 0.5], [np.nan, 1]], "
	         "dtype=np.float32))\"",
	         dir, dir, dir);
	assert_int_equal(system(cmd), 0);
	struct nn_err err = {{0}};
	assert_null(study_open(dir, &err)); /* refused at open, as before */
	struct study *s = study_open_ex(dir, STUDY_DEFER_DERIVE, &err);
	assert_non_null(s);
	assert_int_equal(study_derive(s, &err), -1);
	assert_non_null(strstr(err.msg, "probs.npy: row 1"));
	study_free(s);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hold_idle),      cmocka_unit_test(test_hold_running),
	    cmocka_unit_test(test_dispose),        cmocka_unit_test(test_derive_on_worker),
	    cmocka_unit_test(test_derive_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
