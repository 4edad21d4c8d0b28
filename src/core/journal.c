/* journal.c — the triage journal: durable JSONL of labelling decisions, replay, undo, locking. */
#include "nncmp/journal.h"
#include "nncmp/derive.h"
#include "nncmp/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nncmp/text.h"

#define JOURNAL_VERSION 1
/* seq and batch stay exact in any JSON reader (2^53) */
#define JOURNAL_MAX_COUNT (1LL << 53)

/* What a decision overwrote (its label before is the decision's old_label): undo restores it. */
struct prior {
	uint64_t seq;
	uint8_t status;
};

struct journal {
	const struct study *s;
	char *path;
	char *lock_path; /* the pid file we wrote, or NULL */
	int fd;          /* -1: read-only without a journal file */
	bool write;
	uint64_t last_seq, last_batch;
	int32_t *labels;
	uint8_t *status;
	uint64_t *seqs;
	struct decision *dec;
	struct prior *prior; /* per decision: its instance's status and seq before it applied */
	size_t n_dec, cap_dec;
	size_t *live; /* index in dec of the first decision of each live batch, oldest first */
	size_t n_live, cap_live;
	struct strvec warnings;
};

static const char *const action_names[] = {"relabel", "keep", "remove", "skip"};
static const char *const status_names[] = {"undecided", "relabelled", "kept", "removed", "skipped"};

const char *journal_action_name(enum decision_action a)
{
	return (unsigned)a < 4 ? action_names[a] : "?";
}

const char *journal_status_name(enum decision_status st)
{
	return (unsigned)st < 5 ? status_names[st] : "?";
}

/*
 * Text as the journal stores it (caller frees): bytes that are not UTF-8 as \xHH, the rule of
 * all JSON that nncmp writes (text_valid_utf8).
 */
static char *norm_text(const char *s)
{
	return text_valid_utf8(s);
}

static json_t *jtext(const char *s)
{
	char *t = norm_text(s);
	json_t *v = json_string(t);
	free(t);
	return v;
}

