/*
 * test_journal_hard.c — the journal against a hostile file system (issue 14): a FIFO as the
 * journal or as its pid file, the journal deleted or renamed under a writer, a study on a
 * read-only file system, a full disk at creation, and a long journal of relabels and undos whose
 * replay is checked value by value against a model of the documented rules (journal.h).
 *
 * The read-only and full-disk cases need a private mount namespace (unshare(2) as root): they
 * run in a forked child and are skipped where that is not allowed. Every test runs under an
 * alarm, so that a hang fails instead of stopping the suite.
 */
#define _GNU_SOURCE /* unshare(2) */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>

#include "nncmp/journal.h"
#include "nncmp/study.h"

#define N 6
static const int64_t given[N] = {0, 1, 2, 1, 0, 2};

static char *make_study(void)
{
	char *dir = xstrdup(tu_mkdtemp());
	tu_write_i64(dir, "labels.npy", given, N);
	tu_write_str(dir, "classes.txt", "cat\ndog\nbird\n");
	tu_write_i64(dir, "models/a/pred.npy", given, N);
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

static void must_contain(const char *msg, const char *needle)
{
	if (!strstr(msg, needle))
		fail_msg("message '%s' lacks '%s'", msg, needle);
}

static size_t count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = 0;
	int c;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* A FIFO as the journal: refused at once for reading and for writing, never waited on. */
static void test_fifo_journal(void **state)
{
	(void)state;
	alarm(20);
	char *dir = make_study();
	struct study *s = open_study(dir);
	char *jp = path_join(dir, JOURNAL_FILE);
	assert_int_equal(mkfifo(jp, 0644), 0);
	for (int w = 0; w < 2; w++) {
		struct nn_err err = {{0}};
		struct journal *j = journal_open(s, w, &err);
		assert_null(j);
		must_contain(err.msg, "nncmp-journal.jsonl: not a regular file");
	}
	struct stat st;
	assert_int_equal(lstat(jp, &st), 0);
	assert_true(S_ISFIFO(st.st_mode)); /* left as it was */
	free(jp);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
	alarm(0);
}

/* A FIFO as PATH.lock: a writer neither blocks writing its pid nor a second one reading it. */
static void test_fifo_lock(void **state)
{
	(void)state;
	alarm(20);
	char *dir = make_study();
	struct study *s = open_study(dir);
	char *jp = path_join(dir, JOURNAL_FILE);
	char *lp = xasprintf("%s.lock", jp);
	assert_int_equal(mkfifo(lp, 0644), 0);
	struct nn_err err = {{0}};
	struct journal *j = journal_open(s, true, &err);
	if (!j)
		fail_msg("journal_open: %s", err.msg);
	uint32_t i = 2;
	assert_int_equal(journal_decide(j, &i, 1, DECIDE_RELABEL, 0, &err), 0);
	struct journal *j2 = journal_open(s, true, &err);
	assert_null(j2);
	must_contain(err.msg, "in use by another nncmp (pid unknown)");
	journal_close(j);
	struct stat st;
	assert_int_equal(lstat(lp, &st), 0);
	assert_true(S_ISFIFO(st.st_mode)); /* not ours: neither replaced nor removed */
	/* and the decision was saved */
	j = journal_open(s, false, &err);
	assert_non_null(j);
	assert_int_equal(journal_labels(j)[2], 0);
	assert_int_equal(journal_status(j)[2], STATUS_RELABELLED);
	journal_close(j);
	free(lp);
	free(jp);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
	alarm(0);
}

/* Deleted, renamed or replaced under a writer: every later write refused, saying so. */
static void test_gone(void **state)
{
	(void)state;
	alarm(20);
	char *dir = make_study();
	struct study *s = open_study(dir);
	char *jp = path_join(dir, JOURNAL_FILE);
	char *moved = xasprintf("%s.moved", jp);
	struct nn_err err = {{0}};
	for (int how = 0; how < 3; how++) {
		struct journal *j = journal_open(s, true, &err);
		if (!j)
			fail_msg("journal_open: %s", err.msg);
		uint32_t i = 1;
		assert_int_equal(journal_decide(j, &i, 1, DECIDE_RELABEL, 2, &err), 0);
		if (how == 0) {
			assert_int_equal(unlink(jp), 0);
		} else {
			assert_int_equal(rename(jp, moved), 0);
			if (how == 2) /* and another file in its place */
				tu_write_str(dir, JOURNAL_FILE, "");
		}
		i = 4;
		memset(&err, 0, sizeof err);
		assert_int_equal(journal_decide(j, &i, 1, DECIDE_REMOVE, 0, &err), -1);
		must_contain(err.msg, how == 0 ? "deleted while open" : "renamed or replaced");
		must_contain(err.msg, "not saved");
		memset(&err, 0, sizeof err);
		assert_int_equal(journal_undo(j, NULL, &err), -1);
		must_contain(err.msg, how == 0 ? "deleted while open" : "renamed or replaced");
		/* the state is the one the file holds */
		assert_int_equal(journal_labels(j)[1], 2);
		assert_int_equal(journal_status(j)[1], STATUS_RELABELLED);
		assert_int_equal(journal_status(j)[4], STATUS_UNDECIDED);
		assert_int_equal(journal_undoable(j), 1);
		journal_close(j);
		if (how > 0) { /* the moved journal holds the header and the one decision */
			assert_int_equal(count_lines(moved), 2);
			assert_int_equal(unlink(moved), 0);
		}
		unlink(jp);
	}
	free(moved);
	free(jp);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
	alarm(0);
}

/* ---- replay of many undos, against a model ---- */

struct jmodel {
	int32_t label[N];
	uint8_t status[N];
	uint64_t seq[N];
};

static void model_apply(struct jmodel *m, uint32_t i, int act, int32_t nw, uint64_t seq)
{
	switch (act) {
	case DECIDE_RELABEL:
	case DECIDE_KEEP: /* the status says whether the label is the given one */
		if (act == DECIDE_RELABEL)
			m->label[i] = nw;
		m->status[i] = m->label[i] == given[i] ? STATUS_KEPT : STATUS_RELABELLED;
		break;
	case DECIDE_REMOVE:
		m->status[i] = STATUS_REMOVED;
		break;
	default: /* skip: only an undecided or skipped instance */
		if (m->status[i] != STATUS_UNDECIDED && m->status[i] != STATUS_SKIPPED)
			return;
		m->status[i] = STATUS_SKIPPED;
	}
	m->seq[i] = seq;
}

static void expect_model(const struct journal *j, const struct jmodel *m, const char *when)
{
	const int32_t *l = journal_labels(j);
	const uint8_t *st = journal_status(j);
	const uint64_t *sq = journal_seq(j);
	for (size_t i = 0; i < N; i++)
		if (l[i] != m->label[i] || st[i] != m->status[i] || sq[i] != m->seq[i])
			fail_msg("%s: instance %zu: label %d status %d seq %llu, want %d %d %llu",
			         when, i, l[i], st[i], (unsigned long long)sq[i], m->label[i],
			         m->status[i], (unsigned long long)m->seq[i]);
}

#define ROUNDS 100000 /* batches written; about 80 000 of them undone at once */

/*
 * 100 000 batches, about 80 000 of them undone at once, with live batches of every action (one or
 * two decisions, an index repeated) in between and now and then two undos in a row. The model keeps
 * a copy of the state before each live batch; the journal's replay must reach the same labels,
 * statuses and seqs, instance by instance. The time is printed, not checked (make bench is where
 * speed is measured).
 */
static void test_many_undos(void **state)
{
	(void)state;
	alarm(300);
	char *dir = make_study();
	struct study *s = open_study(dir);
	char *jp = path_join(dir, JOURNAL_FILE);
	FILE *f = fopen(jp, "w");
	assert_non_null(f);
	fprintf(f,
	        "{\"v\":1,\"type\":\"header\",\"study\":\"t\",\"n\":%d,\"n_classes\":3,"
	        "\"classes\":[\"cat\",\"dog\",\"bird\"],\"created\":\"2026-01-01T00:00:00Z\"}\n",
	        N);
	static const char *const names[] = {"relabel", "keep", "remove", "skip"};
	struct jmodel m;
	for (size_t i = 0; i < N; i++) {
		m.label[i] = (int32_t)given[i];
		m.status[i] = STATUS_UNDECIDED;
		m.seq[i] = 0;
	}
	/* the live batches: their numbers and the state before each */
	uint64_t *live_batch = xcalloc(ROUNDS, sizeof *live_batch);
	struct jmodel *before = xcalloc(ROUNDS, sizeof *before);
	size_t n_live = 0;
	uint64_t seq = 0, batch = 0, rng = 12345;
	size_t undos = 0, decisions = 0;
	for (size_t k = 0; k < ROUNDS; k++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		bool keep_live = (rng >> 33) % 5 == 0;
		size_t size = (rng >> 40) % 3 == 0 ? 2 : 1;
		batch++;
		before[n_live] = m;
		live_batch[n_live++] = batch;
		for (size_t q = 0; q < size; q++) {
			uint32_t i = (uint32_t)((k + q * ((rng >> 20) % 2)) % N); /* may repeat */
			int act = keep_live ? (int)((rng >> 50) % 4) : DECIDE_RELABEL;
			int32_t old = m.label[i];
			int32_t nw = act == DECIDE_RELABEL  ? (old + 1 + (int32_t)q) % 3
			             : act == DECIDE_REMOVE ? -1
			                                    : old;
			seq++;
			decisions++;
			fprintf(
			    f,
			    "{\"v\":1,\"seq\":%llu,\"time\":\"2026-01-01T00:00:00Z\",\"batch\":%"
			    "llu,"
			    "\"size\":%zu,\"index\":%u,\"action\":\"%s\",\"old\":%d,\"new\":%d}\n",
			    (unsigned long long)seq, (unsigned long long)batch, size, i, names[act],
			    old, nw);
			model_apply(&m, i, act, nw, seq);
		}
		int pops = keep_live ? 0 : (k % 1000 == 999 && n_live >= 2) ? 2 : 1;
		for (int p = 0; p < pops; p++) {
			n_live--;
			seq++;
			undos++;
			fprintf(f,
			        "{\"v\":1,\"seq\":%llu,\"time\":\"2026-01-01T00:00:00Z\","
			        "\"action\":\"undo\",\"undo_batch\":%llu}\n",
			        (unsigned long long)seq, (unsigned long long)live_batch[n_live]);
			m = before[n_live];
		}
	}
	assert_int_equal(fclose(f), 0);
	assert_true(undos >= 80000);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct nn_err err = {{0}};
	struct journal *j = journal_open(s, true, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!j)
		fail_msg("journal_open: %s", err.msg);
	printf("    replay of %zu decisions and %zu undos: %.3f s\n", decisions, undos,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9);
	expect_model(j, &m, "after replay");
	assert_int_equal(journal_undoable(j), n_live);
	size_t nd = 0, undone = 0;
	const struct decision *d = journal_decisions(j, &nd);
	assert_int_equal(nd, decisions);
	for (size_t k = 0; k < nd; k++)
		undone += d[k].undone;
	assert_true(undone > nd / 2);
	/* undo through the API, batch by batch, back to the given labels */
	while (n_live > 0) {
		size_t got = 0;
		assert_int_equal(journal_undo(j, &got, &err), 0);
		n_live--;
		m = before[n_live];
		if (n_live % 997 == 0 || n_live < 20)
			expect_model(j, &m, "after journal_undo");
	}
	expect_model(j, &m, "everything undone");
	for (size_t i = 0; i < N; i++)
		assert_int_equal(m.status[i], STATUS_UNDECIDED);
	journal_close(j);
	free(live_batch);
	free(before);
	free(jp);
	study_free(s);
	tu_rm_rf(dir);
	free(dir);
	alarm(0);
}

/* ---- a private mount namespace (as root), in a child ---- */

/* Child exit codes: 0 passed, 77 skipped (no mount namespace here), 1 failed (on stderr). */
#define CHILD_SKIP 77

static bool private_mounts(void)
{
	return unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
}

static void run_child(void (*fn)(const char *), const char *dir)
{
	fflush(stdout);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(20);
		fn(dir);
		_exit(0);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == CHILD_SKIP)
		skip();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("the child failed (status %d)", st);
}

