/*
 * journal.h — the triage journal: every labelling decision on a study, durable, and the export
 * of the corrected labels.
 *
 * Where. The journal is `nncmp-journal.jsonl` in the study's root (struct study's `root`: the
 * directory of a study.ini, else the study directory). When that directory is not writable it
 * is kept in $XDG_STATE_HOME/nncmp/journals/NAME.jsonl (~/.local/state when XDG_STATE_HOME is
 * unset), NAME being the study root's realpath with every byte outside [A-Za-z0-9._-] made '_'
 * (at most 80 of them) and a 64-bit FNV-1a hash of the whole realpath. Lookup order, for reading
 * and writing alike: the root's journal if it exists, else the fallback's if it exists, else a
 * new one in the root, else (root not writable) a new fallback. journal_path() says which, and
 * journal_warnings() says so when it is the fallback.
 *
 * Format: JSON lines (ASCII, one object per line). The first is a header written at creation:
 *   {"v":1,"type":"header","study":"digits","n":899,"n_classes":10,"classes":["0",...],
 *    "created":"2026-11-22T10:03:11Z"}
 * then one line per decision:
 *   {"v":1,"seq":12,"time":"2026-11-22T10:03:11Z","batch":7,"size":2,"index":406,
 *    "id":"digit-0406","action":"relabel","old":5,"old_class":"5","new":1,"new_class":"1"}
 * and one per undo: {"v":1,"seq":13,"time":"...","action":"undo","undo_batch":7}.
 * `seq` increases by one per line from 1; `batch` numbers the calls of journal_decide (one batch
 * may hold many decisions: a bulk decision on marked samples), whose `size` lines follow each
 * other. `old` is the instance's current label before the decision, `new` its label after it
 * (relabel: the new class; keep and skip: old; remove: -1). An undo reverts every decision of
 * `undo_batch`, which must be the most recent batch not yet undone; undos go back batch after
 * batch (there is no redo). Indices and class ids are authoritative; class names are written for
 * human readers, and an `id`, when present, must be the study's id of that index.
 * Text that is not valid UTF-8 (ids, class names) is written escaped as text_sanitize() does.
 *
 * Status per instance, after every live (not undone) decision in order: relabel sets the label,
 * and relabel and keep set KEPT when the label is then the given one, else RELABELLED (so a
 * sample relabelled back is kept, a relabel confirmed stays relabelled); remove sets REMOVED and
 * keeps the label (journal_labels() still
 * shows it; the export writes -1); skip sets SKIPPED only on an undecided or skipped instance (a
 * decided one stays decided) and never changes the label. journal_seq() gives the seq of the
 * decision that set the status (0 when undecided). An undo restores what its decisions
 * overwrote, so a replay costs one step per line however many undos it holds.
 *
 * Durability: a new journal's header is written and fsync'd, and its directory fsync'd, before
 * journal_open returns. journal_decide and journal_undo format their lines, write them with one
 * write() (retried only on a short write), fsync() the file, and only then change the in-memory
 * state and return 0. On failure the file is cut back to its previous length and the state is
 * unchanged. Before every write the open file must still be the journal at its path: one
 * deleted (no link left), renamed or replaced meanwhile is never written to; the call fails
 * and says so, so that no decision is lost silently.
 *
 * Replay (journal_open): every complete valid line applies. A torn tail — a last line without a
 * newline, a last line that is not valid JSON, or a last batch with fewer than `size` lines —
 * is skipped with a warning and, when opened for writing, truncated away at once (so the file
 * stays valid JSONL). Anything wrong before the tail is an error "PATH:LINE: problem", never
 * guessed around: invalid JSON, an unknown action, an index or class out of range, an `old` that
 * is not the label the replay reached (the study's labels changed), a seq out of order, an undo
 * of a batch that is not the last live one. A header whose n, number of classes or class names
 * differ from the study's is refused ("PATH: journal of a study with N instances and C classes,
 * but this study has N2 and C2: refusing to apply it").
 *
 * Locking: opening for writing takes flock(LOCK_EX | LOCK_NB) on the journal for the session and
 * writes the pid to PATH.lock (removed by journal_close; a stale one after a crash is harmless:
 * the flock died with the process; one that cannot be written is removed, never left empty). A
 * second writer fails with "PATH: in use by another nncmp (pid N)" — also within one process:
 * flock locks belong to open files. A journal that exists but cannot be opened for writing (a
 * read-only file system, no permission) fails with "PATH: cannot write the journal (REASON):
 * decisions cannot be saved". Opening read-only takes a shared lock only while it replays and
 * then closes the file (so a process may hold a reader and then open a writer); when a writer
 * holds the journal it reads the decisions written so far and says so in a warning — it never
 * blocks and never writes. The journal, its PATH.lock and every file read from a study must be
 * regular files: a FIFO or a device there is refused ("PATH: not a regular file"), never
 * waited on.
 * A read-only open of a study without a journal gives an empty one (every instance undecided).
 *
 * Ownership: journal_open returns a journal that borrows the study (which must outlive it) and
 * owns everything else; the pointers returned by the accessors live until the next
 * journal_decide/journal_undo/journal_close. Not thread-safe: one thread at a time.
 */
#ifndef NNCMP_JOURNAL_H
#define NNCMP_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/study.h"
#include "nncmp/util.h"

#define JOURNAL_FILE "nncmp-journal.jsonl"

