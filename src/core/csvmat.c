/* csvmat.c — a CSV/TSV of numbers, parsed once with libcsv into a mapped float32 cache. */
#include "nncmp/csvmat.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nncmp/neurons.h"

#define CSVF_MAGIC   "NNCMPCSV"
#define CSVF_VERSION 1
#define CSVF_PREFIX  32                /* magic, version, key_len, npy_off, names_off */
#define NPY_HDR      128               /* the npy image's header, padded as numpy pads */
#define MAX_FIELDS   ((size_t)1 << 24) /* fields in a row */

static uint64_t fnv1a(const void *p, size_t len, uint64_t h)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3u;
	}
	return h;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = bytes; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* The parse in progress: rows go to `out` as float32 as soon as they are complete. */
struct parse {
	const char *name;
	const char *const *names;
	size_t n_names;
	const char *names_from;
	FILE *out;
	size_t record;       /* 1-based number of the record being read */
	size_t cols;         /* 0 until the first row settles it */
	size_t rows;         /* data rows written */
	struct strvec first; /* the first record's fields, until it is settled */
	struct strvec header;
	float *row;
	size_t nf; /* fields of the current record */
	bool failed;
	char msg[NN_ERR_MAX];
};

__attribute__((format(printf, 2, 3))) static void fail(struct parse *p, const char *fmt, ...)
{
	if (p->failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof p->msg, fmt, ap);
	va_end(ap);
	p->failed = true;
}

/* Reads a field as a finite float32; false when it is not one. */
static bool field_num(const char *s, size_t len, float *out)
{
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
		len--;
	if (len == 0 || len > 64)
		return false;
	char buf[65];
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *end;
	errno = 0;
	float f = strtof(buf, &end);
	if (end != buf + len || !isfinite(f))
		return false;
	*out = f;
	return true;
}

/* The field for messages: at most 40 bytes, control characters as '?'. */
static const char *field_show(const char *s, size_t len, char buf[44])
{
	size_t n = len > 40 ? 40 : len;
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (len > 40) {
		memcpy(buf + 40, "...", 3);
		n = 43;
	}
	buf[n] = '\0';
	return buf;
}

static void on_field(void *data, size_t len, void *user)
{
	struct parse *p = user;
	const char *s = data ? data : "";
	if (p->failed)
		return;
	if (memchr(s, '\0', len)) {
		fail(p, "%s: row %zu, field %zu: NUL byte", p->name, p->record, p->nf + 1);
		return;
	}
	if (p->record == 1) {
		if (p->first.n == MAX_FIELDS) {
			fail(p, "%s: row 1 has more than %zu fields", p->name, MAX_FIELDS);
			return;
		}
		strvec_push(&p->first, xstrndup(s, len));
		p->nf++;
		return;
	}
	if (p->nf < p->cols && !field_num(s, len, &p->row[p->nf])) {
		char show[44];
		fail(p, "%s: row %zu, field %zu: '%s' is not a finite number", p->name, p->record,
		     p->nf + 1, field_show(s, len, show));
		return;
	}
	p->nf++;
}

static void write_row(struct parse *p)
{
	if (fwrite(p->row, sizeof *p->row, p->cols, p->out) != p->cols)
		fail(p, "%s: cannot write the float32 copy: %s", p->name, strerror(errno));
	p->rows++;
}

/* Settles the first record: a header (checked against the class names) or a data row. */
static void first_row(struct parse *p)
{
	size_t n = p->first.n;
	bool is_names = p->names && n == p->n_names;
	for (size_t j = 0; is_names && j < n; j++)
		is_names = strcmp(p->first.v[j], p->names[j]) == 0;
	bool numeric = true;
	p->cols = n;
	p->row = xreallocarray(NULL, n ? n : 1, sizeof *p->row);
	for (size_t j = 0; numeric && j < n; j++)
		numeric = field_num(p->first.v[j], strlen(p->first.v[j]), &p->row[j]);
	if (numeric && !is_names) {
		write_row(p);
		return;
	}
	if (p->names && n != p->n_names) {
		fail(p, "%s: the header names %zu columns, but %s has %zu classes", p->name, n,
		     p->names_from, p->n_names);
		return;
	}
	for (size_t j = 0; p->names && j < n; j++)
		if (strcmp(p->first.v[j], p->names[j]) != 0) {
			char s1[44], s2[44];
			fail(p, "%s: header column %zu is '%s', but class %zu in %s is '%s'",
			     p->name, j + 1, field_show(p->first.v[j], strlen(p->first.v[j]), s1),
			     j, p->names_from, field_show(p->names[j], strlen(p->names[j]), s2));
			return;
		}
	p->header = p->first;
	p->first = (struct strvec){0};
}

