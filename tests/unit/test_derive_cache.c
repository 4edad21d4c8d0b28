/*
 * test_derive_cache.c — the derived-data cache (derive_cache.h) gives back exactly what deriving
 * from the probabilities gives, value by value and bit for bit, and is a miss whenever it must
 * be: a damaged or truncated file, another version, another key, changed labels, a changed
 * source, a source too fresh to trust, NNCMP_CACHE=0. A mapped file that is deleted or replaced
 * keeps giving the values it held, and a relabel writes into the process's copy, not the file.
 */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sys/time.h>
#include <unistd.h>
#include <xxhash.h>

#include "nncmp/derive.h"
#include "nncmp/derive_cache.h"
#include "nncmp/rng.h"
#include "nncmp/study.h"

#define N 5000 /* more than one block of the reader */
#define C 7

static char study_dir[512], cache_root[600];

/* Sets a file's modification time to an hour ago: old enough to be cached. */
static void age(const char *rel)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", study_dir, rel);
	struct timeval tv[2];
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= 3600;
	tv[1] = tv[0];
	assert_int_equal(utimes(path, tv), 0);
}

static void write_labels(const int64_t *labels)
{
	tu_write_i64(study_dir, "labels.npy", labels, N);
	age("labels.npy");
}

/* Rows with ties (to the label and for the maximum), zeros, and a model of a single class. */
static void make_study(void)
{
	struct rng r;
	rng_seed(&r, 7);
	int64_t *labels = malloc(N * sizeof *labels);
	float *p32 = malloc(N * C * sizeof *p32), *lg = malloc(N * C * sizeof *lg);
	double *p64 = malloc(N * C * sizeof *p64);
	for (size_t i = 0; i < N; i++) {
		labels[i] = (int64_t)(rng_next(&r) % C);
		double sum = 0;
		for (size_t j = 0; j < C; j++) {
			unsigned q = (unsigned)(rng_next(&r) % 9);
			p64[i * C + j] = i % 11 == 0 ? 1.0 : q == 0 ? 0.0 : (double)q; /* ties */
			sum += p64[i * C + j];
			lg[i * C + j] = (float)(rng_uniform(&r) * 8 - 4);
		}
		for (size_t j = 0; j < C; j++) {
			p64[i * C + j] /= sum;
			p32[i * C + j] = (float)p64[i * C + j];
		}
	}
	write_labels(labels);
	tu_write_f32(study_dir, "models/a32/probs.npy", p32, N, C);
	tu_write_npy(study_dir, "models/b64/probs.npy", "<f8", "(5000, 7)", p64,
	             N * C * sizeof *p64);
	tu_write_f32(study_dir, "models/c_logits/logits.npy", lg, N, C);
	age("models/a32/probs.npy");
	age("models/b64/probs.npy");
	age("models/c_logits/logits.npy");
	free(labels);
	free(p32);
	free(p64);
	free(lg);
}

static struct study *open_study(void)
{
	struct nn_err err = {0};
	struct study *s = study_open(study_dir, &err);
	if (!s)
		fail_msg("%s", err.msg);
	return s;
}

/* The number of .ndv files in the cache directory. */
static int cache_files(void)
{
	DIR *d = opendir(cache_root);
	if (!d)
		return 0;
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += strstr(e->d_name, ".ndv") != NULL;
	closedir(d);
	return n;
}

static void assert_cached(const struct study *s, bool want)
{
	for (size_t k = 0; k < s->n_models; k++)
		if (s->models[k].derived_cached != want)
			fail_msg("model %s: derived_cached %d, want %d", s->models[k].name,
			         s->models[k].derived_cached, want);
}

/* Every derived value of every model, bit for bit. */
static void assert_same(const struct study *x, const struct study *y)
{
	assert_int_equal(x->n_models, y->n_models);
	for (size_t k = 0; k < x->n_models; k++) {
		const struct model *a = &x->models[k], *b = &y->models[k];
		assert_int_equal(a->id_size, b->id_size);
		assert_int_equal(a->val_size, b->val_size);
		for (size_t i = 0; i < x->n; i++) {
			double va[3] = {model_conf(a, i), model_margin(a, i), model_p_label(a, i)};
			double vb[3] = {model_conf(b, i), model_margin(b, i), model_p_label(b, i)};
			if (model_pred(a, i) != model_pred(b, i) ||
			    model_rank(a, i) != model_rank(b, i) || memcmp(va, vb, sizeof va) != 0)
				fail_msg(
				    "model %s, row %zu: pred %d/%d rank %d/%d conf %.17g/%.17g "
				    "margin %.17g/%.17g p %.17g/%.17g",
				    a->name, i, model_pred(a, i), model_pred(b, i),
				    model_rank(a, i), model_rank(b, i), va[0], vb[0], va[1], vb[1],
				    va[2], vb[2]);
		}
	}
}

