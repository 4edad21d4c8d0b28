/* guard.c — a check run in a forked child with limits, its crash or hang turned into an error. */
#define _GNU_SOURCE
#include "nncmp/guard.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define GUARD_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define GUARD_SANITIZED 1
#endif
#endif

#define GUARD_AS_BYTES ((rlim_t)8 << 30) /* address space of the child: 8 GiB */

/*
 * Gives sig its default action. On Linux through the system call itself: a sanitizer intercepts
 * signal() and sigaction() and keeps its own handler, which would report the crash and exit 1.
 */
static void default_action(int sig)
{
#if defined(__linux__) && defined(SYS_rt_sigaction)
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		uint64_t mask;
	} ksa = {SIG_DFL, 0, NULL, 0};
	if (syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof ksa.mask) == 0)
		return;
#endif
	signal(sig, SIG_DFL);
}

/* In the child: limits, quiet crash signals, then fn; never returns. */
static void child_run(guard_fn fn, void *arg, int wfd, unsigned seconds)
{
	static const int crash[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
	for (size_t k = 0; k < sizeof crash / sizeof *crash; k++)
		default_action(crash[k]);
	default_action(SIGALRM); /* a fuzzer's timer must not stop the child */
	signal(SIGPIPE, SIG_IGN);
	struct rlimit core = {0, 0}, cpu = {seconds + 1, seconds + 2};
	setrlimit(RLIMIT_CORE, &core);
	setrlimit(RLIMIT_CPU, &cpu);
#ifndef GUARD_SANITIZED
	struct rlimit as = {GUARD_AS_BYTES, GUARD_AS_BYTES};
	setrlimit(RLIMIT_AS, &as);
#endif
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0)
		dup2(null, STDERR_FILENO);
	alarm(seconds + 1);
	struct nn_err err = {{0}};
	char status = fn(arg, &err) == 0 ? '0' : '1';
	if (write(wfd, &status, 1) == 1 && status == '1')
		(void)!write(wfd, err.msg, strnlen(err.msg, sizeof err.msg));
	_exit(0);
}

