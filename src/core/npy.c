/* npy.c — opening a matrix (an npy file or a member of npz, safetensors, HDF5, CSV) and its element
 * access (mapped or through a block reader); the npy header parser is npy_header.c. */
#include "nncmp/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nncmp/fault.h"
#include "nncmp/csvmat.h"
#include "nncmp/h5.h"
#include "nncmp/npz.h"
#include "nncmp/safetensors.h"

/* npy_map_file, and the file's device and inode into id[0..2) when id is not NULL. */
static int map_file_id(const char *path, const char *what, void **map, size_t *len, uint64_t *id,
                       struct nn_err *err)
{
	int fd = nn_open_regular(path, O_RDONLY, err); /* a FIFO must not block us */
	if (fd < 0) {
		if (errno == EISDIR)
			nn_err_set(err, "%s: is a directory, expected %s", path, what);
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		nn_err_set(err, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	size_t size = (size_t)st.st_size;
	if (size == 0) {
		close(fd);
		return nn_err_set(err, "%s: empty file, expected %s", path, what);
	}
	void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return nn_err_set(err, "%s: cannot map: %s", path, strerror(errno));
#ifdef MADV_HUGEPAGE
	/* pages read in at a fault come as huge folios (with THP "madvise"), which later faults
	 * map whole: a page at a time, faults and munmap cost more than copying the data */
	madvise(m, size, MADV_HUGEPAGE);
#endif
	fault_map_add(m, size, path);
	*map = m;
	*len = size;
	if (id) {
		id[0] = (uint64_t)st.st_dev;
		id[1] = (uint64_t)st.st_ino;
	}
	return 0;
}

int npy_map_file(const char *path, const char *what, void **map, size_t *len, struct nn_err *err)
{
	return map_file_id(path, what, map, len, NULL, err);
}

void npy_unmap(void *map, size_t len)
{
	fault_map_remove(map);
	munmap(map, len);
}

int npy_open_image(struct npy *a, void *map, size_t map_len, size_t off, size_t len,
                   const char *name, enum npy_storage storage, struct nn_err *err)
{
	memset(a, 0, sizeof *a);
	const uint8_t *img = (const uint8_t *)map + off;
	if (npy_parse_header(img, len, name, &a->h, err) < 0) {
		npy_unmap(map, map_len);
		return -1;
	}
	size_t want = a->h.data_offset + a->h.data_bytes;
	if (len != want) {
		nn_err_set(err,
		           "%s: header promises %zu data bytes for shape (%zu, %zu), but the file "
		           "holds %zu",
		           name, a->h.data_bytes, a->h.shape[0], a->h.shape[1],
		           len - a->h.data_offset);
		npy_unmap(map, map_len);
		return -1;
	}
	a->map = map;
	a->map_len = map_len;
	a->data = img + a->h.data_offset;
	a->rows = a->h.ndim == 0 ? 1 : a->h.shape[0];
	a->cols = a->h.ndim >= 2 ? a->h.shape[1] : 1;
	a->path = xstrdup(name);
	a->storage = storage;
	return 0;
}

int npy_open(struct npy *a, const char *path, struct nn_err *err)
{
	memset(a, 0, sizeof *a);
	void *map;
	size_t size;
	uint64_t id[2];
	if (map_file_id(path, "an npy file", &map, &size, id, err) < 0)
		return -1;
	int rc = npy_open_image(a, map, size, 0, size, path, NPY_STORE_MAPPED, err);
	if (rc == 0)
		memcpy(a->file_id, id, sizeof id);
	return rc;
}

void *npy_anon_map(size_t len, const char *name, struct nn_err *err)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		nn_err_set(err, "%s: cannot map %zu bytes of memory: %s", name, len,
		           strerror(errno));
		return NULL;
	}
	return m;
}

/* The rows npy_at() read last from a reader, so a loop over one column costs a read per block. */
struct npy_rowcache {
	pthread_mutex_t lock;
	int failed;         /* a read_rows() failed (read and written with __atomic builtins) */
	size_t row0, nrows; /* nrows 0: empty */
	uint8_t *raw;       /* up to cap rows */
	size_t cap;
};

#define READER_CHUNK_BYTES ((size_t)1 << 20) /* raw bytes per read_rows() call */