static struct study *open_uncached(void)
{
	setenv("NNCMP_CACHE", "0", 1);
	struct study *s = open_study();
	unsetenv("NNCMP_CACHE");
	assert_cached(s, false);
	return s;
}

static int setup(void **state)
{
	(void)state;
	snprintf(study_dir, sizeof study_dir, "%s/study", tu_mkdtemp());
	mkdir(study_dir, 0700);
	snprintf(cache_root, sizeof cache_root, "%s/cache/nncmp", tu_dir);
	char xdg[600];
	snprintf(xdg, sizeof xdg, "%s/cache", tu_dir);
	mkdir(xdg, 0700);
	setenv("XDG_CACHE_HOME", xdg, 1);
	unsetenv("NNCMP_CACHE");
	make_study();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rm_rf(tu_dir);
	return 0;
}

static void clear_cache(void)
{
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache_root);
	assert_int_equal(system(cmd), 0);
}

static void test_hit_is_exact(void **state)
{
	(void)state;
	clear_cache();
	struct study *ref = open_uncached();
	assert_int_equal(cache_files(), 0); /* NNCMP_CACHE=0 writes nothing */
	/* the narrowest storage (study.h): ids in a byte, float32 probabilities' values as float */
	for (size_t k = 0; k < 3; k++)
		assert_int_equal(ref->models[k].id_size, 1);
	assert_int_equal(ref->models[0].val_size, 4);
	assert_int_equal(ref->models[1].val_size, 8);
	assert_int_equal(ref->models[2].val_size, 8);
	struct study *first = open_study();
	assert_cached(first, false);
	assert_int_equal(cache_files(), 3);
	assert_same(ref, first);
	struct study *again = open_study();
	assert_cached(again, true);
	assert_same(ref, again);
	for (size_t k = 0; k < 3; k++) /* mapped, not copied */
		assert_non_null(again->models[k].d_map);
	study_free(ref);
	study_free(first);
	study_free(again);
}

/* Changes one byte of every cache file at `at` bytes from its end (or truncates it). */
static void damage(long from_end, bool truncate_file)
{
	DIR *d = opendir(cache_root);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));) {
		if (!strstr(e->d_name, ".ndv"))
			continue;
		char path[1200];
		snprintf(path, sizeof path, "%s/%s", cache_root, e->d_name);
		if (truncate_file) {
			struct stat st;
			assert_int_equal(stat(path, &st), 0);
			assert_int_equal(truncate(path, st.st_size - from_end), 0);
			continue;
		}
		FILE *f = fopen(path, "r+b");
		assert_non_null(f);
		assert_int_equal(fseek(f, -from_end, SEEK_END), 0);
		int c = fgetc(f);
		assert_int_equal(fseek(f, -from_end, SEEK_END), 0);
		fputc(c ^ 0x01, f);
		fclose(f);
	}
	closedir(d);
}

/* XORs the byte at `at` from the start of every cache file with x. */
static void damage_at(long at, int x)
{
	DIR *d = opendir(cache_root);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));) {
		if (!strstr(e->d_name, ".ndv"))
			continue;
		char path[1200];
		snprintf(path, sizeof path, "%s/%s", cache_root, e->d_name);
		FILE *f = fopen(path, "r+b");
		assert_non_null(f);
		assert_int_equal(fseek(f, at, SEEK_SET), 0);
		int c = fgetc(f);
		assert_int_equal(fseek(f, at, SEEK_SET), 0);
		fputc(c ^ x, f);
		fclose(f);
	}
	closedir(d);
}

/*
 * A byte changed anywhere (header, key, padding, each array, checksum) or another version is a
 * miss; the values are derived again and a good file is written back.
 */