static void on_record(int term, void *user)
{
	(void)term;
	struct parse *p = user;
	if (p->failed)
		return;
	if (p->record == 1) {
		first_row(p);
	} else if (p->nf != p->cols) {
		fail(p, "%s: row %zu has %zu fields, expected %zu (as row %s)", p->name, p->record,
		     p->nf, p->cols, p->header.n ? "1, the header" : "1");
	} else {
		write_row(p);
	}
	p->record++;
	p->nf = 0;
}

/* The cache file's fixed prefix (CSVF_PREFIX bytes) and key, padded to npy_off. */
static size_t prefix_len(size_t key_len)
{
	return (CSVF_PREFIX + key_len + 63) / 64 * 64;
}

/* Writes the npy header for rows × cols float32 (NPY_HDR bytes). */
static void npy_header_make(uint8_t *h, size_t rows, size_t cols)
{
	static const uint16_t one = 1;
	const char order = *(const uint8_t *)&one ? '<' : '>';
	memset(h, ' ', NPY_HDR);
	memcpy(h, "\x93NUMPY\x01\x00", 8);
	put_le(h + 8, NPY_HDR - 10, 2);
	int w = snprintf((char *)h + 10, NPY_HDR - 10,
	                 "{'descr': '%cf4', 'fortran_order': False, 'shape': (%zu, %zu), }", order,
	                 rows, cols);
	if (w > 0 && (size_t)w < NPY_HDR - 10)
		h[10 + w] = ' ';
	h[NPY_HDR - 1] = '\n';
}

/*
 * Parses buf into out (positioned at 0): the prefix with key, the npy image, the names. Returns
 * the total length written, or 0 with err set.
 */
static size_t parse_into(FILE *out, const char *buf, size_t len, bool tsv, const char *name,
                         const char *key, const char *const *names, size_t n_names,
                         const char *names_from, struct nn_err *err)
{
	const size_t kl = strlen(key), npy_off = prefix_len(kl);
	uint8_t *pre = xcalloc(1, npy_off + NPY_HDR);
	memcpy(pre, CSVF_MAGIC, 8);
	put_le(pre + 8, CSVF_VERSION, 4);
	put_le(pre + 12, kl, 4);
	put_le(pre + 16, npy_off, 8);
	memcpy(pre + CSVF_PREFIX, key, kl);
	struct parse p = {.name = name,
	                  .names = names,
	                  .n_names = n_names,
	                  .names_from = names_from,
	                  .out = out,
	                  .record = 1};
	if (fwrite(pre, 1, npy_off + NPY_HDR, out) != npy_off + NPY_HDR)
		fail(&p, "%s: cannot write the float32 copy: %s", name, strerror(errno));
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	struct csv_parser cp;
	if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
		fail(&p, "%s: out of memory", name);
	else {
		if (tsv)
			csv_set_delim(&cp, '\t');
		if (!p.failed && csv_parse(&cp, buf, len, on_field, on_record, &p) != len)
			fail(&p, "%s: row %zu: %s", name, p.record, csv_strerror(csv_error(&cp)));
		if (!p.failed && csv_fini(&cp, on_field, on_record, &p) != 0)
			fail(&p, "%s: row %zu: %s", name, p.record, csv_strerror(csv_error(&cp)));
		csv_free(&cp);
	}
	if (!p.failed && p.record == 1)
		fail(&p, "%s: no rows", name);
	if (!p.failed && p.rows == 0)
		fail(&p, "%s: a header but no data rows", name);
	size_t total = 0;
	if (!p.failed) {
		size_t names_off = npy_off + NPY_HDR + p.rows * p.cols * sizeof(float);
		uint8_t n4[4];
		put_le(n4, p.header.n, 4);
		fwrite(n4, 1, 4, out);
		total = names_off + 4;
		for (size_t j = 0; j < p.header.n; j++) {
			size_t l = strlen(p.header.v[j]);
			put_le(n4, l, 4);
			fwrite(n4, 1, 4, out);
			fwrite(p.header.v[j], 1, l, out);
			total += 4 + l;
		}
		put_le(pre + 24, names_off, 8);
		npy_header_make(pre + npy_off, p.rows, p.cols);
		if (fflush(out) != 0 || fseek(out, 0, SEEK_SET) != 0 ||
		    fwrite(pre, 1, npy_off + NPY_HDR, out) != npy_off + NPY_HDR ||
		    fseek(out, 0, SEEK_END) != 0 || fflush(out) != 0) /* a memstream's size: here */
			fail(&p, "%s: cannot write the float32 copy: %s", name, strerror(errno));
	}
	free(pre);
	free(p.row);
	strvec_free(&p.first);
	strvec_free(&p.header);
	if (p.failed) {
		nn_err_set(err, "%s", p.msg);
		return 0;
	}
	return total;
}

