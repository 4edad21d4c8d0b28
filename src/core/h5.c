/* h5.c — a dataset of an HDF5 file through libhdf5: contiguous ones mapped, others in row blocks.
 */
#include "nncmp/h5.h"

#include "nncmp/dynlib.h"
#include "nncmp/guard.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * libhdf5 is loaded on first use (dynlib.h): every function h5.c calls, and what hdf5.h's
 * H5F_ACC_RDONLY, H5P_FILE_ACCESS and H5P_DATASET_ACCESS call or read (H5check_version(),
 * H5open(), two property list classes), are reached through h5lib. The soname is the build's
 * (Makefile: HDF5_SONAME).
 */
#ifndef NNCMP_HDF5_SONAME
#error "NNCMP_HDF5_SONAME (the soname of libhdf5) must be defined by the build"
#endif
_Static_assert(sizeof NNCMP_HDF5_SONAME > 1,
               "the build found no shared libhdf5 (Makefile: HDF5_SONAME)");
/* clang-format off */
#define H5_SYMS(X) \
	X(H5open) X(H5check_version) X(H5Dclose) X(H5Dget_chunk_info_by_coord) \
	X(H5Dget_create_plist) X(H5Dget_num_chunks) X(H5Dget_offset) X(H5Dget_space) \
	X(H5Dget_storage_size) X(H5Dget_type) X(H5Dopen2) X(H5Dread) X(H5Eset_auto2) \
	X(H5Fclose) X(H5Fopen) X(H5Ovisit2) X(H5Pclose) X(H5Pcreate) X(H5Pget_chunk) \
	X(H5Pget_external_count) X(H5Pget_filter2) X(H5Pget_layout) X(H5Pget_nfilters) \
	X(H5Pset_chunk_cache) X(H5Pset_fapl_core) X(H5Pset_file_image) \
	X(H5Pset_file_locking) X(H5Sclose) X(H5Screate_simple) X(H5Sget_simple_extent_dims) \
	X(H5Sget_simple_extent_ndims) X(H5Sget_simple_extent_type) X(H5Sselect_all) \
	X(H5Sselect_hyperslab) X(H5Tclose) X(H5Tget_class) X(H5Tget_ebias) X(H5Tget_fields) \
	X(H5Tget_member_name) X(H5Tget_member_value) X(H5Tget_nmembers) X(H5Tget_norm) \
	X(H5Tget_offset) X(H5Tget_order) X(H5Tget_precision) X(H5Tget_sign) X(H5Tget_size) \
	X(H5Zfilter_avail) X(H5free_memory) X(H5P_CLS_FILE_ACCESS_ID_g) \
	X(H5P_CLS_DATASET_ACCESS_ID_g)
/* clang-format on */
#define H5_SLOT(s) __typeof__(s) *s;
static struct {
	H5_SYMS(H5_SLOT)
} h5lib;
#define H5_SYM(s) {#s, &h5lib.s},
static const struct dynlib_sym h5_syms[] = {H5_SYMS(H5_SYM)};
static struct dynlib h5_dynlib = {.soname = NNCMP_HDF5_SONAME,
                                  .what = "libhdf5",
                                  .syms = h5_syms,
                                  .nsyms = sizeof h5_syms / sizeof h5_syms[0]};
#undef H5F_ACC_RDONLY
#undef H5P_FILE_ACCESS
#undef H5P_DATASET_ACCESS
#define H5F_ACC_RDONLY                                                                             \
	(h5lib.H5check_version(H5_VERS_MAJOR, H5_VERS_MINOR, H5_VERS_RELEASE), h5lib.H5open(),     \
	 0x0000u)
#define H5P_FILE_ACCESS    (h5lib.H5open(), *h5lib.H5P_CLS_FILE_ACCESS_ID_g)
#define H5P_DATASET_ACCESS (h5lib.H5open(), *h5lib.H5P_CLS_DATASET_ACCESS_ID_g)

/*
 * A dataset may not claim more than this many times the bytes it stores (deflate expands at
 * most about 1032:1), plus 64 units (about 70 KB of data), or 2^20 (about 1 GB) for a dataset
 * never written (all fill value, no storage). libhdf5 1.10 reads past a chunk that inflates to less
 * than it should (fuzz_h5).
 */
#define H5_MAX_RATIO 1100u

