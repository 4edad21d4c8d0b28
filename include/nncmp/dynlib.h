/*
 * dynlib.h — a shared library loaded on first use (dlopen), its functions in a table (dlsym).
 *
 * libhdf5 and libzip with what they pull in (curl, ssl, krb5, ldap ...) are 34 libraries whose
 * loading and relocation cost every nncmp command ~9 ms of CPU at start-up, while most commands
 * never read an HDF5 file or an .npz archive. h5.c and npz.c therefore keep their library's
 * header for the types and prototypes, and call it through a table that dynlib_load() fills the
 * first time a study needs the file. The soname comes from the build (the Makefile reads the
 * SONAME of the library that pkg-config's flags would link), so it is the library the headers
 * describe.
 *
 * A library, once loaded, is never closed. Loading is serialized by one lock, which is also
 * held across fork() (pthread_atfork), so that a child forked by another thread never inherits
 * the dynamic loader's lock taken (guard.c's children may themselves dlopen HDF5 plugins).
 */
#ifndef NNCMP_DYNLIB_H
#define NNCMP_DYNLIB_H

#include <stdbool.h>
#include <stddef.h>

#include "nncmp/util.h"

/*
 * One symbol: its name and the address of the pointer that receives it (a function pointer or
 * a pointer to a variable, of the symbol's own type; written with memcpy).
 */
struct dynlib_sym {
	const char *name;
	void *slot;
};

/* A library: its soname, its symbols, and what the first load found (set by dynlib_load). */
struct dynlib {
	const char *soname;
	const char *what; /* for messages: "libhdf5" */
	const struct dynlib_sym *syms;
	size_t nsyms;
	/* its symbols serve the libraries loaded after it (RTLD_GLOBAL): OpenBLAS's LAPACK for
	 * LAPACKE's calls, as when it was linked, rather than whichever liblapack.so.3 is installed
	 */
	bool global;
	bool tried, ok;
	char why[NN_ERR_MAX / 2]; /* dlerror() of a failed load */
};

/*
 * Loads lib (once: later calls return what the first found) and fills every symbol's slot.
 * Returns 0, or -1 with err "NAME: WHAT (SONAME) could not be loaded: REASON". Thread-safe.
 */
int dynlib_load(struct dynlib *lib, const char *name, struct nn_err *err);

#endif
