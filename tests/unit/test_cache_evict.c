/*
 * test_cache_evict.c — the size cap of the cache directory (cache_evict.h): the least recently
 * used nncmp cache files go first (by mtime, ties by name), the file just written stays, and
 * nothing that is not an nncmp cache file (a foreign name, a wrong magic, a link, a directory, a
 * writer's temporary file) is ever counted or removed.
 */
#include "testutil.h"

#include <fcntl.h>
#include <stdbool.h>
#include <sys/time.h>

#include "nncmp/cache_evict.h"

#define MIB (1024 * 1024)

static char dir[512];

/* Writes dir/name: head (8 bytes) then zeros up to size bytes, modified at mtime seconds. */
static void plant(const char *name, const char *head, off_t size, time_t mtime)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, head, 8), 8);
	assert_int_equal(ftruncate(fd, size), 0); /* sparse: sizes count st_size */
	struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
}

static bool exists(const char *name)
{
	char path[1024];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "%s/nncmp", tu_mkdtemp());
	assert_int_equal(mkdir(dir, 0700), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rm_rf(tu_dir);
	return 0;
}

#define A "000000000000000a.ndv"
#define B "000000000000000b.nst"
#define C "000000000000000c.csvf"
#define D "000000000000000d.ndv"
#define E "000000000000000e.nst"

/* Foreign files, all older and bigger than any cache file: none may go. */
static const char *foreign[] = {
    "notes.txt",                    /* not a cache name */
    "0000000000000001.ndv",         /* a cache name, another magic */
    "0000000000000002.nst",         /* the magic of another kind (NNCMPDRV) */
    "00000000000000F3.ndv",         /* upper-case hex */
    "000000000000004.ndv",          /* 15 digits */
    "0000000000000005.ndv.bak",     /* a suffix after the extension */
    "0000000000000006.csvf.Ab12Cd", /* a writer's temporary file */
    "0000000000000007.nst",         /* a symbolic link to an nncmp cache file elsewhere */
    "0000000000000008.csvf",        /* a directory */
};

static void plant_foreign(void)
{
	plant(foreign[0], "NNCMPDRV", 5 * MIB, 100);
	plant(foreign[1], "NOTOURS!", 5 * MIB, 100);
	plant(foreign[2], "NNCMPDRV", 5 * MIB, 100);
	plant(foreign[3], "NNCMPDRV", 5 * MIB, 100);
	plant(foreign[4], "NNCMPDRV", 5 * MIB, 100);
	plant(foreign[5], "NNCMPDRV", 5 * MIB, 100);
	plant(foreign[6], "NNCMPCSV", 5 * MIB, 100);
	char target[600], link_path[1024], sub[1024];
	snprintf(target, sizeof target, "%s/elsewhere.nst", tu_dir);
	FILE *f = fopen(target, "wb");
	assert_non_null(f);
	fputs("NNCMPNST", f);
	fclose(f);
	snprintf(link_path, sizeof link_path, "%s/%s", dir, foreign[7]);
	assert_int_equal(symlink(target, link_path), 0);
	snprintf(sub, sizeof sub, "%s/%s", dir, foreign[8]);
	assert_int_equal(mkdir(sub, 0700), 0);
}

static void assert_foreign_kept(void)
{
	for (size_t k = 0; k < sizeof foreign / sizeof foreign[0]; k++)
		if (!exists(foreign[k]))
			fail_msg("foreign file %s was removed", foreign[k]);
	char target[600];
	snprintf(target, sizeof target, "%s/elsewhere.nst", tu_dir);
	struct stat st;
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 8);
}