#define H5_GUARD_SECONDS 30                 /* the child's time for the checks of one file */
#define H5_VERIFY_BYTES  ((size_t)64 << 20) /* datasets up to this size are read once there */

#define H5_CACHE_BYTES ((size_t)32 << 20) /* libhdf5's chunk cache of a dataset, in its child */
#define H5_CACHE_SLOTS 4099               /* hash slots of that cache (a prime) */
#define H5_SRV_BYTES   ((size_t)16 << 20) /* the buffer shared with a reading child (or a row) */

/*
 * libhdf5 runs only in forked children (guard.h): this process never calls it, so no thread of
 * it can hold libhdf5's own lock when a child is forked. It is loaded here, before the first
 * fork (open_guarded()), so every child inherits it loaded and resolved.
 */
static unsigned guard_seconds = H5_GUARD_SECONDS;

/* What libhdf5 needs to read rows of one dataset, in the child (the child's reader's ctx). */
struct h5ctx {
	hid_t file, dset, mtype; /* mtype: the file's own type, so rows come as raw bytes */
	int ndim;
	hsize_t dims[NPY_MAX_DIMS];
};

/* libhdf5 prints its error stack by default; the stack is per thread in thread-safe builds. */
static void h5_quiet(void)
{
	h5lib.H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static int h5_read_rows(void *ctx, size_t row0, size_t nrows, uint8_t *out)
{
	struct h5ctx *c = ctx;
	h5_quiet();
	hsize_t start[NPY_MAX_DIMS] = {0}, count[NPY_MAX_DIMS], total = 1;
	for (int k = 0; k < c->ndim; k++) {
		count[k] = k == 0 ? (hsize_t)nrows : c->dims[k];
		total *= count[k];
	}
	if (c->ndim > 0 && (nrows == 0 || total == 0))
		return 0;
	start[0] = (hsize_t)row0;
	hid_t fs = h5lib.H5Dget_space(c->dset);
	if (fs < 0)
		return -1;
	herr_t rc = c->ndim == 0
	                ? h5lib.H5Sselect_all(fs)
	                : h5lib.H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
	/* the memory space in the selection's own shape: a flat one makes libhdf5 map every
	 * element to its chunk one by one (H5S_select_iterate: most of a read's time) */
	hid_t ms =
	    rc < 0 ? -1
	           : h5lib.H5Screate_simple(c->ndim ? c->ndim : 1, c->ndim ? count : &total, NULL);
	if (ms >= 0)
		rc = h5lib.H5Dread(c->dset, c->mtype, ms, fs, H5P_DEFAULT, out);
	else
		rc = -1;
	if (ms >= 0)
		h5lib.H5Sclose(ms);
	h5lib.H5Sclose(fs);
	return rc < 0 ? -1 : 0;
}

/* Never called: the child exits with its reader open (closing would be wasted work). */
static void h5_close(void *ctx)
{
	struct h5ctx *c = ctx;
	h5lib.H5Tclose(c->mtype);
	h5lib.H5Dclose(c->dset);
	h5lib.H5Fclose(c->file);
	free(c);
}

static const struct npy_reader h5_reader = {h5_read_rows, h5_close, NULL};

/* Datasets found by a visit: how many, and the names of the first few for messages. */
struct visit {
	size_t n;
	char first[256];
	char list[200];
	size_t used;
};

static herr_t visit_cb(hid_t obj, const char *name, const H5O_info_t *info, void *user)
{
	(void)obj;
	struct visit *v = user;
	if (info->type != H5O_TYPE_DATASET)
		return 0;
	if (v->n++ == 0)
		snprintf(v->first, sizeof v->first, "/%s", name);
	if (v->used + 1 < sizeof v->list) {
		int w = snprintf(v->list + v->used, sizeof v->list - v->used, "%s/%s",
		                 v->used ? ", " : "", name);
		v->used = w < 0 ? sizeof v->list : v->used + (size_t)w;
	}
	return v->n > 64 ? 1 : 0;
}

/* Whether float type t is IEEE 754 of its size (binary16, 32 or 64). */
static bool ieee_float(hid_t t, size_t size)
{
	static const size_t want[3][6] = {
	    {15, 10, 5, 0, 10, 15}, {31, 23, 8, 0, 23, 127}, {63, 52, 11, 0, 52, 1023}};
	int w = size == 2 ? 0 : size == 4 ? 1 : size == 8 ? 2 : -1;
	if (w < 0)
		return false;
	size_t spos, epos, esize, mpos, msize;
	if (h5lib.H5Tget_fields(t, &spos, &epos, &esize, &mpos, &msize) < 0)
		return false;
	return spos == want[w][0] && epos == want[w][1] && esize == want[w][2] &&
	       mpos == want[w][3] && msize == want[w][4] && h5lib.H5Tget_ebias(t) == want[w][5] &&
	       h5lib.H5Tget_offset(t) == 0 && h5lib.H5Tget_precision(t) == 8 * size &&
	       h5lib.H5Tget_norm(t) == H5T_NORM_IMPLIED;
}

/* h5py's bool: an enum over int8 with exactly FALSE = 0 and TRUE = 1. */
static bool h5py_bool(hid_t t)
{
	if (h5lib.H5Tget_nmembers(t) != 2 || h5lib.H5Tget_size(t) != 1)
		return false;
	bool ok = true;
	for (unsigned i = 0; ok && i < 2; i++) {
		signed char v = -1;
		char *nm = h5lib.H5Tget_member_name(t, i);
		ok = nm && h5lib.H5Tget_member_value(t, i, &v) >= 0 &&
		     ((v == 0 && strcmp(nm, "FALSE") == 0) || (v == 1 && strcmp(nm, "TRUE") == 0));
		h5lib.H5free_memory(nm);
	}
	return ok;
}

/* Fills h's kind, itemsize and swap from HDF5 type t; -1 with err when npy has no such dtype. */
static int type_to_npy(hid_t t, const char *name, struct npy_header *h, struct nn_err *err)
{
	H5T_class_t cls = h5lib.H5Tget_class(t);
	size_t size = h5lib.H5Tget_size(t);
	H5T_order_t order = h5lib.H5Tget_order(t);
	bool ok = false;
	if (cls == H5T_FLOAT) {
		ok = ieee_float(t, size);
		h->kind = NPY_FLOAT;
	} else if (cls == H5T_INTEGER) {
		ok = (size == 1 || size == 2 || size == 4 || size == 8) &&
		     h5lib.H5Tget_precision(t) == 8 * size && h5lib.H5Tget_offset(t) == 0;
		h->kind = h5lib.H5Tget_sign(t) == H5T_SGN_2 ? NPY_INT : NPY_UINT;
	} else if (cls == H5T_ENUM) {
		ok = h5py_bool(t);
		h->kind = NPY_BOOL;
	}
	if (!ok)
		return nn_err_set(err,
		                  "%s: unsupported HDF5 type (class %d, %zu bytes; supported: "
		                  "IEEE f2 f4 f8, i1-i8, u1-u8, h5py bool)",
		                  name, (int)cls, size);
	h->itemsize = (unsigned)size;
	h->swap = size > 1 && ((order == H5T_ORDER_BE) != nn_host_big_endian());
	return 0;
}

/* Fills h's shape from dataspace sp; -1 with err when it is null or too large. */
static int space_to_npy(hid_t sp, const char *name, struct npy_header *h, hsize_t *dims,
                        struct nn_err *err)
{
	H5S_class_t sc = h5lib.H5Sget_simple_extent_type(sp);
	int nd = h5lib.H5Sget_simple_extent_ndims(sp);
	if (sc == H5S_NULL || nd < 0)
		return nn_err_set(err, "%s: dataset has no dataspace (empty)", name);
	if (nd > NPY_MAX_DIMS)
		return nn_err_set(err, "%s: %d dimensions, at most %d are supported", name, nd,
		                  NPY_MAX_DIMS);
	if (h5lib.H5Sget_simple_extent_dims(sp, dims, NULL) < 0)
		return nn_err_set(err, "%s: cannot read the dataset's shape", name);
	h->ndim = nd;
	h->shape[0] = 1;
	h->shape[1] = 1;
	for (int k = 0; k < nd; k++) {
		if ((hsize_t)(size_t)dims[k] != dims[k])
			return nn_err_set(err, "%s: shape is too large", name);
		h->dims[k] = (size_t)dims[k];
		if (k == 0)
			h->shape[0] = h->dims[0];
		else if (size_mul(h->shape[1], h->dims[k], &h->shape[1]) < 0)
			return nn_err_set(err, "%s: shape is too large", name);
	}
	size_t count;
	if (size_mul(h->shape[0], h->shape[1], &count) < 0 ||
	    size_mul(count, h->itemsize, &h->data_bytes) < 0)
		return nn_err_set(err, "%s: shape is too large", name);
	return 0;
}

/* Every filter of dcpl is one this libhdf5 can decode; else -1 with err naming it. */
static int filters_check(hid_t dcpl, const char *name, struct nn_err *err)
{
	int n = h5lib.H5Pget_nfilters(dcpl);
	if (n < 0)
		return nn_err_set(err, "%s: unreadable filter pipeline", name);
	for (int i = 0; i < n; i++) {
		unsigned flags = 0, conf = 0, cd[8];
		size_t ncd = 8;
		char fname[64] = "";
		H5Z_filter_t id = h5lib.H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd,
		                                       sizeof fname, fname, &conf);
		if (id < 0)
			return nn_err_set(err, "%s: unreadable filter pipeline", name);
		if (h5lib.H5Zfilter_avail(id) <= 0)
			return nn_err_set(err,
			                  "%s: compressed with HDF5 filter %d, which this libhdf5 "
			                  "cannot decode (a plugin such as hdf5plugin's is not "
			                  "loaded)",
			                  name, (int)id);
	}
	return 0;
}

