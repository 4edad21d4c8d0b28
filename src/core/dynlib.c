/* dynlib.c — a shared library loaded on first use, its symbols resolved into a table. */
#include "nncmp/dynlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t dynlib_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t dynlib_once = PTHREAD_ONCE_INIT;

static void lock_for_fork(void)
{
	pthread_mutex_lock(&dynlib_lock);
}

static void unlock_after_fork(void)
{
	pthread_mutex_unlock(&dynlib_lock);
}

/* No fork while a thread is inside dlopen (the child would inherit the loader's lock taken). */
static void register_fork_handlers(void)
{
	pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork);
}

/* dlopen and dlsym of every symbol; false with lib->why set. Under dynlib_lock. */
static bool load_locked(struct dynlib *lib)
{
	dlerror();
	void *h = dlopen(lib->soname, RTLD_NOW | (lib->global ? RTLD_GLOBAL : RTLD_LOCAL));
	if (!h) {
		const char *e = dlerror();
		snprintf(lib->why, sizeof lib->why, "%s", e ? e : "dlopen failed");
		return false;
	}
	for (size_t i = 0; i < lib->nsyms; i++) {
		dlerror();
		void *p = dlsym(h, lib->syms[i].name);
		const char *e = dlerror();
		if (!p || e) {
			snprintf(lib->why, sizeof lib->why, "no symbol %s", lib->syms[i].name);
			/* not closed: symbols already resolved stay valid, and LSan keeps its names
			 */
			return false;
		}
		memcpy(lib->syms[i].slot, &p, sizeof p);
	}
	return true;
}

int dynlib_load(struct dynlib *lib, const char *name, struct nn_err *err)
{
	pthread_once(&dynlib_once, register_fork_handlers);
	pthread_mutex_lock(&dynlib_lock);
	if (!lib->tried) {
		lib->ok = load_locked(lib);
		lib->tried = true;
	}
	bool ok = lib->ok;
	pthread_mutex_unlock(&dynlib_lock);
	if (ok)
		return 0;
	return nn_err_set(err, "%s: %s (%s) could not be loaded: %s", name, lib->what, lib->soname,
	                  lib->why);
}
