/*
 * util.h — allocation wrappers, error values and small helpers shared by every module.
 *
 * Allocation: the x* wrappers check size arithmetic for overflow and abort with a message on
 * out-of-memory; callers never test their result for NULL. Everything they return is owned by the
 * caller and released with free().
 *
 * Errors: functions that can fail on user input take a `struct nn_err *` and return -1 (or NULL),
 * having written one line into err->msg that names the file and the problem. They never print.
 */
#ifndef NNCMP_UTIL_H
#define NNCMP_UTIL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NN_ERR_MAX 512

/*
 * For the few loops written as fixed-width lanes (derive.c, issues.c, issues_cl.c): compiled
 * twice on x86-64, for the baseline and for AVX2, and the CPU's version is picked when the
 * program loads (GCC's and Clang's function multiversioning). The arithmetic is the same in both,
 * so are the results. Not under ThreadSanitizer, whose runtime is not ready when the ifunc
 * resolvers run (the program crashes as it loads).
 */
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__)) &&      \
    !defined(__SANITIZE_THREAD__)
#define NN_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NN_VECTOR_CLONES
#endif

/* True on a big-endian host (npy and HDF5 data say their byte order; the readers compare). */
static inline bool nn_host_big_endian(void)
{
	static const uint16_t one = 1;
	return *(const uint8_t *)&one == 0;
}

struct nn_err {
	char msg[NN_ERR_MAX];
};

/*
 * Progress of a long computation, shared with a caller on another thread (neurons.h, matrices.h,
 * similarity.h, project.h). The worker sets total before it starts and adds to done (rows; a
 * computation that reads N rows twice sets total to 2N) after every block; setting cancel makes it
 * stop at the next block and fail with the message "cancelled".
 */
struct nn_progress {
	atomic_size_t done;
	atomic_size_t total;
	atomic_bool cancel;
};

/* Writes a printf-style message into err (if err is not NULL); always returns -1. */
int nn_err_set(struct nn_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
/*
 * xcalloc for a large array filled right after (per-instance arrays of millions): asks the kernel
 * for transparent huge pages over it, so that filling it takes a few hundred page faults instead
 * of one per 4 KiB (a quarter of a reopened report's time at 1M). Freed with free().
 */
void *xcalloc_big(size_t nmemb, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated string formatted like printf. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sets *out = a * b; returns 0, or -1 when the product overflows size_t. */
int size_mul(size_t a, size_t b, size_t *out);

/* Joins a directory and a relative path; an absolute path is returned as a copy. */
char *path_join(const char *dir, const char *rel);
/* Returns the directory part of path ("." when it has none), newly allocated. */
char *path_dirname(const char *path);

/*
 * Opens path (flags: O_RDONLY or O_RDWR, optionally with O_NOFOLLOW) and makes sure it is a
 * regular file, without ever blocking on a FIFO or a device: the open is non-blocking, fstat()
 * checks the type, and O_NONBLOCK is cleared before the descriptor (close-on-exec) is returned.
 * Returns -1 with err "PATH: not a regular file", "PATH: is a directory, expected a file",
 * "PATH: is a symbolic link" (O_NOFOLLOW) or "PATH: <strerror>", errno kept from the failure.
 */
int nn_open_regular(const char *path, int flags, struct nn_err *err);
/* Reads len bytes at offset off of fd with pread(), again after EINTR and short reads; false on
 * an error or at the end of the file. */
bool nn_pread_full(int fd, void *buf, size_t len, uint64_t off);
/* The same as a stdio stream for reading ("r"); NULL with err set. */
FILE *nn_fopen_regular(const char *path, struct nn_err *err);

/* Reads a whole regular file into a NUL-terminated heap buffer of at most max bytes. */
char *file_read_all(const char *path, size_t max, size_t *len, struct nn_err *err);

/* The one copy of each small file-system helper (a file written whole is outfile.h's). */
/* Writes all len bytes to fd, again after EINTR and short writes; 0, or -1 with errno set. */
int write_all(int fd, const void *buf, size_t len);
/* Creates dir and its missing parents with mode; 0 when dir is a directory afterwards, else -1
 * with errno set (ENOTDIR when something else is there). */
int mkdir_p(const char *dir, unsigned mode);
/* fsyncs the directory that holds path (after a file in it was created or renamed); 0 or -1. */
int fsync_dir_of(const char *path);

/*
 * The per-study file $XDG_STATE_HOME/nncmp/SUBDIR/NAME-HASH.EXT (~/.local/state/... without
 * XDG_STATE_HOME) for a study whose own directory cannot be written: NAME is the study root's real
 * path with unsafe bytes as '_' (80 at most), HASH its FNV-1a. Caller frees; NULL without a home.
 */
char *state_path_keyed(const char *subdir, const char *root, const char *ext);

/* A growable array of strings (owned). */
struct strvec {
	char **v;
	size_t n, cap;
};
void strvec_push(struct strvec *sv, char *s);
void strvec_free(struct strvec *sv);

/* --color=WHEN, as ls and ripgrep take it: auto (a terminal, and NO_COLOR unset), always, never. */
enum colour_when { COLOUR_AUTO, COLOUR_ALWAYS, COLOUR_NEVER };

#endif