/*
 * Walks the chunk grid of chunked dataset d through its index (H5Dget_chunk_info_by_coord): every
 * chunk that is stored lies inside the file of fsize bytes, and the count agrees with
 * H5Dget_num_chunks. -1 with err otherwise.
 */
static int chunks_check(hid_t d, hid_t dcpl, const struct npy_header *h, const hsize_t *dims,
                        uint64_t fsize, const char *name, struct nn_err *err)
{
	hsize_t cdims[NPY_MAX_DIMS] = {0}, nstored = 0, seen = 0, at[NPY_MAX_DIMS] = {0};
	int cn = h5lib.H5Pget_chunk(dcpl, NPY_MAX_DIMS, cdims);
	hid_t fs = h5lib.H5Dget_space(d);
	herr_t nrc = fs < 0 ? -1 : h5lib.H5Dget_num_chunks(d, fs, &nstored);
	if (fs >= 0)
		h5lib.H5Sclose(fs);
	if (cn != h->ndim || nrc < 0)
		return nn_err_set(err, "%s: unreadable chunk index", name);
	for (int k = 0; k < cn; k++)
		if (cdims[k] == 0 || dims[k] == 0)
			return 0; /* an empty dataspace stores nothing */
	for (;;) {
		unsigned mask = 0;
		haddr_t addr = HADDR_UNDEF;
		hsize_t size = 0;
		if (h5lib.H5Dget_chunk_info_by_coord(d, at, &mask, &addr, &size) < 0)
			return nn_err_set(err, "%s: unreadable chunk index", name);
		if (addr != HADDR_UNDEF) {
			if (size == 0 || addr > fsize || size > fsize - addr)
				return nn_err_set(
				    err,
				    "%s: a chunk of %llu bytes at offset %llu lies past the "
				    "end of the file (%llu bytes)",
				    name, (unsigned long long)size, (unsigned long long)addr,
				    (unsigned long long)fsize);
			seen++;
		}
		int k = cn - 1;
		for (; k >= 0; k--) {
			at[k] += cdims[k];
			if (at[k] < dims[k])
				break;
			at[k] = 0;
		}
		if (k < 0)
			break;
	}
	if (seen != nstored)
		return nn_err_set(err, "%s: the chunk index lists %llu chunks, the grid finds %llu",
		                  name, (unsigned long long)nstored, (unsigned long long)seen);
	return 0;
}