int npy_open_reader(struct npy *a, const struct npy_header *h, const struct npy_reader *reader,
                    void *ctx, const char *name)
{
	memset(a, 0, sizeof *a);
	a->h = *h;
	a->h.fortran = false;
	a->h.data_offset = 0;
	a->rows = a->h.ndim == 0 ? 1 : a->h.shape[0];
	a->cols = a->h.ndim >= 2 ? a->h.shape[1] : 1;
	a->data = NPY_SHARDED_DATA;
	a->path = xstrdup(name);
	a->storage = NPY_STORE_BLOCKS;
	a->reader = reader;
	a->reader_ctx = ctx;
	struct npy_rowcache *c = xcalloc(1, sizeof *c);
	pthread_mutex_init(&c->lock, NULL);
	size_t rb = a->cols * a->h.itemsize;
	c->cap = rb && rb < READER_CHUNK_BYTES ? READER_CHUNK_BYTES / rb : 1;
	a->rowcache = c;
	return 0;
}

bool npy_read_failed(const struct npy *a)
{
	for (size_t k = 0; k < a->n_shards; k++)
		if (npy_read_failed(&a->shards[k]))
			return true;
	return a->rowcache && __atomic_load_n(&a->rowcache->failed, __ATOMIC_RELAXED);
}

int npy_read_error(const struct npy *a, struct nn_err *err)
{
	for (size_t k = 0; k < a->n_shards; k++)
		if (npy_read_error(&a->shards[k], err) < 0)
			return -1;
	if (a->rowcache && __atomic_load_n(&a->rowcache->failed, __ATOMIC_RELAXED)) {
		const char *why = a->reader->why ? a->reader->why(a->reader_ctx) : NULL;
		if (why) /* a whole message, naming the file as a->path does */
			return nn_err_set(err, "%s", why);
		return nn_err_set(err, "%s: rows could not be read (damaged data?)", a->path);
	}
	return 0;
}

const char *npy_storage_str(const struct npy *a)
{
	switch (a->storage) {
	case NPY_STORE_INFLATED:
		return "decompressed once into memory";
	case NPY_STORE_BLOCKS:
		return "read in row blocks through libhdf5";
	case NPY_STORE_CACHED:
		return "converted once into a mapped float32 cache";
	case NPY_STORE_MAPPED:
		break;
	}
	return "mapped";
}

/*
 * Whether spec names a member of a container file with extension ext: "FILE.ext:MEMBER" sets
 * *file (allocated) and *member (pointing into spec), "FILE.ext" sets *file and a NULL *member.
 */
static bool container_spec(const char *spec, const char *ext, char **file, const char **member)
{
	const size_t el = strlen(ext), sl = strlen(spec);
	for (const char *at = strstr(spec, ext); at; at = strstr(at + 1, ext))
		if (at[el] == ':') {
			*file = xstrndup(spec, (size_t)(at - spec) + el);
			*member = at + el + 1;
			return true;
		}
	if (sl > el && strcmp(spec + sl - el, ext) == 0) {
		*file = xstrdup(spec);
		*member = NULL;
		return true;
	}
	return false;
}

int npy_open_any(struct npy *a, const char *spec, struct nn_err *err)
{
	static const char *const exts[] = {".safetensors", ".npz", ".h5", ".hdf5"};
	memset(a, 0, sizeof *a);
	for (size_t k = 0; k < sizeof exts / sizeof *exts; k++) {
		char *file;
		const char *member;
		if (!container_spec(spec, exts[k], &file, &member))
			continue;
		int rc;
		if (member && !*member)
			rc = nn_err_set(err, "%s: no %s name after ':'", spec,
			                k == 0   ? "tensor"
			                : k == 1 ? "array"
			                         : "dataset");
		else if (k == 0)
			rc = safetensors_open(a, file, member, err);
		else if (k == 1)
			rc = npz_open(a, file, member, err);
		else
			rc = h5_open(a, file, member, err);
		free(file);
		return rc;
	}
	size_t sl = strlen(spec);
	if (sl > 4 && (strcmp(spec + sl - 4, ".csv") == 0 || strcmp(spec + sl - 4, ".tsv") == 0))
		return csvmat_open(a, spec, NULL, 0, NULL, err);
	return npy_open(a, spec, err);
}