/*
 * Takes the cache image at map (len bytes, owned) as a: checks the prefix, the key (NULL: any),
 * the layout, then opens the npy image and reads the names. Returns 0, or -1 (map unmapped).
 */
static int image_open(struct npy *a, void *map, size_t len, const char *key, const char *name,
                      enum npy_storage storage, struct nn_err *err)
{
	const uint8_t *m = map;
	memset(a, 0, sizeof *a);
	size_t kl = len >= CSVF_PREFIX ? (size_t)get_le(m + 12, 4) : 0;
	uint64_t npy_off = len >= CSVF_PREFIX ? get_le(m + 16, 8) : 0;
	uint64_t names_off = len >= CSVF_PREFIX ? get_le(m + 24, 8) : 0;
	bool ok = len >= CSVF_PREFIX && memcmp(m, CSVF_MAGIC, 8) == 0 &&
	          get_le(m + 8, 4) == CSVF_VERSION && kl <= len - CSVF_PREFIX &&
	          npy_off == prefix_len(kl) && npy_off <= names_off && names_off <= len - 4 &&
	          (!key || (strlen(key) == kl && memcmp(m + CSVF_PREFIX, key, kl) == 0));
	if (!ok) {
		npy_unmap(map, len);
		return nn_err_set(err, "%s: not a float32 cache of this file", name);
	}
	/* the names: read before the npy takes the mapping */
	struct strvec names = {0};
	size_t at = (size_t)names_off, n = (size_t)get_le(m + at, 4);
	at += 4;
	for (size_t j = 0; ok && j < n; j++) {
		ok = len - at >= 4;
		size_t l = ok ? (size_t)get_le(m + at, 4) : 0;
		ok = ok && l <= len - at - 4;
		if (ok)
			strvec_push(&names, xstrndup((const char *)m + at + 4, l));
		at += 4 + l;
	}
	if (!ok) {
		strvec_free(&names);
		npy_unmap(map, len);
		return nn_err_set(err, "%s: not a float32 cache of this file", name);
	}
	if (npy_open_image(a, map, len, (size_t)npy_off, (size_t)(names_off - npy_off), name,
	                   storage, err) < 0) {
		strvec_free(&names);
		return -1;
	}
	if (a->h.kind != NPY_FLOAT || a->h.itemsize != 4 || a->h.ndim != 2) {
		strvec_free(&names);
		npy_close(a);
		return nn_err_set(err, "%s: not a float32 cache of this file", name);
	}
	a->colnames = names;
	return 0;
}

/* Maps the whole of fd (len bytes) read-only; NULL on failure. */
static void *map_fd(int fd, size_t len)
{
	void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	return m == MAP_FAILED ? NULL : m;
}

/* Parses buf into the temporary or cache file out and maps what it wrote; 0 or -1 with err. */
static int parse_and_map(struct npy *a, FILE *out, const char *buf, size_t len, bool tsv,
                         const char *name, const char *key, const char *const *names,
                         size_t n_names, const char *names_from, struct nn_err *err)
{
	size_t total = parse_into(out, buf, len, tsv, name, key, names, n_names, names_from, err);
	if (total == 0)
		return -1;
	void *m = map_fd(fileno(out), total);
	if (!m)
		return nn_err_set(err, "%s: cannot map the float32 copy: %s", name,
		                  strerror(errno));
	return image_open(a, m, total, key, name, NPY_STORE_CACHED, err);
}

int csvmat_parse(struct npy *a, const char *buf, size_t len, bool tsv, const char *name,
                 const char *const *names, size_t n_names, const char *names_from,
                 struct nn_err *err)
{
	memset(a, 0, sizeof *a);
	FILE *out = tmpfile();
	if (!out)
		return nn_err_set(err, "%s: cannot make a float32 copy: %s", name, strerror(errno));
	int rc = parse_and_map(a, out, buf, len, tsv, name, "", names, n_names, names_from, err);
	fclose(out);
	return rc;
}