static void clear(void)
{
	char cmd[1400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'/* '%s/elsewhere.nst'", dir, tu_dir);
	assert_int_equal(system(cmd), 0);
}

/* Four cache files of 1 MiB (A oldest ... D newest), a cap of 2 MiB: A and B go. */
static void test_oldest_go_first(void **state)
{
	(void)state;
	clear();
	plant_foreign();
	plant(A, "NNCMPDRV", MIB, 1000);
	plant(B, "NNCMPNST", MIB, 2000);
	plant(C, "NNCMPCSV", MIB, 3000);
	plant(D, "NNCMPDRV", MIB, 4000);
	assert_int_equal(cache_evict(dir, 2 * MIB, NULL), 2);
	assert_false(exists(A));
	assert_false(exists(B));
	assert_true(exists(C));
	assert_true(exists(D));
	assert_foreign_kept();
	/* under the cap already: nothing more goes */
	assert_int_equal(cache_evict(dir, 2 * MIB, NULL), 0);
	assert_true(exists(C));
	assert_true(exists(D));
	/* one byte under: the older of the two goes */
	assert_int_equal(cache_evict(dir, 2 * MIB - 1, NULL), 1);
	assert_false(exists(C));
	assert_true(exists(D));
	assert_foreign_kept();
}

/* The file just written stays even when it is the oldest and alone over the cap. */
static void test_keep_stays(void **state)
{
	(void)state;
	clear();
	plant_foreign();
	plant(A, "NNCMPDRV", 3 * MIB, 1000);
	plant(B, "NNCMPNST", MIB, 2000);
	plant(C, "NNCMPCSV", MIB, 3000);
	/* A counts (3 MiB) though it cannot go: B and C go as well to reach 3 MiB */
	assert_int_equal(cache_evict(dir, 3 * MIB, A), 2);
	assert_true(exists(A));
	assert_false(exists(B));
	assert_false(exists(C));
	assert_int_equal(cache_evict(dir, 0, A), 0);
	assert_true(exists(A));
	assert_foreign_kept();
}

/* Equal mtimes: by name, so the result does not depend on the directory's order. */
static void test_ties_by_name(void **state)
{
	(void)state;
	clear();
	plant(E, "NNCMPNST", MIB, 5000);
	plant(C, "NNCMPCSV", MIB, 5000);
	plant(D, "NNCMPDRV", MIB, 5000);
	plant(A, "NNCMPDRV", MIB, 5000);
	assert_int_equal(cache_evict(dir, 2 * MIB, NULL), 2);
	assert_false(exists(A));
	assert_false(exists(C));
	assert_true(exists(D));
	assert_true(exists(E));
}

/* cache_evict_after_store reads the cap from NNCMP_CACHE_MAX_MB and keeps the file it names. */
static void test_after_store_env(void **state)
{
	(void)state;
	unsetenv("NNCMP_CACHE_MAX_MB");
	assert_int_equal(cache_max_bytes(), (uint64_t)CACHE_MAX_MB_DEFAULT << 20);
	const char *bad[] = {"", "abc", "-1", "2x", "1.5", "99999999999999999999999"};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		setenv("NNCMP_CACHE_MAX_MB", bad[k], 1);
		if (cache_max_bytes() != (uint64_t)CACHE_MAX_MB_DEFAULT << 20)
			fail_msg("NNCMP_CACHE_MAX_MB=%s: not the default", bad[k]);
	}
	setenv("NNCMP_CACHE_MAX_MB", "0", 1);
	assert_int_equal(cache_max_bytes(), 0);
	setenv("NNCMP_CACHE_MAX_MB", "3", 1);
	assert_int_equal(cache_max_bytes(), 3 * MIB);

	clear();
	plant_foreign();
	plant(A, "NNCMPDRV", MIB, 1000);
	plant(B, "NNCMPNST", MIB, 2000);
	plant(C, "NNCMPCSV", MIB, 3000);
	plant(D, "NNCMPDRV", MIB, 4000);
	plant(E, "NNCMPNST", MIB, 500); /* the one "just written", oldest by mtime */
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, E);
	cache_evict_after_store(path); /* 5 MiB, cap 3: A and B go, E stays */
	assert_false(exists(A));
	assert_false(exists(B));
	assert_true(exists(C));
	assert_true(exists(D));
	assert_true(exists(E));
	assert_foreign_kept();

	setenv("NNCMP_CACHE_MAX_MB", "0", 1);
	cache_evict_after_store(path);
	assert_false(exists(C));
	assert_false(exists(D));
	assert_true(exists(E));
	assert_foreign_kept();
	unsetenv("NNCMP_CACHE_MAX_MB");
}

/* cache_touch marks a file as used now, so it outlives older ones. */
static void test_touch(void **state)
{
	(void)state;
	clear();
	plant(A, "NNCMPDRV", MIB, 1000);
	plant(B, "NNCMPNST", MIB, 2000);
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, A);
	cache_touch(path);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_mtime > 2000);
	assert_int_equal(cache_evict(dir, MIB, NULL), 1);
	assert_true(exists(A));
	assert_false(exists(B));
}

/* A directory that cannot be read is -1, not a crash. */
static void test_missing_dir(void **state)
{
	(void)state;
	assert_int_equal(cache_evict("/nonexistent/nncmp", 0, NULL), -1);
	cache_evict_after_store("/nonexistent/nncmp/000000000000000a.ndv");
	cache_evict_after_store("noslash.ndv");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_oldest_go_first), cmocka_unit_test(test_keep_stays),
	    cmocka_unit_test(test_ties_by_name),    cmocka_unit_test(test_after_store_env),
	    cmocka_unit_test(test_touch),           cmocka_unit_test(test_missing_dir),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
