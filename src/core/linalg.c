/* linalg.c — BLAS and LAPACK behind one lock (see linalg.h for why), loaded on first use. */
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#include "nncmp/linalg.h"

#include <cblas.h>
#include <float.h>
#include <limits.h>
#include <lapacke.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "nncmp/dynlib.h"
#include "nncmp/util.h"

#ifndef NNCMP_BLAS_SONAME
#error "NNCMP_BLAS_SONAME and NNCMP_LAPACKE_SONAME must be defined by the build"
#endif
_Static_assert(sizeof NNCMP_BLAS_SONAME > 1 && sizeof NNCMP_LAPACKE_SONAME > 1,
               "the build found no shared libopenblas or liblapacke (Makefile: BLAS_SONAME)");

/* the functions called, through tables that linalg_load() fills (dynlib.h) */
/* clang-format off */
#define BLAS_SYMS(X) \
	X(cblas_sgemm) X(cblas_dgemm) X(cblas_ssyrk) X(openblas_set_num_threads) \
	X(openblas_get_num_threads)
#define LAPACKE_SYMS(X) X(LAPACKE_dsyevr)
/* clang-format on */
#define SLOT(f) __typeof__(f) *f;
static struct {
	BLAS_SYMS(SLOT)
} blas;
static struct {
	LAPACKE_SYMS(SLOT)
} lapacke;
#define BLAS_SYM(f)    {#f, &blas.f},
#define LAPACKE_SYM(f) {#f, &lapacke.f},
static const struct dynlib_sym blas_syms[] = {BLAS_SYMS(BLAS_SYM)};
static const struct dynlib_sym lapacke_syms[] = {LAPACKE_SYMS(LAPACKE_SYM)};
static struct dynlib blas_lib = {.soname = NNCMP_BLAS_SONAME,
                                 .what = "libopenblas",
                                 .syms = blas_syms,
                                 .nsyms = sizeof blas_syms / sizeof blas_syms[0],
                                 .global = true};
static struct dynlib lapacke_lib = {.soname = NNCMP_LAPACKE_SONAME,
                                    .what = "liblapacke",
                                    .syms = lapacke_syms,
                                    .nsyms = sizeof lapacke_syms / sizeof lapacke_syms[0]};

static pthread_mutex_t blas_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool loaded;
static int want_threads; /* linalg_init's, applied at the load (0: none asked for); blas_lock */

/* Set in the threads of a linalg_parallel() section: their calls run BLAS single-threaded in the
 * calling thread, without the lock (the section holds it). */
static _Thread_local bool in_section;

/* Under blas_lock: the thread count linalg_init asked for, or the default for threads <= 0. */
static void apply_threads(void)
{
	if (!want_threads)
		return;
	int threads = want_threads;
	if (threads < 0) {
		const char *env = getenv("OPENBLAS_NUM_THREADS");
		if (env && atoi(env) > 0) {
			threads = atoi(env);
		} else {
			long cpus = sysconf(_SC_NPROCESSORS_ONLN);
			threads = cpus > 0 && cpus < INT_MAX ? (int)cpus : 1;
		}
	}
	blas.openblas_set_num_threads(threads);
}

/*
 * OpenBLAS starts its thread pool when it loads, one thread per CPU the loading thread may run
 * on unless OPENBLAS_NUM_THREADS (or GOTO_NUM_THREADS, OMP_NUM_THREADS) says otherwise, and the
 * pool spins for about 0.1 s: on a 2-CPU machine a fifth of a short command's time. So when the
 * user has not chosen a size, the loading thread runs on one CPU while it loads, which sizes the
 * pool to one, and gets its CPUs back after; linalg_init() raises the pool for the commands that
 * multiply large matrices.
 */
int linalg_load(struct nn_err *err)
{
	if (atomic_load(&loaded))
		return 0;
	pthread_mutex_lock(&blas_lock);
	cpu_set_t all;
	bool narrowed = false;
	if (!blas_lib.tried && !getenv("OPENBLAS_NUM_THREADS") && !getenv("GOTO_NUM_THREADS") &&
	    !getenv("OMP_NUM_THREADS") && sched_getaffinity(0, sizeof all, &all) == 0 &&
	    CPU_COUNT(&all) > 1) {
		cpu_set_t one;
		CPU_ZERO(&one);
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &all)) {
				CPU_SET(c, &one);
				break;
			}
		narrowed = sched_setaffinity(0, sizeof one, &one) == 0;
	}
	int rc = dynlib_load(&blas_lib, "linear algebra", err);
	if (rc == 0) /* narrowed too: what it loads may start a pool of its own */
		rc = dynlib_load(&lapacke_lib, "linear algebra", err);
	if (narrowed)
		sched_setaffinity(0, sizeof all, &all);
	if (rc == 0 && !atomic_load(&loaded)) {
		apply_threads();
		atomic_store(&loaded, true);
	}
	pthread_mutex_unlock(&blas_lock);
	return rc;
}

/* Before any call into the libraries: loads them, or ends the process saying why (exit status 2:
 * the installation lacks them; the TUI loads them at open with linalg_load, so as to say it
 * before its screen is up). */
