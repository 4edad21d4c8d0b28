/*
 * neurons_pass.c — one pass of a neurons computation over a list of rows, on threads.
 *
 * The rows are split into one contiguous range per thread; each thread keeps its own
 * accumulators (struct worker) and the caller merges them in range order at the end, so that a
 * result does not depend on which thread finished first. The calling thread runs the first range
 * itself; a range whose thread could not be started runs there too, afterwards.
 */
#include "nncmp/neurons_internal.h"

#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nncmp/fault.h"

#define BLOCK_BYTES        (256u * 1024) /* rows per block: about this many bytes of float32 */
#define MAX_THREADS        64
#define AUTO_THREAD_VALUES (1u << 20) /* auto threads: at least this many values per thread */

static size_t round8(size_t h)
{
	return (h + 7) & ~(size_t)7;
}

void neurons_worker_init(struct worker *w, const struct job *job)
{
	size_t hp = job->hp;
	memset(w, 0, sizeof *w);
	w->job = job;
	w->n = xcalloc(hp, sizeof *w->n);
	w->dead = xcalloc(hp, sizeof *w->dead);
	w->mean = xcalloc(hp, sizeof *w->mean);
	w->m2 = xcalloc(hp, sizeof *w->m2);
	w->shift = xcalloc(hp, sizeof *w->shift);
	w->s1 = xcalloc(hp, sizeof *w->s1);
	w->s2 = xcalloc(hp, sizeof *w->s2);
	w->c = xcalloc(hp, sizeof *w->c);
	w->dz = xcalloc(hp, sizeof *w->dz);
	if (job->pass == PASS_MOMENTS) {
		w->mn = xreallocarray(NULL, hp, sizeof *w->mn);
		w->mx = xreallocarray(NULL, hp, sizeof *w->mx);
		w->mn_save = xreallocarray(NULL, hp, sizeof *w->mn_save);
		w->mx_save = xreallocarray(NULL, hp, sizeof *w->mx_save);
		w->thr = xreallocarray(NULL, hp, sizeof *w->thr);
		for (size_t j = 0; j < hp; j++) {
			w->mn[j] = INFINITY;
			w->mx[j] = -INFINITY;
			w->thr[j] = j < job->h ? -INFINITY : INFINITY;
		}
		w->top_val = xreallocarray(NULL, job->h * job->k, sizeof *w->top_val);
		w->top_idx = xreallocarray(NULL, job->h * job->k, sizeof *w->top_idx);
		w->top_n = xcalloc(job->h, sizeof *w->top_n);
	}
	if (job->grid)
		neurons_hist_worker_init(w, job->grid, job->first_lo, job->first_hi);
	if (!job->direct)
		w->buf = xreallocarray(NULL, job->block * job->h, sizeof *w->buf);
	if (job->fd >= 0) {
		w->raw = xreallocarray(NULL, READ_SPAN * job->block, job->row_bytes);
		w->at = xreallocarray(NULL, job->block, sizeof *w->at);
	}
	w->rowp = xreallocarray(NULL, job->block, sizeof *w->rowp);
	w->hit = xcalloc(job->block, 1);
}

void neurons_worker_free(struct worker *w)
{
	free(w->n);
	free(w->dead);
	free(w->mean);
	free(w->m2);
	free(w->shift);
	free(w->s1);
	free(w->s2);
	free(w->c);
	free(w->dz);
	free(w->mn);
	free(w->mx);
	free(w->mn_save);
	free(w->mx_save);
	free(w->thr);
	free(w->top_val);
	free(w->top_idx);
	free(w->top_n);
	free(w->s16);
	free(w->s32);
	free(w->s_tmp);
	free(w->s_at);
	free(w->hist);
	free(w->raw);
	free(w->at);
	free(w->buf);
	free(w->rowp);
	free(w->hit);
}

/* Merges (nb, mb, m2b) into (*n, *mean, *m2): the parallel formula of Chan, Golub and LeVeque. */
void neurons_chan_merge(uint64_t *n, double *mean, double *m2, uint64_t nb, double mb, double m2b)
{
	if (nb == 0)
		return;
	if (*n == 0) {
		*n = nb;
		*mean = mb;
		*m2 = m2b;
		return;
	}
	double na = (double)*n, nbd = (double)nb, tot = na + nbd;
	double delta = mb - *mean;
	*mean += delta * (nbd / tot);
	*m2 += m2b + delta * delta * (na * nbd / tot);
	*n += nb;
}

