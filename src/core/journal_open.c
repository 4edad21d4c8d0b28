/* journal_open.c — finding (or creating) a study's journal, locking it, appending durably, closing.
 */
#include "nncmp/journal_internal.h"
#include "nncmp/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nncmp/text.h"

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* ---- opening ---- */

/*
 * Whether the open journal is still the file at its path: a journal deleted or renamed under
 * us would take every later decision with it, silently. Returns 0 or -1 with err set.
 */
static int check_still_there(const struct journal *j, struct nn_err *err)
{
	struct stat fst, pst;
	if (fstat(j->fd, &fst) < 0)
		return nn_err_set(err, "%s: %s", j->path, strerror(errno));
	if (fst.st_nlink == 0)
		return nn_err_set(err,
		                  "%s: the journal was deleted while open; this decision is not "
		                  "saved (reopen the study to start a new journal)",
		                  j->path);
	if (stat(j->path, &pst) < 0 || pst.st_dev != fst.st_dev || pst.st_ino != fst.st_ino)
		return nn_err_set(err,
		                  "%s: the journal was renamed or replaced while open; this "
		                  "decision is not saved (put it back, or reopen the study)",
		                  j->path);
	return 0;
}

/* Writes all of buf at the end of the file and fsyncs; on failure cuts back to the old end. */
int journal_append(struct journal *j, const char *buf, size_t len, struct nn_err *err)
{
	/* a decision's "old" is the label read at open: a rewritten labels file would make it
	 * wrong, and the whole journal refused at the next open */
	if (check_still_there(j, err) < 0 || study_labels_same(j->s, err) < 0)
		return -1;
	off_t end = lseek(j->fd, 0, SEEK_END);
	if (end < 0)
		return nn_err_set(err, "%s: %s", j->path, strerror(errno));
	if (write_all(j->fd, buf, len) < 0) {
		int e = errno;
		if (ftruncate(j->fd, end) == 0)
			(void)fsync(j->fd);
		return nn_err_set(err, "%s: %s", j->path, strerror(e));
	}
	if (fsync(j->fd) < 0) {
		int e = errno;
		if (ftruncate(j->fd, end) == 0)
			(void)fsync(j->fd);
		return nn_err_set(err, "%s: %s (the decision was not saved)", j->path, strerror(e));
	}
	j->pristine = false;
	return 0;
}

char *journal_dump_line(json_t *o)
{
	char *t = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!t) {
		fprintf(stderr, "nncmp: out of memory (json)\n");
		abort();
	}
	char *line = xasprintf("%s\n", t);
	free(t);
	return line;
}

static int write_header(struct journal *j, struct nn_err *err)
{
	const struct study *s = j->s;
	char tm[24];
	journal_now_utc(tm);
	json_t *names = json_array();
	for (size_t k = 0; k < s->n_classes; k++)
		json_array_append_new(names, journal_jtext(s->classes[k]));
	json_t *o = json_object();
	json_object_set_new(o, "v", json_integer(JOURNAL_VERSION));
	json_object_set_new(o, "type", json_string("header"));
	json_object_set_new(o, "study", journal_jtext(s->name ? s->name : ""));
	json_object_set_new(o, "n", json_integer((json_int_t)s->n));
	json_object_set_new(o, "n_classes", json_integer((json_int_t)s->n_classes));
	json_object_set_new(o, "classes", names);
	json_object_set_new(o, "created", json_string(tm));
	char *line = journal_dump_line(o);
	int rc = journal_append(j, line, strlen(line), err);
	free(line);
	return rc;
}

/* "PATH: in use by another nncmp (pid N)", the pid read from the lock's pid file. */
static int busy_error(const char *path, struct nn_err *err)
{
	char *lp = xasprintf("%s.lock", path);
	long pid = 0;
	/* a FIFO or device in its place must not block us */
	int fd = nn_open_regular(lp, O_RDONLY | O_NOFOLLOW, NULL);
	free(lp);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	} else if (fd >= 0) {
		close(fd);
	}
	if (pid > 0)
		return nn_err_set(err, "%s: in use by another nncmp (pid %ld)", path, pid);
	return nn_err_set(err, "%s: in use by another nncmp (pid unknown)", path);
}

/*
 * Writes our pid to PATH.lock, for busy_error() in another nncmp. Best effort: the flock is the
 * lock. Never blocks (a FIFO there: O_NONBLOCK), never writes into anything but a regular file,
 * and leaves no empty or partial pid file behind when the write fails (a full disk).
 */