static void need(void)
{
	if (atomic_load(&loaded))
		return;
	struct nn_err err = {{0}};
	if (linalg_load(&err) < 0) {
		fprintf(stderr, "nncmp: %s\n", err.msg);
		fflush(stderr);
		_exit(2); /* from any thread, with nothing of the command's half done flushed */
	}
}

static void lock(void)
{
	need();
	if (!in_section)
		pthread_mutex_lock(&blas_lock);
}

static void unlock(void)
{
	if (!in_section)
		pthread_mutex_unlock(&blas_lock);
}

/* A dimension as BLAS takes it; larger ones are a caller's bug (they stream in blocks). */
static blasint dim(size_t v)
{
	if (v > INT_MAX) {
		fprintf(stderr, "nncmp: linalg: dimension %zu exceeds BLAS's int\n", v);
		abort();
	}
	return (blasint)v;
}

void linalg_init(int threads)
{
	pthread_mutex_lock(&blas_lock);
	want_threads = threads > 0 ? threads : -1;
	if (atomic_load(&loaded))
		apply_threads();
	pthread_mutex_unlock(&blas_lock);
}

int linalg_threads(void)
{
	need();
	pthread_mutex_lock(&blas_lock);
	int n = blas.openblas_get_num_threads();
	pthread_mutex_unlock(&blas_lock);
	return n;
}

void linalg_sgemm(bool ta, bool tb, size_t m, size_t n, size_t k, float alpha, const float *a,
                  size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
	if (m == 0 || n == 0)
		return;
	lock();
	blas.cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
	                 tb ? CblasTrans : CblasNoTrans, dim(m), dim(n), dim(k), alpha, a, dim(lda),
	                 b, dim(ldb), beta, c, dim(ldc));
	unlock();
}

void linalg_dgemm(bool ta, bool tb, size_t m, size_t n, size_t k, double alpha, const double *a,
                  size_t lda, const double *b, size_t ldb, double beta, double *c, size_t ldc)
{
	if (m == 0 || n == 0)
		return;
	lock();
	blas.cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
	                 tb ? CblasTrans : CblasNoTrans, dim(m), dim(n), dim(k), alpha, a, dim(lda),
	                 b, dim(ldb), beta, c, dim(ldc));
	unlock();
}

void linalg_ssyrk_t(size_t n, size_t k, float alpha, const float *a, size_t lda, float beta,
                    float *c, size_t ldc)
{
	if (n == 0)
		return;
	lock();
	blas.cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, dim(n), dim(k), alpha, a, dim(lda),
	                 beta, c, dim(ldc));
	unlock();
}

struct member {
	void (*fn)(void *arg, unsigned i);
	void *arg;
	unsigned i;
};

static void *member_main(void *p)
{
	struct member *m = p;
	in_section = true;
	m->fn(m->arg, m->i);
	in_section = false;
	return NULL;
}

void linalg_parallel(unsigned threads, void (*fn)(void *arg, unsigned i), void *arg)
{
	if (threads == 0)
		threads = 1;
	need();
	pthread_mutex_lock(&blas_lock);
	int pool = blas.openblas_get_num_threads();
	blas.openblas_set_num_threads(1);
	struct member *m = xcalloc(threads, sizeof *m);
	pthread_t *tid = xcalloc(threads, sizeof *tid);
	bool *started = xcalloc(threads, sizeof *started);
	for (unsigned i = 1; i < threads; i++) {
		m[i] = (struct member){fn, arg, i};
		started[i] = pthread_create(&tid[i], NULL, member_main, &m[i]) == 0;
	}
	in_section = true;
	fn(arg, 0);
	/* a thread that could not start: its share runs here, after the caller's */
	for (unsigned i = 1; i < threads; i++)
		if (!started[i])
			fn(arg, i);
	in_section = false;
	for (unsigned i = 1; i < threads; i++)
		if (started[i])
			pthread_join(tid[i], NULL);
	blas.openblas_set_num_threads(pool);
	pthread_mutex_unlock(&blas_lock);
	free(m);
	free(tid);
	free(started);
}

int linalg_eigh_top(size_t n, double *a, size_t k, double *w, double *v)
{
	if (k == 0 || k > n)
		return -1;
	double *wall = xcalloc(n, sizeof *wall); /* dsyevr uses all n entries */
	double *z = xcalloc(n * k, sizeof *z);
	lapack_int *isuppz = xcalloc(2 * k, sizeof *isuppz);
	lapack_int found = 0;
	need();
	pthread_mutex_lock(&blas_lock);
	/* indices il..iu (1-based, ascending) select the k largest */
	lapack_int info = lapacke.LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', dim(n), a, dim(n),
	                                         0.0, 0.0, dim(n - k + 1), dim(n), DBL_MIN, &found,
	                                         wall, z, dim(k), isuppz);
	pthread_mutex_unlock(&blas_lock);
	int rc = info == 0 && (size_t)found == k ? 0 : -1;
	if (rc == 0)
		for (size_t c = 0; c < k; c++) {
			w[c] = wall[k - 1 - c];
			for (size_t r = 0; r < n; r++)
				v[r * k + c] = z[r * k + (k - 1 - c)];
		}
	free(wall);
	free(z);
	free(isuppz);
	return rc;
}