void npy_close(struct npy *a)
{
	if (a->reader)
		a->reader->close(a->reader_ctx);
	if (a->rowcache) {
		pthread_mutex_destroy(&a->rowcache->lock);
		free(a->rowcache->raw);
		free(a->rowcache);
	}
	strvec_free(&a->colnames);
	for (size_t k = 0; k < a->n_shards; k++)
		npy_close(&a->shards[k]);
	free(a->shards);
	free(a->shard_start);
	if (a->map)
		npy_unmap(a->map, a->map_len);
	free(a->path);
	memset(a, 0, sizeof *a);
}

/* IEEE 754 half precision to float, subnormals, infinities and NaN included. */
static float half_to_float(uint16_t hv)
{
	uint32_t sign = (uint32_t)(hv & 0x8000) << 16;
	uint32_t exp = (hv >> 10) & 0x1f;
	uint32_t mant = hv & 0x3ff;
	uint32_t bits;
	if (exp == 0) {
		if (mant == 0) {
			bits = sign;
		} else {
			float f = ldexpf((float)mant, -24);
			return sign ? -f : f;
		}
	} else if (exp == 31) {
		bits = sign | 0x7f800000u | (mant << 13);
	} else {
		bits = sign | ((exp + 112) << 23) | (mant << 13);
	}
	float f;
	memcpy(&f, &bits, sizeof f);
	return f;
}

/* The element's bits as an integer, assembled from the file's byte order (portable). */
static inline uint64_t load_bits(const uint8_t *p, unsigned size, bool big)
{
	uint64_t v = 0;
	if (big)
		for (unsigned k = 0; k < size; k++)
			v = v << 8 | p[k];
	else
		for (unsigned k = size; k-- > 0;)
			v = v << 8 | p[k];
	return v;
}

static inline double convert(const struct npy_header *h, const uint8_t *p)
{
	uint64_t v = load_bits(p, h->itemsize, nn_host_big_endian() != h->swap);
	switch (h->kind) {
	case NPY_FLOAT:
		if (h->itemsize == 4) {
			float f;
			uint32_t b = (uint32_t)v;
			memcpy(&f, &b, 4);
			return f;
		}
		if (h->itemsize == 8) {
			double d;
			memcpy(&d, &v, 8);
			return d;
		}
		return half_to_float((uint16_t)v);
	case NPY_BFLOAT: {
		uint32_t b = (uint32_t)v << 16;
		float f;
		memcpy(&f, &b, 4);
		return f;
	}
	case NPY_INT:
		switch (h->itemsize) {
		case 1:
			return (int8_t)v;
		case 2:
			return (int16_t)v;
		case 4:
			return (int32_t)v;
		default:
			return (double)(int64_t)v;
		}
	case NPY_UINT:
		return (double)v;
	case NPY_BOOL:
		return v != 0;
	}
	return NAN;
}

static inline size_t elem_offset(const struct npy *a, size_t row, size_t col)
{
	return a->h.fortran ? col * a->rows + row : row * a->cols + col;
}

/* Whether a single-source matrix lays its elements out in C order (a vector does either way). */
static inline bool c_order(const struct npy *a)
{
	return !a->h.fortran || a->rows <= 1 || a->cols <= 1;
}

static float half_table[65536];
static pthread_once_t half_once = PTHREAD_ONCE_INIT;

static void half_table_init(void)
{
	for (uint32_t v = 0; v < 65536; v++)
		half_table[v] = half_to_float((uint16_t)v);
}

/* Converts count consecutive elements at src to float32: native float32 is copied. */
static inline void elems_f32(const struct npy_header *h, const uint8_t *src, size_t count,
                             float *out)
{
	bool native = !h->swap;
	if (native && h->kind == NPY_FLOAT && h->itemsize == 4) {
		memcpy(out, src, count * 4);
	} else if (native && (h->kind == NPY_FLOAT || h->kind == NPY_BFLOAT) && h->itemsize == 2) {
		if (h->kind == NPY_FLOAT)
			pthread_once(&half_once, half_table_init);
		for (size_t k = 0; k < count; k++) {
			uint16_t v;
			memcpy(&v, src + 2 * k, 2);
			if (h->kind == NPY_FLOAT) {
				out[k] = half_table[v];
			} else {
				uint32_t b = (uint32_t)v << 16;
				memcpy(&out[k], &b, 4);
			}
		}
	} else if (native && h->kind == NPY_FLOAT && h->itemsize == 8) {
		for (size_t k = 0; k < count; k++) {
			double d;
			memcpy(&d, src + 8 * k, 8);
			out[k] = (float)d;
		}
	} else {
		for (size_t k = 0; k < count; k++)
			out[k] = (float)convert(h, src + k * h->itemsize);
	}
}

