/* journal.c — the triage journal: decisions, their replayed state, undo, applying them to a study.
 */
#include "nncmp/journal_internal.h"
#include "nncmp/derive.h"

#include <assert.h>
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
char *journal_norm_text(const char *s)
{
	return text_valid_utf8(s);
}

json_t *journal_jtext(const char *s)
{
	char *t = journal_norm_text(s);
	json_t *v = json_string(t);
	free(t);
	return v;
}

void journal_now_utc(char out[24])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void journal_state_reset(struct journal *j)
{
	memcpy(j->labels, study_given(j->s), j->s->n * sizeof *j->labels);
	memset(j->status, 0, j->s->n);
	memset(j->seqs, 0, j->s->n * sizeof *j->seqs);
	memset(j->n_status, 0, sizeof j->n_status);
	j->n_status[STATUS_UNDECIDED] = j->s->n;
	j->dirty_all = true;
	j->n_dirty = 0;
}

/* Notes that instance i changed, for the next journal_apply. */
static void mark_dirty(struct journal *j, uint32_t i)
{
	if (j->dirty_all)
		return;
	if (j->n_dirty >= j->s->n / 8 + 64) { /* as well the whole study */
		j->dirty_all = true;
		j->n_dirty = 0;
		return;
	}
	if (j->n_dirty == j->cap_dirty) {
		j->cap_dirty = j->cap_dirty ? 2 * j->cap_dirty : 64;
		j->dirty = xreallocarray(j->dirty, j->cap_dirty, sizeof *j->dirty);
	}
	j->dirty[j->n_dirty++] = i;
}

/* Instance i's status becomes st, its count following. */
static void set_status(struct journal *j, uint32_t i, uint8_t st)
{
	j->n_status[j->status[i]]--;
	j->n_status[st]++;
	j->status[i] = st;
	mark_dirty(j, i);
}

/* Applies decision k of dec[] to the state, remembering what it overwrites in prior[k]. */
void journal_state_apply(struct journal *j, size_t k)
{
	const struct decision *d = &j->dec[k];
	uint32_t i = d->index;
	j->prior[k].seq = j->seqs[i];
	j->prior[k].status = j->status[i];
	/* the status says where the label ended: relabelled back to the given class is kept,
	 * keeping a relabelled sample's new class leaves it relabelled */
	int32_t given = study_given(j->s)[i];
	switch (d->action) {
	case DECIDE_RELABEL:
		j->labels[i] = d->new_label;
		mark_dirty(j, i);
		set_status(j, i, d->new_label == given ? STATUS_KEPT : STATUS_RELABELLED);
		break;
	case DECIDE_KEEP:
		set_status(j, i, j->labels[i] == given ? STATUS_KEPT : STATUS_RELABELLED);
		break;
	case DECIDE_REMOVE:
		set_status(j, i, STATUS_REMOVED);
		break;
	case DECIDE_SKIP:
		if (j->status[i] != STATUS_UNDECIDED && j->status[i] != STATUS_SKIPPED)
			return;
		set_status(j, i, STATUS_SKIPPED);
		break;
	}
	j->seqs[i] = d->seq;
}

/* Recomputes labels and statuses from the live decisions. */
void journal_state_rebuild(struct journal *j)
{
	journal_state_reset(j);
	for (size_t k = 0; k < j->n_dec; k++)
		if (!j->dec[k].undone)
			journal_state_apply(j, k);
}

/*
 * Takes back decisions start..end-1 of dec[], the last ones applied, newest first: each
 * instance gets the label, status and seq it had before. Costs the batch, not the journal, so
 * that replaying many undos stays linear.
 */
void journal_state_revert(struct journal *j, size_t start, size_t end)
{
	for (size_t k = end; k-- > start;) {
		const struct decision *d = &j->dec[k];
		j->labels[d->index] = d->old_label;
		mark_dirty(j, d->index);
		set_status(j, d->index, j->prior[k].status);
		j->seqs[d->index] = j->prior[k].seq;
	}
}

struct decision *journal_dec_push(struct journal *j)
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

void journal_live_push(struct journal *j, size_t start)
{
	if (j->n_live == j->cap_live) {
		j->cap_live = j->cap_live ? 2 * j->cap_live : 16;
		j->live = xreallocarray(j->live, j->cap_live, sizeof *j->live);
	}
	j->live[j->n_live++] = start;
}

