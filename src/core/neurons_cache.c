/*
 * neurons_cache.c — the on-disk cache of a layer's statistics (neurons.h).
 *
 * One file per (layer file, bins, k): DIR/HASH.nst with HASH the FNV-1a 64 hash of the key. The
 * key names the file's realpath, size, mtime in nanoseconds, inode, device and npy layout, so a
 * changed file gets a new key; the whole key is stored inside and compared on load, so a hash
 * collision or a renamed file is a miss, never a wrong answer.
 *
 * Format (all numbers little-endian):
 *   "NNCMPNST"  u32 version  u32 key_len  key bytes
 *   u64 n  u64 h  u32 bins  u32 k  f64 lo  f64 hi
 *   u64 count[h]  u64 dead[h]  f64 mean[h]  f64 m2[h]  f64 min[h]  f64 max[h]
 *   u64 hist[h·bins]  u32 top_idx[h·k]  f32 top_val[h·k]
 *   u64 FNV-1a 64 of every byte before it
 * The file is outside input: the reader checks the length against the sizes before touching an
 * array, then that the arrays agree with one another, then the checksum.
 *
 * Files are written to a temporary name in the same directory and renamed over the final one,
 * so a reader sees a whole file or none.
 */
#include "nncmp/cache_evict.h"
#include "nncmp/neurons.h"
#include "nncmp/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_VERSION 2 /* 2: histograms on the power-of-two grid (neurons_hist.c) */
#define CACHE_MAGIC   "NNCMPNST"
#define CACHE_MAX     ((size_t)1 << 34) /* bigger files are not ours */

static uint64_t fnv1a(const uint8_t *p, size_t len)
{
	uint64_t hsh = 0xcbf29ce484222325u;
	for (size_t i = 0; i < len; i++) {
		hsh ^= p[i];
		hsh *= 0x100000001b3u;
	}
	return hsh;
}

char *neurons_cache_dir(void)
{
	const char *off = getenv("NNCMP_CACHE");
	if (off && strcmp(off, "0") == 0)
		return NULL;
	const char *xdg = getenv("XDG_CACHE_HOME");
	if (xdg && xdg[0] == '/') /* the XDG spec: relative paths are invalid, ignore them */
		return path_join(xdg, "nncmp");
	/* under a home that exists only: a cache never creates the home itself (HOME=/nonexistent
	 * for a daemon or a test, and root could) */
	const char *home = getenv("HOME");
	struct stat st;
	if (home && home[0] == '/' && stat(home, &st) == 0 && S_ISDIR(st.st_mode))
		return xasprintf("%s/.cache/nncmp", home);
	return NULL;
}

char *neurons_cache_key(const struct npy *act, unsigned bins, unsigned k, struct nn_err *err)
{
	struct stat st;
	char *real = realpath(act->path, NULL);
	if (!real || stat(real, &st) < 0) {
		nn_err_set(err, "%s: %s", act->path, strerror(errno));
		free(real);
		return NULL;
	}
	char dt[8];
	/* fixed-format fields first and the path last, so the text parses one way only */
	char *key = xasprintf(
	    "nncmp-neurons v%d bins=%u k=%u size=%lld mtime=%lld.%09ld ino=%llu dev=%llu "
	    "dtype=%s%s fortran=%d shape=%zux%zu offset=%zu path=%s",
	    CACHE_VERSION, bins, k, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
	    (long)st.st_mtim.tv_nsec, (unsigned long long)st.st_ino, (unsigned long long)st.st_dev,
	    npy_dtype_str(&act->h, dt), act->h.swap ? "-swapped" : "", act->h.fortran, act->rows,
	    act->cols, act->h.data_offset, real);
	free(real);
	return key;
}

char *neurons_cache_path(const char *dir, const char *key)
{
	return xasprintf("%s/%016llx.nst", dir,
	                 (unsigned long long)fnv1a((const uint8_t *)key, strlen(key)));
}