/* Milliseconds of CLOCK_MONOTONIC. */
static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The error for a child that hung (timed_out) or ended with wait status st: -1. */
static int death_msg(const char *name, const char *what_lib, unsigned seconds, bool timed_out,
                     int st, struct nn_err *err)
{
	if (timed_out || (WIFSIGNALED(st) && (WTERMSIG(st) == SIGXCPU || WTERMSIG(st) == SIGALRM)))
		return nn_err_set(err,
		                  "%s: %s did not finish reading the file in %u s, not a usable "
		                  "file",
		                  name, what_lib, seconds);
	if (WIFSIGNALED(st))
		return nn_err_set(err, "%s: %s crashed reading the file (%s), not a valid file",
		                  name, what_lib, strsignal(WTERMSIG(st)));
	return nn_err_set(err,
	                  "%s: %s stopped reading the file (exit status %d), not a usable file",
	                  name, what_lib, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int guard_run(guard_fn fn, void *arg, const char *name, const char *what_lib, unsigned seconds,
              struct nn_err *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return nn_err_set(err, "%s: cannot check the file in a child process: %s", name,
		                  strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return nn_err_set(err, "%s: cannot check the file in a child process: %s", name,
		                  strerror(e));
	}
	if (pid == 0) {
		close(p[0]);
		child_run(fn, arg, p[1], seconds);
	}
	close(p[1]);
	char buf[NN_ERR_MAX + 1];
	size_t got = 0;
	bool timed_out = false;
	long long end = now_ms() + (long long)seconds * 1000;
	for (;;) {
		long long left = end - now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		struct pollfd pf = {p[0], POLLIN, 0};
		int r = poll(&pf, 1, (int)(left > 1000000 ? 1000000 : left));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		ssize_t n = read(p[0], buf + got, sizeof buf - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof buf - 1)
			break;
	}
	close(p[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	buf[got] = '\0';
	if (!timed_out && got > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		if (buf[0] == '0')
			return 0;
		return nn_err_set(err, "%s", got > 1 ? buf + 1 : "check failed");
	}
	return death_msg(name, what_lib, seconds, timed_out, st, err);
}

/* ---- the guarded server ---- */

struct guard_srv {
	pthread_mutex_t lock;
	pid_t pid; /* 0: reaped */
	int fd;    /* the parent's end of the socket pair */
	uint8_t *buf;
	size_t cap;
	char *name;
	const char *what_lib;
	unsigned seconds;
	bool dead;
	struct nn_err why; /* once dead: what every call answers */
};

/* An answer on the socket: a status byte ('0' or '1'), a 16-bit length and that much message. */
static int send_answer(int fd, int rc, const struct nn_err *err)
{
	uint8_t hdr[3] = {rc == 0 ? '0' : '1', 0, 0};
	size_t len = rc == 0 ? 0 : strnlen(err->msg, sizeof err->msg);
	hdr[1] = (uint8_t)(len & 0xff);
	hdr[2] = (uint8_t)(len >> 8);
	struct iovec iov[2] = {{hdr, 3}, {(void *)(uintptr_t)err->msg, len}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	size_t want = 3 + len;
	ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	return n == (ssize_t)want ? 0 : -1; /* a few hundred bytes: never a short write */
}

/* Reads exactly len bytes from fd by end_ms (-1: no limit). 1, 0 at EOF, -1 on timeout. */
static int recv_full(int fd, uint8_t *p, size_t len, long long end_ms)
{
	size_t got = 0;
	while (got < len) {
		if (end_ms >= 0) {
			long long left = end_ms - now_ms();
			if (left <= 0)
				return -1;
			struct pollfd pf = {fd, POLLIN, 0};
			int r = poll(&pf, 1, (int)(left > 1000000 ? 1000000 : left));
			if (r <= 0)
				continue; /* EINTR, or the deadline is checked again */
		}
		ssize_t n = recv(fd, p + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		got += (size_t)n;
	}
	return 1;
}

/* Closes every descriptor from lo to hi (inclusive) when lo <= hi. */
static void close_span(unsigned lo, unsigned hi)
{
	if (lo > hi)
		return;
#if defined(SYS_close_range)
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return;
#endif
	for (unsigned fd = lo; fd <= hi && fd < 65536; fd++)
		close((int)fd);
}

/* In the server child: limits, no descriptor but fd, init, then calls until EOF; never returns. */
static void server_run(guard_call_fn init, guard_call_fn call, void *arg, int fd, uint8_t *buf,
                       size_t cap)
{
	static const int crash[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
	for (size_t k = 0; k < sizeof crash / sizeof *crash; k++)
		default_action(crash[k]);
	default_action(SIGALRM);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN); /* the parent decides; Ctrl-C in a shell reaches the group */
	struct rlimit core = {0, 0};
	setrlimit(RLIMIT_CORE, &core);
#ifndef GUARD_SANITIZED
	struct rlimit as = {GUARD_AS_BYTES, GUARD_AS_BYTES};
	setrlimit(RLIMIT_AS, &as);
#endif
	/* the parent's other servers' sockets would keep them alive past their close: the socket
	 * goes to descriptor 3, 0-2 to /dev/null, everything else is closed */
	int hi = fcntl(fd, F_DUPFD, 3);
	int null = open("/dev/null", O_RDWR);
	for (int k = 0; k < 3 && null >= 0; k++)
		dup2(null, k);
	if (hi < 0 || (hi != 3 && dup2(hi, 3) < 0))
		_exit(0);
	fd = 3;
	close_span(4, ~0u);
	struct nn_err err = {{0}};
	int rc = init(arg, NULL, buf, cap, &err);
	if (send_answer(fd, rc, &err) < 0 || rc < 0)
		_exit(0);
	uint8_t req[GUARD_REQ_BYTES];
	while (recv_full(fd, req, sizeof req, -1) == 1) {
		memset(&err, 0, sizeof err);
		rc = call(arg, req, buf, cap, &err);
		if (send_answer(fd, rc, &err) < 0)
			break;
	}
	_exit(0);
}

/* Kills s's child (when alive) and reaps it; the wait status in *st. */
static void srv_reap(struct guard_srv *s, bool kill_it, int *st)
{
	*st = 0;
	if (!s->pid)
		return;
	if (kill_it)
		kill(s->pid, SIGKILL);
	while (waitpid(s->pid, st, 0) < 0 && errno == EINTR)
		;
	s->pid = 0;
}

/* Reads one answer by end_ms; 0 or -1 with err. A dead or hung child is killed and s marked. */
static int srv_answer(struct guard_srv *s, long long end_ms, struct nn_err *err)
{
	uint8_t hdr[3];
	int r = recv_full(s->fd, hdr, 3, end_ms);
	char msg[NN_ERR_MAX];
	size_t len = r == 1 ? (size_t)hdr[1] | (size_t)hdr[2] << 8 : 0;
	if (r == 1 && (len >= sizeof msg || (hdr[0] != '0' && hdr[0] != '1')))
		r = 0; /* not our protocol: treat as a broken child */
	if (r == 1 && len)
		r = recv_full(s->fd, (uint8_t *)msg, len, end_ms);
	if (r == 1) {
		if (hdr[0] == '0')
			return 0;
		msg[len] = '\0';
		return nn_err_set(err, "%s", len ? msg : "check failed");
	}
	int st;
	srv_reap(s, true, &st);
	death_msg(s->name, s->what_lib, s->seconds, r < 0, st, &s->why);
	s->dead = true;
	return nn_err_set(err, "%s", s->why.msg);
}

struct guard_srv *guard_serve(guard_call_fn init, guard_call_fn call, void *arg, size_t cap,
                              const char *name, const char *what_lib, unsigned seconds,
                              struct nn_err *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		nn_err_set(err, "%s: cannot read the file in a child process: %s", name,
		           strerror(errno));
		return NULL;
	}
	uint8_t *buf =
	    mmap(NULL, cap ? cap : 1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid = buf == MAP_FAILED ? -1 : fork();
	if (pid < 0) {
		nn_err_set(err, "%s: cannot read the file in a child process: %s", name,
		           strerror(errno));
		if (buf != MAP_FAILED)
			munmap(buf, cap ? cap : 1);
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		close(sv[0]);
		server_run(init, call, arg, sv[1], buf, cap);
	}
	close(sv[1]);
	struct guard_srv *s = xcalloc(1, sizeof *s);
	pthread_mutex_init(&s->lock, NULL);
	s->pid = pid;
	s->fd = sv[0];
	s->buf = buf;
	s->cap = cap;
	s->name = xstrdup(name);
	s->what_lib = what_lib;
	s->seconds = seconds;
	if (srv_answer(s, now_ms() + (long long)seconds * 1000, err) < 0) {
		guard_srv_stop(s);
		return NULL;
	}
	return s;
}

void guard_srv_answer(struct guard_srv *s, void *out, size_t len)
{
	memcpy(out, s->buf, len <= s->cap ? len : s->cap);
}

int guard_call(struct guard_srv *s, const void *req, size_t len, void *out, size_t out_len,
               struct nn_err *err)
{
	uint8_t msg[GUARD_REQ_BYTES] = {0};
	memcpy(msg, req, len < sizeof msg ? len : sizeof msg);
	pthread_mutex_lock(&s->lock);
	int rc;
	if (s->dead) {
		rc = nn_err_set(err, "%s", s->why.msg);
	} else if (send(s->fd, msg, sizeof msg, MSG_NOSIGNAL) != (ssize_t)sizeof msg) {
		rc = srv_answer(s, now_ms() + 1000, err); /* the child is gone: how it ended */
	} else {
		rc = srv_answer(s, now_ms() + (long long)s->seconds * 1000, err);
		if (rc == 0)
			memcpy(out, s->buf, out_len <= s->cap ? out_len : s->cap);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void guard_srv_stop(struct guard_srv *s)
{
	if (!s)
		return;
	int st;
	close(s->fd); /* an idle child exits on EOF; one inside a call is killed */
	srv_reap(s, true, &st);
	munmap(s->buf, s->cap ? s->cap : 1);
	pthread_mutex_destroy(&s->lock);
	free(s->name);
	free(s);
}