/*
 * Opens the dataset of file f (owned: closed on failure, else given to a). path names the file
 * on disk to map a contiguous dataset from, or is NULL (an image in memory: always blocks).
 * verify_size, when not 0, is the file's size: the chunk index is walked and checked against it.
 */
static int h5_from_file(struct npy *a, hid_t f, const char *file, const char *path,
                        const char *dataset, uint64_t verify_size, struct nn_err *err)
{
	char *name = NULL;
	struct visit v = {0};
	if (!dataset) {
		h5lib.H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_NATIVE, visit_cb, &v, H5O_INFO_BASIC);
		if (v.n != 1) {
			nn_err_set(err,
			           v.n ? "%s: holds %zu datasets, name one as %s:/PATH (%s)"
			               : "%s: holds no dataset",
			           file, v.n, file, v.list);
			h5lib.H5Fclose(f);
			return -1;
		}
		dataset = v.first;
		name = xstrdup(file);
	} else {
		name = xasprintf("%s:%s", file, dataset);
	}
	/* a chunk cache that holds a few chunks as h5py writes them (libhdf5's 1 MiB holds none
	 * of 2 MiB, so each block read would inflate its chunks again); in the child only */
	hid_t dapl = h5lib.H5Pcreate(H5P_DATASET_ACCESS);
	if (dapl >= 0 && h5lib.H5Pset_chunk_cache(dapl, H5_CACHE_SLOTS, H5_CACHE_BYTES, 1.0) < 0) {
		h5lib.H5Pclose(dapl);
		dapl = -1;
	}
	hid_t d = h5lib.H5Dopen2(f, dataset, dapl >= 0 ? dapl : H5P_DEFAULT);
	if (dapl >= 0)
		h5lib.H5Pclose(dapl);
	if (d < 0) {
		h5lib.H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_NATIVE, visit_cb, &v, H5O_INFO_BASIC);
		nn_err_set(err, "%s: no dataset '%s' in the file (datasets: %s)", file, dataset,
		           v.n ? v.list : "none");
		free(name);
		h5lib.H5Fclose(f);
		return -1;
	}
	struct npy_header h = {0};
	hsize_t dims[NPY_MAX_DIMS];
	hid_t t = h5lib.H5Dget_type(d), sp = h5lib.H5Dget_space(d),
	      dcpl = h5lib.H5Dget_create_plist(d);
	int rc = t < 0 || sp < 0 || dcpl < 0 ? nn_err_set(err, "%s: unreadable dataset", name) : 0;
	if (rc == 0)
		rc = type_to_npy(t, name, &h, err);
	if (rc == 0)
		rc = space_to_npy(sp, name, &h, dims, err);
	/* a forged shape over a tiny file would make every read allocate and fill gigabytes */
	hsize_t stored = rc == 0 ? h5lib.H5Dget_storage_size(d) : 0;
	if (rc == 0 && h.data_bytes / H5_MAX_RATIO > stored + (stored ? 64 : ((hsize_t)1 << 20)))
		rc = nn_err_set(err,
		                "%s: the dataset claims %zu bytes but stores %llu, not a plausible "
		                "file",
		                name, h.data_bytes, (unsigned long long)stored);
	/* compact data lives in the object header: libhdf5 1.10 reads past it when it is short */
	if (rc == 0 && h5lib.H5Pget_layout(dcpl) == H5D_COMPACT && stored != h.data_bytes)
		rc = nn_err_set(err, "%s: compact dataset of %zu bytes stores %llu", name,
		                h.data_bytes, (unsigned long long)stored);
	/* tiny chunks over a large dataspace make every row read walk thousands of chunks */
	if (rc == 0 && h5lib.H5Pget_layout(dcpl) == H5D_CHUNKED) {
		hsize_t cdims[NPY_MAX_DIMS] = {0}, chunks = 1;
		int cn = h5lib.H5Pget_chunk(dcpl, NPY_MAX_DIMS, cdims);
		for (int k = 0; k < cn && k < h.ndim; k++) {
			hsize_t per = cdims[k] ? (dims[k] + cdims[k] - 1) / cdims[k] : dims[k];
			chunks = per && chunks > ((hsize_t)1 << 40) / per ? (hsize_t)1 << 40
			                                                  : chunks * per;
		}
		if (cn < 0 || chunks > stored + ((hsize_t)1 << 16))
			rc = nn_err_set(
			    err, "%s: %llu chunks for %llu stored bytes, not a plausible file",
			    name, (unsigned long long)chunks, (unsigned long long)stored);
	}
	if (rc == 0)
		rc = filters_check(dcpl, name, err);
	if (rc == 0 && verify_size && h5lib.H5Pget_layout(dcpl) == H5D_CHUNKED)
		rc = chunks_check(d, dcpl, &h, dims, verify_size, name, err);
	bool in_place = rc == 0 && path && h5lib.H5Pget_layout(dcpl) == H5D_CONTIGUOUS &&
	                h5lib.H5Pget_nfilters(dcpl) == 0 &&
	                h5lib.H5Pget_external_count(dcpl) == 0 && h.data_bytes > 0;
	haddr_t off = in_place ? h5lib.H5Dget_offset(d) : HADDR_UNDEF;
	if (sp >= 0)
		h5lib.H5Sclose(sp);
	if (dcpl >= 0)
		h5lib.H5Pclose(dcpl);
	void *map = NULL;
	size_t len = 0;
	if (rc == 0 && off != HADDR_UNDEF) {
		if (npy_map_file(path, "an HDF5 file", &map, &len, err) < 0)
			rc = -1;
		else if (off > len || h.data_bytes > len - off)
			rc = nn_err_set(err, "%s: the dataset's data lies past the end of the file",
			                name);
	}
	if (rc < 0) {
		if (map)
			npy_unmap(map, len);
		if (t >= 0)
			h5lib.H5Tclose(t);
		h5lib.H5Dclose(d);
		h5lib.H5Fclose(f);
		free(name);
		return -1;
	}
	if (map) {
		h5lib.H5Tclose(t);
		h5lib.H5Dclose(d);
		h5lib.H5Fclose(f);
		memset(a, 0, sizeof *a);
		a->h = h;
		a->h.data_offset = (size_t)off;
		a->map = map;
		a->map_len = len;
		a->data = (const uint8_t *)map + off;
		a->rows = h.ndim == 0 ? 1 : h.shape[0];
		a->cols = h.ndim >= 2 ? h.shape[1] : 1;
		a->path = name;
		a->storage = NPY_STORE_MAPPED;
		return 0;
	}
	struct h5ctx *c = xcalloc(1, sizeof *c);
	c->file = f;
	c->dset = d;
	c->mtype = t;
	c->ndim = h.ndim;
	memcpy(c->dims, dims, sizeof dims);
	npy_open_reader(a, &h, &h5_reader, c, name);
	free(name);
	return 0;
}

