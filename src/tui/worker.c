/*
 * worker.c — the TUI's background thread: a queue of jobs run one at a time, a list of finished
 * ones that the UI thread collects with worker_poll(). One mutex guards both lists and the
 * running job; the job itself runs unlocked.
 */
#include "worker.h"

#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nncmp/fault.h"

struct node {
	struct job job;
	struct nn_progress prog;
	struct nn_err err;
	int rc;
	bool dropped; /* replaced or cancelled while running: free without done() */
	struct node *next;
};

/* A free() to call on the worker thread (worker_dispose). */
struct disposal {
	void (*fn)(void *ctx);
	void *ctx;
	struct disposal *next;
};

struct worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct node *queue, *finished; /* queue in submission order; finished in any order */
	struct disposal *disposals;
	struct node *running;
	bool stop;
	bool held; /* worker_hold(): start no job */
};

static void node_free(struct node *n)
{
	if (n->job.free)
		n->job.free(n->job.ctx);
	free(n);
}

/*
 * Runs a job, turning a fault on a mapped file (truncated or rewritten under us: SIGBUS) into
 * its error "PATH changed on disk while open; reopen the study". The neurons passes catch their
 * own faults without losing anything; here, what the job had allocated is lost, which is the
 * price of not being killed.
 */
static int run_guarded(struct node *n)
{
	struct fault_guard g;
	fault_push(&g);
	if (sigsetjmp(g.env, 1) != 0) {
		char path[PATH_MAX];
		const char *p = fault_map_path(g.addr, path, sizeof path);
		return nn_err_set(&n->err, FAULT_CHANGED, p ? p : "a mapped file");
	}
	int rc = n->job.run(n->job.ctx, &n->prog, &n->err);
	fault_pop(&g);
	return rc;
}

static void run_disposals(struct disposal *d)
{
	while (d) {
		struct disposal *next = d->next;
		d->fn(d->ctx);
		free(d);
		d = next;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->stop && !w->disposals && (!w->queue || w->held))
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->stop)
			break;
		if (w->disposals) { /* first, and while held too: they read nothing but their own */
			struct disposal *d = w->disposals;
			w->disposals = NULL;
			pthread_mutex_unlock(&w->lock);
			run_disposals(d);
			pthread_mutex_lock(&w->lock);
			continue;
		}
		struct node *n = w->queue;
		w->queue = n->next;
		n->next = NULL;
		w->running = n;
		pthread_mutex_unlock(&w->lock);
		n->rc = run_guarded(n);
		pthread_mutex_lock(&w->lock);
		w->running = NULL;
		if (n->dropped || atomic_load(&n->prog.cancel)) {
			pthread_mutex_unlock(&w->lock);
			node_free(n);
			pthread_mutex_lock(&w->lock);
		} else {
			n->next = w->finished;
			w->finished = n;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct worker *worker_new(void)
{
	struct worker *w = xcalloc(1, sizeof *w);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return NULL;
	}
	return w;
}

/* With the lock held: drops the queued jobs of tag and cancels the running one. */
static void cancel_locked(struct worker *w, enum job_tag tag, struct node **freed)
{
	struct node **pp = &w->queue;
	while (*pp) {
		struct node *n = *pp;
		if (n->job.tag == tag) {
			*pp = n->next;
			n->next = *freed;
			*freed = n;
		} else {
			pp = &n->next;
		}
	}
	if (w->running && w->running->job.tag == tag) {
		w->running->dropped = true;
		atomic_store(&w->running->prog.cancel, true);
	}
	/* a finished job of this tag that the UI has not collected yet is stale too */
	pp = &w->finished;
	while (*pp) {
		struct node *n = *pp;
		if (n->job.tag == tag) {
			*pp = n->next;
			n->next = *freed;
			*freed = n;
		} else {
			pp = &n->next;
		}
	}
}

static void free_list(struct node *n)
{
	while (n) {
		struct node *next = n->next;
		node_free(n);
		n = next;
	}
}

