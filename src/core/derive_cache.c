/* derive_cache.c — the on-disk cache of each model's derived per-instance arrays (derive_cache.h).
 */
#include "nncmp/derive_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <xxhash.h>

#include "nncmp/cache_evict.h"
#include "nncmp/derive.h"
#include "nncmp/outfile.h"

#define DCACHE_VERSION 2
#define DCACHE_MAGIC   "NNCMPDRV"
#define DCACHE_KEY_MAX 65536
#define DCACHE_HEAD    32           /* magic, version, key length, n, classes, id and value sizes */
#define DCACHE_ALIGN   4096         /* every array starts at a multiple of this */
#define DCACHE_CHUNK   (256u << 10) /* bytes hashed and checked at a time, while in cache */
#define N_SECTIONS     5            /* pred, rank, conf, p_label, second */

static bool little_endian(void)
{
	const uint16_t one = 1;
	uint8_t b;
	memcpy(&b, &one, 1);
	return b == 1;
}

uint64_t derive_cache_labels_hash(const struct study *s)
{
	const int32_t *labels = s->given ? s->given : s->labels; /* as in the files */
	return XXH3_64bits(labels, s->n * sizeof *labels);
}

/* The sources of a matrix: its shards' paths, or its own. */
static size_t sources(const struct npy *m, const char **out, size_t max)
{
	if (m->n_shards == 0) {
		out[0] = m->path;
		return 1;
	}
	size_t k = 0;
	for (; k < m->n_shards && k < max; k++)
		out[k] = m->shards[k].path;
	return k;
}

/*
 * The file that holds a source: the path itself, or for "FILE:MEMBER" (a tensor of a
 * safetensors file, a member of an archive) FILE. Returns its stat and realpath, or NULL.
 */
static char *source_file(const char *spec, struct stat *st)
{
	char *real = realpath(spec, NULL);
	if (!real) {
		const char *colon = strrchr(spec, ':');
		if (!colon || colon == spec)
			return NULL;
		char *file = xstrndup(spec, (size_t)(colon - spec));
		real = realpath(file, NULL);
		free(file);
	}
	if (real && stat(real, st) < 0) {
		free(real);
		real = NULL;
	}
	return real;
}

char *derive_cache_key(const struct study *s, const struct model *m, uint64_t labels_hash)
{
	if (m->src == SRC_PRED || !little_endian())
		return NULL;
	const char *src[NPY_MAX_SHARDS];
	size_t n_src = sources(&m->probs, src, NPY_MAX_SHARDS);
	char dt[8];
	const struct npy_header *h = &m->probs.h;
	char *key = xasprintf("nncmp-derive v%d tol=%g logits=%d n=%zu classes=%zu labels=%016llx "
	                      "dtype=%s%s fortran=%d shape=%zux%zu offset=%zu sources=%zu",
	                      DCACHE_VERSION, PROB_SUM_TOLERANCE, m->src == SRC_LOGITS, s->n,
	                      s->n_classes, (unsigned long long)labels_hash, npy_dtype_str(h, dt),
	                      h->swap ? "-swapped" : "", h->fortran, m->probs.rows, m->probs.cols,
	                      h->data_offset, n_src);
	for (size_t k = 0; k < n_src; k++) {
		struct stat st;
		char *real = source_file(src[k], &st);
		if (!real) {
			free(key);
			return NULL;
		}
		/* fixed-format fields first and the names last, one source per line */
		char *more = xasprintf(
		    "%s\nsize=%lld mtime=%lld.%09ld ino=%llu dev=%llu file=%s spec=%s", key,
		    (long long)st.st_size, (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec,
		    (unsigned long long)st.st_ino, (unsigned long long)st.st_dev, real, src[k]);
		free(real);
		free(key);
		key = more;
	}
	if (strlen(key) >= DCACHE_KEY_MAX) {
		free(key);
		return NULL;
	}
	return key;
}

bool derive_cache_settled(const struct model *m)
{
	const char *src[NPY_MAX_SHARDS];
	size_t n_src = sources(&m->probs, src, NPY_MAX_SHARDS);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	for (size_t k = 0; k < n_src; k++) {
		struct stat st;
		char *real = source_file(src[k], &st);
		free(real);
		if (!real || now.tv_sec - st.st_mtim.tv_sec < DERIVE_CACHE_SETTLE_S)
			return false;
	}
	return true;
}

char *derive_cache_path(const char *dir, const char *key)
{
	return xasprintf("%s/%016llx.ndv", dir, (unsigned long long)XXH3_64bits(key, strlen(key)));
}

/* ---- the layout ---- */

static uint64_t align_up(uint64_t v)
{
	return (v + DCACHE_ALIGN - 1) / DCACHE_ALIGN * DCACHE_ALIGN;
}

/*
 * Where the arrays of a file for n instances, a key of klen bytes and these sizes go: off[k] and
 * len[k] for pred, rank, conf, p_label, second. Returns the file's length (the checksum last).
 */
static uint64_t layout(size_t n, size_t klen, uint8_t id_size, uint8_t val_size,
                       uint64_t off[N_SECTIONS], uint64_t len[N_SECTIONS])
{
	uint64_t at = align_up(DCACHE_HEAD + (uint64_t)klen);
	for (int k = 0; k < N_SECTIONS; k++) {
		off[k] = at;
		len[k] = (uint64_t)n * (k < 2 ? id_size : val_size);
		at = k + 1 < N_SECTIONS ? align_up(at + len[k]) : at + len[k];
	}
	return at + sizeof(uint64_t);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)v);
	put_u32(p + 4, (uint32_t)(v >> 32));
}

