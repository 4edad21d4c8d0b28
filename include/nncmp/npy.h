/*
 * npy.h — NumPy .npy files, memory-mapped.
 *
 * npy_open() validates the header (format versions 1–3, dtypes f2 f4 f8 i1–i8 u1–u8 b1 in either
 * byte order, C or Fortran order, at most 8 dimensions; Fortran order only up to 2) and that the
 * file holds exactly the bytes
 * the header promises, then maps the data read-only. An array of more than 2 dimensions is seen as
 * a matrix of shape[0] rows and the product of the other dimensions as columns (a conv layer's
 * (out, in, kh, kw) weights become out × in·kh·kw; (N, C, H, W) activations N × C·H·W). Nothing is
 * copied: reading a value converts it from the mapping on the fly. npy_close() unmaps; pointers
 * into the mapping die with it.
 *
 * npy_parse_header() is the pure header parser, separate so the fuzzer and unit tests can drive it
 * with bytes in memory.
 *
 * Other sources fill the same struct, so everything downstream reads them alike:
 *   npy_open_any()    a .npy path, or a tensor of a safetensors file ("acts.safetensors:fc1", or
 *                     "acts.safetensors" when the file holds one tensor; safetensors.h);
 *   npy_open_shards() several sources read as one matrix, their rows concatenated in order;
 *   npz_open()        a member of an .npz archive (npz.h): stored members mapped in place,
 *                     deflated ones decompressed once into an anonymous mapping;
 *   h5_open()         an HDF5 dataset (h5.h): contiguous ones mapped at their file offset,
 *                     chunked or filtered ones read in row blocks through libhdf5 (a reader);
 *   csvmat_open()     a CSV/TSV of numbers (csvmat.h), converted once into a float32 cache file
 *                     that is then mapped.
 * A matrix with a reader (`reader` set) is not contiguous either: its `data` is NPY_SHARDED_DATA
 * too, and npy_at(), npy_row_f64() and npy_rows_f32() ask the reader for the raw rows.
 * A sharded matrix is not contiguous: its `data` is NPY_SHARDED_DATA, which must never be read
 * through. Code that reads `data` directly (the in-place float32 fast paths of filter_parse.c,
 * matrices.c and neurons_pass.c) must first check npy_contiguous(); npy_at(), npy_row_f64() and
 * npy_rows_f32() route to the right shard themselves.
 */
#ifndef NNCMP_NPY_H
#define NNCMP_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/util.h"

/* NPY_BFLOAT (bfloat16, itemsize 2) has no npy dtype; other readers (safetensors) produce it. */
#define NPY_MAX_DIMS 8

enum npy_kind { NPY_FLOAT, NPY_INT, NPY_UINT, NPY_BOOL, NPY_BFLOAT };

struct npy_header {
	enum npy_kind kind;
	unsigned itemsize; /* bytes per element: 1, 2, 4 or 8 */
	bool swap;         /* stored in the other byte order than this machine's */
	bool fortran;      /* column-major */
	int ndim;          /* 0 to NPY_MAX_DIMS */
	size_t dims[8];    /* the shape as written; ndim entries */
	size_t shape[2];   /* seen as a matrix: rows, columns (1 where absent) */
	size_t data_offset;
	size_t data_bytes; /* product of shape times itemsize */
};

/* Where a matrix's elements are, for `nncmp check`. */
enum npy_storage {
	NPY_STORE_MAPPED = 0, /* the file's own bytes, mapped */
	NPY_STORE_INFLATED,   /* decompressed once into an anonymous mapping */
	NPY_STORE_BLOCKS,     /* read in row blocks through a reader */
	NPY_STORE_CACHED,     /* converted once into a cache file, mapped */
};

/*
 * A source that cannot be mapped: read_rows() copies rows row0 .. row0+nrows-1 as raw elements
 * of the header's dtype and byte order, C order, into out (nrows × cols × itemsize bytes) and
 * returns 0, or -1 when the read failed. It must be safe to call from several threads at once.
 * close() releases ctx. why(), when the reader has it, gives the message of the first failed
 * read (naming the file and what failed), or NULL before any failed.
 */