enum decision_action { DECIDE_RELABEL, DECIDE_KEEP, DECIDE_REMOVE, DECIDE_SKIP };

struct decision {
	uint64_t seq, batch;
	uint32_t index;
	int32_t old_label, new_label; /* new_label is -1 for remove */
	enum decision_action action;
	bool undone;
	char time[24]; /* as written, "2026-11-22T10:03:11Z" */
};

struct journal;

/*
 * Opens (write: creating it when absent) and replays the journal of study s. Returns NULL with a
 * one-line message in err on any problem (see the contract above).
 */
struct journal *journal_open(const struct study *s, bool write, struct nn_err *err);
/*
 * Makes read-only j writable in place, as journal_open(s, true) would open it, when the file is
 * still the one j replayed, as long, ending with a complete line (or there still is none, and it
 * can be created where j looked), and j has no warning: O(1) instead of a replay into new O(N)
 * arrays. Returns true then; false with j unchanged (read-only) otherwise, for the caller to
 * reopen with journal_open (which says what is wrong, if anything).
 */
bool journal_upgrade(struct journal *j);
/* Releases the lock and everything the journal owns; NULL is allowed. */
void journal_close(struct journal *j);
/* The journal file in use (or, read-only without a journal, where it would be). */
const char *journal_path(const struct journal *j);
/* Lines worth showing the user: a torn tail skipped, the fallback location, a writer present. */
const struct strvec *journal_warnings(const struct journal *j);

/*
 * Appends one batch: n decisions on idx[] (each < s->n), all with action a and, for relabel, the
 * label new_label (0 .. n_classes-1; ignored otherwise). Durable when it returns 0; -1 with err
 * set (bad argument, read-only journal, I/O error) leaves file and state as they were.
 */
int journal_decide(struct journal *j, const uint32_t *idx, size_t n, enum decision_action a,
                   int32_t new_label, struct nn_err *err);
/* One decision of a batch: for relabel, label is the new class (ignored otherwise). */
struct decision_req {
	uint32_t index;
	enum decision_action action;
	int32_t label;
};
/*
 * Appends one batch of n decisions, each with its own action and label (a bulk "accept" gives
 * every sample its own suggestion); one journal_undo reverts them all. Durable when it returns
 * 0; -1 with err set leaves file and state as they were, as journal_decide.
 */
int journal_decide_batch(struct journal *j, const struct decision_req *req, size_t n,
                         struct nn_err *err);
/* Reverts the most recent live batch, durably; sets *n_undone (may be NULL) to its size. */
int journal_undo(struct journal *j, size_t *n_undone, struct nn_err *err);

/* The n current labels (the given label while undecided; the kept label for removed ones). */
const int32_t *journal_labels(const struct journal *j);
/* The n statuses (enum decision_status; 0 = undecided). */
const uint8_t *journal_status(const struct journal *j);
/* The n seqs of the decisions that set each status (0 = undecided). */
const uint64_t *journal_seq(const struct journal *j);
/* The seq of the journal's last line, written or replayed: it grows with every decision and
 * undo, so that a view can tell whether the statuses changed since it last looked. */
uint64_t journal_last_seq(const struct journal *j);
/* Instances whose current status is the one action a sets (relabel: RELABELLED, ...). */
size_t journal_count(const struct journal *j, enum decision_action a);
/* Every decision replayed or appended, in order, undone ones flagged; *n gets the count. */
const struct decision *journal_decisions(const struct journal *j, size_t *n);
/* How many batches journal_undo can still revert. */
size_t journal_undoable(const struct journal *j);

/*
 * Makes the journal's decisions the study's: s->labels becomes the corrected labels (with the
 * model numbers that depend on them re-derived), s->given the labels in the files, s->status
 * each instance's status (skipped counts as undecided). s must be the journal's study; call it
 * again after each decide or undo: a call after the first costs the instances that changed
 * since the one before, not the study. Returns the number of decided instances (s->n_decided).
 */
size_t journal_apply(struct journal *j, struct study *s);
/*
 * Makes ahead the O(N) copies the first journal_apply to the study takes (its given labels and
 * statuses), so that the apply itself costs only the changed instances: for a TUI, on its worker
 * while the UI thread waits for nothing. Only reads the study and writes only these copies in j,
 * so other threads may read j and the study meanwhile; none may apply, decide or undo. Does
 * nothing once the study was applied or the copies are made.
 */
void journal_prepare_apply(struct journal *j);

/* "relabel", "keep", "remove", "skip"; and the status names "undecided", "relabelled", .... */
const char *journal_action_name(enum decision_action a);
const char *journal_status_name(enum decision_status st);

/*
 * Writes the corrected labels to path and the live decisions next to it (path minus its
 * extension + ".decisions.csv", or ".decisions.jsonl" for jsonl). format is "npy" (int64 (n,),
 * -1 for removed), "csv" (index,id,label,class,status with a header), "jsonl" (one object per
 * instance), or NULL to take it from path's extension. Each file is written to a temporary in
 * its directory, fsync'd and renamed over the target (existing regular files are replaced: a
 * caller that must not overwrite checks first; a symbolic link, directory, device or FIFO there
 * is refused, never replaced); on failure no partial file or temporary is left.
 */
int journal_export(const struct study *s, const struct journal *j, const char *path,
                   const char *format, struct nn_err *err);
/* The decisions table's path for an export to path in format (NULL: from path; caller frees). */
char *journal_export_decisions_path(const char *path, const char *format);

#endif
