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

/*
 * A guarded server: a child that keeps the library's state after its check and does every later
 * read of the hostile input too, so that the library never runs in this process. The child gets
 * the limits above except RLIMIT_CPU and the alarm (it lives as long as its user): every call has
 * its own wall-clock limit of `seconds` instead, after which the child is killed. It keeps no file
 * descriptor of this process but its socket (stdin, stdout and stderr are /dev/null), and exits
 * when the socket closes. Answers go through a buffer shared with the child (cap bytes).
 */
struct guard_srv;
/* What the server child does for one call: req (GUARD_REQ_BYTES) in, the answer into buf. */
typedef int (*guard_call_fn)(void *arg, const void *req, uint8_t *buf, size_t cap,
                             struct nn_err *err);
#define GUARD_REQ_BYTES 32

/*
 * Starts a server child that runs init(arg, NULL, buf, cap, err) (its answer in the shared
 * buffer, for guard_srv_answer()), then serves call(arg, req, ...) for every guard_call(). Returns
 * the server, or NULL with err set as guard_run() sets it (init's message, or the crash, hang or
 * start failure). arg is the child's copy (fork): what init stores there stays in the child.
 */
struct guard_srv *guard_serve(guard_call_fn init, guard_call_fn call, void *arg, size_t cap,
                              const char *name, const char *what_lib, unsigned seconds,
                              struct nn_err *err);
/*
 * The answer of init: copies len (at most cap) bytes of the shared buffer into out. Only between
 * guard_serve() and the first guard_call().
 */
void guard_srv_answer(struct guard_srv *s, void *out, size_t len);
/*
 * Sends req (len <= GUARD_REQ_BYTES bytes, the rest zero) and copies the first out_len bytes of
 * the answer into out. Returns 0, or -1 with err: the call's message, or "NAME: WHAT crashed /
 * did not finish / stopped ..." when the child died or hung (it is then killed and every later
 * call fails at once with that message). Thread-safe: calls are one at a time.
 */
int guard_call(struct guard_srv *s, const void *req, size_t len, void *out, size_t out_len,
               struct nn_err *err);
/* Kills the child and frees s (NULL: nothing). */
void guard_srv_stop(struct guard_srv *s);

#endif
