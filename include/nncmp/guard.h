/*
 * guard.h — running a check that may crash or hang (a library reading hostile input) in a
 * forked child with a time limit and resource limits, so that the caller gets an error instead.
 *
 * guard_run() forks; the child sets RLIMIT_CORE 0, RLIMIT_CPU and (outside sanitizer builds)
 * RLIMIT_AS, an alarm, default actions for the crash signals and stderr on /dev/null, calls fn,
 * and sends its result and message back through a pipe. The parent waits at most `seconds` (then
 * kills the child). The caller must make sure no other thread holds a lock fn needs (h5.c holds
 * its own lock around every libhdf5 call and forks inside it); the child only runs fn and exits.
 */
#ifndef NNCMP_GUARD_H
#define NNCMP_GUARD_H

#include "nncmp/util.h"

/* What the child runs: 0, or -1 with err set. */
typedef int (*guard_fn)(void *arg, struct nn_err *err);

/*
 * Runs fn(arg) in a child. Returns its result (its message in err on -1), or -1 with err
 * "NAME: WHAT ..." when the child crashed (WHAT names the signal), ran out of its time, or could
 * not be started. what_lib names the library for the message ("libhdf5").
 */
int guard_run(guard_fn fn, void *arg, const char *name, const char *what_lib, unsigned seconds,
              struct nn_err *err);

#endif