/* Marks the most recent live batch undone, reverts its decisions and returns its size. */
size_t journal_live_pop(struct journal *j)
{
	size_t start = j->live[--j->n_live];
	uint64_t b = j->dec[start].batch;
	size_t k = start;
	for (; k < j->n_dec && j->dec[k].batch == b; k++)
		j->dec[k].undone = true;
	journal_state_revert(j, start, k);
	return k - start;
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

uint64_t journal_last_seq(const struct journal *j)
{
	return j->last_seq;
}

size_t journal_count(const struct journal *j, enum decision_action a)
{
	static const uint8_t st_of[] = {STATUS_RELABELLED, STATUS_KEPT, STATUS_REMOVED,
	                                STATUS_SKIPPED};
	if ((unsigned)a >= 4)
		return 0;
	return j->n_status[st_of[a]];
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
	journal_now_utc(tm);
	uint64_t batch = j->last_batch + 1;
	size_t start = j->n_dec;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (size_t k = 0; k < n; k++) {
		enum decision_action a = req[k].action;
		struct decision *d = journal_dec_push(j);
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
		json_object_set_new(
		    o, "id", journal_jtext(study_instance_id(s, d->index, idbuf, sizeof idbuf)));
		json_object_set_new(o, "action", json_string(action_names[a]));
		json_object_set_new(o, "old", json_integer(d->old_label));
		json_object_set_new(o, "old_class", journal_jtext(s->classes[d->old_label]));
		json_object_set_new(o, "new", json_integer(d->new_label));
		if (d->new_label >= 0)
			json_object_set_new(o, "new_class",
			                    journal_jtext(s->classes[d->new_label]));
		char *line = journal_dump_line(o);
		size_t ll = strlen(line);
		if (len + ll + 1 > cap) {
			cap = 2 * (len + ll + 1);
			buf = xreallocarray(buf, cap, 1);
		}
		memcpy(buf + len, line, ll);
		len += ll;
		free(line);
		journal_state_apply(
		    j, start + k); /* so that a repeated index sees its new label as old */
	}
	int rc = journal_append(j, buf, len, err);
	free(buf);
	if (rc < 0) {
		journal_state_revert(j, start, j->n_dec);
		j->n_dec = start;
		return -1;
	}
	j->last_seq += n;
	j->last_batch = batch;
	journal_live_push(j, start);
	return 0;
}

/* Instance i of s takes the journal's status and label (the counts follow the status). */
static void apply_one(const struct journal *j, struct study *s, size_t i)
{
	uint8_t st = j->status[i] == STATUS_SKIPPED ? STATUS_UNDECIDED : j->status[i];
	uint8_t old = s->status[i];
	s->n_decided -= old != STATUS_UNDECIDED;
	s->n_removed -= old == STATUS_REMOVED;
	s->status[i] = st;
	s->n_decided += st != STATUS_UNDECIDED;
	s->n_removed += st == STATUS_REMOVED;
	if (s->labels[i] != j->labels[i]) {
		s->labels[i] = j->labels[i];
		derive_relabel(s, i);
	}
}

void journal_prepare_apply(struct journal *j)
{
	const struct study *s = j->s;
	if (s->given || j->prep_given)
		return;
	/* never applied, so s->labels are the labels in the files (only an apply changes them) */
	j->prep_given = xcalloc(s->n ? s->n : 1, sizeof *j->prep_given);
	memcpy(j->prep_given, s->labels, s->n * sizeof *j->prep_given);
	j->prep_status = xcalloc(s->n ? s->n : 1, 1);
	/* the zero pages faulted in here, not on the caller of the apply */
	memset(j->prep_status, STATUS_UNDECIDED, s->n);
}

size_t journal_apply(struct journal *j, struct study *s)
{
	assert(j->s == s); /* the copies journal_prepare_apply makes are of j's study */
	size_t n = s->n;
	if (!s->given) { /* never applied: the labels in the files, every instance undecided */
		if (!j->prep_given)
			journal_prepare_apply(j);
		s->given = j->prep_given;
		s->status = j->prep_status;
		j->prep_given = NULL;
		j->prep_status = NULL;
		s->n_decided = s->n_removed = 0;
	} else if (!j->applied) { /* applied by another journal (a reopen): every instance */
		j->dirty_all = true;
	}
	j->applied = true;
	/* only what changed since the last apply (or the open), else every instance; the counts
	 * always agree with s->status, so either way they follow instance by instance */
	if (!j->dirty_all)
		for (size_t k = 0; k < j->n_dirty; k++)
			apply_one(j, s, j->dirty[k]);
	else
		for (size_t i = 0; i < n; i++)
			apply_one(j, s, i);
	j->dirty_all = false;
	j->n_dirty = 0;
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
	journal_now_utc(tm);
	json_t *o = json_object();
	json_object_set_new(o, "v", json_integer(JOURNAL_VERSION));
	json_object_set_new(o, "seq", json_integer((json_int_t)(j->last_seq + 1)));
	json_object_set_new(o, "time", json_string(tm));
	json_object_set_new(o, "action", json_string("undo"));
	json_object_set_new(o, "undo_batch", json_integer((json_int_t)batch));
	char *line = journal_dump_line(o);
	int rc = journal_append(j, line, strlen(line), err);
	free(line);
	if (rc < 0)
		return -1;
	j->last_seq++;
	size_t k = journal_live_pop(j);
	if (n_undone)
		*n_undone = k;
	return 0;
}