/* A file-access property list that does not lock the file (read-only users on shared disks). */
static hid_t fapl_new(void)
{
	hid_t fapl = h5lib.H5Pcreate(H5P_FILE_ACCESS);
	if (fapl >= 0)
		h5lib.H5Pset_file_locking(fapl, 0, 1);
	return fapl;
}

/* Where h5_open() and h5_open_mem() read from: a file (path) or an image in memory (buf). */
struct h5src {
	const char *path; /* NULL: buf */
	const uint8_t *buf;
	size_t len;
	const char *name, *dataset;
	bool verify; /* the child's checks: walk the chunk index too */
};

/* Opens src's dataset with libhdf5: in a child only. */
static int open_locked(struct npy *a, const struct h5src *src, struct nn_err *err)
{
	memset(a, 0, sizeof *a);
	h5_quiet();
	hid_t fapl = fapl_new(), f = -1;
	uint64_t fsize = src->len;
	if (src->path) {
		int fd = nn_open_regular(src->path, O_RDONLY, err); /* a FIFO: no wait */
		if (fd < 0) {
			if (errno == EISDIR)
				nn_err_set(err, "%s: is a directory, expected an HDF5 file",
				           src->path);
			h5lib.H5Pclose(fapl);
			return -1;
		}
		struct stat st;
		fsize = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
		close(fd);
		if (fsize > 0)
			f = h5lib.H5Fopen(src->path, H5F_ACC_RDONLY, fapl);
	} else if (fsize > 0 && fapl >= 0 && h5lib.H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0 &&
	           h5lib.H5Pset_file_image(fapl, (void *)(uintptr_t)src->buf, src->len) >= 0) {
		f = h5lib.H5Fopen(src->name, H5F_ACC_RDONLY, fapl);
	}
	if (fapl >= 0)
		h5lib.H5Pclose(fapl);
	if (fsize == 0)
		return nn_err_set(err, "%s: empty file, expected an HDF5 file", src->name);
	if (f < 0)
		return nn_err_set(err, "%s: not a readable HDF5 file", src->name);
	return h5_from_file(a, f, src->name, src->path, src->dataset, src->verify ? fsize : 0, err);
}

