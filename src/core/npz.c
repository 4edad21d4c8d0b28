/* npz.c — an array of an .npz archive through libzip: stored members mapped, deflated inflated. */
#include "nncmp/npz.h"

#include "nncmp/dynlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zip.h>

/*
 * libzip is loaded on first use (dynlib.h): every function npz.c calls is reached through
 * ziplib. The soname is the build's (Makefile: ZIP_SONAME).
 */
#ifndef NNCMP_ZIP_SONAME
#error "NNCMP_ZIP_SONAME (the soname of libzip) must be defined by the build"
#endif
_Static_assert(sizeof NNCMP_ZIP_SONAME > 1,
               "the build found no shared libzip (Makefile: ZIP_SONAME)");
/* clang-format off */
#define ZIP_SYMS(X) \
	X(zip_discard) X(zip_error_fini) X(zip_error_init) X(zip_error_set) \
	X(zip_error_strerror) X(zip_error_to_data) X(zip_fclose) X(zip_file_strerror) \
	X(zip_fopen_index) X(zip_fread) X(zip_get_name) X(zip_get_num_entries) \
	X(zip_name_locate) X(zip_open_from_source) X(zip_source_free) \
	X(zip_source_function_create) X(zip_source_make_command_bitmap) \
	X(zip_source_seek_compute_offset) X(zip_stat_index) X(zip_stat_init) X(zip_strerror)
/* clang-format on */
#define ZIP_SLOT(s) __typeof__(s) *s;
static struct {
	ZIP_SYMS(ZIP_SLOT)
} ziplib;
#define ZIP_SYM(s) {#s, &ziplib.s},
static const struct dynlib_sym zip_syms[] = {ZIP_SYMS(ZIP_SYM)};
static struct dynlib zip_dynlib = {.soname = NNCMP_ZIP_SONAME,
                                   .what = "libzip",
                                   .syms = zip_syms,
                                   .nsyms = sizeof zip_syms / sizeof zip_syms[0]};

/* Deflate expands at most about 1032:1; a member that claims more is forged. */
#define NPZ_MAX_RATIO 1100u

/*
 * A libzip source over bytes in memory that remembers where its last read began: after the
 * first ziplib.zip_fread() of a stored member that is the member's data offset in the archive.
 */
struct memsrc {
	const uint8_t *p;
	size_t len, pos, last_read;
	zip_error_t error;
};

static zip_int64_t memsrc_cb(void *user, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
	struct memsrc *m = user;
	switch (cmd) {
	case ZIP_SOURCE_OPEN:
		m->pos = 0;
		return 0;
	case ZIP_SOURCE_READ: {
		size_t n = m->len - m->pos < len ? m->len - m->pos : (size_t)len;
		m->last_read = m->pos;
		memcpy(data, m->p + m->pos, n);
		m->pos += n;
		return (zip_int64_t)n;
	}
	case ZIP_SOURCE_CLOSE:
		return 0;
	case ZIP_SOURCE_STAT: {
		if (len < sizeof(zip_stat_t)) { /* zip.h's ZIP_SOURCE_GET_ARGS, through ziplib */
			ziplib.zip_error_set(&m->error, ZIP_ER_INVAL, 0);
			return -1;
		}
		zip_stat_t *st = data;
		ziplib.zip_stat_init(st);
		st->size = m->len;
		st->valid |= ZIP_STAT_SIZE;
		return sizeof *st;
	}
	case ZIP_SOURCE_ERROR:
		return ziplib.zip_error_to_data(&m->error, data, len);
	case ZIP_SOURCE_FREE:
		return 0;
	case ZIP_SOURCE_SEEK: {
		zip_int64_t at =
		    ziplib.zip_source_seek_compute_offset(m->pos, m->len, data, len, &m->error);
		if (at < 0)
			return -1;
		m->pos = (size_t)at;
		return 0;
	}
	case ZIP_SOURCE_TELL:
		return (zip_int64_t)m->pos;
	case ZIP_SOURCE_SUPPORTS:
		return ziplib.zip_source_make_command_bitmap(
		    ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
		    ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL,
		    ZIP_SOURCE_SUPPORTS, -1);
	default:
		ziplib.zip_error_set(&m->error, ZIP_ER_OPNOTSUPP, 0);
		return -1;
	}
}