/* The header of a file for model m: magic, version, key length, n, classes, id and value sizes. */
static void make_head(uint8_t head[DCACHE_HEAD], size_t klen, size_t n, size_t c,
                      const struct model *m)
{
	memset(head, 0, DCACHE_HEAD);
	memcpy(head, DCACHE_MAGIC, 8);
	put_u32(head + 8, DCACHE_VERSION);
	put_u32(head + 12, (uint32_t)klen);
	put_u64(head + 16, n);
	put_u32(head + 24, (uint32_t)c);
	head[28] = m->id_size;
	head[29] = m->val_size;
}

/* ---- reading ---- */

/*
 * The range checks of a mapped file, run on every hit: loops of a fixed CHECK_BLOCK values (which
 * the compiler vectorizes) and the tail. Each returns true when every value is in range.
 */
#define CHECK_BLOCK 512

NN_VECTOR_CLONES
static bool u8_below(const uint8_t *v, size_t n, size_t c)
{
	if (c > UINT8_MAX)
		return true;
	uint8_t lim = (uint8_t)c, bad = 0;
	size_t i = 0;
	for (; i + CHECK_BLOCK <= n; i += CHECK_BLOCK)
		for (size_t k = 0; k < CHECK_BLOCK; k++)
			bad |= v[i + k] >= lim;
	for (; i < n; i++)
		bad |= v[i] >= lim;
	return !bad;
}

NN_VECTOR_CLONES
static bool u16_below(const uint16_t *v, size_t n, size_t c)
{
	if (c > UINT16_MAX)
		return true;
	uint16_t lim = (uint16_t)c, bad = 0;
	size_t i = 0;
	for (; i + CHECK_BLOCK <= n; i += CHECK_BLOCK)
		for (size_t k = 0; k < CHECK_BLOCK; k++)
			bad |= v[i + k] >= lim;
	for (; i < n; i++)
		bad |= v[i] >= lim;
	return !bad;
}

NN_VECTOR_CLONES
static bool i32_below(const int32_t *v, size_t n, size_t c)
{
	uint32_t lim = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c, bad = 0;
	for (size_t i = 0; i < n; i++)
		bad |= (uint32_t)v[i] >= lim; /* a negative id is a huge one */
	return !bad;
}

/* Each of the n values in [0, lim[i]] (lim NULL: [0, 1]); false for NaN. */
NN_VECTOR_CLONES
static bool f32_in(const float *v, const float *lim, size_t n)
{
	int32_t bad = 0;
	size_t i = 0;
	if (lim) {
		for (; i + CHECK_BLOCK <= n; i += CHECK_BLOCK)
			for (size_t k = 0; k < CHECK_BLOCK; k++)
				bad |= !(v[i + k] >= 0.0f) | !(v[i + k] <= lim[i + k]);
		for (; i < n; i++)
			bad |= !(v[i] >= 0.0f) | !(v[i] <= lim[i]);
	} else {
		for (; i + CHECK_BLOCK <= n; i += CHECK_BLOCK)
			for (size_t k = 0; k < CHECK_BLOCK; k++)
				bad |= !(v[i + k] >= 0.0f) | !(v[i + k] <= 1.0f);
		for (; i < n; i++)
			bad |= !(v[i] >= 0.0f) | !(v[i] <= 1.0f);
	}
	return !bad;
}