/* Bytes of a blocked dataset the child reads once: NNCMP_H5_VERIFY_MB, else 64 MiB. */
static size_t verify_bytes(void)
{
	const char *e = getenv("NNCMP_H5_VERIFY_MB");
	char *end;
	unsigned long long mb = e && *e ? strtoull(e, &end, 10) : 0;
	if (!e || !*e || *end || mb > ((size_t)-1 >> 20))
		return H5_VERIFY_BYTES;
	return (size_t)mb << 20;
}

/* What the child of one dataset holds: where it reads from, and the dataset once open. */
struct h5job {
	struct h5src src;
	struct npy a;
};

/* What the child answers to its open: the dataset's header and how it is stored. */
struct h5answer {
	struct npy_header h;
	enum npy_storage storage;
	size_t row_bytes;
};

/* A request to the child: rows row0 .. row0+nrows-1 into the shared buffer. */
struct h5req {
	uint64_t row0, nrows;
};

/*
 * The child's open (guard_call_fn, req NULL): open with every check, then read every row once
 * when the dataset is read in blocks and not larger than verify_bytes(); the answer (h5answer)
 * into buf. Never closes the dataset (the child exits).
 */
static int child_open(void *arg, const void *req, uint8_t *buf, size_t cap, struct nn_err *err)
{
	(void)req;
	struct h5job *job = arg;
	struct npy *a = &job->a;
	if (open_locked(a, &job->src, err) < 0)
		return -1;
	struct h5answer ans = {a->h, a->storage, a->cols * a->h.itemsize};
	if (cap < sizeof ans)
		return nn_err_set(err, "%s: no room for the answer", a->path);
	memcpy(buf, &ans, sizeof ans);
	if (a->storage != NPY_STORE_BLOCKS || a->h.data_bytes > verify_bytes())
		return 0;
	size_t rb = ans.row_bytes, per = rb && rb < ((size_t)1 << 20) ? ((size_t)1 << 20) / rb : 1;
	uint8_t *rows = xmalloc(per * (rb ? rb : 1));
	for (size_t r = 0; r < a->rows; r += per) {
		size_t n = a->rows - r < per ? a->rows - r : per;
		if (h5_read_rows(a->reader_ctx, r, n, rows) < 0) {
			size_t bad = r; /* the first row that fails alone, for the message */
			while (bad + 1 < r + n && h5_read_rows(a->reader_ctx, bad, 1, rows) == 0)
				bad++;
			return nn_err_set(err, "%s: row %zu cannot be read (a damaged chunk)",
			                  a->path, bad);
		}
	}
	free(rows);
	return 0;
}