static void now_utc(char out[24])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* The fallback journal path for study root `root` (caller frees), or NULL without a home. */
static char *fallback_path(const char *root)
{
	char *base = NULL;
	const char *xdg = getenv("XDG_STATE_HOME");
	if (xdg && xdg[0] == '/') {
		base = xasprintf("%s/nncmp/journals", xdg);
	} else {
		const char *home = getenv("HOME");
		if (!home || home[0] != '/') {
			struct passwd *pw = getpwuid(getuid());
			home = pw ? pw->pw_dir : NULL;
		}
		if (!home || home[0] != '/')
			return NULL;
		base = xasprintf("%s/.local/state/nncmp/journals", home);
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
	char *out = xasprintf("%s/%s-%016llx.jsonl", base, name, (unsigned long long)h);
	free(real);
	free(base);
	return out;
}

static void state_reset(struct journal *j)
{
	memcpy(j->labels, study_given(j->s), j->s->n * sizeof *j->labels);
	memset(j->status, 0, j->s->n);
	memset(j->seqs, 0, j->s->n * sizeof *j->seqs);
}

/* Applies decision k of dec[] to the state, remembering what it overwrites in prior[k]. */
static void state_apply(struct journal *j, size_t k)
{
	const struct decision *d = &j->dec[k];
	uint32_t i = d->index;
	j->prior[k].seq = j->seqs[i];
	j->prior[k].status = j->status[i];
	switch (d->action) {
	case DECIDE_RELABEL:
		j->labels[i] = d->new_label;
		j->status[i] = STATUS_RELABELLED;
		break;
	case DECIDE_KEEP:
		j->status[i] = STATUS_KEPT;
		break;
	case DECIDE_REMOVE:
		j->status[i] = STATUS_REMOVED;
		break;
	case DECIDE_SKIP:
		if (j->status[i] != STATUS_UNDECIDED && j->status[i] != STATUS_SKIPPED)
			return;
		j->status[i] = STATUS_SKIPPED;
		break;
	}
	j->seqs[i] = d->seq;
}

/* Recomputes labels and statuses from the live decisions. */
static void state_rebuild(struct journal *j)
{
	state_reset(j);
	for (size_t k = 0; k < j->n_dec; k++)
		if (!j->dec[k].undone)
			state_apply(j, k);
}

/*
 * Takes back decisions start..end-1 of dec[], the last ones applied, newest first: each
 * instance gets the label, status and seq it had before. Costs the batch, not the journal, so
 * that replaying many undos stays linear.
 */
static void state_revert(struct journal *j, size_t start, size_t end)
{
	for (size_t k = end; k-- > start;) {
		const struct decision *d = &j->dec[k];
		j->labels[d->index] = d->old_label;
		j->status[d->index] = j->prior[k].status;
		j->seqs[d->index] = j->prior[k].seq;
	}
}

static struct decision *dec_push(struct journal *j)
{
	if (j->n_dec == j->cap_dec) {
		j->cap_dec = j->cap_dec ? 2 * j->cap_dec : 64;
		j->dec = xreallocarray(j->dec, j->cap_dec, sizeof *j->dec);
		j->prior = xreallocarray(j->prior, j->cap_dec, sizeof *j->prior);
	}
	struct decision *d = &j->dec[j->n_dec++];
	memset(d, 0, sizeof *d);
	return d;
}

static void live_push(struct journal *j, size_t start)
{
	if (j->n_live == j->cap_live) {
		j->cap_live = j->cap_live ? 2 * j->cap_live : 16;
		j->live = xreallocarray(j->live, j->cap_live, sizeof *j->live);
	}
	j->live[j->n_live++] = start;
}

/* Marks the most recent live batch undone, reverts its decisions and returns its size. */
static size_t live_pop(struct journal *j)
{
	size_t start = j->live[--j->n_live];
	uint64_t b = j->dec[start].batch;
	size_t k = start;
	for (; k < j->n_dec && j->dec[k].batch == b; k++)
		j->dec[k].undone = true;
	state_revert(j, start, k);
	return k - start;
}

/* ---- replay ---- */

struct replay {
	struct journal *j;
	size_t line;
	/* the batch being read: where it starts in dec and in the file, its size and count */
	bool pending;
	size_t p_start, p_line, p_size, p_count;
	uint64_t p_batch;
	off_t p_off;
};

static int get_int(json_t *o, const char *key, long long lo, long long hi, long long *out,
                   const struct replay *r, struct nn_err *err)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		return nn_err_set(err, "%s:%zu: \"%s\" missing or not an integer", r->j->path,
		                  r->line, key);
	long long x = json_integer_value(v);
	if (x < lo || x > hi)
		return nn_err_set(err, "%s:%zu: \"%s\" %lld out of range %lld..%lld", r->j->path,
		                  r->line, key, x, lo, hi);
	*out = x;
	return 0;
}

static int check_header(struct replay *r, json_t *o, struct nn_err *err)
{
	struct journal *j = r->j;
	const struct study *s = j->s;
	long long v, n, c;
	if (!json_is_string(json_object_get(o, "type")) ||
	    strcmp(json_string_value(json_object_get(o, "type")), "header") != 0)
		return nn_err_set(err, "%s:1: not an nncmp journal (no header line)", j->path);
	if (get_int(o, "v", 1, JOURNAL_VERSION, &v, r, err) < 0 ||
	    get_int(o, "n", 0, LLONG_MAX, &n, r, err) < 0 ||
	    get_int(o, "n_classes", 0, LLONG_MAX, &c, r, err) < 0)
		return -1;
	json_t *names = json_object_get(o, "classes");
	if ((size_t)n != s->n || (size_t)c != s->n_classes)
		return nn_err_set(
		    err,
		    "%s: journal of a study with %lld instances and %lld classes, but "
		    "this study has %zu and %zu: refusing to apply it",
		    j->path, n, c, s->n, s->n_classes);
	if (!json_is_array(names) || json_array_size(names) != s->n_classes)
		return nn_err_set(err, "%s:1: \"classes\" missing or not %zu names", j->path,
		                  s->n_classes);
	for (size_t k = 0; k < s->n_classes; k++) {
		const char *jn = json_string_value(json_array_get(names, k));
		char *sn = norm_text(s->classes[k]);
		bool same = jn && strcmp(jn, sn) == 0;
		free(sn);
		if (!same)
			return nn_err_set(
			    err,
			    "%s: class %zu is named differently in the journal than in "
			    "this study: refusing to apply it",
			    j->path, k);
	}
	return 0;
}

static int parse_action(const char *a, int *out)
{
	for (int k = 0; k < 4; k++)
		if (strcmp(a, action_names[k]) == 0)
			return *out = k, 0;
	if (strcmp(a, "undo") == 0)
		return *out = 4, 0;
	return -1;
}