static void child_fail(const char *what, const char *msg)
{
	fprintf(stderr, "    child: %s: %s\n", what, msg);
	_exit(1);
}

/* The study (with a journal of one decision) on a read-only bind mount of itself. */
static void readonly_child(const char *dir)
{
	if (!private_mounts() || mount(dir, dir, NULL, MS_BIND, NULL) != 0 ||
	    mount(NULL, dir, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)
		_exit(CHILD_SKIP);
	struct nn_err err = {{0}};
	struct study *s = study_open(dir, &err);
	if (!s)
		child_fail("study_open", err.msg);
	struct journal *j = journal_open(s, true, &err);
	if (j)
		child_fail("journal_open for writing", "succeeded on a read-only file system");
	if (!strstr(err.msg, "nncmp-journal.jsonl: cannot write the journal (Read-only file "
	                     "system): decisions cannot be saved"))
		child_fail("the message", err.msg);
	j = journal_open(s, false, &err);
	if (!j)
		child_fail("journal_open read-only", err.msg);
	if (journal_labels(j)[3] != 2 || journal_status(j)[3] != STATUS_RELABELLED)
		child_fail("replay", "the decision is not there");
	journal_close(j);
	study_free(s);
}

static void test_readonly(void **state)
{
	(void)state;
	char *dir = make_study();
	struct study *s = open_study(dir);
	struct nn_err err = {{0}};
	struct journal *j = journal_open(s, true, &err);
	assert_non_null(j);
	uint32_t i = 3;
	assert_int_equal(journal_decide(j, &i, 1, DECIDE_RELABEL, 2, &err), 0);
	journal_close(j);
	study_free(s);
	run_child(readonly_child, dir);
	tu_rm_rf(dir);
	free(dir);
}

static bool copy_file(const char *from, const char *to)
{
	FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
	bool ok = a && b;
	char buf[4096];
	size_t n;
	while (ok && (n = fread(buf, 1, sizeof buf, a)) > 0)
		ok = fwrite(buf, 1, n, b) == n;
	if (a)
		fclose(a);
	if (b && fclose(b) != 0)
		ok = false;
	return ok;
}

/* The study on a 64 KiB tmpfs filled to the last byte: creating the journal fails, cleanly. */
static void full_child(const char *dir)
{
	char *mnt = xasprintf("%s/full", dir);
	if (mkdir(mnt, 0755) != 0 || !private_mounts() ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=64k") != 0)
		_exit(CHILD_SKIP);
	static const char *const files[] = {"labels.npy", "classes.txt", "models/a/pred.npy"};
	char *models = xasprintf("%s/models", mnt), *ma = xasprintf("%s/models/a", mnt);
	if (mkdir(models, 0755) != 0 || mkdir(ma, 0755) != 0)
		child_fail("mkdir", strerror(errno));
	for (size_t k = 0; k < 3; k++) {
		char *from = path_join(dir, files[k]), *to = path_join(mnt, files[k]);
		if (!copy_file(from, to))
			child_fail("copy", to);
		free(from);
		free(to);
	}
	char *filler = xasprintf("%s/filler", mnt);
	FILE *f = fopen(filler, "wb");
	if (!f)
		child_fail("filler", strerror(errno));
	static char block[4096];
	while (fwrite(block, 1, sizeof block, f) == sizeof block && fflush(f) == 0)
		;
	fclose(f);
	/* the last partial page too: one byte at a time */
	int fd = open(filler, O_WRONLY | O_APPEND);
	while (fd >= 0 && write(fd, "x", 1) == 1)
		;
	if (fd >= 0)
		close(fd);
	struct nn_err err = {{0}};
	struct study *s = study_open(mnt, &err);
	if (!s)
		child_fail("study_open", err.msg);
	struct journal *j = journal_open(s, true, &err);
	if (j)
		child_fail("journal_open", "succeeded on a full file system");
	if (!strstr(err.msg, "No space left on device"))
		child_fail("the message", err.msg);
	char *jp = path_join(mnt, JOURNAL_FILE);
	char *lp = xasprintf("%s.lock", jp);
	struct stat st;
	if (lstat(jp, &st) == 0)
		child_fail("left behind", jp);
	if (lstat(lp, &st) == 0)
		child_fail("left behind (an empty pid file)", lp);
	study_free(s);
}

static void test_full_disk(void **state)
{
	(void)state;
	char *dir = make_study();
	run_child(full_child, dir);
	tu_rm_rf(dir);
	free(dir);
}

/* An argument runs only the tests it matches (cmocka's filter: "test_gone", "test_f*"). */
int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	/* never the user's own state directory, should a journal fall back there */
	char *state = xstrdup(tu_mkdtemp());
	setenv("XDG_STATE_HOME", state, 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fifo_journal), cmocka_unit_test(test_fifo_lock),
	    cmocka_unit_test(test_gone),         cmocka_unit_test(test_many_undos),
	    cmocka_unit_test(test_readonly),     cmocka_unit_test(test_full_disk),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tu_rm_rf(state);
	free(state);
	return rc;
}