struct npy_reader {
	int (*read_rows)(void *ctx, size_t row0, size_t nrows, uint8_t *out);
	void (*close)(void *ctx);
	const char *(*why)(void *ctx);
};

struct npy_rowcache; /* npy.c: the rows npy_at() read last from a reader */

struct npy {
	struct npy_header h;
	size_t rows, cols; /* shape viewed as a matrix: (n,) is n×1, a scalar 1×1 */
	const uint8_t *data;
	void *map;
	size_t map_len;
	char *path;          /* as given to npy_open (the spec, or the shards' name); owned */
	uint64_t file_id[2]; /* npy_open's file: its device and inode when mapped (else 0, 0) */
	/*
	 * A sharded matrix (npy_open_shards): its parts, each a single-source matrix (owned), and
	 * where each begins in the whole, counted in elements in C order (n_shards + 1 entries, the
	 * last the total). n_shards is 0 for a single source.
	 */
	size_t n_shards;
	struct npy *shards;
	size_t *shard_start;
	enum npy_storage storage;
	/* set for a source read through a reader (data is then NPY_SHARDED_DATA); owned */
	const struct npy_reader *reader;
	void *reader_ctx;
	struct npy_rowcache *rowcache;
	/* CSV only: the header's column names when the file had a header row (owned) */
	struct strvec colnames;
};

/*
 * The `data` of a sharded matrix: not NULL (the matrix is open), not aligned to 2 or more (fast
 * paths that test alignment stay off), and pointing at no mapping.
 */
#define NPY_SHARDED_DATA ((const uint8_t *)(uintptr_t)1)
/* At most this many shards make one matrix. */
#define NPY_MAX_SHARDS 4096

/*
 * Parses the header at the start of buf (len bytes, the whole file or at least its header).
 * Returns 0 and fills *h, or -1 with err saying what is wrong; `name` prefixes the message.
 */
int npy_parse_header(const uint8_t *buf, size_t len, const char *name, struct npy_header *h,
                     struct nn_err *err);

/* Maps path; returns 0, or -1 with a one-line message in err. On failure *a needs no close. */
int npy_open(struct npy *a, const char *path, struct nn_err *err);
/*
 * A new descriptor of a's file for pread(), when a is one npy file npy_open mapped, in C order
 * (or a vector), and the file at its path is still the one mapped (the same device, inode, size
 * and header bytes); else -1. Its data begins at a->h.data_offset.
 */
int npy_file_fd(const struct npy *a);
/*
 * Whether reading a's mapped data through the mapping is cheap: most of a few probes (read
 * faults at 2 MiB boundaries) find it mapped by huge folios, or already in the page table
 * (false wherever MADV_POPULATE_READ is refused, as before Linux 5.14).
 * Otherwise a page-cache file in small folios costs more in faults and munmap than a pread() copy.
 * $NNCMP_TEST_MAP (tests only) decides instead when set: 1 maps, 0 reads.
 */
bool npy_map_cheap(const struct npy *a);
/*
 * Opens one source: "FILE.safetensors:TENSOR", "FILE.safetensors" (a file of one tensor), or
 * else an npy path. Returns 0, or -1 with err naming the file; on failure *a needs no close.
 */
int npy_open_any(struct npy *a, const char *spec, struct nn_err *err);
/*
 * Opens n sources (each as npy_open_any() takes it) as one matrix, their rows concatenated in
 * the order given. All must hold the same dtype and agree on every dimension but the first;
 * none may be a scalar. `name` (copied to a->path) stands for the whole in later messages; with
 * n == 1 this is npy_open_any(specs[0]). Returns 0, or -1 with err naming the shard at fault.
 */
int npy_open_shards(struct npy *a, const char *const *specs, size_t n, const char *name,
                    struct nn_err *err);
/* Unmaps (every shard); *a is zeroed. */
void npy_close(struct npy *a);

