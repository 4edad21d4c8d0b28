/*
 * journal_internal.h — what the parts of the journal module share (journal.c: the decisions and
 * their state, undo; journal_replay.c: reading the file back; journal_open.c: finding, creating,
 * locking and appending to the file; journal_export.c: the corrected labels and the decisions
 * as files). Not for other modules: they use journal.h.
 */
#ifndef NNCMP_JOURNAL_INTERNAL_H
#define NNCMP_JOURNAL_INTERNAL_H

#include <jansson.h>
#include <sys/types.h>
#include <time.h>

#include "nncmp/journal.h"

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
	/* this open created the file and nothing but the header was appended since: journal_close
	 * removes it, so looking at the review queue leaves no file behind */
	bool pristine;
	uint64_t last_seq, last_batch;
	int32_t *labels;
	uint8_t *status;
	size_t n_status[STATUS_SKIPPED + 1]; /* instances per status, kept with status[] */
	/* the instances whose label or status changed since journal_apply last ran, or since the
	 * open (dirty_all: too many to list, or after a rebuild), so that an apply costs what
	 * changed */
	uint32_t *dirty;
	size_t n_dirty, cap_dirty;
	bool dirty_all;
	bool applied; /* journal_apply ran: a study applied before by another journal is redone */
	/* journal_prepare_apply's copies for the study's given and status, until an apply takes
	 * them (NULL: none made, or taken) */
	int32_t *prep_given;
	uint8_t *prep_status;
	uint64_t *seqs;
	struct decision *dec;
	struct prior *prior; /* per decision: its instance's status and seq before it applied */
	size_t n_dec, cap_dec;
	size_t *live; /* index in dec of the first decision of each live batch, oldest first */
	size_t n_live, cap_live;
	struct strvec warnings;
	/* read-only: the file as replayed (journal_upgrade takes it over when it is unchanged) */
	bool rd_file;
	dev_t rd_dev;
	ino_t rd_ino;
	off_t rd_size, rd_valid_end;
	struct timespec rd_mtime;
};

/*
 * Text as the journal stores it (caller frees): bytes that are not UTF-8 as \xHH, the rule of
 * all JSON that nncmp writes (text_valid_utf8).
 */
char *journal_norm_text(const char *s);
/* journal_norm_text(s) as a JSON string. */
json_t *journal_jtext(const char *s);
/* The time now as ISO 8601 UTC, "2026-01-02T03:04:05Z". */
void journal_now_utc(char out[24]);
/* Every instance undecided, with its label as in the files. */
void journal_state_reset(struct journal *j);
/* Applies decision k of dec[] to the state, remembering what it overwrites in prior[k]. */
void journal_state_apply(struct journal *j, size_t k);
/* Recomputes labels and statuses from the live decisions. */
void journal_state_rebuild(struct journal *j);
/*
 * Takes back decisions start..end-1 of dec[], the last ones applied, newest first: each
 * instance gets the label, status and seq it had before. Costs the batch, not the journal, so
 * that replaying many undos stays linear.
 */
void journal_state_revert(struct journal *j, size_t start, size_t end);
/* A new zeroed decision at the end of dec[] (grown as needed). */
struct decision *journal_dec_push(struct journal *j);
/* Records a live batch whose first decision is dec[start]. */
void journal_live_push(struct journal *j, size_t start);
/* Marks the most recent live batch undone, reverts its decisions and returns its size. */
size_t journal_live_pop(struct journal *j);
/*
 * Replays the whole file; sets *valid_end to the length of its valid part (what precedes a torn
 * tail). Returns 0 or -1 with err set.
 */
int journal_replay(struct journal *j, off_t *valid_end, struct nn_err *err);
/* Writes all of buf at the end of the file and fsyncs; on failure cuts back to the old end. */
int journal_append(struct journal *j, const char *buf, size_t len, struct nn_err *err);
/* o as one compact JSON line ending in "\n" (caller frees); releases o. */
char *journal_dump_line(json_t *o);

#endif