static void test_corrupt_anywhere_is_a_miss(void **state)
{
	(void)state;
	clear_cache();
	struct study *ref = open_uncached();
	study_free(open_study());
	/*
	 * The magic (0), version (8), key length (12), n (16), sizes (28, 29), the key (40), the
	 * zeros after it (3000); then, with 5000 instances, pred [4096, 9096), zeros (10000), rank
	 * [12288, 17288), conf from 20480 (float: 20000 bytes; double: 40000), p_label from 40960
	 * (double: 61440), second from 61440 (double: 102400): every file has all these bytes.
	 */
	static const long at[] = {0,    8,    12,    16,    28,    29,    40,
	                          3000, 5000, 10000, 13000, 25000, 45000, 70000};
	for (size_t t = 0; t < sizeof at / sizeof *at; t++) {
		damage_at(at[t], t % 2 ? 0x01 : 0x80);
		struct study *s = open_study();
		for (size_t k = 0; k < s->n_models; k++)
			if (s->models[k].derived_cached)
				fail_msg("model %s, byte %ld changed: still a hit",
				         s->models[k].name, at[t]);
		assert_same(ref, s);
		study_free(s);
		struct study *rewritten = open_study();
		assert_cached(rewritten, true);
		assert_same(ref, rewritten);
		study_free(rewritten);
	}
	/* version 1 (the old format), with its header as it was: ignored and rewritten */
	damage_at(8, 0x03); /* 2 -> 1 */
	struct study *s = open_study();
	assert_cached(s, false);
	study_free(s);
	s = open_study();
	assert_cached(s, true);
	study_free(s);
	study_free(ref);
}

/*
 * Sets byte `at` of model `name`'s cache file in s to v (a 4-byte float at `at` when f is set)
 * and writes the checksum the new bytes have: a forged file only the range checks can refuse.
 */