NN_VECTOR_CLONES
static bool f64_in(const double *v, size_t n)
{
	int64_t bad = 0;
	size_t i = 0;
	for (; i + CHECK_BLOCK <= n; i += CHECK_BLOCK)
		for (size_t k = 0; k < CHECK_BLOCK; k++)
			bad |= !(v[i + k] >= 0.0) | !(v[i + k] <= 1.0);
	for (; i < n; i++)
		bad |= !(v[i] >= 0.0) | !(v[i] <= 1.0);
	return !bad;
}

/* True when every one of the n ids of size bytes at p is below c. */
static bool ids_ok(const void *p, uint8_t size, size_t n, size_t c)
{
	return size == 1 ? u8_below(p, n, c) : size == 2 ? u16_below(p, n, c) : i32_below(p, n, c);
}

/* True when each of the n values at p is in [0, 1] (false for NaN), and with lim at most lim[i]. */
static bool vals_ok(const void *p, const void *lim, uint8_t size, size_t n)
{
	return size == 4 ? f32_in(p, lim, n) : f64_in(p, n);
}

/*
 * Checks the mapped file at map (flen bytes) against key, s and m's expected sizes, hashing and
 * range-checking it a chunk at a time: returns true when every byte is as written and every value
 * in range.
 */
static bool check_map(const uint8_t *map, uint64_t flen, const char *key, const struct study *s,
                      const struct model *m, const uint64_t off[N_SECTIONS],
                      const uint64_t len[N_SECTIONS])
{
	size_t klen = strlen(key), n = s->n, c = m->probs.cols;
	uint8_t want[DCACHE_HEAD];
	make_head(want, klen, n, c, m);
	if (memcmp(map, want, DCACHE_HEAD) != 0 || memcmp(map + DCACHE_HEAD, key, klen) != 0)
		return false;
	XXH3_state_t *st = XXH3_createState();
	if (!st || XXH3_64bits_reset(st) == XXH_ERROR) {
		XXH3_freeState(st);
		return false;
	}
	bool ok = XXH3_64bits_update(st, map, off[0]) == XXH_OK; /* header, key, padding */
	for (int k = 0; ok && k < N_SECTIONS; k++) {
		uint8_t size = k < 2 ? m->id_size : m->val_size;
		size_t per = DCACHE_CHUNK / size;
		uint64_t end = k + 1 < N_SECTIONS ? off[k + 1] : flen - sizeof(uint64_t);
		for (size_t i0 = 0; ok && i0 < n; i0 += per) {
			size_t nb = n - i0 < per ? n - i0 : per;
			const uint8_t *p = map + off[k] + (uint64_t)i0 * size;
			if (k < 2)
				ok = ids_ok(p, size, nb, c);
			else /* the runner-up is at most p(pred); a margin is in [0, 1] */
				ok = vals_ok(p,
				             k == 4 && size == 4 ? map + off[2] + i0 * size : NULL,
				             size, nb);
			ok = ok && XXH3_64bits_update(st, p, nb * size) == XXH_OK;
		}
		uint64_t tail = off[k] + len[k]; /* the padding up to the next array */
		ok = ok && XXH3_64bits_update(st, map + tail, end - tail) == XXH_OK;
	}
	ok = ok && XXH3_64bits_digest(st) == get_u64(map + flen - sizeof(uint64_t));
	XXH3_freeState(st);
	return ok;
}