int csvmat_header_check(const struct strvec *header, const char *path, const char *const *names,
                        size_t n_names, const char *names_from, struct nn_err *err)
{
	char s1[44], s2[44];
	if (header->n != n_names)
		return nn_err_set(err, "%s: the header names %zu columns, but %s has %zu classes",
		                  path, header->n, names_from, n_names);
	for (size_t j = 0; j < header->n; j++) {
		const char *h = header->v[j];
		if (!*h)
			return nn_err_set(err, "%s: header column %zu is empty", path, j + 1);
		if (strcmp(h, names[j]) != 0)
			return nn_err_set(
			    err, "%s: header column %zu is '%s', but class %zu in %s is '%s'", path,
			    j + 1, field_show(h, strlen(h), s1), j, names_from,
			    field_show(names[j], strlen(names[j]), s2));
		for (size_t k = 0; k < j; k++)
			if (strcmp(header->v[k], h) == 0)
				return nn_err_set(err,
				                  "%s: header columns %zu and %zu are both '%s'",
				                  path, k + 1, j + 1, field_show(h, strlen(h), s1));
	}
	return 0;
}

int csvmat_open(struct npy *a, const char *path, const char *const *names, size_t n_names,
                const char *names_from, struct nn_err *err)
{
	memset(a, 0, sizeof *a);
	size_t pl = strlen(path);
	bool tsv = pl > 4 && strcmp(path + pl - 4, ".tsv") == 0;
	void *src;
	size_t slen;
	if (npy_map_file(path, tsv ? "a TSV file" : "a CSV file", &src, &slen, err) < 0)
		return -1;
	struct stat st;
	char *real = realpath(path, NULL);
	if (!real || stat(real, &st) < 0) {
		nn_err_set(err, "%s: %s", path, strerror(errno));
		free(real);
		npy_unmap(src, slen);
		return -1;
	}
	uint64_t nh = 0xcbf29ce484222325u;
	for (size_t j = 0; names && j < n_names; j++)
		nh = fnv1a(names[j], strlen(names[j]) + 1, nh);
	char *key = xasprintf("nncmp-csv v%d size=%lld mtime=%lld.%09ld ino=%llu dev=%llu "
	                      "tsv=%d names=%zu:%016llx path=%s",
	                      CSVF_VERSION, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
	                      (long)st.st_mtim.tv_nsec, (unsigned long long)st.st_ino,
	                      (unsigned long long)st.st_dev, tsv, names ? n_names : 0,
	                      (unsigned long long)nh, real);
	free(real);
	char *dir = neurons_cache_dir();
	char *cpath =
	    dir ? xasprintf("%s/%016llx.csvf", dir,
	                    (unsigned long long)fnv1a(key, strlen(key), 0xcbf29ce484222325u))
	        : NULL;
	int rc = -1;
	/* a hit: map the cache */
	if (cpath) {
		int fd = open(cpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		struct stat cs;
		if (fd >= 0 && fstat(fd, &cs) == 0 && S_ISREG(cs.st_mode) && cs.st_size > 0) {
			void *m = map_fd(fd, (size_t)cs.st_size);
			struct nn_err e2;
			if (m && image_open(a, m, (size_t)cs.st_size, key, path, NPY_STORE_CACHED,
			                    &e2) == 0)
				rc = 0;
		}
		if (fd >= 0)
			close(fd);
	}
	/* a miss: parse into the cache (or a temporary file), then map that */
	if (rc < 0) {
		char *tmp = NULL;
		FILE *out = NULL;
		if (cpath && mkdir_p(dir, 0700) == 0) {
			tmp = xasprintf("%s.XXXXXX", cpath);
			int fd = mkstemp(tmp);
			out = fd >= 0 ? fdopen(fd, "w+") : NULL;
			if (!out) {
				if (fd >= 0) {
					close(fd);
					unlink(tmp);
				}
				free(tmp);
				tmp = NULL;
			}
		}
		if (!out)
			out = tmpfile();
		if (!out) {
			nn_err_set(err, "%s: cannot make a float32 copy: %s", path,
			           strerror(errno));
		} else {
			rc = parse_and_map(a, out, src, slen, tsv, path, key, names, n_names,
			                   names_from, err);
			if (tmp && (rc < 0 || rename(tmp, cpath) != 0))
				unlink(tmp);
			fclose(out);
		}
		free(tmp);
	}
	npy_unmap(src, slen);
	free(cpath);
	free(dir);
	free(key);
	return rc;
}