static void forge(const struct study *s, const char *name, long at, uint8_t v, bool f, float fv)
{
	const struct model *m = &s->models[study_model_index(s, name)];
	char *key = derive_cache_key(s, m, derive_cache_labels_hash(s));
	char *path = derive_cache_path(cache_root, key);
	free(key);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	uint8_t *buf = malloc((size_t)st.st_size);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	if (f)
		memcpy(buf + at, &fv, sizeof fv);
	else
		buf[at] = v;
	uint64_t h = XXH3_64bits(buf, (size_t)st.st_size - 8);
	for (int k = 0; k < 8; k++)
		buf[st.st_size - 8 + k] = (uint8_t)(h >> (8 * k));
	assert_int_equal(pwrite(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	free(buf);
	free(path);
}

/* A file with a right checksum but a value out of range is a miss, derived again. */
static void test_forged_values_are_a_miss(void **state)
{
	(void)state;
	struct {
		long at; /* in a32's file: pred at 4096, rank at 12288, conf, p_label, second */
		uint8_t v;
		bool f;
		float fv;
	} cases[] = {
	    {4096, C, false, 0},          /* a prediction past the classes */
	    {12288 + 17, 255, false, 0},  /* a rank past them */
	    {20480, 0, true, NAN},        /* a NaN confidence */
	    {40960 + 8, 0, true, 1.5f},   /* p(label) above 1 */
	    {61440 + 4, 0, true, -0.25f}, /* a negative runner-up */
	    {61440, 0, true, 1.0f},       /* a runner-up above its p(pred) (the first is < 1) */
	};
	for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
		clear_cache();
		struct study *ref = open_uncached();
		study_free(open_study());
		if (cases[t].at == 61440)
			assert_true(model_conf(&ref->models[0], 0) < 1.0);
		forge(ref, "a32", cases[t].at, cases[t].v, cases[t].f, cases[t].fv);
		struct study *s = open_study();
		if (s->models[0].derived_cached)
			fail_msg("case %zu (byte %ld): a forged value got through", t, cases[t].at);
		assert_true(s->models[1].derived_cached); /* the others are fine */
		assert_same(ref, s);
		study_free(s);
		study_free(ref);
	}
}

/*
 * A mapped cache file that another process deletes, or replaces by a new file renamed over it,
 * keeps giving what it held; a relabel (derive_relabel, as a journal does) writes the process's
 * own copy of the page, never the file.
 */
static void test_mapped_file_replaced(void **state)
{
	(void)state;
	clear_cache();
	struct study *ref = open_uncached();
	study_free(open_study());
	struct study *mapped = open_study();
	assert_cached(mapped, true);
	clear_cache(); /* deleted */
	assert_same(ref, mapped);
	study_free(open_study()); /* written anew: a new file renamed into place */
	assert_int_equal(cache_files(), 3);
	assert_same(ref, mapped);

	/* relabel instance 9 in the mapped study and in an uncached one: the same values */
	int32_t to = (mapped->labels[9] + 1) % C;
	mapped->labels[9] = ref->labels[9] = to;
	derive_relabel(mapped, 9);
	derive_relabel(ref, 9);
	assert_same(ref, mapped);
	/* the file is unchanged: a new open gives the labels' values from the files */
	struct study *again = open_study();
	assert_cached(again, true);
	struct study *fresh = open_uncached();
	assert_same(fresh, again);
	assert_true(model_p_label(&again->models[0], 9) != model_p_label(&mapped->models[0], 9) ||
	            model_rank(&again->models[0], 9) != model_rank(&mapped->models[0], 9));
	study_free(again);
	study_free(fresh);
	study_free(mapped);
	study_free(ref);
}

static void test_damage_is_a_miss(void **state)
{
	(void)state;
	clear_cache();
	struct study *ref = open_uncached();
	study_free(open_study()); /* fills the cache */
	/* a flipped low bit of a value in range: only the checksum can see it */
	static const long at[] = {10, 4, 1};
	for (size_t t = 0; t < sizeof at / sizeof *at; t++) {
		damage(at[t], false);
		struct study *s = open_study();
		assert_cached(s, false);
		assert_same(ref, s);
		study_free(s);
		struct study *rewritten = open_study(); /* the miss wrote a good file back */
		assert_cached(rewritten, true);
		study_free(rewritten);
	}
	damage(5, true);
	struct study *s = open_study();
	assert_cached(s, false);
	assert_same(ref, s);
	study_free(s);
	study_free(ref);
}

/*
 * What a crash can leave of an entry written without fsync (outfile's no_sync): the file under
 * its name but empty, zeros at its full length, or its first half with zeros after. Each is a
 * miss, derived again exactly, and written back good.
 */
static void test_torn_by_a_crash_is_a_miss(void **state)
{
	(void)state;
	clear_cache();
	struct study *ref = open_uncached();
	for (int how = 0; how < 3; how++) {
		study_free(open_study()); /* fills the cache */
		DIR *d = opendir(cache_root);
		assert_non_null(d);
		int torn = 0;
		for (struct dirent *e; (e = readdir(d));) {
			if (!strstr(e->d_name, ".ndv"))
				continue;
			char path[1200];
			snprintf(path, sizeof path, "%s/%s", cache_root, e->d_name);
			int fd = open(path, O_RDWR);
			assert_true(fd >= 0);
			struct stat st;
			assert_int_equal(fstat(fd, &st), 0);
			if (how == 0) {
				assert_int_equal(ftruncate(fd, 0), 0);
			} else {
				off_t from = how == 1 ? 0 : st.st_size / 2;
				size_t len = (size_t)(st.st_size - from);
				uint8_t *zeros = calloc(len, 1);
				assert_int_equal(pwrite(fd, zeros, len, from), (ssize_t)len);
				free(zeros);
			}
			close(fd);
			torn++;
		}
		closedir(d);
		assert_int_equal(torn, 3);
		struct study *s = open_study();
		assert_cached(s, false);
		assert_same(ref, s);
		study_free(s);
		s = open_study();
		assert_cached(s, true);
		assert_same(ref, s);
		study_free(s);
	}
	study_free(ref);
}

static void test_changed_labels_are_a_miss(void **state)
{
	(void)state;
	clear_cache();
	study_free(open_study());
	struct study *before = open_study();
	assert_cached(before, true);
	int64_t *labels = malloc(N * sizeof *labels);
	for (size_t i = 0; i < N; i++)
		labels[i] = before->labels[i];
	labels[123] = (labels[123] + 1) % C;
	write_labels(labels);
	struct study *after = open_study();
	assert_cached(after, false);
	struct study *ref = open_uncached();
	assert_same(ref, after);
	assert_true(model_p_label(&after->models[0], 123) !=
	                model_p_label(&before->models[0], 123) ||
	            model_rank(&after->models[0], 123) != model_rank(&before->models[0], 123));
	/* and back: the first cache file answers again */
	labels[123] = before->labels[123];
	write_labels(labels);
	struct study *back = open_study();
	assert_cached(back, true);
	assert_same(before, back);
	free(labels);
	study_free(before);
	study_free(after);
	study_free(ref);
	study_free(back);
}

static void test_fresh_or_changed_source(void **state)
{
	(void)state;
	clear_cache();
	/* a source modified just now is derived but not cached */
	char path[1024];
	snprintf(path, sizeof path, "%s/models/a32/probs.npy", study_dir);
	assert_int_equal(utimes(path, NULL), 0);
	struct study *s = open_study();
	assert_int_equal(cache_files(), 2);
	study_free(s);
	s = open_study();
	assert_false(s->models[0].derived_cached);
	assert_true(s->models[1].derived_cached);
	study_free(s);
	/* once it has aged its mtime differs from the one the cache would have used */
	age("models/a32/probs.npy");
	s = open_study();
	assert_false(s->models[0].derived_cached);
	study_free(s);
	s = open_study();
	assert_cached(s, true);
	study_free(s);
}

/* Sets every .ndv file's mtime to t seconds; returns how many. */
static int set_cache_mtimes(time_t t)
{
	DIR *d = opendir(cache_root);
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (!strstr(e->d_name, ".ndv"))
			continue;
		char path[1200];
		snprintf(path, sizeof path, "%s/%s", cache_root, e->d_name);
		struct timespec ts[2] = {{t, 0}, {t, 0}};
		assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
		n++;
	}
	closedir(d);
	return n;
}

