/* cache_evict.c — the size cap of nncmp's cache directory (cache_evict.h). */
#include "nncmp/cache_evict.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nncmp/util.h"

static const struct {
	const char *ext, *magic;
} kinds[] = {
    {".ndv", "NNCMPDRV"},
    {".nst", "NNCMPNST"},
    {".csvf", "NNCMPCSV"},
};

/* The magic that a cache file named name must start with, or NULL when name is not one. */
static const char *magic_for(const char *name)
{
	for (int i = 0; i < 16; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return NULL;
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
		if (strcmp(name + 16, kinds[k].ext) == 0)
			return kinds[k].magic;
	return NULL;
}

uint64_t cache_max_bytes(void)
{
	const char *v = getenv("NNCMP_CACHE_MAX_MB");
	uint64_t mb = CACHE_MAX_MB_DEFAULT;
	if (v && *v) {
		char *end;
		errno = 0;
		unsigned long long x = strtoull(v, &end, 10);
		if (!*end && errno == 0 && v[0] != '-' && x <= (UINT64_MAX >> 20))
			mb = x;
	}
	return mb << 20;
}

struct entry {
	char *name;
	const char *magic;
	uint64_t size;
	struct timespec mtime;
};

static int by_age(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* True when dirfd/name is still a regular file starting with magic. */
static bool has_magic(int dirfd, const char *name, const char *magic)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return false;
	char head[8];
	struct stat st;
	bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	          pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head &&
	          memcmp(head, magic, sizeof head) == 0;
	close(fd);
	return ok;
}

int cache_evict(const char *dir, uint64_t max_bytes, const char *keep)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int dfd = dirfd(d);
	struct entry *e = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *magic = magic_for(de->d_name);
		struct stat st;
		if (!magic || fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		total += (uint64_t)st.st_size;
		if (keep && strcmp(de->d_name, keep) == 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			e = xreallocarray(e, cap, sizeof *e);
		}
		e[n++] =
		    (struct entry){xstrdup(de->d_name), magic, (uint64_t)st.st_size, st.st_mtim};
	}
	int removed = 0;
	if (total > max_bytes) {
		/* a file named like ours but without the magic is not counted, and stays */
		size_t m = 0;
		for (size_t i = 0; i < n; i++) {
			if (has_magic(dfd, e[i].name, e[i].magic)) {
				e[m++] = e[i];
			} else {
				total -= e[i].size;
				free(e[i].name);
			}
		}
		n = m;
		if (n > 1)
			qsort(e, n, sizeof *e, by_age);
		/* one that cannot be removed (or another process removed) is not counted either */
		for (size_t i = 0; i < n && total > max_bytes; i++) {
			if (unlinkat(dfd, e[i].name, 0) == 0)
				removed++;
			total -= e[i].size;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
	closedir(d);
	return removed;
}

void cache_evict_after_store(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return;
	char *dir = xstrndup(path, (size_t)(slash - path));
	cache_evict(dir, cache_max_bytes(), slash + 1);
	free(dir);
}

void cache_touch(const char *path)
{
	(void)utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW);
}

void cache_touch_fd(int fd)
{
	(void)futimens(fd, NULL);
}
