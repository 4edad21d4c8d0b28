/* journal_replay.c — reading a journal back: the header, each decision line checked, a torn last
 * line. */
#include "nncmp/journal_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nncmp/text.h"

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
		char *sn = journal_norm_text(s->classes[k]);
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
		if (strcmp(a, journal_action_name((enum decision_action)k)) == 0)
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
		journal_live_pop(j);
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
		char *sid = journal_norm_text(study_instance_id(s, (size_t)index, buf, sizeof buf));
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
	struct decision *d = journal_dec_push(j);
	d->seq = (uint64_t)seq;
	d->batch = (uint64_t)batch;
	d->index = (uint32_t)index;
	d->old_label = (int32_t)old;
	d->new_label = (int32_t)nw;
	d->action = (enum decision_action)act;
	snprintf(d->time, sizeof d->time, "%s", tm);
	journal_state_apply(j, j->n_dec - 1);
	if (++r->p_count == r->p_size) {
		journal_live_push(j, r->p_start);
		r->pending = false;
	}
	return 0;
}

/*
 * Replays the whole file; sets *valid_end to the length of its valid part (what precedes a torn
 * tail). Returns 0 or -1 with err set.
 */
int journal_replay(struct journal *j, off_t *valid_end, struct nn_err *err)
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
		journal_state_rebuild(j);
	} else if (torn) {
		strvec_push(&j->warnings,
		            xasprintf("%s:%zu: the last line %s (an interrupted write); it is "
		                      "skipped%s",
		                      j->path, r.line, torn, j->write ? " and removed" : ""));
	}
	*valid_end = good;
	return 0;
}
