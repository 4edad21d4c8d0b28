/* outfile.c — files written whole or not at all (outfile.h). */
#include "nncmp/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int outfile_open(struct outfile *a, const char *target, unsigned mode, struct nn_err *err)
{
	static atomic_uint counter;
	memset(a, 0, sizeof *a);
	a->target = xstrdup(target);
	struct stat st;
	if (lstat(target, &st) == 0 && !S_ISREG(st.st_mode))
		return nn_err_set(err, "%s: %s: refusing to replace it", target,
		                  S_ISLNK(st.st_mode)   ? "a symbolic link"
		                  : S_ISDIR(st.st_mode) ? "a directory"
		                                        : "not a regular file");
	char *dir = path_dirname(target);
	const char *slash = strrchr(target, '/');
	int fd = -1;
	for (int tries = 0; fd < 0 && tries < 100; tries++) {
		free(a->tmp);
		a->tmp = xasprintf("%s/.%s.%ld.%u.tmp", dir, slash ? slash + 1 : target,
		                   (long)getpid(), atomic_fetch_add(&counter, 1));
		fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		          (mode_t)mode);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	free(dir);
	if (fd < 0 || !(a->f = fdopen(fd, "w"))) {
		nn_err_set(err, "%s: %s", target, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(a->tmp);
		}
		free(a->tmp);
		a->tmp = NULL;
		return -1;
	}
	return 0;
}

int outfile_finish(struct outfile *a, struct nn_err *err)
{
	int rc = 0;
	if (fflush(a->f) != 0 || ferror(a->f) || (!a->no_sync && fsync(fileno(a->f)) < 0))
		rc = nn_err_set(err, "%s: %s", a->target, strerror(errno));
	if (fclose(a->f) != 0 && rc == 0)
		rc = nn_err_set(err, "%s: %s", a->target, strerror(errno));
	a->f = NULL;
	return rc;
}

/* rename() or, without replace, link(); -1 with errno (EEXIST: something is there). */
static int place(const char *tmp, const char *target, bool replace)
{
	if (replace)
		return rename(tmp, target);
	if (link(tmp, target) == 0)
		return unlink(tmp), 0;
	if (errno != EPERM && errno != ENOTSUP && errno != EXDEV)
		return -1;
	struct stat st;
	if (lstat(target, &st) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(tmp, target);
}

int outfile_commit(struct outfile *a, bool replace, bool *exists, struct nn_err *err)
{
	if (exists)
		*exists = false;
	if (place(a->tmp, a->target, replace) < 0) {
		if (errno == EEXIST && exists)
			*exists = true;
		return nn_err_set(err, "%s: %s", a->target,
		                  errno == EEXIST ? "exists" : strerror(errno));
	}
	free(a->tmp);
	a->tmp = NULL;
	if (!a->no_sync && fsync_dir_of(a->target) < 0)
		return nn_err_set(err, "%s: cannot sync its directory: %s", a->target,
		                  strerror(errno));
	return 0;
}

void outfile_discard(struct outfile *a)
{
	if (a->f)
		fclose(a->f);
	if (a->tmp)
		unlink(a->tmp);
	free(a->tmp);
	free(a->target);
	memset(a, 0, sizeof *a);
}