/* Applies one parsed line (after the header); returns 0 or -1 with err naming the line. */
static int replay_line(struct replay *r, json_t *o, off_t off, struct nn_err *err)
{
	struct journal *j = r->j;
	const struct study *s = j->s;
	long long v, seq;
	if (!json_is_object(o))
		return nn_err_set(err, "%s:%zu: not a JSON object", j->path, r->line);
	if (get_int(o, "v", 1, JOURNAL_VERSION, &v, r, err) < 0 ||
	    get_int(o, "seq", 1, JOURNAL_MAX_COUNT, &seq, r, err) < 0)
		return -1;
	if ((uint64_t)seq != j->last_seq + 1)
		return nn_err_set(err, "%s:%zu: seq %lld where %llu was expected (lines missing?)",
		                  j->path, r->line, seq, (unsigned long long)j->last_seq + 1);
	const char *an = json_string_value(json_object_get(o, "action"));
	const char *tm = json_string_value(json_object_get(o, "time"));
	int act;
	if (!an || parse_action(an, &act) < 0)
		return nn_err_set(err, "%s:%zu: unknown action", j->path, r->line);
	if (!tm || strlen(tm) >= sizeof((struct decision *)0)->time)
		return nn_err_set(err, "%s:%zu: \"time\" missing or too long", j->path, r->line);
	if (r->pending &&
	    (act == 4 || json_integer_value(json_object_get(o, "batch")) != (json_int_t)r->p_batch))
		return nn_err_set(err, "%s:%zu: batch %llu ends after %zu of its %zu decisions",
		                  j->path, r->line, (unsigned long long)r->p_batch, r->p_count,
		                  r->p_size);
	j->last_seq = (uint64_t)seq;
	if (act == 4) {
		long long ub;
		if (get_int(o, "undo_batch", 1, JOURNAL_MAX_COUNT, &ub, r, err) < 0)
			return -1;
		if (j->n_live == 0 || j->dec[j->live[j->n_live - 1]].batch != (uint64_t)ub)
			return nn_err_set(err,
			                  "%s:%zu: undo of batch %lld, which is not the last "
			                  "live batch",
			                  j->path, r->line, ub);
		live_pop(j);
		return 0;
	}
	long long batch, size, index, old, nw;
	if (get_int(o, "batch", 1, JOURNAL_MAX_COUNT, &batch, r, err) < 0 ||
	    get_int(o, "size", 1, LLONG_MAX, &size, r, err) < 0 ||
	    get_int(o, "index", 0, (long long)s->n - 1, &index, r, err) < 0 ||
	    get_int(o, "old", 0, (long long)s->n_classes - 1, &old, r, err) < 0 ||
	    get_int(o, "new", -1, (long long)s->n_classes - 1, &nw, r, err) < 0)
		return -1;
	if (r->pending && (size_t)size != r->p_size)
		return nn_err_set(err, "%s:%zu: batch %lld changes its size", j->path, r->line,
		                  batch);
	if (!r->pending && (uint64_t)batch <= j->last_batch)
		return nn_err_set(err, "%s:%zu: batch %lld out of order", j->path, r->line, batch);
	if (old != j->labels[index])
		return nn_err_set(
		    err,
		    "%s:%zu: instance %lld had label %d, not %lld as the journal says "
		    "(were the study's labels changed?)",
		    j->path, r->line, index, j->labels[index], old);
	if ((act == DECIDE_RELABEL && nw < 0) || (act == DECIDE_REMOVE && nw != -1) ||
	    ((act == DECIDE_KEEP || act == DECIDE_SKIP) && nw != old))
		return nn_err_set(err, "%s:%zu: \"new\" %lld does not fit action %s", j->path,
		                  r->line, nw, an);
	json_t *jid = json_object_get(o, "id");
	if (jid) {
		char buf[32];
		char *sid = norm_text(study_instance_id(s, (size_t)index, buf, sizeof buf));
		bool same = json_is_string(jid) && strcmp(json_string_value(jid), sid) == 0;
		free(sid);
		if (!same)
			return nn_err_set(err, "%s:%zu: instance %lld has another id in this study",
			                  j->path, r->line, index);
	}
	if (!r->pending) {
		r->pending = true;
		r->p_start = j->n_dec;
		r->p_line = r->line;
		r->p_off = off;
		r->p_size = (size_t)size;
		r->p_count = 0;
		r->p_batch = (uint64_t)batch;
		j->last_batch = (uint64_t)batch;
	}
	struct decision *d = dec_push(j);
	d->seq = (uint64_t)seq;
	d->batch = (uint64_t)batch;
	d->index = (uint32_t)index;
	d->old_label = (int32_t)old;
	d->new_label = (int32_t)nw;
	d->action = (enum decision_action)act;
	snprintf(d->time, sizeof d->time, "%s", tm);
	state_apply(j, j->n_dec - 1);
	if (++r->p_count == r->p_size) {
		live_push(j, r->p_start);
		r->pending = false;
	}
	return 0;
}

