/*
 * fuzz_journal.c — replay of the triage journal, for a study of 4 instances and 3 classes.
 *
 * The input is written as the journal file and opened read-only. When that succeeds, opening it
 * for writing must succeed too (repairing a torn tail) with the same state; a decision and its
 * undo appended there must leave a file that reopens to that same state. Any difference aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nncmp/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char *path;
static char *classes[3] = {"cat", "dog", "bird"};
static int32_t labels[4] = {0, 1, 2, 1};

struct snap {
	int32_t labels[4];
	uint8_t status[4];
	size_t undoable;
};

static void snap_take(struct snap *sn, const struct journal *j)
{
	memcpy(sn->labels, journal_labels(j), sizeof sn->labels);
	memcpy(sn->status, journal_status(j), sizeof sn->status);
	sn->undoable = journal_undoable(j);
}

static void same_state(const struct snap *a, const struct journal *b)
{
	struct snap sb;
	snap_take(&sb, b);
	if (memcmp(a->labels, sb.labels, sizeof sb.labels) != 0 ||
	    memcmp(a->status, sb.status, sizeof sb.status) != 0 || a->undoable != sb.undoable)
		abort();
}

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!path) {
		/* tmpfs when there is one: every run fsyncs */
		snprintf(dir, sizeof dir, "%s/nncmp-fuzz-journal-XXXXXX",
		         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (!mkdtemp(dir))
			abort();
		path = xasprintf("%s/%s", dir, JOURNAL_FILE);
		atexit(cleanup);
	}
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	struct study s = {.name = "fuzz", .root = dir, .n = 4, .n_classes = 3};
	s.classes = classes;
	s.labels = labels;
	struct nn_err err;
	struct journal *r = journal_open(&s, false, &err);
	if (!r)
		return 0;
	for (size_t i = 0; i < s.n; i++)
		if (journal_labels(r)[i] < 0 || journal_labels(r)[i] > 2 ||
		    journal_status(r)[i] > STATUS_SKIPPED)
			abort();
	struct snap sr;
	snap_take(&sr, r);
	journal_close(r); /* its shared lock would keep the writer out */
	struct journal *w = journal_open(&s, true, &err);
	if (!w)
		abort();
	same_state(&sr, w);
	uint32_t idx[2] = {size % 4, 3};
	if (journal_decide(w, idx, 2, (enum decision_action)(size % 4), (int32_t)(size % 3), &err) <
	        0 ||
	    journal_undo(w, NULL, &err) < 0)
		abort();
	same_state(&sr, w);
	journal_close(w);
	struct journal *again = journal_open(&s, false, &err);
	if (!again || journal_warnings(again)->n != 0)
		abort();
	same_state(&sr, again);
	journal_close(again);
	return 0;
}