/* ---- encoding ---- */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct wbuf *b, uint64_t v, int bytes)
{
	if (b->len + 8 > b->cap) {
		b->cap = b->cap * 2 + 64;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	for (int i = 0; i < bytes; i++)
		b->p[b->len++] = (uint8_t)(v >> (8 * i));
}

static void put_f64(struct wbuf *b, double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	put(b, u, 8);
}

static void put_f32(struct wbuf *b, float v)
{
	uint32_t u;
	memcpy(&u, &v, 4);
	put(b, u, 4);
}

void neurons_cache_encode(const struct neuron_stats *st, const char *key, uint8_t **buf,
                          size_t *len)
{
	struct wbuf b = {0};
	size_t klen = strlen(key), h = st->h;
	for (int i = 0; i < 8; i++)
		put(&b, (uint8_t)CACHE_MAGIC[i], 1);
	put(&b, CACHE_VERSION, 4);
	put(&b, klen, 4);
	for (size_t i = 0; i < klen; i++)
		put(&b, (uint8_t)key[i], 1);
	put(&b, st->n, 8);
	put(&b, h, 8);
	put(&b, st->bins, 4);
	put(&b, st->k, 4);
	put_f64(&b, st->lo);
	put_f64(&b, st->hi);
	for (size_t j = 0; j < h; j++)
		put(&b, st->count[j], 8);
	for (size_t j = 0; j < h; j++)
		put(&b, st->dead[j], 8);
	const double *arrays[] = {st->mean, st->m2, st->min, st->max};
	for (int a = 0; a < 4; a++)
		for (size_t j = 0; j < h; j++)
			put_f64(&b, arrays[a][j]);
	for (size_t q = 0; q < h * st->bins; q++)
		put(&b, st->hist[q], 8);
	for (size_t q = 0; q < h * st->k; q++)
		put(&b, st->top_idx[q], 4);
	for (size_t q = 0; q < h * st->k; q++)
		put_f32(&b, st->top_val[q]);
	put(&b, fnv1a(b.p, b.len), 8);
	*buf = b.p;
	*len = b.len;
}

/* ---- decoding ---- */

struct rbuf {
	const uint8_t *p;
	size_t len, pos;
};

/* Reads a little-endian number; the caller has checked that the bytes exist. */
static uint64_t get(struct rbuf *b, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)b->p[b->pos++] << (8 * i);
	return v;
}

static double get_f64(struct rbuf *b)
{
	uint64_t u = get(b, 8);
	double v;
	memcpy(&v, &u, 8);
	return v;
}

static float get_f32(struct rbuf *b)
{
	uint32_t u = (uint32_t)get(b, 4);
	float v;
	memcpy(&v, &u, 4);
	return v;
}

/* Adds a·b to *total; returns -1 on overflow. */
static int add_mul(size_t *total, size_t a, size_t b)
{
	size_t p;
	if (size_mul(a, b, &p) < 0 || *total + p < *total)
		return -1;
	*total += p;
	return 0;
}

/* Checks that the decoded arrays agree with one another; returns a problem or NULL. */
static const char *check_consistent(const struct neuron_stats *st)
{
	size_t h = st->h;
	double lo = INFINITY, hi = -INFINITY;
	for (size_t j = 0; j < h; j++) {
		uint64_t c = st->count[j];
		if (c > st->n || st->dead[j] > c)
			return "counts out of range";
		if (c == 0) {
			if (!isnan(st->mean[j]) || !isnan(st->min[j]) || !isnan(st->max[j]) ||
			    st->m2[j] != 0)
				return "values for a neuron without values";
		} else {
			if (!isfinite(st->mean[j]) || !isfinite(st->min[j]) ||
			    !isfinite(st->max[j]) || !(st->min[j] <= st->max[j]) ||
			    !(st->m2[j] >= 0) || !isfinite(st->m2[j]))
				return "bad mean, variance or range";
			lo = st->min[j] < lo ? st->min[j] : lo;
			hi = st->max[j] > hi ? st->max[j] : hi;
		}
		uint64_t sum = 0;
		for (unsigned q = 0; q < st->bins; q++) {
			uint64_t v = st->hist[j * st->bins + q];
			if (v > c || sum + v > c)
				return "histogram counts out of range";
			sum += v;
		}
		if (sum != c)
			return "histogram does not add up";
		uint64_t tops = c < st->k ? c : st->k;
		for (unsigned q = 0; q < st->k; q++) {
			uint32_t i = st->top_idx[j * st->k + q];
			float v = st->top_val[j * st->k + q];
			if (q < tops ? (i >= st->n || !isfinite(v)) : (i != NEURONS_NO_INDEX))
				return "bad top-k list";
		}
	}
	if (lo > hi ? !(isnan(st->lo) && isnan(st->hi)) : (st->lo != lo || st->hi != hi))
		return "layer range does not match the neurons'";
	return NULL;
}

