/* util.c — allocation wrappers, error values, paths and small containers. */
#include "nncmp/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int nn_err_set(struct nn_err *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void oom(size_t size)
{
	fprintf(stderr, "nncmp: out of memory (asked for %zu bytes)\n", size);
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		oom(size);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		oom(nmemb * size);
	return p;
}

/* Below this, huge pages are not worth asking for (they are 2 MiB on x86-64). */
#define HUGE_HINT_MIN  (4u << 20)
#define HUGE_PAGE_SIZE ((uintptr_t)2 << 20)

void *xcalloc_big(size_t nmemb, size_t size)
{
	void *p = xcalloc(nmemb, size);
#ifdef MADV_HUGEPAGE
	size_t total = nmemb * size; /* xcalloc would have failed on an overflow */
	if (total >= HUGE_HINT_MIN) {
		uintptr_t lo = ((uintptr_t)p + HUGE_PAGE_SIZE - 1) & ~(HUGE_PAGE_SIZE - 1);
		uintptr_t hi = ((uintptr_t)p + total) & ~(HUGE_PAGE_SIZE - 1);
		if (hi > lo) /* a hint: without it (or without THP) the pages are ordinary */
			madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
	}
#endif
	return p;
}

void *xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	size_t total;
	if (size_mul(nmemb, size, &total) < 0) {
		fprintf(stderr, "nncmp: allocation size overflow (%zu × %zu)\n", nmemb, size);
		abort();
	}
	void *p = realloc(ptr, total ? total : 1);
	if (!p)
		oom(total);
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		oom(0);
	char *p = xmalloc((size_t)len + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)len + 1, fmt, ap);
	va_end(ap);
	return p;
}

int size_mul(size_t a, size_t b, size_t *out)
{
	if (a && b > SIZE_MAX / a)
		return -1;
	*out = a * b;
	return 0;
}

char *path_join(const char *dir, const char *rel)
{
	if (rel[0] == '/' || !dir || !dir[0] || strcmp(dir, ".") == 0)
		return xstrdup(rel);
	size_t dl = strlen(dir);
	return xasprintf("%s%s%s", dir, dir[dl - 1] == '/' ? "" : "/", rel);
}

char *path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

bool nn_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t r = pread(fd, p, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return true;
}

int nn_open_regular(const char *path, int flags, struct nn_err *err)
{
	/* O_NONBLOCK: opening a FIFO waits for a writer, some devices for a carrier; a tty must
	 * not become our controlling terminal */
	int fd = open(path, flags | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP && (flags & O_NOFOLLOW))
			nn_err_set(err,
			           "%s: is a symbolic link (refused: it must be the file itself)",
			           path);
		else
			nn_err_set(err, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		nn_err_set(err, "%s: %s", path, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		bool dir = S_ISDIR(st.st_mode);
		nn_err_set(err, "%s: %s", path,
		           dir ? "is a directory, expected a file" : "not a regular file");
		close(fd);
		errno = dir ? EISDIR : EINVAL;
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int e = errno;
		nn_err_set(err, "%s: %s", path, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

FILE *nn_fopen_regular(const char *path, struct nn_err *err)
{
	int fd = nn_open_regular(path, O_RDONLY, err);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "r");
	if (!f) {
		nn_err_set(err, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

char *file_read_all(const char *path, size_t max, size_t *len, struct nn_err *err)
{
	int fd = nn_open_regular(path, O_RDONLY, err);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		nn_err_set(err, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if ((uint64_t)st.st_size > max) {
		nn_err_set(err, "%s: file is %lld bytes, more than the %zu allowed", path,
		           (long long)st.st_size, max);
		close(fd);
		return NULL;
	}
	size_t cap = (size_t)st.st_size, got = 0;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		ssize_t r = read(fd, buf + got, cap - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			nn_err_set(err, "%s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got == cap)
			break;
	}
	close(fd);
	buf[got] = '\0';
	if (len)
		*len = got;
	return buf;
}

void strvec_push(struct strvec *sv, char *s)
{
	if (sv->n == sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 8;
		sv->v = xreallocarray(sv->v, sv->cap, sizeof *sv->v);
	}
	sv->v[sv->n++] = s;
}

void strvec_free(struct strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int mkdir_p(const char *dir, unsigned mode)
{
	char *p = xstrdup(dir);
	int rc = 0;
	for (char *c = p + 1; *c && rc == 0; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
			rc = -1;
		*c = '/';
	}
	if (rc == 0 && mkdir(p, (mode_t)mode) < 0) {
		struct stat st;
		if (errno != EEXIST)
			rc = -1;
		else if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			rc = -1;
		}
	}
	free(p);
	return rc;
}

int fsync_dir_of(const char *path)
{
	char *dir = path_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

char *state_path_keyed(const char *subdir, const char *root, const char *ext)
{
	char *base = NULL;
	const char *xdg = getenv("XDG_STATE_HOME");
	if (xdg && xdg[0] == '/') {
		base = xasprintf("%s/nncmp/%s", xdg, subdir);
	} else {
		const char *home = getenv("HOME");
		if (!home || home[0] != '/') {
			struct passwd *pw = getpwuid(getuid());
			home = pw ? pw->pw_dir : NULL;
		}
		if (!home || home[0] != '/')
			return NULL;
		base = xasprintf("%s/.local/state/nncmp/%s", home, subdir);
	}
	char *real = realpath(root, NULL);
	const char *r = real ? real : root;
	uint64_t h = 1469598103934665603ULL;
	for (const unsigned char *c = (const unsigned char *)r; *c; c++)
		h = (h ^ *c) * 1099511628211ULL;
	char name[81];
	size_t k = 0;
	for (const char *c = r; *c && k < 80; c++) {
		if (*c == '/' && k == 0)
			continue;
		bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		          (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == '_';
		name[k++] = ok ? *c : '_';
	}
	name[k] = '\0';
	char *out = xasprintf("%s/%s-%016llx%s", base, name, (unsigned long long)h, ext);
	free(real);
	free(base);
	return out;
}