/* Converts count consecutive elements at src to double. */
static inline void elems_f64(const struct npy_header *h, const uint8_t *src, size_t count,
                             double *out)
{
	if (!h->swap && h->kind == NPY_FLOAT && h->itemsize == 4) {
		for (size_t k = 0; k < count; k++) {
			float f;
			memcpy(&f, src + 4 * k, 4);
			out[k] = f;
		}
	} else if (!h->swap && h->kind == NPY_FLOAT && h->itemsize == 8) {
		memcpy(out, src, count * 8);
	} else {
		for (size_t k = 0; k < count; k++)
			out[k] = convert(h, src + k * h->itemsize);
	}
}

/*
 * Converts count elements of a matrix with a reader, from element `first` on in C order, into
 * f32 (or f64 when f32 is NULL): the rows that hold them are read a megabyte at a time. Rows
 * that cannot be read become NaN (the reader's file changed or broke under it).
 */
static void reader_span(const struct npy *a, size_t first, size_t count, float *f32, double *f64)
{
	const size_t cols = a->cols, isz = a->h.itemsize;
	if (count == 0 || cols == 0)
		return;
	const size_t rb = cols * isz;
	size_t per = rb < READER_CHUNK_BYTES ? READER_CHUNK_BYTES / rb : 1;
	const size_t r_first = first / cols, r_last = (first + count - 1) / cols;
	if (per > r_last - r_first + 1)
		per = r_last - r_first + 1;
	uint8_t *raw = xreallocarray(NULL, per, rb);
	bool *bad = xcalloc(per, sizeof *bad);
	size_t done = 0;
	for (size_t r0 = r_first; r0 <= r_last; r0 += per) {
		size_t nr = r_last - r0 + 1 < per ? r_last - r0 + 1 : per;
		size_t e0 = r0 * cols, skip = first + done - e0;
		size_t take = nr * cols - skip;
		if (take > count - done)
			take = count - done;
		/* once a read has failed the matrix is damaged: no more reads (they can be slow) */
		bool broken = __atomic_load_n(&a->rowcache->failed, __ATOMIC_RELAXED);
		bool all_ok = !broken && a->reader->read_rows(a->reader_ctx, r0, nr, raw) == 0;
		/* else row by row, so that only the rows that cannot be read become NaN */
		for (size_t r = 0; !all_ok && r < nr; r++) {
			bad[r] = broken || nr == 1 ||
			         a->reader->read_rows(a->reader_ctx, r0 + r, 1, raw + r * rb) < 0;
			if (bad[r]) {
				__atomic_store_n(&a->rowcache->failed, 1, __ATOMIC_RELAXED);
				memset(raw + r * rb, 0, rb);
			}
		}
		if (f32)
			elems_f32(&a->h, raw + skip * isz, take, f32 + done);
		else
			elems_f64(&a->h, raw + skip * isz, take, f64 + done);
		for (size_t q = 0; !all_ok && q < take; q++)
			if (bad[(skip + q) / cols]) {
				if (f32)
					f32[done + q] = NAN;
				else
					f64[done + q] = NAN;
			}
		done += take;
	}
	free(bad);
	free(raw);
}

