/*
 * fault.h — surviving a mapped file that changes under us, and a last word before a fatal
 * signal.
 *
 * Matrices are memory-mapped (npy.h). When another program truncates or rewrites such a file
 * in place, reading a page that is no longer backed by the file raises SIGBUS in the thread
 * that reads it. Code that reads mappings guards the read:
 *
 *     struct fault_guard g;
 *     fault_push(&g);
 *     if (sigsetjmp(g.env, 1) != 0) {
 *             // the guard is already popped; g.addr is the address that faulted
 *             return nn_err_set(err, FAULT_CHANGED, path_of_what_was_read);
 *     }
 *     ... read the mapping ...
 *     fault_pop(&g);
 *
 * Guards are per thread (thread-local), nest, and must be popped in the function that pushed
 * them (on every path that leaves it normally). Whatever the guarded code allocated is lost on
 * a fault, so guards go around code that works in buffers owned outside them.
 *
 * A SIGBUS with no guard, and SIGSEGV, SIGFPE, SIGILL and SIGABRT, are fatal: the hook set with
 * fault_on_fatal() runs first (it must be async-signal-safe: the TUI writes the bytes that
 * restore the terminal), then the signal takes its previous course (the default action, or a
 * sanitizer's report).
 */
#ifndef NNCMP_FAULT_H
#define NNCMP_FAULT_H

#include <setjmp.h>
#include <stddef.h>

struct fault_guard {
	sigjmp_buf env;
	struct fault_guard *prev;
	void *addr; /* set on a fault: the address that could not be read */
};

/* Installs the signal handlers (once per process; later calls do nothing). */
void fault_install(void);
/* Sets (NULL: clears) the hook run on a fatal signal, before it proceeds. */
void fault_on_fatal(void (*hook)(int sig));
void fault_push(struct fault_guard *g);
void fault_pop(struct fault_guard *g);

/* The message of a read that faulted, for nn_err_set(err, FAULT_CHANGED, path). */
#define FAULT_CHANGED "%s changed on disk while open; reopen the study"

/*
 * The mapped files, so that a fault can be put down to its file: npy_map_file() adds each
 * mapping, npy_unmap() removes it. fault_map_path() copies into buf the path of the mapping
 * that holds addr and returns buf, or returns NULL when no mapping holds it. Thread-safe.
 */
void fault_map_add(const void *base, size_t len, const char *path);
void fault_map_remove(const void *base);
const char *fault_map_path(const void *addr, char *buf, size_t size);

#endif
