/*
 * test_outfile.c — files written whole or not at all: the target holds the old bytes or the new
 * ones, a target that is not a regular file is never replaced, an existing one only when asked,
 * and no temporary is left behind on any path.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>

#include "nncmp/outfile.h"

static char *slurp(const char *path)
{
	struct nn_err err = {{0}};
	size_t len;
	char *t = file_read_all(path, 1 << 20, &len, &err);
	if (!t)
		fail_msg("%s", err.msg);
	return t;
}

/* Entries of dir other than . and .. */
static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* Writes text to path through outfile; returns outfile_commit's result. */
static int put(const char *path, const char *text, bool replace, bool *exists, struct nn_err *err)
{
	struct outfile o;
	int rc = outfile_open(&o, path, 0644, err);
	if (rc == 0) {
		fputs(text, o.f);
		rc = outfile_finish(&o, err);
	}
	if (rc == 0)
		rc = outfile_commit(&o, replace, exists, err);
	outfile_discard(&o);
	return rc;
}

static void test_outfile(void **state)
{
	(void)state;
	char *dir = xstrdup(tu_mkdtemp());
	char *path = path_join(dir, "out.txt");
	struct nn_err err = {{0}};
	bool exists = true;
	/* a new file */
	assert_int_equal(put(path, "one\n", false, &exists, &err), 0);
	assert_false(exists);
	char *t = slurp(path);
	assert_string_equal(t, "one\n");
	free(t);
	assert_int_equal(entries(dir), 1);
	/* without replace an existing file stays as it was, and says so */
	assert_int_equal(put(path, "two\n", false, &exists, &err), -1);
	assert_true(exists);
	assert_non_null(strstr(err.msg, "exists"));
	t = slurp(path);
	assert_string_equal(t, "one\n");
	free(t);
	assert_int_equal(entries(dir), 1);
	/* with replace it is replaced */
	assert_int_equal(put(path, "three\n", true, &exists, &err), 0);
	t = slurp(path);
	assert_string_equal(t, "three\n");
	free(t);
	assert_int_equal(entries(dir), 1);
	/* a link or a directory is refused before anything is written, even with replace */
	char *link = path_join(dir, "link.txt");
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(put(link, "four\n", true, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "a symbolic link: refusing to replace it"));
	t = slurp(path);
	assert_string_equal(t, "three\n");
	free(t);
	char *sub = path_join(dir, "sub");
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(put(sub, "five\n", true, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "a directory"));
	assert_int_equal(entries(dir), 3); /* out.txt, link.txt, sub: no temporary */
	/* a directory that is not there: an error naming the target */
	char *gone = path_join(dir, "no/such/out.txt");
	assert_int_equal(put(gone, "six\n", true, NULL, &err), -1);
	assert_non_null(strstr(err.msg, gone));
	free(gone);
	free(sub);
	free(link);
	free(path);
	tu_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_outfile)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