/* The child's read of one request into buf (guard_call_fn). */
static int child_read(void *arg, const void *req, uint8_t *buf, size_t cap, struct nn_err *err)
{
	struct h5job *job = arg;
	struct h5req q;
	memcpy(&q, req, sizeof q);
	const struct npy *a = &job->a;
	size_t rb = a->cols * a->h.itemsize;
	if (q.row0 > a->rows || q.nrows > a->rows - q.row0 || (rb && q.nrows > cap / rb))
		return nn_err_set(err, "%s: a read of rows %llu+%llu out of range", a->path,
		                  (unsigned long long)q.row0, (unsigned long long)q.nrows);
	if (h5_read_rows(a->reader_ctx, (size_t)q.row0, (size_t)q.nrows, buf) < 0)
		return nn_err_set(err,
		                  q.nrows == 1
		                      ? "%s: row %llu cannot be read (a damaged chunk)"
		                      : "%s: rows %llu-%llu cannot be read (a damaged chunk)",
		                  a->path, (unsigned long long)q.row0,
		                  (unsigned long long)(q.row0 + q.nrows - 1));
	return 0;
}

/* This process's side of a dataset read in blocks: its child, and the first failure. */
struct h5srv {
	struct guard_srv *srv;
	size_t row_bytes, per; /* rows per call: what the shared buffer holds */
	pthread_mutex_t lock;  /* for why */
	char why[NN_ERR_MAX];  /* the first failed read's message, "" before */
	size_t why_rows;       /* how many rows that read asked for */
};

static int srv_read_rows(void *ctx, size_t row0, size_t nrows, uint8_t *out)
{
	struct h5srv *c = ctx;
	for (size_t done = 0; done < nrows;) {
		size_t n = nrows - done < c->per ? nrows - done : c->per;
		struct h5req q = {row0 + done, n};
		struct nn_err err = {{0}};
		if (guard_call(c->srv, &q, sizeof q, out + done * c->row_bytes, n * c->row_bytes,
		               &err) < 0) {
			/* the first failure, or the first of one row (it names the row) */
			pthread_mutex_lock(&c->lock);
			if (!c->why[0] || (c->why_rows > 1 && n == 1)) {
				snprintf(c->why, sizeof c->why, "%s", err.msg);
				c->why_rows = n;
			}
			pthread_mutex_unlock(&c->lock);
			return -1;
		}
		done += n;
	}
	return 0;
}

