/* linalg.c — BLAS and LAPACK behind one lock (see linalg.h for why). */
#include "nncmp/linalg.h"

#include <cblas.h>
#include <float.h>
#include <limits.h>
#include <lapacke.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "nncmp/util.h"

static pthread_mutex_t blas_lock = PTHREAD_MUTEX_INITIALIZER;

/* Set in the threads of a linalg_parallel() section: their calls run BLAS single-threaded in the
 * calling thread, without the lock (the section holds it). */
static _Thread_local bool in_section;

static void lock(void)
{
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
	if (threads <= 0) {
		const char *env = getenv("OPENBLAS_NUM_THREADS");
		if (env && atoi(env) > 0) {
			threads = atoi(env);
		} else {
			long cpus = sysconf(_SC_NPROCESSORS_ONLN);
			threads = cpus > 0 && cpus < INT_MAX ? (int)cpus : 1;
		}
	}
	pthread_mutex_lock(&blas_lock);
	openblas_set_num_threads(threads);
	pthread_mutex_unlock(&blas_lock);
}

int linalg_threads(void)
{
	pthread_mutex_lock(&blas_lock);
	int n = openblas_get_num_threads();
	pthread_mutex_unlock(&blas_lock);
	return n;
}

void linalg_sgemm(bool ta, bool tb, size_t m, size_t n, size_t k, float alpha, const float *a,
                  size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
	if (m == 0 || n == 0)
		return;
	lock();
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
	            dim(m), dim(n), dim(k), alpha, a, dim(lda), b, dim(ldb), beta, c, dim(ldc));
	unlock();
}

void linalg_dgemm(bool ta, bool tb, size_t m, size_t n, size_t k, double alpha, const double *a,
                  size_t lda, const double *b, size_t ldb, double beta, double *c, size_t ldc)
{
	if (m == 0 || n == 0)
		return;
	lock();
	cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
	            dim(m), dim(n), dim(k), alpha, a, dim(lda), b, dim(ldb), beta, c, dim(ldc));
	unlock();
}

void linalg_ssyrk_t(size_t n, size_t k, float alpha, const float *a, size_t lda, float beta,
                    float *c, size_t ldc)
{
	if (n == 0)
		return;
	lock();
	cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, dim(n), dim(k), alpha, a, dim(lda), beta,
	            c, dim(ldc));
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
	pthread_mutex_lock(&blas_lock);
	int pool = openblas_get_num_threads();
	openblas_set_num_threads(1);
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
	openblas_set_num_threads(pool);
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
	pthread_mutex_lock(&blas_lock);
	/* indices il..iu (1-based, ascending) select the k largest */
	lapack_int info =
	    LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', dim(n), a, dim(n), 0.0, 0.0,
	                   dim(n - k + 1), dim(n), DBL_MIN, &found, wall, z, dim(k), isuppz);
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