/* The member names of za without ".npy", comma-separated, for messages (at most ~200 bytes). */
static void member_list(zip_t *za, char *buf, size_t size)
{
	size_t used = 0;
	zip_int64_t n = ziplib.zip_get_num_entries(za, 0);
	buf[0] = '\0';
	for (zip_int64_t i = 0; i < n && used + 1 < size; i++) {
		const char *nm = ziplib.zip_get_name(za, (zip_uint64_t)i, 0);
		if (!nm)
			continue;
		size_t l = strlen(nm);
		if (l > 4 && strcmp(nm + l - 4, ".npy") == 0)
			l -= 4;
		int w = snprintf(buf + used, size - used, "%s%.*s", used ? ", " : "", (int)l, nm);
		if (w < 0 || (size_t)w >= size - used) {
			snprintf(buf + (size > 4 ? size - 4 : 0), 4, "...");
			return;
		}
		used += (size_t)w;
	}
}

/* The index of the member called `member` (or member.npy), or of the only one; -1 with err. */
static zip_int64_t member_find(zip_t *za, const char *file, const char *member, struct nn_err *err)
{
	char names[200];
	zip_int64_t n = ziplib.zip_get_num_entries(za, 0);
	if (!member) {
		if (n == 1)
			return 0;
		member_list(za, names, sizeof names);
		if (n == 0)
			return nn_err_set(err, "%s: empty npz archive", file);
		nn_err_set(err, "%s: holds %lld arrays, name one as %s:NAME (%s)", file,
		           (long long)n, file, names);
		return -1;
	}
	char *npy = xasprintf("%s.npy", member);
	zip_int64_t idx = ziplib.zip_name_locate(za, npy, 0);
	free(npy);
	if (idx < 0)
		idx = ziplib.zip_name_locate(za, member, 0);
	if (idx < 0) {
		member_list(za, names, sizeof names);
		nn_err_set(err, "%s: no array '%s' in the archive (it holds: %s)", file, member,
		           names);
	}
	return idx;
}

/* Decompresses member idx (st) into a new anonymous mapping; returns it, or NULL with err. */
static void *inflate_member(zip_t *za, zip_uint64_t idx, const zip_stat_t *st, const char *name,
                            struct nn_err *err)
{
	size_t size = (size_t)st->size;
	if ((zip_uint64_t)size != st->size || st->size / NPZ_MAX_RATIO > st->comp_size + 4096) {
		nn_err_set(err,
		           "%s: member claims %llu bytes from %llu compressed, not a plausible "
		           "archive",
		           name, (unsigned long long)st->size, (unsigned long long)st->comp_size);
		return NULL;
	}
	zip_file_t *zf = ziplib.zip_fopen_index(za, idx, 0);
	if (!zf) {
		nn_err_set(err, "%s: %s", name, ziplib.zip_strerror(za));
		return NULL;
	}
	uint8_t *m = npy_anon_map(size, name, err);
	size_t got = 0;
	bool ok = m != NULL;
	while (ok && got < size) {
		zip_int64_t r = ziplib.zip_fread(zf, m + got, size - got);
		if (r <= 0) {
			nn_err_set(err, "%s: %s", name,
			           r < 0 ? ziplib.zip_file_strerror(zf)
			                 : "member ends early (truncated)");
			ok = false;
			break;
		}
		got += (size_t)r;
	}
	uint8_t extra;
	/* reading at the end makes libzip compare the CRC */
	if (ok && ziplib.zip_fread(zf, &extra, 1) != 0) {
		nn_err_set(err, "%s: %s", name, ziplib.zip_file_strerror(zf));
		ok = false;
	}
	if (ziplib.zip_fclose(zf) != 0 && ok) {
		nn_err_set(err, "%s: damaged compressed data", name);
		ok = false;
	}
	if (!ok) {
		if (m)
			munmap(m, size);
		return NULL;
	}
	mprotect(m, size, PROT_READ);
	return m;
}

/*
 * Opens the member from the archive mapped at map (len bytes; owned: unmapped on failure, else
 * handed to a). `file` names the archive in messages.
 */