static const char *srv_why(void *ctx)
{
	struct h5srv *c = ctx;
	pthread_mutex_lock(&c->lock);
	const char *w = c->why[0] ? c->why : NULL;
	pthread_mutex_unlock(&c->lock);
	return w;
}

static void srv_close(void *ctx)
{
	struct h5srv *c = ctx;
	guard_srv_stop(c->srv);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static const struct npy_reader srv_reader = {srv_read_rows, srv_close, srv_why};

/*
 * Opens src in a forked child that checks it (crashes and hangs of libhdf5 become errors). A
 * contiguous dataset is then mapped here at the offset the child found, and the child ends; a
 * dataset read in blocks keeps its child, which does every read (srv_reader).
 */
static int open_guarded(struct npy *a, struct h5src *src, struct nn_err *err)
{
	memset(a, 0, sizeof *a);
	char *name =
	    src->dataset ? xasprintf("%s:%s", src->name, src->dataset) : xstrdup(src->name);
	if (dynlib_load(&h5_dynlib, name, err) < 0) {
		free(name);
		return -1;
	}
	struct h5job job = {.src = *src};
	job.src.verify = true;
	struct h5answer ans;
	size_t cap = H5_SRV_BYTES;
	struct guard_srv *srv = NULL;
	for (int tries = 0; tries < 2; tries++) {
		srv = guard_serve(child_open, child_read, &job, cap, name, "libhdf5", guard_seconds,
		                  err);
		if (!srv)
			break;
		guard_srv_answer(srv, &ans, sizeof ans);
		if (ans.storage != NPY_STORE_BLOCKS || ans.row_bytes <= cap)
			break;
		cap = ans.row_bytes; /* one row is more than the buffer: again with room for it */
		guard_srv_stop(srv);
		srv = NULL;
	}
	int rc = srv ? 0 : -1;
	if (rc == 0 && ans.storage == NPY_STORE_BLOCKS) {
		struct h5srv *c = xcalloc(1, sizeof *c);
		c->srv = srv;
		c->row_bytes = ans.row_bytes;
		c->per = ans.row_bytes ? cap / ans.row_bytes : 1;
		pthread_mutex_init(&c->lock, NULL);
		npy_open_reader(a, &ans.h, &srv_reader, c, name);
	} else if (rc == 0) {
		guard_srv_stop(srv);
		void *map = NULL;
		size_t len = 0, off = ans.h.data_offset;
		if (!src->path || ans.storage != NPY_STORE_MAPPED)
			rc = nn_err_set(err, "%s: unexpected storage", name); /* not reached */
		else if (npy_map_file(src->path, "an HDF5 file", &map, &len, err) < 0)
			rc = -1;
		else if (off > len || ans.h.data_bytes > len - off) /* the file changed since */
			rc = nn_err_set(err, "%s: the dataset's data lies past the end of the file",
			                name);
		if (rc < 0 && map)
			npy_unmap(map, len);
		if (rc == 0) {
			a->h = ans.h;
			a->map = map;
			a->map_len = len;
			a->data = (const uint8_t *)map + off;
			a->rows = ans.h.ndim == 0 ? 1 : ans.h.shape[0];
			a->cols = ans.h.ndim >= 2 ? ans.h.shape[1] : 1;
			a->path = xstrdup(name);
			a->storage = NPY_STORE_MAPPED;
		}
	}
	free(name);
	return rc;
}
int h5_open(struct npy *a, const char *path, const char *dataset, struct nn_err *err)
{
	struct h5src src = {path, NULL, 0, path, dataset, false};
	return open_guarded(a, &src, err);
}

int h5_open_mem(struct npy *a, const uint8_t *buf, size_t len, const char *name,
                const char *dataset, struct nn_err *err)
{
	struct h5src src = {NULL, buf, len, name, dataset, false};
	return open_guarded(a, &src, err);
}

void h5_set_guard_seconds(unsigned seconds)
{
	guard_seconds = seconds ? seconds : H5_GUARD_SECONDS;
}
