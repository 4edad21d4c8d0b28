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
#include <zlib.h>

#include "nncmp/cache_evict.h"
#include "nncmp/derive.h"
#include "nncmp/outfile.h"

#define DCACHE_VERSION 1
#define DCACHE_MAGIC   "NNCMPDRV"
#define DCACHE_KEY_MAX 65536
#define KIND_F32       1
#define KIND_F64       2
#define BLOCK_VALUES   16384 /* values per read or write of a widened array */

static bool little_endian(void)
{
	const uint16_t one = 1;
	uint8_t b;
	memcpy(&b, &one, 1);
	return b == 1;
}

/* zlib's crc32 takes a uInt length: feed big arrays in pieces. */
static uint32_t crc_add(uint32_t crc, const void *p, size_t len)
{
	const Bytef *b = p;
	while (len) {
		uInt part = len > (1u << 30) ? (1u << 30) : (uInt)len;
		crc = (uint32_t)crc32(crc, b, part);
		b += part;
		len -= part;
	}
	return crc;
}

uint32_t derive_cache_labels_crc(const struct study *s)
{
	const int32_t *labels = s->given ? s->given : s->labels; /* as in the files */
	return crc_add((uint32_t)crc32(0, Z_NULL, 0), labels, s->n * sizeof *labels);
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

char *derive_cache_key(const struct study *s, const struct model *m, uint32_t labels_crc)
{
	if (m->src == SRC_PRED || !little_endian())
		return NULL;
	const char *src[NPY_MAX_SHARDS];
	size_t n_src = sources(&m->probs, src, NPY_MAX_SHARDS);
	char dt[8];
	const struct npy_header *h = &m->probs.h;
	char *key =
	    xasprintf("nncmp-derive v%d tol=%g logits=%d n=%zu classes=%zu labels=%08x "
	              "dtype=%s%s fortran=%d shape=%zux%zu offset=%zu sources=%zu",
	              DCACHE_VERSION, PROB_SUM_TOLERANCE, m->src == SRC_LOGITS, s->n, s->n_classes,
	              (unsigned)labels_crc, npy_dtype_str(h, dt), h->swap ? "-swapped" : "",
	              h->fortran, m->probs.rows, m->probs.cols, h->data_offset, n_src);
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
	size_t len = strlen(key);
	uLong c = crc32(0, (const Bytef *)key, (uInt)len);
	uLong a = adler32(1, (const Bytef *)key, (uInt)len);
	return xasprintf("%s/%08lx%08lx.ndv", dir, c & 0xffffffffUL, a & 0xffffffffUL);
}

/* ---- reading ---- */

static int read_at(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t r = pread(fd, p, len, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
		off += r;
	}
	return 0;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* Reads an int32 array of n ids in [0, c) at *off, adding it to *crc. */
static int read_ids(int fd, off_t *off, int32_t *dst, size_t n, size_t c, uint32_t *crc)
{
	if (read_at(fd, dst, n * sizeof *dst, *off) < 0)
		return -1;
	*off += (off_t)(n * sizeof *dst);
	*crc = crc_add(*crc, dst, n * sizeof *dst);
	for (size_t i = 0; i < n; i++)
		if (dst[i] < 0 || (size_t)dst[i] >= c)
			return -1;
	return 0;
}

static bool in_unit(double v)
{
	return v >= 0.0 && v <= 1.0; /* false for NaN */
}

/* Reads n float32 values at *off, widened into dst, each in [0, 1]. */
static int read_f32(int fd, off_t *off, double *dst, size_t n, float *buf, uint32_t *crc)
{
	for (size_t i0 = 0; i0 < n; i0 += BLOCK_VALUES) {
		size_t nb = n - i0 < BLOCK_VALUES ? n - i0 : BLOCK_VALUES;
		if (read_at(fd, buf, nb * sizeof *buf, *off) < 0)
			return -1;
		*off += (off_t)(nb * sizeof *buf);
		*crc = crc_add(*crc, buf, nb * sizeof *buf);
		for (size_t k = 0; k < nb; k++) {
			if (!in_unit(buf[k]))
				return -1;
			dst[i0 + k] = buf[k];
		}
	}
	return 0;
}

static int read_f64(int fd, off_t *off, double *dst, size_t n, uint32_t *crc)
{
	if (read_at(fd, dst, n * sizeof *dst, *off) < 0)
		return -1;
	*off += (off_t)(n * sizeof *dst);
	*crc = crc_add(*crc, dst, n * sizeof *dst);
	for (size_t i = 0; i < n; i++)
		if (!in_unit(dst[i]))
			return -1;
	return 0;
}

static int load_fd(int fd, const char *key, const struct study *s, struct model *m)
{
	struct stat st;
	size_t klen = strlen(key), n = s->n, c = m->probs.cols;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	uint8_t head[16];
	if (read_at(fd, head, sizeof head, 0) < 0 || memcmp(head, DCACHE_MAGIC, 8) != 0 ||
	    get_u32(head + 8) != DCACHE_VERSION || get_u32(head + 12) != klen)
		return -1;
	char *stored = xmalloc(klen + 1);
	uint8_t meta[16];
	int rc = read_at(fd, stored, klen, 16) == 0 && memcmp(stored, key, klen) == 0 &&
	                 read_at(fd, meta, sizeof meta, (off_t)(16 + klen)) == 0
	             ? 0
	             : -1;
	uint32_t crc =
	    crc_add(crc_add((uint32_t)crc32(0, Z_NULL, 0), head, sizeof head), stored, klen);
	free(stored);
	if (rc < 0)
		return -1;
	crc = crc_add(crc, meta, sizeof meta);
	uint32_t kind = get_u32(meta + 8);
	size_t vsize = kind == KIND_F32 ? 4 : 8;
	if (get_u64(meta) != n || get_u32(meta + 12) != c || (kind != KIND_F32 && kind != KIND_F64))
		return -1;
	/* the exact length: n ids twice, three value arrays, the checksum */
	uint64_t want = 16 + (uint64_t)klen + 16 + (uint64_t)n * (8 + 3 * vsize) + 4;
	if ((uint64_t)st.st_size != want)
		return -1;
	off_t off = (off_t)(16 + klen + 16);
	if (read_ids(fd, &off, m->pred, n, c, &crc) < 0 ||
	    read_ids(fd, &off, m->rank, n, c, &crc) < 0)
		return -1;
	if (kind == KIND_F32) {
		float *buf = xcalloc(BLOCK_VALUES, sizeof *buf);
		/* the runner-up goes into margin, then becomes the margin below */
		rc = read_f32(fd, &off, m->conf, n, buf, &crc) == 0 &&
		             read_f32(fd, &off, m->p_label, n, buf, &crc) == 0 &&
		             read_f32(fd, &off, m->margin, n, buf, &crc) == 0
		         ? 0
		         : -1;
		free(buf);
		for (size_t i = 0; rc == 0 && i < n; i++)
			m->margin[i] = c > 1 ? m->conf[i] - m->margin[i] : m->conf[i];
	} else {
		rc = read_f64(fd, &off, m->conf, n, &crc) == 0 &&
		             read_f64(fd, &off, m->p_label, n, &crc) == 0 &&
		             read_f64(fd, &off, m->margin, n, &crc) == 0
		         ? 0
		         : -1;
	}
	uint8_t tail[4];
	if (rc < 0 || read_at(fd, tail, sizeof tail, off) < 0 || get_u32(tail) != crc)
		return -1;
	return 0;
}

int derive_cache_load(const char *dir, const char *key, const struct study *s, struct model *m)
{
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

/*
 * True when float32 gives back every value exactly: conf and p_label are floats, and the margin
 * is conf minus a float (the runner-up), as derive_row_f32 computes it.
 */
static bool fits_f32(const struct model *m, size_t n, size_t c)
{
	for (size_t i = 0; i < n; i++) {
		float conf = (float)m->conf[i], pl = (float)m->p_label[i];
		if ((double)conf != m->conf[i] || (double)pl != m->p_label[i])
			return false;
		if (c > 1) {
			float second = (float)(m->conf[i] - m->margin[i]);
			if ((double)conf - (double)second != m->margin[i])
				return false;
		} else if (m->margin[i] != m->conf[i])
			return false;
	}
	return true;
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

static void emit(FILE *f, const void *p, size_t len, uint32_t *crc)
{
	fwrite(p, 1, len, f);
	*crc = crc_add(*crc, p, len);
}

/* Writes n values of v as float32; with conf, v holds margins and the runner-up conf − v goes. */
static void emit_f32(FILE *f, const double *v, const double *conf, size_t n, float *buf,
                     uint32_t *crc)
{
	for (size_t i0 = 0; i0 < n; i0 += BLOCK_VALUES) {
		size_t nb = n - i0 < BLOCK_VALUES ? n - i0 : BLOCK_VALUES;
		for (size_t k = 0; k < nb; k++)
			buf[k] = conf ? (float)(conf[i0 + k] - v[i0 + k]) : (float)v[i0 + k];
		emit(f, buf, nb * sizeof *buf, crc);
	}
}

int derive_cache_store(const char *dir, const char *key, const struct study *s,
                       const struct model *m)
{
	if (!little_endian())
		return -1;
	if (mkdir_p(dir, 0700) < 0)
		return -1;
	size_t klen = strlen(key), n = s->n, c = m->probs.cols;
	uint32_t kind = fits_f32(m, n, c) ? KIND_F32 : KIND_F64;
	char *path = derive_cache_path(dir, key);
	struct outfile out = {0};
	struct nn_err err = {0};
	int rc = outfile_open(&out, path, 0600, &err);
	if (rc < 0) {
		free(path);
		outfile_discard(&out);
		return -1;
	}
	uint32_t crc = (uint32_t)crc32(0, Z_NULL, 0);
	uint8_t head[16], meta[16];
	memcpy(head, DCACHE_MAGIC, 8);
	put_u32(head + 8, DCACHE_VERSION);
	put_u32(head + 12, (uint32_t)klen);
	put_u64(meta, n);
	put_u32(meta + 8, kind);
	put_u32(meta + 12, (uint32_t)c);
	emit(out.f, head, sizeof head, &crc);
	emit(out.f, key, klen, &crc);
	emit(out.f, meta, sizeof meta, &crc);
	emit(out.f, m->pred, n * sizeof *m->pred, &crc);
	emit(out.f, m->rank, n * sizeof *m->rank, &crc);
	if (kind == KIND_F32) {
		float *buf = xcalloc(BLOCK_VALUES, sizeof *buf);
		emit_f32(out.f, m->conf, NULL, n, buf, &crc);
		emit_f32(out.f, m->p_label, NULL, n, buf, &crc);
		if (c > 1)
			emit_f32(out.f, m->margin, m->conf, n, buf, &crc);
		else
			emit_f32(out.f, m->conf, NULL, n, buf, &crc); /* unused when c = 1 */
		free(buf);
	} else {
		emit(out.f, m->conf, n * sizeof *m->conf, &crc);
		emit(out.f, m->p_label, n * sizeof *m->p_label, &crc);
		emit(out.f, m->margin, n * sizeof *m->margin, &crc);
	}
	uint8_t tail[4];
	put_u32(tail, crc);
	fwrite(tail, 1, sizeof tail, out.f);
	rc =
	    outfile_finish(&out, &err) == 0 && outfile_commit(&out, true, NULL, &err) == 0 ? 0 : -1;
	outfile_discard(&out);
	if (rc == 0)
		cache_evict_after_store(path);
	free(path);
	return rc;
}
