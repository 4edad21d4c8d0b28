/*
 * test_journal.c — the triage journal: append and replay, undo, torn tails, garbage, a study
 * that does not match, locking between processes, the fallback location, export, and a writer
 * killed with SIGKILL. The expected states come from a small model of the documented rules
 * (journal.h) written here, not from the journal's own output.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "nncmp/journal.h"
#include "nncmp/journal_internal.h" /* journal_prepare_apply's copies */
#include "nncmp/study.h"

#define N 6
static const int64_t given[N] = {0, 1, 2, 1, 0, 2};

/* A study of 6 instances, classes cat/dog/bird, ids s0..s5, in a fresh scratch directory. */
static char *make_study(void)
{
	char *dir = xstrdup(tu_mkdtemp());
	tu_write_i64(dir, "labels.npy", given, N);
	tu_write_str(dir, "classes.txt", "cat\ndog\nbird\n");
	tu_write_i64(dir, "models/a/pred.npy", given, N);
	tu_write_str(dir, "samples.jsonl",
	             "{\"id\":\"s0\"}\n{\"id\":\"s1\"}\n{\"id\":\"s2\"}\n{\"id\":\"s3\"}\n"
	             "{\"id\":\"s4\"}\n{\"id\":\"s5\"}\n");
	return dir;
}

static struct study *open_study(const char *dir)
{
	struct nn_err err = {{0}};
	struct study *s = study_open(dir, &err);
	if (!s)
		fail_msg("%s", err.msg);
	return s;
}

static struct journal *jopen(const struct study *s, bool write)
{
	struct nn_err err = {{0}};
	struct journal *j = journal_open(s, write, &err);
	if (!j)
		fail_msg("journal_open: %s", err.msg);
	return j;
}

static void decide(struct journal *j, const uint32_t *idx, size_t n, enum decision_action a,
                   int32_t lab)
{
	struct nn_err err = {{0}};
	if (journal_decide(j, idx, n, a, lab, &err) < 0)
		fail_msg("journal_decide: %s", err.msg);
}

static void undo(struct journal *j, size_t want)
{
	struct nn_err err = {{0}};
	size_t n = 0;
	if (journal_undo(j, &n, &err) < 0)
		fail_msg("journal_undo: %s", err.msg);
	assert_int_equal(n, want);
}

static void expect_state(const struct journal *j, const int32_t *lab, const uint8_t *st)
{
	const int32_t *l = journal_labels(j);
	const uint8_t *s = journal_status(j);
	for (size_t i = 0; i < N; i++) {
		if (l[i] != lab[i] || s[i] != st[i])
			fail_msg("instance %zu: label %d status %d, want %d %d", i, l[i], s[i],
			         lab[i], st[i]);
	}
}

static char *read_text(const char *path, size_t *len)
{
	struct nn_err err = {{0}};
	char *t = file_read_all(path, 1 << 24, len, &err);
	if (!t)
		fail_msg("%s", err.msg);
	return t;
}

static void append_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static bool has_warning(const struct journal *j, const char *needle)
{
	const struct strvec *w = journal_warnings(j);
	for (size_t i = 0; i < w->n; i++)
		if (strstr(w->v[i], needle))
			return true;
	return false;
}

static void test_append_replay(void **state)
{
	(void)state;
	char *dir = make_study();
	struct study *s = open_study(dir);
	struct journal *j = jopen(s, true);
	char *want_path = path_join(dir, JOURNAL_FILE);
	assert_string_equal(journal_path(j), want_path);
	uint32_t i0 = 0, i1 = 1, i2 = 2, i3 = 3, i5[2] = {4, 5};
	decide(j, &i0, 1, DECIDE_RELABEL, 2);
	decide(j, &i1, 1, DECIDE_KEEP, 0);
	decide(j, &i2, 1, DECIDE_REMOVE, 0);
	decide(j, &i3, 1, DECIDE_SKIP, 0);
	decide(j, i5, 2, DECIDE_RELABEL, 1);
	decide(j, &i3, 1, DECIDE_RELABEL, 0); /* a skipped one decided later */
	decide(j, &i3, 1, DECIDE_SKIP, 0);    /* skip leaves a decided one as it is */
	journal_close(j);

	int32_t lab[N] = {2, 1, 2, 0, 1, 1};
	uint8_t st[N] = {STATUS_RELABELLED, STATUS_KEPT,       STATUS_REMOVED,
	                 STATUS_RELABELLED, STATUS_RELABELLED, STATUS_RELABELLED};
	j = jopen(s, false);
	expect_state(j, lab, st);
	assert_int_equal(journal_count(j, DECIDE_RELABEL), 4);
	assert_int_equal(journal_count(j, DECIDE_REMOVE), 1);
	assert_int_equal(journal_undoable(j), 7);
	size_t nd;
	const struct decision *d = journal_decisions(j, &nd);
	assert_int_equal(nd, 8);
	assert_int_equal(d[0].old_label, 0);
	assert_int_equal(d[0].new_label, 2);
	assert_int_equal(d[2].new_label, -1);
	assert_int_equal(d[4].batch, d[5].batch);
	assert_int_equal(journal_seq(j)[3], 7); /* set by the relabel, seq 7, not the skip */
	journal_close(j);

	/* the file itself: a header, then one JSON object per decision with the given fields */
	size_t len;
	char *text = read_text(want_path, &len);
	size_t lines = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), lines++) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		assert_non_null(o);
		if (lines == 0) {
			assert_string_equal(json_string_value(json_object_get(o, "type")),
			                    "header");
			assert_int_equal(json_integer_value(json_object_get(o, "n")), N);
			assert_int_equal(json_integer_value(json_object_get(o, "n_classes")), 3);
		} else if (lines == 1) {
			assert_string_equal(json_string_value(json_object_get(o, "id")), "s0");
			assert_string_equal(json_string_value(json_object_get(o, "action")),
			                    "relabel");
			assert_string_equal(json_string_value(json_object_get(o, "old_class")),
			                    "cat");
			assert_string_equal(json_string_value(json_object_get(o, "new_class")),
			                    "bird");
		}
		json_decref(o);
	}
	assert_int_equal(lines, 9);
	free(text);
	free(want_path);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

/* Opening for writing and closing with no decision leaves no file (the review queue looked at);
 * with one decision, or when the file was there before, it stays. */
