/* guard.c — a check run in a forked child with limits, its crash or hang turned into an error. */
#define _GNU_SOURCE
#include "nncmp/guard.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <stdint.h>
#include <sys/resource.h>
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