/* One element of a matrix with a reader, through its row cache. */
static double reader_at(const struct npy *a, size_t row, size_t col)
{
	struct npy_rowcache *c = a->rowcache;
	const size_t rb = a->cols * a->h.itemsize;
	double v = NAN;
	pthread_mutex_lock(&c->lock);
	if (!(c->nrows && row >= c->row0 && row - c->row0 < c->nrows) &&
	    !__atomic_load_n(&c->failed, __ATOMIC_RELAXED)) {
		size_t nr = a->rows - row < c->cap ? a->rows - row : c->cap;
		if (!c->raw)
			c->raw = xreallocarray(NULL, c->cap, rb);
		c->nrows = 0;
		if (a->reader->read_rows(a->reader_ctx, row, nr, c->raw) == 0 ||
		    (nr > 1 && a->reader->read_rows(a->reader_ctx, row, nr = 1, c->raw) == 0)) {
			c->row0 = row;
			c->nrows = nr;
		} else {
			__atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
		}
	}
	if (c->nrows && row >= c->row0 && row - c->row0 < c->nrows)
		v = convert(&a->h, c->raw + ((row - c->row0) * a->cols + col) * a->h.itemsize);
	pthread_mutex_unlock(&c->lock);
	return v;
}

/*
 * The shard of a sharded matrix that holds element idx (C order): the last to begin at or before
 * it, so that empty shards are passed over.
 */
static size_t shard_find(const struct npy *a, size_t idx)
{
	size_t lo = 0, hi = a->n_shards;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->shard_start[mid] <= idx)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Converts count elements of a sharded matrix, from element `first` on in C order, into f32 (or
 * f64 when f32 is NULL), a run of elements per shard. Counting in elements rather than rows lets
 * a view that reshapes the matrix (a vector seen as 1 × n) read through the shards too.
 */
static void shard_span(const struct npy *a, size_t first, size_t count, float *f32, double *f64)
{
	size_t done = 0;
	for (size_t k = shard_find(a, first); done < count; k++) {
		const struct npy *s = &a->shards[k];
		size_t pos = first + done, local = pos - a->shard_start[k];
		size_t take = a->shard_start[k + 1] - pos;
		if (take > count - done)
			take = count - done;
		if (s->reader) {
			reader_span(s, local, take, f32 ? f32 + done : NULL,
			            f32 ? NULL : f64 + done);
		} else if (c_order(s)) {
			const uint8_t *src = s->data + local * s->h.itemsize;
			if (f32)
				elems_f32(&s->h, src, take, f32 + done);
			else
				elems_f64(&s->h, src, take, f64 + done);
		} else {
			for (size_t q = 0; q < take; q++) {
				size_t e = local + q;
				double v = npy_at(s, e / s->cols, e % s->cols);
				if (f32)
					f32[done + q] = (float)v;
				else
					f64[done + q] = v;
			}
		}
		done += take;
	}
}

double npy_at(const struct npy *a, size_t row, size_t col)
{
	if (__builtin_expect(a->n_shards != 0, 0)) {
		double v;
		shard_span(a, row * a->cols + col, 1, NULL, &v);
		return v;
	}
	if (__builtin_expect(a->reader != NULL, 0))
		return reader_at(a, row, col);
	return convert(&a->h, a->data + elem_offset(a, row, col) * a->h.itemsize);
}

void npy_row_f64(const struct npy *a, size_t row, double *out)
{
	size_t cols = a->cols;
	if (a->n_shards) {
		shard_span(a, row * cols, cols, NULL, out);
		return;
	}
	if (a->reader) {
		reader_span(a, row * cols, cols, NULL, out);
		return;
	}
	if (c_order(a)) {
		elems_f64(&a->h, a->data + row * cols * a->h.itemsize, cols, out);
		return;
	}
	for (size_t j = 0; j < cols; j++)
		out[j] = npy_at(a, row, j);
}

void npy_rows_f32(const struct npy *a, size_t row0, size_t nrows, float *out)
{
	size_t cols = a->cols;
	if (a->n_shards) {
		shard_span(a, row0 * cols, nrows * cols, out, NULL);
		return;
	}
	if (a->reader) {
		reader_span(a, row0 * cols, nrows * cols, out, NULL);
		return;
	}
	if (a->h.fortran && cols > 1) {
		for (size_t j = 0; j < cols; j++)
			for (size_t r = 0; r < nrows; r++)
				out[r * cols + j] = (float)npy_at(a, row0 + r, j);
		return;
	}
	elems_f32(&a->h, a->data + row0 * cols * a->h.itemsize, nrows * cols, out);
}