/* The oldest .ndv mtime in seconds. */
static time_t oldest_cache_mtime(void)
{
	DIR *d = opendir(cache_root);
	assert_non_null(d);
	time_t oldest = (time_t)1 << 40;
	for (struct dirent *e; (e = readdir(d));) {
		if (!strstr(e->d_name, ".ndv"))
			continue;
		char path[1200];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", cache_root, e->d_name);
		assert_int_equal(stat(path, &st), 0);
		if (st.st_mtime < oldest)
			oldest = st.st_mtime;
	}
	closedir(d);
	return oldest;
}

/*
 * The size cap (cache_evict.h) on real stores: a hit marks its file as used, and with
 * NNCMP_CACHE_MAX_MB=0 each store removes the others, so of the three models only the last
 * stored (c_logits) is cached; a foreign file in the directory stays.
 */
static void test_size_cap(void **state)
{
	(void)state;
	clear_cache();
	study_free(open_study());
	assert_int_equal(set_cache_mtimes(1000), 3);
	struct study *s = open_study();
	assert_cached(s, true);
	study_free(s);
	assert_true(oldest_cache_mtime() > 1000); /* every hit touched its file */

	clear_cache();
	mkdir(cache_root, 0700);
	char foreign[800];
	snprintf(foreign, sizeof foreign, "%s/README", cache_root);
	FILE *f = fopen(foreign, "w");
	assert_non_null(f);
	fputs("NNCMPDRV not a cache file\n", f);
	fclose(f);
	setenv("NNCMP_CACHE_MAX_MB", "0", 1);
	study_free(open_study());
	assert_int_equal(cache_files(), 1);
	s = open_study();
	assert_false(s->models[0].derived_cached);
	assert_false(s->models[1].derived_cached);
	assert_true(s->models[2].derived_cached);
	study_free(s);
	unsetenv("NNCMP_CACHE_MAX_MB");
	struct stat st;
	assert_int_equal(stat(foreign, &st), 0);
	/* the default cap keeps all three */
	study_free(open_study());
	assert_int_equal(cache_files(), 3);
	s = open_study();
	assert_cached(s, true);
	study_free(s);
}

/* The process's resident pages (/proc/self/statm). */
static long resident_pages(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld %ld", &size, &res), 2);
	fclose(f);
	return res;
}

/*
 * Float32 probabilities read with pread() (npy_map_cheap false) give every derived value bit
 * for bit as read through the mapping, across pread blocks and work chunks (rows of 100
 * classes: 656 a read, 32768 a chunk), and leave the file's pages out of the process.
 */