static int npz_from_map(struct npy *a, void *map, size_t len, const char *file, const char *member,
                        struct nn_err *err)
{
	memset(a, 0, sizeof *a);
	if (dynlib_load(&zip_dynlib, file, err) < 0) {
		npy_unmap(map, len);
		return -1;
	}
	struct memsrc ms = {.p = map, .len = len};
	ziplib.zip_error_init(&ms.error);
	zip_error_t ze;
	ziplib.zip_error_init(&ze);
	zip_source_t *src = ziplib.zip_source_function_create(memsrc_cb, &ms, &ze);
	zip_t *za = src ? ziplib.zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
	if (!za) {
		nn_err_set(err, "%s: not a readable npz (zip) archive: %s", file,
		           ziplib.zip_error_strerror(&ze));
		if (src)
			ziplib.zip_source_free(src);
		ziplib.zip_error_fini(&ze);
		ziplib.zip_error_fini(&ms.error);
		npy_unmap(map, len);
		return -1;
	}
	ziplib.zip_error_fini(&ze);
	char *name = NULL;
	void *inflated = NULL;
	size_t img_off = 0, img_len = 0;
	int rc = -1;
	zip_int64_t idx = member_find(za, file, member, err);
	zip_stat_t st;
	if (idx < 0)
		goto out;
	name = member ? xasprintf("%s:%s", file, member) : xstrdup(file);
	if (ziplib.zip_stat_index(za, (zip_uint64_t)idx, 0, &st) < 0 ||
	    (st.valid & (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD)) !=
	        (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD)) {
		nn_err_set(err, "%s: %s", name, ziplib.zip_strerror(za));
		goto out;
	}
	if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
		nn_err_set(err, "%s: encrypted members are not supported", name);
		goto out;
	}
	if (st.size == 0) {
		nn_err_set(err, "%s: empty member, expected an npy array", name);
		goto out;
	}
	if (st.comp_method == ZIP_CM_STORE && st.size <= len) {
		/* read the start through libzip: where that read began is the data offset */
		uint8_t head[64];
		size_t want = st.size < sizeof head ? (size_t)st.size : sizeof head;
		zip_file_t *zf = ziplib.zip_fopen_index(za, (zip_uint64_t)idx, 0);
		zip_int64_t r = zf ? ziplib.zip_fread(zf, head, want) : -1;
		size_t off = ms.last_read;
		if (zf)
			ziplib.zip_fclose(zf);
		if (r != (zip_int64_t)want) {
			nn_err_set(err, "%s: %s", name,
			           zf ? "member ends early (truncated)" : ziplib.zip_strerror(za));
			goto out;
		}
		if (off <= len && st.size <= len - off &&
		    memcmp((const uint8_t *)map + off, head, want) == 0) {
			img_off = off;
			img_len = (size_t)st.size;
			rc = 0;
			goto out;
		}
	}
	inflated = inflate_member(za, (zip_uint64_t)idx, &st, name, err);
	if (inflated) {
		img_len = (size_t)st.size;
		rc = 0;
	}
out:
	ziplib.zip_discard(za);
	ziplib.zip_error_fini(&ms.error);
	if (rc == 0 && inflated) {
		npy_unmap(map, len);
		rc =
		    npy_open_image(a, inflated, img_len, 0, img_len, name, NPY_STORE_INFLATED, err);
	} else if (rc == 0) {
		rc = npy_open_image(a, map, len, img_off, img_len, name, NPY_STORE_MAPPED, err);
	} else {
		npy_unmap(map, len);
	}
	free(name);
	return rc;
}

int npz_open(struct npy *a, const char *path, const char *member, struct nn_err *err)
{
	memset(a, 0, sizeof *a);
	void *map;
	size_t len;
	if (npy_map_file(path, "an npz archive", &map, &len, err) < 0)
		return -1;
	return npz_from_map(a, map, len, path, member, err);
}

int npz_open_mem(struct npy *a, const uint8_t *buf, size_t len, const char *name,
                 const char *member, struct nn_err *err)
{
	memset(a, 0, sizeof *a);
	if (len == 0)
		return nn_err_set(err, "%s: empty file, expected an npz archive", name);
	uint8_t *m = npy_anon_map(len, name, err);
	if (!m)
		return -1;
	memcpy(m, buf, len);
	return npz_from_map(a, m, len, name, member, err);
}