/*
 * Replays the whole file; sets *valid_end to the length of its valid part (what precedes a torn
 * tail). Returns 0 or -1 with err set.
 */
static int replay(struct journal *j, off_t *valid_end, struct nn_err *err)
{
	int fd2 = dup(j->fd);
	FILE *f = fd2 >= 0 ? fdopen(fd2, "r") : NULL;
	if (!f) {
		if (fd2 >= 0)
			close(fd2);
		return nn_err_set(err, "%s: %s", j->path, strerror(errno));
	}
	if (lseek(fd2, 0, SEEK_SET) < 0) {
		fclose(f);
		return nn_err_set(err, "%s: %s", j->path, strerror(errno));
	}
	struct replay r = {.j = j};
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	off_t off = 0, good = 0;
	int rc = 0;
	const char *torn = NULL;
	while ((len = getline(&line, &cap, f)) > 0) {
		r.line++;
		bool complete = line[len - 1] == '\n';
		int c = getc(f);
		bool last = c == EOF;
		if (!last)
			ungetc(c, f);
		json_error_t je;
		json_t *o = complete
		                ? json_loadb(line, (size_t)len - 1, JSON_REJECT_DUPLICATES, &je)
		                : NULL;
		if (!o) {
			if (last) {
				torn = complete ? "is not valid JSON" : "has no newline";
				break;
			}
			rc = nn_err_set(err, "%s:%zu: invalid JSON (%s)", j->path, r.line, je.text);
			break;
		}
		if (r.line == 1)
			rc = check_header(&r, o, err);
		else
			rc = replay_line(&r, o, off, err);
		json_decref(o);
		if (rc < 0)
			break;
		off += len;
		if (!r.pending)
			good = off;
	}
	if (rc == 0 && ferror(f))
		rc = nn_err_set(err, "%s: %s", j->path, strerror(errno));
	free(line);
	fclose(f);
	if (rc < 0)
		return -1;
	if (r.pending) {
		strvec_push(
		    &j->warnings,
		    xasprintf("%s:%zu: the last batch (%zu of its %zu decisions) was cut short "
		              "by an interrupted write; it is skipped%s",
		              j->path, r.p_line, r.p_count, r.p_size,
		              j->write ? " and removed" : ""));
		j->n_dec = r.p_start;
		j->last_seq -= r.p_count;
		j->last_batch = r.p_batch - 1;
		state_rebuild(j);
	} else if (torn) {
		strvec_push(&j->warnings,
		            xasprintf("%s:%zu: the last line %s (an interrupted write); it is "
		                      "skipped%s",
		                      j->path, r.line, torn, j->write ? " and removed" : ""));
	}
	*valid_end = good;
	return 0;
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
static int append_durably(struct journal *j, const char *buf, size_t len, struct nn_err *err)
{
	if (check_still_there(j, err) < 0)
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
	return 0;
}

static char *dump_line(json_t *o)
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
	now_utc(tm);
	json_t *names = json_array();
	for (size_t k = 0; k < s->n_classes; k++)
		json_array_append_new(names, jtext(s->classes[k]));
	json_t *o = json_object();
	json_object_set_new(o, "v", json_integer(JOURNAL_VERSION));
	json_object_set_new(o, "type", json_string("header"));
	json_object_set_new(o, "study", jtext(s->name ? s->name : ""));
	json_object_set_new(o, "n", json_integer((json_int_t)s->n));
	json_object_set_new(o, "n_classes", json_integer((json_int_t)s->n_classes));
	json_object_set_new(o, "classes", names);
	json_object_set_new(o, "created", json_string(tm));
	char *line = dump_line(o);
	int rc = append_durably(j, line, strlen(line), err);
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
	char *fb = fallback_path(s->root);
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
	state_reset(j);
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
	if (replay(j, &valid_end, err) < 0)
		goto fail;
	if (!write) { /* a reader holds no lock after replay: the same process may then write */
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
	if (valid_end == 0 && write_header(j, err) < 0)
		goto fail;
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

void journal_close(struct journal *j)
{
	if (!j)
		return;
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
	free(j->dec);
	free(j->prior);
	free(j->live);
	strvec_free(&j->warnings);
	free(j);
}

const char *journal_path(const struct journal *j)
{
	return j->path;
}

const struct strvec *journal_warnings(const struct journal *j)
{
	return &j->warnings;
}

const int32_t *journal_labels(const struct journal *j)
{
	return j->labels;
}

const uint8_t *journal_status(const struct journal *j)
{
	return j->status;
}

const uint64_t *journal_seq(const struct journal *j)
{
	return j->seqs;
}

size_t journal_count(const struct journal *j, enum decision_action a)
{
	static const uint8_t st_of[] = {STATUS_RELABELLED, STATUS_KEPT, STATUS_REMOVED,
	                                STATUS_SKIPPED};
	if ((unsigned)a >= 4)
		return 0;
	size_t c = 0;
	for (size_t i = 0; i < j->s->n; i++)
		c += j->status[i] == st_of[a];
	return c;
}

const struct decision *journal_decisions(const struct journal *j, size_t *n)
{
	*n = j->n_dec;
	return j->dec;
}

size_t journal_undoable(const struct journal *j)
{
	return j->n_live;
}

static int check_writable(const struct journal *j, struct nn_err *err)
{
	if (!j->write || j->fd < 0)
		return nn_err_set(err, "%s: opened read-only", j->path);
	return 0;
}

int journal_decide(struct journal *j, const uint32_t *idx, size_t n, enum decision_action a,
                   int32_t new_label, struct nn_err *err)
{
	if (n == 0)
		return nn_err_set(err, "%s: no instances to decide on", j->path);
	struct decision_req *req = xcalloc(n, sizeof *req);
	for (size_t k = 0; k < n; k++)
		req[k] = (struct decision_req){.index = idx[k], .action = a, .label = new_label};
	int rc = journal_decide_batch(j, req, n, err);
	free(req);
	return rc;
}

int journal_decide_batch(struct journal *j, const struct decision_req *req, size_t n,
                         struct nn_err *err)
{
	const struct study *s = j->s;
	if (check_writable(j, err) < 0)
		return -1;
	if (n == 0)
		return nn_err_set(err, "%s: no instances to decide on", j->path);
	for (size_t k = 0; k < n; k++) {
		enum decision_action a = req[k].action;
		if ((unsigned)a >= 4)
			return nn_err_set(err, "%s: unknown action %d", j->path, (int)a);
		if (a == DECIDE_RELABEL &&
		    (req[k].label < 0 || (size_t)req[k].label >= s->n_classes))
			return nn_err_set(err, "%s: class %d out of range 0..%zu", j->path,
			                  req[k].label, s->n_classes - 1);
		if (req[k].index >= s->n)
			return nn_err_set(err, "%s: instance %u out of range 0..%zu", j->path,
			                  req[k].index, s->n - 1);
	}
	char tm[24];
	now_utc(tm);
	uint64_t batch = j->last_batch + 1;
	size_t start = j->n_dec;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (size_t k = 0; k < n; k++) {
		enum decision_action a = req[k].action;
		struct decision *d = dec_push(j);
		d->seq = j->last_seq + 1 + k;
		d->batch = batch;
		d->index = req[k].index;
		d->action = a;
		d->old_label = j->labels[d->index];
		d->new_label = a == DECIDE_RELABEL  ? req[k].label
		               : a == DECIDE_REMOVE ? -1
		                                    : d->old_label;
		snprintf(d->time, sizeof d->time, "%s", tm);
		char idbuf[32];
		json_t *o = json_object();
		json_object_set_new(o, "v", json_integer(JOURNAL_VERSION));
		json_object_set_new(o, "seq", json_integer((json_int_t)d->seq));
		json_object_set_new(o, "time", json_string(tm));
		json_object_set_new(o, "batch", json_integer((json_int_t)batch));
		json_object_set_new(o, "size", json_integer((json_int_t)n));
		json_object_set_new(o, "index", json_integer(d->index));
		json_object_set_new(o, "id",
		                    jtext(study_instance_id(s, d->index, idbuf, sizeof idbuf)));
		json_object_set_new(o, "action", json_string(action_names[a]));
		json_object_set_new(o, "old", json_integer(d->old_label));
		json_object_set_new(o, "old_class", jtext(s->classes[d->old_label]));
		json_object_set_new(o, "new", json_integer(d->new_label));
		if (d->new_label >= 0)
			json_object_set_new(o, "new_class", jtext(s->classes[d->new_label]));
		char *line = dump_line(o);
		size_t ll = strlen(line);
		if (len + ll + 1 > cap) {
			cap = 2 * (len + ll + 1);
			buf = xreallocarray(buf, cap, 1);
		}
		memcpy(buf + len, line, ll);
		len += ll;
		free(line);
		state_apply(j, start + k); /* so that a repeated index sees its new label as old */
	}
	int rc = append_durably(j, buf, len, err);
	free(buf);
	if (rc < 0) {
		state_revert(j, start, j->n_dec);
		j->n_dec = start;
		return -1;
	}
	j->last_seq += n;
	j->last_batch = batch;
	live_push(j, start);
	return 0;
}

size_t journal_apply(const struct journal *j, struct study *s)
{
	size_t n = s->n;
	if (!s->given) {
		s->given = xcalloc(n ? n : 1, sizeof *s->given);
		memcpy(s->given, s->labels, n * sizeof *s->given);
		s->status = xcalloc(n ? n : 1, 1);
	}
	s->n_decided = s->n_removed = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t st = j->status[i] == STATUS_SKIPPED ? STATUS_UNDECIDED : j->status[i];
		s->status[i] = st;
		s->n_decided += st != STATUS_UNDECIDED;
		s->n_removed += st == STATUS_REMOVED;
		if (s->labels[i] != j->labels[i]) {
			s->labels[i] = j->labels[i];
			derive_relabel(s, i);
		}
	}
	return s->n_decided;
}

int journal_undo(struct journal *j, size_t *n_undone, struct nn_err *err)
{
	if (check_writable(j, err) < 0)
		return -1;
	if (j->n_live == 0)
		return nn_err_set(err, "%s: nothing to undo", j->path);
	uint64_t batch = j->dec[j->live[j->n_live - 1]].batch;
	char tm[24];
	now_utc(tm);
	json_t *o = json_object();
	json_object_set_new(o, "v", json_integer(JOURNAL_VERSION));
	json_object_set_new(o, "seq", json_integer((json_int_t)(j->last_seq + 1)));
	json_object_set_new(o, "time", json_string(tm));
	json_object_set_new(o, "action", json_string("undo"));
	json_object_set_new(o, "undo_batch", json_integer((json_int_t)batch));
	char *line = dump_line(o);
	int rc = append_durably(j, line, strlen(line), err);
	free(line);
	if (rc < 0)
		return -1;
	j->last_seq++;
	size_t k = live_pop(j);
	if (n_undone)
		*n_undone = k;
	return 0;
}

/* ---- export ---- */

/* Writes a CSV field, quoted when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	putc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', f);
		putc(*s, f);
	}
	putc('"', f);
}

static void jsonl_write(FILE *f, json_t *o)
{
	json_dumpf(o, f, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
	json_decref(o);
	putc('\n', f);
}

static void write_npy(FILE *f, const struct study *s, const struct journal *j)
{
	char dict[128];
	int n = snprintf(dict, sizeof dict,
	                 "{'descr': '<i8', 'fortran_order': False, 'shape': (%zu,), }", s->n);
	size_t total = 10 + (size_t)n + 1, pad = (64 - total % 64) % 64, hlen = (size_t)n + pad + 1;
	fwrite("\x93NUMPY\x01\x00", 1, 8, f);
	putc((int)(hlen & 0xff), f);
	putc((int)(hlen >> 8), f);
	fwrite(dict, 1, (size_t)n, f);
	for (size_t k = 0; k < pad; k++)
		putc(' ', f);
	putc('\n', f);
	for (size_t i = 0; i < s->n; i++) {
		int64_t v = j->status[i] == STATUS_REMOVED ? -1 : j->labels[i];
		uint64_t u = (uint64_t)v;
		unsigned char b[8];
		for (int k = 0; k < 8; k++)
			b[k] = (unsigned char)(u >> (8 * k));
		fwrite(b, 1, 8, f);
	}
}

static void write_labels_text(FILE *f, const struct study *s, const struct journal *j, bool csv)
{
	if (csv)
		fputs("index,id,label,class,status\n", f);
	for (size_t i = 0; i < s->n; i++) {
		char idbuf[32];
		const char *id = study_instance_id(s, i, idbuf, sizeof idbuf);
		bool removed = j->status[i] == STATUS_REMOVED;
		int32_t lab = removed ? -1 : j->labels[i];
		const char *st = status_names[j->status[i]];
		if (csv) {
			fprintf(f, "%zu,", i);
			csv_field(f, id);
			fprintf(f, ",%d,", lab);
			csv_field(f, removed ? "" : s->classes[lab]);
			fprintf(f, ",%s\n", st);
			continue;
		}
		json_t *o = json_object();
		json_object_set_new(o, "index", json_integer((json_int_t)i));
		json_object_set_new(o, "id", jtext(id));
		json_object_set_new(o, "label", json_integer(lab));
		json_object_set_new(o, "class", removed ? json_null() : jtext(s->classes[lab]));
		json_object_set_new(o, "status", json_string(st));
		json_object_set_new(o, "given", json_integer(study_given(s)[i]));
		jsonl_write(f, o);
	}
}

static void write_decisions(FILE *f, const struct study *s, const struct journal *j, bool csv)
{
	if (csv)
		fputs("index,id,old,new,action,time\n", f);
	for (size_t k = 0; k < j->n_dec; k++) {
		const struct decision *d = &j->dec[k];
		if (d->undone)
			continue;
		char idbuf[32];
		const char *id = study_instance_id(s, d->index, idbuf, sizeof idbuf);
		if (csv) {
			fprintf(f, "%u,", d->index);
			csv_field(f, id);
			fprintf(f, ",%d,%d,%s,%s\n", d->old_label, d->new_label,
			        action_names[d->action], d->time);
			continue;
		}
		json_t *o = json_object();
		json_object_set_new(o, "index", json_integer(d->index));
		json_object_set_new(o, "id", jtext(id));
		json_object_set_new(o, "old", json_integer(d->old_label));
		json_object_set_new(o, "new", json_integer(d->new_label));
		json_object_set_new(o, "action", json_string(action_names[d->action]));
		json_object_set_new(o, "time", json_string(d->time));
		jsonl_write(f, o);
	}
}

/* The extension of path's last component (after its last dot), or "". */
static const char *path_ext(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	return dot && dot != base ? dot + 1 : "";
}

char *journal_export_decisions_path(const char *path, const char *format)
{
	const char *ext = path_ext(path);
	if (!format)
		format = ext;
	size_t keep = strlen(path) - (*ext ? strlen(ext) + 1 : 0);
	return xasprintf("%.*s.decisions.%s", (int)keep, path,
	                 format && strcmp(format, "jsonl") == 0 ? "jsonl" : "csv");
}

int journal_export(const struct study *s, const struct journal *j, const char *path,
                   const char *format, struct nn_err *err)
{
	if (!format)
		format = path_ext(path);
	if (strcmp(format, "npy") != 0 && strcmp(format, "csv") != 0 &&
	    strcmp(format, "jsonl") != 0)
		return nn_err_set(err, "%s: unknown export format '%s' (npy, csv or jsonl)", path,
		                  format);
	if (s != j->s || s->n == 0)
		return nn_err_set(err, "%s: the journal belongs to another study", path);
	struct outfile lab = {0}, dec = {0};
	char *dec_path = journal_export_decisions_path(path, format);
	int opened = outfile_open(&lab, path, 0666, err) == 0 &&
	             outfile_open(&dec, dec_path, 0666, err) == 0;
	free(dec_path);
	if (!opened) {
		outfile_discard(&lab);
		outfile_discard(&dec);
		return -1;
	}
	bool csv = strcmp(format, "jsonl") != 0;
	if (strcmp(format, "npy") == 0)
		write_npy(lab.f, s, j);
	else
		write_labels_text(lab.f, s, j, csv);
	write_decisions(dec.f, s, j, csv);
	int rc = 0;
	if (outfile_finish(&lab, err) < 0 || outfile_finish(&dec, err) < 0 ||
	    outfile_commit(&dec, true, NULL, err) < 0 || outfile_commit(&lab, true, NULL, err) < 0)
		rc = -1;
	outfile_discard(&lab);
	outfile_discard(&dec);
	return rc;
}