/* err's message for a guarded read of a that faulted at addr: the mapping's file, else a's. */
static int guarded_fault(const struct npy *a, const void *addr, struct nn_err *err)
{
	char path[PATH_MAX];
	const char *p = fault_map_path(addr, path, sizeof path);
	return nn_err_set(err, FAULT_CHANGED, p ? p : a->path ? a->path : "a mapped file");
}

/* 0, or -1 (with err when not NULL) when a's reader failed: those values are NaN. */
static int guarded_read(const struct npy *a, struct nn_err *err)
{
	if (!npy_read_failed(a))
		return 0;
	return err ? npy_read_error(a, err) : -1;
}

int npy_row_f64_guarded(const struct npy *a, size_t row, double *out, struct nn_err *err)
{
	struct fault_guard g;
	fault_push(&g);
	if (sigsetjmp(g.env, 1) != 0)
		return guarded_fault(a, g.addr, err);
	npy_row_f64(a, row, out);
	fault_pop(&g);
	return guarded_read(a, err);
}

int npy_rows_f32_guarded(const struct npy *a, size_t row0, size_t nrows, float *out,
                         struct nn_err *err)
{
	struct fault_guard g;
	fault_push(&g);
	if (sigsetjmp(g.env, 1) != 0)
		return guarded_fault(a, g.addr, err);
	npy_rows_f32(a, row0, nrows, out);
	fault_pop(&g);
	return guarded_read(a, err);
}

int npy_file_fd(const struct npy *a)
{
	const struct npy_header *hd = &a->h;
	if ((hd->fortran && a->cols > 1) || !a->map || (!a->file_id[0] && !a->file_id[1]) ||
	    hd->data_offset > (1u << 20) || a->data != (const uint8_t *)a->map + hd->data_offset ||
	    a->rows == 0 || a->cols == 0)
		return -1;
	int fd = nn_open_regular(a->path, O_RDONLY, NULL); /* replaced by a FIFO: no wait */
	if (fd < 0)
		return -1;
	struct stat st;
	uint8_t *head = xmalloc(hd->data_offset);
	bool same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	            (uint64_t)st.st_dev == a->file_id[0] && (uint64_t)st.st_ino == a->file_id[1] &&
	            (uint64_t)st.st_size == (uint64_t)hd->data_offset + hd->data_bytes &&
	            nn_pread_full(fd, head, hd->data_offset, 0) &&
	            memcmp(head, a->map, hd->data_offset) == 0;
	free(head);
	if (!same) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Points of a file npy_map_cheap() probes. */
#define NPY_MAP_PROBES 8

/* Whether the page at addr is in the page table (/proc/self/pagemap's bit 63, read from fd). */
static bool page_present(int fd, uintptr_t addr, uintptr_t page)
{
	uint64_t entry = 0;
	return pread(fd, &entry, sizeof entry, (off_t)(addr / page * sizeof entry)) ==
	           (ssize_t)sizeof entry &&
	       entry >> 63;
}

bool npy_map_cheap(const struct npy *a)
{
#if defined(__linux__) && defined(MADV_POPULATE_READ)
	if (!a->map || a->n_shards || a->h.data_bytes == 0)
		return false;
	const char *force = getenv("NNCMP_TEST_MAP"); /* tests only: 1 maps, 0 reads */
	if (force && *force)
		return *force == '1';
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	const uintptr_t huge = (uintptr_t)2 << 20, page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = (uintptr_t)a->data, hi = lo + a->h.data_bytes;
	int probes = 0, mapped = 0;
	for (int k = 0; k < NPY_MAP_PROBES; k++) {
		uintptr_t at = lo + (hi - lo) / NPY_MAP_PROBES * (uintptr_t)k;
		at = (at + huge - 1) & ~(huge - 1);
		if (at + huge > hi)
			continue;
		probes++;
		/* a read fault at the start of a 2 MiB span (EFAULT past a truncated end): a huge
		 * folio is then mapped whole, pages only around the fault (64 KiB) */
		mapped += madvise((void *)at, page, MADV_POPULATE_READ) == 0 &&
		          page_present(fd, at + huge / 2, page);
	}
	close(fd);
	return probes > 0 && 2 * mapped >= probes; /* most of it: a few small folios are usual */
#else
	(void)a;
	return false;
#endif
}