static void test_read_paths_agree(void **state)
{
	(void)state;
	enum { N2 = 40000, C2 = 100 };
	char dir[700];
	snprintf(dir, sizeof dir, "%s/big", tu_dir);
	mkdir(dir, 0700);
	struct rng r;
	rng_seed(&r, 11);
	int64_t *labels = malloc(N2 * sizeof *labels);
	float *p = malloc((size_t)N2 * C2 * sizeof *p);
	for (size_t i = 0; i < N2; i++) {
		labels[i] = (int64_t)(rng_next(&r) % C2);
		double sum = 0;
		for (size_t j = 0; j < C2; j++) {
			unsigned q = (unsigned)(rng_next(&r) % 5); /* ties, and zeros */
			p[i * C2 + j] = (float)q;
			sum += q;
		}
		for (size_t j = 0; j < C2; j++)
			p[i * C2 + j] = sum > 0 ? (float)(p[i * C2 + j] / sum) : 1.0f / C2;
	}
	tu_write_i64(dir, "labels.npy", labels, N2);
	tu_write_f32(dir, "models/a/probs.npy", p, N2, C2);
	free(labels);
	free(p);
	setenv("NNCMP_CACHE", "0", 1);
	struct nn_err err = {0};
	setenv("NNCMP_TEST_MAP", "0", 1);
	long before = resident_pages();
	struct study *read = study_open(dir, &err);
	long grew_read = resident_pages() - before;
	if (!read)
		fail_msg("%s", err.msg);
	setenv("NNCMP_TEST_MAP", "1", 1);
	before = resident_pages();
	struct study *mapped = study_open(dir, &err);
	long grew_mapped = resident_pages() - before;
	if (!mapped)
		fail_msg("%s", err.msg);
	unsetenv("NNCMP_TEST_MAP");
	unsetenv("NNCMP_CACHE");
	assert_same(read, mapped);
	/* 16 MB of probabilities: through the mapping most of their pages become resident, read
	 * with pread only the derived arrays (14 B a row) and the read buffers */
	long file_pages = (long)((size_t)N2 * C2 * sizeof(float) / 4096);
	if (grew_mapped < file_pages / 2 || grew_read > file_pages / 4)
		fail_msg(
		    "resident pages grew by %ld through the mapping and %ld with pread, of %ld",
		    grew_mapped, grew_read, file_pages);
	/* the file replaced by another of the same shape after the open: the derivation reads
	 * what is mapped, never the new file (pread only reads the file it can tell is mapped) */
	setenv("NNCMP_CACHE", "0", 1);
	struct study *later = study_open_ex(dir, STUDY_DEFER_DERIVE, &err);
	if (!later)
		fail_msg("%s", err.msg);
	float *other = calloc((size_t)N2 * C2, sizeof *other);
	for (size_t i = 0; i < N2; i++)
		other[i * C2] = 1.0f; /* every row one-hot on class 0 */
	tu_write_f32(dir, "models/a/new.npy", other, N2, C2);
	free(other);
	char from[800], to[800];
	snprintf(from, sizeof from, "%s/models/a/new.npy", dir);
	snprintf(to, sizeof to, "%s/models/a/probs.npy", dir);
	assert_int_equal(rename(from, to), 0);
	setenv("NNCMP_TEST_MAP", "0", 1);
	if (study_derive(later, &err) != 0)
		fail_msg("%s", err.msg);
	unsetenv("NNCMP_TEST_MAP");
	unsetenv("NNCMP_CACHE");
	assert_same(later, mapped);
	study_free(later);
	study_free(read);
	study_free(mapped);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hit_is_exact),
	    cmocka_unit_test(test_damage_is_a_miss),
	    cmocka_unit_test(test_torn_by_a_crash_is_a_miss),
	    cmocka_unit_test(test_corrupt_anywhere_is_a_miss),
	    cmocka_unit_test(test_forged_values_are_a_miss),
	    cmocka_unit_test(test_mapped_file_replaced),
	    cmocka_unit_test(test_changed_labels_are_a_miss),
	    cmocka_unit_test(test_fresh_or_changed_source),
	    cmocka_unit_test(test_size_cap),
	    cmocka_unit_test(test_read_paths_agree),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