/*
 * A worker's range, block by block; stops at the next block once cancel is set, and at once
 * when reading the mapping faults (the file was truncated or rewritten in place): the block
 * functions work in the worker's own arrays, so nothing is lost by jumping out of them.
 */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	const struct job *job = w->job;
	struct fault_guard g;
	fault_push(&g);
	if (sigsetjmp(g.env, 1) != 0) {
		w->faulted = true;
		return NULL;
	}
	w->use_pread = job->fd >= 0 && w->p0 < w->p1 && !neurons_rows_mapped(w);
	for (size_t pos = w->p0; pos < w->p1;) {
		if (job->prog && atomic_load_explicit(&job->prog->cancel, memory_order_relaxed)) {
			w->cancelled = true;
			break;
		}
		size_t nr = w->p1 - pos < job->block ? w->p1 - pos : job->block;
		neurons_rows_fetch(w, pos, nr);
		neurons_block_run(w, pos, nr);
		if (job->prog)
			atomic_fetch_add_explicit(&job->prog->done, nr, memory_order_relaxed);
		pos += nr;
	}
	fault_pop(&g);
	return NULL;
}

unsigned neurons_auto_threads(size_t rows, size_t h, unsigned asked)
{
	size_t t = asked;
	if (t == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		t = cpus > 0 ? (size_t)cpus : 1;
		size_t values = rows * h / AUTO_THREAD_VALUES;
		if (t > values)
			t = values ? values : 1;
	}
	if (t > MAX_THREADS)
		t = MAX_THREADS;
	if (t > rows)
		t = rows ? rows : 1;
	return (unsigned)t;
}

/*
 * Runs one pass on t threads (the calling thread is one of them). Returns true, or false with
 * err "cancelled", "PATH changed on disk while open; reopen the study" or "PATH: rows could not
 * be read (damaged data?)".
 */
bool neurons_run_pass(struct worker *ws, unsigned t, struct nn_err *err)
{
	const struct job *job = ws[0].job;
	for (unsigned i = 0; i < t; i++) {
		ws[i].p0 = job->n_rows * i / t;
		ws[i].p1 = job->n_rows * (i + 1) / t;
	}
	pthread_t tid[MAX_THREADS];
	unsigned started = 0;
	for (unsigned i = 1; i < t; i++) {
		if (pthread_create(&tid[i], NULL, worker_run, &ws[i]) != 0)
			break;
		started = i;
	}
	/* threads that could not be started: their ranges run here, after the first */
	worker_run(&ws[0]);
	for (unsigned i = started + 1; i < t; i++)
		worker_run(&ws[i]);
	for (unsigned i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
	for (unsigned i = 0; i < t; i++)
		if (ws[i].faulted) {
			nn_err_set(err, FAULT_CHANGED, job->act->path);
			return false;
		}
	for (unsigned i = 0; i < t; i++)
		if (ws[i].cancelled) {
			nn_err_set(err, "cancelled");
			return false;
		}
	/* a failed read of a chunked dataset gave NaN rows: an error, not statistics of NaN */
	return npy_read_error(job->act, err) == 0;
}

void neurons_job_init(struct job *job, const struct npy *act, enum pass pass,
                      const struct neurons_opts *opt, struct nn_progress *prog)
{
	memset(job, 0, sizeof *job);
	job->act = act;
	job->pass = pass;
	job->h = act->cols;
	job->hp = round8(act->cols);
	const struct npy_header *hd = &act->h;
	job->direct = npy_contiguous(act) && hd->kind == NPY_FLOAT && hd->itemsize == 4 &&
	              !hd->swap && (!hd->fortran || act->cols == 1) &&
	              (uintptr_t)act->data % 4 == 0;
	size_t row_bytes = act->cols * sizeof(float);
	job->block = row_bytes ? BLOCK_BYTES / row_bytes : 4096;
	job->block = job->block < 16 ? 16 : job->block > 4096 ? 4096 : job->block;
	if (opt && opt->block_rows)
		job->block = opt->block_rows < 4096 ? opt->block_rows : 4096;
	job->prog = prog;
	job->row_bytes = act->cols * hd->itemsize;
	/* a scan of every row reads through the mapping where that is cheap, else with pread;
	 * other passes read through the mapping, a column gather sets it (neurons_read.c) */
	job->fd = pass == PASS_MOMENTS && !npy_map_cheap(act) ? npy_file_fd(act) : -1;
}

void neurons_job_done(struct job *job)
{
	if (job->fd >= 0)
		close(job->fd);
	job->fd = -1;
}