static int load_fd(int fd, const char *key, const struct study *s, struct model *m)
{
	struct stat st;
	size_t klen = strlen(key);
	uint64_t off[N_SECTIONS], len[N_SECTIONS];
	uint64_t flen = layout(s->n, klen, m->id_size, m->val_size, off, len);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != flen ||
	    flen > SIZE_MAX)
		return -1;
	/*
	 * Private and read-only: the arrays point into it (model_derived_writable() gives written
	 * pages their own copies). A rewrite of the cache goes to a new file renamed over this one
	 * (outfile.h), and an eviction unlinks it; either leaves this mapping as it was.
	 */
	int flags = MAP_PRIVATE;
#ifdef MAP_POPULATE
	flags |= MAP_POPULATE; /* every page is read by the check below anyway */
#endif
	uint8_t *map = mmap(NULL, (size_t)flen, PROT_READ, flags, fd, 0);
	if (map == MAP_FAILED)
		return -1;
	if (!check_map(map, flen, key, s, m, off, len)) {
		munmap(map, (size_t)flen);
		return -1;
	}
	model_derived_free(m);
	m->d_map = map;
	m->d_map_len = (size_t)flen;
	m->d_pred = map + off[0];
	m->d_rank = map + off[1];
	m->d_conf = map + off[2];
	m->d_p_label = map + off[3];
	m->d_second = map + off[4];
	return 0;
}

int derive_cache_load(const char *dir, const char *key, const struct study *s, struct model *m)
{
	if (!little_endian() || s->n == 0)
		return -1;
	char *path = derive_cache_path(dir, key);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	free(path);
	if (fd < 0)
		return -1;
	int rc = load_fd(fd, key, s, m);
	if (rc == 0)
		cache_touch_fd(fd); /* recently used: kept longest by the size cap */
	close(fd);
	return rc;
}

/* ---- writing ---- */

static void emit(FILE *f, const void *p, size_t len, XXH3_state_t *st)
{
	fwrite(p, 1, len, f);
	XXH3_64bits_update(st, p, len);
}

/* Writes zero bytes up to offset `to` from `at`. */
static void pad(FILE *f, uint64_t at, uint64_t to, XXH3_state_t *st)
{
	static const uint8_t zeros[DCACHE_ALIGN];
	while (at < to) {
		size_t k = to - at < sizeof zeros ? (size_t)(to - at) : sizeof zeros;
		emit(f, zeros, k, st);
		at += k;
	}
}

int derive_cache_store(const char *dir, const char *key, const struct study *s,
                       const struct model *m)
{
	if (!little_endian() || !model_has_probs(m) || s->n == 0)
		return -1;
	if (mkdir_p(dir, 0700) < 0)
		return -1;
	size_t klen = strlen(key), n = s->n, c = m->probs.cols;
	uint64_t off[N_SECTIONS], len[N_SECTIONS];
	layout(n, klen, m->id_size, m->val_size, off, len);
	XXH3_state_t *st = XXH3_createState();
	if (!st || XXH3_64bits_reset(st) == XXH_ERROR) {
		XXH3_freeState(st);
		return -1;
	}
	char *path = derive_cache_path(dir, key);
	struct outfile out = {0};
	struct nn_err err = {0};
	int rc = outfile_open(&out, path, 0600, &err);
	if (rc < 0) {
		free(path);
		outfile_discard(&out);
		XXH3_freeState(st);
		return -1;
	}
	out.no_sync = true; /* checked in full on read: a torn entry is only recomputed */
	uint8_t head[DCACHE_HEAD];
	make_head(head, klen, n, c, m);
	emit(out.f, head, sizeof head, st);
	emit(out.f, key, klen, st);
	uint64_t at = DCACHE_HEAD + klen;
	const void *arrays[N_SECTIONS] = {m->d_pred, m->d_rank, m->d_conf, m->d_p_label,
	                                  m->d_second};
	for (int k = 0; k < N_SECTIONS; k++) {
		pad(out.f, at, off[k], st);
		emit(out.f, arrays[k], (size_t)len[k], st);
		at = off[k] + len[k];
	}
	uint8_t tail[8];
	put_u64(tail, XXH3_64bits_digest(st));
	XXH3_freeState(st);
	fwrite(tail, 1, sizeof tail, out.f);
	rc =
	    outfile_finish(&out, &err) == 0 && outfile_commit(&out, true, NULL, &err) == 0 ? 0 : -1;
	outfile_discard(&out);
	if (rc == 0)
		cache_evict_after_store(path);
	free(path);
	return rc;
}