static void write_pid(struct journal *j)
{
	char *lp = xasprintf("%s.lock", j->path);
	int fd =
	    open(lp, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0644);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		free(lp);
		return;
	}
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	bool ok = ftruncate(fd, 0) == 0 && write(fd, buf, (size_t)n) == n;
	close(fd);
	if (ok) {
		j->lock_path = lp;
	} else {
		unlink(lp);
		free(lp);
	}
}

/*
 * The message for a journal that exists but cannot be opened (err holds "PATH: strerror"): for
 * writing, say that it is the writing that failed and that decisions cannot be saved.
 */
static int open_error(const char *path, bool write, struct nn_err *err)
{
	int e = errno;
	if (write && (e == EROFS || e == EACCES || e == EPERM))
		return nn_err_set(err,
		                  "%s: cannot write the journal (%s): decisions cannot be saved",
		                  path, strerror(e));
	return -1;
}

/* Opens (creating when asked) the journal file; sets j->path, j->fd and *created. */
static int locate(struct journal *j, bool *created, struct nn_err *err)
{
	const struct study *s = j->s;
	char *here = path_join(s->root, JOURNAL_FILE);
	char *fb = state_path_keyed("journals", s->root, ".jsonl");
	*created = false;
	bool use_fb = false;
	if (!exists(here) && fb && exists(fb))
		use_fb = true;
	if (use_fb || exists(here)) {
		j->path = use_fb ? fb : here;
		free(use_fb ? here : fb);
		j->fd = nn_open_regular(j->path, (j->write ? O_RDWR : O_RDONLY) | O_NOFOLLOW, err);
		if (j->fd < 0)
			return open_error(j->path, j->write, err);
		if (use_fb)
			strvec_push(&j->warnings,
			            xasprintf("the journal of this study is kept in %s", j->path));
		return 0;
	}
	if (!j->write) {
		bool fb_wanted = access(s->root, W_OK) != 0 && fb;
		j->path = fb_wanted ? fb : here;
		free(fb_wanted ? here : fb);
		return 0;
	}
	j->fd = open(here, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (j->fd >= 0 || errno == EEXIST) {
		j->path = here;
		free(fb);
		if (j->fd >= 0)
			*created = true;
		else /* created by another process meanwhile */
			j->fd = nn_open_regular(j->path, O_RDWR | O_NOFOLLOW, err);
		if (j->fd < 0)
			return open_error(j->path, true, err);
		return 0;
	}
	if (errno != EACCES && errno != EROFS && errno != EPERM) {
		nn_err_set(err, "%s: %s", here, strerror(errno));
		j->path = here;
		free(fb);
		return -1;
	}
	int e = errno;
	if (!fb) {
		j->path = here;
		return nn_err_set(err, "%s: %s, and no home directory for a journal elsewhere",
		                  here, strerror(e));
	}
	char *dir = path_dirname(fb);
	if (mkdir_p(dir, 0700) < 0) {
		int e2 = errno;
		nn_err_set(err, "%s: %s; and %s: %s", here, strerror(e), dir, strerror(e2));
		free(dir);
		free(fb);
		j->path = here;
		return -1;
	}
	free(dir);
	j->path = fb;
	j->fd = open(fb, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	bool made = j->fd >= 0;
	struct nn_err e2;
	if (!made && errno == EEXIST) /* created meanwhile: only if it is a regular file */
		j->fd = nn_open_regular(fb, O_RDWR | O_NOFOLLOW, &e2);
	else if (!made)
		nn_err_set(&e2, "%s: %s", fb, strerror(errno));
	if (j->fd < 0) {
		nn_err_set(err, "%s: %s; and %.300s", here, strerror(e), e2.msg);
		free(here);
		return -1;
	}
	*created = made;
	strvec_push(&j->warnings, xasprintf("%s is not writable (%s): the journal is kept in %s",
	                                    s->root, strerror(e), fb));
	free(here);
	return 0;
}

struct journal *journal_open(const struct study *s, bool write, struct nn_err *err)
{
	struct journal *j = xcalloc(1, sizeof *j);
	j->s = s;
	j->fd = -1;
	j->write = write;
	j->labels = xcalloc(s->n, sizeof *j->labels);
	j->status = xcalloc(s->n, 1);
	j->seqs = xcalloc(s->n, sizeof *j->seqs);
	/* journal_state_reset() but for the zeroing calloc did: fresh pages stay untouched (the
	 * heap of a study opened without a journal, 9 bytes an instance) */
	memcpy(j->labels, study_given(s), s->n * sizeof *j->labels);
	j->n_status[STATUS_UNDECIDED] = s->n;
	/* replay marks what its decisions change (dirty), so a journal without any leaves the first
	 * journal_apply nothing to do beyond copying the given labels */
	bool created, locked = false;
	if (locate(j, &created, err) < 0)
		goto fail;
	if (j->fd < 0)
		return j; /* read-only, no journal yet */
	if (flock(j->fd, (write ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			nn_err_set(err, "%s: cannot lock: %s", j->path, strerror(errno));
			goto fail;
		}
		if (write) {
			busy_error(j->path, err);
			goto fail;
		}
		struct nn_err busy;
		busy_error(j->path, &busy);
		strvec_push(&j->warnings,
		            xasprintf("%s; reading the decisions saved so far", busy.msg));
	}
	locked = true;
	if (write)
		write_pid(j);
	off_t valid_end = 0;
	if (journal_replay(j, &valid_end, err) < 0)
		goto fail;
	if (!write) { /* a reader holds no lock after replay: the same process may then write */
		struct stat rst;
		if (fstat(j->fd, &rst) == 0) {
			j->rd_file = true;
			j->rd_dev = rst.st_dev;
			j->rd_ino = rst.st_ino;
			j->rd_size = rst.st_size;
			j->rd_valid_end = valid_end;
			j->rd_mtime = rst.st_mtim;
		}
		close(j->fd);
		j->fd = -1;
		return j;
	}
	struct stat st;
	if (fstat(j->fd, &st) < 0) {
		nn_err_set(err, "%s: %s", j->path, strerror(errno));
		goto fail;
	}
	if (st.st_size > valid_end && (ftruncate(j->fd, valid_end) < 0 || fsync(j->fd) < 0)) {
		nn_err_set(err, "%s: cannot remove the torn last line: %s", j->path,
		           strerror(errno));
		goto fail;
	}
	/* written now, not with the first decision, so a full disk says so before any decision */
	if (valid_end == 0 && write_header(j, err) < 0)
		goto fail;
	j->pristine = created;
	if (created && fsync_dir_of(j->path) < 0) {
		nn_err_set(err, "%s: cannot sync its directory: %s", j->path, strerror(errno));
		goto fail;
	}
	return j;
fail:
	if (created && locked)
		unlink(j->path);
	journal_close(j);
	return NULL;
}

bool journal_upgrade(struct journal *j)
{
	if (!j || j->write)
		return j != NULL;
	if (j->warnings.n) /* a torn line, a writer present, a fallback: reopen and say it anew */
		return false;
	struct journal w = {.s = j->s, .fd = -1, .write = true};
	bool created = false, ok = false;
	struct nn_err err;
	struct stat st;
	if (locate(&w, &created, &err) < 0 || w.fd < 0)
		goto out;
	/* the same file where j looked, and nothing to say about where it is */
	if (strcmp(w.path, j->path) != 0 || w.warnings.n)
		goto out;
	if (flock(w.fd, LOCK_EX | LOCK_NB) < 0 || fstat(w.fd, &st) < 0)
		goto out;
	if (j->rd_file ? created || st.st_dev != j->rd_dev || st.st_ino != j->rd_ino ||
	                     st.st_size != j->rd_size || st.st_size != j->rd_valid_end ||
	                     st.st_mtim.tv_sec != j->rd_mtime.tv_sec ||
	                     st.st_mtim.tv_nsec != j->rd_mtime.tv_nsec
	               : !created)
		goto out; /* written (or created) by another nncmp since, or a torn tail to cut */
	j->fd = w.fd;
	j->write = true;
	write_pid(j);
	/* written now, not with the first decision, so a full disk says so before any decision */
	if ((!j->rd_file || j->rd_valid_end == 0) && write_header(j, &err) < 0)
		goto undo;
	if (created && fsync_dir_of(j->path) < 0)
		goto undo;
	j->pristine = created;
	w.fd = -1;
	ok = true;
	goto out;
undo: /* back to read-only, as it was; the caller's reopen says what failed */
	if (j->lock_path) {
		unlink(j->lock_path);
		free(j->lock_path);
		j->lock_path = NULL;
	}
	j->fd = -1; /* (a failed header was cut back by journal_append) */
	j->write = false;
out:
	if (w.fd >= 0) {
		if (created)
			unlink(w.path);
		close(w.fd);
	}
	free(w.path);
	strvec_free(&w.warnings);
	return ok;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0 && j->pristine)
		unlink(j->path); /* header only, and ours: as if it had never been opened */
	if (j->lock_path) {
		unlink(j->lock_path);
		free(j->lock_path);
	}
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j->labels);
	free(j->status);
	free(j->seqs);
	free(j->dirty);
	free(j->dec);
	free(j->prior);
	free(j->live);
	free(j->prep_given);
	free(j->prep_status);
	strvec_free(&j->warnings);
	free(j);
}