int neurons_cache_decode(const uint8_t *buf, size_t len, const char *key, struct neuron_stats *out,
                         struct nn_err *err)
{
	struct rbuf b = {buf, len, 0};
	memset(out, 0, sizeof *out);
	if (len < 16 || memcmp(buf, CACHE_MAGIC, 8) != 0)
		return nn_err_set(err, "not an nncmp statistics cache file");
	b.pos = 8;
	uint32_t version = (uint32_t)get(&b, 4), klen = (uint32_t)get(&b, 4);
	if (version != CACHE_VERSION)
		return nn_err_set(err, "cache format version %u, expected %d", version,
		                  CACHE_VERSION);
	if (klen > len - b.pos)
		return nn_err_set(err, "key of %u bytes, longer than the file", klen);
	if (key && (strlen(key) != klen || memcmp(buf + b.pos, key, klen) != 0))
		return nn_err_set(err, "cache entry for another file or version");
	b.pos += klen;
	if (len - b.pos < 40)
		return nn_err_set(err, "truncated header");
	uint64_t n = get(&b, 8), h = get(&b, 8);
	uint32_t bins = (uint32_t)get(&b, 4), k = (uint32_t)get(&b, 4);
	if (bins < NEURONS_BINS_MIN || bins > NEURONS_BINS_MAX || k < 1 || k > NEURONS_TOPK_MAX)
		return nn_err_set(err, "bins %u or k %u out of range", bins, k);
	if (n > UINT32_MAX)
		return nn_err_set(err, "shape %llu×%llu out of range", (unsigned long long)n,
		                  (unsigned long long)h);
	/* what must follow: lo, hi, the arrays and the checksum */
	size_t need = 16 + 8;
	if (add_mul(&need, (size_t)h, 6 * 8) < 0 ||
	    add_mul(&need, (size_t)h, (size_t)bins * 8) < 0 ||
	    add_mul(&need, (size_t)h, (size_t)k * 8) < 0 || need != len - b.pos)
		return nn_err_set(err, "%zu bytes, but the header promises a different size", len);
	out->n = (size_t)n;
	out->h = (size_t)h;
	out->bins = bins;
	out->k = k;
	out->lo = get_f64(&b);
	out->hi = get_f64(&b);
	out->count = xcalloc(out->h, sizeof *out->count);
	out->dead = xcalloc(out->h, sizeof *out->dead);
	out->mean = xcalloc(out->h, sizeof *out->mean);
	out->m2 = xcalloc(out->h, sizeof *out->m2);
	out->min = xcalloc(out->h, sizeof *out->min);
	out->max = xcalloc(out->h, sizeof *out->max);
	out->hist = xcalloc(out->h, bins * sizeof *out->hist);
	out->top_idx = xcalloc(out->h, k * sizeof *out->top_idx);
	out->top_val = xcalloc(out->h, k * sizeof *out->top_val);
	for (size_t j = 0; j < out->h; j++)
		out->count[j] = get(&b, 8);
	for (size_t j = 0; j < out->h; j++)
		out->dead[j] = get(&b, 8);
	double *arrays[] = {out->mean, out->m2, out->min, out->max};
	for (int a = 0; a < 4; a++)
		for (size_t j = 0; j < out->h; j++)
			arrays[a][j] = get_f64(&b);
	for (size_t q = 0; q < out->h * bins; q++)
		out->hist[q] = get(&b, 8);
	for (size_t q = 0; q < out->h * k; q++)
		out->top_idx[q] = (uint32_t)get(&b, 4);
	for (size_t q = 0; q < out->h * k; q++)
		out->top_val[q] = get_f32(&b);
	const char *problem = check_consistent(out);
	uint64_t sum = fnv1a(buf, b.pos);
	if (!problem && get(&b, 8) != sum)
		problem = "checksum mismatch";
	if (problem) {
		neurons_stats_free(out);
		return nn_err_set(err, "corrupt cache file: %s", problem);
	}
	return 0;
}

/* ---- files ---- */

int neurons_cache_load(const char *dir, const char *key, struct neuron_stats *out)
{
	memset(out, 0, sizeof *out);
	char *path = neurons_cache_path(dir, key);
	size_t len;
	char *buf = file_read_all(path, CACHE_MAX, &len, NULL);
	int rc = buf ? neurons_cache_decode((const uint8_t *)buf, len, key, out, NULL) : -1;
	if (rc == 0)
		cache_touch(path); /* recently used: kept longest by the size cap */
	free(buf);
	free(path);
	return rc;
}

int neurons_cache_store(const char *dir, const char *key, const struct neuron_stats *st)
{
	if (mkdir_p(dir, 0700) < 0)
		return -1;
	char *path = neurons_cache_path(dir, key);
	struct outfile out = {0};
	struct nn_err err = {{0}};
	int rc = outfile_open(&out, path, 0600, &err);
	if (rc < 0) {
		free(path);
		outfile_discard(&out);
		return -1;
	}
	out.no_sync = true; /* checked in full on read: a torn entry is only recomputed */
	uint8_t *buf;
	size_t len;
	neurons_cache_encode(st, key, &buf, &len);
	bool wrote = fwrite(buf, 1, len, out.f) == len;
	free(buf);
	rc = wrote && outfile_finish(&out, &err) == 0 && outfile_commit(&out, true, NULL, &err) == 0
	         ? 0
	         : -1;
	outfile_discard(&out);
	if (rc == 0)
		cache_evict_after_store(path);
	free(path);
	return rc;
}