static void test_open_close_leaves_nothing(void **state)
{
	(void)state;
	char *dir = make_study();
	struct study *s = open_study(dir);
	char *path = path_join(dir, JOURNAL_FILE);
	struct stat st;
	struct journal *j = jopen(s, true);
	assert_int_equal(stat(path, &st), 0); /* created and locked while open */
	journal_close(j);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
	/* an undo of nothing is refused and writes nothing either */
	j = jopen(s, true);
	size_t got = 9;
	struct nn_err err = {{0}};
	assert_int_equal(journal_undo(j, &got, &err), -1);
	assert_non_null(strstr(err.msg, "nothing to undo"));
	journal_close(j);
	assert_int_equal(stat(path, &st), -1);
	/* a decision keeps it; a later open without decisions does not remove it */
	j = jopen(s, true);
	uint32_t i0 = 0;
	decide(j, &i0, 1, DECIDE_RELABEL, 2);
	journal_close(j);
	assert_int_equal(stat(path, &st), 0);
	j = jopen(s, true);
	journal_close(j);
	assert_int_equal(stat(path, &st), 0);
	j = jopen(s, false);
	int32_t lab[N] = {2, 1, 2, 1, 0, 2};
	uint8_t stt[N] = {STATUS_RELABELLED, STATUS_UNDECIDED, STATUS_UNDECIDED,
	                  STATUS_UNDECIDED,  STATUS_UNDECIDED, STATUS_UNDECIDED};
	expect_state(j, lab, stt);
	journal_close(j);
	free(path);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

static void test_undo(void **state)
{
	(void)state;
	char *dir = make_study();
	struct study *s = open_study(dir);
	struct journal *j = jopen(s, true);
	uint32_t bulk[3] = {0, 1, 3}, one = 0, two = 4;
	decide(j, bulk, 3, DECIDE_RELABEL, 2);
	decide(j, &one, 1, DECIDE_RELABEL, 1);
	decide(j, &two, 1, DECIDE_REMOVE, 0);
	undo(j, 1);
	undo(j, 1);
	int32_t lab1[N] = {2, 2, 2, 2, 0, 2};
	uint8_t st1[N] = {STATUS_RELABELLED, STATUS_RELABELLED, 0, STATUS_RELABELLED, 0, 0};
	expect_state(j, lab1, st1);
	journal_close(j);

	j = jopen(s, true); /* the undos were durable, and undo goes on after a reopen */
	expect_state(j, lab1, st1);
	assert_int_equal(journal_undoable(j), 1);
	undo(j, 3); /* the bulk batch at once */
	int32_t lab0[N] = {0, 1, 2, 1, 0, 2};
	uint8_t st0[N] = {0};
	expect_state(j, lab0, st0);
	struct nn_err err = {{0}};
	assert_int_equal(journal_undo(j, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "nothing to undo"));
	decide(j, &two, 1, DECIDE_KEEP, 0);
	journal_close(j);

	j = jopen(s, false);
	st0[4] = STATUS_KEPT;
	expect_state(j, lab0, st0);
	size_t nd;
	const struct decision *d = journal_decisions(j, &nd);
	assert_int_equal(nd, 6);
	for (size_t k = 0; k < 5; k++)
		assert_true(d[k].undone);
	assert_false(d[5].undone);
	assert_int_equal(journal_undoable(j), 1);
	/* read-only refuses to write */
	assert_int_equal(journal_decide(j, &one, 1, DECIDE_KEEP, 0, &err), -1);
	journal_close(j);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

static off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void test_torn(void **state)
{
	(void)state;
	char *dir = make_study();
	struct study *s = open_study(dir);
	char *path = path_join(dir, JOURNAL_FILE);
	struct journal *j = jopen(s, true);
	uint32_t a = 1, b = 2;
	decide(j, &a, 1, DECIDE_RELABEL, 0);
	journal_close(j);
	off_t good = file_size(path);

	/* a last line without its newline */
	append_text(path, "{\"v\":1,\"seq\":2,\"time\":\"2026-11-22T10:00:00Z\",\"batch\":2,");
	int32_t lab[N] = {0, 0, 2, 1, 0, 2};
	uint8_t st[N] = {0, STATUS_RELABELLED, 0, 0, 0, 0};
	j = jopen(s, false);
	expect_state(j, lab, st);
	assert_true(has_warning(j, ":3: the last line has no newline"));
	journal_close(j);
	assert_true(file_size(path) > good); /* reading never writes */
	j = jopen(s, true);
	assert_true(has_warning(j, "removed"));
	assert_int_equal(file_size(path), good); /* repaired at once */
	decide(j, &b, 1, DECIDE_REMOVE, 0);
	journal_close(j);
	j = jopen(s, false);
	st[2] = STATUS_REMOVED;
	expect_state(j, lab, st);
	assert_int_equal(journal_warnings(j)->n, 0);
	journal_close(j);

	/* a last line that is complete but not JSON (zeros after a crash) */
	good = file_size(path);
	append_text(path, "{\"v\":1,\"seq\":\n");
	j = jopen(s, true);
	assert_true(has_warning(j, "is not valid JSON"));
	journal_close(j);
	assert_int_equal(file_size(path), good);

	/* a batch cut short: 2 of 3 lines made it */
	append_text(path, "{\"v\":1,\"seq\":3,\"time\":\"t\",\"batch\":9,\"size\":3,\"index\":0,"
	                  "\"action\":\"keep\",\"old\":0,\"new\":0}\n"
	                  "{\"v\":1,\"seq\":4,\"time\":\"t\",\"batch\":9,\"size\":3,\"index\":3,"
	                  "\"action\":\"keep\",\"old\":1,\"new\":1}\n");
	j = jopen(s, false);
	expect_state(j, lab, st);
	assert_true(has_warning(j, "2 of its 3 decisions"));
	journal_close(j);
	j = jopen(s, true);
	journal_close(j);
	assert_int_equal(file_size(path), good);

	/* a torn header: the journal starts again */
	assert_int_equal(truncate(path, 10), 0);
	j = jopen(s, true);
	uint8_t st0[N] = {0};
	int32_t lab0[N] = {0, 1, 2, 1, 0, 2};
	expect_state(j, lab0, st0);
	decide(j, &a, 1, DECIDE_SKIP, 0);
	journal_close(j);
	j = jopen(s, false);
	st0[1] = STATUS_SKIPPED;
	expect_state(j, lab0, st0);
	journal_close(j);
	free(path);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

/* Writes header + lines as the journal, opens it and expects an error containing want. */
static void expect_refused(const struct study *s, const char *dir, const char *lines,
                           const char *want)
{
	static const char header[] =
	    "{\"v\":1,\"type\":\"header\",\"study\":\"x\",\"n\":6,\"n_classes\":3,"
	    "\"classes\":[\"cat\",\"dog\",\"bird\"],\"created\":\"t\"}\n";
	char *text = xasprintf("%s%s", header, lines);
	tu_write_str(dir, JOURNAL_FILE, text);
	free(text);
	for (int w = 0; w < 2; w++) {
		struct nn_err err = {{0}};
		struct journal *j = journal_open(s, w, &err);
		if (j)
			fail_msg("opened a bad journal; wanted '%s'", want);
		if (!strstr(err.msg, want))
			fail_msg("error '%s' does not say '%s'", err.msg, want);
		assert_non_null(strstr(err.msg, JOURNAL_FILE));
		assert_null(strchr(err.msg, '\n'));
	}
}

#define KEEP0                                                                                      \
	"{\"v\":1,\"seq\":1,\"time\":\"t\",\"batch\":1,\"size\":1,\"index\":0,"                    \
	"\"action\":\"keep\",\"old\":0,\"new\":0}\n"
#define KEEP1                                                                                      \
	"{\"v\":1,\"seq\":2,\"time\":\"t\",\"batch\":2,\"size\":1,\"index\":1,"                    \
	"\"action\":\"keep\",\"old\":1,\"new\":1}\n"

static void test_garbage(void **state)
{
	(void)state;
	char *dir = make_study();
	struct study *s = open_study(dir);
	/* the header line itself is valid: make sure the fixture opens */
	tu_write_str(dir, JOURNAL_FILE,
	             "{\"v\":1,\"type\":\"header\",\"study\":\"x\",\"n\":6,\"n_classes\":3,"
	             "\"classes\":[\"cat\",\"dog\",\"bird\"],\"created\":\"t\"}\n" KEEP0 KEEP1);
	struct journal *j = jopen(s, false);
	assert_int_equal(journal_count(j, DECIDE_KEEP), 2);
	journal_close(j);

	expect_refused(s, dir, KEEP0 "garbage\n" KEEP1, JOURNAL_FILE ":3: invalid JSON");
	expect_refused(s, dir, "\n" KEEP1, ":2: invalid JSON");
	expect_refused(s, dir,
	               "{\"v\":1,\"seq\":1,\"time\":\"t\",\"batch\":1,\"size\":1,\"index\":6,"
	               "\"action\":\"keep\",\"old\":0,\"new\":0}\n" KEEP1,
	               ":2: \"index\" 6 out of range 0..5");
	expect_refused(s, dir,
	               "{\"v\":1,\"seq\":1,\"time\":\"t\",\"batch\":1,\"size\":1,\"index\":0,"
	               "\"action\":\"burn\",\"old\":0,\"new\":0}\n" KEEP1,
	               ":2: unknown action");
	expect_refused(s, dir,
	               "{\"v\":1,\"seq\":1,\"time\":\"t\",\"batch\":1,\"size\":1,\"index\":0,"
	               "\"action\":\"relabel\",\"old\":0,\"new\":3}\n" KEEP1,
	               ":2: \"new\" 3 out of range");
	expect_refused(s, dir,
	               "{\"v\":1,\"seq\":1,\"time\":\"t\",\"batch\":1,\"size\":1,\"index\":0,"
	               "\"action\":\"keep\",\"old\":2,\"new\":2}\n" KEEP1,
	               ":2: instance 0 had label 0, not 2");
	expect_refused(s, dir, KEEP1 KEEP0, ":2: seq 2 where 1 was expected");
	expect_refused(s, dir,
	               KEEP0 "{\"v\":1,\"seq\":2,\"time\":\"t\",\"action\":\"undo\","
	                     "\"undo_batch\":7}\n" KEEP1,
	               ":3: undo of batch 7");
	expect_refused(s, dir,
	               "{\"v\":1,\"seq\":1,\"time\":\"t\",\"batch\":1,\"size\":2,\"index\":0,"
	               "\"action\":\"keep\",\"old\":0,\"new\":0}\n" KEEP1,
	               ":3: batch 1 ends after 1 of its 2 decisions");
	expect_refused(s, dir,
	               "{\"v\":1,\"seq\":1,\"time\":\"t\",\"batch\":1,\"size\":1,\"index\":0,"
	               "\"id\":\"s9\",\"action\":\"keep\",\"old\":0,\"new\":0}\n" KEEP1,
	               ":2: instance 0 has another id");
	/* no header */
	tu_write_str(dir, JOURNAL_FILE, KEEP0 KEEP1);
	struct nn_err err = {{0}};
	assert_null(journal_open(s, false, &err));
	assert_non_null(strstr(err.msg, ":1: not an nncmp journal"));
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

static void test_mismatch(void **state)
{
	(void)state;
	char *dir = make_study();
	struct study *s = open_study(dir);
	struct journal *j = jopen(s, true);
	uint32_t a = 0;
	decide(j, &a, 1, DECIDE_KEEP, 0);
	journal_close(j);
	study_free(s);
	char *path = path_join(dir, JOURNAL_FILE);
	size_t len;
	char *text = read_text(path, &len);

	/* one instance fewer */
	int64_t five[5] = {0, 1, 2, 1, 0};
	tu_write_i64(dir, "labels.npy", five, 5);
	tu_write_i64(dir, "models/a/pred.npy", five, 5);
	tu_write_str(dir, "samples.jsonl", "{}\n{}\n{}\n{}\n{}\n");
	s = open_study(dir);
	struct nn_err err = {{0}};
	assert_null(journal_open(s, true, &err));
	assert_non_null(strstr(err.msg, "6 instances and 3 classes"));
	assert_non_null(strstr(err.msg, "refusing"));
	study_free(s);

	/* the same N, a class renamed */
	tu_write_i64(dir, "labels.npy", given, N);
	tu_write_i64(dir, "models/a/pred.npy", given, N);
	tu_write_str(dir, "samples.jsonl", "{\"id\":\"s0\"}\n{}\n{}\n{}\n{}\n{}\n");
	tu_write_str(dir, "classes.txt", "cat\ndog\nfish\n");
	tu_write_str(dir, JOURNAL_FILE, text);
	s = open_study(dir);
	assert_null(journal_open(s, false, &err));
	assert_non_null(strstr(err.msg, "class 2 is named differently"));
	study_free(s);
	/* the journal was left alone */
	size_t len2;
	char *text2 = read_text(path, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(text, text2, len);
	free(text);
	free(text2);
	free(path);
	tu_rm_rf(dir);
	free(dir);
}

static void test_lock(void **state)
{
	(void)state;
	char *dir = make_study();
	struct study *s = open_study(dir);
	int ready[2], go[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct nn_err err;
		struct journal *j = journal_open(s, true, &err);
		char c = j ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1)
			_exit(3);
		if (read(go[0], &c, 1) < 0)
			_exit(4);
		journal_close(j);
		_exit(j ? 0 : 2);
	}
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	struct nn_err err = {{0}};
	assert_null(journal_open(s, true, &err));
	char *want =
	    xasprintf("%s/%s: in use by another nncmp (pid %ld)", dir, JOURNAL_FILE, (long)pid);
	assert_string_equal(err.msg, want);
	free(want);
	/* a reader is not blocked */
	struct journal *r = jopen(s, false);
	assert_true(has_warning(r, "in use by another nncmp"));
	journal_close(r);
	assert_int_equal(write(go[1], "x", 1), 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* one process: a reader kept open does not keep its own writer out (the TUI does this) */
	r = jopen(s, false);
	struct journal *j = jopen(s, true);
	journal_close(r);
	journal_close(j);

	/* a holder killed with SIGKILL leaves no lock behind (a stale pid file is harmless) */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct nn_err e2;
		struct journal *j2 = journal_open(s, true, &e2);
		c = j2 ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	j = jopen(s, true);
	journal_close(j);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

/* Every instance's label as a read-only reopen replays it, against want[]. */
static void labels_are(const struct study *s, const int32_t *want)
{
	struct journal *r = jopen(s, false);
	for (size_t i = 0; i < N; i++)
		if (journal_labels(r)[i] != want[i])
			fail_msg("instance %zu: label %d, want %d", i, journal_labels(r)[i],
			         want[i]);
	journal_close(r);
}

/*
 * journal_upgrade makes a read-only journal writable in place only when nothing changed since it
 * was read: with no file yet (created, and removed again if nothing is decided), with the file
 * unchanged (decisions before and after it kept), and not when another writer appended or holds
 * the lock, or the file has a torn tail: then the journal stays read-only and as it was.
 */
static void test_upgrade(void **state)
{
	(void)state;
	char *dir = make_study();
	struct study *s = open_study(dir);
	char *path = path_join(dir, JOURNAL_FILE);
	int32_t want[N] = {0, 1, 2, 1, 0, 2};

	/* no journal yet: upgraded, and nothing decided leaves no file */
	struct journal *r = jopen(s, false);
	assert_true(journal_upgrade(r));
	assert_int_equal(access(path, F_OK), 0);
	journal_close(r);
	assert_int_not_equal(access(path, F_OK), 0);

	/* no journal yet, then a decision */
	r = jopen(s, false);
	assert_true(journal_upgrade(r));
	decide(r, (uint32_t[]){3}, 1, DECIDE_RELABEL, 2);
	want[3] = 2;
	journal_close(r);
	labels_are(s, want);

	/* unchanged since read: the state read is kept, and the next decision follows it */
	r = jopen(s, false);
	assert_true(journal_upgrade(r));
	assert_true(journal_upgrade(r)); /* already writable */
	assert_int_equal(journal_labels(r)[3], 2);
	decide(r, (uint32_t[]){5}, 1, DECIDE_RELABEL, 0);
	want[5] = 0;
	journal_close(r);
	labels_are(s, want);

	/* another writer appended after the read: not upgraded, still what it read */
	r = jopen(s, false);
	struct journal *w = jopen(s, true);
	decide(w, (uint32_t[]){0}, 1, DECIDE_RELABEL, 1);
	journal_close(w);
	want[0] = 1;
	assert_false(journal_upgrade(r));
	assert_int_equal(journal_labels(r)[0], 0);
	struct nn_err err = {{0}};
	uint32_t one = 1;
	assert_int_equal(journal_decide(r, &one, 1, DECIDE_RELABEL, 0, &err), -1);
	journal_close(r);
	labels_are(s, want);

	/* another writer holds it: not upgraded */
	r = jopen(s, false);
	w = jopen(s, true);
	assert_false(journal_upgrade(r));
	journal_close(w);
	assert_true(journal_upgrade(r)); /* and once it has let go, unchanged: upgraded */
	decide(r, (uint32_t[]){1}, 1, DECIDE_RELABEL, 2);
	want[1] = 2;
	journal_close(r);
	labels_are(s, want);

	/* a torn last line: left to a reopen, which cuts it and says so */
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs("{\"v\":1,\"type\":\"dec", f);
	fclose(f);
	r = jopen(s, false);
	assert_false(journal_upgrade(r));
	journal_close(r);
	labels_are(s, want);

	free(path);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

/* journal_count against a count of journal_status, for every action. */
static void counts_match(const struct journal *j, const char *when)
{
	static const enum decision_action acts[] = {DECIDE_RELABEL, DECIDE_KEEP, DECIDE_REMOVE,
	                                            DECIDE_SKIP};
	static const uint8_t st_of[] = {STATUS_RELABELLED, STATUS_KEPT, STATUS_REMOVED,
	                                STATUS_SKIPPED};
	for (size_t a = 0; a < 4; a++) {
		size_t want = 0;
		for (size_t i = 0; i < N; i++)
			want += journal_status(j)[i] == st_of[a];
		if (journal_count(j, acts[a]) != want)
			fail_msg("%s: action %zu: count %zu, statuses %zu", when, a,
			         journal_count(j, acts[a]), want);
	}
}

/* The counts per status, kept as decisions apply and are undone, equal the statuses' counts. */
static void test_counts(void **state)
{
	(void)state;
	char *dir = make_study();
	struct study *s = open_study(dir);
	struct journal *j = jopen(s, true);
	struct nn_err err = {{0}};
	counts_match(j, "fresh");
	decide(j, (uint32_t[]){0}, 1, DECIDE_RELABEL, 1);
	counts_match(j, "relabel");
	uint32_t one = 1, two = 2, three = 3;
	assert_int_equal(journal_decide(j, &one, 1, DECIDE_KEEP, -1, &err), 0);
	counts_match(j, "keep");
	assert_int_equal(journal_decide(j, &two, 1, DECIDE_REMOVE, -1, &err), 0);
	counts_match(j, "remove");
	assert_int_equal(journal_decide(j, &three, 1, DECIDE_SKIP, -1, &err), 0);
	counts_match(j, "skip");
	assert_int_equal(journal_decide(j, &one, 1, DECIDE_SKIP, -1, &err), 0);
	counts_match(j, "skip of a decided one");
	decide(j, (uint32_t[]){4}, 1, DECIDE_RELABEL, 0); /* back to its given class: kept */
	counts_match(j, "relabel to the given class");
	uint32_t batch[] = {0, 5};
	assert_int_equal(journal_decide(j, batch, 2, DECIDE_REMOVE, -1, &err), 0);
	counts_match(j, "batch");
	size_t undone = 0;
	assert_int_equal(journal_undo(j, &undone, &err), 0);
	counts_match(j, "undo of the batch");
	assert_int_equal(journal_undo(j, &undone, &err), 0);
	counts_match(j, "undo");
	journal_close(j);
	struct journal *r = jopen(s, false);
	counts_match(r, "replayed");
	journal_close(r);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

/* The fallback checks, run as the current user; returns a nonzero code on the first failure. */
static int fallback_checks(const char *dir, const char *state_dir)
{
	setenv("XDG_STATE_HOME", state_dir, 1);
	struct nn_err err;
	struct study *s = study_open(dir, &err);
	if (!s)
		return 10;
	struct journal *j = journal_open(s, true, &err);
	if (!j)
		return fprintf(stderr, "fallback: %s\n", err.msg), 11;
	char *prefix = xasprintf("%s/nncmp/journals/", state_dir);
	if (strncmp(journal_path(j), prefix, strlen(prefix)) != 0)
		return fprintf(stderr, "fallback path %s\n", journal_path(j)), 12;
	if (!has_warning(j, "is not writable"))
		return 13;
	uint32_t a = 3;
	if (journal_decide(j, &a, 1, DECIDE_RELABEL, 2, &err) < 0)
		return 14;
	char *path = xstrdup(journal_path(j));
	journal_close(j);
	j = journal_open(s, false, &err);
	if (!j || strcmp(journal_path(j), path) != 0 || journal_labels(j)[3] != 2)
		return 15;
	journal_close(j);
	char *here = path_join(dir, JOURNAL_FILE);
	if (access(here, F_OK) == 0)
		return 16;
	free(here);
	free(path);
	free(prefix);
	study_free(s);
	return 0;
}

static void test_fallback(void **state)
{
	(void)state;
	char *dir = make_study();
	char *state_dir = xstrdup(tu_mkdtemp());
	assert_int_equal(chmod(state_dir, 0777), 0);
	assert_int_equal(chmod(dir, 0555), 0);
	if (geteuid() != 0) {
		assert_int_equal(fallback_checks(dir, state_dir), 0);
	} else {
		/* root ignores permissions: run the checks as nobody in a child */
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			if (setgid(65534) < 0 || setuid(65534) < 0)
				_exit(99);
			_exit(fallback_checks(dir, state_dir));
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		if (WEXITSTATUS(status) == 99)
			print_message("fallback: running as root and cannot become nobody: "
			              "SKIPPED the read-only check\n");
		else
			assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(chmod(dir, 0755), 0);
	tu_rm_rf(dir);
	tu_rm_rf(state_dir);
	free(dir);
	free(state_dir);
}

static void test_export(void **state)
{
	(void)state;
	char *dir = make_study();
	struct study *s = open_study(dir);
	struct journal *j = jopen(s, true);
	uint32_t a = 0, b = 2, c[2] = {4, 5};
	decide(j, &a, 1, DECIDE_RELABEL, 1);
	decide(j, &b, 1, DECIDE_REMOVE, 0);
	decide(j, c, 2, DECIDE_KEEP, 0);
	decide(j, &a, 1, DECIDE_RELABEL, 2);
	undo(j, 1);
	struct nn_err err = {{0}};
	char *out = path_join(dir, "out.csv");
	if (journal_export(s, j, out, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	size_t len;
	char *text = read_text(out, &len);
	assert_string_equal(text, "index,id,label,class,status\n"
	                          "0,s0,1,dog,relabelled\n"
	                          "1,s1,1,dog,undecided\n"
	                          "2,s2,-1,,removed\n"
	                          "3,s3,1,dog,undecided\n"
	                          "4,s4,0,cat,kept\n"
	                          "5,s5,2,bird,kept\n");
	free(text);
	char *dpath = path_join(dir, "out.decisions.csv");
	text = read_text(dpath, &len);
	/* four live decisions, the undone fifth left out */
	size_t lines = 0;
	for (char *p = text; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 5);
	assert_non_null(strstr(text, "index,id,old,new,action,time\n0,s0,0,1,relabel,20"));
	assert_non_null(strstr(text, "\n2,s2,2,-1,remove,"));
	assert_null(strstr(text, ",1,2,relabel"));
	free(text);
	free(dpath);
	free(out);

	out = path_join(dir, "out.jsonl");
	if (journal_export(s, j, out, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	text = read_text(out, &len);
	assert_non_null(strstr(text, "{\"index\":2,\"id\":\"s2\",\"label\":-1,\"class\":null,"
	                             "\"status\":\"removed\",\"given\":2}\n"));
	free(text);
	dpath = path_join(dir, "out.decisions.jsonl");
	assert_int_equal(access(dpath, F_OK), 0);
	free(dpath);
	free(out);

	/* npy: the bytes NumPy would write for int64 [1, 1, -1, 1, 0, 2] */
	out = path_join(dir, "labels.out");
	if (journal_export(s, j, out, "npy", &err) < 0)
		fail_msg("%s", err.msg);
	text = read_text(out, &len);
	assert_int_equal(len, 128 + 6 * 8);
	assert_memory_equal(text,
	                    "\x93NUMPY\x01\x00\x76\x00{'descr': '<i8', 'fortran_order': "
	                    "False, 'shape': (6,), }",
	                    10 + 57);
	for (size_t k = 67; k < 127; k++)
		assert_int_equal(text[k], ' ');
	assert_int_equal(text[127], '\n');
	int64_t want[N] = {1, 1, -1, 1, 0, 2};
	assert_memory_equal(text + 128, want, sizeof want);
	free(text);
	free(out);

	/* failures leave nothing behind */
	out = path_join(dir, "missing/out.csv");
	assert_int_equal(journal_export(s, j, out, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "missing/out.csv"));
	free(out);
	out = path_join(dir, "out.txt");
	assert_int_equal(journal_export(s, j, out, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "unknown export format 'txt'"));
	free(out);
	out = path_join(dir, "adir.csv"); /* a directory where the file should go */
	assert_int_equal(mkdir(out, 0755), 0);
	assert_int_equal(journal_export(s, j, out, NULL, &err), -1);
	free(out);
	char *cmd = xasprintf("ls -A '%s' | grep -c '^\\.' || true", dir);
	FILE *p = popen(cmd, "r");
	char buf[32] = "";
	assert_non_null(fgets(buf, sizeof buf, p));
	pclose(p);
	assert_string_equal(buf, "0\n"); /* no stray temporaries */
	free(cmd);
	journal_close(j);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

/* Class names and ids that are not UTF-8 are written escaped and still match on reopen. */
static void test_odd_names(void **state)
{
	(void)state;
	char *dir = make_study();
	tu_write_str(dir, "classes.txt",
	             "c\xff"
	             "at\ndog\nbi,\"rd\n");
	tu_write_str(dir, "samples.jsonl", "{\"id\":\"a\\u001b[2Jb\"}\n{}\n{}\n{}\n{}\n{}\n");
	struct study *s = open_study(dir);
	struct journal *j = jopen(s, true);
	uint32_t a = 0, b = 1;
	decide(j, &a, 1, DECIDE_RELABEL, 2);
	decide(j, &b, 1, DECIDE_RELABEL, 0);
	journal_close(j);
	j = jopen(s, false);
	assert_int_equal(journal_labels(j)[0], 2);
	assert_int_equal(journal_labels(j)[1], 0);
	struct nn_err err = {{0}};
	char *out = path_join(dir, "o.csv");
	if (journal_export(s, j, out, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	size_t len;
	char *text = read_text(out, &len);
	/* CSV quoting of a comma and a quote; the raw bytes kept in the export */
	assert_non_null(strstr(text, "\n0,a\x1b[2Jb,2,\"bi,\"\"rd\",relabelled\n"));
	assert_non_null(strstr(text, "\n1,1,0,c\xff"
	                             "at,relabelled\n"));
	free(text);
	free(out);
	journal_close(j);
	char *path = path_join(dir, JOURNAL_FILE);
	text = read_text(path, &len);
	for (size_t k = 0; k < len; k++)
		assert_true((unsigned char)text[k] < 0x80 && (text[k] >= ' ' || text[k] == '\n'));
	free(text);
	free(path);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

/* ---- the SIGKILL test ---- */

struct op {
	char phase; /* 'I' about to call, 'D' returned 0 */
	char undo;
	int action, label;
	unsigned n;
	uint32_t idx[3];
};

/* The documented rules, applied to a model state: labels, statuses and the live batch stack. */
struct model_state {
	int32_t lab[N];
	uint8_t st[N];
	struct op live[4096];
	size_t n_live;
};

static void model_rebuild(struct model_state *m)
{
	for (size_t i = 0; i < N; i++)
		m->lab[i] = (int32_t)given[i], m->st[i] = 0;
	for (size_t b = 0; b < m->n_live; b++) {
		const struct op *o = &m->live[b];
		for (unsigned k = 0; k < o->n; k++) {
			uint32_t i = o->idx[k];
			switch (o->action) {
			case DECIDE_RELABEL:
			case DECIDE_KEEP: /* the status says whether the label is the given one */
				if (o->action == DECIDE_RELABEL)
					m->lab[i] = o->label;
				m->st[i] = m->lab[i] == given[i] ? STATUS_KEPT : STATUS_RELABELLED;
				break;
			case DECIDE_REMOVE:
				m->st[i] = STATUS_REMOVED;
				break;
			default:
				if (m->st[i] == 0 || m->st[i] == STATUS_SKIPPED)
					m->st[i] = STATUS_SKIPPED;
			}
		}
	}
}

static void model_do(struct model_state *m, const struct op *o)
{
	if (o->undo)
		m->n_live--;
	else
		m->live[m->n_live++] = *o;
	model_rebuild(m);
}

static bool model_matches(const struct model_state *m, const struct journal *j)
{
	if (journal_undoable(j) != m->n_live)
		return false;
	return memcmp(journal_labels(j), m->lab, sizeof m->lab) == 0 &&
	       memcmp(journal_status(j), m->st, sizeof m->st) == 0;
}

static void crash_child(const struct study *s, int fd)
{
	struct nn_err err;
	struct journal *j = journal_open(s, true, &err);
	if (!j)
		_exit(2);
	unsigned seed = 12345;
	size_t live = 0;
	for (;;) {
		struct op o = {.phase = 'I'};
		seed = seed * 1103515245u + 12345u;
		o.undo = live > 0 && (seed >> 16) % 5 == 0;
		o.action = (int)((seed >> 8) % 4);
		o.label = (int)((seed >> 12) % 3);
		o.n = 1 + (seed >> 20) % 3;
		for (unsigned k = 0; k < o.n; k++) {
			seed = seed * 1103515245u + 12345u;
			o.idx[k] = (seed >> 16) % N;
		}
		if (write(fd, &o, sizeof o) != sizeof o)
			_exit(3);
		int rc = o.undo ? journal_undo(j, NULL, &err)
		                : journal_decide(j, o.idx, o.n, (enum decision_action)o.action,
		                                 o.label, &err);
		if (rc < 0)
			_exit(4);
		live += o.undo ? (size_t)-1 : 1;
		o.phase = 'D';
		if (write(fd, &o, sizeof o) != sizeof o)
			_exit(3);
	}
}

static void test_crash(void **state)
{
	(void)state;
	char *dir = make_study();
	struct study *s = open_study(dir);
	char *path = path_join(dir, JOURNAL_FILE);
	for (int round = 0; round < 3; round++) {
		unlink(path); /* each round starts a journal */
		int p[2];
		assert_int_equal(pipe(p), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			crash_child(s, p[1]);
		}
		close(p[1]);
		struct model_state *done = calloc(1, sizeof *done);
		model_rebuild(done);
		struct op o, inflight = {0};
		bool pending = false;
		size_t n_done = 0;
		bool killed = false;
		while (read(p[0], &o, sizeof o) == sizeof o) {
			if (o.phase == 'I') {
				inflight = o, pending = true;
				continue;
			}
			model_do(done, &o);
			pending = false;
			if (++n_done == (size_t)(20 + 15 * round) && !killed) {
				usleep((useconds_t)(round * 700));
				kill(pid, SIGKILL);
				killed = true;
			}
		}
		close(p[0]);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		struct journal *j = jopen(s, false);
		bool ok = model_matches(done, j);
		if (!ok && pending) { /* returned, but killed before it could say so */
			model_do(done, &inflight);
			ok = model_matches(done, j);
		}
		if (!ok)
			fail_msg(
			    "round %d: the journal after SIGKILL is not the %zu decisions made",
			    round, n_done);
		journal_close(j);
		free(done);
	}
	free(path);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

/* A batch with its own label per sample: one line each, one undo for all, replayed alike. */
static void test_batch_own_labels(void **state)
{
	(void)state;
	char *dir = make_study();
	struct study *s = open_study(dir);
	struct journal *j = jopen(s, true);
	struct decision_req req[4] = {{.index = 4, .action = DECIDE_RELABEL, .label = 1},
	                              {.index = 1, .action = DECIDE_RELABEL, .label = 2},
	                              {.index = 2, .action = DECIDE_KEEP},
	                              {.index = 5, .action = DECIDE_REMOVE}};
	struct nn_err err = {{0}};
	assert_int_equal(journal_decide_batch(j, req, 4, &err), 0);
	int32_t lab[N] = {0, 2, 2, 1, 1, 2};
	uint8_t st[N] = {0, STATUS_RELABELLED, STATUS_KEPT, 0, STATUS_RELABELLED, STATUS_REMOVED};
	expect_state(j, lab, st);
	size_t nd;
	const struct decision *d = journal_decisions(j, &nd);
	assert_int_equal(nd, 4);
	for (size_t k = 0; k < 4; k++) {
		assert_int_equal(d[k].index, req[k].index);
		assert_int_equal(d[k].batch, 1);
		assert_int_equal(d[k].action, req[k].action);
		assert_int_equal(d[k].old_label, given[req[k].index]);
	}
	assert_int_equal(d[0].new_label, 1);
	assert_int_equal(d[1].new_label, 2);
	assert_int_equal(d[2].new_label, given[2]);
	assert_int_equal(d[3].new_label, -1);
	/* a bad entry anywhere refuses the whole batch and writes nothing */
	struct decision_req bad[2] = {{.index = 0, .action = DECIDE_RELABEL, .label = 1},
	                              {.index = 3, .action = DECIDE_RELABEL, .label = 9}};
	assert_int_equal(journal_decide_batch(j, bad, 2, &err), -1);
	assert_non_null(strstr(err.msg, "class 9 out of range"));
	expect_state(j, lab, st);
	journal_close(j);
	/* replayed from the file: the same state; one undo reverts all four */
	j = jopen(s, true);
	expect_state(j, lab, st);
	undo(j, 4);
	int32_t lab0[N] = {0, 1, 2, 1, 0, 2};
	uint8_t st0[N] = {0};
	expect_state(j, lab0, st0);
	journal_close(j);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

/*
 * journal_apply after each of 200 random decisions and undos (batches, repeats, skips) takes only
 * what changed since the last apply. After every step the study must hold what a fresh journal
 * replays (every label and status, the counts), and its model numbers those of a study whose
 * labels file holds those labels (derived from scratch).
 */
static void test_apply_incremental(void **state)
{
	(void)state;
	char *dir = make_study(), *ref = make_study();
	static const float probs[N * 3] = {0.7f, 0.2f, 0.1f, 0.1f, 0.6f, 0.3f, 0.2f, 0.3f, 0.5f,
	                                   0.3f, 0.4f, 0.3f, 0.6f, 0.1f, 0.3f, 0.1f, 0.1f, 0.8f};
	tu_write_f32(dir, "models/b/probs.npy", probs, N, 3);
	tu_write_f32(ref, "models/b/probs.npy", probs, N, 3);
	struct study *s = open_study(dir);
	int mb = study_model_index(s, "b");
	struct journal *j = jopen(s, true);
	uint64_t seed = 7;
	size_t live = 0;
	for (int step = 0; step < 200; step++) {
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		unsigned r = (unsigned)(seed >> 33);
		struct nn_err err = {{0}};
		if (r % 5 == 0 && live) {
			size_t n = 0;
			assert_int_equal(journal_undo(j, &n, &err), 0);
			live--;
		} else {
			uint32_t idx[3];
			size_t n = 1 + r / 7 % 3;
			for (size_t k = 0; k < n; k++)
				idx[k] = (uint32_t)((r >> (3 + 4 * k)) % N);
			enum decision_action a = (enum decision_action)(r / 3 % 4);
			int32_t lab = a == DECIDE_RELABEL ? (int32_t)(r / 11 % 3) : -1;
			if (journal_decide(j, idx, n, a, lab, &err) == 0)
				live++;
		}
		journal_apply(j, s);
		/* what a fresh journal replays, and a study derived from those labels */
		struct study *t = open_study(dir);
		struct journal *f = jopen(t, false);
		size_t decided = 0, removed = 0;
		int64_t labs[N];
		for (size_t i = 0; i < N; i++) {
			uint8_t st = journal_status(f)[i];
			st = st == STATUS_SKIPPED ? STATUS_UNDECIDED : st;
			decided += st != STATUS_UNDECIDED;
			removed += st == STATUS_REMOVED;
			labs[i] = journal_labels(f)[i];
			if (s->labels[i] != journal_labels(f)[i] || study_status(s, i) != st)
				fail_msg("step %d, instance %zu: label %d status %d, want %d %d",
				         step, i, s->labels[i], study_status(s, i),
				         journal_labels(f)[i], st);
		}
		assert_int_equal(s->n_decided, decided);
		assert_int_equal(s->n_removed, removed);
		tu_write_i64(ref, "labels.npy", labs, N);
		struct study *u = open_study(ref);
		int ub = study_model_index(u, "b");
		for (size_t i = 0; i < N; i++) {
			assert_float_equal(model_p_label(&s->models[mb], i),
			                   model_p_label(&u->models[ub], i), 0);
			assert_int_equal(model_rank(&s->models[mb], i),
			                 model_rank(&u->models[ub], i));
		}
		study_free(u);
		journal_close(f);
		study_free(t);
	}
	/* a study applied by one journal, then by another that read a different file (the first
	 * decision undone by hand): every instance follows the second */
	journal_close(j);
	struct journal *k = jopen(s, true);
	journal_apply(k, s);
	uint32_t z = 0;
	decide(k, &z, 1, DECIDE_REMOVE, -1);
	journal_apply(k, s);
	journal_close(k);
	assert_true(study_removed(s, 0));
	char *jp = path_join(dir, JOURNAL_FILE);
	assert_int_equal(unlink(jp), 0); /* a new journal: nothing decided */
	free(jp);
	k = jopen(s, false);
	journal_apply(k, s);
	assert_int_equal(s->n_decided, 0);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(s->labels[i], given[i]);
		assert_int_equal(study_status(s, i), STATUS_UNDECIDED);
	}
	journal_close(k);
	study_free(s);
	tu_rm_rf(dir);
	tu_rm_rf(ref);
	free(dir);
	free(ref);
}

/* journal_apply: the study takes the corrected labels; given and status say where from. */
static void test_apply(void **state)
{
	(void)state;
	char *dir = make_study();
	/* a model with probabilities, so that p_label and rank follow the new label */
	static const float probs[N * 3] = {0.7f, 0.2f, 0.1f, 0.1f, 0.6f, 0.3f, 0.2f, 0.3f, 0.5f,
	                                   0.3f, 0.4f, 0.3f, 0.6f, 0.1f, 0.3f, 0.1f, 0.1f, 0.8f};
	tu_write_f32(dir, "models/b/probs.npy", probs, N, 3);
	struct study *s = open_study(dir);
	int mb = study_model_index(s, "b");
	assert_true(mb >= 0);
	struct journal *j = jopen(s, true);
	uint32_t i1 = 1, i5 = 5, i2 = 2;
	decide(j, &i1, 1, DECIDE_RELABEL, 2);
	decide(j, &i5, 1, DECIDE_REMOVE, 0);
	decide(j, &i2, 1, DECIDE_KEEP, 0);
	assert_int_equal(journal_apply(j, s), 3);
	assert_int_equal(s->n_decided, 3);
	assert_int_equal(s->n_removed, 1);
	static const int32_t now[N] = {0, 2, 2, 1, 0, 2};
	static const uint8_t st[N] = {0, STATUS_RELABELLED, STATUS_KEPT, 0, 0, STATUS_REMOVED};
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(s->labels[i], now[i]);
		assert_int_equal(study_given(s)[i], given[i]);
		assert_int_equal(study_status(s, i), st[i]);
		assert_int_equal(study_removed(s, i), i == 5);
	}
	const struct model *m = &s->models[mb];
	assert_float_equal(model_p_label(m, 1), 0.3, 1e-6); /* p(bird) of row 1 */
	assert_int_equal(model_rank(m, 1), 1);              /* bird is row 1's second choice */
	assert_float_equal(model_p_label(m, 0), 0.7, 1e-6); /* untouched rows keep theirs */
	/* undo the keep and the remove, then apply again: the study follows */
	undo(j, 1);
	undo(j, 1);
	assert_int_equal(journal_apply(j, s), 1);
	assert_int_equal(s->n_removed, 0);
	assert_false(study_removed(s, 5));
	/* undo the relabel: the label and its numbers come back */
	undo(j, 1);
	assert_int_equal(journal_apply(j, s), 0);
	assert_int_equal(s->labels[1], 1);
	assert_float_equal(model_p_label(m, 1), 0.6, 1e-6);
	assert_int_equal(model_rank(m, 1), 0);
	journal_close(j);
	/* a journal reopened over an applied study replays from the given labels */
	j = jopen(s, false);
	journal_close(j);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

/*
 * journal_prepare_apply makes the first apply's copies ahead (a TUI, on its worker): that apply
 * takes them instead of copying, and the study ends as an unprepared apply leaves it, every
 * label, given label and status; once the study is applied, preparing does nothing.
 */
static void test_prepare_apply(void **state)
{
	(void)state;
	char *dir = make_study();
	struct study *s = open_study(dir);
	struct journal *j = jopen(s, true);
	uint32_t i1 = 1, i5 = 5, i3 = 3;
	decide(j, &i1, 1, DECIDE_RELABEL, 2);
	decide(j, &i5, 1, DECIDE_REMOVE, 0);
	decide(j, &i3, 1, DECIDE_SKIP, 0);
	journal_close(j);
	j = jopen(s, false); /* replayed, as the TUI's open does on its worker */
	journal_prepare_apply(j);
	const int32_t *prep = j->prep_given;
	const uint8_t *prep_st = j->prep_status;
	assert_non_null(prep);
	assert_non_null(prep_st);
	journal_prepare_apply(j); /* a second call keeps the copies it made */
	assert_ptr_equal(j->prep_given, prep);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(prep[i], given[i]);
		assert_int_equal(prep_st[i], STATUS_UNDECIDED);
	}
	assert_int_equal(journal_apply(j, s), 2);
	assert_ptr_equal(s->given, prep); /* taken, not copied again */
	assert_ptr_equal(s->status, prep_st);
	assert_null(j->prep_given);
	assert_null(j->prep_status);
	static const int32_t now[N] = {0, 2, 2, 1, 0, 2};
	static const uint8_t st[N] = {0, STATUS_RELABELLED, 0, 0, 0, STATUS_REMOVED};
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(s->labels[i], now[i]);
		assert_int_equal(study_given(s)[i], given[i]);
		assert_int_equal(study_status(s, i), st[i]); /* skipped counts as undecided */
	}
	assert_int_equal(s->n_decided, 2);
	assert_int_equal(s->n_removed, 1);
	/* over an applied study: nothing to prepare, and the apply still puts every instance right
	 */
	struct journal *k = jopen(s, false);
	journal_prepare_apply(k);
	assert_null(k->prep_given);
	assert_int_equal(journal_apply(k, s), 2);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(s->labels[i], now[i]);
		assert_int_equal(study_status(s, i), st[i]);
	}
	journal_close(k);
	journal_close(j);
	/* copies made and never taken are the journal's to free (ASan's leak check) */
	struct study *t = open_study(dir);
	j = jopen(t, false);
	journal_prepare_apply(j);
	assert_non_null(j->prep_given);
	journal_close(j);
	study_free(t);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

/*
 * A status says where the label ended up, whatever the decisions that led there: a sample
 * relabelled back to its given class is kept, and confirming (keep) a relabelled sample's new
 * class leaves it relabelled, not "kept" with a label that is not the given one. Live and
 * replayed alike.
 */
static void test_status_follows_label(void **state)
{
	(void)state;
	char *dir = make_study();
	struct study *s = open_study(dir);
	struct journal *j = jopen(s, true);
	uint32_t i1 = 1, i3 = 3, i4 = 4;
	decide(j, &i1, 1, DECIDE_RELABEL, 2); /* dog -> bird */
	decide(j, &i1, 1, DECIDE_KEEP, 0);    /* confirms bird */
	decide(j, &i3, 1, DECIDE_RELABEL, 0); /* dog -> cat */
	decide(j, &i3, 1, DECIDE_RELABEL, 1); /* back to dog, the given class */
	decide(j, &i4, 1, DECIDE_REMOVE, 0);
	decide(j, &i4, 1, DECIDE_KEEP, 0); /* back in, with its given label */
	int32_t lab[N] = {0, 2, 2, 1, 0, 2};
	uint8_t st[N] = {0, STATUS_RELABELLED, 0, STATUS_KEPT, STATUS_KEPT, 0};
	expect_state(j, lab, st);
	journal_close(j);
	j = jopen(s, false);
	expect_state(j, lab, st);
	assert_int_equal(journal_apply(j, s), 3);
	assert_int_equal(study_status(s, 1), STATUS_RELABELLED);
	assert_int_equal(study_status(s, 3), STATUS_KEPT);
	journal_close(j);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
}

/*
 * labels.npy rewritten while a writer has the journal open: the next decision is refused (its
 * "old" would be the label read at open, and the whole journal refused at the next open), the
 * file keeps only what was decided before, and that still applies to the new labels.
 */
static void test_labels_changed(void **state)
{
	(void)state;
	char *dir = make_study();
	struct study *s = open_study(dir);
	struct journal *j = jopen(s, true);
	uint32_t i1 = 1, i4 = 4;
	decide(j, &i1, 1, DECIDE_RELABEL, 2);
	int64_t changed[N];
	memcpy(changed, given, sizeof changed);
	changed[4] = 2; /* an undecided instance */
	char *lp = path_join(dir, "labels.npy");
	tu_write_i64(dir, "labels.npy", changed, N);
	struct timespec later[2] = {{.tv_nsec = UTIME_OMIT}, {0}};
	clock_gettime(CLOCK_REALTIME, &later[1]);
	later[1].tv_sec += 5; /* a rewrite within the same clock tick still counts */
	assert_int_equal(utimensat(AT_FDCWD, lp, later, 0), 0);
	struct nn_err err = {{0}};
	assert_int_equal(journal_decide(j, &i4, 1, DECIDE_RELABEL, 1, &err), -1);
	assert_non_null(strstr(err.msg, "changed on disk"));
	assert_int_equal(journal_undo(j, NULL, &err), -1);
	journal_close(j);
	/* the study as it is now takes the one decision made before */
	struct study *s2 = open_study(dir);
	j = jopen(s2, false);
	int32_t lab[N] = {0, 2, 2, 1, 2, 2};
	uint8_t st[N] = {0, STATUS_RELABELLED, 0, 0, 0, 0};
	expect_state(j, lab, st);
	journal_close(j);
	study_free(s2);
	study_free(s);
	free(lp);
	tu_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_replay),
	    cmocka_unit_test(test_open_close_leaves_nothing),
	    cmocka_unit_test(test_undo),
	    cmocka_unit_test(test_torn),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_mismatch),
	    cmocka_unit_test(test_lock),
	    cmocka_unit_test(test_upgrade),
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_apply_incremental),
	    cmocka_unit_test(test_fallback),
	    cmocka_unit_test(test_export),
	    cmocka_unit_test(test_odd_names),
	    cmocka_unit_test(test_crash),
	    cmocka_unit_test(test_batch_own_labels),
	    cmocka_unit_test(test_apply),
	    cmocka_unit_test(test_prepare_apply),
	    cmocka_unit_test(test_status_follows_label),
	    cmocka_unit_test(test_labels_changed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