/* True when a->data holds all rows × cols elements in one block (a single mapped source). */
static inline bool npy_contiguous(const struct npy *a)
{
	return a->n_shards == 0 && !a->reader;
}

/*
 * Takes an npy image that starts at map + off and is len bytes long (the whole image, header
 * and data) as a's source. map (map_len bytes) becomes a's: it is unmapped by npy_close(), and
 * here on failure. `name` names the source in messages and becomes a->path. Returns 0, or -1
 * with err set; on failure *a needs no close.
 */
int npy_open_image(struct npy *a, void *map, size_t map_len, size_t off, size_t len,
                   const char *name, enum npy_storage storage, struct nn_err *err);
/*
 * Makes a a matrix read through reader (ctx becomes a's; on failure it is closed here) with
 * header h. Returns 0 (it cannot fail today; the int is for symmetry).
 */
int npy_open_reader(struct npy *a, const struct npy_header *h, const struct npy_reader *reader,
                    void *ctx, const char *name);
/* Anonymous read-write mapping of len bytes (len > 0), or NULL with err set naming `name`. */
void *npy_anon_map(size_t len, const char *name, struct nn_err *err);
/*
 * True when a read through a's reader (or a shard's) has failed since it was opened: the values
 * of those rows were given as NaN, and so are all values read from then on (a damaged file's
 * reads can be slow; it is not read again). Readers of damaged files check this after a pass.
 */
bool npy_read_failed(const struct npy *a);
/*
 * 0, or -1 with err "PATH: rows could not be read (damaged data?)" naming the source (the shard
 * of a sharded matrix) whose reader failed, or the reader's own message (why()) when it has
 * one: for computations that read a, after reading.
 */
int npy_read_error(const struct npy *a, struct nn_err *err);
/* A short description of a's storage for `nncmp check` ("mapped", "decompressed in memory"...). */
const char *npy_storage_str(const struct npy *a);

/*
 * Maps the whole regular file at path read-only (refusing FIFOs, directories and empty files;
 * `what` names the expected kind in messages, "an npy file"). Returns 0, or -1 with err set.
 */
int npy_map_file(const char *path, const char *what, void **map, size_t *len, struct nn_err *err);
/* Unmaps what npy_map_file() mapped. */
void npy_unmap(void *map, size_t len);

/* The element at (row, col) converted to double. Bounds are the caller's duty. */
double npy_at(const struct npy *a, size_t row, size_t col);
/* Converts one row (cols values) to double. */
void npy_row_f64(const struct npy *a, size_t row, double *out);
/*
 * Converts rows row0 .. row0+nrows-1 to float32, row-major, into out (nrows × cols). This is the
 * streaming primitive for passes over large matrices: C-order float32 is copied, float16 and
 * bfloat16 are widened through a table, Fortran order is gathered column by column. Thread-safe.
 */
void npy_rows_f32(const struct npy *a, size_t row0, size_t nrows, float *out);
/*
 * The same, for readers with no guard of their own (fault.h): a read that faults because the
 * file shrank under the mapping returns -1 with err "PATH changed on disk while open; reopen the
 * study" instead of killing the process, and one through a reader that has failed (now or
 * before: the values are NaN) returns -1 with npy_read_error()'s message. Returns 0 otherwise.
 */
int npy_row_f64_guarded(const struct npy *a, size_t row, double *out, struct nn_err *err);
int npy_rows_f32_guarded(const struct npy *a, size_t row0, size_t nrows, float *out,
                         struct nn_err *err);
/*
 * Counts the NaN and the infinite values of a float matrix (0 and 0 for other kinds) on every
 * CPU (npy_scan.c); a matrix with a reader is read in row blocks. Returns 0, or -1 with err set
 * when the file changed under its mapping or a reader could not read rows.
 */
int npy_count_nonfinite(const struct npy *a, size_t *nan, size_t *inf, struct nn_err *err);
/* Short dtype description such as "f4", for messages. */
const char *npy_dtype_str(const struct npy_header *h, char buf[8]);

#endif