void worker_cancel(struct worker *w, enum job_tag tag)
{
	struct node *freed = NULL;
	pthread_mutex_lock(&w->lock);
	cancel_locked(w, tag, &freed);
	pthread_mutex_unlock(&w->lock);
	free_list(freed); /* outside the lock: free() callbacks may be slow */
}

void worker_submit(struct worker *w, const struct job *job)
{
	struct node *n = xcalloc(1, sizeof *n);
	n->job = *job;
	struct node *freed = NULL;
	pthread_mutex_lock(&w->lock);
	cancel_locked(w, job->tag, &freed);
	struct node **pp = &w->queue;
	while (*pp)
		pp = &(*pp)->next;
	*pp = n;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	free_list(freed);
}

int worker_poll(struct worker *w, struct app *app)
{
	pthread_mutex_lock(&w->lock);
	struct node *done = w->finished;
	w->finished = NULL;
	pthread_mutex_unlock(&w->lock);
	/* oldest first: the list was built by pushing at the head */
	struct node *rev = NULL;
	while (done) {
		struct node *next = done->next;
		done->next = rev;
		rev = done;
		done = next;
	}
	int flags = 0;
	while (rev) {
		struct node *next = rev->next;
		if (rev->job.done)
			flags |= rev->job.done(app, rev->job.ctx, rev->rc, &rev->err);
		node_free(rev);
		rev = next;
	}
	return flags;
}

void worker_dispose(struct worker *w, void (*fn)(void *ctx), void *ctx)
{
	struct disposal *d = xcalloc(1, sizeof *d);
	d->fn = fn;
	d->ctx = ctx;
	pthread_mutex_lock(&w->lock);
	d->next = w->disposals;
	w->disposals = d;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

bool worker_hold(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	w->held = true;
	bool running = w->running != NULL;
	pthread_mutex_unlock(&w->lock);
	return running;
}

void worker_release(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	w->held = false;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

bool worker_busy(struct worker *w, char *what, size_t size, double *fraction)
{
	pthread_mutex_lock(&w->lock);
	bool busy = w->running != NULL || w->queue != NULL;
	struct node *n = w->running ? w->running : w->queue;
	if (n && what && size)
		snprintf(what, size, "%s", n->job.what);
	if (fraction) {
		*fraction = -1;
		if (w->running) {
			size_t t = atomic_load(&w->running->prog.total);
			size_t d = atomic_load(&w->running->prog.done);
			if (t)
				*fraction = d >= t ? 1.0 : (double)d / (double)t;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return busy;
}

/* The milliseconds the variable name says (0 when unset or out of range). */
static long test_ms(const char *name)
{
	const char *v = getenv(name);
	long ms = v ? strtol(v, NULL, 10) : 0;
	return ms > 0 && ms < 600000 ? ms : 0;
}

static long test_delay_ms(void)
{
	return test_ms("NNCMP_TEST_DELAY_MS");
}

void worker_test_sleep(const char *name)
{
	long ms = test_ms(name);
	if (ms)
		nanosleep(&(struct timespec){ms / 1000, ms % 1000 * 1000000L}, NULL);
}

bool worker_test_delayed(void)
{
	return test_delay_ms() > 0;
}

int worker_test_delay(struct nn_progress *prog)
{
	for (long ms = test_delay_ms(); ms > 0; ms -= 10) {
		if (prog && atomic_load(&prog->cancel))
			return -1;
		struct timespec ts = {0, (ms < 10 ? ms : 10) * 1000000L};
		nanosleep(&ts, NULL);
	}
	return 0;
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	struct node *freed = NULL;
	pthread_mutex_lock(&w->lock);
	for (int t = 0; t < JOB_TAG_COUNT; t++)
		cancel_locked(w, (enum job_tag)t, &freed);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	run_disposals(w->disposals); /* those the thread had not reached */
	free_list(freed);
	free_list(w->finished);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
