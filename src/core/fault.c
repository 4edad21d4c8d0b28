/* fault.c — SIGBUS guards around reads of mappings, the fatal-signal hook, the mapping list. */
#include "nncmp/fault.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/util.h"

static _Thread_local struct fault_guard *top;
static void (*volatile fatal_hook)(int sig);

static const int fatal_sigs[] = {SIGBUS, SIGSEGV, SIGFPE, SIGILL, SIGABRT};
#define N_FATAL (sizeof fatal_sigs / sizeof *fatal_sigs)
static struct sigaction previous[N_FATAL];

/* Room for the handler when the fault is the main thread's stack overflowing. */
static char alt_stack[256 * 1024];

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig == SIGBUS && top) {
		struct fault_guard *g = top;
		top = g->prev;
		g->addr = si ? si->si_addr : NULL;
		siglongjmp(g->env, 1);
	}
	void (*hook)(int) = fatal_hook;
	fatal_hook = NULL; /* once, even if the hook itself faults */
	if (hook)
		hook(sig);
	/* the previous disposition (the default, or a sanitizer's report) takes over: a fault
	 * happens again when the instruction is retried, a sent signal is sent again */
	for (size_t k = 0; k < N_FATAL; k++)
		if (fatal_sigs[k] == sig)
			sigaction(sig, &previous[k], NULL);
	if (!si || si->si_code <= 0 || sig == SIGABRT)
		raise(sig);
}

void fault_install(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack, .ss_flags = 0};
	(void)sigaltstack(&ss, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	for (size_t k = 0; k < N_FATAL; k++)
		sigaction(fatal_sigs[k], &sa, &previous[k]);
}

void fault_on_fatal(void (*hook)(int sig))
{
	fatal_hook = hook;
}

void fault_push(struct fault_guard *g)
{
	g->prev = top;
	g->addr = NULL;
	top = g;
}

void fault_pop(struct fault_guard *g)
{
	top = g->prev;
}

/* ---- the mappings ---- */

struct mapping {
	uintptr_t base;
	size_t len;
	char *path;
};

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mapping *maps;
static size_t n_maps, cap_maps;

void fault_map_add(const void *base, size_t len, const char *path)
{
	pthread_mutex_lock(&map_lock);
	if (n_maps == cap_maps) {
		cap_maps = cap_maps ? 2 * cap_maps : 16;
		maps = xreallocarray(maps, cap_maps, sizeof *maps);
	}
	maps[n_maps++] = (struct mapping){(uintptr_t)base, len, xstrdup(path)};
	pthread_mutex_unlock(&map_lock);
}

void fault_map_remove(const void *base)
{
	pthread_mutex_lock(&map_lock);
	for (size_t k = 0; k < n_maps; k++)
		if (maps[k].base == (uintptr_t)base) {
			free(maps[k].path);
			maps[k] = maps[--n_maps];
			break;
		}
	if (n_maps == 0) {
		free(maps);
		maps = NULL;
		cap_maps = 0;
	}
	pthread_mutex_unlock(&map_lock);
}

const char *fault_map_path(const void *addr, char *buf, size_t size)
{
	const char *found = NULL;
	uintptr_t a = (uintptr_t)addr;
	pthread_mutex_lock(&map_lock);
	for (size_t k = 0; k < n_maps; k++)
		if (a >= maps[k].base && a - maps[k].base < maps[k].len) {
			snprintf(buf, size, "%s", maps[k].path);
			found = buf;
			break;
		}
	pthread_mutex_unlock(&map_lock);
	return found;
}
