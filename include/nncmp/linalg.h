/*
 * linalg.h — the thin wrapper around BLAS and LAPACK (OpenBLAS, LAPACKE). No other module includes
 * cblas.h or lapacke.h; everything dense goes through these few calls.
 *
 * The libraries are not linked but loaded on the first call (dynlib.h): with what they pull in
 * (libgfortran, LAPACK, libquadmath) their loading and relocation cost every command about 4 ms
 * at start-up, and most commands never multiply a matrix. A call that cannot load them ends the
 * process with the one-line reason and exit status 2; the TUI loads them at open instead
 * (linalg_load), on its worker, so as to say it before its screen is up.
 *
 * Threads: linalg_init(threads) sets OpenBLAS's thread count once, before the work starts (the
 * CLI with the number of online CPUs, the TUI with fewer, leaving room for its own threads).
 *
 * Concurrency policy: every call below takes one process-wide lock, so any thread may call them
 * and concurrent callers simply wait for each other. This is deliberate: Debian's OpenBLAS 0.3.21
 * (pthreads build) serializes its threaded level-3 driver with a lock that is private to each
 * compiled GEMM variant, so two GEMMs of different transposition or precision running at once
 * can corrupt each other (OpenBLAS issue #5836, fixed upstream only in 2026 by PR #5838), and
 * LAPACK running beside a GEMM has given wrong results too (issue #5825). One BLAS call already
 * uses every thread it was given, so serializing costs nothing in throughput.
 *
 * Matrices are row-major with explicit leading dimensions (elements per row of storage). The
 * dimensions must fit in an int (OpenBLAS's blasint); callers stream data in blocks, so they do.
 */
#ifndef NNCMP_LINALG_H
#define NNCMP_LINALG_H

#include <stdbool.h>
#include <stddef.h>

#include "nncmp/util.h"

/* Loads the libraries now, if not yet: 0, or -1 with err "linear algebra: libopenblas
 * (SONAME) could not be loaded: REASON". Thread-safe. */
int linalg_load(struct nn_err *err);
/*
 * Sets the number of BLAS threads (at the load, when they are not loaded yet; without a call
 * the pool has what OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS or OMP_NUM_THREADS says, else one
 * thread). threads <= 0 means the default: OPENBLAS_NUM_THREADS when the user set it in the
 * environment, else the number of online CPUs. May be called again (it waits for a running call to
 * finish), but is meant to be called once.
 */
void linalg_init(int threads);
/* The number of threads BLAS uses now. */
int linalg_threads(void);

/*
 * C = alpha · op(A) · op(B) + beta · C with op(A) m × k, op(B) k × n, C m × n, all row-major;
 * ta / tb say that A / B are stored transposed (A is then k × m with lda >= m).
 */
void linalg_sgemm(bool ta, bool tb, size_t m, size_t n, size_t k, float alpha, const float *a,
                  size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc);
void linalg_dgemm(bool ta, bool tb, size_t m, size_t n, size_t k, double alpha, const double *a,
                  size_t lda, const double *b, size_t ldb, double beta, double *c, size_t ldc);

/*
 * The upper triangle (j >= i) of C = alpha · Aᵀ·A + beta · C, C n × n, A k × n row-major: a Gram
 * matrix for half the work of a GEMM. The strictly lower triangle of C is left alone.
 */
void linalg_ssyrk_t(size_t n, size_t k, float alpha, const float *a, size_t lda, float beta,
                    float *c, size_t ldc);

/*
 * Runs fn(arg, i) for i = 0 .. threads-1 on that many threads at once (the caller runs i = 0; a
 * thread that cannot be created has its share run by the caller afterwards) and returns when all
 * have returned. Inside fn, linalg_sgemm(), linalg_dgemm() and linalg_ssyrk_t() run single-threaded
 * in the calling thread and concurrently: the BLAS-from-many-threads use OpenBLAS documents as
 * safe (its threaded level-3 driver, where issue #5836 lives, is not used with one thread). The
 * section holds the lock throughout, so no other caller's BLAS runs meanwhile, and sets OpenBLAS's
 * pool to one thread, restoring it at the end. This keeps every core busy with the work around
 * the products too (reading, shifting, summing) and spares the pool's spinning between calls.
 * fn must not call linalg_init(), linalg_threads(), linalg_eigh_top() or linalg_parallel().
 */
void linalg_parallel(unsigned threads, void (*fn)(void *arg, unsigned i), void *arg);

/*
 * The k largest eigenvalues of the symmetric n × n matrix a (row-major; only its upper triangle
 * is read, and it is overwritten) in descending order into w[k], and their unit eigenvectors as
 * the columns of v (n × k, row-major), in the same order. Signs are as LAPACK leaves them.
 * Returns 0, or -1 when LAPACK did not converge. 1 <= k <= n.
 */
int linalg_eigh_top(size_t n, double *a, size_t k, double *w, double *v);

#endif
